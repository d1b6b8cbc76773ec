package impl

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/tcpcheck/tcpcheck/impl/wire"
	"github.com/tcpcheck/tcpcheck/spec"
)

// stateRecipes bring the scenario harness (A 10.0.0.1 with ISN 100, B
// 10.0.0.2 with ISN 300, manual delivery) to a state; target names the host
// whose connection (or listener, or nothing) the fuzzed segment goes to.
var stateRecipes = []struct {
	state  spec.State
	target string
	script string
}{
	{spec.SynSent, "A", "listen B 80; connect A B:80"},
	{spec.SynReceived, "B", "listen B 80; connect A B:80; deliver 1"},
	{spec.Established, "A", "listen B 80; connect A B:80; deliver all"},
	{spec.FinWait1, "A", "listen B 80; connect A B:80; deliver all; close A"},
	{spec.FinWait2, "A", "listen B 80; connect A B:80; deliver all; close A; deliver all; advance 40ms; deliver all"}, // B delays the ACK of the FIN
	{spec.CloseWait, "B", "listen B 80; connect A B:80; deliver all; accept B; close A; deliver all"},
	{spec.LastAck, "B", "listen B 80; connect A B:80; deliver all; accept B; close A; deliver all; close B"},
	{spec.Closing, "A", "listen B 80; connect A B:80; deliver all; accept B; close A; close B; deliver 1; deliver 1"},
	{spec.TimeWait, "A", "listen B 80; connect A B:80; deliver all; accept B; close A; deliver all; close B; deliver all"},
	{spec.Listen, "B", "listen B 80"},
	{spec.Closed, "B", ""},
}

// segmentInState brings a fresh harness to the state of recipe k and
// feeds it the segment that data describes:
//
//	data[0]     flags (FIN SYN RST PSH ACK URG, as on the wire)
//	data[1:5]   SEG.SEQ as an offset from the target's RCV.NXT
//	data[5:9]   SEG.ACK as an offset from its SND.UNA
//	data[9:11]  window; data[11:13] MSS option (0: none)
//	data[13:]   text (at most 4000 octets)
//
// then lets every timer run out. The endpoint must not panic, its TCB must
// stay consistent (checkTCB), and an hour later every connection must be
// settled.
func segmentInState(t *testing.T, k uint8, data []byte) {
	r := stateRecipes[int(k)%len(stateRecipes)]
	h := newHarness(t)
	for _, line := range strings.Split(r.script, ";") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if _, err := h.run(f[0], f[1:]); err != nil {
			t.Fatalf("recipe %s: %s: %v", r.state, line, err)
		}
	}
	hs := h.hosts[r.target]
	other := h.hosts["A"]
	if r.target == "A" {
		other = h.hosts["B"]
	}
	var c *Conn
	hs.s.mu.Lock()
	for _, x := range hs.s.sortedConns() {
		c = x
	}
	var key connKey
	var rcvNxt, sndUna spec.Seq
	switch {
	case r.state == spec.Listen:
		key = connKey{port: 80, peer: netip.AddrPortFrom(other.ip, 0), peerPort: 5000}
	case r.state == spec.Closed || c == nil:
		key = connKey{port: 81, peer: netip.AddrPortFrom(other.ip, 0), peerPort: 5000}
		c = nil
	default:
		key, rcvNxt, sndUna = c.key, c.tcb.RcvNxt(), c.tcb.SndUna()
		if c.tcb.State() != r.state {
			hs.s.mu.Unlock()
			t.Fatalf("recipe reached %s, want %s", c.tcb.State(), r.state)
		}
	}
	hs.s.mu.Unlock()
	var in [13]byte
	copy(in[:], data)
	text := data[min(len(data), 13):]
	text = text[:min(len(text), 4000)]
	hdr := wire.Header{SrcPort: key.peerPort, DstPort: key.port, Flags: spec.Flags(in[0] & 0x3f),
		Seq: rcvNxt + spec.Seq(binary.BigEndian.Uint32(in[1:5])), Ack: sndUna + spec.Seq(binary.BigEndian.Uint32(in[5:9])),
		Window: binary.BigEndian.Uint16(in[9:11]), MSS: binary.BigEndian.Uint16(in[11:13])}
	b, err := hdr.Encode(nil, other.ip, hs.ip, text)
	if err != nil {
		t.Fatal(err)
	}
	hs.s.input(key.peer, b)
	if c != nil {
		checkTCB(t, uint64(k), 0, hs.s, c)
	}
	h.net.SetManual(false)
	for range 4 {
		h.clock.Advance(time.Second)
		if c != nil {
			checkTCB(t, uint64(k), 1, hs.s, c)
		}
	}
	h.clock.Advance(time.Hour)
	for _, name := range []string{"A", "B"} {
		for _, ci := range h.hosts[name].s.Connections() {
			switch ci.State {
			case spec.Listen, spec.Established, spec.CloseWait, spec.FinWait2:
			default:
				t.Fatalf("%s + %s: after an hour %s still has %v", r.state, hdr, name, ci)
			}
		}
	}
}

