package spec

// Table returns a fresh copy of the transition table of TCP connection
// management. The order of the rows is stable: generated code and coverage
// reports refer to rows by index.
func Table() []Row { return Clone(table) }

// NumRows is the number of rows of [Table].
func NumRows() int { return len(table) }

// Sections of the RFCs cited by the table.
const (
	rfcOpen     = "RFC 9293 §3.10.1"
	rfcSend     = "RFC 9293 §3.10.2"
	rfcClose    = "RFC 9293 §3.10.4"
	rfcAbort    = "RFC 9293 §3.10.5"
	rfcClosed   = "RFC 9293 §3.10.7.1"
	rfcListen   = "RFC 9293 §3.10.7.2"
	rfcSynSent  = "RFC 9293 §3.10.7.3"
	rfcOther    = "RFC 9293 §3.10.7.4"
	rfcTimeout  = "RFC 9293 §3.10.8"
	rfcSimOpen  = "RFC 9293 §3.5 Figure 8"
	rfcRST5961  = "RFC 5961 §3.2"
	rfcSYN5961  = "RFC 5961 §4.2"
	rfcACK5961  = "RFC 5961 §5.2"
	rfc1337     = "RFC 1337 §3"
	rfcR2       = "RFC 1122 §4.2.3.5"
	rfcRTO      = "RFC 6298 §5"
	rfcTimeWait = "RFC 9293 §3.6"
	rfcDelACK   = "RFC 9293 §3.8.6.3"
	rfcDelACK2  = "RFC 1122 §4.2.3.2"
	rfcKeep     = "RFC 1122 §4.2.3.6"
)

var (
	synchronized = []State{Established, FinWait1, FinWait2, CloseWait, Closing, LastAck, TimeWait}
	openStates   = []State{SynReceived, Established, FinWait1, FinWait2, CloseWait, Closing, LastAck, TimeWait}
	all          = States()
)

// same stands for "stay in the From state" while building the table.
const same State = 255

// rows is a builder: one call adds the same rule for several states.
type rows []Row

func (t *rows) add(from []State, on Event, when Cond, to State, rfc, note string, do ...Action) {
	for _, s := range from {
		r := Row{From: s, On: on, When: when, Do: do, To: to, RFC: rfc, Note: note}
		if to == same {
			r.To = s
		}
		*t = append(*t, r)
	}
}

func st(s ...State) []State { return s }

func except(from []State, drop ...State) []State {
	var out []State
outer:
	for _, s := range from {
		for _, d := range drop {
			if s == d {
				continue outer
			}
		}
		out = append(out, s)
	}
	return out
}

var always = Cond{}

var table = buildTable()

func buildTable() []Row {
	var t rows
	userCalls(&t)
	closedAndListen(&t)
	synSent(&t)
	synReceived(&t)
	synchronizedStates(&t)
	timeouts(&t)
	delayedACK(&t)
	keepAlive(&t)
	return t
}

