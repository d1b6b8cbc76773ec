package capture

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/tcpcheck/tcpcheck/spec"
)

// connKey names a 4-tuple, the smaller endpoint (a) first. Its fields
// are plain words without padding, which a map hashes in one call.
type connKey struct {
	aHi, aLo, bHi, bLo uint64 // the addresses, as 16 octets (IPv4 mapped)
	aPort, bPort       uint16
	fam                uint32 // bit 0: a is IPv4; bit 1: b is IPv4
}

// endpointWords is an endpoint as the words of a connKey.
type endpointWords struct {
	hi, lo uint64
	port   uint16
	v4     bool
}

func wordsOf(ap netip.AddrPort) endpointWords {
	a := ap.Addr()
	b := a.As16()
	return endpointWords{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:]), ap.Port(), a.Is4()}
}

func (e endpointWords) less(f endpointWords) bool {
	switch {
	case e.hi != f.hi:
		return e.hi < f.hi
	case e.lo != f.lo:
		return e.lo < f.lo
	case e.port != f.port:
		return e.port < f.port
	}
	return !e.v4 && f.v4
}

func keyOf(s, d netip.AddrPort) connKey {
	a, b := wordsOf(s), wordsOf(d)
	if b.less(a) {
		a, b = b, a
	}
	k := connKey{aHi: a.hi, aLo: a.lo, bHi: b.hi, bLo: b.lo, aPort: a.port, bPort: b.port}
	if a.v4 {
		k.fam |= 1
	}
	if b.v4 {
		k.fam |= 2
	}
	return k
}

// ringSize is how many segments before the finding a report shows.
const ringSize = 8

// afterFinding is how many segments after the finding a report shows.
const afterFinding = 3

// conn is one connection (one incarnation of a 4-tuple) being checked.
type conn struct {
	id    int
	hosts [2]netip.AddrPort
	info  [2]hostInfo
	sent  [2][]rec // sent[d][i] is the segment base[d]+i that host d sent
	base  [2]int
	// gaps are the latest pieces of host d's text the capture had not
	// shown (conn.uncaptured), by where they lie in sent, in the order it
	// missed them (gapN of them so far): an account that passed them as
	// lost may take them later.
	gaps [2][]gapPiece
	gapN [2]uint32
	// preN counts those of them that were sent before the capture started
	// (a capture from the middle, conn.missedBefore and conn.preCapture):
	// text the capture could not show, no deviation.
	preN  [2]uint32
	cands [2][]shadow
	init  [2]bool
	mid   bool // the capture starts after the connection opened
	// synFirst: its first segment is a SYN (conn.start), and the other
	// host was taken to have no connection (conn.olderTCB).
	synFirst bool
	// midMissed: it starts so, and the second host's first segment
	// acknowledges text of the first's that the capture missed
	// (conn.missedBefore).
	midMissed bool
	// capStart is the capture time of the capture's first segment.
	capStart int64

	first, last int // frames
	lastNanos   int64
	reported    bool
	compacted   bool
	segs        int
	ring        [ringSize]rec // the latest segments, from ring[ringAt] on
	ringAt      int
	nRing       int
	after       int
	badSums     int
	old         int
	twice       int // segments captured twice

	// The handshake as captured (hsStep 3: SYN, SYN,ACK and ACK seen,
	// the SYN sent by host hsFrom), for the round trip of ackBound.
	hsStep                 uint8
	hsFrom                 uint8
	hsSyn, hsSynAck, hsAck int64

	minTW    int64 // the least TIME-WAIT, nanoseconds (Options.MinTimeWait); 0: not checked
	dropped  bool  // the capture may have dropped packets (Options.CaptureDropped)
	fail     *Finding
	nbuf     []shadow  // the next candidates, reused
	recent   [2][4]rec // the latest segments each host sent (recentRec), a power of two
	recentAt [2]uint8  // the index of the latest in recent
	nRecent  [2]uint8
	devs     map[string]*Deviation
	spare    *spares    // the worker's, for the buffers above
	lastDev  *Deviation // the one seen last, in devs
}

// Finding is the first segment of a connection that no delivery explains.
type Finding struct {
	Frame   int      `json:"frame"`
	Host    string   `json:"host"` // "client" or "server" (the host that sent it)
	Segment string   `json:"segment"`
	Reasons []string `json:"reasons"` // why each candidate state fails to explain it
	Rows    []string `json:"rows"`    // the rows that could have applied, with their guards
	// CaptureMayHaveDropped says a reason names packets the capture may
	// have missed (without Options.CaptureDropped): checked again with
	// it, the segment may be explained.
	CaptureMayHaveDropped bool `json:"capture_may_have_dropped,omitempty"`
}

// Deviation is a named deviation seen on a connection.
type Deviation struct {
	Name       string `json:"name"`
	Where      string `json:"where"`
	Count      int    `json:"count"`
	FirstFrame int    `json:"first_frame"`
	// Detail says more of the first one, when its name needs it: for
	// DevLateACK which frame made the ACK owed, how late it came, and the
	// bound.
	Detail string `json:"detail,omitempty"`
	// CauseFrame, Delay and Bound are the first late ACK's (DevLateACK):
	// the frame that made the ACK owed, the time from it to FirstFrame,
	// and the bound that time exceeded.
	CauseFrame int           `json:"cause_frame,omitempty"`
	Delay      time.Duration `json:"delay_ns,omitempty"`
	Bound      time.Duration `json:"bound_ns,omitempty"`
}

func newConn(id int, first *Segment, sp *spares) *conn {
	if sp == nil {
		sp = &spares{}
	}
	c := &conn{id: id, hosts: [2]netip.AddrPort{first.Src, first.Dst}, first: first.Frame, spare: sp}
	c.sent[0], c.sent[1] = sp.getSent(), sp.getSent()
	return c
}

// spares keeps the buffers of the connections a worker no longer checks
// for its next connections: growing fresh buffers segment by segment
// costs more than checking the segments that fill them. It also holds the
// scratch space of explain, which the worker's connections use one at a
// time: one copy stays in the cache, where one per connection would not.
// A nil *spares keeps no buffers.
type spares struct {
	sent  [][]rec
	cands [][]shadow

	outs   []spec.Segment // what the deliveries of a search make the table send
	order  []int          // the candidates in the order explain tries them
	failed []int          // the candidates that do not explain the segment
	o1, o2 shadow         // a search's explanations
	late   [2]lateNote    // and whether each came later than the ACK bound
	gap    outcome        // the gap the first explanation of a search takes (gapN 0 and no gapFIN: none)
	alt    shadow         // another state the first explanation leaves (hostInfo.alt)
	hasAlt bool
	eff    spec.Effect
}

const (
	maxSpares    = 64   // buffers of each kind kept
	maxSpareRecs = 1024 // larger sent buffers are left to the collector
	candsCap     = 2 * maxCands
	// firstCands is the room a new connection's candidates start with:
	// most hosts have one or two, and a capture of a SYN flood holds
	// hundreds of thousands of connections that never get more.
	firstCands = 2
)

func (sp *spares) getSent() []rec {
	if sp == nil || len(sp.sent) == 0 {
		return nil
	}
	b := sp.sent[len(sp.sent)-1]
	sp.sent = sp.sent[:len(sp.sent)-1]
	return b
}

func (sp *spares) putSent(b []rec) {
	if sp != nil && cap(b) > 0 && cap(b) <= maxSpareRecs && len(sp.sent) < maxSpares {
		sp.sent = append(sp.sent, b[:0])
	}
}

func (sp *spares) getCands() []shadow {
	if sp == nil || len(sp.cands) == 0 {
		return make([]shadow, 0, firstCands)
	}
	b := sp.cands[len(sp.cands)-1]
	sp.cands = sp.cands[:len(sp.cands)-1]
	return b
}

func (sp *spares) putCands(b []shadow) {
	if sp != nil && cap(b) >= firstCands && cap(b) <= 2*candsCap && len(sp.cands) < maxSpares {
		clear(b[:cap(b)]) // let the held text go
		sp.cands = append(sp.cands, b[:0])
	}
}

// release gives c's buffers to its worker's spares once c is forgotten.
func (c *conn) release() {
	for x := 0; x < 2; x++ {
		c.spare.putSent(c.sent[x])
		c.spare.putCands(c.cands[x])
		c.sent[x], c.cands[x] = nil, nil
	}
	c.spare.putCands(c.nbuf)
	c.nbuf = nil
}

func (c *conn) dirOf(s *Segment) uint8 {
	if s.Src == c.hosts[0] {
		return 0
	}
	return 1
}

// ended reports whether the connection is over: a RST, or both FINs, was
// sent.
func (c *conn) ended() bool {
	return c.info[0].rstSeen || c.info[1].rstSeen || (c.info[0].finSeen && c.info[1].finSeen)
}

