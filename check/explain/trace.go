package explain

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"sort"
	"strings"

	"github.com/tcpcheck/tcpcheck/check"
	"github.com/tcpcheck/tcpcheck/impl/wire"
	"github.com/tcpcheck/tcpcheck/model"
	"github.com/tcpcheck/tcpcheck/spec"
)

// TraceFormat and TraceVersion identify a saved trace file.
const (
	TraceFormat  = "tcpcheck-trace"
	TraceVersion = 1
)

// Trace is a saved trace: the readable steps (the shape of the "violation"
// object of `tcpcheck explore --json`, one [check.StepJSON] per step) and,
// when the trace came from the model, what is needed to replay it there.
//
// A file holds one JSON object:
//
//	{
//	  "format": "tcpcheck-trace", "version": 1,
//	  "title": "three-way handshake",       // optional
//	  "source": "docs",                     // who wrote it: docs, browse, explore, why, endpoint, ...
//	  "property": "EstablishedOnlyWithLivePeer", // the property the last state breaks; "" for a plain walk
//	  "goal": "both sides ESTABLISHED",     // optional: the situation the trace reaches
//	  "model": {                            // optional: a path of the model
//	    "config": {...},                    // model.Config (JSON names as in --config files)
//	    "mutant": "two-way-handshake",      // "" for the correct table
//	    "init": "<hex of the initial state's key>",
//	    "path": [0, 3, 1]                   // step i takes successor path[i] of System.Next
//	  },
//	  "init":  {...},                       // the initial state, as a StepJSON of kind "init"
//	  "trace": [{...}, ...]                 // one StepJSON per step
//	}
//
// A trace with "model" is checked against the model when it is read back:
// the path must start at an initial state, every index must name a
// successor, and the readable steps must be what the model renders for
// that path. A trace without "model" (an endpoint's recording) is rendered
// from its readable steps alone.
type Trace struct {
	Format   string           `json:"format"`
	Version  int              `json:"version"`
	Title    string           `json:"title,omitempty"`
	Source   string           `json:"source,omitempty"`
	Property string           `json:"property,omitempty"`
	Goal     string           `json:"goal,omitempty"`
	Note     string           `json:"note,omitempty"`
	Model    *ModelPath       `json:"model,omitempty"`
	Init     check.StepJSON   `json:"init"`
	Steps    []check.StepJSON `json:"trace"`
}

// ModelPath locates a trace in the model: a configuration, a table (the
// correct one or a mutant), an initial state and successor numbers.
type ModelPath struct {
	Config model.Config `json:"config"`
	Mutant string       `json:"mutant,omitempty"`
	Init   string       `json:"init"`
	Path   []int        `json:"path"`
}

// NewSystem builds the system a model path runs on.
func NewSystem(cfg model.Config, mutant string) (*model.System, error) {
	if mutant == "" {
		return model.New(cfg)
	}
	return model.NewMutant(cfg, mutant)
}

// NewTrace records a path of sys from init as a saved trace. property is
// the property the last state breaks, or "".
func NewTrace(sys *model.System, init model.Key, trace []model.Transition, property string) (*Trace, error) {
	idx, err := Indices(sys, init, trace)
	if err != nil {
		return nil, err
	}
	v := check.ViolationJSON(sys, &check.Violation{Property: property, Init: init, Trace: trace})
	return &Trace{
		Format: TraceFormat, Version: TraceVersion, Property: property,
		Model: &ModelPath{Config: sys.Config(), Mutant: sys.Mutant(), Init: hex.EncodeToString(init[:]), Path: idx},
		Init:  v.Init, Steps: v.Trace,
	}, nil
}

// ParseTrace reads a saved trace, or the JSON that `tcpcheck explore
// --json` and `tcpcheck why --json` print (its "violation"), or a bare
// violation object. It checks the readable steps for sense; use
// [Trace.Replay] to check a model path.
func ParseTrace(data []byte) (*Trace, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil, errors.New("explain: trace: the file is empty; want a saved trace or the output of tcpcheck explore --json")
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("explain: trace: not a JSON object (%v); want a saved trace or the output of tcpcheck explore --json", err)
	}
	var t Trace
	switch {
	case probe["format"] != nil:
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&t); err != nil {
			return nil, fmt.Errorf("explain: trace: %v", err)
		}
		if t.Format != TraceFormat {
			return nil, fmt.Errorf("explain: trace: format is %q; want %q", t.Format, TraceFormat)
		}
		if t.Version != TraceVersion {
			return nil, fmt.Errorf("explain: trace: version %d; this tcpcheck reads version %d", t.Version, TraceVersion)
		}
	case probe["result"] != nil && probe["violation"] != nil:
		if string(probe["violation"]) == "null" {
			return nil, errors.New("explain: trace: the run found no violation, so there is no trace in this file")
		}
		if err := t.fromViolation(probe["violation"]); err != nil {
			return nil, err
		}
		t.Source = "explore"
		if probe["mutant"] != nil {
			t.Source = "why"
		}
	case probe["trace"] != nil && probe["init"] != nil:
		if err := t.fromViolation(data); err != nil {
			return nil, err
		}
	default:
		return nil, errors.New(`explain: trace: no "format", "violation" or "trace" field; want a saved trace or the output of tcpcheck explore --json`)
	}
	if err := t.check(); err != nil {
		return nil, err
	}
	return &t, nil
}

