// Package duttest checks an adapter of package dut on its own, below the
// conformance suite: packets go in and out, the socket calls work, states
// are read, bad input is refused without a panic.
package duttest

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/tcpcheck/tcpcheck/check/live/dut"
	"github.com/tcpcheck/tcpcheck/impl/wire"
	"github.com/tcpcheck/tcpcheck/spec"
)

var (
	dutAddr    = netip.MustParseAddr("192.0.2.1")
	testerAddr = netip.MustParseAddr("192.0.2.2")
)

// packet builds an IPv4 packet from the tester to the DUT.
func packet(t *testing.T, h wire.Header, payload []byte) []byte {
	t.Helper()
	seg, err := h.Encode(nil, testerAddr, dutAddr, payload)
	if err != nil {
		t.Fatal(err)
	}
	ip := wire.IPv4Header{TTL: 64, Protocol: wire.ProtoTCP, Src: testerAddr, Dst: dutAddr}
	pkt, err := ip.EncodeIPv4(nil, len(seg))
	if err != nil {
		t.Fatal(err)
	}
	return append(pkt, seg...)
}

// receive returns the next segment the DUT sent.
func receive(t *testing.T, d dut.DUT) wire.Header {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	pkt, err := d.Receive(ctx)
	if err != nil {
		t.Fatalf("receive: %v", err)
	}
	ip, seg, err := wire.DecodeIPv4(pkt)
	if err != nil || ip.Src != dutAddr || ip.Dst != testerAddr {
		t.Fatalf("receive: %v, %v>%v", err, ip.Src, ip.Dst)
	}
	h, _, err := wire.Decode(seg, ip.Src, ip.Dst)
	if err != nil {
		t.Fatalf("receive: %v", err)
	}
	return h
}