// userCalls holds OPEN, SEND, CLOSE and ABORT (RFC 9293 §3.10.1-5).
func userCalls(t *rows) {
	t.add(st(Closed), PassiveOpen, always, Listen, rfcOpen, "create a TCB and wait for a SYN")
	t.add(except(all, Closed), PassiveOpen, always, same, rfcOpen, "a connection already exists", ErrExists)
	t.add(st(Closed), ActiveOpen, always, SynSent, rfcOpen, "active open: select ISS and send SYN", SendSYN)
	t.add(st(Listen), ActiveOpen, always, SynSent, rfcOpen, "passive becomes active: select ISS and send SYN", SendSYN)
	t.add(except(all, Closed, Listen), ActiveOpen, always, same, rfcOpen, "a connection already exists", ErrExists)

	t.add(st(Closed), Send, always, same, rfcSend, "no connection to send on", ErrNotExist)
	t.add(st(Listen), Send, always, SynSent, rfcSend, "SEND on a fully specified LISTEN turns it active", QueueText, SendSYN)
	t.add(st(SynSent, SynReceived), Send, always, same, rfcSend, "queue the text until ESTABLISHED", QueueText)
	t.add(st(Established, CloseWait), Send, always, same, rfcSend, "segmentize and send within the window", SendText)
	t.add(st(FinWait1, FinWait2, Closing, LastAck, TimeWait), Send, always, same, rfcSend, "our side has closed", ErrClosing)

	t.add(st(Closed), Close, always, same, rfcClose, "no connection to close", ErrNotExist)
	t.add(st(Listen, SynSent), Close, always, Closed, rfcClose, "nothing was synchronized: just delete the TCB", DeleteTCB)
	t.add(st(SynReceived, Established), Close, always, FinWait1, rfcClose, "send FIN after queued text", SendFIN)
	t.add(st(CloseWait), Close, always, LastAck, rfcClose, "the peer closed first: send our FIN", SendFIN)
	t.add(st(FinWait1, FinWait2, Closing, LastAck, TimeWait), Close, always, same, rfcClose, "already closing", ErrClosing)

	t.add(st(Closed), Abort, always, same, rfcAbort, "no connection to abort", ErrNotExist)
	t.add(st(Listen, SynSent), Abort, always, Closed, rfcAbort, "nothing to tell the peer: delete the TCB", DeleteTCB)
	t.add(st(SynReceived, Established, FinWait1, FinWait2, CloseWait), Abort, always, Closed, rfcAbort, "send RST and delete the TCB", SendRST, DeleteTCB)
	t.add(st(Closing, LastAck, TimeWait), Abort, always, Closed, rfcAbort, "respond ok and delete the TCB", DeleteTCB)
}

var segmentEvents = []Event{SegSYN, SegSYNACK, SegACK, SegData, SegFIN, SegRST, SegNoACK}

// closedAndListen holds segment arrival in CLOSED and LISTEN
// (RFC 9293 §3.10.7.1 and §3.10.7.2).
func closedAndListen(t *rows) {
	t.add(st(Closed), SegRST, always, same, rfcClosed, "an incoming RST is discarded", Drop)
	for _, e := range except2(segmentEvents, SegRST) {
		t.add(st(Closed), e, always, same, rfcClosed, "no connection: reply with RST", ReplyRST)
	}
	t.add(st(Listen), SegRST, always, same, rfcListen, "an incoming RST is ignored", Drop)
	t.add(st(Listen), SegSYN, always, SynReceived, rfcListen, "passive open: record IRS, send SYN,ACK", AcceptSYN, SendSYNACK)
	for _, e := range []Event{SegSYNACK, SegACK, SegData, SegFIN} {
		t.add(st(Listen), e, always, same, rfcListen, "any ACK is bad in LISTEN: reply <SEQ=SEG.ACK><CTL=RST>", ReplyRST)
	}
	t.add(st(Listen), SegNoACK, always, same, rfcListen, "no SYN and no ACK: drop", Drop)
}

func except2(es []Event, drop Event) []Event {
	var out []Event
	for _, e := range es {
		if e != drop {
			out = append(out, e)
		}
	}
	return out
}

// synSent holds segment arrival in SYN-SENT (RFC 9293 §3.10.7.3).
func synSent(t *rows) {
	s := st(SynSent)
	t.add(s, SegSYNACK, When(Is(AckOK)), Established, rfcSynSent, "our SYN is acknowledged: connection established",
		AcceptSYN, ProcessACK, SendText, SendACK, SignalConnected)
	t.add(s, SegSYNACK, When(Not(AckOK)), same, rfcSynSent, "SYN,ACK for a SYN we did not send: reset it", ReplyRST)
	t.add(s, SegSYN, always, SynReceived, rfcSimOpen, "simultaneous open: send SYN,ACK", AcceptSYN, SendSYNACK)
	for _, e := range []Event{SegACK, SegData, SegFIN} {
		t.add(s, e, When(Is(AckOK)), same, rfcSynSent, "neither SYN nor RST: drop", Drop)
		t.add(s, e, When(Not(AckOK)), same, rfcSynSent, "unacceptable ACK: reply <SEQ=SEG.ACK><CTL=RST>", ReplyRST)
	}
	t.add(s, SegRST, When(Is(AckOK)), Closed, rfcSynSent, "RST acknowledging our SYN: connection refused", SignalRefused, DeleteTCB)
	t.add(s, SegRST, When(Not(AckOK)), same, rfcSynSent, "RST without an acceptable ACK: drop", Drop)
	t.add(s, SegNoACK, always, same, rfcSynSent, "neither SYN nor RST: drop", Drop)
}

