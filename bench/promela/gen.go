package promela

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"text/template"

	"github.com/tcpcheck/tcpcheck/model"
	"github.com/tcpcheck/tcpcheck/spec"
)

// netCap is the model's bound on segments in flight (model/world.go).
const netCap = 10

// rcvWnd is the model's receive window (model/system.go).
const rcvWnd = 4

// op is one call of a user's program, as model.System.program builds it.
type op struct {
	Kind    string // "listen", "connect", "write", "close"
	N       int
	NeedEOF bool
}

// hostView is what the template needs to know about one host.
type hostView struct {
	I, P     int    // index and peer index
	H, PH    string // Promela names of the host and the peer
	Prog     []op
	ISS      int
	Listener bool // the program's first call is listen
	AbortBy  bool
	Lookup   string // the row lookup, with H for the host
}

type view struct {
	Cfg         model.Config
	Config      string
	Hosts       [2]hostView
	Slots       []int
	Reorder     int
	Spurious    int
	TimeWait    int
	Defines     string
	Deliverable []string
	RTOEn       [2]string
	Armed       [2]string
	TickOK      string
}

// Generate returns the Promela model of cfg running spec.Table(). It fails
// for a configuration the translation does not cover (Config.Also, more
// than one ISS per host).
func Generate(cfg model.Config) ([]byte, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("promela: %w", err)
	}
	if len(cfg.Also) != 0 {
		return nil, errors.New("promela: the translation covers one scenario; set also to none")
	}
	if len(cfg.ISSA) != 1 || len(cfg.ISSB) != 1 {
		return nil, errors.New("promela: the translation covers one ISS value per host; give iss_a and iss_b one value each")
	}
	m, err := spec.NewMachine(spec.Table())
	if err != nil {
		return nil, fmt.Errorf("promela: %w", err)
	}
	v := view{Cfg: cfg, Reorder: b2i(cfg.Reorder), Spurious: b2i(cfg.SpuriousRTO)}
	v.TimeWait = cfg.TimeWait
	if v.TimeWait == 0 {
		v.TimeWait = 2 * cfg.MSL
	}
	cj, err := jsonLine(cfg)
	if err != nil {
		return nil, err
	}
	v.Config = cj
	for j := range netCap {
		v.Slots = append(v.Slots, j)
	}
	passiveB := cfg.Open == "client-server"
	for i := range 2 {
		hv := hostView{I: i, P: 1 - i, H: fmt.Sprintf("h%d", i), PH: fmt.Sprintf("h%d", 1-i)}
		hv.Prog = program(cfg, passiveB, i)
		hv.Listener = hv.Prog[0].Kind == "listen"
		hv.ISS = cfg.ISSA[0]
		if i == 1 {
			hv.ISS = cfg.ISSB[0]
		}
		hv.AbortBy = cfg.Abort == "ab"[i:i+1]
		hv.Lookup = lookup(m)
		v.Hosts[i] = hv
	}
	v.Defines = defines()
	for j := range netCap {
		v.Deliverable = append(v.Deliverable, deliverable(j, cfg.Reorder))
	}
	for i := range 2 {
		v.Armed[i] = armed(i, cfg.MaxRetries)
		v.RTOEn[i] = rtoEnabled(i, cfg)
	}
	v.TickOK = tickOK(cfg)
	var b bytes.Buffer
	if err := tmpl.Execute(&b, v); err != nil {
		return nil, fmt.Errorf("promela: %w", err)
	}
	return b.Bytes(), nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// program mirrors model.System.program: open, writes of SendSize octets,
// close; the side that is not the first closer waits for end of stream.
func program(c model.Config, passiveB bool, h int) []op {
	var p []op
	if h == 1 && passiveB {
		p = append(p, op{Kind: "listen"})
	} else {
		p = append(p, op{Kind: "connect"})
	}
	first := c.Closer == "both" || (c.Closer == "a") == (h == 0)
	n := c.WriteA
	if h == 1 {
		n = c.WriteB
	}
	for n > 0 {
		k := min(n, c.SendSize)
		p = append(p, op{Kind: "write", N: k, NeedEOF: !first})
		n -= k
	}
	return append(p, op{Kind: "close", NeedEOF: !first})
}

// defines names the spec's enums the way the Promela text uses them.
func defines() string {
	var b strings.Builder
	for _, s := range spec.States() {
		fmt.Fprintf(&b, "#define %s %d\n", ident("ST", s.String()), s)
	}
	for e := spec.Event(0); int(e) < spec.NumEvents; e++ {
		fmt.Fprintf(&b, "#define %s %d\n", ident("EV", e.String()), e)
	}
	for g := spec.Guard(0); int(g) < spec.NumGuards; g++ {
		fmt.Fprintf(&b, "#define %s %d\n", ident("G", g.String()), 1<<g)
	}
	for a := spec.Action(0); int(a) < spec.NumActions; a++ {
		fmt.Fprintf(&b, "#define %s %d\n", ident("A", a.String()), 1<<a)
	}
	return b.String()
}

// ident turns a spec name ("SYN-SENT", "rcv SYN,ACK") into a Promela
// identifier ("ST_SYN_SENT", "EV_RCV_SYN_ACK").
func ident(prefix, name string) string {
	var b strings.Builder
	b.WriteString(prefix)
	b.WriteByte('_')
	up := false
	for _, r := range strings.ToUpper(name) {
		if (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			if up && b.Len() > len(prefix)+1 {
				b.WriteByte('_')
			}
			up = false
			b.WriteRune(r)
		} else {
			up = true
		}
	}
	return b.String()
}

