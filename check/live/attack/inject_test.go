package attack

import (
	"errors"
	"testing"
	"time"

	"github.com/tcpcheck/tcpcheck/impl"
	"github.com/tcpcheck/tcpcheck/spec"
)

// setup returns a world with stacks A and B, n connections from A to B's
// port 80, and a peer recording what A sends.
func setup(t *testing.T, n int) (*world, *Peer, []*impl.Conn, []*impl.Conn) {
	w, cas, cbs := setupConns(t, n)
	a := w.stacks[0]
	p := NewMem(w.net, func(r Reply) bool { return r.Src.Addr() == a.Addr().Addr() })
	t.Cleanup(func() { p.Close() })
	w.clock.Advance(10 * time.Millisecond)
	p.Take()
	return w, p, cas, cbs
}

// setupConns returns a world with stacks A and B and n connections from
// A to B's port 80.
func setupConns(t *testing.T, n int) (*world, []*impl.Conn, []*impl.Conn) {
	return setupConnsOpt(t, n, impl.Options{})
}

// setupConnsOpt is setupConns with options for the stacks.
func setupConnsOpt(t *testing.T, n int, opt impl.Options) (*world, []*impl.Conn, []*impl.Conn) {
	w := newWorld(t, time.Millisecond, impl.Faults{}, 1, opt)
	a, b := w.stack(1), w.stack(2)
	l, err := b.Listen(":80")
	if err != nil {
		t.Fatal(err)
	}
	var cas, cbs []*impl.Conn
	for range n {
		ca, cb := w.dial(a, l, b)
		cas, cbs = append(cas, ca), append(cbs, cb)
	}
	return w, cas, cbs
}

// spoof sends a segment that claims to come from c's peer.
func spoof(t *testing.T, w *world, p *Peer, c *impl.Conn, flags spec.Flags, seq, ack spec.Seq, payload []byte) {
	t.Helper()
	local, remote := endpoints(c)
	if err := p.Send(Segment{Src: remote, Dst: local, Flags: flags, Seq: seq, Ack: ack, Window: 65535, Payload: payload}); err != nil {
		t.Fatal(err)
	}
	w.clock.Advance(time.Millisecond)
}

// tcb returns the table-level view of c from the conformance checker.
func tcb(t *testing.T, w *world, c *impl.Conn) (rcvNxt, sndNxt spec.Seq) {
	t.Helper()
	local, remote := endpoints(c)
	x, ok := w.chk.TCB(local, remote)
	if !ok {
		t.Fatalf("no TCB for %v", local)
	}
	return x.RcvNxt(), x.SndNxt()
}

// isACK reports whether r is a bare ACK acknowledging rcvNxt from sndNxt:
// the challenge ACK of RFC 5961 (<SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>).
func isACK(r Reply, sndNxt, rcvNxt spec.Seq) bool {
	return r.Header.Flags == spec.ACK && r.Header.Seq == sndNxt && r.Header.Ack == rcvNxt && r.Len == 0
}

