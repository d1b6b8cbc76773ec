//go:build linux

package kernel

import (
	"fmt"
	"strings"

	"github.com/tcpcheck/tcpcheck/impl"
	"github.com/tcpcheck/tcpcheck/spec"
)

// render draws the scenario's log side by side: one row a packet (with our
// state and the kernel's after it, and the model's prediction of both),
// user calls and timers, and the checkpoints. Sequence numbers are shown
// relative to each side's ISS. Called with e.mu held.
func (e *env) render() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%5s  %-12s %-58s %-12s | %-12s %-12s\n", "#", "ours", "segment", "kernel", "model ours", "model kernel")
	fmt.Fprintf(&b, "%5s  (states after each packet; seq and ack relative to each ISS; ! marks a prediction that differs from\n%5s   the state seen at that instant, which may lag the wire; the checkpoints marked step decide)\n", "", "")
	kernAtSend := map[uint64]spec.State{}
	for _, x := range e.log {
		if x.kind == ePacket && x.fate == impl.FateSent && x.pkt.Dir == impl.Inbound && x.kernKnown {
			kernAtSend[x.pkt.ID] = x.kern
		}
	}
	many := 0
	for _, x := range e.log {
		if x.kind == ePacket && x.fate == impl.FateDelivered {
			many++
		}
	}
	elide := !e.opt.Full && many > 40
	var last [4]spec.State
	skipped, skippedLost := 0, 0
	flush := func() {
		if skipped > 0 {
			fmt.Fprintf(&b, "%5s  %s\n", "", fmt.Sprintf("... %d data and ACK segments that change no state (%d of them lost) ...", skipped, skippedLost))
			skipped, skippedLost = 0, 0
		}
	}
	curOurs, curKern := spec.Closed, spec.Closed
	for i, x := range e.log {
		switch x.kind {
		case ePacket:
			if x.fate == impl.FateSent {
				if x.kernKnown {
					curKern = x.kern
				}
				continue
			}
			ours, mOurs := curOurs, x.mOurs
			if j := e.transAfter(i); j >= 0 {
				ours, mOurs = e.log[j].ours, e.log[j].mOurs
			}
			kern := curKern
			if x.pkt.Dir == impl.Outbound && x.kernKnown {
				kern = x.kern
			} else if k, ok := kernAtSend[x.pkt.ID]; ok && x.pkt.Dir == impl.Inbound {
				kern = k
			}
			curKern = kern
			row := [4]spec.State{ours, kern, mOurs, x.mKern}
			ctl := x.pkt.Header.Flags&(spec.SYN|spec.FIN|spec.RST) != 0
			if elide && !ctl && row == last && (x.fate == impl.FateDelivered || x.fate == impl.FateLost) && !x.pkt.Injected {
				skipped++
				if x.fate == impl.FateLost {
					skippedLost++
				}
				continue
			}
			flush()
			last = row
			fmt.Fprintf(&b, "%5d  %-12s %-58s %-12s | %-12s %-12s\n", x.pkt.ID, ours, e.segText(x.pkt, x.fate), kern,
				mark(mOurs, ours), mark(x.mKern, kern))
		case eTrans:
			t := x.tr
			if !x.inTuple {
				continue
			}
			curOurs = x.ours
			if t.Event.IsSegment() {
				continue
			}
			flush()
			fmt.Fprintf(&b, "%5s  %-12s ours: %s: %s -> %s\n", "", t.To, t.Event, t.From, t.To)
		case eUser:
			flush()
			fmt.Fprintf(&b, "%5s  %-12s kernel: %s%s-> model %s\n", "", "", x.text, strings.Repeat(" ", max(1, 40-len(x.text))), x.mKern)
		case eStep:
			flush()
			verdict := "ok"
			switch {
			case x.dev:
				verdict = "expected deviation: kernel " + x.kern.String() + ", model " + x.mKern.String()
			case x.mOurs != x.ours || x.mKern != x.kern:
				verdict = "MISMATCH"
			}
			fmt.Fprintf(&b, "%5s  %-12s %-58s %-12s | %-12s %-12s %s\n", "step", x.ours, "== "+x.text, x.kern, x.mOurs, x.mKern, verdict)
		case eNote:
			flush()
			fmt.Fprintf(&b, "%5s  %s\n", "", x.text)
		}
	}
	flush()
	return b.String()
}

// mark returns the predicted state, flagged when it differs from the
// observed one.
func mark(pred, obs spec.State) string {
	if pred != obs {
		return pred.String() + "!"
	}
	return pred.String()
}

// transAfter returns the index of the transition of our connection that
// sent or received the packet of log entry i (among the next few
// entries), or -1 when there is none (a segment outside any row).
func (e *env) transAfter(i int) int {
	p := e.log[i].pkt
	if p.Injected || e.log[i].fate != impl.FateDelivered && p.Dir == impl.Inbound {
		return -1
	}
	for j := i + 1; j < len(e.log) && j < i+12; j++ {
		x := e.log[j]
		if x.kind != eTrans || !x.inTuple {
			continue
		}
		t := x.tr
		if p.Dir == impl.Inbound && t.In != nil && t.In.Header.Seq == p.Header.Seq && t.In.Header.Flags == p.Header.Flags {
			return j
		}
		if p.Dir == impl.Outbound {
			for _, s := range t.Out {
				if s.Header.Seq == p.Header.Seq && s.Header.Flags == p.Header.Flags {
					return j
				}
			}
		}
	}
	return -1
}

// segText renders a packet with an arrow for its direction, relative
// sequence numbers, and its fate when it did not simply arrive.
func (e *env) segText(p impl.TUNPacket, f impl.Fate) string {
	h := p.Header
	seq, ack := uint32(h.Seq), uint32(h.Ack)
	from, to := e.oISS, e.kISS
	fromOK, toOK := e.oISSKnown, e.kISSKnown
	if p.Dir == impl.Inbound {
		from, to, fromOK, toOK = e.kISS, e.oISS, e.kISSKnown, e.oISSKnown
	}
	inTuple := (p.Dir == impl.Outbound && p.Src == e.oEnd && p.Dst == e.kEnd) || (p.Dir == impl.Inbound && p.Src == e.kEnd && p.Dst == e.oEnd)
	if inTuple && fromOK && !(h.Flags.Has(spec.RST) && !h.Flags.Has(spec.ACK) && seq == 0) {
		seq = uint32(h.Seq - from)
	}
	if inTuple && toOK && h.Flags.Has(spec.ACK) {
		ack = uint32(h.Ack - to)
	}
	s := fmt.Sprintf("%s seq=%d ack=%d len=%d win=%d", h.Flags, seq, ack, p.Len, h.Window)
	if h.MSS != 0 {
		s += fmt.Sprintf(" mss=%d", h.MSS)
	}
	switch {
	case p.Injected:
		s += " (injected)"
	case f == impl.FateDropped:
		s += " x dropped"
	case f == impl.FateLost:
		s += " x lost"
	case f == impl.FateHeld:
		s += " (held)"
	}
	if p.Dir == impl.Outbound {
		return "--> " + s
	}
	return "<-- " + s
}