// hostName is "client" for the host that sent the first SYN (or the first
// segment), "server" for the other.
func hostName(d uint8) string {
	if d == 0 {
		return "client"
	}
	return "server"
}

// add checks one segment of the connection.
func (c *conn) add(s *Segment) {
	d := c.dirOf(s)
	r := rec{frame: s.Frame, nanos: s.Time.UnixNano(), dir: d, sack: s.SACK, sum: s.Sum, hasTS: s.HasTS, tsVal: s.TSVal,
		seg: spec.Segment{Seq: s.Seq, Ack: s.Ack, Flags: s.Flags, Window: s.Window, Len: s.Len, MSS: s.MSS, HasWScale: s.HasWScale, WScale: s.WScale}}
	info := &c.info[d]
	if info.havePrev && !s.Flags.Has(spec.SYN) && s.Seq.InRange(info.prevLo, info.prevHi+1) &&
		!(info.anySent && s.Seq.InRange(info.synSeq, info.maxEnd+1)) {
		r.old = true
		c.old++
	}
	c.segs++
	c.last = s.Frame
	if s.Sum == SumBad {
		c.badSums++
	}
	if c.fail != nil {
		if c.after < afterFinding {
			c.after++
			c.push(r)
		}
		return
	}
	c.push(r)
	if c.missedSYNACK(d, &r) && c.fail != nil {
		return
	}
	c.cutAtACK(d, &r)
	first := !c.info[d].anySent
	c.record(d, &r)
	if !c.init[d] {
		c.start(d, &r)
	} else if first && c.synFirst && d != c.hsFrom && r.seg.Flags&(spec.SYN|spec.RST|spec.ACK) == spec.ACK && !c.afterSYN(d, &r.seg) {
		c.olderTCB(d, &r)
	}
	if !c.explain(d, &r) {
		return
	}
	c.trim(d)
}

// record notes r, a segment host d sent, among its segments.
func (c *conn) record(d uint8, r *rec) {
	c.note(d, r)
	if len(c.gaps[d]) > 0 {
		c.seenGaps(d, &r.seg)
	}
	c.sent[d] = c.appendPieces(c.sent[d], d, *r, r.hasTS)
	if c.nRecent[d] < uint8(len(c.recent[d])) {
		c.nRecent[d]++
	}
	c.recentAt[d] = (c.recentAt[d] + 1) & uint8(len(c.recent[d])-1)
	c.recent[d][c.recentAt[d]] = *r
}

// missedSYNACK reports whether it took r, host d's segment, to come after
// the SYN,ACK that the capture missed, and explained that SYN,ACK (c.fail
// is set if it could not). After a SYN the capture shows, with no segment
// of the other host yet: the SYN's sender sends an ACK only for a SYN,ACK
// it received (RFC 9293 §3.10.7.3), and the other host sends one only
// after its SYN,ACK (§3.10.7.2), so an ACK from either acknowledges or
// follows a SYN,ACK the capture missed. That is taken so only in a capture
// that may have dropped packets (Options.CaptureDropped), and named
// missed-by-capture. The SYN,ACK's SEQ is one before what the ACK
// acknowledges, or (the other host's own first segment) one before its
// SEQ; its options are not known: it is given the largest MSS and window
// shift and no timestamps, which leave segment sizes, windows and delayed
// ACKs unchecked rather than wrongly checked, and the handshake no round
// trip (no bound on ACK delays).
func (c *conn) missedSYNACK(d uint8, r *rec) bool {
	if !c.dropped || !c.synAckMissing(d, r) {
		return false
	}
	s := &r.seg
	cli := c.hsFrom
	srv := 1 - cli
	iss := s.Seq - 1
	if d == cli {
		iss = s.Ack - 1
	}
	m := rec{frame: r.frame, nanos: r.nanos, dir: srv,
		seg: spec.Segment{Seq: iss, Ack: c.info[cli].synSeq.Add(1), Flags: spec.SYN | spec.ACK, Window: 65535,
			MSS: 65535, HasWScale: c.info[cli].wscale, WScale: 14}}
	c.record(srv, &m)
	c.hsStep = hsMissed
	if c.explain(srv, &m) {
		c.trim(srv)
		c.deviation(DevMissedByCapture, r.frame)
	}
	return true
}

// synAckMissing reports whether r, host d's segment, acknowledges or
// follows a SYN,ACK the capture does not show (conn.missedSYNACK).
func (c *conn) synAckMissing(d uint8, r *rec) bool {
	s := &r.seg
	return c.hsStep == 1 && !c.info[1-c.hsFrom].anySent && s.Flags&(spec.SYN|spec.ACK|spec.RST) == spec.ACK &&
		(d != c.hsFrom || c.info[d].synSeq.LessThan(s.Seq))
}

// hsMissed is conn.hsStep once the capture is known to have missed a
// segment of the handshake: it gives no round trip.
const hsMissed = 4

// minPiece and maxPieces bound the cutting of appendPieces: Linux's least
// MSS (TCP_MIN_MSS, 88) less the timestamps, and far more pieces than a
// 64 KiB super-segment makes, so that an MSS option of 1 in a crafted
// capture cannot turn one segment into 65,535.
const (
	minPiece  = 76
	maxPieces = 1024
)

// tsSpace is the room the timestamps option takes in a segment that
// carries it, with its padding (RFC 7323 §3): a full-sized segment holds
// the MSS less this much text.
const tsSpace = 12

// appendPieces appends r, a segment host d sent, to sent as its peer
// receives it. A segment with more text than the peer's MSS allows was
// captured before segmentation offload (TSO or GSO) cut it into segments
// of at most that size, each of which the peer may acknowledge on its
// own (RFC 9293 §3.10.7.4): it is appended as those segments, the MSS
// less the 12 octets of the timestamps option when the segment carries
// it (RFC 7323 §3), with the FIN and PSH on the last. The host's own
// explanation keeps the segment whole.
func (c *conn) appendPieces(sent []rec, d uint8, r rec, hasTS bool) []rec {
	piece := uint32(c.info[1-d].mss)
	if hasTS {
		piece -= min(piece, tsSpace)
	}
	if piece < minPiece || r.seg.Len <= piece || r.seg.Len/piece >= maxPieces || r.seg.Flags.Has(spec.SYN) || r.seg.Flags.Has(spec.RST) {
		return append(sent, r)
	}
	last := r.seg.Flags & (spec.FIN | spec.PSH)
	for off := uint32(0); off < r.seg.Len; off += piece {
		p := r
		p.seg.Seq = r.seg.Seq.Add(off)
		p.seg.Len = min(piece, r.seg.Len-off)
		p.seg.Flags = r.seg.Flags &^ last
		p.piece = true
		if off+p.seg.Len == r.seg.Len {
			p.seg.Flags |= last
		}
		sent = append(sent, p)
	}
	return sent
}

// cutAtACK cuts the peer's segments that r, host d's segment,
// acknowledges inside, where it does, when the capture has not shown
// host d's SYN (it started after the handshake): then the MSS that
// segmentation offload cut the peer's segments to is not known
// (appendPieces), and r's ACK says where one piece ended (RFC 9293
// §3.10.7.4: the receiver acknowledges the segments it has). Offload
// cuts a segment into pieces of one size from its start, the last
// shorter: every cut is a multiple of that size from the start of the
// piece it cuts, so the cuts' common divisor (hostInfo.cutUnit) is at
// least minPiece, less than any MSS. An ACK that would make it less is
// no cut and stays a finding (an ACK a few octets short of a segment's
// end, after a cut), as do ACKs inside the peer's SYN and RST segments
// and inside text the capture missed.
func (c *conn) cutAtACK(d uint8, r *rec) {
	s := &r.seg
	peer := 1 - d
	if c.info[d].sawSYN || !s.Flags.Has(spec.ACK) || s.Flags&(spec.SYN|spec.RST) != 0 || r.old || !s.Ack.LessThan(c.info[peer].maxEnd) {
		return
	}
	// From the first segment an account of host d has not taken, for at
	// most maxCutScan segments: an ACK cuts the segment a receiver is
	// taking, near the front of what is pending for it.
	lo := 0
	for k := range c.cands[d] {
		if n := max(c.cands[d][k].next-c.base[peer], 0); k == 0 || n < lo {
			lo = n
		}
	}
	for i := lo; i < len(c.sent[peer]) && i < lo+maxCutScan; i++ {
		x := c.sent[peer][i]
		if x.uncaptured || x.old || x.seg.Flags&(spec.SYN|spec.RST) != 0 ||
			!x.seg.Seq.LessThan(s.Ack) || !s.Ack.LessThan(x.seg.Seq.Add(x.seg.Len)) {
			continue
		}
		n := s.Ack.Sub(x.seg.Seq)
		unit := gcd(c.info[d].cutUnit, n)
		if unit < minPiece {
			continue
		}
		c.info[d].cutUnit = unit
		head, tail := x, x
		head.seg.Len, head.seg.Flags, head.piece = n, x.seg.Flags&^(spec.FIN|spec.PSH), true
		tail.seg.Seq, tail.seg.Len, tail.piece = s.Ack, x.seg.Len-n, true
		c.sent[peer][i] = head
		c.sent[peer] = slices.Insert(c.sent[peer], i+1, tail)
		// The pieces after it move one on: the candidates that took them,
		// and the gaps, count them so.
		at := c.base[peer] + i
		for k := range c.cands[d] {
			if c.cands[d][k].next > at {
				c.cands[d][k].next++
			}
		}
		for k := range c.gaps[peer] {
			if c.gaps[peer][k].at > at {
				c.gaps[peer][k].at++
			}
		}
		i++
	}
}

