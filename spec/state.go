package spec

// State is a connection state of RFC 9293 §3.3.2.
type State uint8

// The eleven states of RFC 9293 §3.3.2, in the order the RFC lists them.
const (
	Closed State = iota
	Listen
	SynSent
	SynReceived
	Established
	FinWait1
	FinWait2
	CloseWait
	Closing
	LastAck
	TimeWait

	NumStates = int(TimeWait) + 1
)

var stateNames = [...]string{
	Closed:      "CLOSED",
	Listen:      "LISTEN",
	SynSent:     "SYN-SENT",
	SynReceived: "SYN-RECEIVED",
	Established: "ESTABLISHED",
	FinWait1:    "FIN-WAIT-1",
	FinWait2:    "FIN-WAIT-2",
	CloseWait:   "CLOSE-WAIT",
	Closing:     "CLOSING",
	LastAck:     "LAST-ACK",
	TimeWait:    "TIME-WAIT",
}

// String returns the RFC name of the state, such as "SYN-SENT".
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "State(" + itoa(int(s)) + ")"
}

// States returns the eleven states in RFC order.
func States() []State {
	out := make([]State, NumStates)
	for i := range out {
		out[i] = State(i)
	}
	return out
}

// ParseState returns the state with the given RFC name.
func ParseState(name string) (State, bool) {
	for i, n := range stateNames {
		if n == name {
			return State(i), true
		}
	}
	return 0, false
}

// Synchronized reports whether s is one of the synchronized states of
// RFC 9293 §3.5.2 (ESTABLISHED and every state after it).
func (s State) Synchronized() bool { return s >= Established && s <= TimeWait }

// HasTCB reports whether a connection in s has a TCB for a specific peer
// (every state but CLOSED and LISTEN).
func (s State) HasTCB() bool { return s >= SynSent && s <= TimeWait }

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	neg := n < 0
	if neg {
		n = -n
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}

// HoldsOutOfOrder reports whether a connection in s holds text or a FIN
// that arrives ahead of RCV.NXT "for later processing" (RFC 9293
// §3.10.7.4): the states that may still receive text in sequence. A
// caller steps such a segment once the text before it has arrived (see
// the package documentation); in the other states it is stepped at once.
func (s State) HoldsOutOfOrder() bool { return s == SynReceived || s.Synchronized() }

// HoldsSegment reports whether a connection in s holds the arriving
// segment x for later processing (RFC 9293 §3.10.7.4: "segments with
// higher beginning sequence numbers may be held for later processing"):
// in a state that holds out-of-order segments, an acceptable segment
// (IsSeqOK) with an ACK, with text or a FIN and neither SYN nor RST, that
// begins beyond RCV.NXT. Every other segment is stepped at once.
func (s State) HoldsSegment(x *Ctx) bool {
	return s.HoldsOutOfOrder() && x.SegFlags&(SYN|RST) == 0 && x.SegFlags.Has(ACK) && x.SegLen > 0 &&
		x.RcvNxt.LessThan(x.SegSeq) && IsSeqOK(x)
}

// RetryClass says which retransmission limit applies in a state: the
// limits differ for a SYN, a SYN,ACK and everything after the handshake
// (RFC 1122 §4.2.3.5 and §4.2.3.2; Linux's tcp_syn_retries,
// tcp_synack_retries and tcp_retries2).
type RetryClass uint8

// The retry classes.
const (
	RetryNone   RetryClass = iota // nothing is retransmitted (no TCB, LISTEN, TIME-WAIT)
	RetrySYN                      // SYN-SENT: our SYN
	RetrySYNACK                   // SYN-RECEIVED: our SYN,ACK
	RetryData                     // synchronized: text and FIN
)

// RetryClass returns the retry class of s.
func (s State) RetryClass() RetryClass {
	switch {
	case s == SynSent:
		return RetrySYN
	case s == SynReceived:
		return RetrySYNACK
	case s.Synchronized() && s != TimeWait:
		return RetryData
	}
	return RetryNone
}

// Timer names a connection timer.
type Timer uint8

// The timers of a connection.
const (
	TimerRetransmit Timer = iota // RFC 6298: its expiry is RetransmitTimeout or RetriesExhausted
	TimerTimeWait                // 2MSL (RFC 9293 §3.6): TimeWaitTimeout
	TimerUser                    // the user timeout (RFC 9293 §3.10.8): UserTimeout
	TimerKeepAlive               // keepalive (RFC 1122 §4.2.3.6): KeepAliveTimeout or KeepAliveExhausted
	TimerDelayedAck              // the delayed ACK (RFC 1122 §4.2.3.2): DelayedAckTimeout
)

// Runs reports whether timer tm may run in state s: the retransmission
// and user timers wherever a TCB is synchronizing or synchronized except
// TIME-WAIT, 2MSL only in TIME-WAIT, keepalive only in the synchronized
// states where nothing need be outstanding (ESTABLISHED, FIN-WAIT-2,
// CLOSE-WAIT: it watches an idle connection, and in FIN-WAIT-1, CLOSING
// and LAST-ACK our FIN is unacknowledged, so the retransmission timer
// watches the peer), the delayed-ACK timer only where text is
// accepted with a delayed ACK (ESTABLISHED, FIN-WAIT-1, FIN-WAIT-2) and
// in CLOSE-WAIT, which ESTABLISHED enters on the peer's FIN with its ACK
// delayed (the user's CLOSE, soon after, sends a FIN that carries it):
// every other state's rows send their ACK at once, and a row that leaves
// these states for another one sends a segment that carries the ACK.
func (s State) Runs(tm Timer) bool {
	switch tm {
	case TimerRetransmit, TimerUser:
		return s.HasTCB() && s != TimeWait
	case TimerTimeWait:
		return s == TimeWait
	case TimerKeepAlive:
		return s == Established || s == FinWait2 || s == CloseWait
	case TimerDelayedAck:
		return s == Established || s == FinWait1 || s == FinWait2 || s == CloseWait
	}
	return false
}
