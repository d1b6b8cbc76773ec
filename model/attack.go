package model

import (
	"fmt"
	"strings"

	"github.com/tcpcheck/tcpcheck/spec"
)

// edge is a guess of the off-path attacker for a sequence or
// acknowledgment number, relative to the target's own variables (the
// attacker knows none of them: each guess stands for the class of values
// that the target's guards treat alike).
type edge uint8

// The guesses. Sequence numbers are relative to the target's RCV.NXT and
// its receive window; acknowledgment numbers to its SND.UNA and SND.NXT.
const (
	seqBelow  edge = iota // RCV.NXT-1: just below the window (old)
	seqExact              // RCV.NXT: exactly the next octet expected
	seqInside             // RCV.NXT+1: in the window, not at its left edge
	seqLast               // RCV.NXT+RCV.WND-1: the last octet of the window
	seqBeyond             // RCV.NXT+RCV.WND: just beyond the window
	ackTooOld             // SND.UNA-MAX.SND.WND-1: below RFC 5961 §5.2's range
	ackDup                // SND.UNA: a duplicate acknowledgment
	ackNext               // SND.NXT: acknowledges everything sent
	ackBeyond             // SND.NXT+1: acknowledges what was never sent
)

func (e edge) value(h *host) uint8 {
	switch e {
	case seqBelow:
		return h.rcv - 1
	case seqExact:
		return h.rcv
	case seqInside:
		return h.rcv + 1
	case seqLast:
		return h.rcv + rcvWnd - 1
	case seqBeyond:
		return h.rcv + rcvWnd
	case ackTooOld:
		return h.una - rcvWnd - 1
	case ackDup:
		return h.una
	case ackNext:
		return h.nxt
	default:
		return h.nxt + 1
	}
}

// attackForm is one kind of segment the off-path attacker may inject
// (Config.Attack names them): its control bits and text, the guesses of
// SEG.SEQ and SEG.ACK it tries, and the states of the target it tries them
// on.
type attackForm struct {
	name  string
	doc   string
	flags spec.Flags
	text  uint8
	seqs  []edge
	acks  []edge // nil: no ACK field (SEG.ACK = 0)
	// legacy restricts the targets to hosts with a TCB outside SYN-SENT
	// (the first attacker of the model, kept for its pinned examples).
	legacy bool
}

var allSeqs = []edge{seqBelow, seqExact, seqInside, seqLast, seqBeyond}

// attackForms are the forms the attacker knows, in the order it tries
// them. Every form but "rst" targets a host in any state, CLOSED and
// LISTEN included.
var attackForms = []attackForm{
	{name: "rst", doc: "RST inside the window (not at RCV.NXT) and just beyond it, into a host with a TCB past SYN-SENT",
		flags: spec.RST, seqs: []edge{seqInside, seqBeyond}, legacy: true},
	{name: "rst-any", doc: "RST without ACK at every window edge, RCV.NXT included (a lucky guess)",
		flags: spec.RST, seqs: allSeqs},
	{name: "rst-ack", doc: "RST,ACK at RCV.NXT and inside the window, acknowledging SND.UNA, SND.NXT or beyond",
		flags: spec.RST | spec.ACK, seqs: []edge{seqExact, seqInside}, acks: []edge{ackDup, ackNext, ackBeyond}},
	{name: "syn", doc: "SYN below, at, inside and beyond the window",
		flags: spec.SYN, seqs: []edge{seqBelow, seqExact, seqInside, seqBeyond}},
	// A SYN,ACK acknowledging SND.NXT is the one guess that would let a
	// blind attacker open a connection in SYN-SENT (probability 2^-32);
	// the attacker does not make it.
	{name: "syn-ack", doc: "SYN,ACK below, inside and beyond the window, acknowledging SND.UNA or beyond SND.NXT",
		flags: spec.SYN | spec.ACK, seqs: []edge{seqBelow, seqInside, seqBeyond}, acks: []edge{ackDup, ackBeyond}},
	{name: "ack", doc: "bare ACK at and beyond the window, acknowledging too old, SND.NXT or beyond",
		flags: spec.ACK, seqs: []edge{seqExact, seqBeyond}, acks: []edge{ackTooOld, ackNext, ackBeyond}},
	{name: "data", doc: "one octet of text below, at, inside and beyond the window, acknowledging too old, SND.UNA, SND.NXT or beyond",
		flags: spec.ACK, text: 1, seqs: []edge{seqBelow, seqExact, seqInside, seqBeyond}, acks: []edge{ackTooOld, ackDup, ackNext, ackBeyond}},
	{name: "fin", doc: "FIN,ACK below, at, inside and beyond the window, acknowledging too old, SND.UNA, SND.NXT or beyond",
		flags: spec.FIN | spec.ACK, seqs: []edge{seqBelow, seqExact, seqInside, seqBeyond}, acks: []edge{ackTooOld, ackDup, ackNext, ackBeyond}},
	{name: "no-ack", doc: "FIN without the ACK bit at and beyond the window",
		flags: spec.FIN, seqs: []edge{seqExact, seqBeyond}},
}