// maxCutScan bounds the segments conn.cutAtACK looks at for each ACK.
const maxCutScan = 256

// gcd returns the greatest common divisor of a and b (gcd(0, b) is b).
func gcd(a, b uint32) uint32 {
	for a != 0 {
		a, b = b%a, a
	}
	return b
}

// push adds r to the ring of the latest segments (the oldest goes when it
// is full).
func (c *conn) push(r rec) {
	if c.nRing < ringSize {
		c.ring[(c.ringAt+c.nRing)%ringSize] = r
		c.nRing++
		return
	}
	c.ring[c.ringAt] = r
	c.ringAt = (c.ringAt + 1) % ringSize
}

// ringRecs returns the segments of the ring, oldest first.
func (c *conn) ringRecs() []rec {
	out := make([]rec, c.nRing)
	for i := range out {
		out[i] = c.ring[(c.ringAt+i)%ringSize]
	}
	return out
}

// recentRec returns the i-th latest segment host d sent (0: the latest),
// for i < nRecent[d].
func (c *conn) recentRec(d uint8, i int) *rec {
	return &c.recent[d][(int(c.recentAt[d])-i)&(len(c.recent[d])-1)]
}

// note records what a host's segment says of its parameters.
func (c *conn) note(d uint8, r *rec) {
	info := &c.info[d]
	s := &r.seg
	info.after = afterNone
	if s.Flags.Has(spec.SYN) {
		info.syns = min(info.syns+1, 255)
		info.sawSYN, info.synSeq = true, s.Seq
		info.mss, info.wscale, info.shift = s.MSS, s.HasWScale, s.WScale
	}
	info.maxWnd = max(info.maxWnd, c.window(d, s))
	if s.Flags.Has(spec.FIN) {
		info.finSeen = true
	}
	if s.Flags.Has(spec.RST) {
		info.rstSeen = true
	}
	if r.old {
		return
	}
	info.after = c.afterClose(d, s)
	if s.Flags.Has(spec.ACK) && (!info.ackSent || info.maxAck.LessThan(s.Ack)) {
		// A RST,ACK's acknowledgment counts too: a segment the host sent
		// before it may be captured after it.
		info.ackSent, info.maxAck = true, s.Ack
	}
	c.handshake(d, r)
	end := s.Seq.Add(s.SegLen())
	if !info.anySent {
		info.anySent = true
		if !s.Flags.Has(spec.SYN) {
			info.synSeq = s.Seq - 1
		}
		info.maxEnd = end
		info.endAck, info.endAcked = s.Ack, s.Flags.Has(spec.ACK)
	} else if info.maxEnd.LessThan(end) {
		info.maxEnd = end
		info.endAck, info.endAcked = s.Ack, s.Flags.Has(spec.ACK)
	}
}

// afterClose says what host d's segment s, about to be noted, can be if
// the host no longer has the connection's TCB (see afterClose's values).
func (c *conn) afterClose(d uint8, s *spec.Segment) afterClose {
	info, peer := &c.info[d], &c.info[1-d]
	if !info.anySent || s.Flags.Has(spec.SYN) {
		return afterNone
	}
	if s.Flags.Has(spec.RST) {
		if !s.Flags.Has(spec.ACK) && peer.ackSent && info.synSeq.LessThan(s.Seq) && s.Seq.LessEq(peer.maxAck) {
			return afterAnswer
		}
		return afterNone
	}
	if s.Flags.Has(spec.ACK) && info.synSeq.LessThan(s.Seq) && s.Seq.Add(s.SegLen()).LessEq(info.maxEnd) &&
		info.ackSent && s.Ack.LessEq(info.maxAck) {
		return afterCopy
	}
	return afterNone
}

// window returns the receive window host d's segment s offers, in
// octets: scaled by the shift of d's SYN when both SYNs agreed on scaling
// (RFC 7323 §2.2), or by 14 in a capture that started mid-connection.
func (c *conn) window(d uint8, s *spec.Segment) uint32 {
	if s.Flags.Has(spec.SYN) {
		return uint32(s.Window) // never scaled (RFC 7323 §2.2)
	}
	return uint32(s.Window) << c.windowShift(d)
}

// windowShift is the shift that scales the windows of host d's segments
// other than its SYN.
func (c *conn) windowShift(d uint8) uint8 {
	switch {
	case c.mid, c.info[d].older:
		return 14
	case c.info[d].wscale && c.info[1-d].wscale:
		return min(c.info[d].shift, 14)
	}
	return 0
}

// handshake follows the opening handshake as captured: the first SYN,
// the first SYN,ACK after it from the other host, and the first ACK
// after that from the SYN's sender.
func (c *conn) handshake(d uint8, r *rec) {
	f := r.seg.Flags
	if f.Has(spec.RST) {
		return
	}
	switch {
	case c.hsStep == 0 && f&(spec.SYN|spec.ACK) == spec.SYN:
		c.hsStep, c.hsFrom, c.hsSyn = 1, d, r.nanos
	case c.hsStep == 1 && d != c.hsFrom && f.Has(spec.SYN|spec.ACK):
		c.hsStep, c.hsSynAck = 2, r.nanos
	case c.hsStep == 2 && d == c.hsFrom && f&(spec.SYN|spec.ACK) == spec.ACK:
		c.hsStep, c.hsAck = 3, r.nanos
	}
}

// rfcMaxAckDelay is RFC 1122 §4.2.3.2's bound on a delayed ACK: "the
// delay MUST be less than 0.5 seconds".
const rfcMaxAckDelay = 500 * time.Millisecond

// handshakeRTT returns the round trip the captured handshake shows: the
// larger of its SYN to SYN,ACK and SYN,ACK to ACK gaps (at the capture
// point, each is the round trip between it and one of the hosts, with
// that host's processing), and false when the capture lacks the
// handshake.
func (c *conn) handshakeRTT() (time.Duration, bool) {
	if c.hsStep != 3 {
		return 0, false
	}
	return time.Duration(max(c.hsSynAck-c.hsSyn, c.hsAck-c.hsSynAck, 0)), true
}

// ackBound is how long after the segment that made it owed an ACK may
// come, as the capture sees it, in nanoseconds: RFC 1122's 0.5 s plus the
// handshake's round trip, since the capture point may be anywhere on the
// path (at the sender of the text, the time between the text and its ACK
// includes a round trip to the receiver). 0 when the capture lacks the
// handshake: the round trip is then unknown, and no bound is checked.
func (c *conn) ackBound() int64 {
	rtt, ok := c.handshakeRTT()
	if !ok {
		return 0
	}
	return int64(rfcMaxAckDelay + rtt)
}

// lateACK records that host's segment r came later than the bound after
// the segment of frame cause made an ACK owed (by nanoseconds), without
// an earlier ACK.
func (c *conn) lateACK(r *rec, cause int, by int64) {
	c.deviation(DevLateACK, r.frame)
	dv := c.devs[DevLateACK]
	if dv.Count > 1 {
		return
	}
	rtt, _ := c.handshakeRTT()
	dv.CauseFrame, dv.Delay, dv.Bound = cause, time.Duration(by), rfcMaxAckDelay+rtt
	what := "acknowledged it"
	if !r.seg.Flags.Has(spec.ACK) || r.seg.Flags.Has(spec.RST) {
		what = "went out without acknowledging it"
	}
	dv.Detail = fmt.Sprintf("the %s owed an ACK from frame %d; frame %d %s %v later, beyond the bound of %v (%v + the handshake's round trip of %v)",
		hostName(r.dir), cause, r.frame, what, dv.Delay.Round(time.Microsecond), dv.Bound.Round(time.Microsecond), rfcMaxAckDelay, rtt.Round(time.Microsecond))
}

