package model

import (
	"math/bits"

	"github.com/tcpcheck/tcpcheck/spec"
)

// selectRow is the first half of a host step: it fills a spec.Ctx from
// host i's TCB in w and event e (with segment sg when e is a segment
// event), evaluates the guards and looks up the table's row. It reports
// whether the row selects an initial sequence number, in which case the
// step has one outcome per ISS choice. It changes nothing.
func (s *System) selectRow(w *world, i int, e spec.Event, sg uint32) (row int, choosesISS bool) {
	var c spec.Ctx
	h := &w.h[i]
	fillCtx(&c, h, e, sg)
	return s.selectRowCtx(h, e, &c)
}

// selectRowCtx is selectRow for host h whose context for event e is c,
// filled by fillCtx (a host step fills it once for selectRowCtx and apply).
func (s *System) selectRowCtx(h *host, e spec.Event, c *spec.Ctx) (row int, choosesISS bool) {
	// Evaluate the guards the rows for this state and event mention (the
	// others cannot change the row; spec.EvalAll would give the same row).
	var g spec.GuardSet
	for mask := s.guards[h.st][e]; mask != 0; mask &= mask - 1 {
		gd := spec.Guard(bits.TrailingZeros8(uint8(mask)))
		g = g.With(gd, gd.Eval(c))
	}
	row = s.stepRow(h.st, e, g)
	if row < 0 {
		// Unreachable for a table that passed spec.Validate.
		panic("model: no row for " + h.st.String() + " + " + e.String())
	}
	do := s.do[row]
	return row, do.Has(spec.SendSYN) || (do.Has(spec.SendSYNACK) && !h.st.HasTCB())
}

// fillCtx sets c to the context of host h's guards for event e (with
// segment sg when e is a segment event). c must be zero.
func fillCtx(c *spec.Ctx, h *host, e spec.Event, sg uint32) {
	c.SndUna, c.SndNxt, c.RcvNxt = seq(h.una), seq(h.nxt), seq(h.rcv)
	c.RcvWnd, c.MaxSndWnd = rcvWndOf(h), rcvWnd
	c.FinSent, c.Passive = h.finSent, h.passive
	if e.IsSegment() {
		c.SegSeq, c.SegAck = seq(segSeq(sg)), seq(segAck(sg))
		c.SegLen = segSpaceLen(sg)
		c.SegFlags = segFlags(sg)
	}
}

// textSent is the number of text octets h has sent: SND.NXT less the SYN
// and the FIN.
func textSent(h *host) uint8 {
	if !h.st.HasTCB() {
		return 0
	}
	return h.nxt - h.iss - 1 - b2u(h.finSent)
}

// sender puts the segments of one host step on the network and keeps what
// the step properties look at: how many were sent, the first maxOut of
// them, and whether one carried the ACK of RCV.NXT.
type sender struct {
	w       *world
	h       *host
	st      *Step
	from    uint8 // the sending host
	tag     uint8 // the incarnation tag of what it sends
	reorder bool  // Config.Reorder
	sentACK bool  // a segment acknowledged RCV.NXT
	full    bool  // a segment did not fit in the network
	n       int   // segments sent
	out     [maxOut]outSeg
}

// send puts the segment <SEQ=sq><ACK=ack><CTL=f> with n octets of text on
// the network, recording it in the step.
func (o *sender) send(f spec.Flags, sq, ack, n uint8) {
	h := o.h
	if o.n < maxOut {
		p := &o.out[o.n]
		p.f, p.sq, p.ack, p.n, p.nxt = f, sq, ack, n, h.nxt
	}
	o.n++
	if f.Has(spec.ACK) && ack == h.rcv {
		h.owed, o.sentACK = false, true
	}
	word := mkSeg(o.from, f, sq, ack, n, o.tag)
	st := o.st
	if st.NSent < 2 {
		setSegment(&st.Sent[st.NSent], word, false)
	}
	st.NSent++
	if !o.w.push(word, o.reorder) {
		o.full = true
	}
}

