package impl

import (
	"net/netip"
	"slices"
	"sort"
	"time"

	"github.com/tcpcheck/tcpcheck/impl/wire"
	"github.com/tcpcheck/tcpcheck/spec"
)

// segment is an arriving segment.
type segment struct {
	h       wire.Header
	payload []byte
}

// view returns what the TCB reads of the segment.
func (g *segment) view() spec.Segment { return g.h.Spec(len(g.payload)) }

// header returns the wire header of a segment the TCB sends; emit fills in
// the ports and the window.
func header(s *spec.Segment) wire.Header {
	return wire.Header{Seq: s.Seq, Ack: s.Ack, Flags: s.Flags, MSS: s.MSS, HasWScale: s.HasWScale, WScale: s.WScale}
}

func (g *segment) trace() *Segment {
	return &Segment{Header: g.h, Len: len(g.payload)}
}

// Conn is a TCP connection: the TCB of RFC 9293 §3.3.1 and its user side.
// It implements net.Conn. All fields are guarded by the stack's lock.
type Conn struct {
	s             *Stack
	key           connKey
	local, remote netip.AddrPort
	listener      *Listener // for a child not yet accepted
	inBacklog     bool      // counted in listener.pending

	// The state and the sequence variables (RFC 9293 §3.3.1): spec's TCB,
	// which alone says what an action does to them. eff is the effect of
	// the action being carried out, kept to reuse its storage.
	tcb spec.TCB
	eff spec.Effect

	// Send buffer.
	sndBuf     []byte   // text from sndBufSeq on: unacknowledged, then unsent
	sndBufSeq  spec.Seq // sequence number of sndBuf[0]
	sndStore   []byte   // sndBuf's backing array, reused (queueAppend)
	finPending bool     // CLOSE was called: FIN goes after the queued text

	// Receive buffer.
	rcvAdvEdge spec.Seq // RCV.NXT + RCV.WND as last advertised: the window never shrinks
	rcvBuf     []byte   // in-order text the user has not read
	rcvStore   []byte   // rcvBuf's backing array, reused (queueAppend)
	held       []*segment
	heldBytes  int

	// Retransmission (RFC 6298) and loss recovery (RFC 5681, RFC 6582).
	srtt, rttvar, rto time.Duration
	hasRTT            bool
	rttOn             bool
	rttSeq            spec.Seq
	rttStart          time.Time
	retries           int
	dupAcks           int
	inRecovery        bool
	recover           spec.Seq
	markFlight        int       // segments beyond the hole when it was last resent
	dupSince          int       // duplicate ACKs since then
	resentAt          time.Time // when it was last resent
	ackedNew          bool
	rtx, tw, ut       ctimer
	dack              ctimer // the delayed ACK (RFC 1122 §4.2.3.2)
	fillsGap          bool   // the step's segment fills a gap before held text: acknowledge at once (RFC 5681 §4.2)

	// User side.
	connected  bool
	eof        bool  // the peer's FIN was accepted: reads end with io.EOF after the text
	err        error // what the user sees once the connection failed
	userClosed bool  // Close or Abort was called: no more reads
	deleted    bool
	wake       waker
	rd, wd     deadline

	out []Segment // segments sent by the current step, for the tracer

	sameWnd        bool      // the ACK being sent is a duplicate: it repeats the window last advertised
	invalid        bool      // the current step's segment is unacceptable and has SEG.LEN = 0
	lastInvalidACK time.Time // when the last ACK answering such a segment went out
	chalStart      time.Time // start of the current challenge ACK interval (RFC 5961 §7)
	chalCount      int       // challenge ACKs sent in it

	// SYN cookies (cookie.go).
	cookie    bool     // the ISS is a SYN cookie; the SYN,ACK carries no window scale option
	cookieISS spec.Seq // the cookie, when the TCB is re-created from an ACK
	stateless bool     // the TCB is not kept: no timers
	replay    bool     // re-creating the TCB: the step's segments were sent before, do not send them again
	draining  bool     // stepping a segment from the hold queue

	// Keepalive (RFC 1122 §4.2.3.6).
	ka        ctimer
	lastHeard time.Time // when the last segment from the peer arrived
	kaProbes  int       // probes sent since then
}

// InvalidACKInterval is the least time between two ACKs that answer
// unacceptable segments of zero length on one connection.
const InvalidACKInterval = 500 * time.Millisecond

