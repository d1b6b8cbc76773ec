//go:build linux

package kernel

import (
	"fmt"

	"github.com/tcpcheck/tcpcheck/impl/wire"
	"github.com/tcpcheck/tcpcheck/spec"
)

// predictor is the model's view of one side of the connection: spec's
// TCB, stepped by spec.Machine over the side's inputs (user calls,
// arriving segments, timers), with what the side sends learned from the
// segments it puts on the wire (its ISS, how far SND.NXT has come).
type predictor struct {
	m          *spec.Machine
	tcb        spec.TCB
	eff        spec.Effect
	rcvWnd     uint32   // RCV.WND: the window the side last offered
	finSeq     spec.Seq // the peer's FIN, when it arrived ahead of text still missing
	finPending bool
	ooo        []span // text received beyond RCV.NXT, sorted, disjoint
	listened   bool   // the side has listened on the port (a passive OPEN)
	probes     int    // keepalive probes sent since the side last heard from its peer (RFC 1122 §4.2.3.6)
}

type span struct{ lo, hi spec.Seq } // [lo, hi)

func newPredictor(m *spec.Machine) *predictor {
	return &predictor{m: m, tcb: spec.NewTCB(), rcvWnd: 65535}
}

// state returns the side's state in the model.
func (p *predictor) state() spec.State { return p.tcb.State() }

// relisten puts a side whose listener outlives the connection back in
// LISTEN once the connection's TCB is gone.
func (p *predictor) relisten() {
	if p.tcb.State() == spec.Closed && p.listened {
		p.tcb = spec.NewListenTCB()
	}
}

// params are the side's inputs to its TCB: the window it offers, and
// window scaling (both stacks offer it; spec applies it when the peer's
// SYN carries the option too).
func (p *predictor) params() spec.Params { return spec.Params{RcvWnd: p.rcvWnd, WScale: true} }

// step applies the row for event e, with segment h (of n text octets) for
// segment events, and returns the row's index. The row's processing of the
// arriving segment is carried out by spec's TCB; its transmissions are
// learned from the wire (sent).
func (p *predictor) step(e spec.Event, h *wire.Header, n int) (int, error) {
	var in *spec.Segment
	if h != nil {
		in = &spec.Segment{Seq: h.Seq, Ack: h.Ack, Flags: h.Flags, Window: h.Window, Len: uint32(n),
			MSS: h.MSS, HasWScale: h.HasWScale, WScale: h.WScale}
	}
	x := p.tcb.Ctx(in, p.rcvWnd)
	row := p.m.StepCtx(p.tcb.State(), e, &x)
	if row < 0 {
		return -1, fmt.Errorf("kernel: the table has no row for %s + %s", p.tcb.State(), e)
	}
	r := p.m.Rows()[row]
	prm := p.params()
	for _, a := range r.Do {
		p.eff.Reset()
		switch a {
		case spec.AcceptSYN:
			p.tcb.Apply(a, in, prm, &p.eff)
			p.ooo, p.finPending = nil, false
		case spec.ProcessACK, spec.DeleteTCB:
			p.tcb.Apply(a, in, prm, &p.eff)
		case spec.AcceptText:
			p.acceptText(h.Seq, n)
		case spec.AcceptFIN:
			p.finPending, p.finSeq = true, h.Seq.Add(uint32(n))
			p.advanceFIN()
		}
	}
	if e.IsSegment() && r.Actions().Has(spec.ProcessACK) {
		p.probes = 0 // an acceptable segment: the peer is alive
	}
	p.tcb.Enter(r.To)
	p.listened = p.listened || r.To == spec.Listen
	if !r.To.HasTCB() {
		p.ooo, p.finPending = nil, false
	}
	return row, nil
}

