package attack

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tcpcheck/tcpcheck/impl"
	"github.com/tcpcheck/tcpcheck/spec"
)

// TestVanishedPeerKeepAlive: an idle connection whose peer disappears
// without FIN or RST (the network loses everything from then on) is
// detected by keepalive (RFC 1122 §4.2.3.6) and freed, under a fake clock.
// While the peer lives, its answers to the probes keep the connection.
func TestVanishedPeerKeepAlive(t *testing.T) {
	const idle, interval, probes = 2 * time.Hour, 75 * time.Second, 9
	w, cas, cbs := setupConnsOpt(t, 1, impl.Options{KeepAlive: idle, KeepAliveInterval: interval, KeepAliveProbes: probes})
	a := w.stacks[0]
	ca, cb := cas[0], cbs[0]
	// Five idle hours with the peer alive: probes go out and are answered.
	for range 5 * 60 {
		w.clock.Advance(time.Minute)
	}
	if ca.State() != spec.Established || cb.State() != spec.Established {
		t.Fatalf("idle connection with a live peer: %s, %s", ca.State(), cb.State())
	}
	alive := a.Stats().KeepAliveProbes
	if alive == 0 {
		t.Fatalf("no keepalive probes in five idle hours")
	}
	// The peer vanishes.
	if err := w.net.SetFaults(impl.Faults{Loss: 1}); err != nil {
		t.Fatal(err)
	}
	vanished := w.clock.Now()
	for ca.State() == spec.Established && w.clock.Now().Sub(vanished) < 2*idle+probes*interval {
		w.clock.Advance(time.Second)
	}
	took := w.clock.Now().Sub(vanished)
	if ca.State() != spec.Closed {
		t.Fatalf("after %v the connection is %s, want CLOSED", took, ca.State())
	}
	if _, err := ca.Read(make([]byte, 1)); !errors.Is(err, impl.ErrTimeout) {
		t.Fatalf("read: %v, want ErrTimeout", err)
	}
	if cs := a.Connections(); len(cs) != 0 {
		t.Fatalf("connection not freed: %v", cs)
	}
	if max := idle + probes*interval + time.Second; took > max {
		t.Fatalf("detected after %v, later than idle + %d probes (%v)", took, probes, max)
	}
	t.Logf("peer vanished: detected and freed after %v of fake time (%d probes while the peer lived, %d after)",
		took, alive, a.Stats().KeepAliveProbes-alive)
	w.conform()
}

// TestVanishedPeerUserTimeout: a connection with text outstanding whose
// peer disappears is aborted by the user timeout (RFC 9293 §3.8.4) and
// freed; without keepalive an idle one would wait for ever, which is why
// keepalive exists.
func TestVanishedPeerUserTimeout(t *testing.T) {
	const ut = 30 * time.Second
	w, cas, _ := setupConnsOpt(t, 1, impl.Options{UserTimeout: ut, DataRetries: 1000})
	a := w.stacks[0]
	ca := cas[0]
	if err := w.net.SetFaults(impl.Faults{Loss: 1}); err != nil {
		t.Fatal(err)
	}
	start := w.clock.Now()
	if _, err := ca.Write([]byte("into the void")); err != nil {
		t.Fatal(err)
	}
	for ca.State() == spec.Established && w.clock.Now().Sub(start) < 2*ut {
		w.clock.Advance(100 * time.Millisecond)
	}
	took := w.clock.Now().Sub(start)
	if ca.State() != spec.Closed || took > ut+100*time.Millisecond {
		t.Fatalf("after %v: %s, want CLOSED at the user timeout %v", took, ca.State(), ut)
	}
	if _, err := ca.Read(make([]byte, 1)); !errors.Is(err, impl.ErrTimeout) {
		t.Fatalf("read: %v, want ErrTimeout", err)
	}
	if cs := a.Connections(); len(cs) != 0 {
		t.Fatalf("connection not freed: %v", cs)
	}
	t.Logf("peer vanished with text outstanding: aborted and freed after %v of fake time", took)
	w.conform()
}

// TestConnectionCaps: Options.MaxConns bounds the connections of a
// stack (Dial fails, a SYN is dropped) and Options.MaxTimeWait the
// connections in TIME-WAIT (the oldest ends its wait early, through the
// table's 2MSL timeout row).
func TestConnectionCaps(t *testing.T) {
	const maxTW = 2
	w, cas, cbs := setupConnsOpt(t, 5, impl.Options{MaxTimeWait: maxTW})
	a := w.stacks[0]
	peak := 0
	for i := range cas {
		cas[i].Close() // A closes first: A's end passes TIME-WAIT
		w.clock.Advance(10 * time.Millisecond)
		cbs[i].Close()
		w.clock.Advance(10 * time.Millisecond)
		peak = max(peak, a.TimeWait())
	}
	if peak != maxTW || a.Stats().TimeWaitEvicted != uint64(len(cas)-maxTW) {
		t.Fatalf("TIME-WAIT peak %d (cap %d), %d evicted", peak, maxTW, a.Stats().TimeWaitEvicted)
	}
	w.clock.Advance(2 * w.opt.MSL)
	if a.TimeWait() != 0 || len(a.Connections()) != 0 {
		t.Fatalf("after 2MSL: %d in TIME-WAIT, %v", a.TimeWait(), a.Connections())
	}
	// The cap is resource policy that gives up part of TIME-WAIT's
	// protection, and the checker's TimeWaitHeld property says so: the
	// rows followed are the table's, the 2MSL wait was cut short.
	if err := w.chk.Err(); err == nil || !strings.Contains(err.Error(), "TimeWaitHeld") {
		t.Fatalf("the checker should flag the evicted TIME-WAIT (TimeWaitHeld), got %v", err)
	}

	// MaxConns on both ends.
	w2 := newWorld(t, time.Millisecond, impl.Faults{}, 2, impl.Options{MaxConns: 2})
	c, s := w2.stack(1), w2.stack(2)
	l, err := s.Listen(":80")
	if err != nil {
		t.Fatal(err)
	}
	w2.dial(c, l, s)
	w2.dial(c, l, s)
	if _, err := c.Dial(context.Background(), "10.0.0.2:80"); err == nil {
		t.Fatal("a third Dial succeeded with MaxConns 2")
	}
	c3 := w2.stack(3)
	go c3.Dial(context.Background(), "10.0.0.2:80")
	for range 100 {
		w2.clock.Advance(10 * time.Millisecond)
		time.Sleep(10 * time.Microsecond)
	}
	if s.Stats().ConnLimitDrops == 0 || len(s.Connections()) != 3 {
		t.Fatalf("the server took a third connection: %v, %+v", s.Connections(), s.Stats())
	}
	w2.conform()
}
