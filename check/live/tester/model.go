package tester

import (
	"fmt"

	"github.com/tcpcheck/tcpcheck/spec"
)

// Model is the expectation a suite is generated from and checked against:
// a table (the correct one or a mutant), the guards that choose among its
// rows, and the timing the table leaves to constants. Nothing of the
// endpoint's code takes part: every expected segment and state comes from
// spec.TCB stepped through the table for the DUT's side.
type Model struct {
	rows []spec.Row
	m    *spec.Machine

	// Guards, when set, evaluates the guards in place of spec.EvalAll: a
	// hook for mutations of the guards and of sequence arithmetic, which
	// leave package spec untouched.
	Guards func(c *spec.Ctx) spec.GuardSet
	// TimeWaitFactor scales how long TIME-WAIT is expected to last, in
	// units of the DUT's 2MSL; 0 means 1. A mutant of "1 MSL instead of
	// 2" sets 0.5.
	TimeWaitFactor float64
	// ExtraRetries is added to the DUT's retry limits when the cases for
	// the retries-exhausted rows are built (a mutant of "one retry more"
	// sets 1).
	ExtraRetries int
}

// NewModel returns the model of rows, which must pass spec.Validate.
func NewModel(rows []spec.Row) (*Model, error) {
	m, err := spec.NewMachine(rows)
	if err != nil {
		return nil, fmt.Errorf("tester: %w", err)
	}
	return &Model{rows: m.Rows(), m: m}, nil
}

// Rows returns the model's table.
func (md *Model) Rows() []spec.Row { return md.rows }

// guards evaluates the guards over c.
func (md *Model) guards(c *spec.Ctx) spec.GuardSet {
	if md.Guards != nil {
		return md.Guards(c)
	}
	return spec.EvalAll(c)
}

// Constants of the expectation: the DUT's MSS the tester assumes (the
// tester's writes are far shorter), the window the tester offers, and the
// window it assumes for a DUT that has not advertised one yet.
const (
	dutMSS        = 1460
	testerMSS     = 1460
	testerWindow  = 65535
	nominalWindow = 65535
	textLen       = 8 // octets the tester puts in a data segment, and the user writes
)

// side is the DUT's connection as the table predicts it.
type side struct {
	tcb       spec.TCB
	unsent    uint32 // text written by the user and not yet sent
	finQueued bool   // CLOSE was called and the FIN waits behind unsent text
	edge      spec.Seq
	hasEdge   bool // edge is RCV.NXT+RCV.WND as the DUT last advertised it
	// delack is the delayed-ACK timer row the last step applied after its
	// own row (the ACK it owed), or -1.
	delack int
}

// rcvWnd returns RCV.WND as the tester knows it: what is left of the
// window the DUT last advertised, or a nominal window before it did.
func (s *side) rcvWnd() uint32 {
	if !s.hasEdge {
		return nominalWindow
	}
	if s.tcb.RcvNxt().LessThan(s.edge) {
		return s.edge.Sub(s.tcb.RcvNxt())
	}
	return 0
}

// learn records the window a segment from the DUT advertises. The tester
// offers no window scale, so no window is scaled.
func (s *side) learn(h spec.Segment) {
	if h.Flags.Has(spec.ACK) && !h.Flags.Has(spec.RST) {
		s.edge, s.hasEdge = h.Ack.Add(uint32(h.Window)), true
	}
}

// params returns the step inputs for the DUT's side.
func (s *side) params(iss spec.Seq) spec.Params {
	return spec.Params{ISS: iss, RcvWnd: s.rcvWnd(), MSS: dutMSS, Unsent: s.unsent, FinQueued: s.finQueued}
}

// RowHeld is the row number step returns for a segment the DUT's side
// holds for later processing instead of stepping it.
const RowHeld = -2

// held reports whether the DUT's side holds segment in instead of stepping
// it: in a state that holds out-of-order segments (spec.State.HoldsOutOfOrder),
// an acceptable segment with text or FIN that begins after RCV.NXT waits
// for the text before it (RFC 9293 §3.10.7.4, "held for later processing";
// the package spec documentation). Segments without text and FIN are
// stepped on arrival.
func (md *Model) held(s *side, e spec.Event, in *spec.Segment, rcvWnd uint32) bool {
	if in == nil || (e != spec.SegData && e != spec.SegFIN) || !s.tcb.State().HoldsOutOfOrder() {
		return false
	}
	if in.Len == 0 && !in.Flags.Has(spec.FIN) {
		return false
	}
	x := s.tcb.Ctx(in, rcvWnd)
	return md.guards(&x).Has(spec.SeqOK) && s.tcb.RcvNxt().LessThan(in.Seq)
}

// step steps the DUT's side through the model for event e (with segment
// in for a segment event) and returns the row, or -1 when the table has
// none. write is the number of octets a SEND hands over.
func (md *Model) step(s *side, e spec.Event, in *spec.Segment, iss spec.Seq, write uint32, eff *spec.Effect) int {
	eff.Reset()
	s.delack = -1
	if e == spec.Send {
		s.unsent += write
	}
	p := s.params(iss)
	if md.held(s, e, in, p.RcvWnd) {
		// Held, and answered at once with a duplicate ACK (RFC 5681 §4.2:
		// a receiver SHOULD send one for an out-of-order segment).
		ack := s.tcb.ACK()
		s.tcb.AckSent(ack.Ack)
		eff.Out = append(eff.Out, ack)
		return RowHeld
	}
	x := s.tcb.Ctx(in, p.RcvWnd)
	row := md.m.Step(s.tcb.State(), e, md.guards(&x))
	if row < 0 {
		return -1
	}
	sentBefore := s.tcb.TextSent()
	r := &md.rows[row]
	for _, a := range r.Do {
		s.tcb.Apply(a, in, p, eff)
	}
	s.tcb.Enter(r.To)
	if eff.DelayACK {
		// The row owes its ACK (delay ACK): nothing the tester does next
		// carries it, so the DUT's delayed-ACK timer sends it, within its
		// bound and so within the move's collection (RFC 1122 §4.2.3.2:
		// less than 0.5 s). The expectation is that timer's row too.
		x := s.tcb.Ctx(nil, p.RcvWnd)
		if d := md.m.Step(s.tcb.State(), spec.DelayedAckTimeout, md.guards(&x)); d >= 0 {
			for _, a := range md.rows[d].Do {
				s.tcb.Apply(a, nil, p, eff)
			}
			s.tcb.Enter(md.rows[d].To)
			s.delack = d
		}
	}
	switch {
	case eff.Deleted || !s.tcb.State().HasTCB():
		s.unsent, s.finQueued = 0, false
		s.hasEdge = false
	default:
		if sent := s.tcb.TextSent(); sent > sentBefore {
			s.unsent -= min(s.unsent, sent-sentBefore)
		}
		if e == spec.Close && eff.Signal == spec.Drop {
			s.finQueued = true
		}
		if s.tcb.FinSent() {
			s.finQueued = false
		}
	}
	return row
}
