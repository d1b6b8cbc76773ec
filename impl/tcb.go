package impl

import (
	"net/netip"
	"slices"
	"time"

	"github.com/tcpcheck/tcpcheck/impl/wire"
	"github.com/tcpcheck/tcpcheck/spec"
)

// segment is an arriving segment.
type segment struct {
	h       wire.Header
	payload []byte
}

// segLen is SEG.LEN: text octets plus one for SYN and one for FIN.
func (g *segment) segLen() uint32 {
	n := uint32(len(g.payload))
	if g.h.Flags.Has(spec.SYN) {
		n++
	}
	if g.h.Flags.Has(spec.FIN) {
		n++
	}
	return n
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
	state         spec.State
	passive       bool
	listener      *Listener // for a child not yet accepted
	inBacklog     bool      // counted in listener.pending

	// Send sequence variables (RFC 9293 §3.3.1).
	iss, sndUna, sndNxt spec.Seq
	issChosen           bool
	sndWnd              uint32
	sndWL1, sndWL2      spec.Seq
	maxSndWnd           uint32
	sndBuf              []byte   // text from sndBufSeq on: unacknowledged, then unsent
	sndBufSeq           spec.Seq // sequence number of sndBuf[0]
	sndStore            []byte   // sndBuf's backing array, reused (queueAppend)
	finPending          bool     // CLOSE was called: FIN goes after the queued text
	finSent             bool     // the FIN is at SND.NXT-1
	mss                 int      // largest text we put in a segment
	sndShift, rcvShift  uint8    // window scale shifts (RFC 7323 §2.3); 0 unless both SYNs carried the option
	peerWS              bool     // the peer's SYN carried the window scale option

	// Receive sequence variables.
	irs, rcvNxt spec.Seq
	rcvAdvEdge  spec.Seq // RCV.NXT + RCV.WND as last advertised: the window never shrinks
	rcvBuf      []byte   // in-order text the user has not read
	rcvStore    []byte   // rcvBuf's backing array, reused (queueAppend)
	finRcvd     bool     // the peer's FIN has been accepted
	held        []*segment
	heldBytes   int

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

	// User side.
	connected  bool
	err        error // what the user sees once the connection failed
	userClosed bool  // Close or Abort was called: no more reads
	deleted    bool
	wake       chan struct{}
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

	// Keepalive (RFC 1122 §4.2.3.6).
	ka        ctimer
	lastHeard time.Time // when the last segment from the peer arrived
	kaProbes  int       // probes sent since then
}

// invalidACKInterval is the least time between two ACKs that answer
// unacceptable segments of zero length on one connection.
const invalidACKInterval = 500 * time.Millisecond

// ctx fills the guards' view of the TCB and of the segment in.
func (c *Conn) ctx(in *segment) spec.Ctx {
	x := spec.Ctx{SndUna: c.sndUna, SndNxt: c.sndNxt, RcvNxt: c.rcvNxt, RcvWnd: c.rcvWnd(),
		MaxSndWnd: c.maxSndWnd, FinSent: c.finSent, Passive: c.passive}
	if in != nil {
		x.SegSeq, x.SegAck, x.SegLen, x.SegFlags = in.h.Seq, in.h.Ack, in.segLen(), in.h.Flags
	}
	return x
}

// lookup finds the row for event e: with the generated step, or with the
// test-only table of Options.Table when one was given.
func (c *Conn) lookup(e spec.Event, x *spec.Ctx) (row int, do []spec.Action, to spec.State) {
	if m := c.s.machine; m != nil {
		row = m.StepCtx(c.state, e, x)
		if row < 0 {
			return -1, nil, 0
		}
		r := &m.Rows()[row]
		return row, r.Do, r.To
	}
	row = step(c.state, e, x)
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
	x := c.ctx(in)
	row, do, to := c.lookup(e, &x)
	if row < 0 {
		return errorf("no row of the table for %s + %s", c.state, e)
	}
	from := c.state
	c.out = c.out[:0]
	c.ackedNew = false
	c.invalid = in != nil && in.segLen() == 0 &&
		(!spec.IsSeqOK(&x) || in.h.Flags.Has(spec.ACK) && !spec.IsAckInRange(&x))
	if in != nil && spec.IsSeqOK(&x) && (!in.h.Flags.Has(spec.ACK) || spec.IsAckInRange(&x)) {
		// Only an acceptable segment shows the peer alive: a blind
		// attacker's must not keep a dead connection from keepalive.
		c.heard()
	}
	var err error
	for _, a := range do {
		if e := c.do(a, in, data); e != nil && err == nil {
			err = e
		}
	}
	c.state = to
	if tr := s.opt.Tracer.Transition; tr != nil {
		t := Transition{Time: s.clock.Now(), Local: c.local, Remote: c.remote, From: from, Event: e, Row: row, To: c.state,
			Out: slices.Clone(c.out), Replayed: c.replay}
		if in != nil {
			t.In = in.trace()
		}
		tr(t)
	}
	c.after()
	s.countTimeWait(c, from)
	return err
}