func (t *Trace) fromViolation(raw []byte) error {
	var v check.ViolationJSONValue
	if err := json.Unmarshal(raw, &v); err != nil {
		return fmt.Errorf("explain: trace: violation: %v", err)
	}
	t.Format, t.Version, t.Property, t.Note, t.Init, t.Steps = TraceFormat, TraceVersion, v.Property, v.Note, v.Init, v.Trace
	return nil
}

var stepKinds = map[string]bool{"user": true, "deliver": true, "drop": true, "duplicate": true, "tick": true, "timer": true, "inject": true}

// check looks at the readable steps: known kinds, hosts and states, and
// segments that could be on the wire (see [checkSegment]).
func (t *Trace) check() error {
	okState := func(s string) bool {
		_, ok := spec.ParseState(s)
		return ok
	}
	if !okState(t.Init.A) || !okState(t.Init.B) {
		return fmt.Errorf("explain: trace: the initial state names unknown TCP states %q and %q", t.Init.A, t.Init.B)
	}
	if err := checkSegments("explain: trace: the initial state", t.Init); err != nil {
		return err
	}
	for i, s := range t.Steps {
		where := fmt.Sprintf("explain: trace: step %d", i+1)
		if !stepKinds[s.Kind] {
			return fmt.Errorf("%s: unknown kind %q (want user, deliver, drop, duplicate, tick, timer or inject)", where, s.Kind)
		}
		if s.Host != "A" && s.Host != "B" && s.Host != "network" {
			return fmt.Errorf("%s: host is %q; want A, B or network", where, s.Host)
		}
		if !okState(s.A) || !okState(s.B) {
			return fmt.Errorf("%s: unknown TCP state in %q / %q", where, s.A, s.B)
		}
		if err := checkSegments(where, s); err != nil {
			return err
		}
		switch s.Kind {
		case "deliver", "drop", "duplicate", "inject":
			if s.Segment == nil {
				return fmt.Errorf("%s: a %s step without its segment", where, s.Kind)
			}
		}
	}
	return nil
}

// checkSegments checks the segments of a step (the one it moved and those
// it sent) with [checkSegment]; where names the step in errors.
func checkSegments(where string, s check.StepJSON) error {
	if s.Segment != nil {
		if err := checkSegment(*s.Segment); err != nil {
			return fmt.Errorf("%s: segment: %v", where, err)
		}
	}
	for j, g := range s.Sent {
		if err := checkSegment(g); err != nil {
			return fmt.Errorf("%s: sent[%d]: %v", where, j, err)
		}
	}
	return nil
}

// checkSegment says what makes g a segment that cannot be on the wire: a
// sender other than A or B, flags that do not parse, or a length outside
// 0..[wire.MaxPcapText] (what one segment carries, and what a capture of
// the trace can hold).
func checkSegment(g check.SegmentJSON) error {
	if g.From != "A" && g.From != "B" {
		return fmt.Errorf("from is %q; want A or B", g.From)
	}
	if _, err := parseFlags(g.Flags); err != nil {
		return err
	}
	if g.Len < 0 || g.Len > wire.MaxPcapText {
		return fmt.Errorf("len is %d; a segment carries 0..%d octets of text", g.Len, wire.MaxPcapText)
	}
	return nil
}

// parseFlags reads flags as [spec.Flags.String] writes them ("SYN,ACK"):
// known names, each at most once.
func parseFlags(s string) (spec.Flags, error) {
	var f spec.Flags
	if s == "" || s == "none" {
		return 0, nil
	}
	for _, name := range strings.Split(s, ",") {
		found := false
		for b := 0; b < 8; b++ {
			if spec.Flags(1<<b).String() == name {
				if f.Has(spec.Flags(1 << b)) {
					return 0, fmt.Errorf("flags %q name %s twice", s, name)
				}
				f |= spec.Flags(1 << b)
				found = true
			}
		}
		if !found {
			return 0, fmt.Errorf("unknown TCP flag %q in flags %q (want names such as SYN,ACK: SYN, ACK, FIN, RST, PSH, URG, ECE, CWR)", name, s)
		}
	}
	return f, nil
}

