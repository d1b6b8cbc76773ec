package spec

// Segment is what a TCB reads of a segment: the header fields of RFC 9293
// §3.1 that connection management uses and the number of text octets. The
// same type describes the segments a step sends; their Window is left for
// the caller, which knows its receive buffer.
type Segment struct {
	Seq, Ack  Seq    // SEG.SEQ and SEG.ACK
	Flags     Flags  // control bits
	Window    uint16 // SEG.WND as on the wire, before window scaling
	Len       uint32 // text octets (SEG.LEN without SYN and FIN)
	MSS       uint16 // the MSS option (RFC 9293 §3.7.1); 0 when absent
	HasWScale bool   // the window scale option (RFC 7323 §2.2) is present
	WScale    uint8  // its shift count, as sent
}

// SegLen returns SEG.LEN: the text octets plus one for SYN and one for FIN
// (RFC 9293 §3.4).
func (s *Segment) SegLen() uint32 {
	n := s.Len
	if s.Flags.Has(SYN) {
		n++
	}
	if s.Flags.Has(FIN) {
		n++
	}
	return n
}

// Params are the caller's inputs to a step: what the table leaves to the
// host (its ISS, its buffers, its options).
type Params struct {
	// ISS is the initial send sequence number to use when an action
	// selects one (send SYN; send SYN,ACK without an ISS yet). RFC 6528
	// says how to choose it; the choice is the caller's.
	ISS Seq
	// RcvWnd is RCV.WND now: what the receive buffer can take.
	RcvWnd uint32
	// MSS is our maximum segment size: the MSS option our SYNs carry, the
	// most text we put in a segment, and the full-sized segment of the
	// delayed ACK's count (RFC 9293 §3.8.6.3's RMSS; 536 when 0).
	MSS uint16
	// SendMSS, when not 0, is the most text we put in one segment, chosen
	// by the caller; when 0 it is min(MSS, the peer's MSS).
	SendMSS uint32
	// WScale says we may use window scaling (RFC 7323); Shift is the shift
	// count we offer. A SYN carries the option when WScale is set, a
	// SYN,ACK only when the peer's SYN carried it too.
	WScale bool
	Shift  uint8
	// Unsent is the number of queued text octets not yet sent, for send
	// text, send FIN and the retransmission of a window probe.
	Unsent uint32
	// FinQueued says CLOSE was called earlier and the FIN waits behind
	// the queued text (send FIN sets it for its own step).
	FinQueued bool
	// QuickACK makes delay ACK acknowledge at once, as send ACK does: the
	// caller does not delay ACKs (RFC 1122 §4.2.3.2 allows it; a delay
	// of 0 chooses it).
	QuickACK bool
}

// Effect is what a step did beyond moving the TCB: the segments to send,
// the text and end of stream for the user, the timers and the signals. A
// caller keeps one Effect and resets it between steps (Reset), so that its
// Out slice is reused.
type Effect struct {
	// Out are the segments to send, in order. Window is 0: the caller
	// fills it (and the ports), and the text of each from its send buffer
	// at Seq.
	Out []Segment
	// Skip and Deliver select the text of the arriving segment that goes
	// to the user: payload[Skip:Skip+Deliver].
	Skip, Deliver uint32
	// Acked is the number of octets of sequence space (text, SYN and FIN)
	// that the arriving segment newly acknowledged.
	Acked uint32
	// WindowUpdated says the arriving segment updated SND.WND
	// (RFC 9293 §3.10.7.4, SND.WL1 and SND.WL2).
	WindowUpdated bool
	// EOF says the peer's FIN was accepted: the user sees end of stream
	// after the text.
	EOF bool
	// Signal is what the user is told (SignalConnected to SignalTimeout,
	// or ErrNotExist, ErrExists or ErrClosing for a call), Drop for
	// nothing. A row has at most one.
	Signal Action
	// TimeWait says the 2MSL timer was started or restarted.
	TimeWait bool
	// DelayACK says an ACK is now owed and the delayed-ACK timer starts:
	// the caller steps DelayedAckTimeout within its delay (less than
	// 0.5 s, RFC 1122 §4.2.3.2) unless a segment it sends first carries
	// the ACK ([TCB.AckOwed] turns false).
	DelayACK bool
	// Deleted says the TCB was deleted: its timers must stop.
	Deleted bool
}

