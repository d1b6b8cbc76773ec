//go:build linux

package linuxdut

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tcpcheck/tcpcheck/check/live/dut"
	"github.com/tcpcheck/tcpcheck/impl"
	"github.com/tcpcheck/tcpcheck/spec"
)

// Linux's fixed timers.
const (
	// TimeWait is TCP_TIMEWAIT_LEN: TIME-WAIT lasts 60 s, whatever the
	// MSL; no sysctl changes it.
	TimeWait = 60 * time.Second
	// defaultRTOMin and defaultRTOMax are TCP_RTO_MIN and TCP_RTO_MAX.
	defaultRTOMin = 200 * time.Millisecond
	defaultRTOMax = 120 * time.Second
)

// countableRTOMin is the least RTO the DUT runs with. Linux gives up after
// tcp_retries2 (or tcp_orphan_retries) not by counting retransmissions but
// when the time since the first one passes what that many would take at
// TCP_RTO_MIN (200 ms) with doubling: 1.4 s for 2, counted from the first
// retransmission. With an RTO of R the next two come 2R and 6R after it, so
// exactly two fit when 233 ms < R =< 700 ms: at an RTO of 200 ms plus the
// round trip a third one fits or not depending on the round trip. From
// 250 ms up, the count the tester expects is the count Linux makes while
// the round trip (plus its variance) stays under about 450 ms.
const countableRTOMin = 250 * time.Millisecond

// Available returns nil when this process can build a Linux DUT: it is
// root and /dev/net/tun exists. Otherwise the error says what is missing.
func Available() error {
	if err := impl.TUNAvailable(); err != nil {
		return fmt.Errorf("linuxdut: %v", err)
	}
	return nil
}

// DUT is the kernel's TCP stack in a network namespace of its own.
type DUT struct {
	ns     *impl.ThreadNetns
	tun    *os.File
	tunFD  int // tun's descriptor
	diag   int // a NETLINK_SOCK_DIAG socket of the namespace
	addr   netip.Addr
	tester netip.Addr
	timers dut.Timers
	ka     dut.KeepAlive
	in     chan []byte
	readMu sync.Mutex // serializes reading the device, so d.in keeps the order sent
	stop   chan struct{}
	wg     sync.WaitGroup

	mu     sync.Mutex
	socks  []*sock // every socket handed out, for TCP_INFO
	closed bool
}

var _ dut.DUT = (*DUT)(nil)

// New builds a fresh namespace with a TUN device at cfg.Addr, the tester
// behind it, and the namespace's TCP sysctls set to cfg.Timers where Linux
// has them. It is a [dut.New].
func New(cfg dut.Config) (dut.DUT, error) {
	if !cfg.Addr.Is4() || !cfg.Tester.Is4() {
		return nil, fmt.Errorf("linuxdut: addresses %v and %v must be IPv4", cfg.Addr, cfg.Tester)
	}
	pfx := netip.PrefixFrom(cfg.Addr, 24)
	if !pfx.Contains(cfg.Tester) {
		return nil, fmt.Errorf("linuxdut: the tester's address %v must lie in %v, beside the DUT's", cfg.Tester, pfx.Masked())
	}
	if err := Available(); err != nil {
		return nil, err
	}
	ns, err := impl.NewThreadNetns()
	if err != nil {
		return nil, fmt.Errorf("linuxdut: %v", err)
	}
	d := &DUT{ns: ns, diag: -1, addr: cfg.Addr, tester: cfg.Tester, ka: cfg.KeepAlive, in: make(chan []byte, 1024), stop: make(chan struct{})}
	err = ns.Do(func() error {
		var err error
		if d.tun, err = impl.CreateTUNDevice(impl.TUNConfig{Name: "dut0", Kernel: pfx, Local: cfg.Tester}); err != nil {
			return err
		}
		// Not d.tun.Fd(), which would make the device blocking.
		rc, err := d.tun.SyscallConn()
		if err != nil {
			return err
		}
		if err := rc.Control(func(fd uintptr) { d.tunFD = int(fd) }); err != nil {
			return err
		}
		if d.diag, err = unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.NETLINK_SOCK_DIAG); err != nil {
			return fmt.Errorf("sock_diag socket: %v", err)
		}
		d.timers, err = setTimers(cfg.Timers)
		return err
	})
	if err != nil {
		d.release()
		return nil, fmt.Errorf("linuxdut: %v", err)
	}
	d.wg.Add(1)
	go d.reader()
	return d, nil
}