// params are the endpoint's inputs to spec's TCB: its receive window, its
// options, what is queued to send; the ISS when the action chooses one.
func (c *Conn) params(a spec.Action) spec.Params {
	p := spec.Params{RcvWnd: c.rcvWnd(), MSS: uint16(c.s.opt.MSS), WScale: !c.cookie, Shift: WindowShift(c.s.opt.RecvBuffer),
		Unsent: uint32(len(c.sndBuf) - c.sentText()), FinQueued: c.finPending,
		QuickACK: c.s.opt.AckDelay < 0 || c.fillsGap || c.draining}
	if _, have := c.tcb.ISS(); a == spec.SendSYN || a == spec.SendSYNACK && !have {
		p.ISS = c.chooseISS()
	}
	return p
}

// mss is the most text the connection puts in a segment.
func (c *Conn) mss() int { return int(c.tcb.SendMSS(uint16(c.s.opt.MSS))) }

// lookup finds the row for event e: with the generated step, or with the
// test-only table of Options.Table when one was given.
func (c *Conn) lookup(e spec.Event, x *spec.Ctx) (row int, do []spec.Action, to spec.State) {
	if m := c.s.machine; m != nil {
		row = m.StepCtx(c.tcb.State(), e, x)
		if row < 0 {
			return -1, nil, 0
		}
		r := &m.Rows()[row]
		return row, r.Do, r.To
	}
	row = step(c.tcb.State(), e, x)
	if row < 0 {
		return -1, nil, 0
	}
	return row, tableDo[row], tableTo[row]
}

// handle steps the connection through the table on event e: in is the
// arriving segment for segment events, data the text of a SEND. It carries
// out the row's actions in their listed order, moves to the row's state and
// reports the transition. It returns the error a user call gets.
func (c *Conn) handle(e spec.Event, in *segment, data []byte) error {
	s := c.s
	if s.instant() {
		defer s.endInstant()
	}
	// What the TCB reads of the segment, made once for the guards and
	// every action of the row.
	var v *spec.Segment
	if in != nil {
		view := in.view()
		v = &view
	}
	x := c.tcb.Ctx(v, c.rcvWnd())
	row, do, to := c.lookup(e, &x)
	if row < 0 {
		return errorf("no row of the table for %s + %s", c.tcb.State(), e)
	}
	from := c.tcb.State()
	c.out = c.out[:0]
	c.ackedNew = false
	acceptable := in != nil && spec.IsAcceptable(&x)
	c.invalid = in != nil && v.SegLen() == 0 && !acceptable
	if acceptable {
		// Only an acceptable segment shows the peer alive: a blind
		// attacker's must not keep a dead connection from keepalive.
		c.heard()
	}
	var err error
	for _, a := range do {
		if e := c.do(a, in, v, data); e != nil && err == nil {
			err = e
		}
	}
	c.tcb.Enter(to)
	if tr := s.opt.Tracer.Transition; tr != nil {
		t := Transition{Time: s.now(), Local: c.local, Remote: c.remote, From: from, Event: e, Row: row, To: to,
			Out: slices.Clone(c.out), Replayed: c.replay, Held: c.draining}
		if in != nil {
			t.In = in.trace()
		}
		tr(t)
	}
	c.after()
	s.countTimeWait(c, from)
	return err
}