// Reset empties e, keeping the Out slice's storage.
func (e *Effect) Reset() { *e = Effect{Out: e.Out[:0]} }

// TCB is the transmission control block of RFC 9293 §3.3.1: the state of
// the connection and the variables that the table's guards read and its
// actions change. It is a plain value (copy it to branch), and only the
// methods of this package change it, so there is one place that says what
// each action does to a connection: the endpoint, the model's conformance
// checks, the tester of other stacks and the capture checker all call it.
type TCB struct {
	state   State
	passive bool // the connection came from a passive OPEN (LISTEN)

	haveISS, haveIRS bool
	iss, irs         Seq

	sndUna, sndNxt Seq    // SND.UNA, SND.NXT
	sndWnd         uint32 // SND.WND, scaled
	sndWL1, sndWL2 Seq    // SND.WL1, SND.WL2: the segment that last updated SND.WND
	maxSndWnd      uint32 // MAX.SND.WND (RFC 5961 §5)
	sndShift       uint8  // the peer's window scale shift (RFC 7323 §2.3)

	rcvNxt   Seq   // RCV.NXT
	rcvShift uint8 // our window scale shift, once both SYNs carried the option
	peerWS   bool  // the peer's SYN carried the window scale option and we use it
	peerMSS  uint16

	finSent bool // our FIN was sent: it is the octet at SND.NXT-1
	finRcvd bool // the peer's FIN was accepted: RCV.NXT is past it

	lastAck Seq  // the ACK field of the last segment we sent with ACK
	ackOwed bool // accepted text waits for a delayed ACK (RFC 1122 §4.2.3.2)
}

// NewTCB returns the TCB of a connection in CLOSED.
func NewTCB() TCB { return TCB{state: Closed} }

// NewListenTCB returns the TCB of a connection in LISTEN: what a passive
// OPEN makes, and what a listener hands each new connection request.
func NewListenTCB() TCB { return TCB{state: Listen, passive: true} }

// State returns the connection's state.
func (t *TCB) State() State { return t.state }

// Passive reports whether the connection came from a passive OPEN.
func (t *TCB) Passive() bool { return t.passive }

// ISS returns the initial send sequence number, and whether one was chosen.
func (t *TCB) ISS() (Seq, bool) { return t.iss, t.haveISS }

// IRS returns the initial receive sequence number, and whether the peer's
// SYN was accepted.
func (t *TCB) IRS() (Seq, bool) { return t.irs, t.haveIRS }

// SndUna returns SND.UNA, the oldest unacknowledged sequence number.
func (t *TCB) SndUna() Seq { return t.sndUna }

// SndNxt returns SND.NXT, the next sequence number to be sent.
func (t *TCB) SndNxt() Seq { return t.sndNxt }

// SndWnd returns SND.WND, the send window the peer offered (scaled).
func (t *TCB) SndWnd() uint32 { return t.sndWnd }

// SndWL1 returns SND.WL1, the sequence number of the segment that last
// updated SND.WND.
func (t *TCB) SndWL1() Seq { return t.sndWL1 }

// SndWL2 returns SND.WL2, the acknowledgment number of that segment.
func (t *TCB) SndWL2() Seq { return t.sndWL2 }

// MaxSndWnd returns MAX.SND.WND, the largest window the peer has offered.
func (t *TCB) MaxSndWnd() uint32 { return t.maxSndWnd }

// RcvNxt returns RCV.NXT, the next sequence number expected.
func (t *TCB) RcvNxt() Seq { return t.rcvNxt }

// FinSent reports whether our FIN was sent (it is the octet at SND.NXT-1).
func (t *TCB) FinSent() bool { return t.finSent }

// FinReceived reports whether the peer's FIN was accepted.
func (t *TCB) FinReceived() bool { return t.finRcvd }

// AckOwed reports whether accepted text waits for its delayed ACK: delay
// ACK owed it, and no segment carrying ACK = RCV.NXT went out since.
func (t *TCB) AckOwed() bool { return t.ackOwed }

// LastAckSent returns the ACK field of the last segment sent with ACK
// (RFC 7323's Last.ACK.sent).
func (t *TCB) LastAckSent() Seq { return t.lastAck }

