package capture

import (
	"fmt"

	"github.com/tcpcheck/tcpcheck/spec"
)

// Named deviations: behaviours of real stacks that the table does not
// have, which are reported as such and not as failures (unless --strict).
const (
	DevDelayedACK = "delayed-ack" // RFC 1122 §4.2.3.2
	// DevACKNotCaptured is DevDelayedACK in a capture that may have
	// dropped packets (Options.CaptureDropped): the ACK may have been
	// sent at once and missed by the capture.
	DevACKNotCaptured = "ack-not-captured"
	DevRSTACK         = "abort-rst-carries-ack" // docs/linux.md
	// DevKeepaliveRSTACK is DevRSTACK for the RST that ends a connection
	// whose keepalive probes went unanswered (docs/linux.md).
	DevKeepaliveRSTACK = "keepalive-rst-carries-ack"
	// DevLateACK is an ACK later than RFC 1122 §4.2.3.2 allows (a MUST):
	// the segments are table behaviour, their timing is not. It is
	// always listed, with the frames and the delay, and the summary
	// counts its connections.
	DevLateACK = "delayed-ack-late"
	// DevReorderedBefore is not the host's: text captured before the text
	// ahead of it, which the capture shows later (or never), or a segment
	// captured after segments its host sent later.
	DevReorderedBefore = "reordered-before-capture"
	// DevTimeWaitShort is a TIME-WAIT that ended sooner than 2*MSL
	// (Options.MinTimeWait) after its 2MSL timer started, which RFC 1122
	// §4.2.2.13 forbids (a MUST); like DevLateACK it is a violation the
	// table's rows cannot see, because the table has no clock.
	DevTimeWaitShort = "time-wait-short"
	// DevWindowShrink is a receiver that moved the right edge of its
	// window to the left and dropped text it had offered room for, which
	// RFC 9293 §3.8.6 says it SHOULD NOT do.
	DevWindowShrink = "window-shrink"
	// DevMissedByCapture is not the host's: it received text, an ACK or
	// the SYN,ACK of its peer's that the capture had not shown, which the
	// capture point's model leaves out (a host receives only captured
	// segments).
	DevMissedByCapture = "missed-by-capture"
	// DevRSTKillsTimeWait is a host that left TIME-WAIT on a RST at
	// RCV.NXT, as RFC 9293 §3.10.7.4 says, where the table keeps
	// TIME-WAIT (RFC 1337); docs/linux.md registers it for Linux.
	DevRSTKillsTimeWait = "rst-kills-time-wait"
	// DevKeepaliveGarbage is a keepalive probe that carries one garbage
	// octet, which RFC 1122 §4.2.3.6 allows (a MAY) and the table's
	// KEEPALIVE rows do not send.
	DevKeepaliveGarbage = "keepalive-garbage-octet"
	// DevResetNotCaptured is a host that opened anew on the 4-tuple while
	// the capture shows it still had the connection: it lost the TCB
	// without a RST the capture shows.
	DevResetNotCaptured = "reset-not-captured"
)