// synReceived holds segment arrival in SYN-RECEIVED (RFC 9293 §3.10.7.4).
func synReceived(t *rows) {
	s := st(SynReceived)
	for _, e := range []Event{SegSYN, SegACK, SegData, SegFIN, SegNoACK} {
		t.add(s, e, When(Not(SeqOK)), same, rfcOther, "unacceptable sequence number: send ACK, drop", SendACK)
	}
	t.add(s, SegSYN, When(Is(SeqOK), Is(Passive)), Listen, rfcOther, "SYN in window on a passive open: back to LISTEN", DeleteTCB)
	t.add(s, SegSYN, When(Is(SeqOK), Not(Passive)), same, rfcSYN5961, "SYN in window: challenge ACK", SendChallengeACK)

	// A SYN,ACK arriving here is the peer's half of a simultaneous open.
	t.add(s, SegSYNACK, When(Not(Passive), Is(SeqAtIRS), Is(AckOK)), Established, rfcSimOpen,
		"simultaneous open: the peer's SYN,ACK acknowledges our SYN", ProcessACK, SendText, SendACK, SignalConnected)
	t.add(s, SegSYNACK, When(Not(Passive), Is(SeqAtIRS), Not(AckOK)), same, rfcOther, "repeated SYN,ACK with a bad ACK: send ACK, drop", SendACK)
	t.add(s, SegSYNACK, When(Not(Passive), Not(SeqAtIRS), Not(SeqOK)), same, rfcOther, "unacceptable sequence number: send ACK, drop", SendACK)
	t.add(s, SegSYNACK, When(Not(Passive), Not(SeqAtIRS), Is(SeqOK)), same, rfcSYN5961, "SYN in window: challenge ACK", SendChallengeACK)
	t.add(s, SegSYNACK, When(Is(Passive), Not(SeqOK)), same, rfcOther, "unacceptable sequence number: send ACK, drop", SendACK)
	t.add(s, SegSYNACK, When(Is(Passive), Is(SeqOK)), Listen, rfcOther, "SYN in window on a passive open: back to LISTEN", DeleteTCB)

	t.add(s, SegACK, When(Is(SeqOK), Is(AckOK)), Established, rfcOther, "our SYN is acknowledged: connection established",
		ProcessACK, SendText, SignalConnected)
	t.add(s, SegData, When(Is(SeqOK), Is(AckOK)), Established, rfcOther, "our SYN is acknowledged, with text: established",
		ProcessACK, AcceptText, SendText, SendACK, SignalConnected)
	t.add(s, SegFIN, When(Is(SeqOK), Is(AckOK)), CloseWait, rfcOther, "established and closed by the peer at once",
		ProcessACK, AcceptText, AcceptFIN, SendText, SendACK, SignalConnected)
	for _, e := range []Event{SegACK, SegData, SegFIN} {
		t.add(s, e, When(Is(SeqOK), Not(AckOK)), same, rfcOther, "unacceptable ACK: reply <SEQ=SEG.ACK><CTL=RST>", ReplyRST)
	}

	t.add(s, SegRST, When(Not(RstExact), Not(SeqOK)), same, rfcOther, "RST outside the window: drop", Drop)
	t.add(s, SegRST, When(Not(RstExact), Is(SeqOK)), same, rfcRST5961, "RST in window but not at RCV.NXT: challenge ACK", SendChallengeACK)
	t.add(s, SegRST, When(Is(RstExact), Is(Passive)), Listen, rfcOther, "RST on a passive open: back to LISTEN", DeleteTCB)
	t.add(s, SegRST, When(Is(RstExact), Not(Passive)), Closed, rfcOther, "RST on an active open: connection refused", SignalRefused, DeleteTCB)
	t.add(s, SegNoACK, When(Is(SeqOK)), same, rfcOther, "ACK bit off: drop", Drop)
}

