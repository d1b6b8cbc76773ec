package capture

import (
	"fmt"
	"slices"

	"github.com/tcpcheck/tcpcheck/spec"
)

// machine is the table every shadow steps.
var machine = func() *spec.Machine {
	m, err := spec.NewMachine(spec.Table())
	if err != nil {
		panic(err) // the table is validated by spec's own tests
	}
	return m
}()

// rec is one captured segment of a connection, as the checker keeps it.
type rec struct {
	frame int
	nanos int64
	dir   uint8 // 0: sent by host 0 (the first to send), 1: by host 1
	sack  bool
	sum   Checksum
	old   bool // a copy of a segment of the connection's earlier incarnation
	// uncaptured: not a captured segment but text its host sent that the
	// capture has not shown (conn.uncaptured). Only an account that takes
	// the capture to have missed it delivers it (looseGaps); to the others
	// it is lost.
	uncaptured bool
	// pre: uncaptured text sent before the capture started (conn.preN),
	// which the capture could not show, nor how it was cut.
	pre   bool
	hasTS bool // it carried the timestamps option (RFC 7323 §3)
	// piece: cut from a larger captured segment (conn.appendPieces); the
	// peer may have had that segment whole.
	piece bool
	tsVal uint32 // its TSval
	seg   spec.Segment
}

// maxHistory is how many states a state line keeps.
const maxHistory = 14

// history is the states a shadow went through, as a plain value.
type history struct {
	n  uint8
	st [maxHistory]spec.State
}

func (h *history) add(s spec.State) {
	if h.n > 0 && h.st[h.n-1] == s {
		return
	}
	if int(h.n) == maxHistory {
		copy(h.st[1:], h.st[2:])
		h.n--
	}
	h.st[h.n] = s
	h.n++
}

func (h *history) list() []spec.State { return append([]spec.State(nil), h.st[:h.n]...) }

// maxHeld bounds the segments a shadow holds out of order. A receiver
// holds whatever arrives ahead of RCV.NXT within its window (RFC 9293
// §3.10.7.4): 4096 segments of 1448 octets are a window of 6 MB, more than
// Linux's default largest receive buffer. The bound keeps a candidate's
// memory, and the copying of its sorted list (a crafted capture of
// segments all beyond a hole), in reach; beyond it a segment is taken as
// lost, and its retransmission fills the gap.
const maxHeld = 1 << 12

// shadow is one candidate state of a host: its TCB, how far it has taken
// the peer's captured segments (next: the index of the first not yet
// delivered), what it holds out of order, and the states it went through.
type shadow struct {
	tcb spec.TCB
	// owedEnd is the RCV.NXT that the segment of owedFrame reached: an
	// ACK at or beyond it pays the owed ACK. (Beside tcb, where it costs
	// no padding: the checker copies shadows at every step.)
	owedEnd spec.Seq
	next    int
	// held is text that arrived beyond RCV.NXT, kept until the text
	// before it is in. Shadows are copied to branch, so the slice is never
	// changed in place: every change makes a new one.
	held []spec.Segment
	hist history
	// owedFrame is the frame of the peer's segment whose accepted text
	// (or FIN) this host has not yet acknowledged: the first since its
	// last ACK (0: every accepted octet is acknowledged). owedAt is the
	// capture time from which the ACK counts as owed.
	owedFrame int
	owedAt    int64
	// twAt and twFrame are the capture time and frame of the segment
	// whose delivery (re)started the 2MSL timer, entering TIME-WAIT or on
	// a retransmitted FIN in it; twShort is how long TIME-WAIT had lasted
	// when this account ended it, when that was shorter than the floor
	// (0: not short).
	twAt    int64
	twFrame int
	twShort int64
	// kaProbed: the host's last explained segment was a keepalive probe,
	// and nothing from the peer has been delivered since.
	kaProbed bool
	// loose says how this account goes beyond the model of the capture
	// point, tried only when no other explains a segment (conn.explain).
	// With looseEdge it takes the host to have shrunk its window, so that
	// RCV.WND is what is left of it up to edge, the right edge it
	// advertised last, and not the largest window it ever advertised (the
	// host dropped text it had offered room for, RFC 9293 §3.8.6). With
	// looseGaps it delivers the peer's text the capture missed.
	loose loose
	edge  spec.Seq
	// tsRecent is RFC 7323's TS.Recent (when tsSet): the TSval PAWS holds
	// the peer's segments to.
	tsRecent uint32
	// owedFrom is where the text whose ACK is owed starts (RCV.NXT before
	// the delivery of owedFrame).
	owedFrom spec.Seq
	tsSet    bool
	// twRST: a RST at RCV.NXT was delivered in TIME-WAIT, which the table
	// ignores (RFC 1337) and RFC 9293 §3.10.7.4 closes on; twKilled: this
	// account then ended TIME-WAIT (conn.silent), as Linux does.
	twRST, twKilled bool
	// invalidAt is the capture time of the latest unacceptable empty
	// segment this account took whose ACK it did not take to be
	// rate-limited (appendOuts; 0: none).
	invalidAt int64
	// tcbLost: this account dropped the host's TCB without a segment
	// (conn.silent) before the SYN being explained.
	tcbLost bool
	// astray are the peer's segments that the account of loss after the
	// capture point took the host not to have had (take, arrive): lost,
	// or delayed after the capture point, to arrive later. Shared like
	// held: replaced, never changed in place.
	astray []rec
}

