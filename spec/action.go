package spec

// Action is an effect of a transition, returned as data. A row lists its
// actions in the order of these constants, which is the order the caller
// carries them out: first what the arriving segment changes in the TCB,
// then the segments to transmit, then timers, then signals to the user,
// and last the deletion of the TCB.
type Action uint8

// The actions, in execution order.
const (
	// Drop does nothing: the event is discarded. It marks rows that
	// deliberately ignore an event.
	Drop Action = iota

	// Processing of the arriving segment (RFC 9293 §3.10.7).
	AcceptSYN  // IRS = SEG.SEQ, RCV.NXT = SEG.SEQ+1; record the peer's window and MSS
	ProcessACK // SND.UNA = SEG.ACK when it is new; free acknowledged data; update SND.WND
	AcceptText // deliver in-order text to the user; RCV.NXT advances over it
	AcceptFIN  // RCV.NXT advances over the FIN; the user sees end of stream after the text
	QueueText  // SEND before the connection is established: keep the text for later

	// Transmissions.
	SendSYN          // choose ISS (an input), SND.UNA = ISS, SND.NXT = ISS+1; send <SEQ=ISS><CTL=SYN>
	SendSYNACK       // send <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>
	SendText         // send queued text, and a FIN queued behind it, as far as the send window allows
	SendFIN          // after all queued text, send <SEQ=SND.NXT><ACK=RCV.NXT><CTL=FIN,ACK>; SND.NXT+1
	SendACK          // send <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>
	DelayACK         // acknowledge accepted text: nothing if this step's segment carried the ACK, send ACK if one was owed already and two full-sized segments (2*MSS octets) are unacknowledged, else owe it (the delayed-ACK timer starts with the first segment that owes it)
	SendChallengeACK // send the challenge ACK of RFC 5961 (the same segment as SendACK, rate-limited)
	SendKeepAlive    // send the keepalive probe of RFC 1122 §4.2.3.6: <SEQ=SND.NXT-1><ACK=RCV.NXT><CTL=ACK>
	SendRST          // abort: send <SEQ=SND.NXT><CTL=RST>
	ReplyRST         // reply to the segment with the RST of RFC 9293 §3.10.7.1
	Retransmit       // resend the earliest unacknowledged segment (SYN, SYN,ACK, text or FIN)

	// Timers.
	StartTimeWait // start, or restart, the 2MSL timer

	// Signals to the user.
	SignalConnected // OPEN completed: the connection is established
	SignalReset     // "connection reset"
	SignalRefused   // "connection refused"
	SignalTimeout   // "connection aborted due to user timeout"
	ErrNotExist     // "connection does not exist"
	ErrExists       // "connection already exists"
	ErrClosing      // "connection closing"

	// DeleteTCB discards the connection's TCB and cancels its timers. A
	// connection that came from LISTEN and goes back there keeps listening.
	DeleteTCB

	NumActions = int(DeleteTCB) + 1
)

var actionNames = [...]string{
	Drop:             "drop",
	AcceptSYN:        "accept-SYN",
	ProcessACK:       "process-ACK",
	AcceptText:       "accept-text",
	AcceptFIN:        "accept-FIN",
	QueueText:        "queue-text",
	SendSYN:          "send SYN",
	SendSYNACK:       "send SYN,ACK",
	SendText:         "send text",
	SendFIN:          "send FIN",
	SendACK:          "send ACK",
	DelayACK:         "delay ACK",
	SendChallengeACK: "send challenge-ACK",
	SendKeepAlive:    "send keepalive probe",
	SendRST:          "send RST",
	ReplyRST:         "reply RST",
	Retransmit:       "retransmit",
	StartTimeWait:    "start 2MSL",
	SignalConnected:  "signal connected",
	SignalReset:      "signal reset",
	SignalRefused:    "signal refused",
	SignalTimeout:    "signal timeout",
	ErrNotExist:      "error: does not exist",
	ErrExists:        "error: already exists",
	ErrClosing:       "error: closing",
	DeleteTCB:        "delete TCB",
}

// String returns the action's label, such as "send SYN,ACK".
func (a Action) String() string {
	if int(a) < len(actionNames) {
		return actionNames[a]
	}
	return "Action(" + itoa(int(a)) + ")"
}

// ParseAction returns the action with the given label.
func ParseAction(name string) (Action, bool) {
	for i, n := range actionNames {
		if n == name {
			return Action(i), true
		}
	}
	return 0, false
}

// Sends reports whether a puts a segment on the wire.
func (a Action) Sends() bool { return a >= SendSYN && a <= Retransmit }

// Actions is a set of actions, bit a for action a. Iterating it in bit order
// yields the execution order.
type Actions uint32

// Has reports whether a is in the set.
func (s Actions) Has(a Action) bool { return s&(1<<a) != 0 }

// List returns the actions of the set in execution order.
func (s Actions) List() []Action {
	var out []Action
	for a := Action(0); int(a) < NumActions; a++ {
		if s.Has(a) {
			out = append(out, a)
		}
	}
	return out
}

// SetOf returns the set holding the given actions.
func SetOf(as ...Action) Actions {
	var s Actions
	for _, a := range as {
		s |= 1 << a
	}
	return s
}