// timeWaitShort reports TIME-WAIT cut short when every explanation of r
// (the candidates in next) ended it sooner than c.minTW after the
// segment that started its 2MSL timer (RFC 9293 §3.10.8; RFC 1122
// §4.2.2.13: a connection MUST stay in TIME-WAIT for 2MSL). The
// connection's first such account is reported, once.
func (c *conn) timeWaitShort(r *rec, next []shadow) {
	// A RST that ended TIME-WAIT (RFC 9293 §3.10.7.4) is named when every
	// account ended TIME-WAIT early, one of them by the RST; too soon
	// (twShort) only when every account did.
	early, killed := true, false
	for i := range next {
		early = early && (next[i].twShort > 0 || next[i].twKilled)
		killed = killed || next[i].twKilled
	}
	if early && killed {
		for i := range next {
			next[i].twShort, next[i].twKilled = 0, false
		}
		c.deviation(DevRSTKillsTimeWait, r.frame)
		return
	}
	for i := range next {
		next[i].twKilled = false
	}
	short := int64(0)
	for i := range next {
		if next[i].twShort == 0 {
			return
		}
		short = max(short, next[i].twShort)
	}
	for i := range next {
		next[i].twShort = 0
	}
	if c.devs[DevTimeWaitShort] != nil {
		return
	}
	c.deviation(DevTimeWaitShort, r.frame)
	dv := c.devs[DevTimeWaitShort]
	dv.CauseFrame, dv.Delay, dv.Bound = next[0].twFrame, time.Duration(short), time.Duration(c.minTW)
	dv.Detail = fmt.Sprintf("the %s had left TIME-WAIT by frame %d, %v after frame %d (re)started its 2MSL timer; TIME-WAIT lasts 2*MSL, here at least %v (--msl)",
		hostName(r.dir), r.frame, dv.Delay.Round(time.Microsecond), dv.CauseFrame, dv.Bound)
}

// start sets up the shadows of host d at its first segment. A connection
// whose first segment is a SYN starts with its sender in CLOSED and the
// other host in LISTEN (or CLOSED: a refused connection); one seen from
// the middle starts each host in ESTABLISHED, with sequence numbers from
// its first segment.
func (c *conn) start(d uint8, r *rec) {
	c.init[d] = true
	if c.segs == 1 && r.seg.Flags&(spec.SYN|spec.ACK) == spec.SYN {
		c.cands[d] = append(c.spare.getCands(), shadow{tcb: spec.NewTCB()})
		c.cands[d][0].hist.add(spec.Closed)
		c.init[1-d] = true
		l := shadow{tcb: spec.NewListenTCB()}
		l.hist.add(spec.Listen)
		cl := shadow{tcb: spec.NewTCB()}
		cl.hist.add(spec.Closed)
		c.cands[1-d] = append(c.spare.getCands(), l, cl)
		c.synFirst = true
		return
	}
	if r.seg.Flags.Has(spec.SYN) && r.seg.Flags.Has(spec.ACK) && c.segs == 1 {
		// The capture missed the SYN: the sender of the SYN,ACK is in
		// SYN-RECEIVED, its peer in SYN-SENT.
		p := spec.Params{ISS: r.seg.Seq, MSS: r.seg.MSS, WScale: r.seg.HasWScale, Shift: r.seg.WScale, RcvWnd: 65535}
		srv := shadow{tcb: spec.NewListenTCB()}
		syn := spec.Segment{Seq: r.seg.Ack - 1, Flags: spec.SYN, Window: 65535, HasWScale: r.seg.HasWScale, WScale: 7}
		var eff spec.Effect
		srv.step(spec.SegSYN, &syn, p, &eff)
		srv.hist = history{}
		srv.hist.add(spec.SynReceived)
		c.cands[d] = append(c.spare.getCands(), srv)
		cli := shadow{tcb: spec.NewTCB()}
		eff.Reset()
		cli.step(spec.ActiveOpen, nil, spec.Params{ISS: r.seg.Ack - 1, MSS: 65535, WScale: r.seg.HasWScale, Shift: 7}, &eff)
		cli.hist = history{}
		cli.hist.add(spec.SynSent)
		c.cands[1-d] = append(c.spare.getCands(), cli)
		c.init[1-d] = true
		c.mid = true
		c.info[1-d].maxEnd = r.seg.Ack // as below
		return
	}
	// From the middle: a handshake of our own making puts the host in
	// ESTABLISHED with SND.NXT at its first segment's SEQ and RCV.NXT at
	// its ACK; windows are taken as scaled by 14 (the largest shift),
	// since the SYNs that said the scale are not in the capture.
	c.mid = true
	// Its window as scaled from the middle: note, before this, took it
	// unscaled.
	c.info[d].maxWnd = max(c.info[d].maxWnd, c.window(d, &r.seg))
	c.cands[d] = append(c.spare.getCands(), midTCB(&r.seg))
	c.info[d].wscale, c.info[d].shift, c.info[d].irsGuessed = true, 14, !r.seg.Flags.Has(spec.SYN)
	irs := r.seg.Ack - 1
	if !c.info[1-d].anySent {
		// Where the peer's text the capture shows nothing of ends, for
		// text it missed (conn.ahead); the peer's first segment sets it.
		c.info[1-d].maxEnd = irs + 1
	} else {
		c.missedBefore(d, r)
	}
}

// midTCB returns the state of a host whose first segment the capture
// shows is s, sent from the middle of its connection: a handshake of our
// own making puts it in ESTABLISHED with SND.NXT at s's SEQ and RCV.NXT
// at its ACK; windows are taken as scaled by 14 (the largest shift),
// since the SYNs that said the scale are not in the capture.
func midTCB(s *spec.Segment) shadow {
	iss := s.Seq - 1
	irs := s.Ack - 1
	if s.Flags.Has(spec.SYN) {
		iss = s.Seq
	}
	sh := shadow{tcb: spec.NewTCB()}
	p := spec.Params{ISS: iss, MSS: 65535, WScale: true, Shift: 14, RcvWnd: 1 << 30}
	var eff spec.Effect
	sh.tcb.Step(machine, spec.ActiveOpen, nil, p, &eff)
	synack := spec.Segment{Seq: irs, Ack: iss + 1, Flags: spec.SYN | spec.ACK, Window: 65535, MSS: 65535, HasWScale: true, WScale: 14}
	eff.Reset()
	sh.tcb.Step(machine, spec.SegSYNACK, &synack, p, &eff)
	// The peer's window is not known either: an ACK of our own making
	// opens the largest (a SYN,ACK's window is never scaled, RFC 7323
	// §2.2), so that a sender whose peer's ACKs the capture has not shown
	// yet is not held to 65,535 octets.
	open := spec.Segment{Seq: irs + 1, Ack: iss + 1, Flags: spec.ACK, Window: 65535}
	eff.Reset()
	sh.tcb.Step(machine, spec.SegACK, &open, p, &eff)
	sh.hist.add(sh.tcb.State())
	return sh
}

// olderTCB adds to the accounts of host d, the peer of a capture's first
// segment, a SYN, the state of a connection it had before the capture
// started, when r, its first segment, acknowledges without a SYN, and
// not the SYN or text after it (afterSYN): a host that kept a connection
// its peer has lost (a half-open connection, RFC 9293 §3.10.7.4) answers
// the peer's new SYN with an ACK of the old connection (RFC 5961 §4.2),
// to which the peer, in SYN-SENT, sends a RST. Its window scale is then
// not known (hostInfo.older).
func (c *conn) olderTCB(d uint8, r *rec) {
	c.cands[d] = append(c.cands[d], midTCB(&r.seg))
	info := &c.info[d]
	info.older, info.irsGuessed = true, true
	info.maxWnd = max(info.maxWnd, c.window(d, &r.seg))
}

// afterSYN reports whether s, host d's segment, acknowledges its peer's
// SYN, or text the peer can have sent after it (within minAhead): it
// comes after a SYN,ACK the capture missed, not from a connection host d
// had before (olderTCB), whose ACK has nothing to do with the new SYN.
func (c *conn) afterSYN(d uint8, s *spec.Segment) bool {
	syn := c.info[1-d].synSeq
	return syn.LessThan(s.Ack) && s.Ack.Sub(syn) <= minAhead
}

