//go:build linux

package kernel

import (
	"fmt"

	"github.com/tcpcheck/tcpcheck/impl/wire"
	"github.com/tcpcheck/tcpcheck/spec"
)

// predictor is the model's view of one side of the connection: the state
// and the TCB variables the table's guards read, kept by stepping
// spec.Machine over the side's inputs (user calls, arriving segments,
// timers) and by watching the segments the side sends.
type predictor struct {
	m       *spec.Machine
	state   spec.State
	passive bool

	iss, sndUna, sndNxt spec.Seq
	issSet              bool
	finSent             bool
	rcvNxt              spec.Seq
	rcvWnd              uint32
	maxSndWnd           uint32
	finSeq              spec.Seq // the peer's FIN, when it arrived ahead of text still missing
	finPending          bool
	ooo                 []span // text received beyond RCV.NXT, sorted, disjoint
}

type span struct{ lo, hi spec.Seq } // [lo, hi)

func newPredictor(m *spec.Machine) *predictor {
	return &predictor{m: m, state: spec.Closed, rcvWnd: 65535}
}

// step applies the row for event e, with segment h (of n text octets,
// offering the window wnd once scaled) for segment events, and returns the
// row's index.
func (p *predictor) step(e spec.Event, h *wire.Header, n int, wnd uint32) (int, error) {
	x := spec.Ctx{SndUna: p.sndUna, SndNxt: p.sndNxt, RcvNxt: p.rcvNxt, RcvWnd: p.rcvWnd,
		MaxSndWnd: p.maxSndWnd, FinSent: p.finSent, Passive: p.passive}
	if h != nil {
		x.SegSeq, x.SegAck, x.SegFlags = h.Seq, h.Ack, h.Flags
		x.SegLen = uint32(n)
		if h.Flags.Has(spec.SYN) {
			x.SegLen++
		}
		if h.Flags.Has(spec.FIN) {
			x.SegLen++
		}
	}
	row := p.m.StepCtx(p.state, e, &x)
	if row < 0 {
		return -1, fmt.Errorf("kernel: the table has no row for %s + %s", p.state, e)
	}
	r := p.m.Rows()[row]
	for _, a := range r.Do {
		switch a {
		case spec.AcceptSYN:
			p.rcvNxt = h.Seq + 1
			p.maxSndWnd = max(p.maxSndWnd, wnd)
			p.ooo, p.finPending = nil, false
		case spec.ProcessACK:
			if spec.IsAckOK(&x) {
				p.sndUna = h.Ack
			}
			if h.Flags.Has(spec.ACK) {
				p.maxSndWnd = max(p.maxSndWnd, wnd)
			}
		case spec.AcceptText:
			p.acceptText(h.Seq, n)
		case spec.AcceptFIN:
			p.finPending, p.finSeq = true, h.Seq.Add(uint32(n))
			p.advanceFIN()
		}
	}
	if e == spec.PassiveOpen || r.To == spec.Listen {
		p.passive = true
	}
	if r.Actions().Has(spec.DeleteTCB) || e == spec.PassiveOpen {
		p.reset()
	}
	p.state = r.To
	return row, nil
}

// reset forgets the connection's variables (the TCB is deleted, or it is
// a fresh LISTEN), keeping whether it is passive.
func (p *predictor) reset() {
	*p = predictor{m: p.m, passive: p.passive, state: p.state, rcvWnd: 65535}
}

// acceptText records text [seq, seq+n) and advances RCV.NXT over what is
// now contiguous. Text beyond RCV.NXT is kept, as both the kernel and our
// endpoint hold out-of-order segments (RFC 9293 §3.10.7.4 allows it).
func (p *predictor) acceptText(seq spec.Seq, n int) {
	if n <= 0 {
		return
	}
	add := span{seq, seq.Add(uint32(n))}
	if add.hi.LessEq(p.rcvNxt) {
		return
	}
	if add.lo.LessThan(p.rcvNxt) {
		add.lo = p.rcvNxt
	}
	merged := []span{}
	placed := false
	for _, s := range p.ooo {
		switch {
		case s.hi.LessThan(add.lo):
			merged = append(merged, s)
		case add.hi.LessThan(s.lo):
			if !placed {
				merged, placed = append(merged, add), true
			}
			merged = append(merged, s)
		default:
			if s.lo.LessThan(add.lo) {
				add.lo = s.lo
			}
			if add.hi.LessThan(s.hi) {
				add.hi = s.hi
			}
		}
	}
	if !placed {
		merged = append(merged, add)
	}
	p.ooo = merged
	for len(p.ooo) > 0 && p.ooo[0].lo.LessEq(p.rcvNxt) {
		if p.rcvNxt.LessThan(p.ooo[0].hi) {
			p.rcvNxt = p.ooo[0].hi
		}
		p.ooo = p.ooo[1:]
	}
	p.advanceFIN()
}

func (p *predictor) advanceFIN() {
	if p.finPending && p.finSeq == p.rcvNxt {
		p.rcvNxt++
		p.finPending = false
	}
}

// sent records a segment the side put on the wire: it moves SND.NXT (the
// sequence space of its SYN, text and FIN) and RCV.WND (the window it
// offered, wnd once scaled).
func (p *predictor) sent(h wire.Header, n int, wnd uint32) {
	if h.Flags.Has(spec.RST) {
		return
	}
	if h.Flags.Has(spec.SYN) && !p.issSet {
		p.iss, p.sndUna, p.sndNxt, p.issSet = h.Seq, h.Seq, h.Seq, true
	}
	end := h.Seq.Add(uint32(n))
	if h.Flags.Has(spec.SYN) {
		end++
	}
	if h.Flags.Has(spec.FIN) {
		end++
		p.finSent = true
	}
	if p.sndNxt.LessThan(end) {
		p.sndNxt = end
	}
	p.rcvWnd = wnd
}
