package capture

// The accounts conn.explain tries only when no candidate explains a
// segment (docs/capture.md): segments lost or delayed after the capture
// point, a window that shrank, and text the capture missed.

import (
	"slices"
	"time"

	"github.com/tcpcheck/tcpcheck/spec"
)

// loose is a set of the ways an account may go beyond the model of the
// capture point.
type loose uint8

const (
	// looseLost is not beyond the model: segments lost or delayed after
	// the capture point (shadow.take, shadow.arrive). It is a retry of its
	// own, because a search that asked of every segment whether it was
	// lost would branch at each one; the segment the host sends says
	// which were.
	looseLost   loose = 1 << iota
	looseEdge         // the host shrank its window
	looseAhead        // the capture missed the peer's text acknowledged beyond everything it showed (conn.ahead)
	looseSent         // the host sent that text before the segment (conn.sendGaps)
	looseGaps         // the capture missed text the host received
	looseUnseen       // (a retry's) only text the capture never showed later (conn.takeGaps)
	looseACK          // the capture missed the peer's ACK that opened the send window (shadow.openWindow)
	looseOwn          // the capture missed the host's own text before its ACK (conn.own)
)

// looseOrder is the order in which conn.explain tries the loose
// accounts: a shrunk window first (tried only for a host whose window's
// right edge did move left, and the more telling account where it
// explains), then loss after the capture point (within the model), the
// capture's gaps, the gaps with loss, and, in a capture that may have
// dropped packets (Options.CaptureDropped), text acknowledged beyond
// everything captured: received, sent, and both at once (a request the
// capture missed, sent, and the missed response to it, received).
var looseOrder = [...]loose{looseEdge, looseLost, looseGaps, looseGaps | looseUnseen, looseGaps | looseLost, looseGaps | looseUnseen | looseLost,
	looseGaps | looseAhead, looseSent, looseSent | looseGaps, looseACK, looseGaps | looseAhead | looseACK,
	looseOwn | looseSent | looseACK, looseOwn | looseSent | looseGaps | looseACK, looseOwn | looseSent | looseGaps | looseAhead | looseACK}

// looseNext returns the next loose account to try for host d, after the
// first tried of looseOrder, that may explain r where the others do not
// (0: none left), and how many of looseOrder are passed with it.
func (c *conn) looseNext(d uint8, r *rec, tried int) (loose, int) {
	for ; tried < len(looseOrder); tried++ {
		m := looseOrder[tried]
		switch {
		case m&looseAhead != 0 && !c.aheadOf(d, r):
		case m&looseOwn != 0 && !c.ownAhead(d, r):
		case m&looseSent != 0 && m&looseOwn == 0 && (!c.dropped || len(c.gaps[d]) == 0):
		case m&looseACK != 0 && m&looseOwn == 0 && (!c.dropped || !c.info[1-d].anySent || r.seg.Len == 0 && !r.seg.Flags.Has(spec.FIN) || r.seg.Flags.Has(spec.SYN)):
		case m&looseGaps != 0 && m&looseAhead == 0 && c.gapN[1-d] == 0:
		case m&looseEdge != 0 && !c.info[d].shrunk():
		case m&looseLost != 0 && len(c.sent[1-d]) == 0 && !c.anyAstray(d):
		default:
			return m, tried + 1
		}
	}
	return 0, tried
}

// anyAstray reports whether a candidate of host d holds segments out of
// order or has segments astray: an account of loss after the capture
// point may explain its segment with none of the peer's pending.
func (c *conn) anyAstray(d uint8) bool {
	for i := range c.cands[d] {
		if len(c.cands[d][i].held) > 0 || len(c.cands[d][i].astray) > 0 {
			return true
		}
	}
	return false
}