// do carries out one action (vp is what the TCB reads of in): spec's TCB applies it (the variables, and
// the segments it sends), and the endpoint does the rest: buffers, timers,
// RTT estimation and loss recovery, rate limits, the user's signals.
func (c *Conn) do(a spec.Action, in *segment, vp *spec.Segment, data []byte) error {
	switch a {
	case spec.QueueText, spec.SendText:
		queueAppend(&c.sndBuf, &c.sndStore, data)
	case spec.SendFIN:
		c.finPending = true
	case spec.ErrNotExist:
		return ErrNotExist
	case spec.ErrExists:
		return ErrExists
	case spec.ErrClosing:
		return ErrClosing
	}
	if int(a) >= spec.NumActions {
		return errorf("action %s is unknown to the endpoint", a)
	}
	if a == spec.ProcessACK {
		c.processACK(in, vp)
		return nil
	}
	_, hadISS := c.tcb.ISS()
	p := c.params(a)
	c.eff.Reset()
	c.tcb.Apply(a, vp, p, &c.eff)
	out := c.eff.Out
	switch a {
	case spec.AcceptSYN:
		c.rcvAdvEdge = c.tcb.RcvNxt()
	case spec.AcceptText:
		if n := c.eff.Deliver; n > 0 && !c.userClosed {
			queueAppend(&c.rcvBuf, &c.rcvStore, in.payload[c.eff.Skip:c.eff.Skip+n])
		}
	case spec.AcceptFIN:
		c.eof = c.eof || c.eff.EOF
	case spec.SendSYN, spec.SendSYNACK:
		if !hadISS {
			iss, _ := c.tcb.ISS()
			c.sndBufSeq = iss + 1
		}
		c.sendSYN(&out[0])
	case spec.SendText, spec.SendFIN:
		for i := range out {
			c.sendData(&out[i])
		}
	case spec.SendACK:
		if c.invalid {
			// The reply to an unacceptable segment without text, SYN or
			// FIN: two endpoints that disagree on the sequence numbers
			// (after a blind injection, say) would answer each other's
			// ACKs for ever. Like Linux (net.ipv4.tcp_invalid_ratelimit),
			// send at most one such ACK per 500 ms per connection.
			now := c.s.now()
			if !c.lastInvalidACK.IsZero() && now.Sub(c.lastInvalidACK) < InvalidACKInterval {
				c.s.stats.ACKsLimited++
				break
			}
			c.lastInvalidACK = now
		}
		c.emit(header(&out[0]), nil)
	case spec.DelayACK:
		if len(out) > 0 {
			c.emit(header(&out[0]), nil)
		}
		if c.eff.DelayACK {
			c.dack.set(c, c.s.now().Add(c.s.opt.AckDelay), (*Conn).onDelayedACK)
		}
	case spec.SendChallengeACK:
		if c.challengeAllowed() {
			c.s.stats.ChallengeACKs++
			c.emit(header(&out[0]), nil)
		}
	case spec.SendKeepAlive:
		// RFC 1122 §4.2.3.6 (onKeepAlive counted the probe).
		c.s.stats.KeepAliveProbes++
		c.emit(header(&out[0]), nil)
	case spec.SendRST, spec.ReplyRST:
		for i := range out {
			c.emit(header(&out[i]), nil)
		}
	case spec.Retransmit:
		c.retransmit(out)
	case spec.StartTimeWait:
		c.tw.set(c, c.s.now().Add(2*c.s.opt.MSL), (*Conn).onTimeWait)
	case spec.SignalConnected:
		c.connected = true
		if c.listener != nil {
			c.listener.established(c)
		}
	case spec.SignalReset:
		c.fail(ErrConnReset)
	case spec.SignalRefused:
		c.fail(ErrConnRefused)
	case spec.SignalTimeout:
		c.fail(ErrTimeout)
	case spec.DeleteTCB:
		c.delete()
	}
	return nil
}

// fail records the error the user sees and flushes the queues
// (RFC 9293 §3.10.7.4: on reset "all segment queues should be flushed").
func (c *Conn) fail(err error) {
	if c.err == nil {
		c.err = err
	}
	c.rcvBuf, c.sndBuf, c.held, c.heldBytes = nil, nil, nil, 0
	c.rcvStore, c.sndStore = nil, nil
}

// kill makes every later user call fail with err (the stack is closing).
func (c *Conn) kill(err error) {
	if c.err == nil {
		c.err = err
	}
	c.notify()
}

// chooseISS returns the ISS for a new connection: the cookie of a SYN
// cookie connection (when re-created from its ACK, the cookie that ACK
// acknowledges), else the keyed hash of RFC 6528.
func (c *Conn) chooseISS() spec.Seq {
	switch {
	case c.replay:
		return c.cookieISS
	case c.cookie:
		irs, _ := c.tcb.IRS()
		return c.s.makeCookie(c.key, irs, c.mss())
	}
	return c.s.isn(c.local, c.remote)
}

