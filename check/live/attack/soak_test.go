package attack

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/tcpcheck/tcpcheck/impl"
	"github.com/tcpcheck/tcpcheck/spec"
)

// TestSoak runs many connections at once over a mem link that loses 20%
// of the segments, duplicates 5%, holds back 10% for a random extra delay
// (reordering them), while an attacker sprays spoofed RSTs that miss
// RCV.NXT. Every connection must deliver its text intact both ways
// (SHA-256), close, and leave nothing behind after 2MSL: no connection, no
// TIME-WAIT entry, no goroutine; and every transition must follow the
// table. This is figure 3 of issue 9 (1,000 connections); -short runs 200.
func TestSoak(t *testing.T) {
	n := 1000
	if testing.Short() {
		n = 200
	}
	const nclients = 10
	base := runtime.NumGoroutine()
	opt := impl.Options{MSL: time.Second, RTOMax: 2 * time.Second, Backlog: 2 * n,
		// At 20% loss each way a handshake attempt fails about half the
		// time; the default 6 retries would lose about 1 connection in 140.
		SynRetries: 20, SynAckRetries: 20}
	w := newWorld(t, 2*time.Millisecond, impl.Faults{Loss: 0.2, Dup: 0.05, Reorder: 0.1}, 11, opt)
	srv := w.stack(1)
	l, err := srv.Listen(":80")
	if err != nil {
		t.Fatal(err)
	}
	var clients []*impl.Stack
	for i := range nclients {
		clients = append(clients, w.stack(100+i))
	}
	p := NewMem(w.net, func(Reply) bool { return false })
	defer p.Close()

	// Open every connection at once.
	type res struct {
		c   *impl.Conn
		err error
	}
	dialed, accepted := make(chan res, n), make(chan *impl.Conn, n)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for i := range n {
		go func() {
			c, err := clients[i%nclients].Dial(ctx, "10.0.0.1:80")
			dialed <- res{c, err}
		}()
	}
	go func() {
		for range n {
			c, err := l.AcceptConn()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	type pair struct {
		a, b         *impl.Conn
		sentA, sentB []byte
		gotA, gotB   []byte
		doneA, doneB bool
	}
	byLocal := map[netip.AddrPort]*pair{}
	var pairs []*pair
	for i := 0; len(pairs) < n || len(accepted) < n; i++ {
		if i > 200000 {
			t.Fatalf("%d of %d dials, %d accepted after %d steps", len(pairs), n, len(accepted), i)
		}
		select {
		case r := <-dialed:
			if r.err != nil {
				t.Fatalf("dial %d: %v", len(pairs), r.err)
			}
			pr := &pair{a: r.c}
			local, _ := endpoints(r.c)
			byLocal[local] = pr
			pairs = append(pairs, pr)
			continue
		default:
		}
		w.clock.Advance(5 * time.Millisecond)
		time.Sleep(time.Microsecond)
	}
	for range n {
		cb := <-accepted
		_, remote := endpoints(cb)
		pr := byLocal[remote]
		if pr == nil || pr.b != nil {
			t.Fatalf("accepted %v: no dialed connection, or two", remote)
		}
		pr.b = cb
	}
	for i, pr := range pairs {
		pr.sentA, pr.sentB = pattern(uint64(2*i), 8192+i), pattern(uint64(2*i+1), 4096+i)
		if _, err := pr.a.Write(pr.sentA); err != nil {
			t.Fatal(err)
		}
		if _, err := pr.b.Write(pr.sentB); err != nil {
			t.Fatal(err)
		}
		pr.a.CloseWrite()
		pr.b.CloseWrite()
	}
	rng := rand.New(rand.NewPCG(4, 4))
	rsts := 0
	read := func(c *impl.Conn, got *[]byte, done *bool) {
		if *done {
			return
		}
		b, err := readNow(c, w.clock)
		*got = append(*got, b...)
		switch {
		case errors.Is(err, io.EOF):
			*done = true
		case err != nil:
			t.Fatalf("read %v: %v", c.LocalAddr(), err)
		}
	}
	for step := 0; ; step++ {
		open := 0
		for _, pr := range pairs {
			read(pr.a, &pr.gotA, &pr.doneA)
			read(pr.b, &pr.gotB, &pr.doneB)
			if !pr.doneA || !pr.doneB {
				open++
			}
		}
		if open == 0 {
			break
		}
		if step > 20000 {
			t.Fatalf("%d connections still transferring after %d steps", open, step)
		}
		// A storm of spoofed RSTs that miss RCV.NXT.
		for range 10 {
			pr := pairs[rng.IntN(len(pairs))]
			c := pr.a
			if rng.IntN(2) == 0 {
				c = pr.b
			}
			local, remote := endpoints(c)
			x, ok := w.chk.TCB(local, remote)
			if !ok || !x.State().Synchronized() {
				continue
			}
			seq := x.RcvNxt().Add(1 + rng.Uint32N(1<<31))
			if err := p.Send(Segment{Src: remote, Dst: local, Flags: spec.RST, Seq: seq}); err != nil {
				t.Fatal(err)
			}
			rsts++
		}
		w.clock.Advance(20 * time.Millisecond)
	}
	for i, pr := range pairs {
		if digest(pr.gotA) != digest(pr.sentB) || digest(pr.gotB) != digest(pr.sentA) {
			t.Fatalf("connection %d: SHA-256 differs (A got %d of %d octets, B %d of %d)", i, len(pr.gotA), len(pr.sentB), len(pr.gotB), len(pr.sentA))
		}
		pr.a.Close()
		pr.b.Close()
	}
	tw := 0
	for _, s := range w.stacks {
		tw += s.TimeWait()
	}
	// The last FIN may need retransmitting; then 2MSL passes.
	for range 100 {
		w.clock.Advance(100 * time.Millisecond)
	}
	w.clock.Advance(2 * opt.MSL)
	for i, pr := range pairs {
		if pr.a.State() != spec.Closed || pr.b.State() != spec.Closed {
			t.Fatalf("connection %d: states %s and %s after 2MSL", i, pr.a.State(), pr.b.State())
		}
	}
	for _, s := range w.stacks {
		if s.TimeWait() != 0 || len(s.Connections()) > 1 {
			t.Fatalf("stack %v: %d in TIME-WAIT, connections %v", s.Addr(), s.TimeWait(), s.Connections())
		}
	}
	w.conform()
	st := srv.Stats()
	t.Logf("%d connections (8-9 KiB from the client, 4-5 KiB back), 20%% loss, 5%% duplication, 10%% reordered, %d spoofed RSTs: "+
		"all intact (SHA-256) and closed; %d in TIME-WAIT when the transfers ended, none after 2MSL; server retransmitted %d segments; %d transitions checked against the table",
		n, rsts, tw, st.Retransmits, w.chk.Steps())
	cancel()
	p.Close()
	for _, s := range w.stacks {
		s.Close()
	}
	w.stacks = nil
	for i := 0; runtime.NumGoroutine() > base && i < 500; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if g := runtime.NumGoroutine(); g > base {
		buf := make([]byte, 1<<16)
		t.Fatalf("%d goroutines left, %d before:\n%s", g, base, buf[:runtime.Stack(buf, true)])
	}
}