// deviationRFC says where each named deviation is described.
var deviationRFC = map[string]string{
	DevDelayedACK: "RFC 1122 §4.2.3.2, a SHOULD: an ACK the table sends at once (for a second full-sized segment, an out-of-order or unacceptable one) sent later, or folded into a later segment",
	DevACKNotCaptured: "RFC 1122 §4.2.3.2, or the capture point: an ACK the table sends at once is not in a capture that may have dropped packets " +
		"(--capture-dropped): the host sent it later or folded it into a later segment (delayed-ack), or the capture missed it",
	DevRSTACK:          "docs/linux.md: the reset of ABORT carries an ACK",
	DevKeepaliveRSTACK: "docs/linux.md: the reset of a connection whose keepalive probes went unanswered (RFC 1122 §4.2.3.6) carries an ACK",
	DevKeepaliveGarbage: "RFC 1122 §4.2.3.6, a MAY: a keepalive probe carrying one garbage octet (the last octet sent, again), " +
		"where the table's probe carries none (Windows sends such probes)",
	DevLateACK: "RFC 1122 §4.2.3.2, a MUST: an ACK of accepted text later than 0.5 s, plus the round trip the capture's handshake shows " +
		"(the capture point may be at the sender of the text)",
	DevTimeWaitShort: "RFC 1122 §4.2.2.13, a MUST, and RFC 9293 §3.10.8: a host left TIME-WAIT before 2*MSL had passed " +
		"(Linux: when tcp_max_tw_buckets is reached; FreeBSD: nolocaltimewait on loopback)",
	DevWindowShrink: "RFC 9293 §3.8.6, a SHOULD NOT: a receiver moved the right edge of its window to the left and dropped text it had offered room for " +
		"(Linux: when its receive buffer is lowered or memory runs short)",
	DevResetNotCaptured: "RFC 9293 §3.5.1: a host sent a SYN while it had the connection: it lost its TCB without a RST in the capture " +
		"(it crashed and restarted, leaving a half-open connection, or its RST was lost before the capture point)",
	DevRSTKillsTimeWait: "docs/linux.md: a RST at RCV.NXT ended TIME-WAIT, as RFC 9293 §3.10.7.4 says, where the table ignores it (RFC 1337; Linux: tcp_rfc1337=0, the default)",
	DevMissedByCapture: "the capture point: a host received text, an ACK or the SYN,ACK of its peer's that the capture had not shown (tcpdump's \"packets dropped by kernel\"), " +
		"or that reached it before the capture point saw it, outside the checker's model of the capture point (docs/capture.md)",
	DevReorderedBefore: "the capture point: text captured ahead of text sent before it, or a segment captured after segments sent later " +
		"(its ACK older than theirs), reordered (or dropped) between the host and the capture point, outside the checker's model of the capture point (docs/capture.md)",
}

// maxCands bounds the candidate shadow states kept per host.
const maxCands = 4

// outcome says whether an attempt explains a sent segment (on success the
// shadow it was given holds the state after the segment).
type outcome struct {
	dev string // a named deviation the explanation needs, "" for none
	why string // for a failed attempt: why it does not explain the segment
	// gap is the text the explanation takes the host to have sent before
	// the segment though the capture has not shown it: octets gapN from
	// gapFrom (0: none), and then its FIN when gapFIN.
	gapFrom spec.Seq
	gapN    uint32
	gapFIN  bool
}

// matchOut reports whether the segment s a host sent is the segment o the
// table sends: the same control bits (PSH, URG, ECE and CWR aside), SEQ,
// ACK when the ACK bit is set, and length. A reset is compared by SEQ and
// RST alone; dev names the deviation when it carries an ACK the table's
// does not.
func matchOut(s, o *spec.Segment) (ok bool, dev string) {
	const ignore = spec.PSH | spec.URG | spec.ECE | spec.CWR
	if s.Flags.Has(spec.RST) || o.Flags.Has(spec.RST) {
		if !s.Flags.Has(spec.RST) || !o.Flags.Has(spec.RST) {
			return false, ""
		}
		if o.Flags.Has(spec.ACK) {
			return s.Flags.Has(spec.ACK) && s.Ack == o.Ack && (s.Seq == o.Seq || !s.Flags.Has(spec.ACK)), ""
		}
		if s.Seq != o.Seq {
			return false, ""
		}
		if s.Flags.Has(spec.ACK) {
			return true, DevRSTACK
		}
		return true, ""
	}
	if s.Flags&^ignore != o.Flags&^ignore || s.Seq != o.Seq || s.Len != o.Len {
		return false, ""
	}
	if s.Flags.Has(spec.ACK) && s.Ack != o.Ack {
		return false, ""
	}
	return true, ""
}

// isPureACK reports whether o is an acknowledgment and nothing else.
func isPureACK(o *spec.Segment) bool {
	return o.Flags&^(spec.PSH|spec.URG|spec.ECE|spec.CWR) == spec.ACK && o.Len == 0
}

// emit says whether sh, after deliveries that made the table send outs,
// explains the host sending s: as one of outs (those before it must be
// acknowledgments it delayed), or as what a user call or a timer makes it
// send next. The first from of outs are known to be acknowledgments that
// are not s (conn.search scans each only once). On success sh holds the
// state after s; on failure sh is spoilt (its callers give it a copy).
func emit(sh *shadow, outs []spec.Segment, from int, r *rec, info *hostInfo) outcome {
	s := &r.seg
	info.hasAlt = false // set by spontaneous when its explanation has two states
	for j := from; j < len(outs); j++ {
		ok, dev := matchOut(s, &outs[j])
		if !ok {
			continue
		}
		if d, ok := missed(outs[from:j]); ok {
			if d != "" || from > 0 {
				dev = DevDelayedACK
			}
			return outcome{dev: dev}
		}
	}
	dev, ok := missed(outs[from:])
	if !ok {
		if info.quiet {
			return quietMiss // no formatting while searching
		}
		return info.fail("the deliveries made it send %s, which is not in the capture", segString(firstNotACK(outs)))
	}
	if from > 0 {
		dev = DevDelayedACK
	}
	o := spontaneous(sh, r, info)
	if o.why == "" && o.dev == "" {
		o.dev = dev
	}
	if o.why == "" && s.Flags.Has(spec.ACK) && !s.Flags.Has(spec.RST) {
		sh.tcb.AckSent(s.Ack) // the ACK rides on every segment (RFC 9293 §3.8.6.3)
	}
	return o
}