// missedBefore adds, in a capture that starts from the middle, the text
// each host sent that the capture missed before r, host d's first
// segment, where its peer was seen first: the peer's text r acknowledges
// beyond what the capture showed of it (conn.ahead), host d's own from
// what the peer had received up to r's SEQ, and the peer's own from r's
// ACK up to its first segment. The accounts that take missed text deliver
// them (looseGaps) and send them (looseSent). Text a host sent before
// the capture showed it send anything, as a capture that starts late
// misses what was in flight then: an account that takes only such text
// names no deviation (onlyPreCapture). The peer's beyond the text of its
// first segment it sent after the capture started, so only where the
// capture may have dropped packets (Options.CaptureDropped); otherwise a
// finding says to try that (conn.midMissed).
func (c *conn) missedBefore(d uint8, r *rec) {
	if len(c.cands[1-d]) == 0 {
		return
	}
	pi := &c.info[1-d]
	peers := r.seg.Flags.Has(spec.ACK) && pi.maxEnd.LessThan(r.seg.Ack) && r.seg.Ack.Sub(pi.maxEnd) <= c.maxAhead(d)
	rcv := c.furthest(1-d, (*spec.TCB).RcvNxt)
	n := r.seg.Seq.Sub(rcv)
	own := rcv.LessThan(r.seg.Seq) && n <= maxInFlight(14)
	if peers && c.dropped {
		c.ahead(d, r, false)
	}
	c.midMissed = peers && !c.dropped
	if own {
		c.uncaptured(d, r, rcv, n, false, r.seg.Ack, true)
	}
	// The peer's text before its first segment that r does not
	// acknowledge: the peer sent it before anything the capture shows it
	// send.
	if first := pi.synSeq.Add(1); r.seg.Flags.Has(spec.ACK) && r.seg.Ack.LessThan(first) && first.Sub(r.seg.Ack) <= maxInFlight(14) {
		c.peerText(d, r, r.seg.Ack, first, true)
	}
}

// onlyPreCapture reports whether the text that the loose account mode
// of host d takes as missed is all text sent before the capture started
// (conn.preN): the peer's, which it receives (looseGaps, looseAhead),
// and its own, which it sends (looseSent, looseOwn). Missed ACKs and a
// shrunk window are never that.
func (c *conn) onlyPreCapture(d uint8, mode loose) bool {
	return mode&(looseACK|looseEdge) == 0 &&
		(mode&(looseGaps|looseAhead) == 0 || c.gapN[1-d] == c.preN[1-d]) &&
		(mode&(looseSent|looseOwn) == 0 || c.gapN[d] == c.preN[d])
}

// pendingFor returns the segments host d may receive next from its peer.
func (c *conn) pendingFor(sh *shadow, d uint8) []rec {
	peer := 1 - d
	i := sh.next - c.base[peer]
	if i < 0 {
		i = 0
	}
	return c.sent[peer][i:]
}

// explain checks that some candidate state of host d, after the delivery
// of some of the peer's captured segments, sends r. It keeps the
// candidates that do, or records the finding.
func (c *conn) explain(d uint8, r *rec) bool {
	next := c.nbuf[:0]
	c.info[d].windowShort = false
	var reasons []string // beyond those of the candidates
	p := c.deliveryParams(d, &r.seg)
	dev := ""
	// A delayed ACK is named only when every explanation of r needs one,
	// as a late ACK is below: an account that took the peer's segments
	// later than another may owe an ACK the other has sent.
	delayed, clean := false, false
	s := &r.seg
	// The candidate that has taken the most of the peer's segments also
	// yields the eager explanation (every pending segment delivered); the
	// others yield their lazy one (the fewest): the eager ends of all of
	// them would be the same state, at the cost of delivering each one's
	// whole backlog again.
	expanded := false
	var mode loose        // the loose account being tried
	tried := 0            // how many of looseOrder are passed
	loosened := false     // some loose account has been tried
	var gap outcome       // text the explanation takes the host to have sent before r, uncaptured
	var orig []shadow     // the candidates before the retry, when it fails
	var origFailed []int  // and those of them that failed (all)
	var undo *keptGaps    // the peer's segments before conn.ahead added to them
	var undoOwn *keptGaps // the host's before conn.own added to them
	var silentCands []shadow
	var silentFailed []int
again:
	eagerDone := false
	// An ACK later than its bound is reported only when every
	// explanation of r has it late.
	inTime, lateCause, lateBy := false, 0, int64(0)
	order := c.spare.order[:0]
	for ci := range c.cands[d] {
		order = append(order, ci)
	}
	// The candidate that took the most first (insertion sort: at most a
	// handful).
	for i := 1; i < len(order); i++ {
		for j := i; j > 0 && c.cands[d][order[j]].next > c.cands[d][order[j-1]].next; j-- {
			order[j], order[j-1] = order[j-1], order[j]
		}
	}
	c.spare.order = order
	failed := c.spare.failed[:0]
	for _, ci := range order {
		base := &c.cands[d][ci] // not changed while explaining: next is built apart
		first, last := &c.spare.o1, &c.spare.o2
		fdev, found, two := c.search(d, base, r, p, !eagerDone, first, last)
		if !found {
			// Why is rendered only if no candidate explains r.
			failed = append(failed, ci)
			continue
		}
		eagerDone = true
		switch {
		case fdev == "":
			clean = true
		case fdev == DevDelayedACK:
			delayed = true
		case dev == "":
			dev = fdev
		}
		if gap.gapN == 0 && !gap.gapFIN {
			gap = c.spare.gap
		}
		for i, n := range c.spare.late {
			switch {
			case i == 1 && !two:
			case n.cause == 0:
				inTime = true
			case lateCause == 0 || n.by < lateBy:
				lateCause, lateBy = n.cause, n.by
			}
		}
		next = appendCand(next, first)
		if c.spare.hasAlt {
			next = appendCand(next, &c.spare.alt)
		}
		if two {
			next = appendCand(next, last)
		}
	}
	if len(next) == 0 && c.nRecent[d] > 1 && sameSegment(c.recentRec(d, 1), r) {
		// The very segment the host sent last, captured again (a capture
		// on several interfaces, -i any across a bridge): nothing new.
		c.twice++
		return true
	}
	if len(next) == 0 && !expanded {
		// No candidate explains r: let the timers and calls that change
		// a closed or closing host without sending anything happen first
		// (2MSL in TIME-WAIT ends it, RFC 9293 §3.10.8; a passive OPEN in
		// CLOSED, §3.10.1), and copies of the peer's latest segments
		// arrive again (duplicated after the capture point), and try
		// again from those states.
		syn := s.Flags&(spec.SYN|spec.ACK) == spec.SYN
		more := withDuplicates(c.silent(d, r.nanos, syn), c.cands[d], func(sh *shadow) []shadow { return c.duplicates(d, sh) })
		expanded = true
		if len(more) > 0 {
			// The candidates as they were stay for the report, with why
			// they failed, if the new ones fail too.
			orig = c.cands[d]
			origFailed = append([]int(nil), failed...)
			c.cands[d] = more
			reasons = nil
			goto again
		}
	}
	if len(next) == 0 {
		mode, tried = c.looseNext(d, r, tried)
		if mode&looseAhead != 0 && undo == nil {
			undo = c.keepGaps(1 - d) // once: conn.ahead adds nothing again
			c.ahead(d, r, c.preCapture(d, r))
		}
		if mode&looseOwn != 0 && undoOwn == nil {
			undoOwn = c.keepGaps(d)
			c.own(d, r)
		}
		if c.dropped && mode&(looseGaps|looseACK) != 0 {
			// The host's own ACKs the capture missed may have offered
			// more room than any it showed (a receiver's window grows as
			// it goes): text it took is held to the largest window its
			// field can say, not to the largest captured.
			p.RcvWnd = max(p.RcvWnd, largestWindow(c.windowShift(d)))
		}
	}
	if len(next) == 0 && mode != 0 {
		// Segments lost after the capture point (shadow.arrive), and
		// accounts beyond the model of the capture point, each named when
		// it explains r: the host moved the right edge of its window to
		// the left (try again with deliveries held to the window it
		// advertised last, so that text it had offered room for and then
		// dropped stays pending, RFC 9293 §3.8.6); the host received text
		// of its peer's that the capture missed. Each starts from the
		// candidates as they were.
		if orig == nil {
			orig = c.cands[d]
			origFailed = append([]int(nil), failed...)
		} else if !loosened {
			// The report gives why the states after silent events failed,
			// not why the loose accounts did.
			silentCands, silentFailed = c.cands[d], append([]int(nil), failed...)
		}
		loosened = true
		more := make([]shadow, len(orig))
		for i := range orig {
			more[i] = orig[i]
			more[i].loose, more[i].edge = mode&^looseUnseen, c.info[d].edge
			if mode&looseGaps != 0 {
				c.takeGaps(d, &more[i], p, mode&looseUnseen != 0, s)
			}
		}
		c.cands[d] = more
		reasons = nil
		goto again
	}
	c.spare.failed = failed
	if dev == "" && delayed && !clean {
		dev = DevDelayedACK
	}
	if dev == DevDelayedACK && c.dropped {
		dev = DevACKNotCaptured
	}
	if len(next) > 0 && dev != "" {
		c.deviation(dev, r.frame)
	}
	if len(next) > 0 && mode != 0 {
		switch mode {
		case looseLost, looseSent:
			// Within the model of the capture point; or (looseSent) the
			// sender's side of text whose receipt the peer's account
			// named missed-by-capture already.
		case looseEdge:
			c.deviation(DevWindowShrink, c.info[d].shrank)
		default:
			if !c.onlyPreCapture(d, mode) {
				c.deviation(DevMissedByCapture, r.frame)
			}
		}
		for i := range next {
			next[i].loose = 0
		}
	}
	if len(next) > 0 && !inTime && lateCause != 0 {
		c.lateACK(r, lateCause, lateBy)
	}
	if len(next) > 0 && expanded {
		c.timeWaitShort(r, next)
		lost := true
		for i := range next {
			lost = lost && next[i].tcbLost
			next[i].tcbLost = false
		}
		if lost {
			c.deviation(DevResetNotCaptured, r.frame)
		}
	}
	if len(next) == 0 {
		if undo != nil {
			undo.restore(c, 1-d) // the report shows the peer's captured segments
		}
		if undoOwn != nil {
			undoOwn.restore(c, d)
		}
		dropHint := false // a reason says the capture may have missed packets
		if peer := &c.info[1-d]; s.Flags.Has(spec.ACK) && (peer.anySent || c.mid) && peer.maxEnd.LessThan(s.Ack) && !s.Flags.Has(spec.RST) {
			hint := "if the capture dropped packets (tcpdump: \"dropped by kernel\"), the gap may be in the capture, not in the host: check it again with --capture-dropped"
			dropHint = !c.dropped
			switch {
			case c.dropped && s.Ack.Sub(peer.maxEnd) > c.maxAhead(d):
				hint = fmt.Sprintf("more than %d octets beyond, more than the %s's window lets its peer have in flight, too many for text the capture missed (--capture-dropped)",
					c.maxAhead(d), hostName(d))
			case c.dropped:
				hint = "not as text the capture missed either (--capture-dropped)"
			}
			reasons = append(reasons, fmt.Sprintf("its ACK %d is beyond everything the capture shows the peer sending (up to %d): %s",
				uint32(s.Ack), uint32(peer.maxEnd), hint))
		}
		if !c.dropped && c.synAckMissing(d, r) {
			dropHint = true
			reasons = append(reasons, "it comes after a SYN,ACK the capture does not show: if the capture dropped packets "+
				"(tcpdump: \"dropped by kernel\"), the SYN,ACK may be missing from the capture, not from the network: check it again with --capture-dropped")
		}
		if !c.dropped && c.info[d].windowShort && c.info[1-d].anySent {
			dropHint = true
			reasons = append(reasons, "its text goes beyond the send window the captured ACKs opened: if the capture dropped packets "+
				"(tcpdump: \"dropped by kernel\"), the ACK that opened it may be missing from the capture: check it again with --capture-dropped")
		}
		if !c.dropped && c.midMissed {
			dropHint = true
			reasons = append(reasons, "the capture starts after the connection opened, and the first segment of one host acknowledges text of the other's "+
				"that the capture does not show: if the capture dropped packets (tcpdump: \"dropped by kernel\"), check it again with --capture-dropped")
		}
		if !c.dropped && c.ownMissing(d, r) {
			dropHint = true
			reasons = append(reasons, fmt.Sprintf("its SEQ %d is beyond the text the capture shows the host sending (up to %d): if the capture dropped packets "+
				"(tcpdump: \"dropped by kernel\"), that text may be missing from the capture: check it again with --capture-dropped", uint32(s.Seq), uint32(c.ownFrom(d))))
		}
		if s.Flags.Has(spec.SYN) && s.Len > 0 {
			reasons = append(reasons, fmt.Sprintf("it is a SYN with %d octets of text, as TCP Fast Open (RFC 7413) sends: the table's OPEN sends a SYN alone, and text only after the handshake, so a connection that opens this way is not checked past its SYN", s.Len))
		}
		// Why the states the host was in fail first, then why those after
		// silent events do (not the loose accounts'), at most maxReasons.
		var why, more []string
		switch {
		case !loosened:
			more = c.reasons(d, r, p, c.cands[d], failed)
		case silentCands != nil:
			more = c.reasons(d, r, p, silentCands, silentFailed)
		}
		if orig != nil {
			why = c.reasons(d, r, p, orig, origFailed)
			c.cands[d] = orig // the state line shows the states the host was in
		}
		for _, w := range more {
			if !slices.Contains(why, w) {
				why = append(why, w)
			}
		}
		if len(why) > maxReasons {
			// The accounts after silent events differ mostly in how many
			// of the peer's segments they took: the first say why.
			why = append(why[:maxReasons:maxReasons], fmt.Sprintf("and %d more accounts like these, after other deliveries", len(why)-maxReasons))
		}
		c.fail = &Finding{Frame: r.frame, Host: hostName(d), Segment: segString(s), Reasons: append(why, reasons...), Rows: c.rowsFor(d, r),
			CaptureMayHaveDropped: dropHint}
		return false
	}
	if len(next) > 2 {
		next = prune(next)
	}
	for i := range next {
		next[i].dropArrived()
	}
	c.nbuf = c.cands[d][:0]
	c.cands[d] = next
	c.info[d].lastSent = max(c.info[d].lastSent, r.nanos)
	c.info[d].advertise(r, c.window(d, s), 1<<c.windowShift(d))
	if gap.gapN > 0 || gap.gapFIN {
		ack := r.seg.Ack
		if c.nRecent[d] > 1 {
			switch prev := c.recentRec(d, 1); {
			case prev.seg.Flags.Has(spec.ACK):
				ack = prev.seg.Ack // sent before r, it carried the ACK of its day
			case prev.seg.Flags.Has(spec.SYN) && c.info[1-d].sawSYN:
				// After the host's SYN: the text went once the peer's
				// SYN,ACK came, and acknowledged at least that.
				ack = c.info[1-d].synSeq.Add(1)
			}
		}
		c.uncaptured(d, r, gap.gapFrom, gap.gapN, gap.gapFIN, ack, false)
	}
	return true
}