// TestBlindInjection holds one established connection to RFC 5961: only a
// RST at exactly RCV.NXT resets it; every other forged segment is dropped,
// with a challenge ACK or an ACK where §3.2, §4.2 and §5.2 ask for one.
func TestBlindInjection(t *testing.T) {
	w, p, cas, _ := setup(t, 1)
	c := cas[0]
	rcv, snd := tcb(t, w, c)

	// Out of window: dropped silently (§3.2 case 1... 3).
	for _, off := range []uint32{65535, 1 << 20, 1 << 31, 1<<32 - 1} {
		spoof(t, w, p, c, spec.RST, rcv.Add(off), 0, nil)
	}
	if got := p.Take(); len(got) != 0 || c.State() != spec.Established {
		t.Fatalf("out-of-window RSTs: replies %v, state %s; want none, ESTABLISHED", got, c.State())
	}

	// In window, not exact: a challenge ACK, the connection lives (§3.2).
	spoof(t, w, p, c, spec.RST, rcv.Add(1000), 0, nil)
	if got := p.Take(); len(got) != 1 || !isACK(got[0], snd, rcv) || c.State() != spec.Established {
		t.Fatalf("in-window RST: replies %v, state %s; want one challenge ACK seq=%d ack=%d, ESTABLISHED", got, c.State(), snd, rcv)
	}

	// SYN in a synchronized state, in window or not: a challenge ACK (§4.2).
	spoof(t, w, p, c, spec.SYN, rcv.Add(5), 0, nil)
	spoof(t, w, p, c, spec.SYN, rcv.Add(1<<30), 0, nil)
	if got := p.Take(); len(got) != 2 || !isACK(got[0], snd, rcv) || !isACK(got[1], snd, rcv) || c.State() != spec.Established {
		t.Fatalf("SYN: replies %v, state %s; want two challenge ACKs, ESTABLISHED", got, c.State())
	}

	// Text at RCV.NXT whose ACK acknowledges what was never sent, or is
	// older than SND.UNA - MAX.SND.WND: dropped with an ACK (§5.2).
	for _, ack := range []spec.Seq{snd.Add(1 << 20), snd.Add(1 << 31)} {
		spoof(t, w, p, c, spec.ACK|spec.PSH, rcv, ack, []byte("forged text"))
	}
	got := p.Take()
	if len(got) != 2 || !isACK(got[0], snd, rcv) || !isACK(got[1], snd, rcv) {
		t.Fatalf("text with an unacceptable ACK: replies %v; want two ACKs seq=%d ack=%d", got, snd, rcv)
	}
	if b, err := readNow(c, w.clock); len(b) != 0 || err != nil {
		t.Fatalf("text with an unacceptable ACK was delivered: %q, %v", b, err)
	}

	// Exactly at RCV.NXT: reset (§3.2 case 2 ... first bullet).
	spoof(t, w, p, c, spec.RST, rcv, 0, nil)
	if c.State() != spec.Closed {
		t.Fatalf("exact RST: state %s, want CLOSED", c.State())
	}
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, impl.ErrConnReset) {
		t.Fatalf("read after exact RST: %v, want ErrConnReset", err)
	}
	w.conform()
}

// TestChallengeACKPerConnection shows the challenge ACK budget of RFC 5961
// §7 belongs to each connection: one connection spending all of its own
// (the attacker's probe connection of CVE-2016-5696) leaves another's
// whole, so counting challenge ACKs reveals nothing about the other.
func TestChallengeACKPerConnection(t *testing.T) {
	w, p, cas, _ := setup(t, 2)
	limit := w.opt.ChallengeACKs
	c1, c2 := cas[0], cas[1]
	r1, s1 := tcb(t, w, c1)
	r2, s2 := tcb(t, w, c2)
	l1, _ := endpoints(c1)
	l2, _ := endpoints(c2)
	count := func(rs []Reply, port uint16) int {
		n := 0
		for _, r := range rs {
			if r.Src.Port() == port {
				n++
			}
		}
		return n
	}
	// All within one instant of the fake clock: one rate-limit interval.
	for i := range 5 * limit {
		local, remote := endpoints(c1)
		if err := p.Send(Segment{Src: remote, Dst: local, Flags: spec.RST, Seq: r1.Add(uint32(10 + i))}); err != nil {
			t.Fatal(err)
		}
	}
	local, remote := endpoints(c2)
	for i := range limit {
		if err := p.Send(Segment{Src: remote, Dst: local, Flags: spec.RST, Seq: r2.Add(uint32(10 + i))}); err != nil {
			t.Fatal(err)
		}
	}
	w.clock.Advance(time.Millisecond)
	got := p.Take()
	if n1, n2 := count(got, l1.Port()), count(got, l2.Port()); n1 != limit || n2 != limit {
		t.Fatalf("challenge ACKs: connection 1 got %d for %d RSTs, connection 2 got %d for %d; want %d each",
			n1, 5*limit, n2, limit, limit)
	}
	for _, r := range got {
		if r.Src == l1 && !isACK(r, s1, r1) || r.Src == l2 && !isACK(r, s2, r2) {
			t.Fatalf("not a challenge ACK: %v", r)
		}
	}
	// A second later connection 1 has its budget back.
	w.clock.Advance(time.Second)
	p.Take()
	spoof(t, w, p, c1, spec.RST, r1.Add(10), 0, nil)
	if got := p.Take(); count(got, l1.Port()) != 1 {
		t.Fatalf("after a second: %v, want one challenge ACK", got)
	}
	if c1.State() != spec.Established || c2.State() != spec.Established {
		t.Fatalf("states %s %s after in-window RSTs, want ESTABLISHED", c1.State(), c2.State())
	}
	w.conform()
}
