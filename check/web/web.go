package web

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tcpcheck/tcpcheck/check"
	"github.com/tcpcheck/tcpcheck/check/explain"
	"github.com/tcpcheck/tcpcheck/model"
	"github.com/tcpcheck/tcpcheck/spec"
)

//go:embed states.svg
var statesSVG string

//go:embed page.html
var pageHTML string

//go:embed style.css
var styleCSS string

var pageTmpl = template.Must(template.New("page").Parse(pageHTML))

// Limits of the work one request may cause.
const (
	maxPath      = 2000             // steps in a URL path
	maxSystems   = 32               // cached systems (one per configuration and table)
	exploreLimit = 3_000_000        // states of a counterexample search
	exploreTime  = 60 * time.Second // and its time
)

// Server is the explorer's HTTP handler. Its base system gives the
// configuration and table a URL without cfg and m uses.
type Server struct {
	base *model.System
	mux  *http.ServeMux

	mu      sync.Mutex
	systems map[string]*model.System
	order   []string
	explore sync.Mutex // one counterexample search at a time
}

// New returns the explorer for base.
func New(base *model.System) (*Server, error) {
	if base == nil {
		return nil, errors.New("web: nil system")
	}
	s := &Server{base: base, systems: map[string]*model.System{}}
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("GET /{$}", s.page)
	s.mux.HandleFunc("GET /style.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
		_, _ = w.Write([]byte(styleCSS))
	})
	s.mux.HandleFunc("GET /export.txt", s.export)
	s.mux.HandleFunc("GET /export.mmd", s.export)
	s.mux.HandleFunc("GET /export.json", s.export)
	s.mux.HandleFunc("GET /counterexample", s.counterexample)
	s.mux.HandleFunc("GET /question", s.question)
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:")
	s.mux.ServeHTTP(w, r)
}

// Serve serves the explorer on l until ctx is done.
func Serve(ctx context.Context, l net.Listener, base *model.System) error {
	h, err := New(base)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			_ = srv.Shutdown(sctx)
			cancel()
		case <-done:
		}
	}()
	err = srv.Serve(l)
	close(done)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// walk is the position a URL names.
type walk struct {
	sys    *model.System
	cfg    model.Config
	mutant string
	cfgSet bool // cfg given in the URL
	init   model.Key
	path   []int
	at     int
	trace  []model.Transition // the first at steps
	full   []model.Transition // the whole path (forward history included)
}

func (s *Server) system(cfg model.Config, mutant string) (*model.System, error) {
	keyb, _ := json.Marshal(cfg)
	key := mutant + "|" + string(keyb)
	s.mu.Lock()
	defer s.mu.Unlock()
	if sys, ok := s.systems[key]; ok {
		return sys, nil
	}
	sys, err := explain.NewSystem(cfg, mutant)
	if err != nil {
		return nil, err
	}
	if len(s.order) >= maxSystems {
		delete(s.systems, s.order[0])
		s.order = s.order[1:]
	}
	s.systems[key] = sys
	s.order = append(s.order, key)
	return sys, nil
}

// parseWalk reads the position from the query.
func (s *Server) parseWalk(q url.Values) (*walk, error) {
	w := &walk{cfg: s.base.Config(), mutant: s.base.Mutant()}
	if c := q.Get("cfg"); c != "" {
		cfg, err := model.ParseConfig([]byte(c))
		if err != nil {
			return nil, fmt.Errorf("web: cfg: %v", err)
		}
		w.cfg, w.cfgSet = cfg, true
	}
	if q.Has("m") {
		w.mutant = q.Get("m")
	}
	sys, err := s.system(w.cfg, w.mutant)
	if err != nil {
		return nil, fmt.Errorf("web: %v", err)
	}
	w.sys = sys
	inits := sys.Init()
	w.init = inits[0]
	if h := q.Get("s"); h != "" {
		b, err := hex.DecodeString(h)
		if err != nil || len(b) != model.KeySize {
			return nil, fmt.Errorf("web: s is not a state key (%d bytes in hex)", model.KeySize)
		}
		copy(w.init[:], b)
		ok := false
		for _, k := range inits {
			ok = ok || k == w.init
		}
		if !ok {
			return nil, errors.New("web: s is not an initial state of this configuration")
		}
	}
	if p := q.Get("p"); p != "" {
		parts := strings.Split(p, ",")
		if len(parts) > maxPath {
			return nil, fmt.Errorf("web: p has %d steps; at most %d", len(parts), maxPath)
		}
		for _, f := range parts {
			n, err := strconv.Atoi(f)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("web: p must be comma-separated successor numbers, got %q", f)
			}
			w.path = append(w.path, n)
		}
	}
	w.at = len(w.path)
	if a := q.Get("at"); a != "" {
		n, err := strconv.Atoi(a)
		if err != nil || n < 0 || n > len(w.path) {
			return nil, fmt.Errorf("web: at must be 0..%d", len(w.path))
		}
		w.at = n
	}
	w.full, err = explain.Walk(sys, w.init, w.path)
	if err != nil {
		return nil, fmt.Errorf("web: p: %v", err)
	}
	w.trace = w.full[:w.at]
	return w, nil
}