// fuzzSeeds are segments worth trying in every state: exact and inexact
// RSTs, SYNs, ACKs of every kind, text and FINs.
func fuzzSeeds() [][]byte {
	seg := func(flags spec.Flags, seq, ack int32, text string) []byte {
		b := make([]byte, 13, 13+len(text))
		b[0] = byte(flags)
		binary.BigEndian.PutUint32(b[1:], uint32(seq))
		binary.BigEndian.PutUint32(b[5:], uint32(ack))
		binary.BigEndian.PutUint16(b[9:], 65535)
		return append(b, text...)
	}
	return [][]byte{
		seg(spec.RST, 0, 0, ""), seg(spec.RST, 100, 0, ""), seg(spec.RST, 1<<30, 0, ""), seg(spec.RST|spec.ACK, 0, 1, ""),
		seg(spec.SYN, 0, 0, ""), seg(spec.SYN, -1, 0, ""), seg(spec.SYN|spec.ACK, -1, 1, ""), seg(spec.SYN|spec.ACK, 0, 1<<20, ""),
		seg(spec.ACK, 0, 0, ""), seg(spec.ACK, 0, 1, ""), seg(spec.ACK, 0, 2, ""), seg(spec.ACK, 0, -1<<20, ""), seg(spec.ACK, -1, 0, ""),
		seg(spec.ACK|spec.PSH, 0, 0, "hello"), seg(spec.ACK|spec.PSH, 3, 0, "ahead"), seg(spec.ACK|spec.PSH, -3, 0, "behind"),
		seg(spec.ACK|spec.PSH, 65530, 0, "past the window"), seg(spec.ACK|spec.FIN, 0, 0, ""), seg(spec.ACK|spec.FIN, 0, 1, "bye"),
		seg(spec.FIN, 0, 0, ""), seg(0, 0, 0, "no flags"), seg(spec.SYN|spec.FIN|spec.RST|spec.ACK, 0, 0, "all"),
		seg(spec.ACK|spec.URG, 0, 0, "urgent"), {},
	}
}

// FuzzSegmentInState feeds arbitrary segments to an endpoint in each state
// of the table. Run it with
//
//	go test ./impl -run XXX -fuzz FuzzSegmentInState -fuzztime 60s
//
// A crasher lands in testdata/fuzz/FuzzSegmentInState; commit it there and
// it becomes a regression seed that every `go test ./impl` runs.
func FuzzSegmentInState(f *testing.F) {
	for k := range stateRecipes {
		for _, s := range fuzzSeeds() {
			f.Add(uint8(k), s)
		}
	}
	f.Fuzz(func(t *testing.T, k uint8, data []byte) { segmentInState(t, k, data) })
}

// TestSegmentInStateRandom is the bounded stand-in for `go test -fuzz` in
// CI: 2,000 random segments (fewer with -short) near each state's window.
func TestSegmentInStateRandom(t *testing.T) {
	n := 2000
	if testing.Short() {
		n = 300
	}
	r := rand.New(rand.NewPCG(17, 17))
	for i := range n {
		b := make([]byte, 13+[]int{0, 0, 1, 100, 1400, 3000}[r.IntN(6)])
		for j := range b {
			b[j] = byte(r.Uint32())
		}
		// Offsets near zero half of the time, so the window is hit.
		if r.IntN(2) == 0 {
			binary.BigEndian.PutUint32(b[1:], uint32(r.IntN(200)-100))
		}
		if r.IntN(2) == 0 {
			binary.BigEndian.PutUint32(b[5:], uint32(r.IntN(6)-2))
		}
		k := uint8(r.IntN(len(stateRecipes)))
		t.Run("", func(t *testing.T) {
			segmentInState(t, k, b)
			if t.Failed() {
				t.Logf("input %d: state %s, data %x", i, stateRecipes[k].state, b)
			}
		})
		if t.Failed() {
			return
		}
	}
}