// AckSent records that a segment carrying acknowledgment number ack went
// out outside a row (a duplicate ACK, a window update, a retransmission
// of loss recovery): when ack is RCV.NXT it pays an owed ACK
// (RFC 9293 §3.8.6.3: the ACK rides on any segment we send). Segments of
// the rows are recorded by Apply itself.
func (t *TCB) AckSent(ack Seq) {
	t.lastAck = ack
	if ack == t.rcvNxt {
		t.ackOwed = false
	}
}

// SndShift returns the shift count that scales the peer's windows.
func (t *TCB) SndShift() uint8 { return t.sndShift }

// RcvShift returns the shift count that scales the windows we advertise:
// 0 unless both SYNs carried the window scale option (RFC 7323 §2.2).
func (t *TCB) RcvShift() uint8 { return t.rcvShift }

// PeerWScale reports whether window scaling is in use on the connection.
func (t *TCB) PeerWScale() bool { return t.peerWS }

// PeerMSS returns the MSS option of the peer's SYN, 0 when it had none.
func (t *TCB) PeerMSS() uint16 { return t.peerMSS }

// SendMSS returns the most text a segment carries: the smaller of ours and
// the peer's MSS, which is 536 when its SYN had no MSS option
// (RFC 9293 §3.7.1).
func (t *TCB) SendMSS(ours uint16) uint32 {
	peer := uint32(536)
	if t.peerMSS != 0 {
		peer = uint32(t.peerMSS)
	}
	return min(peer, uint32(ours))
}

// TextSent returns the number of text octets sent from ISS+1 on: SND.NXT
// less the SYN and our FIN.
func (t *TCB) TextSent() uint32 {
	if !t.haveISS {
		return 0
	}
	n := t.sndNxt.Sub(t.iss + 1)
	if t.finSent && n > 0 {
		n--
	}
	return n
}

// Ctx returns the guards' view of the TCB with segment in arriving (nil
// for a user call or a timer) and a receive window of rcvWnd.
func (t *TCB) Ctx(in *Segment, rcvWnd uint32) Ctx {
	x := Ctx{SndUna: t.sndUna, SndNxt: t.sndNxt, RcvNxt: t.rcvNxt, RcvWnd: rcvWnd,
		MaxSndWnd: t.maxSndWnd, FinSent: t.finSent, Passive: t.passive}
	if in != nil {
		x.SegSeq, x.SegAck, x.SegLen, x.SegFlags = in.Seq, in.Ack, in.SegLen(), in.Flags
	}
	return x
}

// Step finds the row of m for event e (with segment in for a segment
// event, nil otherwise) in t's state, carries out its actions in order
// (Apply), and enters its To state (Enter). It returns the row's index, or
// -1 when m has no row, in which case t is unchanged.
func (t *TCB) Step(m *Machine, e Event, in *Segment, p Params, eff *Effect) int {
	x := t.Ctx(in, p.RcvWnd)
	row := m.StepCtx(t.state, e, &x)
	if row < 0 {
		return -1
	}
	r := &m.rows[row]
	for _, a := range r.Do {
		t.Apply(a, in, p, eff)
	}
	t.Enter(r.To)
	return row
}

// Enter moves the TCB to state s at the end of a row: a connection that
// goes back to LISTEN keeps listening (and is passive), one that leaves
// LISTEN by an active open or goes to CLOSED is not, and a state without
// a TCB holds no sequence variables.
func (t *TCB) Enter(s State) {
	from := t.state
	switch {
	case s == Listen:
		t.passive = true
	case s == Closed, from == Listen && s == SynSent:
		t.passive = false
	}
	t.state = s
	if !s.HasTCB() {
		*t = TCB{state: s, passive: t.passive}
	}
}