// AttackForms returns the names of the forms of segment the off-path
// attacker may inject (Config.Attack), each with what it tries.
func AttackForms() [][2]string {
	out := make([][2]string, len(attackForms))
	for i, f := range attackForms {
		out[i] = [2]string{f.name, f.doc}
	}
	return out
}

func findAttack(name string) (int, error) {
	var names []string
	for i, f := range attackForms {
		if f.name == name {
			return i, nil
		}
		names = append(names, f.name)
	}
	return -1, fmt.Errorf("attack form %q is unknown; want one of %s", name, strings.Join(names, ", "))
}

// injectSteps lets the off-path attacker inject a segment into a host,
// pretending to be its peer: every form of Config.Attack, with each of its
// guesses, into every host it targets. The target processes the segment at
// once; a guess the target would hold for later (text or FIN beyond
// RCV.NXT in a state that holds out-of-order segments) is not made: the
// model's hold queue is the network, which the attacker does not share.
// Nor is a guess the target would take for its peer's next segment (see
// takenForPeer): the attacker is blind.
func (s *System) injectSteps(w *world, buf []Transition) []Transition {
	if w.inject == 0 {
		return buf
	}
	for _, fi := range s.attack {
		f := &attackForms[fi]
		for i := range 2 {
			h := &w.h[i]
			if f.legacy && (!h.st.HasTCB() || h.st == spec.SynSent) {
				continue
			}
			acks := f.acks
			if acks == nil {
				acks = []edge{ackDup}
			}
			var tried [16]uint32
			nt := 0
			for _, se := range f.seqs {
			guess:
				for _, ae := range acks {
					var ack uint8
					if f.acks != nil {
						ack = ae.value(h)
					}
					sg := mkSeg(uint8(1-i), f.flags, se.value(h), ack, f.text, 0)
					for _, t := range tried[:nt] {
						if t == sg {
							continue guess // two guesses that coincide here
						}
					}
					tried[nt] = sg
					nt++
					if s.held(w, sg) {
						continue
					}
					e := spec.Classify(f.flags, int(f.text))
					if s.takenForPeer(w, i, e, sg) {
						continue
					}
					w2 := *w
					w2.inject--
					buf = s.hostSteps(&w2, i, hostEvent{kind: Inject, e: e, sg: sg, injected: true}, buf)
				}
			}
		}
	}
	return buf
}

// takenForPeer reports whether host i would take the injected segment sg
// for its peer's next segment: it keeps a TCB and its SND.UNA advances,
// or
// (past SYN-SENT, where RCV.NXT is known) its RCV.NXT does. Such a guess
// needs the exact sequence and acknowledgment numbers at once (RFC 5961
// §5 puts the odds at the window over 2^32 twice); the blind attacker of
// the model does not make it. A RST at exactly RCV.NXT (or acknowledging
// the SYN in SYN-SENT) is made: it deletes the TCB, which RFC 5961 §3
// accepts as the price of a lucky guess, and the properties of the
// connection take it into their premise.
//
// The guesses are the protocol's to judge, not the table's: a system that
// runs another table (a mutant of the sweep) asks the correct table, so a
// table that takes a wrong guess for the peer's is not spared that guess.
func (s *System) takenForPeer(w *world, i int, e spec.Event, sg uint32) bool {
	h := &w.h[i]
	if !h.st.HasTCB() {
		return false
	}
	if s.ref != nil {
		s = s.ref
	}
	var c spec.Ctx
	fillCtx(&c, h, e, sg)
	row, _ := s.selectRowCtx(h, e, &c)
	w3 := *w
	var st Step
	s.apply(&w3, i, row, e, sg, &c, true, 0, 0, &st)
	after := &w3.h[i]
	if !after.st.HasTCB() {
		return false
	}
	return after.una != h.una || (h.st != spec.SynSent && after.rcv != h.rcv)
}