// lateNote is what shadow.sent finds: cause is the frame that made an
// ACK owed which the segment just explained came, or went out without,
// later than the bound (0: in time); by is the delay in nanoseconds.
type lateNote struct {
	cause int
	by    int64
}

// owe notes that the delivery of r (RCV.NXT was before) made sh owe an
// ACK: text or a FIN accepted, RCV.NXT moved (RFC 1122 §4.2.3.2 bounds
// how long the ACK may wait). The ACK is owed from r's capture time, or
// from prev, the capture time of the host's segment before the one being
// explained, if that is later: in the account of a candidate that
// delivers r only now (r delayed in the network), r arrived after the
// host sent that segment without its ACK, so only the delay the capture
// shows is counted.
func (sh *shadow) owe(r *rec, before spec.Seq, prev int64) {
	if sh.owedFrame != 0 && sh.tcb.RcvNxt() == before {
		sh.copyOfOwed(r, prev)
		return
	}
	if s := &r.seg; sh.owedFrame != 0 && s.Seq.LessEq(sh.owedFrom) && sh.owedFrom.LessThan(s.Seq.Add(s.SegLen())) && sh.owedAt < r.nanos {
		// A copy of the owed text with more text after it (a
		// retransmission that took in later writes): in the account
		// where the earlier copies were lost after the capture point, r
		// brought it all, and the ACK is owed from r.
		sh.owedFrame, sh.owedAt, sh.owedEnd = r.frame, max(r.nanos, prev), sh.tcb.RcvNxt()
		return
	}
	if sh.owedFrame != 0 || r.seg.Flags.Has(spec.SYN) || sh.tcb.RcvNxt() == before {
		return
	}
	sh.owedFrame, sh.owedAt, sh.owedFrom, sh.owedEnd = r.frame, max(r.nanos, prev), before, sh.tcb.RcvNxt()
}

// copyOfOwed notes r, captured later, when it is a copy of text (or the
// FIN) sh has taken and owes the ACK of: in the account where the
// earlier copies were lost after the capture point, r brought the text,
// and the ACK is owed from r (or from prev, the host's segment before, if
// later). That account is within the model, so a late ACK is reported
// only when it is late in this one too.
func (sh *shadow) copyOfOwed(r *rec, prev int64) {
	if sh.owedFrame == 0 || r.seg.SegLen() == 0 {
		return
	}
	if end := r.seg.Seq.Add(r.seg.SegLen()); sh.owedFrom.LessThan(end) && end.LessEq(sh.owedEnd) && sh.owedAt < r.nanos {
		sh.owedFrame, sh.owedAt = r.frame, max(r.nanos, prev)
	}
}

// sent checks the ACK sh owes against the host's segment r, just
// explained: when r comes more than bound nanoseconds (0: no bound known)
// after the ACK became owed, it says so; an ACK at or beyond owedEnd
// pays the owed one, a RST ends it, and so does a late segment (it is
// reported once).
func (sh *shadow) sent(r *rec, bound int64) lateNote {
	if sh.owedFrame == 0 {
		return lateNote{}
	}
	if d := r.nanos - sh.owedAt; bound > 0 && d > bound {
		n := lateNote{cause: sh.owedFrame, by: d}
		sh.owedFrame = 0
		return n
	}
	if s := &r.seg; s.Flags.Has(spec.ACK) && sh.owedEnd.LessEq(s.Ack) || s.Flags.Has(spec.RST) {
		sh.owedFrame = 0
	}
	return lateNote{}
}