// lookup emits the row choice of spec.Machine.Step as nested Promela ifs on
// the host's state, the event and the outcomes of the guards the rows for
// that state and event mention; each leaf sets the row's actions (pdo) and
// To state (pto).
func lookup(m *spec.Machine) string {
	var b strings.Builder
	b.WriteString("  if\n")
	for _, s := range spec.States() {
		fmt.Fprintf(&b, "  :: H.st == %s ->\n    if\n", ident("ST", s.String()))
		for e := spec.Event(0); int(e) < spec.NumEvents; e++ {
			mask := m.Guards(s, e)
			fmt.Fprintf(&b, "    :: pe == %s ->\n", ident("EV", e.String()))
			leaf := func(g spec.GuardSet, indent string) {
				r := m.Step(s, e, g)
				row := m.Rows()[r]
				fmt.Fprintf(&b, "%spdo = %d; pto = %s /* row %d: %s + %s */\n", indent, uint32(row.Actions()), ident("ST", row.To.String()), r, s, e)
			}
			if mask == 0 {
				leaf(0, "      ")
				continue
			}
			b.WriteString("      if\n")
			// Every subset of mask, in increasing order.
			for sub := spec.GuardSet(0); ; sub = (sub - mask) & mask {
				fmt.Fprintf(&b, "      :: (xg & %d) == %d -> ", mask, sub)
				leaf(sub, "")
				if sub == mask {
					break
				}
			}
			b.WriteString("      fi\n")
		}
		b.WriteString("    fi\n")
	}
	b.WriteString("  fi")
	return b.String()
}

// held mirrors model.System.held for the segment word w; the receiver is
// the host that did not send it.
func held(w string) string {
	r := func(f string) string {
		return fmt.Sprintf("(SFROM(%s) == 0 -> h1.%s : h0.%s)", w, f, f)
	}
	st, rcv := r("st"), r("rcv")
	return fmt.Sprintf("((%s == ST_SYN_RECEIVED || SYNC(%s)) && SSYN(%s) == 0 && SRST(%s) == 0 && (SLEN(%s) > 0 || SFIN(%s) == 1) && %s < SSEQ(%s) && (INWIN(SSEQ(%s), %s) || INWIN(SSEQ(%s) + SPLEN(%s) - 1, %s)))",
		st, st, w, w, w, w, rcv, w, w, rcv, w, w, rcv)
}

// deliverable mirrors model.System.deliverable for slot j.
func deliverable(j int, reorder bool) string {
	w := fmt.Sprintf("net[%d]", j)
	fifo := "1"
	if !reorder && j > 0 {
		fifo = fmt.Sprintf("SFROM(net[%d]) != SFROM(%s)", j-1, w)
	}
	return fmt.Sprintf("(%s != 0 && %s && !%s)", w, fifo, held(w))
}

func armed(i, retries int) string {
	return fmt.Sprintf("(HASTCB(h%d.st) && h%d.una != h%d.nxt && h%d.retries < %d)", i, i, i, i, retries)
}

// rtoEnabled mirrors model.System.rtoEnabled for host i, unrolled over the
// network's slots.
func rtoEnabled(i int, cfg model.Config) string {
	h := fmt.Sprintf("h%d", i)
	parts := []string{armed(i, cfg.MaxRetries)}
	if !cfg.SpuriousRTO {
		// The peer owes an ACK: its delayed ACK comes before any RTO.
		parts = append(parts, fmt.Sprintf("!h%d.owed", 1-i))
	}
	for j := range netCap {
		w := fmt.Sprintf("net[%d]", j)
		own := fmt.Sprintf("(SFROM(%s) == %d && SPLEN(%s) > 0 && %s.una < SSEQ(%s) + SPLEN(%s))", w, i, w, h, w, w)
		ack := "0"
		if !cfg.SpuriousRTO {
			ack = fmt.Sprintf("(SFROM(%s) != %d && SACKF(%s) == 1 && %s.una < SACKNO(%s) && SACKNO(%s) <= %s.nxt)", w, i, w, h, w, w, h)
		}
		parts = append(parts, fmt.Sprintf("!(%s != 0 && SINC(%s) == rnd && (%s || %s))", w, w, own, ack))
	}
	return "(" + strings.Join(parts, " && ") + ")"
}

// tickOK mirrors the conditions under which model.System.tick lets time
// advance.
func tickOK(cfg model.Config) string {
	var parts []string
	for j := range netCap {
		parts = append(parts, fmt.Sprintf("!(SAGE(net[%d]) + 1 >= %d && DELIVERABLE%d)", j, cfg.MSL, j))
	}
	for i := range 2 {
		parts = append(parts, fmt.Sprintf("!(RTOEN%d && h%d.rto >= %d)", i, i, cfg.RTOMax))
		parts = append(parts, fmt.Sprintf("!(h%d.st == ST_TIME_WAIT && h%d.tw == 0)", i, i))
	}
	parts = append(parts, "(nn > 0 || RTOEN0 || RTOEN1 || h0.st == ST_TIME_WAIT || h1.st == ST_TIME_WAIT)")
	return "(" + strings.Join(parts, " && ") + ")"
}

var tmpl = template.Must(template.Must(template.New("pml").Funcs(template.FuncMap{
	"sub":       func(a, b int) int { return a - b },
	"call1":     callText,
	"lookupFor": func(h hostView) string { return strings.ReplaceAll(h.Lookup, "H.st", h.H+".st") },
}).Parse(pmlText)).Parse(hostText))
