package gvisordut

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"sync"
	"time"

	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/link/channel"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/waiter"

	"github.com/tcpcheck/tcpcheck/check/live/dut"
	"github.com/tcpcheck/tcpcheck/spec"
)

const nic = 1

// DUT is a gVisor netstack with one NIC and one IPv4 address.
type DUT struct {
	s      *stack.Stack
	ep     *channel.Endpoint
	addr   netip.Addr
	tester netip.Addr
	timers dut.Timers
	ka     dut.KeepAlive

	mu     sync.Mutex
	closed bool
}

var _ dut.DUT = (*DUT)(nil)

// New builds a fresh netstack at cfg.Addr that routes everything to the
// tester. It is a [dut.New].
func New(cfg dut.Config) (dut.DUT, error) {
	if !cfg.Addr.Is4() || !cfg.Tester.Is4() {
		return nil, fmt.Errorf("gvisordut: addresses %v and %v must be IPv4", cfg.Addr, cfg.Tester)
	}
	s := stack.New(stack.Options{
		NetworkProtocols:   []stack.NetworkProtocolFactory{ipv4.NewProtocol},
		TransportProtocols: []stack.TransportProtocolFactory{tcp.NewProtocol},
	})
	d := &DUT{s: s, ep: channel.New(1024, 1500, ""), addr: cfg.Addr, tester: cfg.Tester, ka: cfg.KeepAlive}
	fail := func(what string, err tcpip.Error) (dut.DUT, error) {
		s.Close()
		s.Wait()
		return nil, fmt.Errorf("gvisordut: %s: %s", what, err)
	}
	if err := s.CreateNIC(nic, d.ep); err != nil {
		return fail("create NIC", err)
	}
	if err := s.AddProtocolAddress(nic, tcpip.ProtocolAddress{Protocol: ipv4.ProtocolNumber,
		AddressWithPrefix: tcpip.AddrFrom4(cfg.Addr.As4()).WithPrefix()}, stack.AddressProperties{}); err != nil {
		return fail("add address", err)
	}
	s.SetRouteTable([]tcpip.Route{{Destination: header.IPv4EmptySubnet, NIC: nic}})

	set := func(name string, opt tcpip.SettableTransportProtocolOption) error {
		if err := s.SetTransportProtocolOption(tcp.ProtocolNumber, opt); err != nil {
			return fmt.Errorf("gvisordut: set %s: %s", name, err)
		}
		return nil
	}
	rec := tcpip.TCPRecovery(0)
	sack := tcpip.TCPSACKEnabled(false)
	opts := []struct {
		name string
		opt  tcpip.SettableTransportProtocolOption
	}{{"TCP recovery", &rec}, {"SACK", &sack}}
	t := cfg.Timers
	if t.TimeWait > 0 {
		o := tcpip.TCPTimeWaitTimeoutOption(t.TimeWait)
		opts = append(opts, struct {
			name string
			opt  tcpip.SettableTransportProtocolOption
		}{"TIME-WAIT timeout", &o})
	}
	if t.RTOMax > 0 {
		o := tcpip.TCPMaxRTOOption(t.RTOMax)
		opts = append(opts, struct {
			name string
			opt  tcpip.SettableTransportProtocolOption
		}{"maximum RTO", &o})
	}
	if t.RTOMin > 0 {
		o := tcpip.TCPMinRTOOption(t.RTOMin)
		opts = append(opts, struct {
			name string
			opt  tcpip.SettableTransportProtocolOption
		}{"minimum RTO", &o})
	}
	if t.SynRetries > 0 {
		o := tcpip.TCPSynRetriesOption(t.SynRetries)
		opts = append(opts, struct {
			name string
			opt  tcpip.SettableTransportProtocolOption
		}{"SYN retries", &o})
	}
	if t.DataRetries > 0 {
		o := tcpip.TCPMaxRetriesOption(t.DataRetries)
		opts = append(opts, struct {
			name string
			opt  tcpip.SettableTransportProtocolOption
		}{"maximum retries", &o})
	}
	for _, o := range opts {
		if err := set(o.name, o.opt); err != nil {
			s.Close()
			s.Wait()
			return nil, err
		}
	}
	d.timers = d.readTimers()
	return d, nil
}