// setTimers writes the namespace's TCP sysctls and returns the timers the
// stack then runs with. It runs on the namespace's thread.
func setTimers(t dut.Timers) (dut.Timers, error) {
	set := func(name string, v int) error {
		if err := os.WriteFile("/proc/sys/net/ipv4/"+name, []byte(strconv.Itoa(v)), 0); err != nil {
			return fmt.Errorf("setting net.ipv4.%s: %v", name, err)
		}
		return nil
	}
	rtoMin := t.RTOMin
	if rtoMin > 0 && rtoMin < countableRTOMin {
		rtoMin = countableRTOMin
	}
	got := dut.Timers{TimeWait: TimeWait, RTOMin: defaultRTOMin, RTOMax: defaultRTOMax, SynRetries: 6, SynAckRetries: 5, DataRetries: 15}
	steps := []struct {
		name string
		v    int
		use  bool
		into func()
	}{
		{"tcp_early_retrans", 0, true, nil},
		{"tcp_recovery", 0, true, nil},
		{"tcp_no_metrics_save", 1, true, nil},
		// No rate limit on the ACKs that answer out-of-window segments
		// (RFC 5961 §7 allows one): a case may send several in a row.
		{"tcp_invalid_ratelimit", 0, true, nil},
		{"tcp_syn_retries", t.SynRetries, t.SynRetries > 0, func() { got.SynRetries = t.SynRetries }},
		{"tcp_synack_retries", t.SynAckRetries, t.SynAckRetries > 0, func() { got.SynAckRetries = t.SynAckRetries }},
		{"tcp_retries2", t.DataRetries, t.DataRetries > 0, func() { got.DataRetries = t.DataRetries }},
		// A connection closed by its user is an orphan: its retries are
		// tcp_orphan_retries, not tcp_retries2 (0 would mean 8).
		{"tcp_orphan_retries", t.DataRetries, t.DataRetries > 0, nil},
		{"tcp_rto_min_us", int(rtoMin / time.Microsecond), rtoMin >= time.Millisecond && rtoMin <= defaultRTOMax, func() { got.RTOMin = rtoMin }},
		{"tcp_rto_max_ms", int(t.RTOMax / time.Millisecond), t.RTOMax >= time.Second && t.RTOMax <= defaultRTOMax, func() { got.RTOMax = t.RTOMax }},
	}
	for _, s := range steps {
		if !s.use {
			continue
		}
		if err := set(s.name, s.v); err != nil {
			if s.into != nil && errors.Is(err, os.ErrNotExist) {
				continue // an older kernel: keep its own value
			}
			return got, err
		}
		if s.into != nil {
			s.into()
		}
	}
	return got, nil
}

// release closes what New made.
func (d *DUT) release() {
	if d.tun != nil {
		d.tun.Close()
	}
	if d.diag >= 0 {
		unix.Close(d.diag)
	}
	d.ns.Close()
}

// reader queues every IPv4 TCP packet the kernel routes to the tester, as
// soon as the device is readable.
func (d *DUT) reader() {
	defer d.wg.Done()
	rc, err := d.tun.SyscallConn()
	if err != nil {
		return
	}
	buf := make([]byte, 65536)
	rc.Read(func(fd uintptr) bool {
		return d.drain(int(fd), buf) // false: wait until readable again
	})
}

// drain reads every packet the device holds now into d.in, in order, and
// reports whether the device is gone. Inject drains too, right after its
// write: the kernel processes a packet written to a TUN device, and queues
// its immediate answers, before the write returns, so those answers are
// queued for Receive when Inject returns, however late the reader
// goroutine runs on a busy machine.
func (d *DUT) drain(fd int, buf []byte) (gone bool) {
	d.readMu.Lock()
	defer d.readMu.Unlock()
	for {
		n, err := unix.Read(fd, buf)
		switch {
		case errors.Is(err, unix.EAGAIN):
			return false
		case errors.Is(err, unix.EINTR):
			continue
		case err != nil || n == 0:
			return true
		}
		p := buf[:n]
		if n < 20 || p[0]>>4 != 4 || p[9] != syscall.IPPROTO_TCP {
			continue // IPv6 and other protocols are not the tester's
		}
		select {
		case d.in <- append([]byte(nil), p...):
		case <-d.stop:
			return true
		}
	}
}