// processACK carries out process-ACK: spec's TCB moves SND.UNA and the
// send window (RFC 9293 §3.10.7.4 fifth check); the endpoint frees the
// acknowledged text, samples the RTT (RFC 6298) and counts duplicate ACKs
// for fast retransmit and NewReno (RFC 5681, RFC 6582). Sending what an
// opened window now allows is the table's decision: the rows that process
// an ACK in a state that may send list send text.
func (c *Conn) processACK(in *segment, v *spec.Segment) {
	h := in.h
	if !h.Flags.Has(spec.ACK) {
		return
	}
	ack := h.Ack
	una, nxt := c.tcb.SndUna(), c.tcb.SndNxt()
	// A duplicate ACK (RFC 5681 §2): nothing new acknowledged, no text,
	// SYN or FIN, something outstanding, and the window it offers
	// unchanged (condition (e); our own duplicate ACKs keep the window
	// last advertised). Judged before the TCB takes the segment.
	dup := ack == una && len(in.payload) == 0 && !h.Flags.Has(spec.FIN) && !h.Flags.Has(spec.SYN) &&
		nxt != una && uint32(h.Window)<<c.tcb.SndShift() == c.tcb.SndWnd()
	c.eff.Reset()
	c.tcb.Apply(spec.ProcessACK, v, c.params(spec.ProcessACK), &c.eff)
	now := c.s.now()
	switch {
	case c.eff.Acked > 0:
		// Free the acknowledged text; the SYN and FIN octets hold none.
		if ack.LessThan(c.sndBufSeq) {
			// Only the SYN is acknowledged.
		} else if n := int(ack.Sub(c.sndBufSeq)); n > 0 {
			n = min(n, len(c.sndBuf))
			c.sndBuf = c.sndBuf[n:]
			c.sndBufSeq = c.sndBufSeq.Add(uint32(n))
			if len(c.sndBuf) == 0 {
				c.sndBuf = nil
				c.sndStore = keepStore(c.sndStore)
			}
		}
		c.ackedNew = true
		c.retries = 0
		c.dupAcks = 0
		if c.rttOn && c.rttSeq.LessEq(ack) {
			c.rttOn = false
			c.sampleRTT(now.Sub(c.rttStart))
		} else {
			// New data is acknowledged: the path works, so the backoff
			// ends (as in Linux) even without a sample that Karn's rule
			// allows: back to the estimate, or the initial RTO before
			// the first sample.
			c.rto = c.clampRTO(c.s.opt.RTOInitial)
			if c.hasRTT {
				c.rto = c.clampRTO(c.srtt + max(time.Millisecond, 4*c.rttvar))
			}
		}
		if c.inRecovery {
			if ack.LessThan(c.recover) {
				// A partial ACK: the next hole is lost too (RFC 6582 §3.2).
				c.resend(c.tcb.SndUna())
			} else {
				c.inRecovery = false
			}
		}
	case dup:
		// On the third duplicate ACK, retransmit at once.
		c.dupAcks++
		switch {
		case c.dupAcks == 3 && !c.inRecovery:
			c.inRecovery, c.recover = true, nxt
			c.resend(una)
		case c.inRecovery:
			// Each segment beyond the hole draws at most one duplicate
			// ACK. Three more than were in flight when the hole was
			// resent come from segments sent after it, which arrived
			// while the hole stayed open: the resent segment was lost
			// too, so send it again now rather than at the RTO.
			c.dupSince++
			if c.dupSince > c.markFlight+3 {
				c.resend(una)
			}
		}
	default:
		c.resendIfStale(in)
	}
	if c.eff.WindowUpdated && c.tcb.SndWnd() == 0 {
		// The peer is alive and says wait: zero-window probes do not
		// count towards giving up (RFC 9293 §3.8.6.1).
		c.retries = 0
	}
}

// sampleRTT updates SRTT, RTTVAR and RTO (RFC 6298 §2.2, §2.3).
func (c *Conn) sampleRTT(r time.Duration) {
	if !c.hasRTT {
		c.srtt, c.rttvar, c.hasRTT = r, r/2, true
	} else {
		d := c.srtt - r
		if d < 0 {
			d = -d
		}
		c.rttvar = (3*c.rttvar + d) / 4
		c.srtt = (7*c.srtt + r) / 8
	}
	c.rto = c.clampRTO(c.srtt + max(time.Millisecond, 4*c.rttvar))
}

func (c *Conn) clampRTO(d time.Duration) time.Duration {
	return min(max(d, c.s.opt.RTOMin), c.s.opt.RTOMax)
}

// rcvWnd is RCV.WND: the free receive buffer, but never less than what
// was advertised (the right edge does not move left, RFC 9293 §3.8.6).
func (c *Conn) rcvWnd() uint32 {
	free := c.s.opt.RecvBuffer - len(c.rcvBuf)
	if c.userClosed {
		free = c.s.opt.RecvBuffer
	}
	w := uint32(max(free, 0))
	if nxt := c.tcb.RcvNxt(); nxt.LessThan(c.rcvAdvEdge) && c.rcvAdvEdge.Sub(nxt) > w {
		w = c.rcvAdvEdge.Sub(nxt)
	}
	return min(w, 65535<<c.tcb.RcvShift())
}

// resendIfStale resends the hole at SND.UNA when in, a segment with text
// or FIN, still acknowledges only the hole long
// after the resent copy should have reached the peer: that copy was lost
// as well. With both directions busy the peer's acknowledgments ride on
// its text and are not duplicate ACKs, so without this only the RTO would
// notice.
func (c *Conn) resendIfStale(in *segment) {
	if una := c.tcb.SndUna(); in.h.Flags.Has(spec.ACK) && in.h.Ack == una && c.inRecovery && c.tcb.SndNxt() != una && c.hasRTT &&
		c.s.now().Sub(c.resentAt) > max(4*c.srtt, c.s.opt.RTOMin/20) {
		c.resend(c.tcb.SndUna())
	}
}