// link returns the URL of a position: the same configuration and table,
// path p with at applied steps.
func (s *Server) link(w *walk, p []int, at int) string {
	q := url.Values{}
	if w.cfgSet {
		b, _ := json.Marshal(w.cfg)
		q.Set("cfg", string(b))
	}
	if w.mutant != s.base.Mutant() {
		q.Set("m", w.mutant)
	}
	if w.init != w.sys.Init()[0] {
		q.Set("s", hex.EncodeToString(w.init[:]))
	}
	if len(p) > 0 {
		parts := make([]string, len(p))
		for i, n := range p {
			parts[i] = strconv.Itoa(n)
		}
		q.Set("p", strings.Join(parts, ","))
		if at != len(p) {
			q.Set("at", strconv.Itoa(at))
		}
	}
	if len(q) == 0 {
		return "/"
	}
	return "/?" + q.Encode()
}

func (w *walk) current() model.Key {
	if len(w.trace) == 0 {
		return w.init
	}
	return w.trace[len(w.trace)-1].To
}

func hostName(h uint8) string { return string(rune('A' + h)) }

func segText(g model.Segment) string {
	return fmt.Sprintf("%s seq=%d ack=%d len=%d", g.Flags, uint32(g.Seq), uint32(g.Ack), g.Len)
}

// actionLabel names a step the way a person says it.
func actionLabel(st model.Step) string {
	h := hostName(st.Host)
	switch st.Kind {
	case model.User:
		return h + " " + st.Call
	case model.Deliver:
		return "deliver to " + h + ": " + segText(st.Seg)
	case model.Drop:
		return "lose " + hostName(st.Seg.From) + "→" + hostName(1-st.Seg.From) + ": " + segText(st.Seg)
	case model.Duplicate:
		return "duplicate " + hostName(st.Seg.From) + "→" + hostName(1-st.Seg.From) + ": " + segText(st.Seg)
	case model.Tick:
		return "tick (time passes)"
	case model.Timer:
		return h + " " + st.Event.String() + " timer fires"
	case model.Inject:
		return "attacker injects into " + h + ": " + segText(st.Seg)
	}
	return st.Kind.String()
}

type hostView struct {
	Name, State, Detail string
	Rows                [][2]string
}

type segView struct {
	Dir, Text string
	Age, Inc  int
}

type actionView struct {
	ID, Label, Href, Kind, Result, Row string
}

type stepView struct {
	N            int
	Label, A, B  string
	Href         string
	Current, Fwd bool
}

type option struct {
	Value, Label string
	Selected     bool
}

type pageData struct {
	Title       string
	Config      string
	Table       string
	A, B        hostView
	Net         []segView
	Budgets     string
	Incarnation int
	Violations  []string
	Quiescent   bool
	Actions     []actionView
	Step, Steps int
	Back, Fwd   string
	Restart     string
	Steps2      []stepView
	TraceTable  string
	Diagram     template.HTML
	Mutants     []option
	Questions   []option
	Export      string
	Key         string
	Error       string
	Message     string
	CfgParam    string
	MutantParam string
	HasCfgParam bool
}

