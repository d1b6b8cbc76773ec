package impl

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// directPair returns a udp-link pair with one connection between them.
func directPair(t *testing.T) (a, b *Stack, ca, cb *Conn, l *Listener) {
	t.Helper()
	return directPairWith(t, Options{})
}

// directPairWith is directPair with stacks of options opt.
func directPairWith(t *testing.T, opt Options) (a, b *Stack, ca, cb *Conn, l *Listener) {
	t.Helper()
	a, b = udpPair(t, opt, Faults{})
	t.Cleanup(func() { a.Close(); b.Close() })
	l, err := b.Listen(b.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	ca, cb = connect(t, a, b, l)
	return a, b, ca, cb, l
}

// connect dials from a to b's listener l (within a load-stretched bound)
// and accepts the connection: its two ends.
func connect(t *testing.T, a, b *Stack, l *Listener) (ca, cb *Conn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), budget(5*time.Second))
	defer cancel()
	ca, err := a.Dial(ctx, b.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if cb, err = l.AcceptConn(); err != nil {
		t.Fatal(err)
	}
	return ca, cb
}

// bothBlocked waits (bounded) until two users of s block: one receives
// for the stack, the other waits for it.
func bothBlocked(t *testing.T, s *Stack) {
	t.Helper()
	for end := time.Now().Add(budget(5 * time.Second)); ; time.Sleep(time.Millisecond) {
		s.mu.Lock()
		both := s.readW != nil && s.wanting.Load() == 1 || s.wanting.Load() == 2
		s.mu.Unlock()
		if both {
			return
		}
		if time.Now().After(end) {
			t.Fatal("the two users never blocked")
		}
	}
}

// within runs f in a goroutine, waits until it blocks on stack s (it
// receives for s, or waits while another goroutine does), calls start,
// and fails unless f then returns within the (load-stretched) bound, the
// error it returns being want.
func within(t *testing.T, s *Stack, what string, start func(), f func() error, want error) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	blocked := func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.readW != nil || s.wanting.Load() > 0
	}
	for end := time.Now().Add(budget(5 * time.Second)); !blocked(); time.Sleep(time.Millisecond) {
		select {
		case err := <-done:
			t.Fatalf("%s: returned before it was woken: %v", what, err)
		default:
		}
		if time.Now().After(end) {
			t.Fatalf("%s: never blocked", what)
		}
	}
	start()
	select {
	case err := <-done:
		if !errors.Is(err, want) {
			t.Fatalf("%s: %v, want %v", what, err, want)
		}
	case <-time.After(budget(5 * time.Second)):
		t.Fatalf("%s: still blocked", what)
	}
}

// TestDirectWakeups checks that a user blocked on the udp link, where it
// receives the link's segments itself (direct.go), is woken by what other
// goroutines do: a deadline set, a Close, a cancelled Dial, a closed
// listener, a stack closed.
func TestDirectWakeups(t *testing.T) {
	a, b, ca, cb, l := directPair(t)
	buf := make([]byte, 10)
	within(t, a, "Read, deadline set by another goroutine",
		func() { ca.SetReadDeadline(time.Now()) },
		func() error { _, err := ca.Read(buf); return err }, os.ErrDeadlineExceeded)
	ca.SetReadDeadline(time.Time{})
	within(t, a, "Read, deadline passing",
		func() { ca.SetReadDeadline(time.Now().Add(10 * time.Millisecond)) },
		func() error { _, err := ca.Read(buf); return err }, os.ErrDeadlineExceeded)
	ca.SetReadDeadline(time.Time{})
	within(t, a, "Read, data arriving",
		func() { cb.Write([]byte("x")) },
		func() error { _, err := ca.Read(buf); return err }, nil)
	within(t, a, "Read, the peer's FIN",
		func() { cb.CloseWrite() },
		func() error { _, err := ca.Read(buf); return err }, io.EOF)
	within(t, b, "Read, Close by another goroutine",
		func() { cb.Close() },
		func() error { _, err := cb.Read(buf); return err }, net.ErrClosed)
	// A Dial to a port nobody answers on (the SYN goes to a UDP port
	// with no stack behind it), cancelled from another goroutine.
	silent, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	ctx, cancel := context.WithCancel(context.Background())
	within(t, a, "Dial, context cancelled", cancel,
		func() error { _, err := a.Dial(ctx, silent.LocalAddr().String()); return err }, context.Canceled)
	within(t, b, "Accept, listener closed", func() { l.Close() },
		func() error { _, err := l.AcceptConn(); return err }, net.ErrClosed)
	l2, err := b.Listen(":0")
	if err != nil {
		t.Fatal(err)
	}
	within(t, b, "Accept, stack closed", func() { b.Close() },
		func() error { _, err := l2.AcceptConn(); return err }, net.ErrClosed)
}