// synchronizedStates holds segment arrival in ESTABLISHED and the closing
// states (RFC 9293 §3.10.7.4).
func synchronizedStates(t *rows) {
	sync := synchronized
	beforeTW := except(sync, TimeWait)

	// First check: sequence number. TIME-WAIT handles FIN on its own below.
	for _, e := range []Event{SegACK, SegData, SegNoACK} {
		t.add(sync, e, When(Not(SeqOK)), same, rfcOther, "unacceptable sequence number: send ACK, drop", SendACK)
	}
	t.add(beforeTW, SegFIN, When(Not(SeqOK)), same, rfcOther, "unacceptable sequence number: send ACK, drop", SendACK)

	// Second check: RST (RFC 5961 §3.2).
	t.add(beforeTW, SegRST, When(Not(RstExact), Not(SeqOK)), same, rfcOther, "RST outside the window: drop", Drop)
	t.add(beforeTW, SegRST, When(Not(RstExact), Is(SeqOK)), same, rfcRST5961, "RST in window but not at RCV.NXT: challenge ACK", SendChallengeACK)
	t.add(st(Established, FinWait1, FinWait2, CloseWait), SegRST, When(Is(RstExact)), Closed, rfcOther,
		"RST at RCV.NXT: connection reset", SignalReset, DeleteTCB)
	t.add(st(Closing, LastAck), SegRST, When(Is(RstExact)), Closed, rfcOther, "RST at RCV.NXT while closing: delete the TCB", DeleteTCB)
	t.add(st(TimeWait), SegRST, always, same, rfc1337, "policy: ignore RST in TIME-WAIT (TIME-WAIT assassination)", Drop)

	// Fourth check: SYN, whatever its sequence number (RFC 5961 §4.2).
	t.add(sync, SegSYN, always, same, rfcSYN5961, "SYN in a synchronized state: challenge ACK", SendChallengeACK)
	t.add(sync, SegSYNACK, always, same, rfcSYN5961, "SYN in a synchronized state: challenge ACK", SendChallengeACK)

	// Fifth check: ACK bit off.
	t.add(sync, SegNoACK, When(Is(SeqOK)), same, rfcOther, "ACK bit off: drop", Drop)

	// Fifth check: ACK field; sixth and seventh: text; eighth: FIN.
	inRange := func(extra ...Lit) Cond { return When(append([]Lit{Is(SeqOK), Is(AckInRange)}, extra...)...) }
	badAck := When(Is(SeqOK), Not(AckInRange))
	for _, e := range []Event{SegACK, SegData, SegFIN} {
		t.add(beforeTW, e, badAck, same, rfcACK5961, "ACK outside the acceptable range: send ACK, drop", SendACK)
	}

	// ESTABLISHED and FIN-WAIT-2: both keep receiving. In the states
	// that may still send, an acknowledgment can open the send window, so
	// the rows that process one also send the queued text (and a FIN
	// waiting behind it) that the window now allows.
	t.add(st(Established, CloseWait), SegACK, inRange(), same, rfcOther, "acknowledgment: advance SND.UNA, send what the window allows",
		ProcessACK, SendText)
	t.add(st(FinWait2), SegACK, inRange(), same, rfcOther, "acknowledgment: advance SND.UNA", ProcessACK)
	t.add(st(Established), SegData, inRange(), same, rfcOther, "in-window text: deliver and acknowledge",
		ProcessACK, AcceptText, SendText, SendACK)
	t.add(st(FinWait2), SegData, inRange(), same, rfcOther, "in-window text: deliver and acknowledge",
		ProcessACK, AcceptText, SendACK)
	t.add(st(Established), SegFIN, inRange(), CloseWait, rfcOther, "the peer closes first: acknowledge its FIN",
		ProcessACK, AcceptText, AcceptFIN, SendText, SendACK)
	t.add(st(FinWait2), SegFIN, inRange(), TimeWait, rfcOther, "the peer's FIN after ours was acknowledged",
		ProcessACK, AcceptText, AcceptFIN, SendACK, StartTimeWait)

	// FIN-WAIT-1: our FIN is out; what is acknowledged decides the next state.
	t.add(st(FinWait1), SegACK, inRange(Is(FinAcked)), FinWait2, rfcOther, "our FIN is acknowledged", ProcessACK)
	t.add(st(FinWait1), SegACK, inRange(Not(FinAcked)), same, rfcOther, "acknowledgment short of our FIN", ProcessACK, SendText)
	t.add(st(FinWait1), SegData, inRange(Is(FinAcked)), FinWait2, rfcOther, "text, and our FIN is acknowledged",
		ProcessACK, AcceptText, SendACK)
	t.add(st(FinWait1), SegData, inRange(Not(FinAcked)), same, rfcOther, "text; our FIN is not yet acknowledged",
		ProcessACK, AcceptText, SendText, SendACK)
	t.add(st(FinWait1), SegFIN, inRange(Is(FinAcked)), TimeWait, rfcOther, "FIN,ACK acknowledging our FIN: straight to TIME-WAIT",
		ProcessACK, AcceptText, AcceptFIN, SendACK, StartTimeWait)
	t.add(st(FinWait1), SegFIN, inRange(Not(FinAcked)), Closing, rfcTimeWait, "simultaneous close: the peer's FIN crossed ours",
		ProcessACK, AcceptText, AcceptFIN, SendText, SendACK)

	// CLOSE-WAIT: the peer's FIN is in; text or a second FIN is ignored.
	t.add(st(CloseWait), SegData, inRange(), same, rfcOther, "text after the peer's FIN: ignore the text", ProcessACK, SendText)
	t.add(st(CloseWait), SegFIN, inRange(), same, rfcOther, "FIN again: remain in CLOSE-WAIT", ProcessACK, SendText)

	// CLOSING and LAST-ACK wait for the ACK of our FIN.
	for _, e := range []Event{SegACK, SegData, SegFIN} {
		t.add(st(Closing), e, inRange(Is(FinAcked)), TimeWait, rfcOther, "our FIN is acknowledged: TIME-WAIT", ProcessACK, StartTimeWait)
		t.add(st(Closing), e, inRange(Not(FinAcked)), same, rfcOther, "not the ACK of our FIN: send what the window allows", ProcessACK, SendText)
		t.add(st(LastAck), e, inRange(Is(FinAcked)), Closed, rfcOther, "our FIN is acknowledged: delete the TCB", ProcessACK, DeleteTCB)
		t.add(st(LastAck), e, inRange(Not(FinAcked)), same, rfcOther, "not the ACK of our FIN: send what the window allows", ProcessACK, SendText)
	}

	// TIME-WAIT: only a retransmitted FIN is expected.
	t.add(st(TimeWait), SegACK, When(Is(SeqOK)), same, rfcOther, "nothing to acknowledge in TIME-WAIT: drop", Drop)
	t.add(st(TimeWait), SegData, When(Is(SeqOK)), same, rfcOther, "text after both FINs: drop", Drop)
	t.add(st(TimeWait), SegFIN, always, same, rfcOther, "retransmitted FIN: acknowledge it and restart 2MSL", SendACK, StartTimeWait)
}