// apply is the second half of a host step: it carries out the actions of
// row in order (RFC 9293 §3.10; see spec.Action for each) on w and moves
// host i to the row's To state, updating ghost state, and records what was
// sent in st. before is host i's context for the event, filled by fillCtx
// before the step. w and st are the caller's; apply leaves the world after
// the step in them and returns to the caller, calling nothing back. It
// reports false when a segment did not fit in the network, in which case
// the transition does not exist.
func (s *System) apply(w *world, i int, row int, e spec.Event, sg uint32, before *spec.Ctx, injected bool, sendN, iss uint8, st *Step) bool {
	h := &w.h[i]
	from, to := h.st, s.to[row]
	do := s.do[row]
	rcvBefore, twBefore, issBefore, unaBefore, sigBefore := h.rcv, h.tw, h.iss, h.una, h.sig
	nxtBefore, passiveBefore := h.nxt, h.passive
	irsBefore, queuedBefore, owedBefore, deliveredBefore := h.irs, h.queued, h.owed, h.delivered
	// What the step sends, for the properties: how many segments, and the
	// first maxOut of them.
	var snd sender
	snd.w, snd.h, snd.st, snd.from, snd.tag, snd.reorder = w, h, st, uint8(i), w.round, s.cfg.Reorder
	if e == spec.Send && (do.Has(spec.QueueText) || do.Has(spec.SendText)) {
		h.queued += sendN
	}
	sentRST := false
	gotFIN := false // the peer's FIN was accepted in this step
	segHasACK := segFlags(sg).Has(spec.ACK)
	for set := uint32(do); set != 0; set &= set - 1 {
		switch a := spec.Action(bits.TrailingZeros32(set)); a {
		case spec.Drop, spec.QueueText, spec.ErrNotExist, spec.ErrExists, spec.ErrClosing:
			// Nothing to do to the TCB: the event is discarded, or the text
			// was queued above, or the call fails and the user moves on.
		case spec.AcceptSYN:
			h.irs = segSeq(sg)
			h.rcv = h.irs + 1
		case spec.ProcessACK:
			if segHasACK && seq(h.una).LessThan(seq(segAck(sg))) && seq(segAck(sg)).LessEq(seq(h.nxt)) {
				h.una = segAck(sg)
				h.retries, h.rto = 0, 0
			}
		case spec.AcceptText:
			start, n := segSeq(sg), segLen(sg)
			end := start + n
			if n > 0 && seq(h.rcv).InRange(seq(start), seq(end)) && end != h.rcv {
				got := end - h.rcv
				h.rcv = end
				h.delivered = min(h.delivered+got, 15)  // saturate: the key keeps 4 bits
				if segInc(sg) != w.round && !injected { // injected and accepted: the attacker's guess landed
					w.flag(violIsolation)
				}
			}
		case spec.AcceptFIN:
			if segFlags(sg).Has(spec.FIN) && segSeq(sg)+segLen(sg) == h.rcv {
				h.rcv++
				h.sawEOF = true
				gotFIN = true
				if segInc(sg) != w.round && !injected { // injected and accepted: the attacker's guess landed
					w.flag(violIsolation)
				}
			}
		case spec.SendSYN:
			h.iss, h.una, h.nxt = iss, iss, iss+1
			snd.send(spec.SYN, h.iss, 0, 0)
		case spec.SendSYNACK:
			if !h.st.HasTCB() {
				h.iss, h.una, h.nxt = iss, iss, iss+1
			}
			snd.send(spec.SYN|spec.ACK, h.iss, h.rcv, 0)
		case spec.SendText:
			if n := h.queued - textSent(h); n > 0 && !h.finSent {
				snd.send(spec.ACK, h.nxt, h.rcv, n)
				h.nxt += n
			}
		case spec.SendFIN:
			n := h.queued - textSent(h)
			snd.send(spec.FIN|spec.ACK, h.nxt, h.rcv, n)
			h.nxt += n + 1
			h.finSent = true
			if !h.sawEOF {
				h.activeCloser = true
			}
		case spec.SendACK, spec.SendChallengeACK:
			snd.send(spec.ACK, h.nxt, h.rcv, 0)
		case spec.DelayACK:
			// spec.TCB's delay ACK, where an octet of the model stands
			// for a full-sized segment: a segment of this step carried
			// the ACK, or nothing new was accepted and nothing is owed; a
			// second segment while one is owed brings two full-sized
			// segments not yet acknowledged and is acknowledged at once;
			// else the ACK is owed.
			switch {
			case snd.sentACK || !h.owed && h.rcv == rcvBefore:
			case h.owed:
				snd.send(spec.ACK, h.nxt, h.rcv, 0)
			default:
				h.owed = true
			}
		case spec.SendKeepAlive:
			// RFC 1122 §4.2.3.6: <SEQ=SND.NXT-1><ACK=RCV.NXT><CTL=ACK>,
			// one more probe the peer has not answered.
			snd.send(spec.ACK, h.nxt-1, h.rcv, 0)
			h.probes = min(h.probes+1, maxKeepAlive)
		case spec.SendRST:
			snd.send(spec.RST, h.nxt, 0, 0)
		case spec.ReplyRST:
			sentRST = true
			// RFC 9293 §3.10.7.1: <SEQ=SEG.ACK><CTL=RST> if the segment had
			// ACK, else <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
			if segHasACK {
				snd.send(spec.RST, segAck(sg), 0, 0)
			} else {
				snd.send(spec.RST|spec.ACK, unseq(0), segSeq(sg)+uint8(segSpaceLen(sg)), 0)
			}
		case spec.Retransmit:
			s.retransmit(h, &snd)
		case spec.StartTimeWait:
			h.tw = s.twTicks + 1
		case spec.SignalConnected:
			h.sig = sigConnected
		case spec.SignalReset:
			h.sig = sigReset
		case spec.SignalRefused:
			h.sig = sigRefused
		case spec.SignalTimeout:
			h.sig = sigTimeout
		case spec.DeleteTCB:
			clearTCB(h)
		}
	}
	nSent := snd.n
	sent1, sent1Seq, sent1Len := snd.out[0].f, snd.out[0].sq, snd.out[0].n // zero when nothing was sent
	// The ghost bookkeeping of a connection's end goes by what happened,
	// not by which actions the row lists: a TCB ends when the host leaves
	// the states that have one, whether or not the row says delete-TCB.
	if from.HasTCB() && !to.HasTCB() {
		if from.Synchronized() {
			switch {
			case e == spec.SegRST && !injected:
				h.endRST = true
			case e == spec.RetriesExhausted || e == spec.UserTimeout || e == spec.KeepAliveExhausted:
				h.endTimeout = true
			}
		}
		// The attacker's exact guess is RCV.NXT, or in SYN-SENT (no
		// RCV.NXT yet) an ACK of the SYN.
		if injected && e == spec.SegRST && ((from == spec.SynSent && segAck(sg) != issBefore+1) || (from != spec.SynSent && segSeq(sg) != rcvBefore)) {
			w.flag(violBlindReset)
		}
	}
	if e.IsSegment() && do.Has(spec.ProcessACK) {
		// An acceptable segment from the peer (the rows that process
		// its ACK): it is alive, and the keepalive count starts again.
		h.probes = 0
	}
	// The Passive guard means "this connection came from LISTEN".
	switch {
	case to == spec.Listen:
		h.passive = true
	case to == spec.Closed, from == spec.Listen && to == spec.SynSent:
		h.passive = false
	}
	if injected && (to != from || sentRST || h.una != unaBefore || h.rcv != rcvBefore) {
		// The attacker's guess was lucky enough to change something.
		w.ghost |= ghostInjectHit
	}
	if !from.Synchronized() && to.Synchronized() {
		// A peer whose TCB the attacker's lucky guess deleted (an exact
		// RST) is the attacker's doing, not the handshake's.
		if !livePeer(h, &w.h[1-i]) && w.ghost&ghostInjectHit == 0 {
			w.flag(violEstablished)
		}
		h.gsync = true
	}
	if e == spec.TimeWaitTimeout && !do.Has(spec.StartTimeWait) {
		h.tw = 0 // the 2MSL timer fired and was not restarted
	}
	if from == spec.TimeWait && to != spec.TimeWait && e != spec.Abort {
		held := 0 // ticks since TIME-WAIT last (re)started its timer
		if twBefore > 0 {
			held = int(s.twTicks) - int(twBefore-1)
		}
		if held < 2*int(s.msl) {
			w.flag(violTimeWait)
		}
	}
	if from == spec.TimeWait && e == spec.SegFIN && !injected && segSeq(sg)+segLen(sg)+1 == rcvBefore &&
		(to != spec.TimeWait || h.tw != s.twTicks+1) {
		w.flag(violTimeWaitRestart) // a retransmission of the peer's FIN must restart 2MSL (RFC 9293 §3.10.7.4)
	}
	if e.IsSegment() && e != spec.SegRST && !sentRST && (from == spec.Closed || (from == spec.Listen && segHasACK)) {
		w.flag(violNoReply) // RFC 9293 §3.10.7.1, §3.10.7.2: no connection, so reset the sender
	}
	if from == spec.SynSent && e == spec.SegRST && to != spec.SynSent && !(segHasACK && segAck(sg) == issBefore+1) {
		w.flag(violSynSentReset) // RFC 9293 §3.10.7.3, RFC 5961 §3.2: the ACK must acknowledge our SYN
	}
	// The checks of the properties that judge one step by what it did.
	// unchanged: the host's state, RCV.NXT, SND.UNA, SND.NXT and its
	// user's signal are as they were.
	unchanged := to == from && h.rcv == rcvBefore && h.una == unaBefore && h.nxt == nxtBefore && h.sig == sigBefore
	bareACK := nSent == 0 || (nSent == 1 && sent1 == spec.ACK && sent1Len == 0)
	onlyRST := nSent == 0 || (nSent == 1 && (sent1 == spec.RST || sent1 == spec.RST|spec.ACK))
	// unacceptable: the segment is dropped, answered by one bare ACK
	// (silent: by nothing).
	unacceptable, silent := false, false
	if e.IsSegment() {
		f := segFlags(sg)
		rst := f.Has(spec.RST)
		seqOK := spec.IsSeqOK(before)
		exact := segSeq(sg) == rcvBefore
		switch {
		case from.Synchronized():
			// RFC 9293 §3.10.7.4: the first check (sequence number; a RST
			// is dropped silently), the second (a RST in the window but not
			// at RCV.NXT: RFC 5961 §3.2, a challenge ACK), the fourth (a
			// SYN: RFC 5961 §4.2, a challenge ACK) and the fifth (an ACK out
			// of range: RFC 5961 §5.2, discard and ACK; no ACK bit: drop).
			switch {
			case !seqOK:
				unacceptable, silent = true, rst
			case rst:
				// RFC 1337 §3: TIME-WAIT ignores every RST (docs/decisions.md).
				unacceptable, silent = !exact, from == spec.TimeWait
			case f.Has(spec.SYN):
				unacceptable = true
			case !f.Has(spec.ACK):
				unacceptable, silent = true, true
			default:
				// TIME-WAIT expects only the peer's FIN, which it
				// acknowledges whatever its ACK, and drops the rest
				// without looking at it.
				unacceptable, silent = !spec.AckInRange.Eval(before), from == spec.TimeWait && !f.Has(spec.FIN)
			}
		case from == spec.SynReceived && !(f.Has(spec.SYN) && segSeq(sg)+1 == rcvBefore):
			// (A SYN at IRS is the peer's half of a simultaneous open.)
			unacceptable, silent = !seqOK, rst && !seqOK
			switch {
			case seqOK && rst && !exact:
				unacceptable = true // RFC 5961 §3.2: a challenge ACK
			case seqOK && f.Has(spec.SYN) && !passiveBefore:
				unacceptable = true // RFC 5961 §4.2: a challenge ACK
			case seqOK && !rst && !f.Has(spec.SYN) && f.Has(spec.ACK) && !spec.AckOK.Eval(before) && (!unchanged || nSent != 1 || !onlyRST):
				// RFC 9293 §3.10.7.4, fifth check: an unacceptable ACK in
				// SYN-RECEIVED draws <SEQ=SEG.ACK><CTL=RST>.
				w.flag(violUnacceptable)
			}
		case from == spec.SynSent && !rst && (!f.Has(spec.SYN) || f.Has(spec.ACK) && segAck(sg) != issBefore+1):
			// RFC 9293 §3.10.7.3: a bad ACK draws a RST (also on a
			// SYN,ACK); neither SYN nor RST with an acceptable ACK, or no
			// ACK, is dropped.
			badACK := f.Has(spec.ACK) && segAck(sg) != issBefore+1
			if badACK && (!unchanged || nSent != 1 || !onlyRST) || !badACK && (!unchanged || nSent > 0) {
				w.flag(violUnacceptable)
			}
		}
		if unacceptable && (!unchanged || (silent && nSent > 0) || (!silent && (nSent != 1 || !bareACK))) {
			w.flag(violUnacceptable)
		}
		noConn := from == spec.Closed || (from == spec.Listen && (rst || f.Has(spec.ACK) || !f.Has(spec.SYN)))
		if noConn && (!unchanged || !onlyRST || (rst && nSent > 0)) {
			// RFC 9293 §3.10.7.1, §3.10.7.2: without a connection a segment
			// is dropped, answered at most by a RST (a RST by nothing).
			w.flag(violNoConnection)
		}
	}
	if e == spec.SegRST && from != spec.Closed && from != spec.Listen {
		// RFC 9293 §3.10.7.3, §3.10.7.4 (second check): an acceptable RST
		// (at RCV.NXT; in SYN-SENT, acknowledging the SYN) deletes the TCB
		// (a passive SYN-RECEIVED goes back to LISTEN) and draws nothing.
		acceptable := segSeq(sg) == rcvBefore
		if from == spec.SynSent {
			acceptable = segFlags(sg).Has(spec.ACK) && segAck(sg) == issBefore+1
		}
		gone := to == spec.Closed || (from == spec.SynReceived && passiveBefore && to == spec.Listen)
		var good bool
		switch {
		case from == spec.TimeWait:
			// RFC 1337 §3: TIME-WAIT ignores RSTs (docs/decisions.md).
			good = unchanged && nSent == 0
		case acceptable:
			// The user is told refused in SYN-SENT and an active
			// SYN-RECEIVED (docs/decisions.md), reset in ESTABLISHED,
			// FIN-WAIT-1, FIN-WAIT-2 and CLOSE-WAIT, and nothing in a
			// passive SYN-RECEIVED ("the user need not be informed"),
			// CLOSING and LAST-ACK.
			want := sigBefore
			switch {
			case from == spec.SynSent, from == spec.SynReceived && !passiveBefore:
				want = sigRefused
			case from == spec.Established, from == spec.FinWait1, from == spec.FinWait2, from == spec.CloseWait:
				want = sigReset
			}
			good = gone && nSent == 0 && h.sig == want
		case from == spec.SynSent:
			good = unchanged && nSent == 0
		default:
			good = true // UnacceptableSegmentIgnored's business
		}
		if !good {
			w.flag(violReset)
		}
	}
	if h.sig != sigBefore {
		// What a user is told has a cause: reset a RST or its own ABORT,
		// refused a RST before the connection was synchronized (RFC 9293
		// §3.10.7.3, §3.10.7.4), timeout R2 or the user timeout (§3.10.8)
		// or keepalive giving up on a silent peer (RFC 1122 §4.2.3.6).
		var caused bool
		switch h.sig {
		case sigReset:
			caused = e == spec.SegRST || e == spec.Abort
		case sigRefused:
			caused = e == spec.SegRST && (from == spec.SynSent || from == spec.SynReceived)
		case sigTimeout:
			caused = e == spec.RetriesExhausted || e == spec.UserTimeout || e == spec.KeepAliveExhausted
		case sigConnected:
			caused = e.IsSegment() && !from.Synchronized() && to.Synchronized()
		default:
			caused = true
		}
		if h.sig != sigConnected && !from.HasTCB() {
			caused = false // a failure is told of a connection the host had
		}
		if !caused {
			w.flag(violSignalCause)
		}
	}
	if !e.IsSegment() {
		timerCallChecks(w, h, e, from, to, unchanged, nSent, sent1, sent1Seq, unaBefore, nxtBefore, sigBefore, passiveBefore)
	}
	if from == spec.TimeWait && to == spec.TimeWait && e != spec.SegFIN && h.tw != twBefore {
		w.flag(violTimeWaitRestart) // only the peer's FIN restarts 2MSL (RFC 9293 §3.10.7.4, eighth check)
	}
	refused := do.Has(spec.ErrNotExist) || do.Has(spec.ErrExists) || do.Has(spec.ErrClosing)
	if e.IsUser() && refused && (!unchanged || nSent > 0) {
		// RFC 9293 §3.10.1-§3.10.5: a call answered with an error is not
		// serviced.
		w.flag(violRefused)
	}
	if (do.Has(spec.SignalReset) || do.Has(spec.SignalRefused) || do.Has(spec.SignalTimeout)) && to.HasTCB() {
		w.flag(violSignal) // told the connection failed, but it goes on
	}
	if do.Has(spec.SignalConnected) && !to.Synchronized() && to != spec.Closed {
		w.flag(violSignal) // told connected before the handshake is done
	}
	if e.IsUser() && from != spec.Closed && to == spec.Closed {
		// A call that deletes the TCB (ABORT, or CLOSE before the
		// connection is synchronized) ends the user's program.
		h.pc = uint8(len(s.scen[w.scen].prog[i]))
		h.aborted = true
	}
	sent := snd.out[:min(nSent, maxOut)]
	// (A step that sends nothing has nothing to justify, and only the
	// delayed-ACK and keepalive timers have a duty: the calls are skipped
	// where the checks hold trivially.)
	if nSent > maxOut || nSent > 0 && !sendsHaveCause(h, e, sg, from, to, sent, &stepFacts{
		owedBefore: owedBefore, unacceptable: unacceptable, silent: silent, rcvBefore: rcvBefore,
		unaBefore: unaBefore, nxtBefore: nxtBefore, issBefore: issBefore,
	}) {
		w.flag(violCause)
	}
	if !stateMatches(h, e, sg, from, to, gotFIN, unaBefore, nxtBefore, passiveBefore) {
		w.flag(violStateMeaning)
	}
	if !segmentProcessed(h, e, sg, from, to, before, unacceptable, rcvBefore, irsBefore, unaBefore, nxtBefore, owedBefore, sent) ||
		e == spec.Send && !refused && sendN > 0 && h.queued == queuedBefore || // RFC 9293 §3.10.2: a SEND not refused takes the text
		h.delivered != deliveredBefore && !receives(from) { // §3.10.7.4, seventh check: no text after the peer's FIN
		w.flag(violProcessed)
	}
	if (e == spec.DelayedAckTimeout || e == spec.KeepAliveTimeout) && !timerDuty(h, e, from, unchanged, owedBefore, sent, nSent) {
		w.flag(violTimerDuty)
	}
	if from != spec.TimeWait && to == spec.TimeWait && !h.activeCloser {
		w.flag(violTimeWait)
	}
	h.st = to
	if !to.HasTCB() {
		clearTCB(h)
	}
	return !snd.full
}