// missed checks the segments the table sent that the host did not: only
// acknowledgments may be left out (sent later, or folded into another
// segment: delayed ACK).
func missed(outs []spec.Segment) (dev string, ok bool) {
	for i := range outs {
		if !isPureACK(&outs[i]) {
			return "", false
		}
		dev = DevDelayedACK
	}
	return dev, true
}

func firstNotACK(outs []spec.Segment) *spec.Segment {
	for i := range outs {
		if !isPureACK(&outs[i]) {
			return &outs[i]
		}
	}
	return &outs[0]
}

// spontaneous explains s as sent on a user call (OPEN, SEND, CLOSE,
// ABORT), a timer (retransmission) or the redelivery of a copy of a
// segment the host has already had, from the state in sh.
func spontaneous(sh *shadow, r *rec, info *hostInfo) outcome {
	s, old := &r.seg, r.old
	t := &sh.tcb
	st := t.State()
	p := info.params()
	p.ISS = s.Seq
	eff := &info.eff // scratch: its Out slice is reused
	try := func(e spec.Event, p spec.Params) outcome {
		c := *sh
		eff.Reset()
		if c.step(e, nil, p, eff) < 0 {
			return info.fail("%s: no row in %s", e, st)
		}
		for i := range eff.Out {
			if ok, dev := matchOut(s, &eff.Out[i]); ok {
				*sh = c
				return outcome{dev: dev}
			}
		}
		if len(eff.Out) == 0 {
			return info.fail("%s in %s sends nothing", e, st)
		}
		if info.quiet {
			return quietMiss // no formatting while searching
		}
		return info.fail("%s in %s sends %s", e, st, segString(&eff.Out[0]))
	}
	probed := sh.kaProbed // the host's last segment was a keepalive probe
	sh.kaProbed = false
	ackOK := !s.Flags.Has(spec.ACK) || s.Ack == t.RcvNxt()
	text := s.Len > 0 || s.Flags.Has(spec.FIN)
	if !ackOK && staleCopy(t, s, info) {
		// A segment the host sent before the ones captured ahead of it:
		// reordered between the host and the capture point.
		return outcome{dev: DevReorderedBefore}
	}
	if synCopy(t, s, info) {
		// The SYN the host opened the connection with, captured again
		// after the handshake: duplicated or delayed between the host
		// and the capture point.
		return outcome{dev: DevReorderedBefore}
	}
	if !st.HasTCB() {
		switch info.after {
		case afterCopy:
			// A segment the host sent while it had the connection,
			// captured after its TCB was gone: delayed on the way to the
			// capture point.
			return outcome{dev: DevReorderedBefore}
		case afterAnswer:
			// The answer in CLOSED or LISTEN to a late copy of one of the
			// peer's segments (RFC 9293 §3.10.7.1): delayed, or
			// duplicated, after the capture point.
			return outcome{}
		}
	}
	switch {
	case old:
		// A copy of a segment of the connection's earlier incarnation:
		// the host sent it then.
		return outcome{}
	case s.Flags.Has(spec.RST):
		if probed && st.Runs(spec.TimerKeepAlive) {
			// The last thing the host sent was a keepalive probe, and
			// nothing came back: the table's KEEPALIVE rows give up with
			// this RST (RFC 1122 §4.2.3.6).
			if o := try(spec.KeepAliveExhausted, p); o.why == "" {
				if o.dev == DevRSTACK {
					o.dev = DevKeepaliveRSTACK
				}
				return o
			}
		}
		return try(spec.Abort, p)
	case s.Flags.Has(spec.SYN):
		if st == spec.Closed || st == spec.Listen {
			if s.Flags.Has(spec.ACK) {
				return info.fail("a SYN,ACK from %s needs the peer's SYN delivered first", st)
			}
			p.WScale, p.Shift, p.MSS = s.HasWScale, s.WScale, s.MSS
			return try(spec.ActiveOpen, p)
		}
		return try(spec.RetransmitTimeout, p)
	case text:
		if !ackOK {
			if info.quiet {
				return quietMiss // the common miss while searching: no formatting
			}
			return info.fail("its ACK %d is not RCV.NXT %d", uint32(s.Ack), uint32(t.RcvNxt()))
		}
		end := s.Seq.Add(s.SegLen())
		if !st.HasTCB() {
			return info.fail("no connection sends text in %s", st)
		}
		if s.Len == 1 && !s.Flags.Has(spec.FIN) && s.Seq.Add(1) == t.SndNxt() && t.SndUna() == t.SndNxt() && st.Runs(spec.TimerKeepAlive) {
			// A keepalive probe with one garbage octet, the last one
			// sent (RFC 1122 §4.2.3.6 MAY; Windows sends them): the
			// table's KEEPALIVE rows send the probe without it.
			c := *sh
			eff.Reset()
			if c.step(spec.KeepAliveTimeout, nil, p, eff) >= 0 {
				probe := *s
				probe.Len = 0
				for i := range eff.Out {
					if ok, _ := matchOut(&probe, &eff.Out[i]); ok {
						*sh = c
						sh.kaProbed = true
						return outcome{dev: DevKeepaliveGarbage}
					}
				}
			}
		}
		if !s.Flags.Has(spec.FIN) && s.Seq.Add(s.Len).LessEq(t.SndUna()) && st.Synchronized() {
			// Octets the peer has acknowledged, all of them: a copy the
			// host sent before the peer's ACK, captured after it (delayed
			// on the way to the capture point).
			return outcome{dev: DevReorderedBefore}
		}
		if t.FinSent() {
			if end == t.SndNxt() && s.Flags.Has(spec.FIN) && t.SndUna().LessEq(s.Seq) {
				return outcome{} // retransmission of text and FIN
			}
			if t.SndNxt().LessThan(end) || (s.Seq.Add(s.Len) == t.SndNxt() && s.Len > 0) {
				if info.quiet {
					return quietMiss // no formatting while searching
				}
				return info.fail("text at %d..%d after its own FIN (SND.NXT %d)", uint32(s.Seq), uint32(s.Seq.Add(s.Len)), uint32(t.SndNxt()))
			}
			if t.SndUna().LessEq(s.Seq) {
				return outcome{}
			}
			if info.quiet {
				return quietMiss // no formatting while searching
			}
			return info.fail("SEQ %d is below SND.UNA %d", uint32(s.Seq), uint32(t.SndUna()))
		}
		if s.Seq.LessThan(t.SndUna()) {
			if info.quiet {
				return quietMiss // no formatting while searching
			}
			return info.fail("SEQ %d is below SND.UNA %d: octets the peer has acknowledged", uint32(s.Seq), uint32(t.SndUna()))
		}
		gap, gapFrom, gapN := "", t.SndNxt(), uint32(0)
		if t.SndNxt().LessThan(s.Seq) {
			// Octets before this text were not captured yet: the segments
			// were reordered (or dropped) between the host and the capture
			// point. The host sent them first; this one with them.
			// At most what the peer's window lets the host have in flight.
			if st != spec.Established && st != spec.CloseWait || s.Seq.Sub(t.SndNxt()) > maxInFlight(t.SndShift()) {
				if info.quiet {
					return quietMiss // no formatting while searching
				}
				return info.fail("SEQ %d is beyond SND.NXT %d: octets %d..%d were never sent", uint32(s.Seq), uint32(t.SndNxt()), uint32(t.SndNxt()), uint32(s.Seq))
			}
			gap, gapN = DevReorderedBefore, s.Seq.Sub(t.SndNxt())
		}
		newText := uint32(0)
		if textEnd := s.Seq.Add(s.Len); t.SndNxt().LessThan(textEnd) {
			newText = textEnd.Sub(t.SndNxt())
		}
		if !s.Flags.Has(spec.FIN) {
			if newText == 0 {
				return outcome{} // retransmission (RFC 6298 §5.4, RFC 5681)
			}
			if st != spec.Established && st != spec.CloseWait {
				return info.fail("new text in %s", st)
			}
			// sh steps in place: emit's callers drop it when the
			// explanation fails.
			wnd, una := t.SndWnd(), t.SndUna()
			eff.Reset()
			sh.sendUpTo(1-r.dir, r, p, s.Seq.Add(s.Len), eff)
			if t.SndNxt() == s.Seq.Add(s.Len) {
				return outcome{dev: gap, gapFrom: gapFrom, gapN: gapN}
			}
			info.windowShort = true
			if info.quiet {
				return quietMiss // no formatting while searching
			}
			return info.fail("SEND of %d octets sends only up to %d: the send window (SND.WND %d from SND.UNA %d) does not hold octets up to %d",
				newText, uint32(t.SndNxt()), wnd, uint32(una), uint32(s.Seq.Add(s.Len)))
		}
		// A FIN, perhaps with text: CLOSE after SEND (after text the
		// capture point has not seen yet, when there is a gap).
		switch st {
		case spec.Established, spec.CloseWait, spec.SynReceived:
		default:
			return info.fail("CLOSE in %s sends no FIN", st)
		}
		c := *sh
		if c.loose&looseACK != 0 && newText > 0 && st != spec.SynReceived {
			// The text first, on ACKs the capture missed (sendOpened),
			// then the FIN.
			eff.Reset()
			c.sendUpTo(1-r.dir, r, p, s.Seq.Add(s.Len), eff)
			newText = s.Seq.Add(s.Len).Sub(c.tcb.SndNxt())
		}
		p.Unsent, p.SendMSS, p.FinQueued = newText, max(newText, 1), true
		eff.Reset()
		c.step(spec.Close, nil, p, eff)
		if !c.tcb.FinSent() || c.tcb.SndNxt() != end {
			if c.tcb.SndNxt() != end {
				info.windowShort = true // the text stopped short of the FIN
			}
			if info.quiet {
				return quietMiss // no formatting while searching
			}
			return info.fail("CLOSE in %s with %d octets queued sends up to %d, not a FIN at %d", st, newText, uint32(c.tcb.SndNxt()), uint32(s.Seq.Add(s.Len)))
		}
		*sh = c
		return outcome{dev: gap, gapFrom: gapFrom, gapN: gapN}
	case s.Flags.Has(spec.ACK):
		if !ackOK {
			if info.quiet {
				return quietMiss // the common miss while searching: no formatting
			}
			return info.fail("its ACK %d is not RCV.NXT %d", uint32(s.Ack), uint32(t.RcvNxt()))
		}
		if st.Synchronized() || st == spec.SynReceived {
			if s.Seq == t.SndNxt() && t.AckOwed() {
				// The table's delayed ACK (RFC 1122 §4.2.3.2): its timer
				// fired, at once or later.
				return try(spec.DelayedAckTimeout, p)
			}
			if s.Seq == t.SndNxt() {
				// The ACK the table sends on a copy of a segment the host
				// has had (RFC 9293 §3.10.7.4, first check), or a window
				// update.
				return outcome{}
			}
			if s.Seq == t.SndNxt()-1 && st.Runs(spec.TimerKeepAlive) {
				// A keepalive probe (RFC 1122 §4.2.3.6): the table's
				// KEEPALIVE rows send it.
				if o := try(spec.KeepAliveTimeout, p); o.why == "" {
					sh.kaProbed = true
					return o
				}
			}
			if o := try(spec.RetransmitTimeout, p); o.why == "" {
				return o // a window probe
			}
			if gap := s.Seq.Sub(t.SndNxt()); t.SndNxt().LessThan(s.Seq) && gap <= maxInFlight(t.SndShift()) && (st == spec.Established || st == spec.CloseWait) {
				// The host sent text up to SEQ before this ACK, and the
				// capture point has not seen it yet (reordered or dropped
				// on the way there, as for text above).
				c, from := *sh, t.SndNxt()
				if !t.FinSent() {
					// The last octet before SEQ may be the host's FIN
					// (CLOSE after SEND), not captured yet, as well as
					// text: the explanation offers that account too
					// (info.alt).
					f, q := *sh, p
					q.Unsent, q.SendMSS, q.FinQueued = gap-1, max(gap-1, 1), true
					eff.Reset()
					f.step(spec.Close, nil, q, eff)
					if f.tcb.FinSent() && f.tcb.SndNxt() == s.Seq {
						if info.alt == nil {
							info.alt = new(shadow)
						}
						*info.alt, info.hasAlt = f, true
					}
				}
				p.Unsent, p.SendMSS = gap, gap
				eff.Reset()
				c.step(spec.Send, nil, p, eff)
				if c.tcb.SndNxt() == s.Seq {
					*sh = c
					return outcome{dev: DevReorderedBefore, gapFrom: from, gapN: gap}
				}
				if info.hasAlt {
					// The send window does not hold the octets as text:
					// the FIN after the text before it.
					*sh, info.hasAlt = *info.alt, false
					return outcome{dev: DevReorderedBefore, gapFrom: from, gapN: gap - 1, gapFIN: true}
				}
			}
			if staleCopy(t, s, info) {
				return outcome{dev: DevReorderedBefore}
			}
			if info.quiet {
				return quietMiss // no formatting while searching
			}
			return info.fail("SEQ %d is not SND.NXT %d", uint32(s.Seq), uint32(t.SndNxt()))
		}
		return info.fail("no row sends an ACK in %s without a segment arriving", st)
	}
	return info.fail("a segment without ACK, SYN or RST from %s", st)
}