// hostInfo is what a host's own segments say of its parameters.
type hostInfo struct {
	mss uint16
	// cutUnit, while the capture has not shown the host's SYN (so not
	// its MSS), is the greatest common divisor of where its ACKs cut the
	// peer's segments, each from the start of the segment it cut
	// (conn.cutAtACK): the size segmentation offload cut them to divides
	// it. 0: none cut.
	cutUnit uint32
	wscale  bool
	shift   uint8
	maxWnd  uint32 // the largest window it advertised, scaled
	sawSYN  bool
	syns    uint8    // the SYN segments the capture showed it send, up to 255
	synSeq  spec.Seq // the SEQ of its SYN (or one before its first segment)
	finSeen bool
	rstSeen bool
	maxEnd  spec.Seq // highest SEG.SEQ+SEG.LEN sent
	// endAck is the ACK of the segment that moved maxEnd last (when
	// endAcked): a segment the host sent before it acknowledged no more.
	endAck   spec.Seq
	endAcked bool
	// irsGuessed: the capture did not show the peer's SYN (it starts from
	// the middle), and the host's IRS is one before its first ACK
	// (conn.start): the host may have acknowledged less before.
	irsGuessed bool
	// older: the capture's first segment is its peer's SYN, and the
	// host's first is an ACK of a connection it had before
	// (conn.olderTCB), whose window scale the capture did not show.
	older    bool
	maxAck   spec.Seq // highest SEG.ACK sent (when ackSent)
	ackSent  bool
	anySent  bool
	prevLo   spec.Seq // the earlier incarnation's sequence space of this host
	prevHi   spec.Seq
	havePrev bool
	quiet    bool // explanations are being searched: do not render reasons
	// windowShort: an account of the segment being explained failed only
	// because the send window did not hold its text.
	windowShort bool
	eff         spec.Effect // scratch for spontaneous
	// lastSent is the capture time of the latest segment of this host
	// that the checker explained (every candidate explains the same ones).
	lastSent int64
	// edge is the right edge of the receive window this host advertised
	// last (SEG.ACK + SEG.WND, scaled, of its latest explained segment
	// with an ACK); maxEdge the rightmost it ever advertised. shrank is
	// the frame of its first segment that moved the edge to the left of
	// an earlier one by more than the rounding of window scaling (RFC
	// 7323 §2.4), which RFC 9293 §3.8.6 says it SHOULD NOT (0: never).
	edge, maxEdge spec.Seq
	haveEdge      bool
	shrank        int
	// after is what the segment being explained can be when the host has
	// no TCB any more (conn.afterClose).
	after afterClose
	// alt is another state after the segment just explained (when
	// hasAlt), for an explanation that has two: the last octet of a gap
	// before it taken as the host's FIN rather than text (spontaneous).
	alt    *shadow
	hasAlt bool
}

// afterClose is what a segment of a host whose TCB is gone (CLOSED, or
// LISTEN again) can be, besides what the table sends there.
type afterClose uint8

const (
	afterNone afterClose = iota
	// afterCopy: a copy of a segment the host sent before, captured late
	// (delayed between the host and the capture point): it sends nothing
	// the capture has not shown before, its text and FIN within what the
	// host sent, its ACK within what it acknowledged.
	afterCopy
	// afterAnswer: a RST without ACK whose SEQ may be an acknowledgment
	// the peer's segments have carried (after the host's SYN, at or before
	// the highest the peer sent: the checker keeps no list of them): the
	// table's answer in CLOSED or LISTEN, <SEQ=SEG.ACK><CTL=RST> (RFC 9293
	// §3.10.7.1, §3.10.7.2), to a late copy of one of them (delayed after
	// the capture point).
	afterAnswer
)

// advertise notes the receive window that host's explained segment r
// offers, scaled to w octets; unit is what one step of its window field
// is worth, by which scaling rounds the window down (RFC 7323 §2.4).
func (h *hostInfo) advertise(r *rec, w, unit uint32) {
	s := &r.seg
	if r.old || !s.Flags.Has(spec.ACK) || s.Flags.Has(spec.RST) {
		return
	}
	h.edge = s.Ack.Add(w)
	if !h.haveEdge || h.maxEdge.LessThan(h.edge) {
		h.haveEdge, h.maxEdge = true, h.edge
		return
	}
	if h.shrank == 0 && h.maxEdge.Sub(h.edge) >= unit {
		h.shrank = r.frame
	}
}

// shrunk reports whether the right edge of the window the host
// advertised last is left of the rightmost it ever advertised, by at
// least the window's unit (advertise): its window is shrunk now.
func (h *hostInfo) shrunk() bool {
	return h.shrank != 0 && h.edge.LessThan(h.maxEdge)
}