// reasons renders why each of host d's candidates cands[i], i in
// failed, does not explain r: from the state as it was, and after every
// pending delivery.
func (c *conn) reasons(d uint8, r *rec, p spec.Params, cands []shadow, failed []int) []string {
	var reasons []string
	c.info[d].quiet = false
	for _, ci := range failed {
		base := &cands[ci]
		pend := c.pendingFor(base, d)
		w0, wn := c.attempt(d, base, r, p, 0), c.attempt(d, base, r, p, len(pend))
		st := base.tcb.State()
		why := fmt.Sprintf("from %s (SND.UNA %d, SND.NXT %d, RCV.NXT %d): %s", st, uint32(base.tcb.SndUna()), uint32(base.tcb.SndNxt()), uint32(base.tcb.RcvNxt()), w0)
		if len(pend) > 0 && wn != w0 {
			why += fmt.Sprintf("; after the delivery of frames %d-%d: %s", pend[0].frame, pend[len(pend)-1].frame, wn)
		}
		if !slices.Contains(reasons, why) {
			reasons = append(reasons, why)
		}
	}
	return reasons
}

// maxReasons bounds the accounts a finding says why each fails.
const maxReasons = 8

// maxSilent bounds the states silent returns (it stops after the
// delivery that passes it): each pending delivery can add three (a
// TIME-WAIT ended, a LISTEN reopened, retries given up).
const maxSilent = 64

// silent returns the states host d's candidates reach by events that
// send nothing, after any prefix of the pending segments: giving up on
// outstanding octets (R2 or the user timeout), the 2MSL timeout in
// TIME-WAIT, a passive OPEN in CLOSED (after the timeout too).
func (c *conn) silent(d uint8, now int64, syn bool) []shadow {
	var out []shadow
	var eff spec.Effect
	p := c.info[d].params()
	for _, base := range c.cands[d] {
		pend := c.pendingFor(&base, d)
		startAbs := max(base.next, c.base[1-d])
		cur := base
		for k := 0; ; k++ {
			sh := cur
			st := sh.tcb.State()
			if syn && st.HasTCB() && st != spec.TimeWait { // TIME-WAIT ends by 2MSL, below
				// The host opens anew on the 4-tuple while it has the
				// connection: it lost the TCB without a captured RST (it
				// crashed and restarted: RFC 9293 §3.5.1's half-open
				// connection; or its ABORT's RST was lost before the
				// capture point).
				g := sh
				eff.Reset()
				g.step(spec.Abort, nil, p, &eff)
				if !g.tcb.State().HasTCB() {
					g.tcbLost = true
					out = append(out, g)
				}
			}
			if st.RetryClass() != spec.RetryNone && sh.tcb.SndUna() != sh.tcb.SndNxt() {
				// The host gave up on what it has outstanding: its
				// retransmissions ran out (R2, RFC 1122 §4.2.3.5) or its
				// user timeout expired (RFC 9293 §3.10.8), rows that delete
				// the TCB and send nothing.
				g := sh
				eff.Reset()
				if g.step(spec.RetriesExhausted, nil, p, &eff) >= 0 && len(eff.Out) == 0 && g.tcb.State() != st {
					out = append(out, g)
				}
			}
			if st == spec.TimeWait {
				eff.Reset()
				if sh.twRST {
					// A RST at RCV.NXT came in TIME-WAIT: RFC 9293 §3.10.7.4
					// closes the connection on it, where the table follows
					// RFC 1337 and keeps TIME-WAIT.
					sh.twKilled = true
				} else if held := now - sh.twAt; c.minTW > 0 && held < c.minTW {
					sh.twShort = max(held, 1)
				}
				sh.step(spec.TimeWaitTimeout, nil, p, &eff)
				out = append(out, sh)
				st = sh.tcb.State()
			}
			if st == spec.Closed {
				sh.tcb = spec.NewListenTCB()
				sh.hist.add(spec.Listen)
				out = append(out, sh)
			}
			if k == len(pend) || len(out) > maxSilent {
				break
			}
			eff.Reset()
			cur.deliver(&pend[k], p, &eff)
			cur.next = startAbs + k + 1
		}
	}
	return out
}