// staleCopy reports whether s is a segment t's host sent earlier,
// captured only after segments it sent later (delayed on the way to the
// capture point). It sends nothing new: no SYN or RST, text and FIN (if
// any, and a FIN only once the host has sent its FIN) that end at or
// before SND.NXT, and an acknowledgment of text t has
// received (after IRS, up to RCV.NXT; below a guessed IRS in a capture
// from the middle, within what can be in flight). And it is older than
// what the capture showed: an ACK below RCV.NXT, where the capture has
// already shown the host acknowledging more (retransmissions carry the
// ACK of their day, RCV.NXT, and a host that had not acknowledged
// further yet is not excused), or a pure ACK whose SEQ is below SND.NXT,
// sent before the segment that moved SND.NXT past it, so acknowledging no
// more than that one did (the ACKs a host sends never go back: SEG.ACK is
// RCV.NXT, which only grows, RFC 9293 §3.4).
func staleCopy(t *spec.TCB, s *spec.Segment, info *hostInfo) bool {
	irs, ok := t.IRS()
	if !ok || !t.State().Synchronized() || !s.Flags.Has(spec.ACK) || s.Flags&(spec.SYN|spec.RST) != 0 ||
		s.Flags.Has(spec.FIN) && !t.FinSent() ||
		!irs.LessThan(s.Ack) && !(info.irsGuessed && irs.Sub(s.Ack) < maxInFlight(14)) ||
		t.RcvNxt().LessThan(s.Ack) || !s.Seq.Add(s.SegLen()).LessEq(t.SndNxt()) {
		return false
	}
	if s.Ack != t.RcvNxt() {
		return info.ackSent && s.Ack.LessThan(info.maxAck)
	}
	return s.Len == 0 && s.Seq.LessThan(t.SndNxt()) && (!info.endAcked || s.Ack.LessEq(info.endAck))
}