// uncaptured adds to host d's segments, before r, the text of n octets
// from from, and then its FIN when fin, that the explanation of r takes
// the host to have sent first though the capture has not shown it:
// reordered or dropped between the host and the capture point, or missed
// by the capture itself (tcpdump's "packets dropped by kernel"). They
// carry ack, the host's ACK when it sent them. Its peer may have received
// them, and may acknowledge them; a copy the capture shows later is then
// a duplicate. They are cut to the peer's MSS as a sender's segments are.
func (c *conn) uncaptured(d uint8, r *rec, from spec.Seq, n uint32, fin bool, ack spec.Seq, pre bool) {
	for _, g := range c.gaps[d] {
		// Text added before (conn.ahead) is not added again.
		if end := g.r.seg.Seq.Add(g.r.seg.Len); n > 0 && g.r.seg.Seq.LessEq(from) && from.LessThan(end) {
			k := min(end.Sub(from), n)
			from, n = from.Add(k), n-k
		}
	}
	if n == 0 && !fin {
		return
	}
	sent := c.sent[d]
	i := len(sent)
	for i > 0 && sent[i-1].frame == r.frame {
		i-- // r's own pieces: the peer has not taken them
	}
	m := rec{frame: r.frame, nanos: r.nanos, dir: d, uncaptured: true, pre: pre,
		seg: spec.Segment{Seq: from, Ack: ack, Flags: spec.ACK, Window: r.seg.Window, Len: n}}
	if fin {
		m.seg.Flags |= spec.FIN
	}
	pieces := c.appendPieces(nil, d, m, r.hasTS)
	switch {
	case len(sent) > 4*maxPending:
		// Whole: a capture (a crafted one) that makes every segment a gap
		// would otherwise multiply the segments kept.
		pieces = append(pieces[:0], m)
	case len(pieces) > maxGapPieces, len(pieces) == 1 && n > largestWindow(0):
		// In maxGapPieces pieces, larger than the MSS: each fits the
		// window the text went through (n is at most maxInFlight, the
		// largest window or minAhead: a piece at most 1/64 of it), where
		// one whole segment of it would not. (appendPieces leaves whole
		// text it would cut into maxPieces or more.)
		pieces = pieces[:0]
		size := (n + maxGapPieces - 1) / maxGapPieces
		for off := uint32(0); off < n; off += size {
			p := m
			p.seg.Seq, p.seg.Len, p.seg.Flags = from.Add(off), min(size, n-off), spec.ACK
			p.piece = true
			if off+p.seg.Len == n {
				p.seg.Flags = m.seg.Flags
			}
			pieces = append(pieces, p)
		}
	}
	c.sent[d] = slices.Insert(sent, i, pieces...)
	for j := range pieces {
		if len(c.gaps[d]) == maxGapsKept {
			c.gaps[d] = append(c.gaps[d][:0], c.gaps[d][1:]...)
		}
		c.gaps[d] = append(c.gaps[d], gapPiece{at: c.base[d] + i + j, r: pieces[j]})
		c.gapN[d]++
		if pre {
			c.preN[d]++
		}
	}
}

// aheadOf reports whether r, host d's segment, acknowledges text beyond
// everything the capture has shown its peer sending, by at most maxAhead,
// in a capture that may have dropped packets (Options.CaptureDropped).
func (c *conn) aheadOf(d uint8, r *rec) bool {
	peer := &c.info[1-d]
	s := &r.seg
	return (c.dropped && (peer.anySent && c.nRecent[1-d] > 0 || c.mid) || c.preCapture(d, r)) &&
		s.Flags.Has(spec.ACK) && !s.Flags.Has(spec.RST) && peer.maxEnd.LessThan(s.Ack) && s.Ack.Sub(peer.maxEnd) <= c.maxAhead(d)
}

// preCapture reports whether r, host d's segment in a connection the
// capture shows from its middle, comes within preCaptureFor of the
// capture's first segment, and the peer has sent nothing the capture
// shows: the peer's text host d acknowledges then may have been in flight
// when the capture started.
func (c *conn) preCapture(d uint8, r *rec) bool {
	return c.mid && !c.info[1-d].anySent && r.nanos-c.capStart <= int64(preCaptureFor)
}

// preCaptureFor bounds how long after the start of a capture a host of a
// connection it shows from the middle may acknowledge text its peer sent
// before it: a second, longer than the round trips and delayed ACKs of
// the paths the checker is meant for. After it, and in a capture that
// shows one direction only, such an ACK fails (it says the capture shows
// nothing of the peer).
const preCaptureFor = time.Second