// readTimers returns the timers the stack runs with.
func (d *DUT) readTimers() dut.Timers {
	var tw tcpip.TCPTimeWaitTimeoutOption
	var lo tcpip.TCPMinRTOOption
	var hi tcpip.TCPMaxRTOOption
	var syn tcpip.TCPSynRetriesOption
	var retries tcpip.TCPMaxRetriesOption
	d.s.TransportProtocolOption(tcp.ProtocolNumber, &retries)
	d.s.TransportProtocolOption(tcp.ProtocolNumber, &tw)
	d.s.TransportProtocolOption(tcp.ProtocolNumber, &lo)
	d.s.TransportProtocolOption(tcp.ProtocolNumber, &hi)
	d.s.TransportProtocolOption(tcp.ProtocolNumber, &syn)
	// SYN and SYN,ACK retries are reported as unknown (0): this netstack
	// stores TCPSynRetriesOption but its handshake gives up only when the
	// backoff passes a fixed MaxRTO of 120 s.
	_ = syn
	return dut.Timers{TimeWait: time.Duration(tw), RTOMin: time.Duration(lo), RTOMax: time.Duration(hi), DataRetries: int(retries)}
}

// Stack returns the netstack, for tests that want to look further.
func (d *DUT) Stack() *stack.Stack { return d.s }

// Inject implements dut.DUT.
func (d *DUT) Inject(pkt []byte) error {
	d.mu.Lock()
	closed := d.closed
	d.mu.Unlock()
	if closed {
		return errors.New("gvisordut: inject into a closed stack")
	}
	if len(pkt) < header.IPv4MinimumSize || pkt[0]>>4 != 4 {
		return fmt.Errorf("gvisordut: inject: not an IPv4 packet (%d octets)", len(pkt))
	}
	b := buffer.MakeWithData(bytes.Clone(pkt))
	p := stack.NewPacketBuffer(stack.PacketBufferOptions{Payload: b})
	d.ep.InjectInbound(ipv4.ProtocolNumber, p)
	p.DecRef()
	return nil
}

// Receive implements dut.DUT.
func (d *DUT) Receive(ctx context.Context) ([]byte, error) {
	p := d.ep.ReadContext(ctx)
	if p == nil {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		return nil, errors.New("gvisordut: the link was closed")
	}
	v := p.ToView()
	out := bytes.Clone(v.AsSlice())
	v.Release()
	p.DecRef()
	return out, nil
}

// newEndpoint makes a TCP socket.
func (d *DUT) newEndpoint() (tcpip.Endpoint, *waiter.Queue, error) {
	var wq waiter.Queue
	ep, err := d.s.NewEndpoint(tcp.ProtocolNumber, ipv4.ProtocolNumber, &wq)
	if err != nil {
		return nil, nil, fmt.Errorf("gvisordut: new endpoint: %s", err)
	}
	if err := d.keepAlive(ep); err != nil {
		ep.Close()
		return nil, nil, err
	}
	return ep, &wq, nil
}

