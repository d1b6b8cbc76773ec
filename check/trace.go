package check

import (
	"bytes"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"github.com/tcpcheck/tcpcheck/impl/wire"
	"github.com/tcpcheck/tcpcheck/model"
	"github.com/tcpcheck/tcpcheck/spec"
)

// hostName is "A" or "B".
func hostName(h uint8) string { return string(rune('A' + h)) }

// segText renders a segment without its direction: "SYN,ACK seq=300 ack=101 len=0".
func segText(s model.Segment) string {
	return fmt.Sprintf("%s seq=%d ack=%d len=%d", s.Flags, uint32(s.Seq), uint32(s.Ack), s.Len)
}

// arrow draws a segment travelling from host from: body is the shaft
// ("-", "=" or "~") and tip how it ends (">" delivered or sent, "x" lost).
func arrow(s model.Segment, from uint8, shaft, tip string) string {
	t := segText(s)
	if from == 0 {
		return shaft + shaft + t + shaft + shaft + tip
	}
	if tip == ">" {
		tip = "<"
	}
	return tip + shaft + shaft + t + shaft + shaft
}

// stateLabel is what the table shows for a host after a step: its state,
// and the user-visible signal when it just changed.
func stateLabel(before, after model.Host, first bool) string {
	s := ""
	if first || before.State != after.State {
		s = after.State.String()
	}
	if after.Signal != before.Signal && after.Signal != "" {
		if s == "" {
			s = after.State.String()
		}
		s += " [" + after.Signal + "]"
	}
	return s
}

// stepLabel says what happened in a step, e.g. "A connect", "B rcv", "lost".
func stepLabel(st model.Step) string {
	h := hostName(st.Host)
	switch st.Kind {
	case model.User:
		if st.Call != "" {
			return h + " " + st.Call
		}
		return h + " " + st.Event.String()
	case model.Deliver:
		return h + " rcv"
	case model.Drop:
		return "lost"
	case model.Duplicate:
		return "duplicated"
	case model.Tick:
		return "tick"
	case model.Timer:
		return h + " " + st.Event.String() + " fires"
	case model.Inject:
		return "attacker -> " + h
	}
	return st.Kind.String()
}

// stepArrow draws the segment a step moved, if any.
func stepArrow(st model.Step) string {
	switch st.Kind {
	case model.Deliver:
		return arrow(st.Seg, 1-st.Host, "-", ">")
	case model.Drop:
		return arrow(st.Seg, st.Seg.From, "-", "x")
	case model.Duplicate:
		return arrow(st.Seg, st.Seg.From, "=", ">")
	case model.Inject:
		return arrow(st.Seg, 1-st.Host, "~", ">")
	}
	return ""
}

// sent returns the segments a step put on the network.
func sent(st model.Step) []model.Segment {
	n := min(int(st.NSent), len(st.Sent))
	return st.Sent[:n]
}

