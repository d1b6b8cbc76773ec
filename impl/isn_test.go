package impl

import (
	"math/bits"
	"net/netip"
	"testing"
	"time"

	"github.com/tcpcheck/tcpcheck/spec"
)

// isnStack returns a stack on a mem link under a fake clock, with the
// RFC 6528 ISN generator and a fresh secret.
func isnStack(t *testing.T) (*Stack, *FakeClock) {
	clock := NewFakeClock(time.Unix(1700000000, 0))
	n, err := NewMemNet(clock, 0, Faults{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	l, err := n.Link(netip.MustParseAddr("10.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewStack(l, Options{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, clock
}

// bitBalance fails unless every bit of the values is set in roughly half
// of them (within 5 standard deviations of a fair coin).
func bitBalance(t *testing.T, what string, vs []uint32) {
	t.Helper()
	n := float64(len(vs))
	for b := range 32 {
		ones := 0
		for _, v := range vs {
			ones += int(v >> b & 1)
		}
		if d := float64(ones) - n/2; d*d > 25*n/4 {
			t.Fatalf("%s: bit %d is set in %d of %d values", what, b, ones, len(vs))
		}
	}
}

// TestISNQuality holds the ISN generator to RFC 6528 §3: ISN = M + F(4-tuple,
// secret), M a 4 µs clock. For one 4-tuple the ISN advances with the
// clock; at one instant the ISNs of different 4-tuples (even neighbouring
// ports) are unrelated; and neither a connection's ISN nor the ISNs of
// other connections predict another's.
func TestISNQuality(t *testing.T) {
	s, clock := isnStack(t)
	local := netip.MustParseAddrPort("10.0.0.1:80")
	peer := func(port int) netip.AddrPort {
		return netip.AddrPortFrom(netip.MustParseAddr("10.0.0.2"), uint16(port))
	}

	// One 4-tuple: the ISN moves by exactly the elapsed time in 4 µs ticks.
	isn0 := s.isn(local, peer(40000))
	for _, d := range []time.Duration{4 * time.Microsecond, time.Millisecond, time.Second, time.Hour} {
		clock.Advance(d)
		isn := s.isn(local, peer(40000))
		if got, want := uint32(isn.Sub(isn0)), uint32(d/(4*time.Microsecond)); got != want {
			t.Fatalf("after %v the ISN moved by %d, want %d ticks of 4 µs", d, got, want)
		}
		isn0 = isn
	}

	// One instant, 4,096 neighbouring ports: the ISNs as distinct as
	// random 32-bit values are, every bit fair, and the difference
	// between neighbours fair too (a counter shared by all connections,
	// or F linear in the port, would make it constant). F is 32 bits of
	// an HMAC under a fresh random secret, so two of 4,097 ports share an
	// ISN about once in 500 runs (the birthday bound, n²/2^33); three
	// repeats, about once in a billion; a degenerate F repeats by the
	// hundreds.
	const n = 4096
	seen := map[spec.Seq]bool{}
	var isns, diffs []uint32
	repeats := 0
	prev := s.isn(local, peer(30000))
	seen[prev] = true
	for p := 30001; p <= 30000+n; p++ {
		isn := s.isn(local, peer(p))
		if seen[isn] {
			repeats++
		}
		seen[isn] = true
		isns = append(isns, uint32(isn))
		diffs = append(diffs, uint32(isn.Sub(prev)))
		prev = isn
	}
	if repeats > 2 {
		t.Fatalf("%d of %d ports repeat an ISN at one instant; random 32-bit values repeat more than 2 about once in a billion runs", repeats, n+1)
	}
	bitBalance(t, "ISNs of neighbouring ports", isns)
	bitBalance(t, "differences between neighbours' ISNs", diffs)

	// An attacker who opens its own connection at the same instant as a
	// victim's, and knows both 4-tuples, still cannot predict the victim's
	// ISN: the difference to its own is a fair coin in every bit.
	var gaps []uint32
	for p := range n {
		own := s.isn(local, peer(50000))
		victim := s.isn(local, netip.AddrPortFrom(netip.MustParseAddr("10.0.0.3"), uint16(p+1)))
		gaps = append(gaps, uint32(victim.Sub(own)))
		clock.Advance(time.Duration(1+p%7) * time.Millisecond)
	}
	bitBalance(t, "victim ISN less the attacker's", gaps)

	// Another stack (another secret) gives the same 4-tuple an unrelated
	// ISN at the same instant.
	s2, clock2 := isnStack(t)
	clock2.Advance(clock.Now().Sub(clock2.Now()))
	same := 0
	var xs []uint32
	for p := range n {
		a, b := s.isn(local, peer(p+1)), s2.isn(local, peer(p+1))
		xs = append(xs, uint32(a)^uint32(b))
		same += 32 - bits.OnesCount32(uint32(a)^uint32(b))
	}
	bitBalance(t, "ISNs of two stacks for one 4-tuple (XOR)", xs)
	t.Logf("%d 4-tuples at one instant: %d repeated an ISN; %d of %d bits agree between two secrets", n+1, repeats, same, 32*n)
}

// TestEphemeralNeverMirrorsThePeer: a stack that shares its address with
// the peer's never picks the peer's port as its own, so no connection has
// local endpoint = remote endpoint (lincheck's stacks share 127.0.0.1 and
// its checker keys connections by their two endpoints).
func TestEphemeralNeverMirrorsThePeer(t *testing.T) {
	_, a, _ := memPair(t, Options{}, time.Millisecond, Faults{}, 1)
	a.mu.Lock()
	defer a.mu.Unlock()
	port := uint16(60000)
	a.nextPort = port
	got, err := a.ephemeral(netip.AddrPortFrom(a.local.Addr(), 9), port)
	if err != nil || got == port {
		t.Fatalf("ephemeral = %d, %v; want a port other than the peer's %d", got, err, port)
	}
	a.nextPort = port
	if got, err := a.ephemeral(netip.MustParseAddrPort("192.0.2.200:9"), port); err != nil || got != port {
		t.Fatalf("to another address: ephemeral = %d, %v; want %d", got, err, port)
	}
}