// keepAlive turns on the keep-alive probes of dut.Config.KeepAlive on ep
// (SO_KEEPALIVE, KeepaliveIdleOption, KeepaliveIntervalOption,
// KeepaliveCountOption). netstack does not pass them on from a listening
// endpoint to the endpoints it accepts, so Accept sets them too.
func (d *DUT) keepAlive(ep tcpip.Endpoint) error {
	if d.ka.Idle <= 0 {
		return nil
	}
	idle, intvl := tcpip.KeepaliveIdleOption(d.ka.Idle), tcpip.KeepaliveIntervalOption(d.ka.Interval)
	if err := ep.SetSockOpt(&idle); err != nil {
		return fmt.Errorf("gvisordut: keepalive idle %v: %s", d.ka.Idle, err)
	}
	if err := ep.SetSockOpt(&intvl); err != nil {
		return fmt.Errorf("gvisordut: keepalive interval %v: %s", d.ka.Interval, err)
	}
	if err := ep.SetSockOptInt(tcpip.KeepaliveCountOption, d.ka.Probes); err != nil {
		return fmt.Errorf("gvisordut: keepalive count %d: %s", d.ka.Probes, err)
	}
	ep.SocketOptions().SetKeepAlive(true)
	return nil
}

// Listen implements dut.DUT.
func (d *DUT) Listen(port uint16) (dut.Listener, error) {
	ep, wq, err := d.newEndpoint()
	if err != nil {
		return nil, err
	}
	if err := ep.Bind(tcpip.FullAddress{NIC: nic, Port: port}); err != nil {
		ep.Close()
		return nil, fmt.Errorf("gvisordut: bind port %d: %s", port, err)
	}
	if err := ep.Listen(16); err != nil {
		ep.Close()
		return nil, fmt.Errorf("gvisordut: listen on port %d: %s", port, err)
	}
	return &listener{d: d, ep: ep, wq: wq}, nil
}

// Connect implements dut.DUT.
func (d *DUT) Connect(remote netip.AddrPort) (dut.Conn, error) {
	ep, wq, err := d.newEndpoint()
	if err != nil {
		return nil, err
	}
	terr := ep.Connect(tcpip.FullAddress{NIC: nic, Addr: tcpip.AddrFrom4(remote.Addr().As4()), Port: remote.Port()})
	if _, started := terr.(*tcpip.ErrConnectStarted); terr != nil && !started {
		ep.Close()
		return nil, fmt.Errorf("gvisordut: connect to %v: %s", remote, terr)
	}
	return &conn{ep: ep, wq: wq}, nil
}

// endpointInfo is what a tcp endpoint says of itself.
type endpointInfo interface {
	State() uint32
	Info() tcpip.EndpointInfo
}

// State implements dut.DUT: it looks the connection up among the stack's
// registered endpoints (connections in TIME-WAIT included).
func (d *DUT) State(localPort uint16, remote netip.AddrPort) (spec.State, bool) {
	rem := tcpip.AddrFrom4(remote.Addr().As4())
	listening := false
	for _, e := range d.s.RegisteredEndpoints() {
		ei, ok := e.(endpointInfo)
		if !ok {
			continue
		}
		info, ok := ei.Info().(*stack.TransportEndpointInfo)
		if !ok || info.ID.LocalPort != localPort {
			continue
		}
		st := tcp.EndpointState(ei.State())
		if info.ID.RemotePort == remote.Port() && info.ID.RemoteAddress == rem {
			if s, ok := specState(st); ok {
				return s, true
			}
		}
		if info.ID.RemotePort == 0 && st == tcp.StateListen {
			listening = true
		}
	}
	if listening {
		return spec.Listen, true
	}
	return spec.Closed, true
}

// specState maps a netstack state to the RFC's; netstack's internal states
// (initial, bound, error) are CLOSED.
func specState(s tcp.EndpointState) (spec.State, bool) {
	switch s {
	case tcp.StateEstablished:
		return spec.Established, true
	case tcp.StateSynSent, tcp.StateConnecting:
		return spec.SynSent, true
	case tcp.StateSynRecv:
		return spec.SynReceived, true
	case tcp.StateFinWait1:
		return spec.FinWait1, true
	case tcp.StateFinWait2:
		return spec.FinWait2, true
	case tcp.StateTimeWait:
		return spec.TimeWait, true
	case tcp.StateCloseWait:
		return spec.CloseWait, true
	case tcp.StateLastAck:
		return spec.LastAck, true
	case tcp.StateClosing:
		return spec.Closing, true
	case tcp.StateListen:
		return spec.Listen, true
	}
	return spec.Closed, false
}