// timeouts holds the timer expiries (RFC 9293 §3.10.8, RFC 6298,
// RFC 1122 §4.2.3.5).
func timeouts(t *rows) {
	idle := st(Closed, Listen, FinWait2, TimeWait)
	t.add(idle, RetransmitTimeout, always, same, rfcRTO, "nothing unacknowledged: no retransmission timer runs", Drop)
	t.add(except(all, idle...), RetransmitTimeout, always, same, rfcRTO, "resend the earliest unacknowledged segment", Retransmit)

	t.add(idle, RetriesExhausted, always, same, rfcR2, "nothing unacknowledged: no retransmissions to count", Drop)
	t.add(st(SynSent), RetriesExhausted, always, Closed, rfcR2, "no answer to our SYN: give up", SignalTimeout, DeleteTCB)
	t.add(st(SynReceived), RetriesExhausted, When(Is(Passive)), Listen, rfcR2, "no answer to our SYN,ACK: forget the half-open connection", DeleteTCB)
	t.add(st(SynReceived), RetriesExhausted, When(Not(Passive)), Closed, rfcR2, "no answer to our SYN,ACK: give up", SignalTimeout, DeleteTCB)
	t.add(st(Established, FinWait1, CloseWait, Closing, LastAck), RetriesExhausted, always, Closed, rfcR2,
		"retransmissions exhausted: close the connection", SignalTimeout, DeleteTCB)

	t.add(st(TimeWait), TimeWaitTimeout, always, Closed, rfcTimeWait, "2MSL elapsed: delete the TCB", DeleteTCB)
	t.add(except(all, TimeWait), TimeWaitTimeout, always, same, rfcTimeout, "no 2MSL timer runs outside TIME-WAIT", Drop)

	t.add(st(Closed, Listen, TimeWait), UserTimeout, always, same, rfcTimeout, "no user timeout runs here", Drop)
	t.add(st(SynReceived), UserTimeout, When(Is(Passive)), Listen, rfcTimeout, "half-open passive connection timed out", DeleteTCB)
	t.add(st(SynReceived), UserTimeout, When(Not(Passive)), Closed, rfcTimeout, "user timeout: abort the connection", SignalTimeout, DeleteTCB)
	t.add(st(SynSent, Established, FinWait1, FinWait2, CloseWait, Closing, LastAck), UserTimeout, always, Closed, rfcTimeout,
		"user timeout: abort the connection", SignalTimeout, DeleteTCB)
}