// ownAhead reports whether r, host d's pure ACK, comes after text of the
// host's own that the capture has not shown, by at most what its peer's
// window lets be in flight, in a capture that may have dropped packets
// (Options.CaptureDropped): its SEQ is beyond SND.NXT in every account.
// (Text beyond is an account of its own, the gap of emit.)
func (c *conn) ownAhead(d uint8, r *rec) bool {
	return c.dropped && c.ownMissing(d, r)
}

// ownMissing is ownAhead in any capture.
func (c *conn) ownMissing(d uint8, r *rec) bool {
	s := &r.seg
	if s.Len > 0 || s.Flags&(spec.ACK|spec.SYN|spec.FIN|spec.RST) != spec.ACK || len(c.cands[d]) == 0 {
		return false
	}
	from := c.ownFrom(d)
	return from.LessThan(s.Seq) && s.Seq.Sub(from) <= c.maxAhead(1-d)
}

// ownFrom is where host d's text that the capture missed starts: the
// furthest SND.NXT of its accounts.
func (c *conn) ownFrom(d uint8) spec.Seq { return c.furthest(d, (*spec.TCB).SndNxt) }

// furthest returns the furthest v of host d's accounts (it has one at
// least).
func (c *conn) furthest(d uint8, v func(*spec.TCB) spec.Seq) spec.Seq {
	f := v(&c.cands[d][0].tcb)
	for i := range c.cands[d] {
		if n := v(&c.cands[d][i].tcb); f.LessThan(n) {
			f = n
		}
	}
	return f
}

// own adds to host d's segments the text before r, its pure ACK, that the
// capture missed (ownAhead): the host sent it after its last segment the
// capture shows, with that segment's ACK, and the peer may have taken it.
// Only the accounts that take the host to have sent missed text send it
// (looseSent).
func (c *conn) own(d uint8, r *rec) {
	from := c.ownFrom(d)
	ack := r.seg.Ack
	if c.nRecent[d] > 1 {
		if prev := c.recentRec(d, 1); prev.seg.Flags.Has(spec.ACK) {
			ack = prev.seg.Ack
		}
	}
	c.uncaptured(d, r, from, r.seg.Seq.Sub(from), false, ack, false)
}

// maxAhead bounds the text conn.ahead takes a capture to have missed
// before host d's ACK: the most its peer can have in flight (maxInFlight
// of d's window shift).
func (c *conn) maxAhead(d uint8) uint32 {
	return maxInFlight(c.windowShift(d))
}

// largestWindow is the largest window a field scaled by shift can offer:
// 65,535 octets scaled (RFC 7323 §2.3).
func largestWindow(shift uint8) uint32 { return uint32(65535) << shift }

// maxInFlight bounds the text a capture is taken to have missed in one
// gap: the largest window a receiver whose windows are scaled by shift
// can offer, and at least minAhead (a gap may span several windows).
func maxInFlight(shift uint8) uint32 { return max(minAhead, largestWindow(shift)) }

// minAhead is the least bound of maxInFlight: as much as maxGapPieces
// pieces that each fit the largest window without scaling (about 4 MiB).
// tcpdump dropping 80% of a 2 MiB transfer without window scaling missed
// 1.5 MiB at once.
const minAhead = maxGapPieces * 65535

// keptGaps is a host's segments and uncaptured text as they were before
// conn.ahead added to them, for a retry that fails.
type keptGaps struct {
	sent       int
	gaps       []gapPiece
	gapN, preN uint32
}

// keepGaps returns host d's segments and uncaptured text as they are.
func (c *conn) keepGaps(d uint8) *keptGaps {
	return &keptGaps{sent: len(c.sent[d]), gaps: slices.Clone(c.gaps[d]), gapN: c.gapN[d], preN: c.preN[d]}
}

// restore puts back host d's segments and uncaptured text as k kept
// them: conn.ahead appends to them only.
func (k *keptGaps) restore(c *conn, d uint8) {
	c.sent[d] = c.sent[d][:k.sent]
	c.gaps[d], c.gapN[d], c.preN[d] = k.gaps, k.gapN, k.preN
}

// ahead adds to the segments of host d's peer the text that r, host d's
// segment, acknowledges beyond everything the capture has shown the peer
// sending (aheadOf): the capture missed it, a burst tcpdump dropped that
// the receiver acknowledged before any later segment of the sender showed
// the gap. Only the accounts that take the capture to have missed text
// deliver it (looseGaps); the peer's own account takes it as sent when its
// next segment comes beyond SND.NXT, and uncaptured then adds none again.
func (c *conn) ahead(d uint8, r *rec, pre bool) {
	c.peerText(d, r, c.info[1-d].maxEnd, r.seg.Ack, pre)
}