// do carries out one action.
func (c *Conn) do(a spec.Action, in *segment, data []byte) error {
	switch a {
	case spec.Drop:
	case spec.AcceptSYN:
		c.acceptSYN(in)
	case spec.ProcessACK:
		c.processACK(in)
	case spec.AcceptText:
		c.acceptText(in)
	case spec.AcceptFIN:
		c.acceptFIN(in)
	case spec.QueueText:
		queueAppend(&c.sndBuf, &c.sndStore, data)
	case spec.SendSYN:
		c.chooseISS()
		c.sendSYN(false)
	case spec.SendSYNACK:
		if !c.issChosen {
			c.chooseISS()
		}
		c.sendSYN(true)
	case spec.SendText:
		queueAppend(&c.sndBuf, &c.sndStore, data)
		c.output()
	case spec.SendFIN:
		c.finPending = true
		c.output()
	case spec.SendACK:
		if c.invalid {
			// The reply to an unacceptable segment without text, SYN or
			// FIN: two endpoints that disagree on the sequence numbers
			// (after a blind injection, say) would answer each other's
			// ACKs for ever. Like Linux (net.ipv4.tcp_invalid_ratelimit),
			// send at most one such ACK per 500 ms per connection.
			now := c.s.clock.Now()
			if !c.lastInvalidACK.IsZero() && now.Sub(c.lastInvalidACK) < invalidACKInterval {
				c.s.stats.ACKsLimited++
				break
			}
			c.lastInvalidACK = now
		}
		c.sendACK()
	case spec.SendChallengeACK:
		if c.challengeAllowed() {
			c.s.stats.ChallengeACKs++
			c.sendACK()
		}
	case spec.SendRST:
		c.emit(wire.Header{Seq: c.sndNxt, Flags: spec.RST}, nil)
	case spec.ReplyRST:
		c.replyRST(in)
	case spec.Retransmit:
		c.retransmit()
	case spec.StartTimeWait:
		c.tw.set(c, c.s.clock.Now().Add(2*c.s.opt.MSL), c.onTimeWait)
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
	case spec.ErrNotExist:
		return ErrNotExist
	case spec.ErrExists:
		return ErrExists
	case spec.ErrClosing:
		return ErrClosing
	case spec.DeleteTCB:
		c.delete()
	default:
		return errorf("action %s is unknown to the endpoint", a)
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

func (c *Conn) chooseISS() {
	switch {
	case c.replay:
		c.iss = c.cookieISS
	case c.cookie:
		c.iss = c.s.makeCookie(c.key, c.irs, c.mss)
	default:
		c.iss = c.s.isn(c.local, c.remote)
	}
	c.issChosen = true
	c.sndUna, c.sndNxt = c.iss, c.iss+1
	c.sndBufSeq = c.iss + 1
}

// acceptSYN records the peer's SYN: IRS, RCV.NXT, its window and MSS.
func (c *Conn) acceptSYN(in *segment) {
	c.irs = in.h.Seq
	c.rcvNxt = in.h.Seq + 1
	c.rcvAdvEdge = c.rcvNxt
	c.sndWnd, c.sndWL1, c.sndWL2 = uint32(in.h.Window), in.h.Seq, in.h.Ack // a SYN's window is never scaled
	c.maxSndWnd = max(c.maxSndWnd, c.sndWnd)
	// Window scaling holds when both SYNs carry the option: we always put
	// it in our SYN, and in our SYN,ACK only when the peer's SYN had it
	// (RFC 7323 §2.2). Shifts above 14 are taken as 14 (§2.3).
	c.peerWS = in.h.HasWScale && !c.cookie // a cookie cannot hold the shift
	c.sndShift, c.rcvShift = 0, 0
	if c.peerWS {
		c.sndShift, c.rcvShift = min(in.h.WScale, 14), c.s.wantShift()
	}
	peer := 536 // RFC 9293 §3.7.1: the default when no MSS option is received
	if in.h.MSS != 0 {
		peer = int(in.h.MSS)
	}
	c.mss = min(peer, c.s.opt.MSS)
}

// processACK updates SND.UNA, the send buffer, the RTT estimate and the
// send window (RFC 9293 §3.10.7.4 fifth check, RFC 6298, RFC 5681), then
// sends whatever queued text the window now allows.
func (c *Conn) processACK(in *segment) {
	h := in.h
	if !h.Flags.Has(spec.ACK) {
		return
	}
	ack := h.Ack
	now := c.s.clock.Now()
	switch {
	case c.sndUna.LessThan(ack) && ack.LessEq(c.sndNxt):
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
		c.sndUna = ack
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
				c.resend(c.sndUna)
				c.markResend()
			} else {
				c.inRecovery = false
			}
		}
	case ack == c.sndUna && len(in.payload) == 0 && !h.Flags.Has(spec.FIN) && !h.Flags.Has(spec.SYN) &&
		c.sndNxt != c.sndUna && uint32(h.Window)<<c.sndShift == c.sndWnd:
		// A duplicate ACK (RFC 5681 §2): on the third, retransmit at once.
		// A changed window makes it a window update instead (condition
		// (e)); our own duplicate ACKs keep the window last advertised.
		c.dupAcks++
		switch {
		case c.dupAcks == 3 && !c.inRecovery:
			c.inRecovery, c.recover = true, c.sndNxt
			c.rttOn = false
			c.resend(c.sndUna)
			c.markResend()
		case c.inRecovery:
			// Each segment beyond the hole draws at most one duplicate
			// ACK. Three more than were in flight when the hole was
			// resent come from segments sent after it, which arrived
			// while the hole stayed open: the resent segment was lost
			// too, so send it again now rather than at the RTO.
			c.dupSince++
			if c.dupSince > c.markFlight+3 {
				c.resend(c.sndUna)
				c.markResend()
			}
		}
	default:
		c.resendIfStale(in)
	}
	// Window update (RFC 9293 §3.10.7.4, SND.WL1 and SND.WL2), scaled
	// except on a SYN (RFC 7323 §2.3).
	if c.sndWL1.LessThan(h.Seq) || c.sndWL1 == h.Seq && c.sndWL2.LessEq(ack) {
		wnd := uint32(h.Window)
		if !h.Flags.Has(spec.SYN) {
			wnd <<= c.sndShift
		}
		c.sndWnd, c.sndWL1, c.sndWL2 = wnd, h.Seq, ack
		c.maxSndWnd = max(c.maxSndWnd, c.sndWnd)
		if c.sndWnd == 0 {
			// The peer is alive and says wait: zero-window probes do not
			// count towards giving up (RFC 9293 §3.8.6.1).
			c.retries = 0
		}
	}
	// Sending what an opened window now allows is the table's decision:
	// the rows that process an ACK in a state that may send list send text.
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

// acceptText appends the in-order text of in to the receive buffer and
// advances RCV.NXT (RFC 9293 §3.10.7.4 seventh check). Text before RCV.NXT
// was received already and is skipped.
func (c *Conn) acceptText(in *segment) {
	text, seq := in.payload, in.h.Seq
	if seq.LessThan(c.rcvNxt) {
		skip := c.rcvNxt.Sub(seq)
		if uint64(skip) >= uint64(len(text)) {
			return
		}
		text, seq = text[skip:], c.rcvNxt
	}
	if seq != c.rcvNxt {
		return
	}
	if w := int(c.rcvWnd()); len(text) > w {
		text = text[:w]
	}
	if !c.userClosed {
		queueAppend(&c.rcvBuf, &c.rcvStore, text)
	}
	c.rcvNxt = c.rcvNxt.Add(uint32(len(text)))
}

// acceptFIN advances RCV.NXT over the peer's FIN once all text before it
// is in (RFC 9293 §3.10.7.4 eighth check).
func (c *Conn) acceptFIN(in *segment) {
	if fin := in.h.Seq.Add(uint32(len(in.payload))); fin == c.rcvNxt && !c.finRcvd {
		c.rcvNxt++
		c.finRcvd = true
	}
}

// rcvWnd is RCV.WND: the free receive buffer, but never less than what
// was advertised (the right edge does not move left, RFC 9293 §3.8.6).
func (c *Conn) rcvWnd() uint32 {
	free := c.s.opt.RecvBuffer - len(c.rcvBuf)
	if c.userClosed {
		free = c.s.opt.RecvBuffer
	}
	w := uint32(max(free, 0))
	if adv := c.rcvAdvEdge.Sub(c.rcvNxt); c.rcvNxt.LessThan(c.rcvAdvEdge) && adv > w {
		w = adv
	}
	return min(w, 65535<<c.rcvShift)
}

// resendIfStale resends the hole at SND.UNA when in, a segment with text
// or FIN, still acknowledges only the hole long
// after the resent copy should have reached the peer: that copy was lost
// as well. With both directions busy the peer's acknowledgments ride on
// its text and are not duplicate ACKs, so without this only the RTO would
// notice.
func (c *Conn) resendIfStale(in *segment) {
	if in.h.Flags.Has(spec.ACK) && in.h.Ack == c.sndUna && c.inRecovery && c.sndNxt != c.sndUna && c.hasRTT &&
		c.s.clock.Now().Sub(c.resentAt) > max(4*c.srtt, c.s.opt.RTOMin/20) {
		c.resend(c.sndUna)
		c.markResend()
	}
}

// markResend notes that the hole at SND.UNA was just resent.
func (c *Conn) markResend() {
	c.resentAt = c.s.clock.Now()
	c.dupSince = 0
	c.markFlight = (int(c.sndNxt.Sub(c.sndUna)) + c.mss - 1) / max(c.mss, 1)
}

// emit sends a segment to the peer, filling in ports and window.
func (c *Conn) emit(h wire.Header, payload []byte) {
	s := c.s
	h.SrcPort, h.DstPort = c.key.port, c.key.peerPort
	if !h.Flags.Has(spec.RST) {
		w := c.rcvWnd()
		if c.sameWnd && c.rcvNxt.LessThan(c.rcvAdvEdge) {
			w = c.rcvAdvEdge.Sub(c.rcvNxt) // a duplicate ACK repeats the window (RFC 5681 §2 (e))
		}
		if h.Flags.Has(spec.SYN) {
			w = min(w, 65535) // a SYN's window is never scaled
			h.Window = uint16(w)
		} else {
			h.Window = uint16(min(w>>c.rcvShift, 65535))
			w = uint32(h.Window) << c.rcvShift
		}
		if h.Flags.Has(spec.ACK) {
			c.rcvAdvEdge = c.rcvNxt.Add(w)
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
	now := s.clock.Now()
	if s.opt.Pcap != nil {
		s.opt.Pcap.WriteSegment(now, c.local, netip.AddrPortFrom(c.key.peer.Addr(), c.key.peerPort), h, payload)
	}
	if s.opt.Tracer.Transition != nil {
		c.out = append(c.out, Segment{Header: h, Len: len(payload)})
	}
}

func (c *Conn) sendSYN(withACK bool) {
	h := wire.Header{Seq: c.iss, Flags: spec.SYN, MSS: uint16(c.s.opt.MSS)}
	if withACK {
		h.Flags |= spec.ACK
		h.Ack = c.rcvNxt
	}
	if !withACK || c.peerWS {
		h.HasWScale, h.WScale = true, c.s.wantShift()
	}
	if !c.rttOn && c.retries == 0 && !c.replay { // a replayed SYN,ACK left earlier, at an unknown time
		c.rttOn, c.rttSeq, c.rttStart = true, c.iss+1, c.s.clock.Now()
	}
	c.emit(h, nil)
}

func (c *Conn) sendACK() {
	c.emit(wire.Header{Seq: c.sndNxt, Ack: c.rcvNxt, Flags: spec.ACK}, nil)
}

// replyRST answers a segment that has no connection to go to
// (RFC 9293 §3.10.7.1): <SEQ=SEG.ACK><CTL=RST> if it has an ACK, else
// <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
func (c *Conn) replyRST(in *segment) {
	if in == nil {
		return
	}
	if in.h.Flags.Has(spec.ACK) {
		c.emit(wire.Header{Seq: in.h.Ack, Flags: spec.RST}, nil)
		return
	}
	c.emit(wire.Header{Seq: 0, Ack: in.h.Seq.Add(in.segLen()), Flags: spec.RST | spec.ACK}, nil)
}

// sentText is the number of text octets sent (SND.NXT less SYN and FIN).
func (c *Conn) sentText() int {
	n := int(c.sndNxt.Sub(c.sndBufSeq))
	if c.finSent {
		n--
	}
	return max(n, 0)
}

// output sends the queued text the send window allows, in segments of at
// most MSS, and then the FIN once CLOSE was called and no text is left
// (RFC 9293 §3.10.2 and §3.10.4; sender SWS avoidance of §3.8.6.2.1).
func (c *Conn) output() {
	for !c.finSent {
		off := c.sentText()
		unsent := len(c.sndBuf) - off
		inFlight := int(c.sndNxt.Sub(c.sndUna))
		avail := int(c.sndWnd) - inFlight
		n := min(unsent, avail, c.mss)
		if n <= 0 {
			if unsent == 0 && c.finPending {
				c.sendData(off, 0, true)
			}
			return
		}
		if n < c.mss && n < unsent && inFlight > 0 {
			return // wait for a full segment's worth of window
		}
		c.sendData(off, n, c.finPending && n == unsent)
	}
}

// sendData sends n octets of new text from sndBuf[off:], with FIN when fin.
func (c *Conn) sendData(off, n int, fin bool) {
	h := wire.Header{Seq: c.sndNxt, Ack: c.rcvNxt, Flags: spec.ACK}
	if n > 0 {
		h.Flags |= spec.PSH
	}
	if fin {
		h.Flags |= spec.FIN
	}
	end := c.sndNxt.Add(uint32(n))
	if fin {
		end++
	}
	if !c.rttOn {
		c.rttOn, c.rttSeq, c.rttStart = true, end, c.s.clock.Now()
	}
	c.sndNxt = end
	c.finSent = c.finSent || fin
	c.emit(h, c.sndBuf[off:off+n])
}

// resend sends again the segment that starts at seq, an unacknowledged
// sequence number: the SYN (or SYN,ACK), up to MSS octets of text, and the
// FIN if it follows them.
func (c *Conn) resend(seq spec.Seq) {
	c.s.stats.Retransmits++
	c.rttOn = false // Karn: no RTT sample once anything was sent twice
	if seq == c.iss {
		c.sendSYN(c.state == spec.SynReceived)
		return
	}
	off := int(seq.Sub(c.sndBufSeq))
	sent := c.sentText()
	if off < 0 || off > sent {
		return
	}
	n := min(c.mss, sent-off)
	fin := c.finSent && off+n == sent
	h := wire.Header{Seq: seq, Ack: c.rcvNxt, Flags: spec.ACK}
	if n > 0 {
		h.Flags |= spec.PSH
	}
	if fin {
		h.Flags |= spec.FIN
	}
	c.emit(h, c.sndBuf[off:off+n])
}

// retransmit is the action of the retransmission timeout (RFC 6298 §5.4-5.6):
// back off the timer and resend the earliest unacknowledged segment, or,
// with nothing unacknowledged and the peer's window zero, probe the window
// (RFC 9293 §3.8.6.1).
func (c *Conn) retransmit() {
	c.retries++
	c.rto = min(c.rto*2, c.s.opt.RTOMax)
	c.rttOn = false // Karn: no sample from a retransmitted segment
	if c.sndNxt != c.sndUna {
		c.inRecovery, c.recover, c.dupAcks = true, c.sndNxt, 0
		c.resend(c.sndUna)
		c.markResend()
		return
	}
	// A window probe in the manner of Linux: an old sequence number and
	// no text, which the peer must answer with an ACK carrying its window
	// (RFC 9293 §3.10.7.4 first check); it occupies no sequence space.
	c.emit(wire.Header{Seq: c.sndUna - 1, Ack: c.rcvNxt, Flags: spec.ACK}, nil)
}

// delete discards the TCB: timers stop, the connection leaves the stack's
// table, and a child not yet established leaves its listener's backlog.
func (c *Conn) delete() {
	c.deleted = true
	c.rtx.release()
	c.tw.release()
	c.ut.release()
	c.ka.release()
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
	if c.deleted || !c.state.HasTCB() || c.stateless {
		return
	}
	now := c.s.clock.Now()
	outstanding := c.sndNxt != c.sndUna
	probe := !outstanding && c.sndWnd == 0 && len(c.sndBuf) > c.sentText() && c.state.Synchronized()
	switch {
	case c.state == spec.TimeWait || !(outstanding || probe):
		c.rtx.stop()
	case !c.rtx.armed() || c.ackedNew:
		c.rtx.set(c, now.Add(c.rto), c.onRTO)
	}
	switch {
	case outstanding && c.state != spec.TimeWait && (!c.ut.armed() || c.ackedNew):
		c.ut.set(c, now.Add(c.s.opt.UserTimeout), c.onUserTimeout)
	case c.state == spec.FinWait2 && c.userClosed:
		// An orphaned FIN-WAIT-2 (the user has closed) must not wait for
		// the peer for ever: the user timeout bounds it.
		if !c.ut.armed() {
			c.ut.set(c, now.Add(c.s.opt.UserTimeout), c.onUserTimeout)
		}
	case !outstanding:
		c.ut.stop()
	}
	c.armKeepAlive(now, outstanding)
}

// notify wakes every goroutine waiting on the connection.
func (c *Conn) notify() {
	close(c.wake)
	c.wake = make(chan struct{})
}

// retryLimit is how many retransmissions the current state allows.
func (c *Conn) retryLimit() int {
	switch c.state {
	case spec.SynSent:
		return c.s.opt.SynRetries
	case spec.SynReceived:
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

// segmentArrives takes a segment for this connection. Before the table
// sees it, the segment is made the "idealized segment" of RFC 9293
// §3.10.7.4 (trimmed to the receive window, losing a FIN beyond it) and, if
// its text starts beyond RCV.NXT, held until the text before it arrives
// ("segments with higher beginning sequence numbers may be held for later
// processing"), with a duplicate ACK at once (RFC 5681 §4.2).
func (c *Conn) segmentArrives(in *segment) {
	e := spec.Classify(in.h.Flags, len(in.payload))
	if (e == spec.SegData || e == spec.SegFIN) && c.holds() {
		x := c.ctx(in)
		if spec.IsSeqOK(&x) {
			if end := c.rcvNxt.Add(x.RcvWnd); end.LessThan(in.h.Seq.Add(uint32(len(in.payload)))) {
				in.payload = in.payload[:end.Sub(in.h.Seq)]
				in.h.Flags &^= spec.FIN
				e = spec.Classify(in.h.Flags, len(in.payload))
			}
			if c.rcvNxt.LessThan(in.h.Seq) {
				c.hold(in)
				return
			}
			if merged := c.mergeHeld(in); merged != in {
				in, e = merged, spec.Classify(merged.h.Flags, len(merged.payload))
			}
		}
	}
	c.handle(e, in, nil)
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

// holds reports whether the state receives text that may come out of order.
func (c *Conn) holds() bool {
	switch c.state {
	case spec.SynReceived, spec.Established, spec.FinWait1, spec.FinWait2:
		return true
	}
	return false
}

const maxHeld = 256

// hold keeps an out-of-order segment (bounded by the window and a count)
// and sends a duplicate ACK.
func (c *Conn) hold(in *segment) {
	s := c.s
	for _, g := range c.held {
		if g.h.Seq == in.h.Seq && len(g.payload) >= len(in.payload) {
			c.extraACK(in, "duplicate of a held out-of-order segment")
			return
		}
	}
	if len(c.held) >= maxHeld || c.heldBytes+len(in.payload) > s.opt.RecvBuffer {
		s.stats.HeldDrops++
		s.traceExtra(c, false, in, "out of order, hold queue full: dropped")
		return
	}
	g := &segment{h: in.h, payload: append([]byte(nil), in.payload...)}
	i, _ := slices.BinarySearchFunc(c.held, g, func(a, b *segment) int {
		switch {
		case a.h.Seq.LessThan(b.h.Seq):
			return -1
		case a.h.Seq == b.h.Seq:
			return 0
		}
		return 1
	})
	c.held = slices.Insert(c.held, i, g)
	c.heldBytes += len(g.payload)
	c.extraACK(in, "out of order: held")
}

// extraACK reports the held segment and sends the duplicate ACK.
func (c *Conn) extraACK(in *segment, why string) {
	c.s.traceExtra(c, false, in, why)
	c.out = c.out[:0]
	c.sameWnd = true
	c.sendACK()
	c.sameWnd = false
	if len(c.out) > 0 {
		c.s.traceExtraOut(c, c.out[0], "duplicate ACK for out-of-order text")
	}
	c.notify()
}

// drainHeld steps the held segments that RCV.NXT has reached.
func (c *Conn) drainHeld() {
	for len(c.held) > 0 && !c.deleted && c.holds() {
		g := c.held[0]
		end := g.h.Seq.Add(g.segLen())
		if c.rcvNxt.LessThan(g.h.Seq) {
			return
		}
		c.held = c.held[1:]
		c.heldBytes -= len(g.payload)
		if end.LessEq(c.rcvNxt) {
			continue // all of it arrived again meanwhile
		}
		// Its acknowledgment is as old as its arrival: the segments that
		// filled the gap may have moved SND.UNA far past it, beyond the
		// RFC 5961 §5.2 range, which would drop the text. Its ACK was in
		// range when it arrived, so it is presented acknowledging SND.UNA.
		if g.h.Flags.Has(spec.ACK) && g.h.Ack.LessThan(c.sndUna) {
			g.h.Ack = c.sndUna
		}
		c.handle(spec.Classify(g.h.Flags, len(g.payload)), g, nil)
	}
}

// windowUpdate sends an ACK when a read has opened the window by at least
// min(MSS, half the buffer) beyond the edge last advertised (receiver SWS
// avoidance, RFC 9293 §3.8.6.2.2), so a sender waiting on a small window
// learns of the space.
func (c *Conn) windowUpdate() {
	if c.deleted || !c.state.Synchronized() || c.finRcvd {
		return
	}
	edge := c.rcvNxt.Add(c.rcvWnd())
	if !c.rcvAdvEdge.LessThan(edge) || int(edge.Sub(c.rcvAdvEdge)) < min(c.mss, c.s.opt.RecvBuffer/2) {
		return
	}
	c.out = c.out[:0]
	c.sendACK()
	if len(c.out) > 0 {
		c.s.traceExtraOut(c, c.out[0], "window update after a read")
	}
}

func (s *Stack) traceExtra(c *Conn, sent bool, in *segment, why string) {
	if s.opt.Tracer.Extra != nil {
		s.opt.Tracer.Extra(s.clock.Now(), c.local, c.remote, sent, *in.trace(), why)
	}
}

func (s *Stack) traceExtraOut(c *Conn, seg Segment, why string) {
	if s.opt.Tracer.Extra != nil {
		s.opt.Tracer.Extra(s.clock.Now(), c.local, c.remote, true, seg, why)
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

func (t *ctimer) stop() { t.at = time.Time{} }

// release disarms the timer and stops the clock's timer too.
func (t *ctimer) release() {
	t.at, t.sched = time.Time{}, time.Time{}
	if t.t != nil {
		t.t.Stop()
	}
}

// set arms the timer to call fn (with the stack locked) at at.
func (t *ctimer) set(c *Conn, at time.Time, fn func()) {
	t.at = at
	now := c.s.clock.Now()
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

func (t *ctimer) fire(c *Conn, fn func()) {
	s := c.s
	s.mu.Lock()
	defer s.unlock()
	t.sched = time.Time{}
	if s.closed || c.deleted || t.at.IsZero() {
		return
	}
	now := s.clock.Now()
	if now.Before(t.at) {
		t.sched = t.at
		t.t.Reset(t.at.Sub(now))
		return
	}
	t.at = time.Time{}
	fn()
	c.drainHeld()
}