// delayedACK holds the delayed acknowledgment of RFC 9293 §3.8.6.3 and
// RFC 1122 §4.2.3.2: "a TCP SHOULD implement a delayed ACK, but an ACK
// should not be excessively delayed; in particular, the delay MUST be less
// than 0.5 seconds, and in a stream of full-sized segments there SHOULD be
// an ACK for at least every second segment"; RFC 9293 §3.8.6.3 counts
// "every second full-sized segment or 2*RMSS bytes of new data".
//
// The rows that accept in-order text in the states that keep receiving
// (ESTABLISHED, FIN-WAIT-1, FIN-WAIT-2; built in [synchronizedStates] with
// send ACK) acknowledge it with delay ACK instead: no ACK when a segment of
// the same step carries it (the response piggybacks it), an ACK at once
// when one is owed already and the octets not yet acknowledged reach
// 2*RMSS (the second full-sized segment), else the ACK is owed and the
// delayed-ACK timer, started by the first segment that owes it, runs on.
// Its expiry sends the owed ACK.
//
// So does the row of a FIN that leaves the host in a state whose
// delayed-ACK timer runs: ESTABLISHED's, to CLOSE-WAIT. RFC 9293
// §3.10.7.4 says to "send an acknowledgment for the FIN" in the words it
// uses for text, and §3.8.6.3 lets either wait; Linux waits (the peer's
// FIN puts its socket in delayed-ACK "pingpong" mode) so that the FIN of
// the user's CLOSE, which usually follows at once, carries the ACK: the
// passive close takes three segments, not four. A FIN that ends
// FIN-WAIT-1 or FIN-WAIT-2 (to CLOSING or TIME-WAIT), an unacceptable
// segment and the handshake's last segment are still acknowledged at once
// by their own rows; an out-of-order segment is acknowledged at once by
// its caller (see the package documentation), and every segment we send
// carries the ACK and pays the debt (see [TCB]).
func delayedACK(t *rows) {
	for i := range *t {
		r := &(*t)[i]
		delays := r.On == SegData || r.On == SegFIN && r.To.Runs(TimerDelayedAck)
		if !delays || !r.From.Runs(TimerDelayedAck) || !r.When.Mask.Has(AckInRange) || !r.When.Want.Has(AckInRange) {
			continue
		}
		do := append([]Action(nil), r.Do...) // rows built by one add share their slice
		for j, a := range do {
			if a == SendACK {
				do[j] = DelayACK
				r.RFC, r.Note = rfcDelACK, r.Note+" (the ACK may be delayed)"
			}
		}
		r.Do = do
	}
	var owes, not []State
	for _, s := range all {
		if s.Runs(TimerDelayedAck) {
			owes = append(owes, s)
		} else {
			not = append(not, s)
		}
	}
	t.add(owes, DelayedAckTimeout, always, same, rfcDelACK2, "the delayed ACK is due: send it", SendACK)
	t.add(not, DelayedAckTimeout, always, same, rfcDelACK2, "no ACK is delayed in this state", Drop)
}