// state waits for the connection's state to become want.
func state(t *testing.T, d dut.DUT, port uint16, want spec.State) {
	t.Helper()
	rem := netip.AddrPortFrom(testerAddr, 40000)
	deadline := time.Now().Add(2 * time.Second)
	for {
		s, ok := d.State(port, rem)
		if !ok {
			t.Fatal("the adapter exposes no state")
		}
		if s == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("state %v; want %v", s, want)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// Run checks adapter newDUT: a passive open, text both ways, a close, an
// active open refused by a RST, bad input, and keep-alive probes.
func Run(t *testing.T, newDUT dut.New) {
	basic(t, newDUT)
	keepAlive(t, newDUT)
}

// keepAlive checks that a stack built with dut.Config.KeepAlive probes an
// idle accepted connection with <SEQ=SND.NXT-1><ACK=RCV.NXT><CTL=ACK>.
func keepAlive(t *testing.T, newDUT dut.New) {
	d, err := newDUT(dut.Config{Addr: dutAddr, Tester: testerAddr, Timers: dut.Timers{TimeWait: 30 * time.Second, RTOMin: 3 * time.Second},
		KeepAlive: dut.KeepAlive{Idle: time.Second, Interval: time.Second, Probes: 2}})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	l, err := d.Listen(80)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Inject(packet(t, wire.Header{SrcPort: 40000, DstPort: 80, Seq: 1000, Flags: spec.SYN, Window: 65535, MSS: 1460}, nil)); err != nil {
		t.Fatal(err)
	}
	sa := receive(t, d)
	if err := d.Inject(packet(t, wire.Header{SrcPort: 40000, DstPort: 80, Seq: 1001, Ack: sa.Seq + 1, Flags: spec.ACK, Window: 65535}, nil)); err != nil {
		t.Fatal(err)
	}
	state(t, d, 80, spec.Established)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := l.Accept(ctx); err != nil {
		t.Fatal(err)
	}
	if p := receive(t, d); p.Flags&(spec.SYN|spec.FIN|spec.RST|spec.ACK) != spec.ACK || p.Seq != sa.Seq || p.Ack != 1001 {
		t.Fatalf("keep-alive probe after 1 s idle: %v; want ACK seq=%d ack=1001", p, sa.Seq)
	}
}

// basic checks the socket calls, the states and bad input.
func basic(t *testing.T, newDUT dut.New) {
	d, err := newDUT(dut.Config{Addr: dutAddr, Tester: testerAddr, Timers: dut.Timers{TimeWait: 30 * time.Second, RTOMin: 3 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := d.Close(); err != nil {
			t.Error(err)
		}
		if d.Close() == nil {
			t.Error("a second Close succeeded")
		}
	}()
	// A stack that cannot shorten TIME-WAIT (Linux: a fixed 60 s) keeps
	// its own, longer value (dut.DUT.Timers).
	if tm := d.Timers(); tm.TimeWait < 30*time.Second {
		t.Errorf("Timers().TimeWait = %v; want the 30 s asked for, or the stack's own longer value", tm.TimeWait)
	}
	for _, bad := range [][]byte{nil, {0x60}, {0x45, 0, 0, 20}} {
		_ = d.Inject(bad) // refused or dropped; never a panic
	}
	l, err := d.Listen(80)
	if err != nil {
		t.Fatal(err)
	}
	state(t, d, 80, spec.Listen)
	if err := d.Inject(packet(t, wire.Header{SrcPort: 40000, DstPort: 80, Seq: 1000, Flags: spec.SYN, Window: 65535, MSS: 1460}, nil)); err != nil {
		t.Fatal(err)
	}
	sa := receive(t, d)
	if sa.Flags&(spec.SYN|spec.ACK|spec.RST|spec.FIN) != spec.SYN|spec.ACK || sa.Ack != 1001 || sa.SrcPort != 80 || sa.DstPort != 40000 {
		t.Fatalf("answer to a SYN: %v", sa)
	}
	state(t, d, 80, spec.SynReceived)
	if err := d.Inject(packet(t, wire.Header{SrcPort: 40000, DstPort: 80, Seq: 1001, Ack: sa.Seq + 1, Flags: spec.ACK | spec.PSH, Window: 65535}, []byte("hello"))); err != nil {
		t.Fatal(err)
	}
	if a := receive(t, d); a.Ack != 1006 || a.Flags&spec.ACK == 0 {
		t.Fatalf("answer to text: %v", a)
	}
	state(t, d, 80, spec.Established)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	c, err := l.Accept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	if n, err := c.Read(ctx, buf); err != nil || string(buf[:n]) != "hello" {
		t.Fatalf("read %q, %v", buf[:n], err)
	}
	if _, err := c.Write([]byte("abc")); err != nil {
		t.Fatal(err)
	}
	if h := receive(t, d); h.Seq != sa.Seq+1 || h.Flags&spec.ACK == 0 {
		t.Fatalf("text: %v", h)
	}
	if err := c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if h := receive(t, d); h.Flags&spec.FIN == 0 || h.Seq != sa.Seq+4 {
		t.Fatalf("FIN: %v", h)
	}
	state(t, d, 80, spec.FinWait1)
	if err := c.Abort(); err != nil {
		t.Fatal(err)
	}
	if h := receive(t, d); h.Flags&spec.RST == 0 {
		t.Fatalf("abort: %v", h)
	}

	// An active open names its port in the SYN; a RST acknowledging the
	// SYN refuses it, and the socket says so.
	cc, err := d.Connect(netip.AddrPortFrom(testerAddr, 40000))
	if err != nil {
		t.Fatal(err)
	}
	syn := receive(t, d)
	if syn.Flags&(spec.SYN|spec.ACK) != spec.SYN || syn.SrcPort == 0 {
		t.Fatalf("connect sent %v", syn)
	}
	state(t, d, syn.SrcPort, spec.SynSent)
	short, cancelShort := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancelShort()
	if s, err := cc.Signal(short); s != dut.SignalNone || err != nil {
		t.Fatalf("Signal in SYN-SENT: %v, %v; want none", s, err)
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel2()
	if err := d.Inject(packet(t, wire.Header{SrcPort: 40000, DstPort: syn.SrcPort, Seq: 0, Ack: syn.Seq + 1, Flags: spec.RST | spec.ACK}, nil)); err != nil {
		t.Fatal(err)
	}
	if s, err := cc.Signal(ctx2); s != dut.SignalRefused || err == nil {
		t.Fatalf("Signal after a RST refused the connect: %v, %v; want refused with the stack's error", s, err)
	}
}