// Replay rebuilds a model trace: the system, the initial state and the
// transitions, checking that the path is one of the model's and that the
// readable steps are what the model renders for it. It fails for a trace
// without a model path.
func (t *Trace) Replay() (*model.System, model.Key, []model.Transition, error) {
	var init model.Key
	if t.Model == nil {
		return nil, init, nil, errors.New("explain: trace: no model path in this trace (it was recorded outside the model)")
	}
	if err := t.Model.Config.Validate(); err != nil {
		return nil, init, nil, fmt.Errorf("explain: trace: model config: %v", err)
	}
	sys, err := NewSystem(t.Model.Config, t.Model.Mutant)
	if err != nil {
		return nil, init, nil, fmt.Errorf("explain: trace: %v", err)
	}
	b, err := hex.DecodeString(t.Model.Init)
	if err != nil || len(b) != model.KeySize {
		return nil, init, nil, fmt.Errorf("explain: trace: model init is not %d hex-encoded bytes", model.KeySize)
	}
	copy(init[:], b)
	found := false
	for _, k := range sys.Init() {
		found = found || k == init
	}
	if !found {
		return nil, init, nil, errors.New("explain: trace: model init is not an initial state of the configuration")
	}
	tr, err := Walk(sys, init, t.Model.Path)
	if err != nil {
		return nil, init, nil, fmt.Errorf("explain: trace: model path: %v", err)
	}
	v := check.ViolationJSON(sys, &check.Violation{Property: t.Property, Init: init, Trace: tr})
	if !reflect.DeepEqual(v.Init, t.Init) {
		return nil, init, nil, errors.New("explain: trace: the readable initial state is not the model's")
	}
	if len(v.Trace) != len(t.Steps) {
		return nil, init, nil, fmt.Errorf("explain: trace: %d readable steps but a model path of %d", len(t.Steps), len(v.Trace))
	}
	for i := range v.Trace {
		if !reflect.DeepEqual(v.Trace[i], t.Steps[i]) {
			return nil, init, nil, fmt.Errorf("explain: trace: step %d: the readable step is not what the model does on this path: %s",
				i+1, stepDiff(t.Steps[i], v.Trace[i]))
		}
	}
	if t.Property != "" && t.Property != model.QuiescenceName {
		// (Quiescence is not checked again here: that means exploring
		// everything reachable from the last state.)
		if err := check.Replay(sys, &check.Violation{Property: t.Property, Init: init, Trace: tr}); err != nil {
			return nil, init, nil, fmt.Errorf("explain: trace: %v", err)
		}
	}
	return sys, init, tr, nil
}