// keepAlive holds the keepalive timer of RFC 1122 §4.2.3.6: "Keep-alive
// packets MUST only be sent when no data or acknowledgement packets have
// been received for the connection within an interval", the interval
// configurable, by default no less than two hours, and keepalive off
// unless the application asks for it. The timer runs where
// [State.Runs] says (ESTABLISHED, FIN-WAIT-2, CLOSE-WAIT) and fires only
// when nothing is outstanding; the caller chooses its durations and counts
// the probes the peer has not answered (any acceptable segment from the
// peer starts the count again), as it counts retransmissions for R2.
//
// Its expiry with probes left sends the probe <SEQ=SND.NXT-1><ACK=RCV.NXT>
// <CTL=ACK>, which a live peer acknowledges (an old sequence number is
// unacceptable: RFC 9293 §3.10.7.4, first check). Its expiry after the
// last probe went unanswered gives the peer up for dead: the user is told
// the connection timed out, a RST goes to the peer in case it is alive
// but unreachable until now (as ABORT sends one, RFC 9293 §3.10.5; Linux's
// tcp_keepalive_timer does the same with tcp_send_active_reset), and the
// TCB is deleted. "A keep-alive mechanism ... MUST NOT interpret failure
// to respond to any specific probe as a dead connection": the caller's
// count is at least one probe and (by default) several.
func keepAlive(t *rows) {
	var runs, before, finOut []State
	for _, s := range all {
		switch {
		case s.Runs(TimerKeepAlive):
			runs = append(runs, s)
		case s == FinWait1 || s == Closing || s == LastAck:
			finOut = append(finOut, s)
		case !s.Synchronized():
			before = append(before, s)
		}
	}
	t.add(runs, KeepAliveTimeout, always, same, rfcKeep, "idle connection: probe the peer with <SEQ=SND.NXT-1>, which a live peer acknowledges", SendKeepAlive)
	t.add(runs, KeepAliveExhausted, always, Closed, rfcKeep, "no probe answered: the peer is dead; reset and close the connection", SendRST, SignalTimeout, DeleteTCB)
	for _, e := range []Event{KeepAliveTimeout, KeepAliveExhausted} {
		t.add(finOut, e, always, same, rfcKeep, "our FIN is unacknowledged: the retransmission timer watches the peer, no keepalive timer runs", Drop)
		t.add(before, e, always, same, rfcKeep, "no keepalive timer runs before the connection is synchronized", Drop)
		t.add(st(TimeWait), e, always, same, rfcKeep, "both sides have closed: no keepalive timer runs in TIME-WAIT", Drop)
	}
}