// peerText adds to the segments of host d's peer its text [from, to),
// which r, host d's segment, says the capture missed (conn.ahead,
// conn.missedBefore).
func (c *conn) peerText(d uint8, r *rec, from, to spec.Seq, pre bool) {
	peer := 1 - d
	pi := &c.info[peer]
	last := c.recentRec(peer, 0)
	// The peer's ACK of its day: the highest it sent, at least host d's
	// SYN (the peer's last segment may be its SYN,ACK, or a SYN).
	ack := c.info[d].synSeq.Add(1)
	if pi.ackSent && ack.LessThan(pi.maxAck) {
		ack = pi.maxAck
	}
	m := rec{frame: r.frame, nanos: r.nanos, dir: peer, hasTS: last.hasTS, tsVal: last.tsVal,
		seg: spec.Segment{Window: last.seg.Window}}
	if c.nRecent[peer] == 0 {
		// A capture that started after the connection opened and shows
		// nothing of the peer's: its window is not known either.
		m = rec{frame: r.frame, nanos: r.nanos, dir: peer, seg: spec.Segment{Window: 65535}}
	}
	c.uncaptured(peer, &m, from, to.Sub(from), false, ack, pre)
}

// openWindow delivers to sh, an account of a host, an ACK from its peer
// (host peer) that the capture missed (looseACK), taken to arrive just
// before r, the segment being explained: it acknowledges everything the
// host has sent (SND.NXT) and offers the largest window its field can say,
// so that text the host sends beyond the send window the captured ACKs
// opened is explained by one the capture did not show. In a capture that
// dropped packets the receiver's ACKs of a bulk transfer are as likely to
// be missed as the text, and a receiver's window grows as it goes (Linux
// tunes it to the transfer): how far the missed ACK opened it is not
// known, so the account does not check the send window. conn.search
// delivers it before any of the peer's pending segments, whose older ACKs
// then change nothing.
func (sh *shadow) openWindow(peer uint8, r *rec, p spec.Params, eff *spec.Effect) {
	m := rec{frame: r.frame, nanos: r.nanos, dir: peer, seg: spec.Segment{Seq: sh.tcb.RcvNxt(), Ack: sh.tcb.SndNxt(), Flags: spec.ACK, Window: 65535}}
	sh.deliver(&m, p, eff)
}

// sendOpened sends, in an account that takes the capture to have missed
// the peer's ACKs (looseACK), the host's text up to end after a SEND the
// send window stopped short: each missed ACK acknowledges everything sent
// and opens the window again (openWindow), as a receiver's ACKs do while
// a transfer goes on, at most maxOpened times. Without window scaling
// the window holds 65,535 octets, so text the capture missed beyond that
// took more than one.
func (sh *shadow) sendOpened(peer uint8, r *rec, p spec.Params, end spec.Seq, eff *spec.Effect) {
	for range maxOpened {
		before := sh.tcb.SndNxt()
		if !before.LessThan(end) {
			return
		}
		// What is still queued: the ACK's row sends it as the window
		// opens, and SEND what is left.
		p.Unsent = end.Sub(before)
		p.SendMSS = p.Unsent
		sh.openWindow(peer, r, p, eff)
		if n := sh.tcb.SndNxt(); n.LessThan(end) {
			p.Unsent = end.Sub(n)
			p.SendMSS = p.Unsent
			sh.step(spec.Send, nil, p, eff)
		}
		if sh.tcb.SndNxt() == before {
			return
		}
	}
}

// sendUpTo steps SEND for the host's queued text up to end and, in an
// account that takes the capture to have missed the peer's ACKs
// (looseACK), sends what the send window stopped on ACKs that opened it
// (sendOpened).
func (sh *shadow) sendUpTo(peer uint8, r *rec, p spec.Params, end spec.Seq, eff *spec.Effect) {
	p.Unsent = end.Sub(sh.tcb.SndNxt())
	p.SendMSS = p.Unsent
	sh.step(spec.Send, nil, p, eff)
	if sh.loose&looseACK != 0 {
		sh.sendOpened(peer, r, p, end, eff)
	}
}

