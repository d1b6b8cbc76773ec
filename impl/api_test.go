package impl

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tcpcheck/tcpcheck/spec"
)

// udpPair returns two stacks on UDP links on loopback.
func udpPair(t testing.TB, opt Options, faults Faults) (a, b *Stack) {
	t.Helper()
	mk := func(seed uint64) *Stack {
		l, err := NewUDPLink("127.0.0.1:0", faults, seed)
		if err != nil {
			t.Fatal(err)
		}
		s, err := NewStack(l, opt)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	return mk(1), mk(2)
}

// settleGoroutines waits (bounded) for the goroutine count to drop to at
// most n and fails with a dump when it does not.
func settleGoroutines(t testing.TB, n int) {
	t.Helper()
	for end := time.Now().Add(budget(2 * time.Second)); time.Now().Before(end); {
		if runtime.NumGoroutine() <= n {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	t.Fatalf("%d goroutines remain, want at most %d:\n%s", runtime.NumGoroutine(), n, buf)
}

func pattern(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// TestUDPEchoHalfCloseAndCleanup sends 1 MiB each way over the udp link
// with faults, half-closes, checks EOF and the bytes, and checks that
// closing the stacks leaves no goroutine behind.
func TestUDPEchoHalfCloseAndCleanup(t *testing.T) {
	base := runtime.NumGoroutine()
	a, b := udpPair(t, Options{MSL: 50 * time.Millisecond, RTOMin: 20 * time.Millisecond},
		Faults{Loss: 0.02, Dup: 0.02, Reorder: 0.02})
	l, err := b.Listen(b.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	up, down := pattern(1, 1<<20), pattern(2, 1<<20)
	var wg sync.WaitGroup
	var srvGot []byte
	var srvErr error
	wg.Go(func() {
		c, err := l.Accept()
		if err != nil {
			srvErr = err
			return
		}
		go func() { c.Write(down); c.(*Conn).CloseWrite() }()
		srvGot, srvErr = io.ReadAll(c)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := a.Dial(ctx, b.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if c.State() != spec.Established {
		t.Fatalf("after Dial: %s", c.State())
	}
	go func() { c.Write(up); c.CloseWrite() }()
	got, err := io.ReadAll(c)
	if err != nil || !bytes.Equal(got, down) {
		t.Fatalf("client read %d bytes (%v), want %d intact", len(got), err, len(down))
	}
	wg.Wait()
	if srvErr != nil || !bytes.Equal(srvGot, up) {
		t.Fatalf("server read %d bytes (%v), want %d intact", len(srvGot), srvErr, len(up))
	}
	if _, err := c.Write([]byte("x")); !errors.Is(err, ErrClosing) && !errors.Is(err, ErrNotExist) {
		t.Fatalf("Write after CloseWrite: %v", err)
	}
	a.Close()
	b.Close()
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("Read after the stack closed succeeded")
	}
	settleGoroutines(t, base)
}

func TestUDPRefusedAndTimeout(t *testing.T) {
	base := runtime.NumGoroutine()
	a, b := udpPair(t, Options{RTOInitial: 20 * time.Millisecond, RTOMin: 10 * time.Millisecond, SynRetries: 2}, Faults{})
	defer a.Close()
	ctx := context.Background()
	_, err := a.Dial(ctx, b.Addr().String())
	if !errors.Is(err, ErrConnRefused) {
		t.Fatalf("Dial with no listener: %v, want %v", err, ErrConnRefused)
	}
	addr := b.Addr().String()
	b.Close() // now nothing answers: SYN retries run out
	if _, err := a.Dial(ctx, addr); !errors.Is(err, ErrTimeout) {
		t.Fatalf("Dial to a closed socket: %v, want %v", err, ErrTimeout)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := a.Dial(cctx, addr); !errors.Is(err, context.Canceled) {
		t.Fatalf("Dial with a cancelled context: %v", err)
	}
	if n := len(a.Connections()); n != 0 {
		t.Fatalf("%d connections left: %v", n, a.Connections())
	}
	a.Close()
	settleGoroutines(t, base)
}

// memPair returns two stacks on a MemNet under a fake clock.
func memPair(t testing.TB, opt Options, delay time.Duration, faults Faults, seed uint64) (*FakeClock, *Stack, *Stack) {
	t.Helper()
	clock := NewFakeClock(time.Unix(1700000000, 0))
	n, err := NewMemNet(clock, delay, faults, seed)
	if err != nil {
		t.Fatal(err)
	}
	opt.Clock = clock
	var st [2]*Stack
	for i := range st {
		l, err := n.Link(netip.AddrFrom4([4]byte{10, 0, 0, byte(i + 1)}))
		if err != nil {
			t.Fatal(err)
		}
		if st[i], err = NewStack(l, opt); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { st[0].Close(); st[1].Close() })
	return clock, st[0], st[1]
}

// establish opens a connection from a to b's port 80 under the fake clock.
func establish(t testing.TB, clock *FakeClock, a, b *Stack) (ca, cb *Conn) {
	t.Helper()
	l, err := b.Listen(":80")
	if err != nil {
		t.Fatal(err)
	}
	ca, err = a.connect(netip.AddrPortFrom(b.Addr().Addr(), 80))
	if err != nil {
		t.Fatal(err)
	}
	queued := func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		return len(l.queue) > 0
	}
	for i := 0; (ca.State() != spec.Established || !queued()) && i < 1000; i++ {
		clock.Advance(10 * time.Millisecond)
	}
	if ca.State() != spec.Established || !queued() {
		t.Fatalf("no connection after 10 s: %s", ca.State())
	}
	cb, err = l.AcceptConn()
	if err != nil {
		t.Fatal(err)
	}
	return ca, cb
}

// readNow reads what c has buffered without waiting.
func readNow(c *Conn, clock *FakeClock) ([]byte, error) {
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

// TestMemFaultsDeterministic transfers data both ways across a lossy,
// duplicating, reordering mem link under the fake clock, and checks that
// each side receives exactly what the other sent, then EOF.
func TestMemFaultsDeterministic(t *testing.T) {
	seeds := uint64(40)
	if testing.Short() {
		seeds = 8
	}
	for seed := range seeds {
		opt := Options{MSL: time.Second}
		if seed%2 == 1 {
			opt.RecvBuffer = 256 << 10 // scaled windows (RFC 7323)
		}
		clock, a, b := memPair(t, opt, 2*time.Millisecond,
			Faults{Loss: 0.1, Dup: 0.05, Reorder: 0.1}, seed)
		ca, cb := establish(t, clock, a, b)
		up, down := pattern(seed, 200<<10), pattern(seed+100, 150<<10)
		if _, err := ca.Write(up); err != nil {
			t.Fatal(err)
		}
		if _, err := cb.Write(down); err != nil {
			t.Fatal(err)
		}
		ca.CloseWrite()
		cb.CloseWrite()
		var gotA, gotB []byte
		var eofA, eofB bool
		for i := 0; (!eofA || !eofB) && i < 100000; i++ {
			clock.Advance(time.Millisecond)
			for _, x := range []struct {
				c   *Conn
				got *[]byte
				eof *bool
			}{{ca, &gotA, &eofA}, {cb, &gotB, &eofB}} {
				if *x.eof {
					continue
				}
				d, err := readNow(x.c, clock)
				*x.got = append(*x.got, d...)
				if err == io.EOF {
					*x.eof = true
				} else if err != nil {
					t.Fatalf("seed %d: read: %v", seed, err)
				}
			}
		}
		if !bytes.Equal(gotB, up) || !bytes.Equal(gotA, down) {
			a.mu.Lock()
			t.Logf("A: %s una=%d nxt=%d wnd=%d buf=%d sent=%d retries=%d rtx=%v rec=%v fin=%v/%v", ca.tcb.State(), ca.tcb.SndUna()-issOf(ca), ca.tcb.SndNxt()-issOf(ca), ca.tcb.SndWnd(), len(ca.sndBuf), ca.sentText(), ca.retries, ca.rtx.at, ca.inRecovery, ca.finPending, ca.tcb.FinSent())
			a.mu.Unlock()
			b.mu.Lock()
			t.Logf("B: %s rcvnxt=%d held=%d rcvbuf=%d wnd=%d", cb.tcb.State(), cb.tcb.RcvNxt()-irsOf(cb), len(cb.held), len(cb.rcvBuf), cb.rcvWnd())
			b.mu.Unlock()
			t.Fatalf("seed %d: B got %d of %d bytes, A got %d of %d (eof %v %v)", seed, len(gotB), len(up), len(gotA), len(down), eofA, eofB)
		}
		// Both sent FIN and both received one: the close ends in
		// TIME-WAIT on at least one side (restarted by each retransmitted
		// FIN), then CLOSED after 2MSL.
		for i := 0; i < 1200 && (ca.State() != spec.Closed || cb.State() != spec.Closed); i++ {
			clock.Advance(100 * time.Millisecond)
		}
		if sa, sb := ca.State(), cb.State(); sa != spec.Closed || sb != spec.Closed {
			t.Fatalf("seed %d: states after close and 2MSL: %s %s", seed, sa, sb)
		}
		if st := a.Stats(); st.Retransmits == 0 {
			t.Fatalf("seed %d: no retransmissions across a lossy link: %+v", seed, st)
		}
	}
}

// TestFlowControlSlowReader: B does not read, so A may put at most one
// window in flight (200000 octets, scaled by RFC 7323's option); nothing
// is lost, and when B reads, the rest flows.
func TestFlowControlSlowReader(t *testing.T) {
	clock, a, b := memPair(t, Options{SendBuffer: 1 << 20, RecvBuffer: 200000}, time.Millisecond, Faults{}, 1)
	ca, cb := establish(t, clock, a, b)
	data := pattern(7, 500<<10)
	if _, err := ca.Write(data); err != nil {
		t.Fatal(err)
	}
	if ca.tcb.SndShift() != 2 || cb.tcb.RcvShift() != 2 || ca.tcb.RcvShift() != 2 {
		t.Fatalf("window scale shifts %d/%d/%d, want 2 (200000 octets >> 2 fit 16 bits)", ca.tcb.SndShift(), cb.tcb.RcvShift(), ca.tcb.RcvShift())
	}
	clock.Advance(5 * time.Minute) // probes run, the window stays shut
	a.mu.Lock()
	acked := int(ca.tcb.SndUna().Sub(issOf(ca) + 1))
	a.mu.Unlock()
	b.mu.Lock()
	buffered := len(cb.rcvBuf)
	b.mu.Unlock()
	if w := b.opt.RecvBuffer; buffered != w || acked != w || ca.State() != spec.Established {
		t.Fatalf("with a reader that never reads: %d bytes buffered, %d acknowledged, want %d; %s", buffered, acked, w, ca.State())
	}
	var got []byte
	for i := 0; len(got) < len(data) && i < 100000; i++ {
		d, err := readNow(cb, clock)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, d...)
		clock.Advance(time.Millisecond)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("read %d bytes, want %d intact", len(got), len(data))
	}
}

func TestDeadlines(t *testing.T) {
	clock, a, b := memPair(t, Options{SendBuffer: 1000}, time.Millisecond, Faults{}, 1)
	ca, _ := establish(t, clock, a, b)
	ca.SetReadDeadline(clock.Now().Add(time.Second))
	done := make(chan error)
	go func() {
		_, err := ca.Read(make([]byte, 10))
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("Read returned before the deadline: %v", err)
	default:
	}
	clock.Advance(time.Second)
	err := <-done
	var ne net.Error
	if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("Read after the deadline: %v", err)
	}
	// A write that cannot fit the send buffer times out too.
	ca.SetWriteDeadline(clock.Now())
	n, err := ca.Write(make([]byte, 5000))
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Write past its deadline: %d, %v", n, err)
	}
	ca.SetDeadline(time.Time{})
	if err := ca.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := ca.Read(nil); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Read after Close: %v", err)
	}
	if err := ca.Close(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("second Close: %v", err)
	}
}

func TestConnectionsAndISN(t *testing.T) {
	clock, a, b := memPair(t, Options{}, time.Millisecond, Faults{}, 1)
	ca, _ := establish(t, clock, a, b)
	infos := b.Connections()
	if len(infos) != 2 || infos[0].State != spec.Listen || infos[1].State != spec.Established || infos[1].Remote != ca.local {
		t.Fatalf("Connections: %v", infos)
	}
	if !strings.Contains(infos[1].String(), "ESTABLISHED") {
		t.Fatalf("ConnInfo.String: %q", infos[1])
	}
	// RFC 6528: the ISN moves with the 4 µs clock and differs per 4-tuple.
	l1, r1 := netip.MustParseAddrPort("10.0.0.1:1000"), netip.MustParseAddrPort("10.0.0.2:80")
	r2 := netip.MustParseAddrPort("10.0.0.2:81")
	i1 := a.isn(l1, r1)
	clock.Advance(4 * time.Microsecond)
	if d := a.isn(l1, r1) - i1; d != 1 {
		t.Fatalf("ISN advanced by %d over 4 µs, want 1", d)
	}
	if a.isn(l1, r1) == a.isn(l1, r2) {
		t.Fatal("two 4-tuples got the same ISN")
	}
	if a.isn(l1, r1) == b.isn(l1, r1) {
		t.Fatal("two stacks (two secrets) gave the same ISN")
	}
}

// TestUDPManyConnections has 1,000 dialers, each a stack with its own UDP
// socket, connect at once to one listener over the udp link; each echoes
// 64 KiB intact and closes; then no goroutine of the stacks remains.
func TestUDPManyConnections(t *testing.T) {
	n := 1000
	if testing.Short() || raceEnabled {
		n = 200 // the race detector slows the stacks several times over
	}
	base := runtime.NumGoroutine()
	opt := Options{MSL: 100 * time.Millisecond, RTOMin: 50 * time.Millisecond, Backlog: 2 * n}
	srvLink, err := NewUDPLink("127.0.0.1:0", Faults{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := NewStack(srvLink, opt)
	if err != nil {
		t.Fatal(err)
	}
	l, err := srv.Listen(srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	var srvWG sync.WaitGroup
	srvWG.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			srvWG.Go(func() {
				io.Copy(c, c)
				c.Close()
			})
		}
	})
	// Each dialer is a stack of its own: one UDP socket each.
	clients := make([]*Stack, n)
	for i := range clients {
		cl, err := NewUDPLink("127.0.0.1:0", Faults{}, uint64(i))
		if err != nil {
			t.Fatal(err)
		}
		if clients[i], err = NewStack(cl, opt); err != nil {
			t.Fatal(err)
		}
	}
	msg := pattern(3, 64<<10)
	want := sha256.Sum256(msg)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			c, err := clients[i%len(clients)].Dial(ctx, srv.Addr().String())
			if err != nil {
				errs <- err
				return
			}
			c.SetDeadline(time.Now().Add(45 * time.Second))
			go func() { c.Write(msg); c.CloseWrite() }()
			got, err := io.ReadAll(c)
			if err != nil || sha256.Sum256(got) != want {
				errs <- errors.Join(err, errors.New("echo corrupted or short"))
				return
			}
			c.Close()
		})
	}
	wg.Wait()
	close(errs)
	failed := 0
	for err := range errs {
		if failed == 0 {
			t.Errorf("first failure: %v", err)
		}
		failed++
	}
	if failed > 0 {
		t.Fatalf("%d of %d connections failed", failed, n)
	}
	// Every connection closes cleanly: the client closed first, so its
	// side passes TIME-WAIT (200 ms here) and the server's LAST-ACK ends.
	for end := time.Now().Add(budget(3 * time.Second)); time.Now().Before(end); {
		open := len(srv.Connections()) - 1
		for _, c := range clients {
			open += len(c.Connections())
		}
		if open == 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, s := range append([]*Stack{srv}, clients...) {
		for _, ci := range s.Connections() {
			if ci.State != spec.Listen {
				t.Errorf("connection not closed: %v", ci)
			}
		}
	}
	st := srv.Stats()
	t.Logf("%d connections; server stats %+v", n, st)
	srv.Close()
	for _, c := range clients {
		c.Close()
	}
	srvWG.Wait()
	settleGoroutines(t, base)
}

// TestGivingUp covers the two ways a synchronized connection gives up on
// a silent peer: the user timeout (RFC 9293 §3.8.4) and the retransmission
// limit R2 (RFC 1122 §4.2.3.5). Everything A sends after the handshake is
// lost; the user then sees ErrTimeout.
func TestGivingUp(t *testing.T) {
	for _, tc := range []struct {
		name  string
		opt   Options
		event spec.Event
		at    time.Duration // when A gives up, from the write
	}{
		// RTOs at 1, 3, 7, 15 s: the user timeout of 10 s fires first.
		{"user-timeout", Options{UserTimeout: 10 * time.Second, DataRetries: 100}, spec.UserTimeout, 10 * time.Second},
		// R2 = 3: retransmissions at 1, 3, 7 s; the fourth expiry, at 15 s, exhausts them.
		{"retries-exhausted", Options{UserTimeout: time.Hour, DataRetries: 3}, spec.RetriesExhausted, 15 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := NewFakeClock(time.Unix(1700000000, 0))
			n, err := NewMemNet(clock, 0, Faults{}, 1)
			if err != nil {
				t.Fatal(err)
			}
			var events []spec.Event
			opt := tc.opt
			opt.Clock, opt.RTOMin = clock, time.Second
			opt.Tracer.Transition = func(tr Transition) { events = append(events, tr.Event) }
			la, _ := n.Link(netip.MustParseAddr("10.0.0.1"))
			lb, _ := n.Link(netip.MustParseAddr("10.0.0.2"))
			a, _ := NewStack(la, opt)
			b, _ := NewStack(lb, Options{Clock: clock})
			defer a.Close()
			defer b.Close()
			ca, _ := establish(t, clock, a, b)
			n.SetManual(true) // from now on nothing is delivered
			start := clock.Now()
			if _, err := ca.Write([]byte("hello")); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 1000 && ca.State() != spec.Closed; i++ {
				clock.Advance(100 * time.Millisecond)
				for range n.InFlight() {
					n.Discard(0)
				}
			}
			if got := clock.Now().Sub(start); ca.State() != spec.Closed || got < tc.at || got > tc.at+100*time.Millisecond {
				t.Fatalf("state %s after %v, want CLOSED at %v", ca.State(), got, tc.at)
			}
			if last := events[len(events)-1]; last != tc.event {
				t.Fatalf("last event %s, want %s", last, tc.event)
			}
			if _, err := ca.Read(make([]byte, 1)); !errors.Is(err, ErrTimeout) {
				t.Fatalf("Read: %v, want %v", err, ErrTimeout)
			}
		})
	}
}