// timerCallChecks are apply's checks of the steps of a host's timers and
// its user's ABORT (no segment arrives): host h went from state from to
// state to, sending nSent segments, the first with flags sent1 and
// sequence number sent1Seq; unchanged says whether its state, RCV.NXT,
// SND.UNA, SND.NXT and signal are as they were. (Apart from apply, whose
// segment steps are the hot path.)
func timerCallChecks(w *world, h *host, e spec.Event, from, to spec.State, unchanged bool, nSent int, sent1 spec.Flags, sent1Seq,
	unaBefore, nxtBefore, sigBefore uint8, passiveBefore bool) {
	if e == spec.RetransmitTimeout && from.HasTCB() && unaBefore != nxtBefore &&
		(to != from || h.sig != sigBefore || nSent != 1 || sent1Seq != unaBefore || sent1.Has(spec.RST)) {
		// RFC 6298 §5.4: retransmit the earliest unacknowledged segment.
		w.flag(violRetransmit)
	}
	if e == spec.KeepAliveExhausted {
		// RFC 1122 §4.2.3.6: keepalive gives the peer up for dead: the
		// connection is closed, the user told timeout, at most a RST
		// <SEQ=SND.NXT> sent; where no keepalive timer runs, nothing.
		good := unchanged && nSent == 0
		if from.Runs(spec.TimerKeepAlive) {
			good = to == spec.Closed && h.sig == sigTimeout && (nSent == 0 || nSent == 1 && sent1 == spec.RST && sent1Seq == nxtBefore)
		}
		if !good {
			w.flag(violTimeout)
		}
	}
	if e == spec.RetriesExhausted || e == spec.UserTimeout {
		// RFC 9293 §3.10.8, RFC 1122 §4.2.3.5: the connection is closed and
		// the user told; a passive SYN-RECEIVED goes back to LISTEN, and
		// TIME-WAIT waits for its 2MSL timer.
		var good bool
		switch {
		case from == spec.TimeWait:
			good = unchanged
		case from == spec.SynReceived && passiveBefore && to == spec.Listen:
			good = h.sig == sigBefore
		default:
			good = to == spec.Closed && h.sig == sigTimeout
		}
		if !good || nSent > 0 {
			w.flag(violTimeout)
		}
	}
	if e == spec.Abort && from != spec.Closed {
		// RFC 9293 §3.10.5: ABORT deletes the TCB; it sends <SEQ=SND.NXT>
		// <CTL=RST> from SYN-RECEIVED, ESTABLISHED, FIN-WAIT-1, FIN-WAIT-2
		// and CLOSE-WAIT, nothing from the other states; the user may be
		// told "connection reset".
		var wantRST bool
		switch from {
		case spec.SynReceived, spec.Established, spec.FinWait1, spec.FinWait2, spec.CloseWait:
			wantRST = true
		}
		sentOK := nSent == 0
		if wantRST {
			sentOK = nSent == 1 && sent1 == spec.RST && sent1Seq == nxtBefore
		}
		// In CLOSING, LAST-ACK and TIME-WAIT no call can be pending: "respond
		// with ok", and the user is told nothing.
		told := h.sig == sigBefore || h.sig == sigReset && from != spec.Closing && from != spec.LastAck && from != spec.TimeWait
		if to != spec.Closed || !sentOK || !told {
			w.flag(violAbort)
		}
	}
}