// Apply carries out one action of a row on the TCB (RFC 9293 §3.10), for
// segment in (nil for a user call or a timer), and adds what it does
// beyond the TCB to eff. It does not change the state: Enter does, once
// the row's actions are done.
func (t *TCB) Apply(a Action, in *Segment, p Params, eff *Effect) {
	switch a {
	case Drop, QueueText:
		// Nothing happens to the TCB: the event is discarded, or the
		// caller keeps the text for later (RFC 9293 §3.10.2).
	case AcceptSYN:
		t.acceptSYN(in, p)
	case ProcessACK:
		t.processACK(in, eff)
	case AcceptText:
		t.acceptText(in, p, eff)
	case AcceptFIN:
		// RFC 9293 §3.10.7.4, eighth: advance RCV.NXT over the FIN once
		// all text before it is in.
		if in != nil && in.Flags.Has(FIN) && in.Seq.Add(in.Len) == t.rcvNxt && !t.finRcvd {
			t.rcvNxt++
			t.finRcvd = true
			eff.EOF = true
		}
	case SendSYN:
		// RFC 9293 §3.10.1: select an ISS, send <SEQ=ISS><CTL=SYN>,
		// SND.UNA = ISS, SND.NXT = ISS+1.
		t.chooseISS(p.ISS)
		t.out(eff, t.syn(false, p))
	case SendSYNACK:
		// RFC 9293 §3.10.7.2: <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>, with
		// an ISS selected now unless the connection has one (a
		// simultaneous open answers with the ISS of its own SYN, §3.5).
		if !t.haveISS {
			t.chooseISS(p.ISS)
		}
		t.out(eff, t.syn(true, p))
	case SendText:
		t.output(p, p.FinQueued, eff)
	case SendFIN:
		// RFC 9293 §3.10.4: the FIN goes after all queued text.
		t.output(p, true, eff)
	case SendACK, SendChallengeACK:
		// <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> (RFC 9293 §3.10.7.4; the
		// challenge ACK of RFC 5961 §3.2 is the same segment).
		t.out(eff, Segment{Seq: t.sndNxt, Ack: t.rcvNxt, Flags: ACK})
	case DelayACK:
		// RFC 9293 §3.8.6.3, RFC 1122 §4.2.3.2: a segment this step sent
		// carries the ACK already. A later segment while one is owed is
		// acknowledged at once when the octets not yet acknowledged
		// reach two full-sized segments ("an ACK SHOULD be generated for
		// at least every second full-sized segment or 2*RMSS bytes of new
		// data"), and so is every segment when the caller does not
		// delay. Else the ACK is owed: the delayed-ACK timer starts with
		// the first segment that owes it and is not restarted, so that
		// the first octet waits less than the delay.
		switch {
		case t.lastAck == t.rcvNxt && !t.ackOwed:
		case p.QuickACK || t.ackOwed && t.rcvNxt.Sub(t.lastAck) >= 2*p.RMSS():
			t.out(eff, Segment{Seq: t.sndNxt, Ack: t.rcvNxt, Flags: ACK})
		case t.ackOwed:
		default:
			t.ackOwed = true
			eff.DelayACK = true
		}
	case SendKeepAlive:
		// RFC 1122 §4.2.3.6: a segment the peer must acknowledge
		// (RFC 9293 §3.10.7.4, first check), its sequence number one
		// below SND.NXT so that it carries no new octet.
		t.out(eff, t.KeepAlive())
	case SendRST:
		// RFC 9293 §3.10.5: <SEQ=SND.NXT><CTL=RST>.
		eff.Out = append(eff.Out, Segment{Seq: t.sndNxt, Flags: RST})
	case ReplyRST:
		// RFC 9293 §3.10.7.1: <SEQ=SEG.ACK><CTL=RST> if the segment had
		// an ACK, else <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
		if in == nil {
			break
		}
		if in.Flags.Has(ACK) {
			eff.Out = append(eff.Out, Segment{Seq: in.Ack, Flags: RST})
		} else {
			eff.Out = append(eff.Out, Segment{Seq: 0, Ack: in.Seq.Add(in.SegLen()), Flags: RST | ACK})
		}
	case Retransmit:
		t.retransmit(p, eff)
	case StartTimeWait:
		eff.TimeWait = true
	case SignalConnected, SignalReset, SignalRefused, SignalTimeout, ErrNotExist, ErrExists, ErrClosing:
		eff.Signal = a
	case DeleteTCB:
		// RFC 9293 §3.10.5 and the rows that delete: the TCB goes, a
		// passive connection keeps listening (Enter says which).
		*t = TCB{state: t.state, passive: t.passive}
		eff.Deleted = true
	}
}

func (t *TCB) chooseISS(iss Seq) {
	t.iss, t.haveISS = iss, true
	t.sndUna, t.sndNxt = iss, iss+1
}

// RMSS is the full-sized segment of the delayed ACK's count (RFC 9293
// §3.8.6.3): our MSS, or the default of §3.7.1, 536, when p gives none.
func (p Params) RMSS() uint32 {
	if p.MSS == 0 {
		return 536
	}
	return uint32(p.MSS)
}