// markResend notes that the hole at SND.UNA was just resent.
func (c *Conn) markResend() {
	c.resentAt = c.s.now()
	c.dupSince = 0
	mss := c.mss()
	c.markFlight = (int(c.tcb.SndNxt().Sub(c.tcb.SndUna())) + mss - 1) / max(mss, 1)
}

// emit sends a segment to the peer, filling in ports and window.
func (c *Conn) emit(h wire.Header, payload []byte) {
	s := c.s
	h.SrcPort, h.DstPort = c.key.port, c.key.peerPort
	if h.Flags.Has(spec.ACK) && !h.Flags.Has(spec.RST) {
		c.tcb.AckSent(h.Ack) // the ACK rides on every segment we send (RFC 9293 §3.8.6.3)
	}
	if !h.Flags.Has(spec.RST) {
		w := c.rcvWnd()
		nxt, shift := c.tcb.RcvNxt(), c.tcb.RcvShift()
		if c.sameWnd && nxt.LessThan(c.rcvAdvEdge) {
			w = c.rcvAdvEdge.Sub(nxt) // a duplicate ACK repeats the window (RFC 5681 §2 (e))
		}
		if h.Flags.Has(spec.SYN) {
			w = min(w, 65535) // a SYN's window is never scaled
			h.Window = uint16(w)
		} else {
			h.Window = uint16(min(w>>shift, 65535))
			w = uint32(h.Window) << shift
		}
		if h.Flags.Has(spec.ACK) {
			c.rcvAdvEdge = nxt.Add(w)
		}
	}
	if c.replay {
		// Re-creating a cookie connection: this segment went out when
		// the SYN arrived. The trace shows it; the link does not carry it.
		c.out = append(c.out, Segment{Header: h, Len: len(payload)})
		return
	}
	if err := s.enqueue(c.key.peer, h, s.local.Addr(), c.key.peer.Addr(), payload); err != nil {
		return // addresses of different families: nothing can be sent
	}
	now := s.now()
	if s.opt.Pcap != nil {
		s.opt.Pcap.WriteSegment(now, c.local, netip.AddrPortFrom(c.key.peer.Addr(), c.key.peerPort), h, payload)
	}
	if s.opt.Tracer.Transition != nil {
		c.out = append(c.out, Segment{Header: h, Len: len(payload)})
	}
}

// sendSYN sends our SYN or SYN,ACK, timing the round trip unless it is a
// retransmission (Karn) or the replay of a cookie connection.
func (c *Conn) sendSYN(syn *spec.Segment) {
	if !c.rttOn && c.retries == 0 && !c.replay { // a replayed SYN,ACK left earlier, at an unknown time
		c.rttOn, c.rttSeq, c.rttStart = true, syn.Seq+1, c.s.now()
	}
	c.emit(header(syn), nil)
}

// sendACK sends <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> outside a row, a
// duplicate ACK or a window update (why), and reports it to the tracer.
func (c *Conn) sendACK(why string) {
	a := c.tcb.ACK()
	c.out = c.out[:0]
	c.emit(header(&a), nil)
	if len(c.out) > 0 {
		c.s.traceExtra(c, true, c.out[0], why)
	}
}

// sentText is the number of text octets of sndBuf sent (SND.NXT less the
// FIN, from sndBufSeq on).
func (c *Conn) sentText() int {
	n := int(c.tcb.SndNxt().Sub(c.sndBufSeq))
	if c.tcb.FinSent() {
		n--
	}
	return max(n, 0)
}

// sendData sends a segment of new text (and FIN) that spec's TCB put at
// SND.NXT, with its text from the send buffer, timing the round trip
// when no segment is timed.
func (c *Conn) sendData(g *spec.Segment) {
	if !c.rttOn {
		c.rttOn, c.rttSeq, c.rttStart = true, g.Seq.Add(g.SegLen()), c.s.now()
	}
	off := int(g.Seq.Sub(c.sndBufSeq))
	c.emit(header(g), c.sndBuf[off:off+int(g.Len)])
}

// resend sends again the segment that starts at seq, an unacknowledged
// sequence number (spec.TCB.Resend says which): loss recovery's
// retransmission of a hole, noted by markResend.
func (c *Conn) resend(seq spec.Seq) {
	c.s.stats.Retransmits++
	c.rttOn = false // Karn: no RTT sample once anything was sent twice
	if g, ok := c.tcb.Resend(seq, c.params(spec.Retransmit)); ok {
		c.resent(&g)
	}
	c.markResend()
}