// duplicates returns sh after a copy of one of the peer's latest
// segments that sh has taken arrives again, one state per segment.
func (c *conn) duplicates(d uint8, sh *shadow) []shadow {
	var out []shadow
	var eff spec.Effect
	peer := 1 - d
	for i := 0; i < int(c.nRecent[peer]); i++ {
		r := c.recentRec(peer, i)
		x := *sh
		eff.Reset()
		x.deliver(r, c.info[d].params(), &eff)
		if len(eff.Out) > 0 {
			// What the copy makes it send goes into the capture after
			// this: treat it as the explanation of r's sender only
			// through the state it leaves.
			out = append(out, x)
		}
	}
	return out
}

// withDuplicates returns more and, after it, dup of each state of more and
// of cands, in that order. The states it ranges over are a copy: the
// states dup yields, appended to more, cannot overwrite them (more may
// have room beyond its length, where the copy would otherwise be).
func withDuplicates(more, cands []shadow, dup func(*shadow) []shadow) []shadow {
	from := append(more[:len(more):len(more)], cands...)
	for i := range from {
		more = append(more, dup(&from[i])...)
	}
	return more
}

// deliveryParams are host d's parameters for deliveries before it sends s.
func (c *conn) deliveryParams(d uint8, s *spec.Segment) spec.Params {
	p := c.info[d].params()
	p.ISS = s.Seq
	if s.Flags.Has(spec.SYN) {
		p.WScale, p.Shift, p.MSS = s.HasWScale, s.WScale, max(s.MSS, 1)
	}
	return p
}

// search looks for the explanations of r by a candidate of host d: the one
// that takes the fewest of the peer's pending segments (in first), and
// the one that takes the most (in last, when two says it is another than
// first; ok is false when there is none).
func (c *conn) search(d uint8, base *shadow, r *rec, p spec.Params, eager bool, first, last *shadow) (dev string, ok, two bool) {
	info, sp := &c.info[d], c.spare
	info.quiet = true
	bound := c.ackBound()
	pend := c.pendingFor(base, d)
	startAbs := max(base.next, c.base[1-d])
	cur := *base
	outs := sp.outs[:0]
	from := 0 // outs[:from] are acknowledgments that are not r (emit)
	if cur.loose&looseLost != 0 {
		sp.eff.Reset()
		cur.arrive(&r.seg, p, &sp.eff, info.lastSent, c.dropped)
		outs = append(outs, sp.eff.Out...)
	}
	if cur.loose&looseACK != 0 {
		sp.eff.Reset()
		cur.openWindow(1-d, r, p, &sp.eff)
		outs = append(outs, sp.eff.Out...)
	}
	if cur.loose&looseSent != 0 {
		c.sendGaps(d, &cur, r, p)
	}
	for k := 0; ; k++ {
		*first = cur
		o := emit(first, outs, from, r, info)
		if o.why != "" {
			// outs only grows: once it holds a segment other than an
			// acknowledgment that s is not, no further delivery explains
			// r (emit); acknowledgments that are not s need no second look.
			for ; from < len(outs) && isPureACK(&outs[from]); from++ {
			}
			if from < len(outs) {
				sp.outs = outs
				return "", false, false
			}
		}
		if o.why == "" {
			dev = o.dev
			for j := k; j < len(pend) && first.owedFrame != 0; j++ {
				first.copyOfOwed(&pend[j], info.lastSent) // copies still pending came before r too
			}
			sp.late[0] = first.sent(r, bound)
			sp.gap = o
			if sp.hasAlt = info.hasAlt; sp.hasAlt {
				sp.alt = *info.alt
				if s := &r.seg; s.Flags.Has(spec.ACK) {
					sp.alt.tcb.AckSent(s.Ack) // as emit does
				}
				sp.alt.sent(r, bound) // r pays what it pays in the first account
			}
			break
		}
		if k == len(pend) {
			sp.outs = outs
			return "", false, false
		}
		sp.eff.Reset()
		outs = cur.takeOuts(&pend[k], p, &sp.eff, info.lastSent, &r.seg, c.dropped, outs)
		cur.next = startAbs + k + 1
		if cur.loose&looseSent != 0 {
			c.sendGaps(d, &cur, r, p) // once the delivery let it send them
		}
	}
	// The eager end: every pending segment delivered. It stops as soon as
	// it cannot explain r (a host far down a long pipe from the capture
	// point acknowledges much less than everything in flight, and the
	// segments pending for it run to thousands).
	if eager && cur.next < startAbs+len(pend) {
		byACK := eagerEndsByACK(r, info)
		efrom, matched := from, false
		for k := cur.next - startAbs; k < len(pend); k++ {
			sp.eff.Reset()
			outs = cur.takeOuts(&pend[k], p, &sp.eff, info.lastSent, &r.seg, c.dropped, outs)
			cur.next = startAbs + k + 1
			if cur.loose&looseSent != 0 {
				c.sendGaps(d, &cur, r, p)
			}
			// As emit reads outs: r among them after acknowledgments
			// only, or a segment the host did not send first (emit fails).
			for !matched && efrom < len(outs) {
				if ok, _ := matchOut(&r.seg, &outs[efrom]); ok {
					matched = true
					break
				}
				if !isPureACK(&outs[efrom]) {
					sp.outs = outs
					return dev, true, false
				}
				efrom++
			}
			if byACK && !matched && r.seg.Ack.LessThan(cur.tcb.RcvNxt()) {
				if keepsGrowing(&cur, pend[k+1:]) {
					sp.outs = outs
					return dev, true, false // RCV.NXT only grows: emit fails
				}
				byACK = false
			}
		}
		*last = cur
		if o := emit(last, outs, efrom, r, info); o.why == "" {
			sp.late[1] = last.sent(r, bound)
			two = true
		}
	}
	sp.outs = outs
	return dev, true, two
}

// eagerEndsByACK reports whether the eager end of a search for r, host
// d's segment, fails once RCV.NXT passes r's ACK while no output of the
// table's is r, if from then on the host keeps its TCB and RCV.NXT only
// grows (keepsGrowing): r carries an ACK and is no RST, SYN or copy from
// an earlier incarnation, and its ACK is the highest the host has sent,
// so it is no stale copy (staleCopy). Then spontaneous, which needs
// SEG.ACK = RCV.NXT, cannot explain r.
func eagerEndsByACK(r *rec, info *hostInfo) bool {
	s := &r.seg
	return s.Flags.Has(spec.ACK) && s.Flags&(spec.RST|spec.SYN) == 0 && !r.old && info.ackSent && s.Ack == info.maxAck
}

// keepsGrowing reports whether cur keeps its TCB, and RCV.NXT only grows,
// whatever of rest it takes: it is in a synchronized state other than
// LAST-ACK (no delivery takes it to CLOSED but a RST), and rest holds no
// RST or SYN.
func keepsGrowing(cur *shadow, rest []rec) bool {
	switch cur.tcb.State() {
	case spec.Established, spec.FinWait1, spec.FinWait2, spec.CloseWait, spec.Closing, spec.TimeWait:
	default:
		return false
	}
	for i := range rest {
		if rest[i].seg.Flags&(spec.RST|spec.SYN) != 0 {
			return false
		}
	}
	return true
}