func hostRows(h model.Host) [][2]string {
	rows := [][2]string{}
	if h.State.HasTCB() {
		rows = append(rows, [2]string{"ISS", fmt.Sprint(uint32(h.ISS))},
			[2]string{"SND.UNA", fmt.Sprint(uint32(h.SndUna))}, [2]string{"SND.NXT", fmt.Sprint(uint32(h.SndNxt))})
		if h.State != spec.SynSent {
			rows = append(rows, [2]string{"IRS", fmt.Sprint(uint32(h.IRS))}, [2]string{"RCV.NXT", fmt.Sprint(uint32(h.RcvNxt))})
		}
	} else {
		rows = append(rows, [2]string{"TCB", "none"})
	}
	rtx := "stopped"
	if h.RetxArmed {
		rtx = fmt.Sprintf("running for %d ticks, %d retries", h.RTOAge, h.Retries)
	}
	rows = append(rows, [2]string{"retransmission timer", rtx})
	if h.State == spec.TimeWait {
		rows = append(rows, [2]string{"2MSL timer", fmt.Sprintf("%d ticks left", h.TimeWaitLeft)})
	}
	sig := h.Signal
	if sig == "" {
		sig = "none"
	}
	rows = append(rows, [2]string{"incarnation", fmt.Sprint(h.Inc)},
		[2]string{"user wrote / read", fmt.Sprintf("%d / %d octets", h.Written, h.Delivered)},
		[2]string{"user saw", sig}, [2]string{"user's next call", h.Program})
	return rows
}

var reNode = regexp.MustCompile(`<g id="(node\d+)" class="node">\s*<title>([^<]+)</title>`)

// diagram returns the state diagram with A's and B's states marked.
func diagram(a, b spec.State) template.HTML {
	svg := statesSVG
	if i := strings.Index(svg, "<svg"); i >= 0 {
		svg = svg[i:]
	}
	svg = reNode.ReplaceAllStringFunc(svg, func(m string) string {
		// Graphviz node names are the states with underscores.
		name := strings.ReplaceAll(reNode.FindStringSubmatch(m)[2], "_", "-")
		if _, ok := spec.ParseState(name); !ok {
			return m // the legend
		}
		cls := "node"
		if name == a.String() {
			cls += " cur-a"
		}
		if name == b.String() {
			cls += " cur-b"
		}
		return strings.Replace(m, `class="node"`, `class="`+cls+`" data-state="`+name+`"`, 1)
	})
	return template.HTML(svg) // the embedded file, generated by gen from the table
}

func configText(c model.Config) string {
	b, _ := json.Marshal(c)
	return string(b)
}

func (s *Server) fail(w http.ResponseWriter, err error) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusBadRequest)
	_ = pageTmpl.Execute(w, pageData{Title: "tcpcheck explorer: error", Error: err.Error(), Restart: "/"})
}

