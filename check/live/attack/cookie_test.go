package attack

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"github.com/tcpcheck/tcpcheck/impl"
	"github.com/tcpcheck/tcpcheck/spec"
)

// TestSynCookies fills a listener's backlog with spoofed SYNs and shows
// RFC 4987 §3.6 at work on the mem link under the conformance checker:
// legitimate connections still complete, through SYN cookies, and carry
// text both ways; a cookie SYN,ACK is never retransmitted while a kept
// half-open connection's is; forged and stale cookies are refused by the
// table's LISTEN + rcv ACK row (a RST); and the stack keeps no TCB for a
// cookie it handed out.
func TestSynCookies(t *testing.T) {
	const backlog = 4
	w := newWorld(t, time.Millisecond, impl.Faults{}, 3, impl.Options{Backlog: backlog})
	b := w.stack(1) // the server
	l, err := b.Listen(":80")
	if err != nil {
		t.Fatal(err)
	}
	var synacks = map[netip.Addr]int{}
	p := NewMem(w.net, func(r Reply) bool {
		if r.Header.Flags == spec.SYN|spec.ACK {
			synacks[r.Dst.Addr()]++
		}
		return r.Src.Addr() == b.Addr().Addr()
	})
	defer p.Close()
	server := netip.AddrPortFrom(b.Addr().Addr(), 80)
	spoofed := func(i int) netip.AddrPort {
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}), 40000)
	}
	// backlog SYNs fill the backlog; as many again get cookies.
	for i := range 2 * backlog {
		if err := p.Send(Segment{Src: spoofed(i), Dst: server, Flags: spec.SYN, Seq: spec.Seq(1000 * i), Window: 65535, MSS: 1460}); err != nil {
			t.Fatal(err)
		}
	}
	w.clock.Advance(time.Millisecond)
	if st := b.Stats(); st.SynCookies != backlog {
		t.Fatalf("%d SYN cookies for %d SYNs beyond a backlog of %d", st.SynCookies, backlog, backlog)
	}
	if n := len(b.Connections()) - 1; n != backlog {
		t.Fatalf("%d half-open connections kept, want the backlog, %d", n, backlog)
	}
	// Legitimate clients, each on a stack of its own.
	const clients = 5
	for i := range clients {
		a := w.stack(10 + i)
		ca, cb := w.dial(a, l, b)
		msgA, msgB := pattern(uint64(i), 5000), pattern(uint64(100+i), 7000)
		ca.Write(msgA)
		cb.Write(msgB)
		w.clock.Advance(50 * time.Millisecond)
		gotB, _ := readNow(cb, w.clock)
		gotA, _ := readNow(ca, w.clock)
		if !bytes.Equal(gotA, msgB) || !bytes.Equal(gotB, msgA) {
			t.Fatalf("client %d: text differs (%d of %d, %d of %d octets)", i, len(gotA), len(msgB), len(gotB), len(msgA))
		}
		if synacks[a.Addr().Addr()] != 1 {
			t.Fatalf("client %d got %d SYN,ACKs, want 1 (re-creating the TCB sends nothing)", i, synacks[a.Addr().Addr()])
		}
		ca.Close()
		cb.Close()
	}
	if st := b.Stats(); st.CookiesAccepted != clients {
		t.Fatalf("%d connections re-created from cookies, want %d", st.CookiesAccepted, clients)
	}
	// A minute on: the kept half-open connections retransmitted their
	// SYN,ACKs; the cookie SYN,ACKs went once.
	w.clock.Advance(time.Minute)
	for i := range 2 * backlog {
		n := synacks[spoofed(i).Addr()]
		if i < backlog && n < 2 || i >= backlog && n != 1 {
			t.Fatalf("spoofed SYN %d: %d SYN,ACKs (kept: %v)", i, n, i < backlog)
		}
	}
	// A forged ACK (a guessed cookie) and a stale one get the RST of
	// LISTEN + rcv ACK (RFC 9293 §3.10.7.2) and no connection.
	p.Take()
	forger := netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 0, 2, 200}), 5555)
	if err := p.Send(Segment{Src: forger, Dst: server, Flags: spec.ACK, Seq: 1, Ack: 0x12345678, Window: 100}); err != nil {
		t.Fatal(err)
	}
	// A genuine cookie, returned after 3 minutes.
	if err := p.Send(Segment{Src: forger, Dst: server, Flags: spec.SYN, Seq: 500, Window: 100}); err != nil {
		t.Fatal(err)
	}
	w.clock.Advance(time.Millisecond)
	var cookie spec.Seq
	rst := 0
	for _, r := range p.Take() {
		switch {
		case r.Header.Flags == spec.RST && r.Header.Seq == 0x12345678:
			rst++
		case r.Header.Flags == spec.SYN|spec.ACK && r.Dst == forger:
			cookie = r.Header.Seq
			if r.Header.HasWScale {
				t.Fatalf("a cookie SYN,ACK carries window scaling: %v", r)
			}
		}
	}
	if rst != 1 || cookie == 0 {
		t.Fatalf("forged ACK: %d RSTs; cookie SYN,ACK seen: %v", rst, cookie != 0)
	}
	w.clock.Advance(3 * time.Minute)
	p.Take()
	if err := p.Send(Segment{Src: forger, Dst: server, Flags: spec.ACK, Seq: 501, Ack: cookie + 1, Window: 100}); err != nil {
		t.Fatal(err)
	}
	w.clock.Advance(time.Millisecond)
	if got := p.Take(); len(got) != 1 || got[0].Header.Flags != spec.RST {
		t.Fatalf("stale cookie: replies %v, want one RST", got)
	}
	w.clock.Advance(2 * w.opt.MSL)
	if n := len(b.Connections()); n != 1 {
		t.Fatalf("connections left: %v", b.Connections())
	}
	w.conform()
}
