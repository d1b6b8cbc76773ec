package impl

import (
	"crypto/hmac"
	"encoding/binary"
	"net/netip"
	"time"

	"github.com/tcpcheck/tcpcheck/impl/wire"
	"github.com/tcpcheck/tcpcheck/spec"
)

// SYN cookies (RFC 4987 §3.6). When a listener's backlog is full, a SYN
// still gets its SYN,ACK, but the TCB that the LISTEN + rcv SYN row made
// is not kept: what the handshake needs later is encoded in the ISS, the
// cookie, which the peer's ACK returns as SEG.ACK - 1.
//
//	bits 31-27  t mod 32, t = seconds since the epoch / 64
//	bits 26-24  index into cookieMSS of the MSS to use
//	bits 23-0   HMAC-SHA256(cookie secret, 4-tuple, IRS, t, index), first 24 bits
//
// A cookie is valid for the current and the previous t, so between 64
// and 128 seconds. Window scaling is not encoded: a cookie SYN,ACK leaves
// the option out, and both ends then use unscaled windows (RFC 7323 §2.2).

// cookieMSS are the MSS values a cookie can encode; a peer's MSS is
// rounded down to one of them.
var cookieMSS = [8]uint16{536, 1200, 1300, 1400, 1440, 1460, 4312, 8960}

const cookieTick = 64 * time.Second

func cookieTime(now time.Time) uint32 { return uint32(now.Unix() / int64(cookieTick/time.Second)) }

// cookieHash is the keyed hash of a cookie.
func (s *Stack) cookieHash(k connKey, irs spec.Seq, t uint32, idx int) uint32 {
	var b [11]byte
	binary.BigEndian.PutUint16(b[0:], k.peer.Port()) // the link port too: on the udp link it tells peers apart
	binary.BigEndian.PutUint32(b[2:], uint32(irs))
	binary.BigEndian.PutUint32(b[6:], t)
	b[10] = byte(idx)
	return tupleMAC(s.cookieMAC, netip.AddrPortFrom(s.local.Addr(), k.port), netip.AddrPortFrom(k.peer.Addr(), k.peerPort), b[:]...) & 0xffffff
}

// makeCookie returns the ISS for a SYN whose sequence number is irs and
// whose MSS (after our own limit) is mss.
func (s *Stack) makeCookie(k connKey, irs spec.Seq, mss int) spec.Seq {
	idx := 0
	for i, m := range cookieMSS {
		if int(m) <= mss {
			idx = i
		}
	}
	t := cookieTime(s.now())
	return spec.Seq(t&0x1f<<27 | uint32(idx)<<24 | s.cookieHash(k, irs, t, idx))
}

// checkCookie validates the cookie in an ACK: iss = SEG.ACK - 1 and
// irs = SEG.SEQ - 1. It returns the MSS the cookie encodes.
func (s *Stack) checkCookie(k connKey, iss, irs spec.Seq) (mss int, ok bool) {
	c := uint32(iss)
	idx := int(c >> 24 & 7)
	now := cookieTime(s.now())
	for _, t := range []uint32{now, now - 1} {
		if t&0x1f == c>>27 && hmac.Equal(be24(s.cookieHash(k, irs, t, idx)), be24(c&0xffffff)) {
			return int(cookieMSS[idx]), true
		}
	}
	return 0, false
}

func be24(v uint32) []byte { return []byte{byte(v >> 16), byte(v >> 8), byte(v)} }

// cookieSYN answers a SYN for a listener whose backlog is full: the
// LISTEN + rcv SYN row runs as always (accept SYN, send SYN,ACK with the
// cookie as ISS, SYN-RECEIVED), and the half-open TCB is then deleted at
// once by the table's SYN-RECEIVED + user timeout [Passive] row (back to
// LISTEN): the shell gives cookie connections a user timeout of zero.
// No timer is armed, so the SYN,ACK is never retransmitted.
func (l *Listener) cookieSYN(key connKey, in *segment) {
	s := l.s
	s.stats.SynCookies++
	c := s.newConn(key, spec.Listen)
	c.cookie, c.stateless = true, true
	c.handle(spec.SegSYN, in, nil)
	if c.tcb.State() == spec.SynReceived {
		c.handle(spec.UserTimeout, nil, nil)
	}
}

// cookieACK takes a segment for the listener's port that matches no
// connection. When it is an ACK carrying a valid cookie, the shell
// re-creates the TCB the LISTEN + rcv SYN row made (the step is traced
// again with Transition.Replayed set; nothing is sent), registers it, and
// hands it the segment, which then follows the table from SYN-RECEIVED
// (to ESTABLISHED by the ACK, with any text accepted). It reports false
// when the segment is no cookie ACK (the table then answers it from
// LISTEN, with a RST) or when the accept queue or connection cap is full
// (the segment is dropped as if lost: the peer retransmits its text, or
// the ACK was not needed).
func (l *Listener) cookieACK(key connKey, in *segment) (handled bool) {
	s := l.s
	f := in.h.Flags
	if s.opt.NoSynCookies || !f.Has(spec.ACK) || f.Has(spec.SYN) || f.Has(spec.RST) {
		return false
	}
	iss, irs := in.h.Ack-1, in.h.Seq-1
	mss, ok := s.checkCookie(key, iss, irs)
	if !ok {
		return false
	}
	if len(l.queue) >= s.opt.Backlog || len(s.conns) >= s.opt.MaxConns {
		s.stats.CookieDrops++
		s.traceExtra(s.newConn(key, spec.Listen), false, *in.trace(), ExtraCookieFull)
		return true
	}
	s.stats.CookiesAccepted++
	c := s.newConn(key, spec.Listen)
	c.listener, c.inBacklog = l, true
	c.cookie, c.cookieISS, c.replay = true, iss, true
	l.pending++
	s.conns[key] = c
	syn := &segment{h: wire.Header{SrcPort: in.h.SrcPort, DstPort: in.h.DstPort, Seq: irs, Flags: spec.SYN,
		Window: in.h.Window, MSS: uint16(mss)}}
	c.handle(spec.SegSYN, syn, nil)
	c.replay = false
	if c.tcb.State() != spec.SynReceived || c.deleted {
		return true
	}
	c.segmentArrives(in)
	return true
}
