//go:build linux

package kernel

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/tcpcheck/tcpcheck/impl"
	"github.com/tcpcheck/tcpcheck/impl/wire"
	"github.com/tcpcheck/tcpcheck/spec"
)

// procSample is /proc/net/tcp as a little-endian machine prints it: a
// listener on 192.0.2.1:80, an established connection, a TIME-WAIT socket
// with 59.9 s left, and a request socket (SYN-RECEIVED).
const procSample = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 010200C0:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0
   1: 010200C0:0050 020200C0:C000 01 00000000:00000000 00:00000000 00000000     0        0 2 1 0000000000000000 20 4 30 10 -1
   2: 010200C0:4E20 020200C0:C001 06 00000000:00000000 03:0000176A 00000000     0        0 0 3 0000000000000000
   3: 010200C0:0050 020200C0:C002 03 00000000:00000000 01:00000064 00000000     0        0 0 1 0000000000000000
`

func TestParseProcNetTCP(t *testing.T) {
	socks, err := ParseProcNetTCP(strings.NewReader(procSample))
	if err != nil {
		t.Fatal(err)
	}
	if len(socks) != 4 {
		t.Fatalf("%d sockets, want 4", len(socks))
	}
	k := netip.MustParseAddrPort("192.0.2.1:80")
	want := []struct {
		local, remote string
		st            spec.State
	}{
		{"192.0.2.1:80", "0.0.0.0:0", spec.Listen},
		{"192.0.2.1:80", "192.0.2.2:49152", spec.Established},
		{"192.0.2.1:20000", "192.0.2.2:49153", spec.TimeWait},
		{"192.0.2.1:80", "192.0.2.2:49154", spec.SynReceived},
	}
	for i, w := range want {
		s := socks[i]
		if s.Local.String() != w.local || s.Remote.String() != w.remote || s.State != w.st {
			t.Errorf("socket %d: %v %v %v, want %s %s %v", i, s.Local, s.Remote, s.State, w.local, w.remote, w.st)
		}
	}
	if s := socks[2]; s.Timer != 3 || s.When != 59940*time.Millisecond {
		t.Errorf("TIME-WAIT timer %d with %v left, want 3 and 59.94s", s.Timer, s.When)
	}
	if st, _ := connState(socks, k, netip.MustParseAddrPort("192.0.2.2:49152"), true); st != spec.Established {
		t.Errorf("exact tuple: %v", st)
	}
	if st, _ := connState(socks, k, netip.MustParseAddrPort("192.0.2.2:1"), true); st != spec.Listen {
		t.Errorf("no tuple, listening: %v", st)
	}
	if st, _ := connState(socks, k, netip.MustParseAddrPort("192.0.2.2:1"), false); st != spec.Closed {
		t.Errorf("no tuple, not listening: %v", st)
	}
	for _, bad := range []string{
		"hdr\n 0: 010200C0:0050 00000000:0000\n",
		"hdr\n 0: 0102C0:0050 00000000:0000 0A 0 0\n",
		"hdr\n 0: 010200C0:0050 00000000:0000 ZZ 0 0\n",
		"hdr\n 0: 010200C0:0050 00000000:0000 0D 0 0\n",
	} {
		if _, err := ParseProcNetTCP(strings.NewReader(bad)); err == nil || !strings.HasPrefix(err.Error(), "kernel: ") {
			t.Errorf("ParseProcNetTCP(%q): %v, want a kernel error", bad, err)
		}
	}
}

func TestExchangeRegexp(t *testing.T) {
	re, err := exchangeRegexp("out SYN\n in SYN,ACK\n in ACK*\n out ACK text dropped ?\nout RST injected")
	if err != nil {
		t.Fatal(err)
	}
	for s, want := range map[string]bool{
		"out SYN\nin SYN,ACK\nout RST injected\n":                                       true,
		"out SYN\nin SYN,ACK\nin ACK\nin ACK\nout ACK text dropped\nout RST injected\n": true,
		"out SYN\nin SYN,ACK\n":                                                         false,
		"out SYN\nin SYN,ACK\nout RST\n":                                                false,
	} {
		if re.MatchString(s) != want {
			t.Errorf("match %q = %v, want %v", s, !want, want)
		}
	}
	// Chains the network may interleave: our ACK before our RST, the
	// kernel's ACK (optional) anywhere among them.
	re, err = exchangeRegexp("out SYN\nout ACK, out RST & in ACK?\nin FIN")
	if err != nil {
		t.Fatal(err)
	}
	for s, want := range map[string]bool{
		"out SYN\nout ACK\nin ACK\nout RST\nin FIN\n":         true,
		"out SYN\nin ACK\nout ACK\nout RST\nin FIN\n":         true,
		"out SYN\nout ACK\nout RST\nin ACK\nin FIN\n":         true,
		"out SYN\nout ACK\nout RST\nin FIN\n":                 true,
		"out SYN\nout RST\nout ACK\nin FIN\n":                 false, // the chain's order holds
		"out SYN\nout ACK\nout RST\nin FIN\nin ACK\n":         false, // not past the next line
		"out SYN\nin ACK\nout ACK\nin ACK\nout RST\nin FIN\n": false,
	} {
		if re.MatchString(s) != want {
			t.Errorf("interleaved: match %q = %v, want %v", s, !want, want)
		}
	}
	if _, err := exchangeRegexp("out A, out B, out C & in D, in E, in F & in G"); err == nil {
		t.Error("7 interleaved segments were accepted")
	}
	if _, err := exchangeRegexp("sideways SYN"); err == nil {
		t.Error("a bad direction was accepted")
	}
	p := impl.TUNPacket{Dir: impl.Inbound, Header: wire.Header{Flags: spec.PSH | spec.ACK}, Len: 3}
	if got := exchangeLine(p, impl.FateLost); got != "in ACK text lost" {
		t.Errorf("exchangeLine = %q", got)
	}
}

// TestPredictor steps the model over a handshake, text out of order and a
// close, as the suite does from segments seen on the wire.
func TestPredictor(t *testing.T) {
	p := newPredictor(machine)
	seg := func(f spec.Flags, seq, ack spec.Seq) *wire.Header {
		return &wire.Header{Flags: f, Seq: seq, Ack: ack, Window: 1000}
	}
	mustStep := func(e spec.Event, h *wire.Header, n int, want spec.State) {
		t.Helper()
		if _, err := p.step(e, h, n); err != nil {
			t.Fatal(err)
		}
		if p.state() != want {
			t.Fatalf("after %s: %s, want %s", e, p.state(), want)
		}
	}
	mustStep(spec.PassiveOpen, nil, 0, spec.Listen)
	mustStep(spec.SegSYN, seg(spec.SYN, 100, 0), 0, spec.SynReceived)
	p.sent(*seg(spec.SYN|spec.ACK, 500, 101), 0, 1000)
	mustStep(spec.SegACK, seg(spec.ACK, 101, 501), 0, spec.Established)
	// Text [111, 121) arrives before [101, 111): RCV.NXT waits, then jumps.
	mustStep(spec.SegData, seg(spec.ACK, 111, 501), 10, spec.Established)
	if p.tcb.RcvNxt() != 101 {
		t.Fatalf("RCV.NXT %d after out-of-order text, want 101", p.tcb.RcvNxt())
	}
	mustStep(spec.SegData, seg(spec.ACK, 101, 501), 10, spec.Established)
	if p.tcb.RcvNxt() != 121 {
		t.Fatalf("RCV.NXT %d after the gap filled, want 121", p.tcb.RcvNxt())
	}
	mustStep(spec.SegFIN, seg(spec.FIN|spec.ACK, 121, 501), 0, spec.CloseWait)
	mustStep(spec.Close, nil, 0, spec.LastAck)
	p.sent(*seg(spec.FIN|spec.ACK, 501, 122), 0, 1000)
	mustStep(spec.SegACK, seg(spec.ACK, 122, 502), 0, spec.Closed)
}

// TestPredictorKeepAlive: the kernel side's model steps the keepalive rows
// from the kernel's own segments: a probe while probes are left, a RST at
// SND.NXT once TCP_KEEPCNT went unanswered; an acceptable ACK from the
// peer starts the count again; a probe beyond the count and a RST
// elsewhere than SND.NXT are failures.
func TestPredictorKeepAlive(t *testing.T) {
	established := func() *predictor {
		p := newPredictor(machine)
		if _, err := p.step(spec.PassiveOpen, nil, 0); err != nil {
			t.Fatal(err)
		}
		if _, err := p.step(spec.SegSYN, &wire.Header{Seq: 1000, Flags: spec.SYN, Window: 1000}, 0); err != nil {
			t.Fatal(err)
		}
		p.sent(wire.Header{Seq: 5000, Ack: 1001, Flags: spec.SYN | spec.ACK, Window: 1000}, 0, 1000)
		if _, err := p.step(spec.SegACK, &wire.Header{Seq: 1001, Ack: 5001, Flags: spec.ACK, Window: 1000}, 0); err != nil {
			t.Fatal(err)
		}
		if p.state() != spec.Established {
			t.Fatalf("predictor in %s, want ESTABLISHED", p.state())
		}
		return p
	}
	probe := wire.Header{Seq: 5000, Ack: 1001, Flags: spec.ACK}
	answer := wire.Header{Seq: 1001, Ack: 5001, Flags: spec.ACK, Window: 1000}
	rst := wire.Header{Seq: 5001, Ack: 1001, Flags: spec.RST | spec.ACK}

	p := established()
	for i, h := range []wire.Header{probe, probe} {
		if ok, err := p.keepAlive(h, 0, 2); !ok || err != nil {
			t.Fatalf("probe %d: %v, %v", i+1, ok, err)
		}
	}
	if _, err := p.step(spec.SegACK, &answer, 0); err != nil { // the peer answers: the count starts again
		t.Fatal(err)
	}
	for i, h := range []wire.Header{probe, probe, rst} {
		if ok, err := p.keepAlive(h, 0, 2); !ok || err != nil {
			t.Fatalf("after the answer, segment %d: %v, %v", i+1, ok, err)
		}
	}
	if p.state() != spec.Closed {
		t.Errorf("after KEEPALIVE-OUT: %s, want CLOSED", p.state())
	}

	p = established()
	p.keepAlive(probe, 0, 1)
	if _, err := p.keepAlive(probe, 0, 1); err == nil {
		t.Error("a probe beyond TCP_KEEPCNT accepted")
	}
	p = established()
	p.keepAlive(probe, 0, 1)
	if _, err := p.keepAlive(wire.Header{Seq: 5002, Flags: spec.RST}, 0, 1); err == nil {
		t.Error("a keepalive RST beyond SND.NXT accepted")
	}
	if ok, _ := established().keepAlive(wire.Header{Seq: 5001, Ack: 1001, Flags: spec.ACK}, 0, 2); ok {
		t.Error("an ACK at SND.NXT taken for a probe")
	}
}