// Inject implements dut.DUT: the packet is written to the TUN device, and
// the kernel has processed it, and queued its immediate answers for
// Receive, when Inject returns.
func (d *DUT) Inject(pkt []byte) error {
	if len(pkt) < 20 || pkt[0]>>4 != 4 {
		return fmt.Errorf("linuxdut: inject: not an IPv4 packet (%d octets)", len(pkt))
	}
	if tot := int(binary.BigEndian.Uint16(pkt[2:])); tot != len(pkt) {
		return fmt.Errorf("linuxdut: inject: the IPv4 header says %d octets, the packet has %d", tot, len(pkt))
	}
	d.mu.Lock()
	closed := d.closed
	d.mu.Unlock()
	if closed {
		return errors.New("linuxdut: inject into a closed stack")
	}
	if _, err := d.tun.Write(pkt); err != nil {
		return fmt.Errorf("linuxdut: inject: %v", err)
	}
	// The device is non-blocking: read it directly, not through the
	// runtime's poller, whose read lock the reader goroutine holds while
	// it waits.
	d.drain(d.tunFD, make([]byte, 65536))
	return nil
}

// Receive implements dut.DUT. A packet already queued is returned even
// when ctx is done.
func (d *DUT) Receive(ctx context.Context) ([]byte, error) {
	select {
	case p := <-d.in:
		return p, nil
	default:
	}
	select {
	case p := <-d.in:
		return p, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-d.stop:
		return nil, errors.New("linuxdut: the stack was closed")
	}
}

// socket makes a non-blocking TCP socket in the namespace.
func (d *DUT) socket() (int, error) {
	fd := -1
	err := d.ns.Do(func() error {
		var err error
		fd, err = unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
		return err
	})
	if err != nil {
		return -1, fmt.Errorf("linuxdut: socket: %v", err)
	}
	if err := d.keepAlive(fd); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

// keepAlive turns on the keep-alive probes of dut.Config.KeepAlive on fd
// (SO_KEEPALIVE, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT; the times in
// whole seconds, at least 1). A listening socket passes them on to the
// connections it accepts.
func (d *DUT) keepAlive(fd int) error {
	if d.ka.Idle <= 0 {
		return nil
	}
	secs := func(t time.Duration) int { return max(1, int((t+time.Second/2)/time.Second)) }
	for _, o := range []struct {
		level, opt, v int
		name          string
	}{
		{unix.IPPROTO_TCP, unix.TCP_KEEPIDLE, secs(d.ka.Idle), "TCP_KEEPIDLE"},
		{unix.IPPROTO_TCP, unix.TCP_KEEPINTVL, secs(d.ka.Interval), "TCP_KEEPINTVL"},
		{unix.IPPROTO_TCP, unix.TCP_KEEPCNT, d.ka.Probes, "TCP_KEEPCNT"},
		{unix.SOL_SOCKET, unix.SO_KEEPALIVE, 1, "SO_KEEPALIVE"},
	} {
		if err := unix.SetsockoptInt(fd, o.level, o.opt, o.v); err != nil {
			return fmt.Errorf("linuxdut: %s %d: %v", o.name, o.v, err)
		}
	}
	return nil
}

// Listen implements dut.DUT.
func (d *DUT) Listen(port uint16) (dut.Listener, error) {
	fd, err := d.socket()
	if err != nil {
		return nil, err
	}
	if err := unix.Bind(fd, &unix.SockaddrInet4{Port: int(port), Addr: d.addr.As4()}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("linuxdut: bind port %d: %v", port, err)
	}
	if err := unix.Listen(fd, 16); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("linuxdut: listen on port %d: %v", port, err)
	}
	return &listener{d: d, s: d.track(fd)}, nil
}