// retransmit resends the earliest unacknowledged segment: the SYN (or
// SYN,ACK once the peer's SYN is in), else the unacknowledged text with the
// FIN when it was sent.
func (s *System) retransmit(h *host, snd *sender) {
	switch {
	case h.una == h.nxt:
	case h.una == h.iss && h.st == spec.SynSent:
		snd.send(spec.SYN, h.iss, 0, 0)
	case h.una == h.iss:
		snd.send(spec.SYN|spec.ACK, h.iss, h.rcv, 0)
	default:
		end := h.iss + 1 + textSent(h)
		var n uint8
		if seq(h.una).LessThan(seq(end)) {
			n = end - h.una
		}
		f := spec.ACK
		if h.finSent {
			f |= spec.FIN
		}
		snd.send(f, h.una, h.rcv, n)
	}
}

func clearTCB(h *host) {
	h.finSent, h.owed = false, false
	h.iss, h.irs, h.una, h.nxt, h.rcv = 0, 0, 0, 0, 0
	h.retries, h.rto, h.tw, h.queued, h.probes = 0, 0, 0, 0, 0
	h.rcvClosed = false // a new connection's receive buffer is empty
}

// livePeer is the check of EstablishedOnlyWithLivePeer at the moment host h
// becomes synchronized: the peer p opened this incarnation with the ISS h
// took as IRS (and, once it has the IRS, with IRS = h's ISS) and still holds
// that TCB; or it no longer has a TCB but was synchronized in this
// incarnation or its user aborted it. A user may abort at any moment, also
// while the segment that synchronizes h is in flight, and no handshake can
// prevent that; what a handshake must prevent is trusting a SYN whose
// sender never reached a synchronized state and gave up for another reason
// (refused, timed out) or is in another incarnation.
func livePeer(h, p *host) bool {
	if !p.st.HasTCB() {
		return p.gsync || p.aborted
	}
	if p.iss != h.irs {
		return false
	}
	return p.st == spec.SynSent || p.irs == h.iss
}