// maxOpened bounds sendOpened: minAhead in windows of 65,535 octets, and
// some.
const maxOpened = maxGapPieces + 6

// sendGaps takes sh, an account of host d in which the host sent text
// the capture missed before the segment being explained (looseSent), to
// have sent the pieces of its uncaptured text (conn.gaps: its peer
// acknowledged them, conn.ahead) that start at SND.NXT, in order: SEND
// steps whose segments the capture did not show. Then the peer's ACKs of
// them are acceptable. conn.search calls it before the first delivery
// and after each, so the text goes once the host can send it (after the
// SYN,ACK, for a client whose request the capture missed). Where the
// send window stops a piece and the account also takes the capture to
// have missed the peer's ACKs (looseACK), those ACKs opened it
// (sendOpened); r is the segment being explained.
func (c *conn) sendGaps(d uint8, sh *shadow, r *rec, p spec.Params) {
	if st := sh.tcb.State(); st != spec.Established && st != spec.CloseWait {
		return // SEND sends text only in these (RFC 9293 §3.10.2)
	}
	var eff spec.Effect
	for i := range c.gaps[d] {
		g := &c.gaps[d][i].r.seg
		if g.Seq != sh.tcb.SndNxt() || g.Len == 0 {
			continue
		}
		eff.Reset()
		sh.sendUpTo(1-d, r, p, g.Seq.Add(g.Len), &eff)
	}
}

// gapPiece is a piece of text the capture had not shown: sent[d][at-base[d]]
// while it is kept there.
type gapPiece struct {
	at int
	r  rec
	// seen: the capture showed this text later (a retransmission, or
	// the segment reordered before the capture point), which accounts
	// take in its turn.
	seen bool
}

// seenGaps marks the pieces of host d's uncaptured text that s, its
// segment just captured, carries.
func (c *conn) seenGaps(d uint8, s *spec.Segment) {
	if s.SegLen() == 0 {
		return
	}
	end := s.Seq.Add(s.SegLen())
	for i := range c.gaps[d] {
		g := &c.gaps[d][i]
		if !g.seen && s.Seq.LessEq(g.r.seg.Seq) && g.r.seg.Seq.Add(g.r.seg.SegLen()).LessEq(end) {
			g.seen = true
		}
	}
}

// maxGapsKept bounds the pieces of uncaptured text a connection keeps
// for accounts that passed them as lost (takeGaps).
const maxGapsKept = 256

// takeGaps delivers to sh, an account of host d that now takes the
// capture to have missed text (looseGaps), the pieces it passed as lost:
// they arrived late, after the segments it has taken (reordered after the
// capture point), those that s, the host's segment to explain,
// acknowledges and that bring the host text it has neither taken nor
// holds. With unseen, only those whose text the capture has not shown
// since; a piece whose text was captured later is then taken with that
// copy. Any of them, in the order the capture missed them: an account may
// have taken a later piece in its turn and need an earlier one now.
func (c *conn) takeGaps(d uint8, sh *shadow, p spec.Params, unseen bool, s *spec.Segment) {
	var eff spec.Effect
	for i := range c.gaps[1-d] {
		g := &c.gaps[1-d][i]
		end := g.r.seg.Seq.Add(g.r.seg.SegLen())
		acked := !s.Flags.Has(spec.ACK) || end.LessEq(s.Ack)
		if g.at < sh.next && acked && !(unseen && g.seen) && sh.tcb.RcvNxt().LessThan(end) && !slices.Contains(sh.held, g.r.seg) {
			eff.Reset()
			sh.deliver(&g.r, p, &eff)
		}
	}
}

// maxGapPieces bounds the pieces uncaptured cuts a gap into: 64 segments
// of an Ethernet MSS are 92 KB the capture missed. A larger gap is cut
// into 64 pieces larger than the MSS; one while more than 4*maxPending
// segments of the host are kept is added whole, and its receiver can
// take it only whole.
const maxGapPieces = 64