// resent sends a retransmitted segment with its text.
func (c *Conn) resent(g *spec.Segment) {
	if g.Flags.Has(spec.SYN) {
		c.sendSYN(g)
		return
	}
	off := int(g.Seq.Sub(c.sndBufSeq))
	if off < 0 || off+int(g.Len) > len(c.sndBuf) {
		return
	}
	c.emit(header(g), c.sndBuf[off:off+int(g.Len)])
}

// retransmit is the rest of the retransmission timeout (RFC 6298
// §5.4-5.6), around the segment spec's TCB resends (out): back off the
// timer, stop timing, and enter recovery; with nothing unacknowledged, out
// is a window probe (RFC 9293 §3.8.6.1).
func (c *Conn) retransmit(out []spec.Segment) {
	c.retries++
	c.rto = min(c.rto*2, c.s.opt.RTOMax)
	c.rttOn = false // Karn: no sample from a retransmitted segment
	if len(out) == 0 {
		return
	}
	if una, nxt := c.tcb.SndUna(), c.tcb.SndNxt(); nxt != una {
		c.inRecovery, c.recover, c.dupAcks = true, nxt, 0
		c.s.stats.Retransmits++
		c.resent(&out[0])
		c.markResend()
		return
	}
	c.emit(header(&out[0]), nil)
}

// delete discards the TCB: timers stop, the connection leaves the stack's
// table, and a child not yet established leaves its listener's backlog.
func (c *Conn) delete() {
	c.deleted = true
	for _, t := range []*ctimer{&c.rtx, &c.tw, &c.ut, &c.dack, &c.ka} {
		t.release()
	}
	c.rd.release()
	c.wd.release()
	c.held, c.heldBytes = nil, 0
	if c.s.conns[c.key] == c {
		delete(c.s.conns, c.key)
	}
	if c.listener != nil && !c.connected {
		c.listener.forget(c)
	}
}

// after runs once a step is done: it arms or stops the retransmission and
// user timers (RFC 6298 §5.1-5.3) and wakes the user.
func (c *Conn) after() {
	defer c.notify()
	st := c.tcb.State()
	if c.deleted || !st.HasTCB() || c.stateless {
		return
	}
	now := c.s.now()
	outstanding := c.tcb.SndNxt() != c.tcb.SndUna()
	probe := !outstanding && c.tcb.SndWnd() == 0 && len(c.sndBuf) > c.sentText() && st.Synchronized()
	switch {
	case !st.Runs(spec.TimerRetransmit):
		c.rtx.halt()
	case !(outstanding || probe):
		c.rtx.stop()
	case !c.rtx.armed() || c.ackedNew:
		c.rtx.set(c, now.Add(c.rto), (*Conn).onRTO)
	}
	switch {
	case outstanding && st.Runs(spec.TimerUser) && (!c.ut.armed() || c.ackedNew):
		c.ut.set(c, now.Add(c.s.opt.UserTimeout), (*Conn).onUserTimeout)
	case st == spec.FinWait2 && c.userClosed:
		// An orphaned FIN-WAIT-2 (the user has closed) must not wait for
		// the peer for ever: the user timeout bounds it.
		if !c.ut.armed() {
			c.ut.set(c, now.Add(c.s.opt.UserTimeout), (*Conn).onUserTimeout)
		}
	case !st.Runs(spec.TimerUser):
		c.ut.halt()
	case !outstanding:
		c.ut.stop()
	}
	c.armKeepAlive(now, outstanding)
	switch {
	case !st.Runs(spec.TimerRetransmit):
		c.dack.halt() // TIME-WAIT: the FIN's ACK went out at once
	case !c.tcb.AckOwed():
		c.dack.stop() // a segment we sent carried the ACK
	}
}

// notify wakes every goroutine waiting on the connection.
func (c *Conn) notify() { c.s.notify(&c.wake) }

// retryLimit is how many retransmissions the current state allows.
func (c *Conn) retryLimit() int {
	switch c.tcb.State().RetryClass() {
	case spec.RetrySYN:
		return c.s.opt.SynRetries
	case spec.RetrySYNACK:
		return c.s.opt.SynAckRetries
	}
	return c.s.opt.DataRetries
}

// onRTO runs when the retransmission timer fires: RetransmitTimeout, or
// RetriesExhausted once the state's retry limit is reached.
func (c *Conn) onRTO() {
	e := spec.RetransmitTimeout
	if c.retries >= c.retryLimit() {
		e = spec.RetriesExhausted
	}
	c.handle(e, nil, nil)
}

func (c *Conn) onTimeWait()    { c.handle(spec.TimeWaitTimeout, nil, nil) }
func (c *Conn) onUserTimeout() { c.handle(spec.UserTimeout, nil, nil) }

