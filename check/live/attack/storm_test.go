package attack

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/tcpcheck/tcpcheck/impl"
	"github.com/tcpcheck/tcpcheck/spec"
)

// TestRSTStorm forges RSTs with random sequence numbers, half within the
// receive window and half anywhere, against connections that transfer
// text both ways; a few connections also get one RST at exactly RCV.NXT.
// Only those are reset (RFC 5961 §3.2); every other connection delivers
// every octet intact in both directions, closes, and follows the table
// throughout. This is figure 1 of issue 9: 100,000 RSTs against 100
// connections.
func TestRSTStorm(t *testing.T) {
	nconn, total, rounds := 100, 100000, 200 // the full figure fits the default run (about 2 s)
	const chunk = 1024
	w, cas, cbs := setupConns(t, nconn)
	p := NewMem(w.net, func(Reply) bool { return false })
	defer p.Close()
	ends := append(append([]*impl.Conn(nil), cas...), cbs...) // targets
	exact := map[*impl.Conn]bool{}
	for i := 0; i < nconn; i += 10 {
		exact[cas[i]] = true // reset at mid-run by an RST at exactly RCV.NXT
	}
	sent := make(map[*impl.Conn][]byte)
	got := make(map[*impl.Conn][]byte)
	rng := rand.New(rand.NewPCG(9, 9))
	inWindow, anywhere := 0, 0
	for round := range rounds {
		if round == rounds/2 {
			for c := range exact {
				local, remote := endpoints(c)
				x, _ := w.chk.TCB(local, remote)
				if err := p.Send(Segment{Src: remote, Dst: local, Flags: spec.RST, Seq: x.RcvNxt()}); err != nil {
					t.Fatal(err)
				}
			}
			// Delivered before any further text can move RCV.NXT.
			w.clock.Advance(time.Millisecond)
		}
		for i, c := range ends {
			if c.State() != spec.Established {
				continue
			}
			b := pattern(uint64(round*1000+i), chunk)
			if _, err := c.Write(b); err != nil {
				t.Fatalf("round %d: write on connection %d: %v", round, i, err)
			}
			sent[c] = append(sent[c], b...)
		}
		for range total / rounds {
			c := ends[rng.IntN(len(ends))]
			for c.State() != spec.Established { // survivors remain: most are never aimed at exactly
				c = ends[rng.IntN(len(ends))]
			}
			local, remote := endpoints(c)
			x, ok := w.chk.TCB(local, remote)
			if !ok {
				t.Fatalf("no TCB for %v", local)
			}
			var seq spec.Seq
			if rng.IntN(2) == 0 {
				seq = x.RcvNxt().Add(1 + rng.Uint32N(65534))
				inWindow++
			} else {
				seq = spec.Seq(rng.Uint32())
				anywhere++
			}
			if seq == x.RcvNxt() {
				seq++ // an exact hit is the test's choice below, not luck's
			}
			if err := p.Send(Segment{Src: remote, Dst: local, Flags: spec.RST, Seq: seq}); err != nil {
				t.Fatal(err)
			}
		}
		w.clock.Advance(5 * time.Millisecond)
		for _, c := range ends {
			b, _ := readNow(c, w.clock)
			got[c] = append(got[c], b...)
		}
	}
	// Close the survivors and wait out TIME-WAIT.
	for _, c := range ends {
		if c.State() == spec.Established {
			c.CloseWrite()
		}
	}
	for range 2000 {
		w.clock.Advance(10 * time.Millisecond)
		for _, c := range ends {
			b, _ := readNow(c, w.clock)
			got[c] = append(got[c], b...)
		}
	}
	w.clock.Advance(2 * w.opt.MSL)
	var chal, limited uint64
	for _, s := range w.stacks {
		chal += s.Stats().ChallengeACKs
		limited += s.Stats().ChallengesLimited
	}
	resets, intact := 0, 0
	for i := range cas {
		ca, cb := cas[i], cbs[i]
		_, errA := ca.Read(nil)
		if exact[ca] {
			if !errors.Is(errA, impl.ErrConnReset) {
				t.Errorf("connection %d: RST at RCV.NXT did not reset it (read: %v, state %s)", i, errA, ca.State())
			}
			resets++
			continue
		}
		if errors.Is(errA, impl.ErrConnReset) {
			t.Errorf("connection %d: reset by an RST not at RCV.NXT", i)
			continue
		}
		if !bytes.Equal(got[ca], sent[cb]) || !bytes.Equal(got[cb], sent[ca]) {
			t.Errorf("connection %d: text differs (A got %d of %d octets, B got %d of %d)", i, len(got[ca]), len(sent[cb]), len(got[cb]), len(sent[ca]))
			continue
		}
		if digest(got[ca]) != digest(sent[cb]) {
			t.Errorf("connection %d: SHA-256 differs", i)
			continue
		}
		intact++
		for _, c := range []*impl.Conn{ca, cb} {
			c.Close()
		}
	}
	w.clock.Advance(3 * w.opt.MSL)
	for _, s := range w.stacks {
		if cs := s.Connections(); len(cs) > 1 { // the listener remains
			t.Errorf("stack %v: connections left after 2MSL: %v", s.Addr(), cs)
		}
	}
	t.Logf("%d spoofed RSTs (%d aimed within the window, %d anywhere) against %d connections (both ends): "+
		"%d exact RSTs reset their connections, %d connections delivered %d octets each way intact (SHA-256); "+
		"%d challenge ACKs sent, %d withheld by the per-connection limit",
		inWindow+anywhere, inWindow, anywhere, nconn, resets, intact, rounds*chunk, chal, limited)
	if resets+intact != nconn {
		t.Fatalf("%d reset + %d intact != %d connections", resets, intact, nconn)
	}
	w.conform()
}