func (h *hostInfo) params() spec.Params {
	mss := h.mss
	if mss == 0 {
		mss = 65535
	}
	wnd := h.maxWnd
	if wnd == 0 {
		wnd = 65535
	}
	return spec.Params{MSS: mss, WScale: h.wscale, Shift: h.shift, RcvWnd: wnd}
}

// deliver delivers seg to sh (a segment arrival). A segment that
// [spec.State.HoldsSegment] names is held until RCV.NXT reaches it (RFC
// 9293 §3.10.7.4), and what it says at once is stepped now: its ACK and
// window are processed and its text answered with a duplicate ACK (RFC
// 5681 §4.2), as real stacks do, but a FIN it carries is left for its
// turn ("if the FIN bit is set ... in sequence", the eighth step), so the
// state does not move past text not yet received. Then the held segments
// that have become in order are stepped. What the table sends is
// appended to eff.Out.
func (sh *shadow) deliver(r *rec, p spec.Params, eff *spec.Effect) {
	seg := &r.seg
	if r.uncaptured {
		if sh.loose&looseGaps == 0 {
			return // text the capture missed, in an account where it was lost
		}
		if una := sh.tcb.SndUna(); seg.Flags.Has(spec.ACK) && seg.Ack.LessThan(una) && sh.tcb.State().Synchronized() {
			// Its ACK is the checker's guess (the peer's last the capture
			// showed); this account has the peer acknowledge SND.UNA
			// before (ACKs the capture missed too), so the peer sent this
			// with at least that: an older one can be too old to take
			// (RFC 5961 §5.2).
			m := *r
			m.seg.Ack = una
			r, seg = &m, &m.seg
		}
	}
	sh.kaProbed = false
	if seg.Flags.Has(spec.RST) && sh.tcb.State() == spec.TimeWait && seg.Seq == sh.tcb.RcvNxt() {
		sh.twRST = true
	}
	if sh.pawsDrops(r) {
		// PAWS (RFC 7323 §5.3, R1): a segment whose TSval is older than
		// TS.Recent is not acceptable: it is acknowledged and dropped.
		eff.Out = append(eff.Out, sh.tcb.ACK())
		return
	}
	p = sh.window(p)
	if r.hasTS && !seg.Flags.Has(spec.SYN) && p.MSS > tsSpace {
		// A full-sized segment of a peer that sends timestamps holds the
		// MSS less the option (appendPieces): the delayed ACK's count of
		// full-sized segments is of those (spec.Params.MSS).
		p.MSS -= tsSpace
	}
	x := sh.tcb.Ctx(seg, p.RcvWnd)
	if r.hasTS && (seg.Flags.Has(spec.SYN) || spec.IsSeqOK(&x)) {
		// R3 holds for acceptable segments only (R2 rejects the others).
		defer sh.tsUpdate(r, sh.tcb.LastAckSent(), sh.tcb.State())
	}
	if !sh.tcb.State().HoldsSegment(&x) {
		sh.timed(sh.step(spec.Classify(seg.Flags, int(seg.Len)), seg, p, eff), r)
		sh.drain(r, p, eff)
		return
	}
	sh.hold(seg)
	early := *seg
	early.Flags &^= spec.FIN
	n := len(eff.Out)
	sh.step(spec.Classify(early.Flags, int(early.Len)), &early, p, eff)
	if len(eff.Out) == n && early.Len == 0 {
		eff.Out = append(eff.Out, sh.tcb.ACK()) // a FIN alone beyond RCV.NXT: its duplicate ACK
	}
}

// pawsDrops reports whether PAWS (RFC 7323 §5.3) drops r in sh: a
// segment with text or a FIN whose TSval is below TS.Recent in a
// synchronized state. Linux lets a TSval one below TS.Recent through
// (TCP_PAWS_WINDOW) and accepts old pure ACKs (tcp_disordered_ack), so
// PAWS here holds only the segments that would change RCV.NXT.
func (sh *shadow) pawsDrops(r *rec) bool {
	s := &r.seg
	return r.hasTS && sh.tsSet && (s.Len > 0 || s.Flags.Has(spec.FIN)) && s.Flags&(spec.RST|spec.SYN) == 0 &&
		sh.tcb.State().Synchronized() && int32(r.tsVal-sh.tsRecent) < -1
}

// tsUpdate keeps TS.Recent after the delivery of r, an acceptable
// segment, which arrived when Last.ACK.sent was lastAck in state st: a
// SYN's TSval starts it (RFC 7323 §4.3), and a later TSval not older
// replaces it when SEG.SEQ is at or before Last.ACK.sent (R3, as Linux's
// tcp_replace_ts_recent).
func (sh *shadow) tsUpdate(r *rec, lastAck spec.Seq, st spec.State) {
	if !r.hasTS {
		return
	}
	switch {
	case r.seg.Flags.Has(spec.SYN):
		sh.tsRecent, sh.tsSet = r.tsVal, true
	case sh.tsSet && st.Synchronized() && int32(r.tsVal-sh.tsRecent) >= 0 && r.seg.Seq.LessEq(lastAck):
		sh.tsRecent = r.tsVal
	}
}