// acceptText records text [seq, seq+n) and lets spec's TCB accept what
// is now contiguous from RCV.NXT. Text beyond RCV.NXT is kept, as both the
// kernel and our endpoint hold out-of-order segments (RFC 9293 §3.10.7.4
// allows it).
func (p *predictor) acceptText(seq spec.Seq, n int) {
	if n <= 0 {
		return
	}
	nxt := p.tcb.RcvNxt()
	add := span{seq, seq.Add(uint32(n))}
	if add.hi.LessEq(nxt) {
		return
	}
	if add.lo.LessThan(nxt) {
		add.lo = nxt
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
	for len(p.ooo) > 0 && p.ooo[0].lo.LessEq(p.tcb.RcvNxt()) {
		sp := p.ooo[0]
		p.ooo = p.ooo[1:]
		text := spec.Segment{Seq: sp.lo, Flags: spec.ACK, Len: sp.hi.Sub(sp.lo)}
		prm := p.params()
		prm.RcvWnd = text.Len // the side took it: it fitted the window it offered
		p.eff.Reset()
		p.tcb.Apply(spec.AcceptText, &text, prm, &p.eff)
	}
	p.advanceFIN()
}

func (p *predictor) advanceFIN() {
	if p.finPending && p.finSeq == p.tcb.RcvNxt() {
		fin := spec.Segment{Seq: p.finSeq, Flags: spec.FIN | spec.ACK}
		p.eff.Reset()
		p.tcb.Apply(spec.AcceptFIN, &fin, p.params(), &p.eff)
		p.finPending = false
	}
}

// sent records a segment the side put on the wire: its SYN gives the
// ISS, new text and FIN beyond SND.NXT are what spec's TCB sends for them,
// and the window it offered (wnd once scaled) is RCV.WND.
func (p *predictor) sent(h wire.Header, n int, wnd uint32) {
	if h.Flags.Has(spec.RST) {
		return
	}
	p.rcvWnd = wnd
	prm := p.params()
	if _, have := p.tcb.ISS(); h.Flags.Has(spec.SYN) && !have {
		prm.ISS = h.Seq
		p.eff.Reset()
		p.tcb.Apply(spec.SendSYN, nil, prm, &p.eff)
		return
	}
	end := h.Seq.Add(uint32(n))
	fin := h.Flags.Has(spec.FIN)
	if fin {
		end++
	}
	nxt := p.tcb.SndNxt()
	if !nxt.LessThan(end) || p.tcb.FinSent() || h.Flags.Has(spec.SYN) {
		return
	}
	text := end.Sub(nxt)
	if fin {
		text--
	}
	// The predictor saw every segment the side received, so the side's
	// SND.WND is the predictor's: spec's send text takes the new text.
	prm.Unsent, prm.SendMSS, prm.FinQueued = text, max(text, 1), fin
	p.eff.Reset()
	p.tcb.Apply(spec.SendText, nil, prm, &p.eff)
}

// keepAlive steps the side's keepalive timer when segment h (of n text
// octets), which the side just put on the wire, is what the table's
// keepalive rows send: with count (the side's TCP_KEEPCNT) probes, the
// probe <SEQ=SND.NXT-1><ACK=RCV.NXT><CTL=ACK> of an idle connection is
// KeepAliveTimeout, and a RST once count probes went unanswered is
// KeepAliveExhausted (RFC 1122 §4.2.3.6). It reports whether it stepped,
// and an error when the side's segment is not what the row sends.
func (p *predictor) keepAlive(h wire.Header, n, count int) (bool, error) {
	t := &p.tcb
	if count == 0 || !t.State().Runs(spec.TimerKeepAlive) || t.SndUna() != t.SndNxt() {
		return false, nil
	}
	probe := t.KeepAlive()
	e := spec.KeepAliveTimeout
	switch {
	case h.Flags&^spec.PSH == spec.ACK && n == 0 && h.Seq == probe.Seq && h.Ack == probe.Ack:
		if p.probes >= count {
			return false, fmt.Errorf("kernel: a keepalive probe after %d unanswered ones, its TCP_KEEPCNT; the table gives the peer up instead", p.probes)
		}
	case h.Flags.Has(spec.RST) && p.probes >= count:
		e = spec.KeepAliveExhausted
		if h.Seq != t.SndNxt() {
			return false, fmt.Errorf("kernel: its keepalive reset has seq=%d, the table's <SEQ=SND.NXT=%d><CTL=RST>", uint32(h.Seq), uint32(t.SndNxt()))
		}
	default:
		return false, nil
	}
	row, err := p.step(e, nil, 0)
	if err != nil {
		return false, err
	}
	want := spec.SendKeepAlive
	if e == spec.KeepAliveExhausted {
		want = spec.SendRST
	}
	if r := p.m.Rows()[row]; !r.Actions().Has(want) {
		return false, fmt.Errorf("kernel: the kernel sent %s seq=%d ack=%d on its keepalive timer; the table's row %q does not %s",
			h.Flags, uint32(h.Seq), uint32(h.Ack), r.Name(), want)
	}
	if e == spec.KeepAliveTimeout {
		p.probes++
	}
	return true, nil
}