// Connect implements dut.DUT: a non-blocking connect, whose SYN is on its
// way when it returns.
func (d *DUT) Connect(remote netip.AddrPort) (dut.Conn, error) {
	fd, err := d.socket()
	if err != nil {
		return nil, err
	}
	err = unix.Connect(fd, &unix.SockaddrInet4{Port: int(remote.Port()), Addr: remote.Addr().As4()})
	if err != nil && !errors.Is(err, unix.EINPROGRESS) {
		unix.Close(fd)
		return nil, fmt.Errorf("linuxdut: connect to %v: %v", remote, err)
	}
	return &conn{s: d.track(fd)}, nil
}

// track wraps fd as a pollable file and remembers it for State.
func (d *DUT) track(fd int) *sock {
	s := &sock{f: os.NewFile(uintptr(fd), "tcp"), fd: fd}
	d.mu.Lock()
	d.socks = append(d.socks, s)
	d.mu.Unlock()
	return s
}

// State implements dut.DUT: TCP_INFO of a socket the user holds on the
// connection, else sock_diag.
func (d *DUT) State(localPort uint16, remote netip.AddrPort) (spec.State, bool) {
	local := netip.AddrPortFrom(d.addr, localPort)
	d.mu.Lock()
	socks := append([]*sock(nil), d.socks...)
	d.mu.Unlock()
	for _, s := range socks {
		if st, ok := s.state(local, remote); ok {
			return st, true
		}
	}
	conns, err := diagDump(d.diag)
	if err != nil {
		return spec.Closed, false
	}
	listening := false
	for _, c := range conns {
		if c.local == local && c.remote == remote {
			if st, ok := kernelStates[c.state]; ok {
				return st, true
			}
			return spec.Closed, false
		}
		listening = listening || c.state == tcpListen && c.local.Port() == localPort
	}
	if listening {
		return spec.Listen, true
	}
	return spec.Closed, true
}

// Timers implements dut.DUT.
func (d *DUT) Timers() dut.Timers { return d.timers }

// Close implements dut.DUT: every socket is closed (an open connection
// resets: SO_LINGER 0, so that nothing outlives the case), then the device
// and the namespace go.
func (d *DUT) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return errors.New("linuxdut: stack already closed")
	}
	d.closed = true
	socks := d.socks
	d.mu.Unlock()
	for _, s := range socks {
		s.close(true)
	}
	close(d.stop)
	d.release()
	d.wg.Wait()
	return nil
}

// sock is one kernel socket the user holds.
type sock struct {
	f  *os.File
	fd int

	mu     sync.Mutex
	closed bool
}

// state reads the socket's state by TCP_INFO if it is the connection from
// local to remote.
func (s *sock) state(local, remote netip.AddrPort) (spec.State, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, false
	}
	la, err1 := unix.Getsockname(s.fd)
	ra, err2 := unix.Getpeername(s.fd)
	if err1 != nil || err2 != nil || addrPort(la) != local || addrPort(ra) != remote {
		return 0, false
	}
	info, err := unix.GetsockoptTCPInfo(s.fd, unix.IPPROTO_TCP, unix.TCP_INFO)
	if err != nil {
		return 0, false
	}
	st, ok := kernelStates[info.State]
	return st, ok
}

func addrPort(sa unix.Sockaddr) netip.AddrPort {
	if a, ok := sa.(*unix.SockaddrInet4); ok {
		return netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port))
	}
	return netip.AddrPort{}
}

// close closes the socket, with SO_LINGER 0 when abort is set.
func (s *sock) close(abort bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if abort {
		if err := unix.SetsockoptLinger(s.fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0}); err != nil {
			s.f.Close()
			return fmt.Errorf("linuxdut: SO_LINGER: %v", err)
		}
	}
	return s.f.Close()
}

