package impl

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/tcpcheck/tcpcheck/impl/wire"
	"github.com/tcpcheck/tcpcheck/spec"
)

// TestRandomSegments throws well-formed but arbitrary segments (any
// flags, sequence and acknowledgment numbers near and far from the
// window, text, windows, MSS options), interleaved with user calls and
// clock advances, at a connection in whatever state it has reached. The
// endpoint must never panic, and the TCB must stay consistent: SND.UNA =<
// SND.NXT, the send buffer covers what was sent, the receive buffer stays
// within the advertised window, and a deleted connection is CLOSED (or
// back in LISTEN) and out of the stack's table.
func TestRandomSegments(t *testing.T) {
	runs := 300
	if testing.Short() {
		runs = 60
	}
	for seed := range uint64(runs) {
		h := newHarness(t)
		h.net.SetManual(false) // deliver with the clock
		r := rand.New(rand.NewPCG(seed, 99))
		mustRun := func(cmd string, args ...string) {
			if _, err := h.run(cmd, args); err != nil {
				t.Fatalf("seed %d: %s %v: %v", seed, cmd, args, err)
			}
		}
		mustRun("listen", "B", "80")
		mustRun("connect", "A", "B:80")
		if r.IntN(2) == 0 {
			h.clock.Advance(0) // establish first, half of the time
		}
		a := h.hosts["A"]
		flags := []spec.Flags{spec.SYN, spec.SYN | spec.ACK, spec.ACK, spec.ACK, spec.ACK | spec.PSH, spec.ACK | spec.PSH,
			spec.FIN | spec.ACK, spec.FIN | spec.ACK, spec.RST, spec.FIN, 0, spec.SYN | spec.FIN | spec.RST | spec.ACK}
		for step := range 200 {
			if a.c.State() == spec.Closed && r.IntN(4) == 0 {
				mustRun("connect", "A", "B:80") // a new connection, on the next port
				if r.IntN(2) == 0 {
					h.clock.Advance(0)
				}
			}
			c := a.c
			switch k := r.IntN(20); {
			case k < 12:
				a.s.mu.Lock()
				rcvNxt, sndUna, sndNxt := c.tcb.RcvNxt(), c.tcb.SndUna(), c.tcb.SndNxt()
				a.s.mu.Unlock()
				var hdr wire.Header
				hdr.Flags = flags[r.IntN(len(flags))]
				hdr.Seq = near(r, rcvNxt)
				hdr.Ack = near(r, sndUna)
				if r.IntN(3) == 0 {
					hdr.Ack = near(r, sndNxt)
				}
				hdr.Window = uint16(r.IntN(3) * r.IntN(65536))
				if r.IntN(4) == 0 {
					hdr.MSS = uint16(r.IntN(3000))
				}
				payload := make([]byte, []int{0, 0, 1, 100, 1400, 3000}[r.IntN(6)])
				hdr.SrcPort, hdr.DstPort = c.key.peerPort, c.key.port
				b, err := hdr.Encode(nil, c.key.peer.Addr(), a.ip, payload)
				if err != nil {
					t.Fatal(err)
				}
				a.s.input(c.key.peer, b)
			case k < 14:
				mustRun("write", "A", "some text")
			case k == 14:
				mustRun("close", "A")
			case k == 15 && r.IntN(4) == 0:
				mustRun("abort", "A")
			case k == 16:
				a.c.SetReadDeadline(h.clock.Now())
				a.c.Read(make([]byte, 100))
			default:
				h.clock.Advance(time.Duration(r.IntN(3000)) * time.Millisecond)
			}
			checkTCB(t, seed, step, a.s, c)
		}
		h.clock.Advance(time.Hour) // every timer runs out
		for _, name := range []string{"A", "B"} {
			hs := h.hosts[name]
			for _, ci := range hs.s.Connections() {
				if ci.State != spec.Listen && ci.State != spec.Established && ci.State != spec.CloseWait && ci.State != spec.FinWait2 {
					t.Errorf("seed %d: after an hour %s still has %v", seed, name, ci)
				}
			}
		}
	}
}

// near returns a sequence number close to s, or now and then anywhere.
func near(r *rand.Rand, s spec.Seq) spec.Seq {
	switch r.IntN(4) {
	case 0:
		return s
	case 1:
		return s + spec.Seq(r.IntN(3000)) - 1500
	case 2:
		return s + spec.Seq(r.IntN(140000)) - 70000
	}
	return spec.Seq(r.Uint32())
}

func checkTCB(t *testing.T, seed uint64, step int, s *Stack, c *Conn) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("seed %d step %d, %s: "+format, append([]any{seed, step, c.tcb.State()}, args...)...)
	}
	if c.deleted {
		if c.tcb.State() != spec.Closed && c.tcb.State() != spec.Listen {
			fail("deleted but not CLOSED")
		}
		if s.conns[c.key] == c {
			fail("deleted but still in the stack's table")
		}
		return
	}
	if c.tcb.State().HasTCB() && hasISS(c) {
		if c.tcb.SndNxt().LessThan(c.tcb.SndUna()) {
			fail("SND.NXT %d before SND.UNA %d", c.tcb.SndNxt(), c.tcb.SndUna())
		}
		if c.sentText() > len(c.sndBuf) {
			fail("%d octets sent but only %d in the send buffer", c.sentText(), len(c.sndBuf))
		}
	}
	if len(c.rcvBuf) > s.opt.RecvBuffer {
		fail("receive buffer holds %d octets, more than %d", len(c.rcvBuf), s.opt.RecvBuffer)
	}
	if c.heldBytes > s.opt.RecvBuffer || len(c.held) > maxHeld {
		fail("hold queue of %d segments, %d octets", len(c.held), c.heldBytes)
	}
}

// issOf and irsOf return a connection's ISS and IRS (0 before they exist).
func issOf(c *Conn) spec.Seq { s, _ := c.tcb.ISS(); return s }
func irsOf(c *Conn) spec.Seq { s, _ := c.tcb.IRS(); return s }

// hasISS reports whether the connection has chosen its ISS.
func hasISS(c *Conn) bool { _, ok := c.tcb.ISS(); return ok }