// Timers implements dut.DUT.
func (d *DUT) Timers() dut.Timers { return d.timers }

// Close implements dut.DUT: it closes the stack and waits for its
// goroutines.
func (d *DUT) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return errors.New("gvisordut: stack already closed")
	}
	d.closed = true
	d.mu.Unlock()
	d.s.Close()
	d.ep.Close()
	d.s.Wait()
	return nil
}

type listener struct {
	d  *DUT
	ep tcpip.Endpoint
	wq *waiter.Queue
}

func (l *listener) Accept(ctx context.Context) (dut.Conn, error) {
	entry, ch := waiter.NewChannelEntry(waiter.ReadableEvents)
	l.wq.EventRegister(&entry)
	defer l.wq.EventUnregister(&entry)
	for {
		n, wq, err := l.ep.Accept(nil)
		if err == nil {
			if err := l.d.keepAlive(n); err != nil {
				n.Close()
				return nil, err
			}
			return &conn{ep: n, wq: wq}, nil
		}
		if _, block := err.(*tcpip.ErrWouldBlock); !block {
			return nil, fmt.Errorf("gvisordut: accept: %s", err)
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func (l *listener) Close() error { l.ep.Close(); return nil }

type conn struct {
	ep tcpip.Endpoint
	wq *waiter.Queue
}

func (c *conn) Write(p []byte) (int, error) {
	n, err := c.ep.Write(bytes.NewReader(p), tcpip.WriteOptions{})
	switch err.(type) {
	case nil:
		return int(n), nil
	case *tcpip.ErrWouldBlock:
		return int(n), fmt.Errorf("%w: netstack's Write refuses text before the connection is established (would block)", dut.ErrNotDrivable)
	}
	return int(n), fmt.Errorf("gvisordut: write: %s", err)
}

func (c *conn) Read(ctx context.Context, p []byte) (int, error) {
	entry, ch := waiter.NewChannelEntry(waiter.ReadableEvents)
	c.wq.EventRegister(&entry)
	defer c.wq.EventUnregister(&entry)
	for {
		var w bytes.Buffer
		res, err := c.ep.Read(&w, tcpip.ReadOptions{})
		switch err.(type) {
		case nil:
			return copy(p, w.Bytes()[:res.Count]), nil
		case *tcpip.ErrClosedForReceive:
			return 0, io.EOF
		case *tcpip.ErrWouldBlock:
		default:
			return 0, fmt.Errorf("gvisordut: read: %s", err)
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

func (c *conn) CloseWrite() error {
	if err := c.ep.Shutdown(tcpip.ShutdownWrite); err != nil {
		return fmt.Errorf("gvisordut: shutdown write: %s", err)
	}
	return nil
}

func (c *conn) Close() error { c.ep.Close(); return nil }

func (c *conn) Abort() error {
	c.ep.SocketOptions().SetLinger(tcpip.LingerOption{Enabled: true, Timeout: 0})
	c.ep.Close()
	return nil
}

// Signal implements dut.Conn: the endpoint's LastError (netstack's
// SO_ERROR: the hard error a reset, a refused connect or a timeout left,
// which Read returns too), polled until there is one or ctx is done.
func (c *conn) Signal(ctx context.Context) (dut.Signal, error) {
	for {
		if err := c.ep.LastError(); err != nil {
			switch err.(type) {
			case *tcpip.ErrConnectionReset:
				return dut.SignalReset, errors.New(err.String())
			case *tcpip.ErrConnectionRefused:
				return dut.SignalRefused, errors.New(err.String())
			case *tcpip.ErrTimeout:
				return dut.SignalTimeout, errors.New(err.String())
			}
			return dut.SignalOther, errors.New(err.String())
		}
		select {
		case <-ctx.Done():
			return dut.SignalNone, nil
		case <-time.After(5 * time.Millisecond):
		}
	}
}
