package model

import "github.com/tcpcheck/tcpcheck/spec"

// The step properties of this file judge a host's step by what RFC 9293
// says the step's event causes, independently of the table's rows: what
// may be sent (SegmentsHaveCause), which states the host may be in
// afterwards (StateMatchesSequence), what an acceptable segment does to
// SND.UNA and RCV.NXT (AcceptableSegmentProcessed), and what the delayed
// ACK and keepalive timers send (DelayedAckAndProbeSent).

// maxOut is how many of a step's segments the step properties look at; a
// step that sends more is a violation of SegmentsHaveCause (no event of
// RFC 9293 sends more than a text segment, a FIN and an ACK).
const maxOut = 4

// outSeg is a segment a host sent in a step, and SND.NXT when it did.
type outSeg struct {
	f          spec.Flags
	sq, ack, n uint8
	nxt        uint8
}

// stepFacts is what the step properties need of the host before the step.
type stepFacts struct {
	owedBefore, unacceptable, silent           bool
	rcvBefore, unaBefore, nxtBefore, issBefore uint8
}

// finReceived reports whether s is a state a host enters only once it has
// accepted the peer's FIN (RFC 9293 §3.3.2: CLOSE-WAIT, LAST-ACK, CLOSING,
// TIME-WAIT).
func finReceived(s spec.State) bool {
	return s == spec.CloseWait || s == spec.LastAck || s == spec.Closing || s == spec.TimeWait
}

// finSentState reports whether s is a state a host enters only once it has
// sent its FIN (FIN-WAIT-1, FIN-WAIT-2, CLOSING, LAST-ACK, TIME-WAIT).
func finSentState(s spec.State) bool {
	return s == spec.FinWait1 || s == spec.FinWait2 || s == spec.Closing || s == spec.LastAck || s == spec.TimeWait
}

// receives reports whether s accepts the peer's text and FIN (RFC 9293
// §3.10.7.4, seventh and eighth checks: the states before the peer's FIN).
func receives(s spec.State) bool {
	return s == spec.SynReceived || s == spec.Established || s == spec.FinWait1 || s == spec.FinWait2
}

// sendsHaveCause is the check of SegmentsHaveCause for one step of host h
// on event e (segment sg) from state from to state to, which sent out.
func sendsHaveCause(h *host, e spec.Event, sg uint32, from, to spec.State, out []outSeg, fx *stepFacts) bool {
	bare, syns, rsts := 0, 0, 0
	for k := range out {
		o := &out[k]
		if !to.HasTCB() && !o.f.Has(spec.RST) {
			return false // only RSTs come from a host without a connection (RFC 9293 §3.10.7.1, §3.10.7.2)
		}
		var ok bool
		switch {
		case o.f.Has(spec.RST):
			rsts++
			ok = rsts == 1 && rstCaused(e, sg, from, o, fx)
		case o.f == spec.SYN:
			// RFC 9293 §3.10.1, §3.10.2: OPEN, or SEND in LISTEN; RFC 6298
			// §5.4: its retransmission.
			syns++
			ok = syns == 1 && to == spec.SynSent &&
				(e == spec.ActiveOpen && (from == spec.Closed || from == spec.Listen) || e == spec.Send && from == spec.Listen ||
					e == spec.RetransmitTimeout && from == spec.SynSent && o.sq == fx.issBefore)
		case o.f == spec.SYN|spec.ACK:
			// RFC 9293 §3.10.7.2, §3.10.7.3: a SYN received; its
			// retransmission while it is unacknowledged (in SYN-RECEIVED,
			// or in FIN-WAIT-1 after a CLOSE there).
			syns++
			ok = syns == 1 && (e == spec.SegSYN && (from == spec.Listen || from == spec.SynSent) && to == spec.SynReceived ||
				e == spec.RetransmitTimeout && to == from && fx.unaBefore == fx.issBefore && o.sq == fx.issBefore)
		case o.f == spec.ACK && o.n == 0 && o.sq+1 == o.nxt && e == spec.KeepAliveTimeout:
			// RFC 1122 §4.2.3.6: the probe <SEQ=SND.NXT-1>, only from an
			// idle connection where the keepalive timer runs.
			ok = from.Runs(spec.TimerKeepAlive) && fx.unaBefore == fx.nxtBefore && to == from
		case o.f == spec.ACK && o.n == 0:
			// RFC 9293 §3.10.7.4: an acknowledgment answers a segment whose
			// SYN, text or FIN RCV.NXT passed over, a segment that fails
			// the acceptability checks (not a silent one; a duplicate of
			// the peer's SYN is one), the peer's FIN in TIME-WAIT, or pays
			// an owed delayed ACK (RFC 1122 §4.2.3.2). A segment that
			// brings nothing new is not acknowledged, one step sends one
			// ACK (a second identical one is a duplicate ACK to the peer,
			// RFC 5681 §2), and none beside a SYN,ACK, which carries it.
			bare++
			f := segFlags(sg)
			dupSYN := from == spec.SynReceived && f.Has(spec.SYN) && segSeq(sg)+1 == fx.rcvBefore
			ok = bare == 1 && o.sq == o.nxt && o.ack == h.rcv && !sentSYNACK(out) &&
				(e.IsSegment() && (h.rcv != fx.rcvBefore || fx.unacceptable && !fx.silent || fx.owedBefore || dupSYN ||
					from == spec.TimeWait && f.Has(spec.FIN)) ||
					e == spec.DelayedAckTimeout && fx.owedBefore)
		case o.sq != o.nxt:
			// RFC 6298 §5.4: a retransmission (from below SND.NXT) only on
			// the retransmission timer.
			ok = e == spec.RetransmitTimeout && o.f.Has(spec.ACK) && !o.f.Has(spec.SYN)
		case o.f.Has(spec.FIN):
			// RFC 9293 §3.10.4: our FIN follows the user's CLOSE.
			ok = e == spec.Close && !o.f.Has(spec.SYN) && to.Synchronized()
		default:
			// New text (RFC 9293 §3.10.2, §3.10.7.4): a SEND or CLOSE, or an
			// acceptable segment (an ACK opens the window, the handshake
			// completes), once synchronized.
			ok = o.f == spec.ACK && to.Synchronized() &&
				(e == spec.Send || e == spec.Close || e.IsSegment() && !fx.unacceptable && from.HasTCB())
		}
		if !ok {
			return false
		}
	}
	return true
}

