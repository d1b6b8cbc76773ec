package dut_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/tcpcheck/tcpcheck/check/live/dut"
	"github.com/tcpcheck/tcpcheck/check/live/tester"
	"github.com/tcpcheck/tcpcheck/impl"
	"github.com/tcpcheck/tcpcheck/impl/wire"
	"github.com/tcpcheck/tcpcheck/spec"
)

// This example is the adapter a user writes to run the conformance suite
// against a Go TCP stack of their own in CI. The stack here is impl, used
// only through what most userspace stacks offer: a pluggable link (packets
// in, packets out) and a socket-like API. Replace the impl calls with your
// stack's.

// myDUT adapts the stack to dut.DUT.
type myDUT struct {
	st     *impl.Stack
	link   *chanLink
	addr   netip.Addr
	tester netip.Addr
}

// chanLink is the stack's link: segments it sends go to out, segments the
// tester injects are handed to the stack's receive function.
type chanLink struct {
	local netip.AddrPort
	out   chan []byte
	recv  func(from netip.AddrPort, seg []byte)
}

func (l *chanLink) LocalAddr() netip.AddrPort { return l.local }
func (l *chanLink) Peer(a netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(a.Addr(), 0)
}
func (l *chanLink) Send(to netip.AddrPort, seg []byte) error {
	select {
	case l.out <- append([]byte(nil), seg...):
	default: // a full queue drops, as a link would
	}
	return nil
}
func (l *chanLink) Start(recv func(from netip.AddrPort, seg []byte)) { l.recv = recv }
func (l *chanLink) Close() error                                     { return nil }

func newMyDUT(cfg dut.Config) (dut.DUT, error) {
	link := &chanLink{local: netip.AddrPortFrom(cfg.Addr, 0), out: make(chan []byte, 256)}
	st, err := impl.NewStack(link, impl.Options{MSL: cfg.Timers.TimeWait / 2, RTOMin: cfg.Timers.RTOMin,
		RTOInitial: max(time.Second, cfg.Timers.RTOMin), DataRetries: cfg.Timers.DataRetries,
		KeepAlive: cfg.KeepAlive.Idle, KeepAliveInterval: cfg.KeepAlive.Interval, KeepAliveProbes: cfg.KeepAlive.Probes})
	if err != nil {
		return nil, err
	}
	return &myDUT{st: st, link: link, addr: cfg.Addr, tester: cfg.Tester}, nil
}

// Inject hands the segment inside an IPv4 packet to the stack.
func (d *myDUT) Inject(pkt []byte) error {
	ip, seg, err := wire.DecodeIPv4(pkt)
	if err != nil {
		return err
	}
	d.link.recv(netip.AddrPortFrom(ip.Src, 0), seg)
	return nil
}

// Receive wraps the next segment the stack sent in an IPv4 header.
func (d *myDUT) Receive(ctx context.Context) ([]byte, error) {
	select {
	case seg := <-d.link.out:
		ip := wire.IPv4Header{TTL: 64, Protocol: wire.ProtoTCP, Src: d.addr, Dst: d.tester}
		pkt, err := ip.EncodeIPv4(nil, len(seg))
		return append(pkt, seg...), err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (d *myDUT) Listen(port uint16) (dut.Listener, error) {
	l, err := d.st.Listen(netip.AddrPortFrom(d.addr, port).String())
	return myListener{l}, err
}

// Connect: this stack's Dial blocks until the connection is established, so
// the adapter does not offer active opens (the suite reports those cases as
// not drivable).
func (d *myDUT) Connect(remote netip.AddrPort) (dut.Conn, error) {
	return nil, fmt.Errorf("%w: this stack has no non-blocking connect", dut.ErrNotDrivable)
}

func (d *myDUT) State(port uint16, remote netip.AddrPort) (spec.State, bool) {
	s := spec.Closed
	for _, c := range d.st.Connections() {
		switch {
		case c.Local.Port() == port && c.Remote == remote:
			return c.State, true
		case c.Local.Port() == port && c.State == spec.Listen:
			s = spec.Listen
		}
	}
	return s, true
}

func (d *myDUT) Timers() dut.Timers { return dut.Timers{TimeWait: 4 * time.Minute, DataRetries: 15} }
func (d *myDUT) Close() error       { return d.st.Close() }

type myListener struct{ l *impl.Listener }

func (l myListener) Accept(ctx context.Context) (dut.Conn, error) {
	c, err := l.l.AcceptConn() // the stack closes the listener when the DUT closes
	return myConn{c}, err
}
func (l myListener) Close() error { return l.l.Close() }

type myConn struct{ c *impl.Conn }

func (c myConn) Write(p []byte) (int, error) { return c.c.Write(p) }
func (c myConn) Read(ctx context.Context, p []byte) (int, error) {
	return 0, errors.New("not needed by the suite")
}
func (c myConn) CloseWrite() error { return c.c.CloseWrite() }
func (c myConn) Close() error      { return c.c.Close() }
func (c myConn) Abort() error      { return c.c.Abort() }
func (c myConn) Signal(ctx context.Context) (dut.Signal, error) {
	for {
		c.c.SetReadDeadline(time.Now())
		_, err := c.c.Read(nil) // reports the connection's error, consumes no text
		switch {
		case errors.Is(err, impl.ErrConnReset):
			return dut.SignalReset, err
		case errors.Is(err, impl.ErrConnRefused):
			return dut.SignalRefused, err
		case errors.Is(err, impl.ErrTimeout):
			return dut.SignalTimeout, err
		}
		select {
		case <-ctx.Done():
			return dut.SignalNone, nil
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// Example runs the suite's cases of three rows against the adapter. A CI
// test would run them all and fail on any tester.Disagree, printing
// r.Table(md.Rows()).
func Example() {
	md, err := tester.NewModel(spec.Table())
	if err != nil {
		panic(err)
	}
	suite := tester.Generate(md)
	var cases []*tester.Case
	for _, c := range suite.Cases {
		switch c.Name {
		case "LISTEN + rcv SYN", "SYN-RECEIVED + rcv ACK [SeqOK & AckOK]", "CLOSED + ACTIVE-OPEN":
			cases = append(cases, c)
		}
	}
	for _, r := range tester.RunCases(md, cases, newMyDUT, tester.Options{}) {
		fmt.Printf("%s: %s\n", r.Case.Name, r.Verdict)
	}
	// Output:
	// CLOSED + ACTIVE-OPEN: not drivable
	// LISTEN + rcv SYN: agree
	// SYN-RECEIVED + rcv ACK [SeqOK & AckOK]: agree
}