// syn returns our SYN (or SYN,ACK) with its options: the MSS always; the
// window scale on a SYN whenever we may scale, on a SYN,ACK only when the
// peer's SYN carried it (RFC 7323 §2.2).
func (t *TCB) syn(withACK bool, p Params) Segment {
	s := Segment{Seq: t.iss, Flags: SYN, MSS: p.MSS}
	if withACK {
		s.Flags |= ACK
		s.Ack = t.rcvNxt
	}
	if withACK && t.peerWS || !withACK && p.WScale {
		s.HasWScale, s.WScale = true, p.Shift
	}
	return s
}

// acceptSYN records the peer's SYN (RFC 9293 §3.10.7.2 and §3.10.7.3):
// IRS = SEG.SEQ, RCV.NXT = SEG.SEQ+1, the window it offers (a SYN's window
// is never scaled, RFC 7323 §2.2) with SND.WL1 and SND.WL2, its MSS and
// its window scale (shifts above 14 are taken as 14, RFC 7323 §2.3).
func (t *TCB) acceptSYN(in *Segment, p Params) {
	if in == nil {
		return
	}
	t.irs, t.haveIRS = in.Seq, true
	t.rcvNxt = in.Seq + 1
	t.sndWnd, t.sndWL1, t.sndWL2 = uint32(in.Window), in.Seq, in.Ack
	t.maxSndWnd = max(t.maxSndWnd, t.sndWnd)
	t.peerWS = in.HasWScale && p.WScale
	t.sndShift, t.rcvShift = 0, 0
	if t.peerWS {
		t.sndShift, t.rcvShift = min(in.WScale, 14), p.Shift
	}
	t.peerMSS = in.MSS
}

// processACK is the fifth check of RFC 9293 §3.10.7.4: an ACK of something
// new moves SND.UNA; then the send window is updated when the segment is
// newer than the one that last set it (SND.WL1 < SEG.SEQ, or SND.WL1 =
// SEG.SEQ and SND.WL2 =< SEG.ACK), scaled except on a SYN (RFC 7323 §2.3).
func (t *TCB) processACK(in *Segment, eff *Effect) {
	if in == nil || !in.Flags.Has(ACK) {
		return
	}
	if t.sndUna.LessThan(in.Ack) && in.Ack.LessEq(t.sndNxt) {
		eff.Acked += in.Ack.Sub(t.sndUna)
		t.sndUna = in.Ack
	}
	if t.sndWL1.LessThan(in.Seq) || t.sndWL1 == in.Seq && t.sndWL2.LessEq(in.Ack) {
		w := uint32(in.Window)
		if !in.Flags.Has(SYN) {
			w <<= t.sndShift
		}
		t.sndWnd, t.sndWL1, t.sndWL2 = w, in.Seq, in.Ack
		t.maxSndWnd = max(t.maxSndWnd, w)
		eff.WindowUpdated = true
	}
}

// acceptText is the seventh check of RFC 9293 §3.10.7.4: the text from
// RCV.NXT on, at most RCV.WND octets of it, goes to the user and RCV.NXT
// advances over it. Text before RCV.NXT was received already and is
// skipped; text that starts beyond RCV.NXT is not accepted (the caller
// holds it until the text before it arrives).
func (t *TCB) acceptText(in *Segment, p Params, eff *Effect) {
	if in == nil {
		return
	}
	seq, n := in.Seq, in.Len
	var skip uint32
	if seq.LessThan(t.rcvNxt) {
		skip = t.rcvNxt.Sub(seq)
		if skip >= n {
			return
		}
		seq, n = t.rcvNxt, n-skip
	}
	if seq != t.rcvNxt {
		return
	}
	n = min(n, p.RcvWnd)
	eff.Skip, eff.Deliver = skip, n
	t.rcvNxt = t.rcvNxt.Add(n)
}