// onDelayedACK runs when the delayed-ACK timer fires while an ACK is owed.
func (c *Conn) onDelayedACK() {
	if c.tcb.AckOwed() {
		c.handle(spec.DelayedAckTimeout, nil, nil)
	}
}

// segmentArrives takes a segment for this connection. Before the table
// sees it, the segment is made the "idealized segment" of RFC 9293
// §3.10.7.4 (trimmed to the receive window, losing a FIN beyond it) and, if
// its text starts beyond RCV.NXT, held until the text before it arrives
// ("segments with higher beginning sequence numbers may be held for later
// processing"), with a duplicate ACK at once (RFC 5681 §4.2).
func (c *Conn) segmentArrives(in *segment) {
	e := spec.Classify(in.h.Flags, len(in.payload))
	if (e == spec.SegData || e == spec.SegFIN) && c.tcb.State().HoldsOutOfOrder() {
		v := in.view()
		x := c.tcb.Ctx(&v, c.rcvWnd())
		if spec.IsSeqOK(&x) {
			if end := x.RcvNxt.Add(x.RcvWnd); end.LessThan(in.h.Seq.Add(uint32(len(in.payload)))) {
				in.payload = in.payload[:end.Sub(in.h.Seq)]
				in.h.Flags &^= spec.FIN
				e = spec.Classify(in.h.Flags, len(in.payload))
			}
			if c.tcb.State().HoldsSegment(&x) {
				c.hold(in)
				return
			}
			c.fillsGap = len(c.held) > 0
			if merged := c.mergeHeld(in); merged != in {
				in, e = merged, spec.Classify(merged.h.Flags, len(merged.payload))
			}
		}
	}
	c.handle(e, in, nil)
	c.fillsGap = false
	c.drainHeld()
}

// mergeHeld reassembles: when in fills the gap before held segments, their
// text (and a FIN that ends them) joins in's, so that one step accepts it
// all and one ACK acknowledges it, as RFC 5681 §4.2 asks of a segment that
// fills a gap. Stepping them one by one would send an ACK each, which the
// sender would take for partial ACKs (RFC 6582) and answer by resending
// text that has arrived. in keeps its header: it is the newest segment.
func (c *Conn) mergeHeld(in *segment) *segment {
	if in.h.Flags.Has(spec.FIN) || len(c.held) == 0 {
		return in
	}
	end := in.h.Seq.Add(uint32(len(in.payload)))
	var out *segment
	for len(c.held) > 0 {
		g := c.held[0]
		if end.LessThan(g.h.Seq) {
			break // a gap remains
		}
		if out == nil {
			out = &segment{h: in.h, payload: append([]byte(nil), in.payload...)}
		}
		if gEnd := g.h.Seq.Add(uint32(len(g.payload))); end.LessThan(gEnd) {
			out.payload = append(out.payload, g.payload[end.Sub(g.h.Seq):]...)
			end = gEnd
		}
		c.held = c.held[1:]
		c.heldBytes -= len(g.payload)
		if g.h.Flags.Has(spec.FIN) {
			out.h.Flags |= spec.FIN
			break
		}
	}
	if out == nil {
		return in
	}
	return out
}

const maxHeld = 256

// hold keeps an out-of-order segment (bounded by the window and a count)
// and sends a duplicate ACK.
func (c *Conn) hold(in *segment) {
	s := c.s
	for _, g := range c.held {
		if g.h.Seq == in.h.Seq && len(g.payload) >= len(in.payload) {
			c.extraACK(in, ExtraHeldDup)
			return
		}
	}
	if len(c.held) >= maxHeld || c.heldBytes+len(in.payload) > s.opt.RecvBuffer {
		s.stats.HeldDrops++
		s.traceExtra(c, false, *in.trace(), ExtraHeldDropped)
		return
	}
	g := &segment{h: in.h, payload: append([]byte(nil), in.payload...)}
	i := sort.Search(len(c.held), func(i int) bool { return !c.held[i].h.Seq.LessThan(g.h.Seq) })
	c.held = slices.Insert(c.held, i, g)
	c.heldBytes += len(g.payload)
	c.extraACK(in, ExtraHeld)
}

// extraACK reports the held segment and sends the duplicate ACK.
func (c *Conn) extraACK(in *segment, why string) {
	c.s.traceExtra(c, false, *in.trace(), why)
	c.sameWnd = true
	c.sendACK(ExtraDupACK)
	c.sameWnd = false
	c.notify()
}

