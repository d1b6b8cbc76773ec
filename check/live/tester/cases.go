package tester

import (
	"fmt"
	"strings"

	"github.com/tcpcheck/tcpcheck/spec"
)

// Call is a socket call the tester makes on the DUT's side.
type Call uint8

// The socket calls.
const (
	CallNone          Call = iota
	CallListen             // listen on a new socket (PASSIVE-OPEN)
	CallConnect            // connect a new socket (ACTIVE-OPEN)
	CallWrite              // write textLen octets (SEND)
	CallCloseWrite         // shutdown(SHUT_WR) (CLOSE)
	CallAbort              // close with SO_LINGER 0 (ABORT)
	CallCloseListener      // close the listening socket (CLOSE in LISTEN)
	CallClose              // close the socket (CLOSE; the user reads no more)
)

var callNames = [...]string{"", "listen", "connect", "write", "shutdown-write", "abort", "close-listener", "close"}

func (c Call) String() string { return callNames[c] }

// event returns the table event of a call.
func (c Call) event() spec.Event {
	switch c {
	case CallListen:
		return spec.PassiveOpen
	case CallConnect:
		return spec.ActiveOpen
	case CallWrite:
		return spec.Send
	case CallCloseWrite, CallCloseListener, CallClose:
		return spec.Close
	}
	return spec.Abort
}

// SeqRef says how the tester chooses SEG.SEQ, relative to what the DUT
// expects (RCV.NXT and RCV.WND of the DUT's TCB; before the DUT has
// accepted the tester's SYN, the tester's own next sequence number).
type SeqRef uint8

// The sequence numbers the tester uses: RCV.NXT, and the edges of every
// guard that reads SEG.SEQ.
const (
	SeqNext      SeqRef = iota // RCV.NXT
	SeqNextMinus               // RCV.NXT-1: just before the window
	SeqWndLast                 // RCV.NXT+RCV.WND-1: the window's last octet
	SeqWndEnd                  // RCV.NXT+RCV.WND: just past the window
	SeqNextPlus                // RCV.NXT+1: in the window, not at RCV.NXT
	SeqIRS                     // IRS: the tester's SYN again
	numSeqRefs
)

var seqRefNames = [...]string{"RCV.NXT", "RCV.NXT-1", "RCV.NXT+WND-1", "RCV.NXT+WND", "RCV.NXT+1", "IRS"}

func (r SeqRef) String() string { return seqRefNames[r] }

// AckRef says how the tester chooses SEG.ACK, relative to the DUT's send
// variables.
type AckRef uint8

// The acknowledgment numbers the tester uses: SND.NXT, and the edges of
// every guard that reads SEG.ACK.
const (
	AckSndNxt      AckRef = iota // SND.NXT
	AckSndUna                    // SND.UNA (a duplicate)
	AckSndUnaPlus                // SND.UNA+1 (acknowledges something, short of SND.NXT)
	AckSndNxtPlus                // SND.NXT+1: acknowledges what was never sent
	AckSndUnaMinus               // SND.UNA-1
	AckWndLow                    // SND.UNA-MAX.SND.WND: the oldest acceptable (RFC 5961 §5.2)
	AckWndLowMinus               // SND.UNA-MAX.SND.WND-1: too old
	numAckRefs
)

var ackRefNames = [...]string{"SND.NXT", "SND.UNA", "SND.UNA+1", "SND.NXT+1", "SND.UNA-1", "SND.UNA-MAX.SND.WND", "SND.UNA-MAX.SND.WND-1"}

func (r AckRef) String() string { return ackRefNames[r] }

// flagsOf returns the control bits and text length the tester uses for a
// segment event.
func flagsOf(e spec.Event) (spec.Flags, uint32) {
	switch e {
	case spec.SegSYN:
		return spec.SYN, 0
	case spec.SegSYNACK:
		return spec.SYN | spec.ACK, 0
	case spec.SegACK:
		return spec.ACK, 0
	case spec.SegData:
		return spec.ACK | spec.PSH, textLen
	case spec.SegFIN:
		return spec.FIN | spec.ACK, 0
	case spec.SegRST:
		return spec.RST | spec.ACK, 0
	}
	return 0, 0 // SegNoACK: no control bits at all
}

// Move is one step of a case: a socket call, a segment the tester sends,
// or a timer the tester waits for.
type Move struct {
	Event spec.Event
	Call  Call   // for a user event
	Seq   SeqRef // for a segment event
	Ack   AckRef
	Row   int // the row the model selects when the case is generated
}

// String renders the move: "write", "rcv ACK seq=RCV.NXT ack=SND.NXT", "wait RTO".
func (m Move) String() string {
	switch {
	case m.Event.IsUser():
		return m.Call.String()
	case m.Event.IsTimer():
		return "wait " + m.Event.String()
	}
	return fmt.Sprintf("%s seq=%s ack=%s", m.Event, m.Seq, m.Ack)
}

// Case is one generated test: the moves that bring the DUT to a row's
// state with its guard premise true, and last the row's event.
type Case struct {
	Name   string // row name, then the boundary and wrap variants: "ESTABLISHED + rcv RST [RstExact] / seq=RCV.NXT+1 / wrap"
	Row    int    // the row under test
	Moves  []Move
	Wrap   bool // the tester's ISN is near 2^32, so that its sequence space wraps inside the window
	Timers bool // the case waits for timers: the DUT runs with short ones
	// DelayedAck: the row under test is the delayed-ACK timer's, which
	// sends the ACK the last move owes (the last move's own row is
	// another); the move expects that ACK within its collection.
	DelayedAck bool
}

// Target returns the case's last move: the row's event.
func (c *Case) Target() Move { return c.Moves[len(c.Moves)-1] }

// Prefix renders the moves before the target, joined by " → ".
func (c *Case) Prefix() string {
	var b strings.Builder
	for i, m := range c.Moves[:len(c.Moves)-1] {
		if i > 0 {
			b.WriteString(" → ")
		}
		b.WriteString(m.String())
	}
	return b.String()
}