// sentSYNACK reports whether out holds a SYN,ACK.
func sentSYNACK(out []outSeg) bool {
	for _, o := range out {
		if o.f == spec.SYN|spec.ACK {
			return true
		}
	}
	return false
}

// rstCaused reports whether the RST o has a cause (RFC 9293 §3.10.5,
// §3.10.7): ABORT of a synchronized connection or SYN-RECEIVED, keepalive
// giving up, or a segment (not itself a RST) that has no connection, or
// that carries an unacceptable ACK before the connection is synchronized,
// answered in the form §3.10.7.1 gives.
func rstCaused(e spec.Event, sg uint32, from spec.State, o *outSeg, fx *stepFacts) bool {
	switch {
	case e == spec.Abort:
		return (from == spec.SynReceived || from == spec.Established || from == spec.FinWait1 || from == spec.FinWait2 || from == spec.CloseWait) &&
			o.sq == fx.nxtBefore
	case e == spec.KeepAliveExhausted:
		return from.Runs(spec.TimerKeepAlive) && o.sq == fx.nxtBefore
	case !e.IsSegment() || e == spec.SegRST:
		return false
	}
	hasACK := segFlags(sg).Has(spec.ACK)
	ack := seq(segAck(sg))
	var bad bool
	switch from {
	case spec.Closed:
		bad = true
	case spec.Listen:
		bad = hasACK
	case spec.SynSent:
		bad = hasACK && ack != seq(fx.issBefore+1)
	case spec.SynReceived:
		bad = hasACK && !segFlags(sg).Has(spec.SYN) && !(seq(fx.unaBefore).LessThan(ack) && ack.LessEq(seq(fx.nxtBefore)))
	}
	if !bad {
		return false
	}
	if hasACK {
		return o.f == spec.RST && o.sq == segAck(sg)
	}
	return o.f == spec.RST|spec.ACK && o.ack == segSeq(sg)+uint8(segSpaceLen(sg))
}