// drainHeld steps the held segments that RCV.NXT has reached.
func (c *Conn) drainHeld() {
	for len(c.held) > 0 && !c.deleted && c.tcb.State().HoldsOutOfOrder() {
		g := c.held[0]
		v := g.view()
		end := g.h.Seq.Add(v.SegLen())
		nxt := c.tcb.RcvNxt()
		if nxt.LessThan(g.h.Seq) {
			return
		}
		c.held = c.held[1:]
		c.heldBytes -= len(g.payload)
		if end.LessEq(nxt) {
			continue // all of it arrived again meanwhile
		}
		// Its acknowledgment is as old as its arrival: the segments that
		// filled the gap may have moved SND.UNA far past it, beyond the
		// RFC 5961 §5.2 range, which would drop the text. Its ACK was in
		// range when it arrived, so it is presented acknowledging SND.UNA.
		if una := c.tcb.SndUna(); g.h.Flags.Has(spec.ACK) && g.h.Ack.LessThan(una) {
			g.h.Ack = una
		}
		c.draining = true
		c.handle(spec.Classify(g.h.Flags, len(g.payload)), g, nil)
		c.draining = false
	}
}

// windowUpdate sends an ACK when a read has opened the window by at least
// min(MSS, half the buffer) beyond the edge last advertised (receiver SWS
// avoidance, RFC 9293 §3.8.6.2.2), so a sender waiting on a small window
// learns of the space.
func (c *Conn) windowUpdate() {
	if c.deleted || !c.tcb.State().Synchronized() || c.tcb.FinReceived() {
		return
	}
	edge := c.tcb.RcvNxt().Add(c.rcvWnd())
	if !c.rcvAdvEdge.LessThan(edge) || int(edge.Sub(c.rcvAdvEdge)) < min(c.mss(), c.s.opt.RecvBuffer/2) {
		return
	}
	c.sendACK(ExtraWindowUpdate)
}

// traceExtra reports a segment sent or received outside any row.
func (s *Stack) traceExtra(c *Conn, sent bool, seg Segment, why string) {
	if s.opt.Tracer.Extra != nil {
		s.opt.Tracer.Extra(s.now(), c.local, c.remote, sent, seg, why)
	}
}

// ctimer is a connection timer on the stack's clock. Its deadline is the
// truth: a timer that fires early (because the deadline moved later) sets
// itself again, so moving a deadline later costs no timer operation.
type ctimer struct {
	t     Timer
	at    time.Time // zero when disarmed
	sched time.Time // when t is set to fire; zero when it is not set
}

func (t *ctimer) armed() bool { return !t.at.IsZero() }

// stop disarms the timer; the clock's timer may still fire, and finds
// nothing to do, so that a timer stopped and set again at every round
// trip (the delayed ACK, the retransmission timer) costs no timer
// operation.
func (t *ctimer) stop() { t.at = time.Time{} }

// halt disarms the timer and stops the clock's timer too, where the
// state no longer runs the timer: left to fire, it would only take the
// stack's lock to find nothing to do, and connections that linger in
// TIME-WAIT would each leave one behind (the RTO of their acknowledged
// FIN, most of the lock's contention in handshake+close cycles).
func (t *ctimer) halt() {
	t.at = time.Time{}
	if !t.sched.IsZero() {
		t.sched = time.Time{}
		t.t.Stop()
	}
}

// release disarms the timer and stops the clock's timer too.
func (t *ctimer) release() {
	t.at, t.sched = time.Time{}, time.Time{}
	if t.t != nil {
		t.t.Stop()
	}
}

// set arms the timer to call fn (with the stack locked) at at.
// fn is a method expression ((*Conn).onRTO): a method value would be
// allocated at every call.
func (t *ctimer) set(c *Conn, at time.Time, fn func(*Conn)) {
	t.at = at
	now := c.s.now()
	if !t.sched.IsZero() && !t.sched.After(at) {
		return // fires no later than at, and will set itself again
	}
	t.sched = at
	if t.t == nil {
		t.t = c.s.clock.AfterFunc(at.Sub(now), func() { t.fire(c, fn) })
		return
	}
	t.t.Reset(at.Sub(now))
}

func (t *ctimer) fire(c *Conn, fn func(*Conn)) {
	s := c.s
	s.mu.Lock()
	defer s.unlock()
	t.sched = time.Time{}
	if s.closed || c.deleted || t.at.IsZero() {
		return
	}
	if s.instant() {
		defer s.endInstant()
	}
	now := s.now()
	if now.Before(t.at) {
		t.sched = t.at
		t.t.Reset(t.at.Sub(now))
		return
	}
	t.at = time.Time{}
	fn(c)
	c.drainHeld()
}