// output sends the queued text the send window allows, in segments of at
// most SendMSS octets, and then the FIN when fin is set and no text is
// left (RFC 9293 §3.10.2 and §3.10.4), with the sender's silly window
// avoidance of §3.8.6.2.1: while anything is in flight, a segment shorter
// than the MSS waits unless it holds all the queued text.
func (t *TCB) output(p Params, fin bool, eff *Effect) {
	mss := p.SendMSS
	if mss == 0 {
		mss = t.SendMSS(p.MSS)
	}
	unsent := p.Unsent
	for !t.finSent {
		inFlight := t.sndNxt.Sub(t.sndUna)
		var avail uint32
		if t.sndWnd > inFlight {
			avail = t.sndWnd - inFlight
		}
		n := min(unsent, avail, mss)
		if n == 0 {
			if unsent == 0 && fin {
				t.sendText(0, true, eff)
			}
			return
		}
		if n < mss && n < unsent && inFlight > 0 {
			return
		}
		t.sendText(n, fin && n == unsent, eff)
		unsent -= n
	}
}

// sendText sends n octets of new text at SND.NXT, with FIN when fin, and
// advances SND.NXT over them.
func (t *TCB) sendText(n uint32, fin bool, eff *Effect) {
	s := Segment{Seq: t.sndNxt, Ack: t.rcvNxt, Flags: ACK, Len: n}
	if n > 0 {
		s.Flags |= PSH
	}
	if fin {
		s.Flags |= FIN
	}
	t.sndNxt = t.sndNxt.Add(s.SegLen())
	t.finSent = t.finSent || fin
	t.out(eff, s)
}

// out adds segment s to what the step sends; one with ACK set carries
// RCV.NXT and pays an owed ACK.
func (t *TCB) out(eff *Effect, s Segment) {
	if s.Flags.Has(ACK) {
		t.AckSent(s.Ack)
	}
	eff.Out = append(eff.Out, s)
}

// retransmit is the retransmission of RFC 6298 §5.4: the earliest
// unacknowledged segment again (the SYN, or SYN,ACK once the peer's SYN is
// in; else up to SendMSS octets of text from SND.UNA, with the FIN when it
// follows them); with nothing unacknowledged and the peer's window closed,
// a window probe (RFC 9293 §3.8.6.1) in the manner of Linux: an old
// sequence number and no text, which the peer must answer with an ACK
// carrying its window (§3.10.7.4, first check).
func (t *TCB) retransmit(p Params, eff *Effect) {
	if t.sndUna == t.sndNxt {
		if t.sndWnd == 0 && t.state.Synchronized() {
			t.out(eff, Segment{Seq: t.sndUna - 1, Ack: t.rcvNxt, Flags: ACK})
		}
		return
	}
	if s, ok := t.Resend(t.sndUna, p); ok {
		t.out(eff, s)
	}
}

// Resend returns the segment that retransmits from seq, an unacknowledged
// sequence number, without changing the TCB: the SYN (or SYN,ACK), or up
// to SendMSS octets of text from seq with the FIN when it follows them.
// Loss recovery (RFC 5681, RFC 6582) resends holes the retransmission
// timer has not reached; ok is false when seq is not in
// [SND.UNA, SND.NXT).
func (t *TCB) Resend(seq Seq, p Params) (s Segment, ok bool) {
	if !seq.InRange(t.sndUna, t.sndNxt) {
		return Segment{}, false
	}
	if t.haveISS && seq == t.iss {
		return t.syn(t.state != SynSent, p), true
	}
	mss := p.SendMSS
	if mss == 0 {
		mss = t.SendMSS(p.MSS)
	}
	textEnd := t.sndNxt
	if t.finSent {
		textEnd--
	}
	var n uint32
	if seq.LessThan(textEnd) {
		n = min(mss, textEnd.Sub(seq))
	}
	s = Segment{Seq: seq, Ack: t.rcvNxt, Flags: ACK, Len: n}
	if n > 0 {
		s.Flags |= PSH
	}
	if t.finSent && seq.Add(n) == textEnd {
		s.Flags |= FIN
	}
	return s, true
}

// ACK returns <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>: the segment of a
// duplicate ACK, a window update or any acknowledgment sent outside a row.
func (t *TCB) ACK() Segment { return Segment{Seq: t.sndNxt, Ack: t.rcvNxt, Flags: ACK} }

// KeepAlive returns the keepalive probe of RFC 1122 §4.2.3.6:
// <SEQ=SND.NXT-1><ACK=RCV.NXT><CTL=ACK>, which a live peer answers with
// an ACK.
func (t *TCB) KeepAlive() Segment {
	return Segment{Seq: t.sndNxt - 1, Ack: t.rcvNxt, Flags: ACK}
}