// attempt renders why r is not explained after n of the pending segments.
func (c *conn) attempt(d uint8, base *shadow, r *rec, p spec.Params, n int) string {
	pend := c.pendingFor(base, d)
	cur := *base
	var outs []spec.Segment
	var eff spec.Effect
	for k := 0; k < n && k < len(pend); k++ {
		eff.Reset()
		st, rcv := cur.tcb.State(), cur.tcb.RcvNxt()
		cur.deliver(&pend[k], p, &eff)
		outs = cur.appendOuts(outs, &pend[k], &eff, st, rcv)
	}
	return emit(&cur, outs, 0, r, &c.info[d]).why
}

// prune keeps the laziest candidate (the one that took the fewest of the
// peer's segments: it can still take them), the eagerest (it took them
// all), and those in other states than these two, at most maxCands. The
// candidates in between differ from these only in how many of the peer's
// segments they took, and the later segments reveal which is right no
// better than they tell the two ends apart.
func prune(cs []shadow) []shadow {
	lo, hi := 0, 0
	for i := range cs {
		if cs[i].next < cs[lo].next {
			lo = i
		}
		if cs[i].next > cs[hi].next {
			hi = i
		}
	}
	if lo == hi {
		hi = (lo + 1) % len(cs)
	}
	keep := []shadow{cs[lo], cs[hi]}
	for i := range cs {
		if i == lo || i == hi || len(keep) == maxCands {
			continue
		}
		if st := cs[i].tcb.State(); st != cs[lo].tcb.State() && st != cs[hi].tcb.State() {
			keep = append(keep, cs[i])
		}
	}
	return append(cs[:0], keep...)
}

// sameSegment reports whether a and b are the same segment (captured
// twice, within a millisecond).
func sameSegment(a, b *rec) bool {
	return a.seg == b.seg && a.frame != b.frame && b.nanos-a.nanos <= int64(time.Millisecond)
}

// appendCand adds sh to cs unless a candidate with the same TCB is there
// (the one that has taken fewer of the peer's segments is kept: it can
// still take the rest).
func appendCand(cs []shadow, sh *shadow) []shadow {
	for i := range cs {
		// The sequence variables first: they tell most candidates apart
		// at less cost than the whole TCB.
		t, u := &cs[i].tcb, &sh.tcb
		if t.SndNxt() != u.SndNxt() || t.RcvNxt() != u.RcvNxt() || t.SndUna() != u.SndUna() {
			continue
		}
		if *t == *u && slices.Equal(cs[i].held, sh.held) {
			short, killed, lost, inv := cs[i].twShort, cs[i].twKilled, cs[i].tcbLost, cs[i].invalidAt
			if sh.next < cs[i].next {
				cs[i] = *sh
			}
			cs[i].twShort, cs[i].twKilled = mergeTWEnd(short, killed, sh.twShort, sh.twKilled)
			cs[i].tcbLost = lost && sh.tcbLost // the least blame
			// The latest answer to an unacceptable segment: its rate limit
			// leaves out the most ACKs after it (appendOuts), the least blame.
			cs[i].invalidAt = max(inv, sh.invalidAt)
			return cs
		}
	}
	return append(cs, *sh)
}

// mergeTWEnd merges how two accounts that reach the same state ended
// TIME-WAIT, keeping the least blame: in time (twShort 0, not killed),
// then by a RST (killed), then too soon (twShort > 0).
func mergeTWEnd(shortA int64, killedA bool, shortB int64, killedB bool) (int64, bool) {
	switch {
	case shortA == 0 && !killedA || shortB == 0 && !killedB:
		return 0, false
	case killedA || killedB:
		return 0, true
	}
	return max(shortA, shortB), false
}

func (c *conn) deviation(name string, frame int) {
	if c.lastDev != nil && c.lastDev.Name == name {
		c.lastDev.Count++
		return
	}
	if c.devs == nil {
		c.devs = map[string]*Deviation{}
	}
	dv := c.devs[name]
	if dv == nil {
		dv = &Deviation{Name: name, Where: deviationRFC[name], FirstFrame: frame}
		c.devs[name] = dv
	}
	dv.Count++
	c.lastDev = dv
}

// maxPending is how many of the peer's segments a candidate may leave
// pending before it is dropped in favour of the candidates that took them.
// A sender may have as many segments in flight as the receiver's window
// holds (RFC 9293 §3.8.6), and a capture at the sender sees them all
// before the receiver answers: 4096 segments of 1448 octets are a window
// of 6 MB, as maxHeld. (256 failed a Linux transfer with a 725 KB window
// captured at the sender.)
const maxPending = 1 << 12

// trim forgets the peer segments every candidate of host d's peer has
// taken, and of d's own sent segments those every candidate of the peer
// has taken.
func (c *conn) trim(d uint8) {
	for x := uint8(0); x < 2; x++ {
		// c.sent[x] is consumed by the candidates of host 1-x.
		if !c.init[1-x] || len(c.cands[1-x]) == 0 {
			continue
		}
		cs := c.cands[1-x]
		end := c.base[x] + len(c.sent[x])
		if len(c.sent[x]) > maxPending && len(cs) > 1 {
			// A candidate that has left this many segments pending is
			// dropped in favour of the one that took the most.
			best := 0
			for i := range cs {
				if cs[i].next > cs[best].next {
					best = i
				}
			}
			keep := cs[:0]
			for i := range cs {
				if i == best || end-cs[i].next <= maxPending {
					keep = append(keep, cs[i])
				}
			}
			c.cands[1-x] = keep
			cs = keep
		}
		lo := cs[0].next
		for _, sh := range cs[1:] {
			lo = min(lo, sh.next)
		}
		if n := lo - c.base[x]; n > 0 && n <= len(c.sent[x]) {
			c.sent[x] = append(c.sent[x][:0], c.sent[x][n:]...)
			c.base[x] = lo
		}
	}
}

// rowsFor lists, for the finding, the rows that could have applied in
// each candidate state of the host, on the arrival of the peer's pending
// segments, with their guards' outcomes.
func (c *conn) rowsFor(d uint8, r *rec) []string {
	var out []string
	rows := machine.Rows()
	seen := map[string]bool{}
	for _, sh := range c.cands[d] {
		pend := c.pendingFor(&sh, d)
		if len(pend) > 3 {
			pend = pend[len(pend)-3:]
		}
		st := sh.tcb.State()
		for _, pr := range pend {
			e := spec.Classify(pr.seg.Flags, int(pr.seg.Len))
			x := sh.tcb.Ctx(&pr.seg, c.info[d].params().RcvWnd)
			g := spec.EvalAll(&x)
			for i := range rows {
				row := &rows[i]
				if row.From != st || row.On != e {
					continue
				}
				var gs []string
				for _, l := range row.When.Lits() {
					v := g.Has(l.G)
					mark := "holds"
					if v == l.Neg {
						mark = "fails"
					}
					gs = append(gs, fmt.Sprintf("%s %s", l.G, mark))
				}
				line := fmt.Sprintf("on frame %d (%s) in %s: %s -> %s [%s]", pr.frame, e, st, row.Name(), row.ActionString(), strings.Join(gs, ", "))
				if len(gs) == 0 {
					line = fmt.Sprintf("on frame %d (%s) in %s: %s -> %s", pr.frame, e, st, row.Name(), row.ActionString())
				}
				if !seen[line] {
					seen[line] = true
					out = append(out, line)
				}
			}
		}
		if len(pend) == 0 {
			line := fmt.Sprintf("no segment of the peer was pending; in %s a user call or timer sends: %s", st, userSends(st))
			if !seen[line] {
				seen[line] = true
				out = append(out, line)
			}
		}
	}
	return out
}

// userSends lists the rows of state st for user calls and timers that
// send a segment.
func userSends(st spec.State) string {
	var names []string
	for _, row := range machine.Rows() {
		if row.From != st || row.On.IsSegment() {
			continue
		}
		for _, a := range row.Do {
			if a.Sends() {
				names = append(names, row.On.String()+": "+row.ActionString())
				break
			}
		}
	}
	if len(names) == 0 {
		return "nothing"
	}
	sort.Strings(names)
	return strings.Join(names, "; ")
}

// finalStates returns host d's state line (of its first candidate), with
// the peer's segments it has not yet taken delivered at the end: the
// capture shows they were sent, and nothing the host sent after them says
// they were lost. Without a finding this is where each host ended.
func (c *conn) finalStates(d uint8) []spec.State {
	if len(c.cands[d]) == 0 {
		return nil
	}
	sh := c.finalShadow(d)
	return sh.hist.list()
}

// finalShadow is host d's first candidate with the pending segments
// delivered (unless the connection has a finding).
func (c *conn) finalShadow(d uint8) shadow {
	sh := c.cands[d][0]
	if c.fail == nil {
		var eff spec.Effect
		p := c.info[d].params()
		pend := c.pendingFor(&sh, d)
		for i := range pend {
			eff.Reset()
			sh.deliver(&pend[i], p, &eff)
		}
		sh.next += len(pend)
	}
	return sh
}