func (s *Server) page(rw http.ResponseWriter, r *http.Request) {
	w, err := s.parseWalk(r.URL.Query())
	if err != nil {
		s.fail(rw, err)
		return
	}
	k := w.current()
	st := w.sys.Decode(k)
	d := pageData{
		Title:       "tcpcheck explorer",
		Config:      configText(w.cfg),
		Table:       "the correct table (spec.Table)",
		Incarnation: st.Incarnation,
		Violations:  st.Violations,
		Quiescent:   w.sys.Quiescent(k),
		Budgets:     fmt.Sprintf("losses left %d, duplications left %d, injections left %d", st.LossLeft, st.DupLeft, st.InjectLeft),
		Step:        w.at,
		Steps:       len(w.path),
		Restart:     s.link(w, nil, 0),
		Diagram:     diagram(st.Hosts[0].State, st.Hosts[1].State),
		Key:         hex.EncodeToString(k[:]),
		Message:     r.URL.Query().Get("msg"),
	}
	if w.mutant != "" {
		d.Table = "mutant " + w.mutant
	}
	for i, h := range st.Hosts {
		v := hostView{Name: hostName(uint8(i)), State: h.State.String(), Detail: h.String(), Rows: hostRows(h)}
		if i == 0 {
			d.A = v
		} else {
			d.B = v
		}
	}
	for _, g := range st.Net {
		d.Net = append(d.Net, segView{Dir: hostName(g.From) + "→" + hostName(1-g.From), Text: segText(g), Age: int(g.Age), Inc: int(g.Inc)})
	}
	if w.at > 0 {
		d.Back = s.link(w, w.path, w.at-1)
	}
	if w.at < len(w.path) {
		d.Fwd = s.link(w, w.path, w.at+1)
	}
	rows := w.sys.Rows()
	for j, t := range w.sys.Next(k, nil) {
		p := append(append([]int(nil), w.path[:w.at]...), j)
		next := w.sys.Decode(t.To)
		a := actionView{ID: fmt.Sprintf("act-%d", j), Label: actionLabel(t.Step), Href: s.link(w, p, len(p)), Kind: t.Step.Kind.String(),
			Result: fmt.Sprintf("A %s, B %s", next.Hosts[0].State, next.Hosts[1].State)}
		if t.Step.Row >= 0 && int(t.Step.Row) < len(rows) {
			a.Row = rows[t.Step.Row].Name()
		}
		if n := min(int(t.Step.NSent), len(t.Step.Sent)); n > 0 {
			var sent []string
			for _, g := range t.Step.Sent[:n] {
				sent = append(sent, segText(g))
			}
			a.Result += "; sends " + strings.Join(sent, " and ")
		}
		d.Actions = append(d.Actions, a)
	}
	prev := w.sys.Decode(w.init)
	d.Steps2 = append(d.Steps2, stepView{N: 0, Label: "initial state", A: prev.Hosts[0].State.String(), B: prev.Hosts[1].State.String(),
		Href: s.link(w, w.path, 0), Current: w.at == 0})
	for i, t := range w.full {
		cur := w.sys.Decode(t.To)
		d.Steps2 = append(d.Steps2, stepView{N: i + 1, Label: actionLabel(t.Step), A: cur.Hosts[0].State.String(), B: cur.Hosts[1].State.String(),
			Href: s.link(w, w.path, i+1), Current: w.at == i+1, Fwd: i+1 > w.at})
	}
	if len(w.trace) > 0 {
		tr, err := explain.NewTrace(w.sys, w.init, w.trace, "")
		if err == nil {
			var b bytes.Buffer
			if err := tr.WriteTable(&b); err == nil {
				d.TraceTable = b.String()
			}
		}
	}
	d.Export = strings.TrimPrefix(s.link(w, w.path[:w.at], w.at), "/")
	if d.Export == "" {
		d.Export = "?"
	}
	d.Mutants = append(d.Mutants, option{Value: "", Label: "the correct table, this configuration", Selected: w.mutant == ""})
	for _, m := range model.Mutants() {
		d.Mutants = append(d.Mutants, option{Value: m.Name, Label: m.Name + " (breaks " + m.Property + ")", Selected: m.Name == w.mutant})
	}
	pages, err := explain.Pages()
	if err != nil {
		s.fail(rw, err)
		return
	}
	for _, p := range pages {
		for i, sc := range p.Scenes {
			d.Questions = append(d.Questions, option{Value: fmt.Sprintf("%s.%d", p.Slug, i+1), Label: p.Question + ": " + sc.Title})
		}
	}
	if w.cfgSet {
		d.HasCfgParam, d.CfgParam = true, configText(w.cfg)
	}
	d.MutantParam = w.mutant
	rw.Header().Set("Content-Type", "text/html; charset=utf-8")
	var b bytes.Buffer
	if err := pageTmpl.Execute(&b, d); err != nil {
		http.Error(rw, "web: "+err.Error(), http.StatusInternalServerError)
		return
	}
	_, _ = rw.Write(b.Bytes())
}

// export writes the steps walked so far (up to at) as a segment table, a
// Mermaid diagram or a saved trace.
func (s *Server) export(rw http.ResponseWriter, r *http.Request) {
	w, err := s.parseWalk(r.URL.Query())
	if err != nil {
		http.Error(rw, err.Error(), http.StatusBadRequest)
		return
	}
	tr, err := explain.NewTrace(w.sys, w.init, w.trace, "")
	if err != nil {
		http.Error(rw, err.Error(), http.StatusInternalServerError)
		return
	}
	tr.Source, tr.Title = "browse", "walked by hand in tcpcheck browse"
	var b bytes.Buffer
	switch {
	case strings.HasSuffix(r.URL.Path, ".txt"):
		rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
		err = tr.WriteTable(&b)
	case strings.HasSuffix(r.URL.Path, ".mmd"):
		rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
		err = tr.WriteMermaid(&b)
	default:
		rw.Header().Set("Content-Type", "application/json")
		rw.Header().Set("Content-Disposition", `attachment; filename="tcpcheck.trace.json"`)
		err = tr.WriteJSON(&b)
	}
	if err != nil {
		http.Error(rw, err.Error(), http.StatusInternalServerError)
		return
	}
	_, _ = rw.Write(b.Bytes())
}