// stateMatches is the check of StateMatchesSequence for one step of host
// h: RFC 9293 §3.3.2 defines each state by what the host has sent,
// received and had acknowledged, so the state after a step must agree
// with SND.UNA, SND.NXT, the FIN it sent and the peer's FIN it accepted;
// a synchronized connection stays synchronized until its TCB is deleted,
// and a TCB is deleted only for a cause.
func stateMatches(h *host, e spec.Event, sg uint32, from, to spec.State, gotFIN bool, unaBefore, nxtBefore uint8, passiveBefore bool) bool {
	if !to.HasTCB() {
		if !from.HasTCB() {
			return true
		}
		if to == spec.Listen {
			// Only a passive SYN-RECEIVED goes back to LISTEN (§3.10.7.4).
			return from == spec.SynReceived && passiveBefore
		}
		// §3.10.4, §3.10.5, §3.10.7, §3.10.8: ABORT, CLOSE before the
		// SYN is answered, a RST, a timeout, 2MSL, the ACK of our FIN in
		// LAST-ACK, a SYN in the window of a passive SYN-RECEIVED.
		switch {
		case e == spec.Abort, e == spec.SegRST, e == spec.RetriesExhausted, e == spec.UserTimeout, e == spec.KeepAliveExhausted:
			return true
		case e == spec.Close:
			return from == spec.SynSent
		case e == spec.TimeWaitTimeout:
			return from == spec.TimeWait
		case from == spec.LastAck:
			return e.IsSegment() && segFlags(sg).Has(spec.ACK) && segAck(sg) == nxtBefore
		}
		return false
	}
	if from.Synchronized() && !to.Synchronized() {
		return false
	}
	if to != from {
		switch to {
		case spec.SynSent:
			if !(e == spec.ActiveOpen || e == spec.Send) || !(from == spec.Closed || from == spec.Listen) {
				return false
			}
		case spec.SynReceived:
			if e != spec.SegSYN {
				return false
			}
		}
	}
	// SYN-SENT and SYN-RECEIVED wait for the ACK of our SYN; ESTABLISHED,
	// CLOSE-WAIT, FIN-WAIT-2, LAST-ACK and TIME-WAIT have it. (CLOSE in
	// SYN-RECEIVED enters FIN-WAIT-1 before it, §3.10.4, and CLOSING
	// follows FIN-WAIT-1.)
	synAcked := h.una != h.iss
	switch to {
	case spec.SynSent, spec.SynReceived:
		if synAcked {
			return false
		}
	case spec.Established, spec.CloseWait, spec.FinWait2, spec.LastAck, spec.TimeWait:
		if !synAcked {
			return false
		}
	}
	if h.finSent != finSentState(to) {
		return false
	}
	if finSentState(to) && (h.una == h.nxt) != (to == spec.FinWait2 || to == spec.TimeWait) {
		return false // FIN-WAIT-2 and TIME-WAIT have our FIN acknowledged, the others wait for it
	}
	if finSentState(to) && h.activeCloser != (to != spec.LastAck) {
		return false // LAST-ACK is the passive closer's; the others the active closer's
	}
	if gotFIN && !finReceived(to) || finReceived(from) && !finReceived(to) || finReceived(to) && !finReceived(from) && !gotFIN {
		return false
	}
	return true
}