// take delivers r, the peer's next pending segment, to sh for the
// explanation of s, the host's segment, and notes the ACK it makes owed.
// Every captured segment may have been lost or delayed after the capture
// point; in the account that takes that into view (sh.loose has
// looseLost; see arrive), one that holds the octet s acknowledges next is:
// the host did not have that octet when it sent s. The segment goes
// astray. With split (the capture may have dropped packets), text the
// capture did not show is cut where s acknowledges inside it; text sent
// before the capture started (rec.pre) is cut so in any capture.
func (sh *shadow) take(r *rec, p spec.Params, eff *spec.Effect, lastSent int64, s *spec.Segment, split bool) {
	if sh.loose&looseLost != 0 && s.Flags.Has(spec.ACK) && holdsOctet(&r.seg, s.Ack) {
		sh.goAstray(*r)
		return
	}
	r = sh.cutAstray(r, s, split)
	before := sh.tcb.RcvNxt()
	sh.deliver(r, p, eff)
	sh.owe(r, before, lastSent)
}

// cutAstray returns r, or, when r is text the capture did not show and s
// acknowledges inside it, its head, with the rest astray. The capture
// showed neither this text nor how its host cut it into segments: the
// host may have had it up to the octet s acknowledges next, and the rest
// comes later (a retransmission the capture shows, or arrive). Only where
// the capture may have dropped packets (split), or started after the
// text was sent (rec.pre): otherwise the text was reordered before the
// capture point, cut as the host cuts text (conn.uncaptured), and an ACK
// inside it stays a finding.
func (sh *shadow) cutAstray(r *rec, s *spec.Segment, split bool) *rec {
	if (split || r.pre) && r.uncaptured {
		if head, tail, ok := splitUncaptured(r, s); ok {
			sh.goAstray(tail)
			return &head
		}
	}
	return r
}

// splitUncaptured cuts r, a piece of uncaptured text (conn.uncaptured),
// where s, the receiver's segment, acknowledges an octet inside its text:
// head is the text before that octet, tail the rest with r's FIN. ok is
// false when r is captured or s's ACK does not fall inside its text.
func splitUncaptured(r *rec, s *spec.Segment) (head, tail rec, ok bool) {
	if !r.uncaptured || !s.Flags.Has(spec.ACK) || !r.seg.Seq.LessThan(s.Ack) || !s.Ack.LessThan(r.seg.Seq.Add(r.seg.Len)) {
		return rec{}, rec{}, false
	}
	head, tail = *r, *r
	n := s.Ack.Sub(r.seg.Seq)
	head.seg.Len, head.seg.Flags = n, r.seg.Flags&^spec.FIN
	tail.seg.Seq, tail.seg.Len = s.Ack, r.seg.Len-n
	return head, tail, true
}

// takeOuts takes r as take does and appends to outs what the table sent
// on it, less the acknowledgments the host may leave out (appendOuts).
func (sh *shadow) takeOuts(r *rec, p spec.Params, eff *spec.Effect, lastSent int64, s *spec.Segment, split bool, outs []spec.Segment) []spec.Segment {
	st, rcv := sh.tcb.State(), sh.tcb.RcvNxt()
	sh.take(r, p, eff, lastSent, s, split)
	return sh.appendOuts(outs, r, eff, st, rcv)
}

// invalidACKInterval is the least time between two ACKs a host sends to
// unacceptable segments without text: Linux's default
// (net.ipv4.tcp_invalid_ratelimit), which impl keeps too.
const invalidACKInterval = 500 * time.Millisecond