// synCopy reports whether s is a copy of the SYN (or SYN,ACK) with
// which t's host opened the connection, now synchronized: the capture
// showed that SYN before, and s has the same SEQ, its ISS, no text, and
// the ACK of the peer's SYN if any. Not in TIME-WAIT: a SYN from there
// opens the next connection (with the same ISS, as the model's traces
// do), after a TIME-WAIT that may have been cut short
// (conn.timeWaitShort).
func synCopy(t *spec.TCB, s *spec.Segment, info *hostInfo) bool {
	if s.Flags&(spec.SYN|spec.RST|spec.FIN) != spec.SYN || info.syns < 2 || s.Len != 0 {
		return false
	}
	iss, ok := t.ISS()
	if !ok || s.Seq != iss || !t.State().Synchronized() || t.State() == spec.TimeWait {
		return false
	}
	if !s.Flags.Has(spec.ACK) {
		return true
	}
	irs, ok := t.IRS()
	return ok && s.Ack == irs.Add(1)
}

// quietMiss is a failed explanation while the checker searches.
var quietMiss = outcome{why: "-"}

// fail is a failed explanation; while the checker searches (quiet) the
// reason is not rendered.
func (h *hostInfo) fail(format string, args ...any) outcome {
	if h.quiet {
		return outcome{why: "-"}
	}
	return outcome{why: fmt.Sprintf(format, args...)}
}