// TestDirectHandover runs two connections of one stack with a reader
// blocked on each: one receives for both, and when it leaves, the other
// takes over. Then nobody waits, and the background goroutine still
// processes what arrives (the ACK of written text).
func TestDirectHandover(t *testing.T) {
	a, b, ca, cb, l := directPair(t)
	ca2, cb2 := connect(t, a, b, l)
	got := make(chan string, 2)
	for _, c := range []*Conn{ca, ca2} {
		go func() {
			buf := make([]byte, 10)
			for {
				n, err := c.Read(buf)
				if err != nil {
					return
				}
				got <- string(buf[:n])
			}
		}()
	}
	bothBlocked(t, a)
	for i, w := range []struct {
		c   *Conn
		msg string
	}{{cb, "one"}, {cb2, "two"}, {cb2, "three"}, {cb, "four"}} {
		if _, err := w.c.Write([]byte(w.msg)); err != nil {
			t.Fatal(err)
		}
		select {
		case m := <-got:
			if m != w.msg {
				t.Fatalf("message %d: %q, want %q", i, m, w.msg)
			}
		case <-time.After(budget(5 * time.Second)):
			t.Fatalf("message %d (%q) not received", i, w.msg)
		}
	}
	// Nobody waits on b: its background goroutine receives the ACK.
	if _, err := cb.Write([]byte("five")); err != nil {
		t.Fatal(err)
	}
	for end := time.Now().Add(budget(5 * time.Second)); ; time.Sleep(time.Millisecond) {
		sendQ := 0
		for _, ci := range b.Connections() {
			sendQ += ci.SendQ
		}
		if sendQ == 0 {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("text written on b still unacknowledged: %v", b.Connections())
		}
	}
}

// TestRoundTripAllocatesNothing checks that a request/response round trip
// on the udp link, where each side waits by receiving itself, allocates
// nothing on either side: garbage made per round trip brings the
// collector, whose background work wakes an idle thread, and the round
// trip then crosses threads (direct.go, waker).
func TestRoundTripAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	_, _, ca, cb, _ := directPair(t)
	const size = 64
	go func() {
		buf := make([]byte, size)
		for {
			if _, err := io.ReadFull(cb, buf); err != nil {
				return
			}
			if _, err := cb.Write(buf); err != nil {
				return
			}
		}
	}()
	ca.SetDeadline(time.Now().Add(budget(10 * time.Second))) // fail, not hang, if the echo stops
	req, resp := make([]byte, size), make([]byte, size)
	var err error
	roundTrip := func() {
		if _, werr := ca.Write(req); werr != nil && err == nil {
			err = werr
		}
		if _, rerr := io.ReadFull(ca, resp); rerr != nil && err == nil {
			err = rerr
		}
	}
	for range 100 { // warm up: buffers, timers and goroutines made once
		roundTrip()
	}
	allocs := testing.AllocsPerRun(500, roundTrip)
	if err != nil {
		t.Fatal(err)
	}
	if allocs >= 1 {
		t.Errorf("a round trip allocates %.0f objects, want none", allocs)
	}
}