// wait runs op (a non-blocking accept or read) on the socket until it
// stops saying EAGAIN or ctx is done, waiting for readability in between
// through the runtime's poller.
func (s *sock) wait(ctx context.Context, op func(fd int) error) error {
	rc, err := s.f.SyscallConn()
	if err != nil {
		return fmt.Errorf("linuxdut: %v", err)
	}
	stop := context.AfterFunc(ctx, func() { s.f.SetReadDeadline(time.Now()) })
	defer stop()
	var opErr error
	err = rc.Read(func(fd uintptr) bool {
		opErr = op(int(fd))
		return !errors.Is(opErr, unix.EAGAIN)
	})
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		return fmt.Errorf("linuxdut: %v", err)
	}
	return opErr
}

type listener struct {
	d *DUT
	s *sock
}

func (l *listener) Accept(ctx context.Context) (dut.Conn, error) {
	nfd := -1
	err := l.s.wait(ctx, func(fd int) error {
		var err error
		nfd, _, err = unix.Accept4(fd, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
		return err
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		return nil, fmt.Errorf("linuxdut: accept: %v", err)
	}
	return &conn{s: l.d.track(nfd)}, nil
}

func (l *listener) Close() error { return l.s.close(false) }

type conn struct{ s *sock }

func (c *conn) Write(p []byte) (int, error) {
	rc, err := c.s.f.SyscallConn()
	if err != nil {
		return 0, fmt.Errorf("linuxdut: write: %v", err)
	}
	var n int
	var werr error
	err = rc.Write(func(fd uintptr) bool {
		n, werr = unix.Write(int(fd), p)
		return true // never wait: a write that would block is reported
	})
	switch {
	case err != nil:
		return 0, fmt.Errorf("linuxdut: write: %v", err)
	case errors.Is(werr, unix.EAGAIN):
		return 0, fmt.Errorf("%w: Linux's write on a socket whose connection is not established yet would block (EAGAIN)", dut.ErrNotDrivable)
	case werr != nil:
		return max(n, 0), fmt.Errorf("linuxdut: write: %v", werr)
	}
	return n, nil
}

func (c *conn) Read(ctx context.Context, p []byte) (int, error) {
	var n int
	err := c.s.wait(ctx, func(fd int) error {
		var err error
		n, err = unix.Read(fd, p)
		return err
	})
	switch {
	case err != nil:
		if ctx.Err() != nil {
			return 0, err
		}
		return 0, fmt.Errorf("linuxdut: read: %v", err)
	case n == 0 && len(p) > 0:
		return 0, io.EOF
	}
	return n, nil
}

func (c *conn) CloseWrite() error {
	// ENOTCONN, on a socket without a connection, is the error the
	// table's CLOSE gives there ("connection does not exist", "connection
	// closing"): an answer of the call, not a limit of the API.
	if err := unix.Shutdown(c.s.fd, unix.SHUT_WR); err != nil {
		return fmt.Errorf("linuxdut: shutdown write: %v", err)
	}
	return nil
}

func (c *conn) Close() error { return c.s.close(false) }

func (c *conn) Abort() error { return c.s.close(true) }

// Signal implements dut.Conn: SO_ERROR, the error the kernel holds for the
// socket's next call (sk_err: ECONNRESET after a RST, ECONNREFUSED for a
// connect answered by one, ETIMEDOUT after the retransmissions or the
// keep-alive probes), polled until there is one or ctx is done. Reading
// it clears it, as the call it stands for would.
func (c *conn) Signal(ctx context.Context) (dut.Signal, error) {
	for {
		c.s.mu.Lock()
		errno, err := 0, error(nil)
		if c.s.closed {
			err = errors.New("linuxdut: the socket is closed")
		} else {
			errno, err = unix.GetsockoptInt(c.s.fd, unix.SOL_SOCKET, unix.SO_ERROR)
		}
		c.s.mu.Unlock()
		if err != nil {
			return dut.SignalOther, fmt.Errorf("linuxdut: SO_ERROR: %v", err)
		}
		if errno != 0 {
			e := unix.Errno(errno)
			switch e {
			case unix.ECONNRESET:
				return dut.SignalReset, e
			case unix.ECONNREFUSED:
				return dut.SignalRefused, e
			case unix.ETIMEDOUT:
				return dut.SignalTimeout, e
			}
			return dut.SignalOther, e
		}
		select {
		case <-ctx.Done():
			return dut.SignalNone, nil
		case <-time.After(5 * time.Millisecond):
		}
	}
}