// stepDiff names the fields in which a file's step differs from the
// model's, with both values: "b is "CLOSED" in the file, "SYN-RECEIVED" in
// the model".
func stepDiff(file, model any) string {
	fields := func(v any) map[string]json.RawMessage {
		b, _ := json.Marshal(v)
		m := map[string]json.RawMessage{}
		_ = json.Unmarshal(b, &m)
		return m
	}
	f, m := fields(file), fields(model)
	keys := make([]string, 0, len(f)+len(m))
	for k := range f {
		keys = append(keys, k)
	}
	for k := range m {
		if _, ok := f[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var diffs []string
	for _, k := range keys {
		if string(f[k]) != string(m[k]) {
			fv, mv := string(f[k]), string(m[k])
			if fv == "" {
				fv = "missing"
			}
			if mv == "" {
				mv = "missing"
			}
			diffs = append(diffs, fmt.Sprintf("%s is %s in the file, %s in the model", k, fv, mv))
		}
	}
	return strings.Join(diffs, "; ")
}

// WriteJSON writes the trace as an indented saved-trace file.
func (t *Trace) WriteJSON(w io.Writer) error {
	data, err := json.MarshalIndent(t, "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(data, '\n'))
	return err
}

// WriteTable renders the trace as a segment table. A model trace is
// replayed and drawn by [check.WriteTable]; a recorded one is drawn from
// its readable steps in the same layout.
func (t *Trace) WriteTable(w io.Writer) error {
	if t.Model != nil {
		sys, init, tr, err := t.Replay()
		if err != nil {
			return err
		}
		return writeTable(w, sys, init, tr, t.Property)
	}
	return t.readableTable(w)
}

// WriteMermaid renders the trace as a Mermaid sequence diagram.
func (t *Trace) WriteMermaid(w io.Writer) error {
	if t.Model != nil {
		sys, init, tr, err := t.Replay()
		if err != nil {
			return err
		}
		return writeMermaid(w, sys, init, tr, t.Property, t.Goal)
	}
	return t.readableMermaid(w)
}

// WritePcap writes the segments of the trace as a capture (see
// [check.WritePcap] for the addresses and timing).
func (t *Trace) WritePcap(w io.Writer) error {
	if t.Model != nil {
		sys, init, tr, err := t.Replay()
		if err != nil {
			return err
		}
		return check.WritePcap(w, &check.Violation{Property: t.Property, Init: init, Trace: tr}, sys.Config().MSL)
	}
	return t.readablePcap(w)
}

// writeTable draws a model path with check.WriteTable. For a path that
// breaks no property the verdict lines WriteTable ends with are left out.
func writeTable(w io.Writer, sys *model.System, init model.Key, tr []model.Transition, property string) error {
	var b bytes.Buffer
	if err := check.WriteTable(&b, sys, &check.Violation{Property: property, Init: init, Trace: tr}); err != nil {
		return err
	}
	out := b.String()
	if property == "" {
		if i := strings.Index(out, "\nviolates "); i >= 0 {
			out = out[:i+1]
		}
	}
	_, err := io.WriteString(w, out)
	return err
}

// writeMermaid draws a model path with check.WriteMermaid; for a path that
// breaks no property the closing note names the goal reached instead.
func writeMermaid(w io.Writer, sys *model.System, init model.Key, tr []model.Transition, property, goal string) error {
	var b bytes.Buffer
	if err := check.WriteMermaid(&b, sys, &check.Violation{Property: property, Init: init, Trace: tr}); err != nil {
		return err
	}
	out := b.String()
	if property == "" {
		last := "    Note over A,B: violates \n"
		out = strings.TrimSuffix(out, last)
		if goal != "" {
			out += "    Note over A,B: " + strings.NewReplacer(";", ",", "#", "").Replace(goal) + "\n"
		}
	}
	_, err := io.WriteString(w, out)
	return err
}

// readableTable draws recorded steps: one line per step, the states after
// it, the segment moved or sent.
func (t *Trace) readableTable(w io.Writer) error {
	rows := [][5]string{{"#", "A", "step", "segment", "B"},
		{"0", label(t.Init.A, "", signalOf(t.Init.AHost), true), "initial state", "", label(t.Init.B, "", signalOf(t.Init.BHost), true)}}
	prev := t.Init
	for i, s := range t.Steps {
		a := label(s.A, prev.A, signalOf(s.AHost), signalOf(s.AHost) != signalOf(prev.AHost))
		b := label(s.B, prev.B, signalOf(s.BHost), signalOf(s.BHost) != signalOf(prev.BHost))
		prev = s
		what := s.Host + " " + s.Kind
		switch s.Kind {
		case "user":
			what = s.Host + " " + s.Call
			if s.Call == "" {
				what = s.Host + " " + s.Event
			}
		case "deliver":
			what = s.Host + " rcv"
		case "drop":
			what = "lost"
		case "duplicate":
			what = "duplicated"
		case "tick":
			what = "tick"
		case "timer":
			what = s.Host + " " + s.Event + " fires"
		case "inject":
			what = "attacker -> " + s.Host
		}
		seg := ""
		sent := s.Sent
		if s.Segment != nil {
			tip := map[string]string{"deliver": ">", "drop": "x", "duplicate": ">", "inject": ">"}[s.Kind]
			shaft := map[string]string{"duplicate": "=", "inject": "~"}[s.Kind]
			seg = readableArrow(*s.Segment, shaft, tip)
		} else if len(sent) > 0 {
			seg = readableArrow(sent[0], "", ">")
			sent = sent[1:]
		}
		rows = append(rows, [5]string{fmt.Sprint(i + 1), a, what, seg, b})
		for _, g := range sent {
			rows = append(rows, [5]string{"", "", g.From + " sends", readableArrow(g, "", ">"), ""})
		}
	}
	var width [5]int
	for _, r := range rows {
		for c, s := range r {
			width[c] = max(width[c], len(s))
		}
	}
	for _, r := range rows {
		line := fmt.Sprintf("%*s  %-*s  %-*s  %-*s  %s", width[0], r[0], width[1], r[1], width[2], r[2], width[3], r[3], r[4])
		if _, err := io.WriteString(w, strings.TrimRight(line, " ")+"\n"); err != nil {
			return err
		}
	}
	if t.Property != "" {
		_, err := fmt.Fprintf(w, "violates %s in the last state\n", t.Property)
		return err
	}
	return nil
}

var reSignal = regexp.MustCompile(`\[([a-z]+)\] next: `)

// signalOf finds the user-visible signal in a host's one-line rendering
// (model.Host.String: "... [connected] next: ...").
func signalOf(detail string) string {
	if m := reSignal.FindStringSubmatch(detail); m != nil {
		return m[1]
	}
	return ""
}

// label is what a table shows for a host after a step, as check.WriteTable
// does: the state when it changed, and the signal when it changed.
func label(state, before, signal string, signalChanged bool) string {
	out := ""
	if state != before {
		out = state
	}
	if signalChanged && signal != "" {
		out = state + " [" + signal + "]"
	}
	return out
}

func readableText(g check.SegmentJSON) string {
	return fmt.Sprintf("%s seq=%d ack=%d len=%d", g.Flags, g.Seq, g.Ack, g.Len)
}

func readableArrow(g check.SegmentJSON, shaft, tip string) string {
	if shaft == "" {
		shaft = "-"
	}
	if g.From == "A" {
		return shaft + shaft + readableText(g) + shaft + shaft + tip
	}
	if tip == ">" {
		tip = "<"
	}
	return tip + shaft + shaft + readableText(g) + shaft + shaft
}

// readableMermaid draws recorded steps as a sequence diagram with the
// network between A and B.
func (t *Trace) readableMermaid(w io.Writer) error {
	var b strings.Builder
	b.WriteString("sequenceDiagram\n    participant A\n    participant N as network\n    participant B\n")
	for _, s := range t.Steps {
		if s.Kind == "inject" {
			b.WriteString("    participant X as attacker\n")
			break
		}
	}
	clean := strings.NewReplacer(";", ",", "#", "", "\n", " ").Replace
	fmt.Fprintf(&b, "    Note over A: %s\n    Note over B: %s\n", t.Init.A, t.Init.B)
	prevA, prevB := t.Init.A, t.Init.B
	for _, s := range t.Steps {
		switch s.Kind {
		case "user":
			fmt.Fprintf(&b, "    Note over %s: %s\n", s.Host, clean(s.Call))
		case "deliver":
			fmt.Fprintf(&b, "    N->>%s: %s\n", s.Host, readableText(*s.Segment))
		case "drop":
			to := "B"
			if s.Segment.From == "B" {
				to = "A"
			}
			fmt.Fprintf(&b, "    N-x%s: lost %s\n", to, readableText(*s.Segment))
		case "duplicate":
			fmt.Fprintf(&b, "    Note over N: duplicated %s\n", readableText(*s.Segment))
		case "tick":
			b.WriteString("    Note over A,B: tick\n")
		case "timer":
			fmt.Fprintf(&b, "    Note over %s: %s fires\n", s.Host, clean(s.Event))
		case "inject":
			fmt.Fprintf(&b, "    X->>%s: forged %s\n", s.Host, readableText(*s.Segment))
		}
		for _, g := range s.Sent {
			fmt.Fprintf(&b, "    %s-)N: %s\n", g.From, readableText(g))
		}
		if s.A != prevA {
			fmt.Fprintf(&b, "    Note over A: %s\n", s.A)
		}
		if s.B != prevB {
			fmt.Fprintf(&b, "    Note over B: %s\n", s.B)
		}
		prevA, prevB = s.A, s.B
	}
	if t.Property != "" {
		fmt.Fprintf(&b, "    Note over A,B: violates %s\n", clean(t.Property))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func (t *Trace) readablePcap(w io.Writer) error {
	p, err := check.NewStepPcap(w, model.DefaultConfig().MSL) // a recorded trace's ticks, if any, at the default MSL
	if err != nil {
		return err
	}
	write := func(step int, g check.SegmentJSON, from int) error {
		f, err := parseFlags(g.Flags)
		if err != nil {
			return fmt.Errorf("explain: pcap: step %d: %v", step, err)
		}
		return p.Segment(step, from, f, spec.Seq(g.Seq), spec.Seq(g.Ack), g.Len)
	}
	from := func(s string) int {
		if s == "B" {
			return 1
		}
		return 0
	}
	for i, s := range t.Steps {
		if s.Kind == "tick" {
			p.Tick()
		}
		if (s.Kind == "duplicate" || s.Kind == "inject") && s.Segment != nil {
			if err := write(i+1, *s.Segment, from(s.Segment.From)); err != nil {
				return err
			}
		}
		for _, g := range s.Sent {
			if err := write(i+1, g, from(g.From)); err != nil {
				return err
			}
		}
	}
	return nil
}