// segmentProcessed is the check of AcceptableSegmentProcessed for one step
// of host h (RFC 9293 §3.10.7.4, fifth to eighth checks; §3.10.7.2 and
// §3.10.7.3 for the SYN; RFC 1122 §4.2.3.2 for the delayed ACK).
func segmentProcessed(h *host, e spec.Event, sg uint32, from, to spec.State, before *spec.Ctx, unacceptable bool,
	rcvBefore, irsBefore, unaBefore, nxtBefore uint8, owedBefore bool, out []outSeg) bool {
	if !to.HasTCB() {
		return true
	}
	f := segFlags(sg)
	isSYN := e.IsSegment() && f.Has(spec.SYN)
	// IRS is the sequence number of the peer's SYN, recorded in LISTEN or
	// SYN-SENT.
	if h.irs != irsBefore && !(isSYN && (from == spec.Listen || from == spec.SynSent)) {
		return false
	}
	// RCV.NXT moves only over the peer's SYN, or its text and FIN in the
	// states that receive them, and never past the segment.
	if h.rcv != rcvBefore {
		switch {
		case isSYN && (from == spec.Listen || from == spec.SynSent):
			if h.rcv != segSeq(sg)+1 {
				return false
			}
		case e.IsSegment() && !unacceptable && receives(from) && !f.Has(spec.RST):
			end := seq(segSeq(sg)).Add(segSpaceLen(sg))
			if !seq(rcvBefore).LessThan(seq(h.rcv)) || !seq(h.rcv).LessEq(end) {
				return false
			}
		default:
			return false
		}
	}
	// SND.UNA moves only on an ACK of something sent, to SEG.ACK.
	ack := seq(segAck(sg))
	newAck := e.IsSegment() && f.Has(spec.ACK) && seq(unaBefore).LessThan(ack) && ack.LessEq(seq(nxtBefore))
	if from.HasTCB() && h.una != unaBefore && !(newAck && h.una == segAck(sg)) {
		return false
	}
	// An acceptable segment: its new ACK advances SND.UNA, its text and
	// FIN at RCV.NXT advance RCV.NXT in the states that receive.
	acceptable := e.IsSegment() && !unacceptable && f.Has(spec.ACK) && !f.Has(spec.RST) && !f.Has(spec.SYN) &&
		from.HasTCB() && from != spec.SynSent && from != spec.TimeWait && (from != spec.SynReceived || spec.AckOK.Eval(before))
	if acceptable && newAck && h.una != segAck(sg) {
		return false
	}
	if acceptable && receives(from) {
		want := rcvBefore
		start, n := seq(segSeq(sg)), uint32(segLen(sg))
		if n > 0 && seq(rcvBefore).InRange(start, start.Add(n)) && start.Add(n) != seq(rcvBefore) {
			want = unseq(start.Add(n))
		}
		if f.Has(spec.FIN) && seq(want) == start.Add(n) {
			want++
		}
		if h.rcv != want {
			return false
		}
	}
	// What RCV.NXT passed over is acknowledged: a SYN at once, text at
	// once or by the delayed ACK, and so a FIN that leaves the host in a
	// state whose delayed-ACK timer runs (ESTABLISHED to CLOSE-WAIT), any
	// other FIN at once; at once when an ACK was owed already (at least
	// every second full-sized segment: the model's octet stands for one).
	// A duplicate of the peer's
	// SYN in SYN-RECEIVED (SEQ = IRS) is acknowledged too (§3.10.7.4,
	// first check), also when it completes a simultaneous open.
	acked := false
	for _, o := range out {
		acked = acked || o.f.Has(spec.ACK) && o.ack == h.rcv
	}
	if h.rcv != rcvBefore {
		delayed := !isSYN && (!f.Has(spec.FIN) || from.Runs(spec.TimerDelayedAck)) && h.owed && !owedBefore && to.Runs(spec.TimerDelayedAck)
		if !acked && !delayed {
			return false
		}
	}
	if from == spec.SynReceived && isSYN && segSeq(sg)+1 == rcvBefore && !acked {
		return false
	}
	// Text queued before the connection was synchronized goes out when
	// it is (RFC 9293 §3.10.2: "queue the data for transmission after
	// entering ESTABLISHED state"; §3.10.7.3).
	if !from.Synchronized() && to.Synchronized() && !h.finSent && textSent(h) != h.queued {
		return false
	}
	// An acceptable segment from the peer shows it is alive: the
	// keepalive count starts again (RFC 1122 §4.2.3.6).
	if acceptable && h.probes != 0 {
		return false
	}
	return true
}

// timerDuty is the check of DelayedAckAndProbeSent: the delayed-ACK timer
// sends the owed ACK and the keepalive timer one probe, and neither
// changes the connection (RFC 1122 §4.2.3.2, §4.2.3.6).
func timerDuty(h *host, e spec.Event, from spec.State, unchanged, owedBefore bool, out []outSeg, nSent int) bool {
	switch {
	case e == spec.DelayedAckTimeout && owedBefore:
		return unchanged && nSent == 1 && out[0].f == spec.ACK && out[0].n == 0 && out[0].sq == h.nxt && out[0].ack == h.rcv && !h.owed
	case e == spec.KeepAliveTimeout && from.Runs(spec.TimerKeepAlive):
		return unchanged && nSent == 1 && out[0].f == spec.ACK && out[0].n == 0 && out[0].sq+1 == h.nxt && out[0].ack == h.rcv
	}
	return true
}
