package impldut

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/tcpcheck/tcpcheck/check/live/dut"
	"github.com/tcpcheck/tcpcheck/impl"
	"github.com/tcpcheck/tcpcheck/impl/wire"
	"github.com/tcpcheck/tcpcheck/spec"
)

// DUT is an impl.Stack on a link of the adapter's own.
type DUT struct {
	link   *link
	st     *impl.Stack
	addr   netip.Addr
	tester netip.Addr
	timers dut.Timers
	out    chan []byte

	mu      sync.Mutex
	closed  bool
	dropped int
}

var _ dut.DUT = (*DUT)(nil)

// New builds a fresh endpoint at cfg.Addr. It is a [dut.New]. A TIME-WAIT
// of cfg.Timers.TimeWait becomes an MSL of half of it.
func New(cfg dut.Config) (dut.DUT, error) {
	if !cfg.Addr.Is4() || !cfg.Tester.Is4() || cfg.Addr == cfg.Tester {
		return nil, fmt.Errorf("impldut: addresses %v and %v must be two IPv4 addresses", cfg.Addr, cfg.Tester)
	}
	d := &DUT{addr: cfg.Addr, tester: cfg.Tester, out: make(chan []byte, 1024)}
	d.link = &link{local: netip.AddrPortFrom(cfg.Addr, 0), d: d}
	t := cfg.Timers
	opt := impl.Options{MSL: t.TimeWait / 2, RTOMin: t.RTOMin, RTOMax: t.RTOMax, SynRetries: t.SynRetries, SynAckRetries: t.SynAckRetries, DataRetries: t.DataRetries}
	if ka := cfg.KeepAlive; ka.Idle > 0 {
		opt.KeepAlive, opt.KeepAliveInterval, opt.KeepAliveProbes = ka.Idle, ka.Interval, ka.Probes
	}
	if t.RTOMin > 0 {
		// impl's initial RTO is 1 s (RFC 6298 §2.1); a longer minimum
		// raises it as gVisor's does not need to (its handshake RTO is fixed).
		opt.RTOInitial = max(t.RTOMin, time.Second)
	}
	if opt.RTOMax > 0 && opt.RTOMin > opt.RTOMax {
		return nil, fmt.Errorf("impldut: minimum RTO %v exceeds maximum %v", opt.RTOMin, opt.RTOMax)
	}
	st, err := impl.NewStack(d.link, opt)
	if err != nil {
		return nil, fmt.Errorf("impldut: %w", err)
	}
	d.st = st
	d.timers = dut.Timers{TimeWait: 2 * opt.MSL, RTOMin: opt.RTOMin, RTOMax: opt.RTOMax, SynRetries: opt.SynRetries, SynAckRetries: opt.SynAckRetries, DataRetries: opt.DataRetries}
	if d.timers.TimeWait == 0 {
		d.timers.TimeWait = 4 * time.Minute
	}
	if d.timers.SynRetries == 0 {
		d.timers.SynRetries = 6
	}
	if d.timers.SynAckRetries == 0 {
		d.timers.SynAckRetries = 5
	}
	if d.timers.DataRetries == 0 {
		d.timers.DataRetries = 15
	}
	return d, nil
}

// link carries the endpoint's segments: what it sends goes straight to the
// tester's queue, and what the tester injects is handed to the endpoint in
// the injecting goroutine, one segment at a time. (impl.MemNet would do,
// but its timer-driven delivery adds a scheduling step per segment that a
// loaded machine can stretch; this link has none.)
type link struct {
	local netip.AddrPort
	d     *DUT

	mu     sync.Mutex // held while recv runs
	recv   func(from netip.AddrPort, seg []byte)
	closed bool
}

func (l *link) LocalAddr() netip.AddrPort { return l.local }

func (l *link) Peer(addr netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(addr.Addr(), 0)
}

func (l *link) Send(to netip.AddrPort, seg []byte) error {
	l.d.arrive(l.local, seg)
	return nil
}

func (l *link) Start(recv func(from netip.AddrPort, seg []byte)) {
	l.mu.Lock()
	l.recv = recv
	l.mu.Unlock()
}

// deliver hands an injected segment to the endpoint.
func (l *link) deliver(from netip.AddrPort, seg []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.closed && l.recv != nil {
		l.recv(from, seg)
	}
}

func (l *link) Close() error {
	l.mu.Lock()
	l.closed, l.recv = true, nil
	l.mu.Unlock()
	return nil
}

// arrive wraps a segment the endpoint sent to the tester in an IPv4 header.
func (d *DUT) arrive(from netip.AddrPort, seg []byte) {
	ip := wire.IPv4Header{TTL: 64, Protocol: wire.ProtoTCP, Src: from.Addr(), Dst: d.tester}
	pkt, err := ip.EncodeIPv4(nil, len(seg))
	if err != nil {
		return
	}
	pkt = append(pkt, seg...)
	select {
	case d.out <- pkt:
	default:
		d.mu.Lock()
		d.dropped++
		d.mu.Unlock()
	}
}

// Inject implements dut.DUT.
func (d *DUT) Inject(pkt []byte) error {
	h, seg, err := wire.DecodeIPv4(pkt)
	if err != nil {
		return fmt.Errorf("impldut: inject: %w", err)
	}
	if h.Protocol != wire.ProtoTCP || h.Dst != d.addr {
		return fmt.Errorf("impldut: inject: protocol %d to %v, want TCP to %v", h.Protocol, h.Dst, d.addr)
	}
	d.link.deliver(netip.AddrPortFrom(h.Src, 0), bytes.Clone(seg))
	return nil
}

