package tester

import (
	"fmt"

	"github.com/tcpcheck/tcpcheck/check/live/dut"
	"github.com/tcpcheck/tcpcheck/impl/wire"
	"strings"
	"time"

	"github.com/tcpcheck/tcpcheck/spec"
)

// signature renders what the DUT did at a step in the table's terms, free
// of the ISS and ISN of the run: each segment's control bits, SEG.SEQ and
// SEG.ACK named by the TCB variable (before the step for SEG.SEQ, after it
// for SEG.ACK) or the arriving segment's field they equal, the text
// length, and the state the DUT went to. Registered deviations match it.
func signature(pre, post *world, in *spec.Segment, got []Seg, st Step) string {
	var parts []string
	for _, g := range got {
		f := g.H.Flags & compareMask
		s := fmt.Sprintf("%s seq=%s", f, symSeq(pre, post, in, g.H.Seq))
		if f.Has(spec.ACK) {
			s += " ack=" + symAck(pre, post, in, g.H.Ack)
		}
		if len(g.Payload) > 0 {
			s += fmt.Sprintf(" len=%d", len(g.Payload))
		}
		parts = append(parts, s)
	}
	out := "nothing"
	if len(parts) > 0 {
		out = strings.Join(parts, "; ")
	}
	if st.StateSeen {
		out += " → " + st.GotState.String()
	}
	return out
}

// wantSignature renders what the table expected at a step, as signature
// renders what the DUT did.
func wantSignature(pre, post *world, in *spec.Segment, st Step) string {
	segs := make([]Seg, len(st.Want))
	for i, w := range st.Want {
		segs[i] = Seg{H: wire.Header{Seq: w.Seq, Ack: w.Ack, Flags: w.Flags}, Payload: make([]byte, w.Len)}
	}
	st.GotState, st.StateSeen = st.WantState, true
	return signature(pre, post, in, segs, st)
}

func rel(name string, v, base spec.Seq) (string, bool) {
	d := int32(v - base)
	switch {
	case d == 0:
		return name, true
	case d >= -64 && d <= 64:
		return fmt.Sprintf("%s%+d", name, d), true
	}
	return "", false
}

func symSeq(pre, post *world, in *spec.Segment, v spec.Seq) string {
	t, u := &pre.dut.tcb, &post.dut.tcb
	synced := false
	if _, ok := t.ISS(); ok && t.State().HasTCB() {
		synced = true
		if v == t.SndNxt() {
			return "SND.NXT"
		}
		if v == t.SndUna() {
			return "SND.UNA"
		}
	}
	if in != nil && in.Flags.Has(spec.ACK) && v == in.Ack {
		return "SEG.ACK"
	}
	if iss, ok := u.ISS(); ok && v == iss {
		return "ISS"
	}
	if v == 0 {
		return "0"
	}
	if synced {
		if s, ok := rel("SND.NXT", v, t.SndNxt()); ok {
			return s
		}
	}
	return "other"
}

func symAck(pre, post *world, in *spec.Segment, v spec.Seq) string {
	t, u := &pre.dut.tcb, &post.dut.tcb
	if _, ok := u.IRS(); ok && u.State().HasTCB() {
		if v == u.RcvNxt() {
			return "RCV.NXT"
		}
	}
	if in != nil && v == in.Seq.Add(in.SegLen()) {
		return "SEG.SEQ+SEG.LEN"
	}
	if _, ok := t.IRS(); ok && t.State().HasTCB() {
		if s, ok := rel("RCV.NXT", v, t.RcvNxt()); ok {
			return s
		}
	}
	if in != nil {
		if s, ok := rel("SEG.SEQ", v, in.Seq); ok {
			return s
		}
	}
	return "other"
}

// Table renders the case as a segment table: one line per move, with what
// the tester sent, what the table expects the DUT to send, what the DUT
// sent, and the state each side is in after the move.
func (r *Result) Table(rows []spec.Row) string {
	var b strings.Builder
	fmt.Fprintf(&b, "case %q: %s", r.Case.Name, r.Verdict)
	if r.Reason != "" {
		fmt.Fprintf(&b, ": %s", r.Reason)
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, " %-2s  %-40s  %-34s  %-34s  %-34s  %s\n", "#", "move (row)", "tester sends", "table expects from DUT", "DUT sent", "state: table / DUT")
	for i, s := range r.Steps {
		row := ""
		if s.Row >= 0 {
			row = " (" + rows[s.Row].Name() + ")"
		}
		sent := "-"
		if s.Sent != nil {
			sent = s.Sent.String()
		}
		n := max(1, len(s.Want), len(s.Got))
		for k := range n {
			want, got := "-", "-"
			if k < len(s.Want) {
				want = fmtSpec(s.Want[k])
			} else if k == 0 && len(s.Want) == 0 {
				want = "nothing"
			}
			if k < len(s.Got) {
				got = s.Got[k].String()
			} else if k == 0 && len(s.Got) == 0 {
				got = "nothing"
			}
			if k == 0 {
				gs := "?"
				if s.StateSeen {
					gs = s.GotState.String()
				}
				mark := " "
				if i == r.FailStep {
					mark = "!"
				}
				fmt.Fprintf(&b, "%s%-2d  %-40s  %-34s  %-34s  %-34s  %s / %s  (%v)\n", mark, i+1, s.Move.String()+row, sent, want, got, s.WantState, gs, s.At.Round(time.Millisecond))
			} else {
				fmt.Fprintf(&b, " %-2s  %-40s  %-34s  %-34s  %-34s\n", "", "", "", want, got)
			}
		}
		for _, g := range s.Ignored {
			fmt.Fprintf(&b, " %-2s  %-40s  %-34s  %-34s  %-34s\n", "", "", "", "(retransmission allowed by RTO)", g.String())
		}
		if s.SignalSeen {
			fmt.Fprintf(&b, " %-2s  user signal: table %s / DUT %s\n", "", s.WantSignal, renderSignal(s.GotSignal, s.SignalErr))
		}
		if s.Note != "" {
			fmt.Fprintf(&b, " %-2s  note: %s\n", "", s.Note)
		}
	}
	return b.String()
}

// Matches reports whether deviation d covers what the DUT did (signature
// got) at row rowName, whose state is from, where the table expected want,
// in the case named caseName. "FROM" in d's Got and Want stands for from.
func Matches(d dut.Deviation, rowName string, from spec.State, caseName, got, want string) bool {
	pin := func(p string) string { return strings.ReplaceAll(p, "FROM", from.String()) }
	if !match(d.Row, rowName) || !match(pin(d.Got), got) || d.Want != "" && !match(pin(d.Want), want) {
		return false
	}
	for _, c := range strings.Split(d.Case, "|") {
		if strings.Contains(caseName, c) {
			return true
		}
	}
	return false
}

// match reports whether s matches pattern p: alternatives separated by
// "|", in each of which "*" stands for any run of characters.
func match(p, s string) bool {
	for _, alt := range strings.Split(p, "|") {
		if match1(alt, s) {
			return true
		}
	}
	return false
}

func match1(p, s string) bool {
	parts := strings.Split(p, "*")
	if len(parts) == 1 {
		return p == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for _, q := range parts[1 : len(parts)-1] {
		i := strings.Index(s, q)
		if i < 0 {
			return false
		}
		s = s[i+len(q):]
	}
	return strings.HasSuffix(s, parts[len(parts)-1])
}