// WriteTable renders the counterexample as a segment table in the way
// handshakes are drawn: one line per step (and one more per further
// segment a step sends), each side's state when it changes, arrows with
// flags, seq, ack and len. "--x" is a lost segment, "==>" a duplicate,
// "~~>" a segment injected by the off-path attacker.
func WriteTable(w io.Writer, sys *model.System, v *Violation) error {
	var rows [][5]string
	rows = append(rows, [5]string{"#", "A", "step", "segment", "B"})
	prev := sys.Decode(v.Init)
	rows = append(rows, [5]string{"0", stateLabel(prev.Hosts[0], prev.Hosts[0], true), "initial state", "", stateLabel(prev.Hosts[1], prev.Hosts[1], true)})
	for i, t := range v.Trace {
		cur := sys.Decode(t.To)
		st := t.Step
		a := stateLabel(prev.Hosts[0], cur.Hosts[0], false)
		b := stateLabel(prev.Hosts[1], cur.Hosts[1], false)
		out := sent(st)
		seg := stepArrow(st)
		if seg == "" && len(out) > 0 && st.Kind != model.Deliver && st.Kind != model.Inject {
			seg = arrow(out[0], st.Host, "-", ">")
			out = out[1:]
		}
		rows = append(rows, [5]string{fmt.Sprint(i + 1), a, stepLabel(st), seg, b})
		for _, s := range out {
			rows = append(rows, [5]string{"", "", hostName(st.Host) + " sends", arrow(s, st.Host, "-", ">"), ""})
		}
		if int(st.NSent) > len(st.Sent) {
			rows = append(rows, [5]string{"", "", fmt.Sprintf("%s sends %d more", hostName(st.Host), int(st.NSent)-len(st.Sent)), "", ""})
		}
		prev = cur
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
	last := sys.Decode(v.Last())
	fmt.Fprintf(w, "violates %s in the last state:\n  A: %s\n  B: %s\n", v.Property, last.Hosts[0], last.Hosts[1])
	if len(last.Net) > 0 {
		fmt.Fprintf(w, "  in flight:")
		for _, s := range last.Net {
			fmt.Fprintf(w, " [%s->%s %s]", hostName(s.From), hostName(1-s.From), segText(s))
		}
		fmt.Fprintln(w)
	}
	if v.Note != "" {
		fmt.Fprintf(w, "  %s\n", v.Note)
	}
	for _, t := range v.Next {
		next := sys.Decode(t.To)
		fmt.Fprintf(w, "  it can still take: %s %s -> A %s, B %s\n", stepLabel(t.Step), stepArrow(t.Step), next.Hosts[0].State, next.Hosts[1].State)
	}
	return nil
}

// WriteMermaid renders the counterexample as a Mermaid sequence diagram
// with the network as a participant between A and B, so that reordering,
// loss and duplication are visible.
func WriteMermaid(w io.Writer, sys *model.System, v *Violation) error {
	var b strings.Builder
	b.WriteString("sequenceDiagram\n    participant A\n    participant N as network\n    participant B\n")
	for _, t := range v.Trace {
		if t.Step.Kind == model.Inject {
			b.WriteString("    participant X as attacker\n")
			break
		}
	}
	prev := sys.Decode(v.Init)
	fmt.Fprintf(&b, "    Note over A: %s\n    Note over B: %s\n", prev.Hosts[0].State, prev.Hosts[1].State)
	for i, t := range v.Trace {
		st := t.Step
		h := hostName(st.Host)
		fmt.Fprintf(&b, "    %%%% step %d: %s\n", i+1, st.Kind)
		switch st.Kind {
		case model.User:
			fmt.Fprintf(&b, "    Note over %s: %s\n", h, mermaidText(strings.TrimPrefix(stepLabel(st), h+" ")))
		case model.Deliver:
			fmt.Fprintf(&b, "    N->>%s: %s\n", h, segText(st.Seg))
		case model.Drop:
			fmt.Fprintf(&b, "    N-x%s: lost %s\n", hostName(1-st.Seg.From), segText(st.Seg))
		case model.Duplicate:
			fmt.Fprintf(&b, "    Note over N: duplicated %s\n", segText(st.Seg))
		case model.Tick:
			b.WriteString("    Note over A,B: tick\n")
		case model.Timer:
			fmt.Fprintf(&b, "    Note over %s: %s fires\n", h, mermaidText(st.Event.String()))
		case model.Inject:
			fmt.Fprintf(&b, "    X->>%s: forged %s\n", h, segText(st.Seg))
		}
		for _, s := range sent(st) {
			fmt.Fprintf(&b, "    %s-)N: %s\n", h, segText(s))
		}
		cur := sys.Decode(t.To)
		for j := range 2 {
			if l := stateLabel(prev.Hosts[j], cur.Hosts[j], false); l != "" {
				fmt.Fprintf(&b, "    Note over %s: %s\n", hostName(uint8(j)), mermaidText(l))
			}
		}
		prev = cur
	}
	fmt.Fprintf(&b, "    Note over A,B: violates %s\n", v.Property)
	_, err := io.WriteString(w, b.String())
	return err
}

// mermaidText keeps characters that end a Mermaid statement out of a label.
func mermaidText(s string) string {
	return strings.NewReplacer(";", ",", "#", "", "\n", " ").Replace(s)
}

// StepPcap writes a trace of the model as a capture on the wire between A
// and B: A and B on TEST-NET-1 (RFC 5737), the attacker spoofing them, the
// model's sequence numbers as they are and text octets as 'x'. Its clock
// starts at a fixed epoch and moves 10 ms a step and [PcapMSL] over the
// model's MSL at every tick, so that the model's timers last in the
// capture what they stand for: a TIME-WAIT of 2MSL ticks lasts at least
// 2*PcapMSL, as the capture checker asks by default (conform --pcap
// --msl), and one cut short is seen to be. Counterexamples ([WritePcap])
// and the question pages' traces (package check/explain) both write
// through it.
type StepPcap struct {
	pw    *wire.PcapWriter
	tick  time.Duration
	ticks int
}

// PcapMSL is the time a model MSL lasts in the captures StepPcap writes:
// the default MSL of conform's --msl.
const PcapMSL = 500 * time.Millisecond

var (
	pcapAddr = [2]netip.AddrPort{
		netip.MustParseAddrPort("192.0.2.1:40000"),
		netip.MustParseAddrPort("192.0.2.2:80"),
	}
	pcapEpoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
)

// NewStepPcap writes the capture's file header to w; msl is the model's
// MSL in ticks (model.Config.MSL).
func NewStepPcap(w io.Writer, msl int) (*StepPcap, error) {
	pw, err := wire.NewPcapWriter(w)
	if err != nil {
		return nil, err
	}
	return &StepPcap{pw: pw, tick: PcapMSL / time.Duration(max(msl, 1))}, nil
}

// Tick moves the capture's clock on by a tick of the model.
func (p *StepPcap) Tick() { p.ticks++ }

// Segment writes the segment that host from (0 = A, 1 = B) put on the
// wire at step (1-based), with n octets of text. A length no segment can
// have (negative, or more than [wire.MaxPcapText]) is an error, and
// nothing is written.
func (p *StepPcap) Segment(step, from int, flags spec.Flags, seq, ack spec.Seq, n int) error {
	if n < 0 || n > wire.MaxPcapText {
		return fmt.Errorf("check: pcap: step %d: a segment with %d octets of text; a segment carries 0..%d", step, n, wire.MaxPcapText)
	}
	h := wire.Header{Seq: seq, Ack: ack, Flags: flags, Window: 4096}
	at := pcapEpoch.Add(time.Duration(step)*10*time.Millisecond + time.Duration(p.ticks)*p.tick)
	if err := p.pw.WriteSegment(at, pcapAddr[from&1], pcapAddr[1-from&1], h, bytes.Repeat([]byte("x"), n)); err != nil {
		return fmt.Errorf("check: pcap: %w", err)
	}
	return nil
}

// WritePcap writes the counterexample as a capture on the wire between A
// and B ([StepPcap]): every segment a host sends, every duplicate the
// network makes and every RST the attacker injects, in step order. Lost
// segments appear when they are sent (the capture point is at the sender).
// msl is the MSL in ticks of the configuration that found it.
func WritePcap(w io.Writer, v *Violation, msl int) error {
	p, err := NewStepPcap(w, msl)
	if err != nil {
		return err
	}
	write := func(step int, s model.Segment, from uint8) error {
		return p.Segment(step, int(from), s.Flags, s.Seq, s.Ack, int(s.Len))
	}
	for i, t := range v.Trace {
		st := t.Step
		switch st.Kind {
		case model.Tick:
			p.Tick()
		case model.Duplicate:
			if err := write(i+1, st.Seg, st.Seg.From); err != nil {
				return err
			}
		case model.Inject:
			if err := write(i+1, st.Seg, 1-st.Host); err != nil {
				return err
			}
		}
		for _, s := range sent(st) {
			if err := write(i+1, s, st.Host); err != nil {
				return err
			}
		}
	}
	return nil
}

// SegmentJSON is a segment in JSON output.
type SegmentJSON struct {
	From     string `json:"from"`
	Flags    string `json:"flags"`
	Seq      uint32 `json:"seq"`
	Ack      uint32 `json:"ack"`
	Len      int    `json:"len"`
	Injected bool   `json:"injected,omitempty"`
}

// StepJSON is one step of a trace in JSON output.
type StepJSON struct {
	Step    int           `json:"step"`
	Kind    string        `json:"kind"`
	Host    string        `json:"host"` // "A", "B", or "network" for tick, drop and duplicate
	Event   string        `json:"event,omitempty"`
	Call    string        `json:"call,omitempty"`
	Row     string        `json:"row,omitempty"` // the name of the table row applied
	Segment *SegmentJSON  `json:"segment"`       // the segment delivered, lost, duplicated or injected
	Sent    []SegmentJSON `json:"sent"`
	A       string        `json:"a"` // A's state after the step
	B       string        `json:"b"`
	AHost   string        `json:"a_detail"`
	BHost   string        `json:"b_detail"`
}

// ViolationJSONValue is a counterexample in JSON output.
type ViolationJSONValue struct {
	Property string     `json:"property"`
	Note     string     `json:"note,omitempty"`
	Init     StepJSON   `json:"init"`
	Trace    []StepJSON `json:"trace"`
	// Next holds a few steps the last state can still take (Quiescence).
	Next []StepJSON `json:"next,omitempty"`
}

func segJSON(s model.Segment) SegmentJSON {
	return SegmentJSON{From: hostName(s.From), Flags: s.Flags.String(), Seq: uint32(s.Seq), Ack: uint32(s.Ack), Len: int(s.Len), Injected: s.Injected}
}

// ViolationJSON returns the counterexample in the shape JSON output uses.
func ViolationJSON(sys *model.System, v *Violation) ViolationJSONValue {
	rows := sys.Rows()
	init := sys.Decode(v.Init)
	out := ViolationJSONValue{Property: v.Property, Note: v.Note, Trace: []StepJSON{},
		Init: StepJSON{Kind: "init", Host: "", Sent: []SegmentJSON{},
			A: init.Hosts[0].State.String(), B: init.Hosts[1].State.String(),
			AHost: init.Hosts[0].String(), BHost: init.Hosts[1].String()}}
	step := func(i int, t model.Transition) StepJSON {
		st := t.Step
		cur := sys.Decode(t.To)
		j := StepJSON{Step: i, Kind: st.Kind.String(), Host: hostName(st.Host), Call: st.Call, Sent: []SegmentJSON{},
			A: cur.Hosts[0].State.String(), B: cur.Hosts[1].State.String(),
			AHost: cur.Hosts[0].String(), BHost: cur.Hosts[1].String()}
		switch st.Kind {
		case model.Tick, model.Drop, model.Duplicate:
			j.Host = "network"
		default:
			j.Event = st.Event.String()
		}
		if st.Row >= 0 && int(st.Row) < len(rows) {
			j.Row = rows[st.Row].Name()
		}
		switch st.Kind {
		case model.Deliver, model.Drop, model.Duplicate, model.Inject:
			s := segJSON(st.Seg)
			j.Segment = &s
		}
		for _, s := range sent(st) {
			j.Sent = append(j.Sent, segJSON(s))
		}
		return j
	}
	for i, t := range v.Trace {
		out.Trace = append(out.Trace, step(i+1, t))
	}
	for _, t := range v.Next {
		out.Next = append(out.Next, step(len(v.Trace)+1, t))
	}
	return out
}
