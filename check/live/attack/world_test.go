package attack

import (
	"context"
	"crypto/sha256"
	"errors"
	"math/rand/v2"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/tcpcheck/tcpcheck/check/live/conform"
	"github.com/tcpcheck/tcpcheck/impl"
)

// world is a mem network under a fake clock with stacks whose every
// transition the conformance checker replays through the table.
type world struct {
	t      testing.TB
	clock  *impl.FakeClock
	net    *impl.MemNet
	chk    *conform.Checker
	stacks []*impl.Stack
	opt    impl.Options
}

func newWorld(t testing.TB, delay time.Duration, faults impl.Faults, seed uint64, opt impl.Options) *world {
	t.Helper()
	clock := impl.NewFakeClock(time.Unix(1700000000, 0))
	n, err := impl.NewMemNet(clock, delay, faults, seed)
	if err != nil {
		t.Fatal(err)
	}
	if opt.MSL == 0 {
		opt.MSL = 5 * time.Second
	}
	if opt.ChallengeACKs == 0 {
		opt.ChallengeACKs = 10
	}
	chk, err := conform.New(conform.Options{MSL: opt.MSL, ChallengeACKs: opt.ChallengeACKs, RecvBuffer: opt.RecvBuffer})
	if err != nil {
		t.Fatal(err)
	}
	opt.Clock = clock
	opt.Tracer = chk.Tracer(opt.Tracer)
	w := &world{t: t, clock: clock, net: n, chk: chk, opt: opt}
	t.Cleanup(func() {
		for _, s := range w.stacks {
			s.Close()
		}
	})
	return w
}

// stack attaches a stack at 10.0.x.y.
func (w *world) stack(i int) *impl.Stack {
	w.t.Helper()
	l, err := w.net.Link(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}))
	if err != nil {
		w.t.Fatal(err)
	}
	s, err := impl.NewStack(l, w.opt)
	if err != nil {
		w.t.Fatal(err)
	}
	w.stacks = append(w.stacks, s)
	return s
}

// conform fails the test if an endpoint left the table.
func (w *world) conform() {
	w.t.Helper()
	if err := w.chk.Err(); err != nil {
		w.t.Fatalf("the endpoint left the table:\n%v", err)
	}
}

// dial connects a to l's port under the fake clock and accepts the
// connection.
func (w *world) dial(a *impl.Stack, l *impl.Listener, b *impl.Stack) (ca, cb *impl.Conn) {
	w.t.Helper()
	type res struct {
		c   *impl.Conn
		err error
	}
	ch := make(chan res, 1)
	addr := netip.AddrPortFrom(b.Addr().Addr(), uint16(l.Addr().(interface{ AddrPort() netip.AddrPort }).AddrPort().Port()))
	go func() {
		c, err := a.Dial(context.Background(), addr.String())
		ch <- res{c, err}
	}()
	for i := 0; i < 100000; i++ {
		select {
		case r := <-ch:
			if r.err != nil {
				w.t.Fatalf("dial %v: %v", addr, r.err)
			}
			// The ACK of the handshake reaches b a delay later.
			w.clock.Advance(10 * time.Millisecond)
			acc := make(chan res, 1)
			go func() {
				c, err := l.AcceptConn()
				acc <- res{c, err}
			}()
			select {
			case x := <-acc:
				if x.err != nil {
					w.t.Fatal(x.err)
				}
				return r.c, x.c
			case <-time.After(10 * time.Second):
				l.Close()
				w.t.Fatalf("dial %v: established, but nothing to accept", addr)
			}
		default:
		}
		w.clock.Advance(time.Millisecond)
		time.Sleep(10 * time.Microsecond)
	}
	w.t.Fatalf("dial %v: no connection after 100 s of fake time", addr)
	return nil, nil
}

// readNow reads what c has buffered without waiting.
func readNow(c *impl.Conn, clock *impl.FakeClock) ([]byte, error) {
	c.SetReadDeadline(clock.Now())
	defer c.SetReadDeadline(time.Time{})
	var out []byte
	buf := make([]byte, 1<<16)
	for {
		n, err := c.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				err = nil
			}
			return out, err
		}
	}
}

// pattern returns n pseudo-random octets from seed.
func pattern(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 7))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func digest(b []byte) [32]byte { return sha256.Sum256(b) }

// endpoint returns the TCP endpoints of c.
func endpoints(c *impl.Conn) (local, remote netip.AddrPort) {
	type ap interface{ AddrPort() netip.AddrPort }
	return c.LocalAddr().(ap).AddrPort(), c.RemoteAddr().(ap).AddrPort()
}

// netipPort returns ap with its port replaced.
func netipPort(ap netip.AddrPort, port uint16) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr(), port)
}