// hold adds seg to sh.held, which is kept in sequence order; a copy of a
// segment already held is not added again. The slice is shared with the
// shadows sh was copied from, so it is replaced, never changed in place.
func (sh *shadow) hold(seg *spec.Segment) {
	i, _ := slices.BinarySearchFunc(sh.held, seg.Seq, func(h spec.Segment, q spec.Seq) int {
		switch {
		case h.Seq == q:
			return 0
		case h.Seq.LessThan(q):
			return -1
		}
		return 1
	})
	for j := i; j < len(sh.held) && sh.held[j].Seq == seg.Seq; j++ {
		if sh.held[j].Len == seg.Len && sh.held[j].Flags == seg.Flags {
			return
		}
	}
	if len(sh.held) >= maxHeld {
		return // beyond the bound: as if lost; the sender's retransmission fills the gap
	}
	held := make([]spec.Segment, 0, len(sh.held)+1)
	held = append(append(append(held, sh.held[:i]...), *seg), sh.held[i:]...)
	sh.held = held
}

// drain steps the held segments that RCV.NXT has reached, in sequence
// order, while the state still holds segments out of order.
func (sh *shadow) drain(r *rec, p spec.Params, eff *spec.Effect) {
	for len(sh.held) > 0 && sh.held[0].Seq.LessEq(sh.tcb.RcvNxt()) && sh.tcb.State().HoldsOutOfOrder() {
		h := sh.held[0]
		sh.held = sh.held[1:]
		before := sh.tcb.RcvNxt()
		var e2 spec.Effect
		sh.timed(sh.step(spec.Classify(h.Flags, int(h.Len)), &h, p, &e2), r)
		if sh.tcb.RcvNxt() != before {
			// One acknowledgment covers the text that came in and the
			// text it made in order (RFC 9293 §3.10.7.4, seventh).
			if n := len(eff.Out); n > 0 && eff.Out[n-1].Flags == spec.ACK && eff.Out[n-1].Len == 0 {
				eff.Out = eff.Out[:n-1]
			}
			eff.Out = append(eff.Out, e2.Out...)
		}
	}
	if !sh.tcb.State().HoldsOutOfOrder() {
		sh.held = nil
	}
}

// timed notes the time of r, whose delivery had row run, when the row
// (re)starts the 2MSL timer.
func (sh *shadow) timed(row int, r *rec) {
	if row >= 0 && startsTimeWait[row] {
		sh.twAt, sh.twFrame = r.nanos, r.frame
	}
}

// startsTimeWait says, by row, whether the row starts the 2MSL timer.
var startsTimeWait = func() []bool {
	rows := machine.Rows()
	out := make([]bool, len(rows))
	for i := range rows {
		out[i] = slices.Contains(rows[i].Do, spec.StartTimeWait)
	}
	return out
}()

// window returns p with RCV.WND what is left up to the edge in a
// looseEdge account: the window advertised last, less the text accepted
// since.
func (sh *shadow) window(p spec.Params) spec.Params {
	if sh.loose&looseEdge != 0 && sh.tcb.State().Synchronized() {
		p.RcvWnd = 0
		if n := sh.tcb.RcvNxt(); n.LessThan(sh.edge) {
			p.RcvWnd = sh.edge.Sub(n)
		}
	}
	return p
}

// step is TCB.Step that keeps the state line.
func (sh *shadow) step(e spec.Event, in *spec.Segment, p spec.Params, eff *spec.Effect) int {
	row := sh.tcb.Step(machine, e, in, sh.window(p), eff)
	sh.hist.add(sh.tcb.State())
	return row
}

// segString renders a segment in the notation of RFC 9293 §3.10.
func segString(s *spec.Segment) string {
	out := fmt.Sprintf("<SEQ=%d>", uint32(s.Seq))
	if s.Flags.Has(spec.ACK) {
		out += fmt.Sprintf("<ACK=%d>", uint32(s.Ack))
	}
	out += "<CTL=" + (s.Flags &^ (spec.PSH | spec.ECE | spec.CWR | spec.URG)).String() + ">"
	if s.Len > 0 {
		out += fmt.Sprintf("<DATA=%d>", s.Len)
	}
	return out
}