// appendOuts appends to outs the segments the table sent (eff.Out) on the
// delivery of r, which found the host in st with RCV.NXT rcv, less the
// acknowledgments among them that the host may leave out:
//   - Those it sends on a piece of a segment that segmentation offload
//     cut (appendPieces). The receiver may have had the segment whole:
//     receive offload (GRO, LRO) joins the pieces again, and on loopback
//     they are never cut. The table's ACK for at least every second
//     full-sized segment (RFC 9293 §3.8.6.3) then counts the whole
//     segment, once.
//   - The ACK of an empty segment that changed nothing (unacceptable,
//     below the PAWS floor, or acknowledging what was never sent) within
//     invalidACKInterval of the last such segment the host answered: the
//     rate limit that spec's package documentation lists among the
//     caller's decisions (RFC 5961 §7 asks for one; Linux limits these
//     ACKs so, and so does impl).
//
// One of them that the host sends all the same is an ACK of RCV.NXT, which
// it may send at any time (spontaneous); and the bound on a delayed ACK
// (shadow.sent) still holds the ACK of any text taken.
func (sh *shadow) appendOuts(outs []spec.Segment, r *rec, eff *spec.Effect, st spec.State, rcv spec.Seq) []spec.Segment {
	drop := r.piece
	if s := &r.seg; !drop && s.SegLen() == 0 && !s.Flags.Has(spec.RST) && st.Synchronized() &&
		sh.tcb.State() == st && sh.tcb.RcvNxt() == rcv && len(eff.Out) == 1 && isPureACK(&eff.Out[0]) {
		if sh.invalidAt != 0 && r.nanos-sh.invalidAt < int64(invalidACKInterval) {
			drop = true
		} else {
			sh.invalidAt = r.nanos
		}
	}
	if !drop {
		return append(outs, eff.Out...)
	}
	for i := range eff.Out {
		if !isPureACK(&eff.Out[i]) {
			outs = append(outs, eff.Out[i])
		}
	}
	return outs
}

// arrive begins the account of segments lost or delayed after the
// capture point, in which sh is to explain the host sending s. What sh
// holds out of order that holds the octet s acknowledges next goes
// astray: the host did not have it (held text that RCV.NXT reached would
// have been in order). The segments astray that do not hold it arrive
// now, delayed: those that still bring something new. This is the account
// of a transfer both ways through a path that loses or reorders, where
// the host goes on sending on the ACKs of the segments that arrived
// beyond the hole, and the capture point is before the hole: the lost
// segments are captured, and their retransmissions, later, fill it. Text
// the capture did not show that holds the octet is cut there as take cuts
// it (split as there), its head arriving now.
func (sh *shadow) arrive(s *spec.Segment, p spec.Params, eff *spec.Effect, lastSent int64, split bool) {
	if sh.loose&looseLost == 0 || !s.Flags.Has(spec.ACK) {
		return
	}
	if i := slices.IndexFunc(sh.held, func(h spec.Segment) bool { return holdsOctet(&h, s.Ack) }); i >= 0 {
		held := slices.Clone(sh.held[:i]) // the slice is shared: a new one
		for _, h := range sh.held[i:] {
			if holdsOctet(&h, s.Ack) {
				sh.goAstray(rec{frame: -1, seg: h})
			} else {
				held = append(held, h)
			}
		}
		sh.held = held
	}
	astray := sh.astray
	sh.astray = nil
	for i := range astray {
		r := sh.cutAstray(&astray[i], s, split)
		switch {
		case holdsOctet(&r.seg, s.Ack):
			sh.goAstray(*r)
		case sh.tcb.RcvNxt().LessThan(r.seg.Seq.Add(r.seg.SegLen())):
			before := sh.tcb.RcvNxt()
			sh.deliver(r, p, eff)
			if r.frame > 0 {
				sh.owe(r, before, lastSent)
			}
		}
	}
}

// dropArrived forgets the segments astray that RCV.NXT has passed: a
// copy of one that arrived now would bring nothing new.
func (sh *shadow) dropArrived() {
	passed := func(r rec) bool { return !sh.tcb.RcvNxt().LessThan(r.seg.Seq.Add(r.seg.SegLen())) }
	if !slices.ContainsFunc(sh.astray, passed) {
		return
	}
	var keep []rec // the slice is shared: a new one
	for _, r := range sh.astray {
		if !passed(r) {
			keep = append(keep, r)
		}
	}
	sh.astray = keep
}

// maxAstray bounds shadow.astray: the oldest go first.
const maxAstray = 64

// goAstray adds r to sh.astray.
func (sh *shadow) goAstray(r rec) {
	a := sh.astray
	for i := range a {
		if a[i].seg == r.seg {
			return // a retransmission of one already astray
		}
	}
	if len(a) == maxAstray {
		a = a[1:]
	}
	sh.astray = append(slices.Clip(a), r)
}

// holdsOctet reports whether seg carries the octet a (in sequence space:
// a SYN or FIN is an octet).
func holdsOctet(seg *spec.Segment, a spec.Seq) bool {
	n := seg.SegLen()
	return n > 0 && seg.Seq.LessEq(a) && a.LessThan(seg.Seq.Add(n))
}