// Receive implements dut.DUT.
func (d *DUT) Receive(ctx context.Context) ([]byte, error) {
	select {
	case p := <-d.out:
		return p, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Listen implements dut.DUT.
func (d *DUT) Listen(port uint16) (dut.Listener, error) {
	l, err := d.st.Listen(netip.AddrPortFrom(d.addr, port).String())
	if err != nil {
		return nil, fmt.Errorf("impldut: %w", err)
	}
	return &listener{l: l}, nil
}

// Connect implements dut.DUT: Dial runs in a goroutine of its own.
func (d *DUT) Connect(remote netip.AddrPort) (dut.Conn, error) {
	ctx, cancel := context.WithCancel(context.Background())
	c := &conn{d: d, remote: remote, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		c.c, c.err = d.st.Dial(ctx, remote.String())
	}()
	return c, nil
}

// State implements dut.DUT from the stack's connection list.
func (d *DUT) State(localPort uint16, remote netip.AddrPort) (spec.State, bool) {
	listening := false
	for _, ci := range d.st.Connections() {
		if ci.Local.Port() != localPort {
			continue
		}
		if ci.Remote == remote {
			return ci.State, true
		}
		if !ci.Remote.IsValid() && ci.State == spec.Listen {
			listening = true
		}
	}
	if listening {
		return spec.Listen, true
	}
	return spec.Closed, true
}

// Timers implements dut.DUT.
func (d *DUT) Timers() dut.Timers { return d.timers }

// Close implements dut.DUT.
func (d *DUT) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return errors.New("impldut: stack already closed")
	}
	d.closed = true
	d.mu.Unlock()
	err := d.st.Close()
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("impldut: %w", err)
	}
	return nil
}

type listener struct{ l *impl.Listener }

func (l *listener) Accept(ctx context.Context) (dut.Conn, error) {
	type res struct {
		c   *impl.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() {
		c, err := l.l.AcceptConn()
		ch <- res{c, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			return nil, fmt.Errorf("impldut: accept: %w", r.err)
		}
		return &conn{c: r.c, done: closedChan}, nil
	case <-ctx.Done():
		// The goroutine ends when the listener is closed with the stack.
		return nil, ctx.Err()
	}
}

func (l *listener) Close() error { return l.l.Close() }

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// conn is an impl connection, or a Dial still under way.
type conn struct {
	d      *DUT
	remote netip.AddrPort
	cancel context.CancelFunc
	done   chan struct{} // closed when c and err are set
	c      *impl.Conn
	err    error
}

var errPending = fmt.Errorf("%w: impl's Dial hands out the connection only once it is established", dut.ErrNotDrivable)

// handle returns the connection, waiting a little for a Dial that is
// completing (the handshake's last segment was processed but Dial has not
// returned yet).
func (c *conn) handle() (*impl.Conn, error) {
	select {
	case <-c.done:
	case <-time.After(time.Second):
		return nil, errPending
	}
	if c.err != nil {
		return nil, fmt.Errorf("impldut: %w", c.err)
	}
	return c.c, nil
}

// pending reports whether a Dial is still in SYN-SENT or SYN-RECEIVED.
func (c *conn) pending() bool {
	select {
	case <-c.done:
		return false
	default:
	}
	for _, ci := range c.d.st.Connections() {
		if ci.Remote == c.remote && (ci.State == spec.SynSent || ci.State == spec.SynReceived) {
			return true
		}
	}
	return false
}

func (c *conn) Write(p []byte) (int, error) {
	if c.pending() {
		return 0, errPending
	}
	ic, err := c.handle()
	if err != nil {
		return 0, err
	}
	return ic.Write(p)
}

func (c *conn) Read(ctx context.Context, p []byte) (int, error) {
	ic, err := c.handle()
	if err != nil {
		return 0, err
	}
	dl, ok := ctx.Deadline()
	if !ok {
		dl = time.Now().Add(time.Minute)
	}
	ic.SetReadDeadline(dl)
	n, err := ic.Read(p)
	if errors.Is(err, os.ErrDeadlineExceeded) && ctx.Err() != nil {
		return n, ctx.Err()
	}
	return n, err
}

func (c *conn) CloseWrite() error {
	if c.pending() {
		return errPending
	}
	ic, err := c.handle()
	if err != nil {
		return err
	}
	return ic.CloseWrite()
}

func (c *conn) Close() error {
	if c.pending() {
		return errPending
	}
	ic, err := c.handle()
	if err != nil {
		return err
	}
	return ic.Close()
}

// Abort aborts the connection; a Dial under way is cancelled, which makes
// impl carry out ABORT on it.
func (c *conn) Abort() error {
	if c.pending() {
		c.cancel()
		<-c.done
		return nil
	}
	ic, err := c.handle()
	if err != nil {
		return err
	}
	return ic.Abort()
}

// Signal implements dut.Conn: the error a Dial ended with, else the error
// a read of nothing returns (impl's Read reports the connection's error
// before end of stream and consumes no text when given no room), polled
// until there is one or ctx is done.
func (c *conn) Signal(ctx context.Context) (dut.Signal, error) {
	select {
	case <-c.done:
	case <-ctx.Done():
		return dut.SignalNone, nil
	}
	if c.err != nil {
		return signalOf(c.err), c.err
	}
	for {
		c.c.SetReadDeadline(time.Now())
		_, err := c.c.Read(nil)
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) && !errors.Is(err, io.EOF) {
			return signalOf(err), err
		}
		select {
		case <-ctx.Done():
			return dut.SignalNone, nil
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// signalOf maps impl's errors to the table's signals.
func signalOf(err error) dut.Signal {
	switch {
	case errors.Is(err, impl.ErrConnReset):
		return dut.SignalReset
	case errors.Is(err, impl.ErrConnRefused):
		return dut.SignalRefused
	case errors.Is(err, impl.ErrTimeout):
		return dut.SignalTimeout
	}
	return dut.SignalOther
}