// counterexample runs check.Explore on the chosen table (m) in the
// configuration of the URL, or the mutant's own configuration, and
// redirects to the shortest counterexample.
func (s *Server) counterexample(rw http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	mutant := q.Get("m")
	cfg := s.base.Config()
	cfgSet := false
	if c := q.Get("cfg"); c != "" {
		var err error
		if cfg, err = model.ParseConfig([]byte(c)); err != nil {
			s.fail(rw, fmt.Errorf("web: cfg: %v", err))
			return
		}
		cfgSet = true
	}
	if mutant != "" && q.Get("own") != "no" {
		c, err := model.MutantConfig(mutant)
		if err != nil {
			s.fail(rw, fmt.Errorf("web: %v", err))
			return
		}
		cfg, cfgSet = c, true
	}
	sys, err := s.system(cfg, mutant)
	if err != nil {
		s.fail(rw, fmt.Errorf("web: %v", err))
		return
	}
	opt := check.Options{Quiescence: true, MaxStates: exploreLimit, Timeout: exploreTime}
	for _, m := range model.Mutants() {
		if m.Name == mutant {
			// As tcpcheck why does: the property the mutant is about.
			opt.Properties = []string{m.Property}
		}
	}
	s.explore.Lock()
	res, err := check.Explore(sys, opt)
	s.explore.Unlock()
	if err != nil {
		s.fail(rw, fmt.Errorf("web: %v", err))
		return
	}
	w := &walk{sys: sys, cfg: cfg, mutant: mutant, cfgSet: cfgSet, init: sys.Init()[0]}
	if res.Violation == nil {
		msg := fmt.Sprintf("check.Explore: %s, every property holds (%d states)", res.Verdict, res.States)
		if res.Verdict == check.Incomplete {
			msg = fmt.Sprintf("check.Explore stopped (%s) after %d states without a counterexample", res.Limit, res.States)
		}
		http.Redirect(rw, r, withMsg(s.link(w, nil, 0), msg), http.StatusSeeOther)
		return
	}
	v := res.Violation
	w.init = v.Init
	idx, err := explain.Indices(sys, v.Init, v.Trace)
	if err != nil {
		s.fail(rw, err)
		return
	}
	msg := fmt.Sprintf("counterexample to %s, %d steps (%d states explored)", v.Property, len(v.Trace), res.States)
	http.Redirect(rw, r, withMsg(s.link(w, idx, len(idx)), msg), http.StatusSeeOther)
}

// question jumps to the trace of a docs page's scene (q=SLUG.N).
func (s *Server) question(rw http.ResponseWriter, r *http.Request) {
	slug, n, ok := strings.Cut(r.URL.Query().Get("q"), ".")
	num, err := strconv.Atoi(n)
	if !ok || err != nil {
		s.fail(rw, errors.New("web: q must be SLUG.N, e.g. three-way-handshake.1"))
		return
	}
	pages, err := explain.Pages()
	if err != nil {
		s.fail(rw, err)
		return
	}
	for _, p := range pages {
		if p.Slug != slug || num < 1 || num > len(p.Scenes) {
			continue
		}
		sc, err := explain.Resolve(p.Scenes[num-1])
		if err != nil {
			s.fail(rw, err)
			return
		}
		idx, err := explain.Indices(sc.Sys, sc.Init, sc.Trace)
		if err != nil {
			s.fail(rw, err)
			return
		}
		w := &walk{sys: sc.Sys, cfg: sc.Sys.Config(), mutant: sc.Sys.Mutant(), cfgSet: true, init: sc.Init}
		http.Redirect(rw, r, withMsg(s.link(w, idx, len(idx)), p.Question+" — "+p.Scenes[num-1].Title), http.StatusSeeOther)
		return
	}
	s.fail(rw, fmt.Errorf("web: no docs page scene %q", r.URL.Query().Get("q")))
}

func withMsg(link, msg string) string {
	sep := "?"
	if strings.Contains(link, "?") {
		sep = "&"
	}
	return link + sep + "msg=" + url.QueryEscape(msg)
}
