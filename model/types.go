package model

import (
	"fmt"
	"strings"

	"github.com/tcpcheck/tcpcheck/spec"
)

// StepKind says what kind of step a transition is.
type StepKind uint8

// The kinds of step.
const (
	User      StepKind = iota // a user call: OPEN, SEND, CLOSE, ABORT
	Deliver                   // the network delivers a segment to its receiver
	Drop                      // the network loses a segment (loss budget)
	Duplicate                 // the network duplicates a segment (duplication budget)
	Tick                      // time advances by one tick
	Timer                     // a timer of a host expires
	Inject                    // the off-path attacker injects a RST (injection budget)
)

var stepKindNames = [...]string{"user", "deliver", "drop", "duplicate", "tick", "timer", "inject"}

// String returns the kind as a lowercase word, such as "deliver".
func (k StepKind) String() string {
	if int(k) < len(stepKindNames) {
		return stepKindNames[k]
	}
	return fmt.Sprintf("StepKind(%d)", k)
}

// Step describes one transition: who acted, on what, by which row, and what
// it sent.
type Step struct {
	Kind  StepKind
	Host  uint8      // 0 = A, 1 = B: who acted (for Deliver the receiver, for Inject the target)
	Event spec.Event // the table event the host processed (User, Deliver, Timer, Inject)
	Row   int16      // index into Rows() of the row applied, -1 when none was (Tick, Drop, Duplicate)
	Seg   Segment    // the segment delivered, dropped, duplicated or injected
	Sent  [2]Segment // segments the host put on the network in this step (the first two)
	NSent uint8      // how many segments the host sent
	Call  string     // for User steps: what the user did, e.g. "connect", "write 2", "close"
}

// Transition is one successor: the step taken and the state it leads to.
type Transition struct {
	Step Step
	To   Key
}

// Segment is a segment as the model sees it.
type Segment struct {
	From     uint8 // 0 = A, 1 = B (for an injected segment, the host it pretends to be)
	Flags    spec.Flags
	Seq, Ack spec.Seq
	Len      uint8 // text octets (SYN and FIN not counted)
	Inc      uint8 // ghost incarnation tag (properties may read it, endpoints may not); 0 when injected
	Age      uint8 // ticks in flight
	Injected bool  // sent by the off-path attacker
}

// String renders the segment the way handshake drawings do:
// "SYN,ACK seq=100 ack=301 len=0".
func (s Segment) String() string {
	t := fmt.Sprintf("%s seq=%d ack=%d len=%d", s.Flags, s.Seq, s.Ack, s.Len)
	if s.Injected {
		t += " (injected)"
	}
	return t
}

// setSegment sets *p to the segment of word w, field by field (a segment
// built elsewhere and copied costs a stalled load on the hot path).
func setSegment(p *Segment, w uint32, injected bool) {
	p.From = segFrom(w)
	p.Flags = segFlags(w)
	p.Seq = seq(segSeq(w))
	p.Ack = seq(segAck(w))
	p.Len = segLen(w)
	p.Inc = segInc(w)
	p.Age = segAge(w)
	p.Injected = injected
}

// segmentOf is the segment of word w.
func segmentOf(w uint32, injected bool) (g Segment) {
	setSegment(&g, w, injected)
	return g
}

// State is a readable global state, for rendering traces.
type State struct {
	Hosts                         [2]Host
	Net                           []Segment // in-flight segments, canonical order
	LossLeft, DupLeft, InjectLeft int
	Incarnation                   int      // the current incarnation (1-based)
	Scenario                      string   // which scenario of the configuration, e.g. "client-server/a inc=2 loss=1 dup=1"
	Violations                    []string // properties whose ghost violation bit is set
}

// Host is the readable state of one endpoint and its user.
type Host struct {
	State                            spec.State
	Inc                              int // current incarnation (1-based)
	ISS, IRS, SndUna, SndNxt, RcvNxt spec.Seq
	Passive, FinSent                 bool
	AckOwed                          bool // an ACK waits for the delayed-ACK timer (spec.TCB.AckOwed)
	RetxArmed                        bool
	Retries                          int
	RTOAge                           int // ticks since the retransmission timer started
	TimeWaitLeft                     int // ticks left in TIME-WAIT (0 when not in TIME-WAIT)
	Probes                           int // keepalive probes the peer has not answered (Config.KeepAlive)
	Written, Delivered               int // octets the user wrote / octets delivered to this user (current incarnation)
	Signal                           string
	Program                          string // the scenario step this user is at, human-readable
}

// String renders the host on one line.
func (h Host) String() string {
	var b strings.Builder
	b.WriteString(h.State.String())
	if h.State.HasTCB() {
		fmt.Fprintf(&b, " iss=%d una=%d nxt=%d", h.ISS, h.SndUna, h.SndNxt)
		if h.State != spec.SynSent {
			fmt.Fprintf(&b, " irs=%d rcv=%d", h.IRS, h.RcvNxt)
		}
	}
	if h.RetxArmed {
		fmt.Fprintf(&b, " rto=%d retries=%d", h.RTOAge, h.Retries)
	}
	if h.State == spec.TimeWait {
		fmt.Fprintf(&b, " 2msl=%d", h.TimeWaitLeft)
	}
	if h.Probes > 0 {
		fmt.Fprintf(&b, " probes=%d", h.Probes)
	}
	fmt.Fprintf(&b, " inc=%d wrote=%d got=%d", h.Inc, h.Written, h.Delivered)
	if h.Signal != "" {
		fmt.Fprintf(&b, " [%s]", h.Signal)
	}
	fmt.Fprintf(&b, " next: %s", h.Program)
	return b.String()
}
