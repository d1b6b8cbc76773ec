package impl

import (
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tcpcheck/tcpcheck/impl/wire"
	"github.com/tcpcheck/tcpcheck/spec"
)

// Direction says which way a packet crosses a TUN link.
type Direction uint8

// The two directions.
const (
	Outbound Direction = iota // from our endpoint to the kernel
	Inbound                   // from the kernel to our endpoint
)

// String returns "out" or "in".
func (d Direction) String() string {
	if d == Outbound {
		return "out"
	}
	return "in"
}

// TUNPacket is a TCP/IPv4 packet crossing a TUN link, as filters and taps
// see it.
type TUNPacket struct {
	ID       uint64 // numbers the packets of a link in the order they reached it
	Dir      Direction
	Src, Dst netip.AddrPort // TCP endpoints
	Header   wire.Header
	Len      int  // text octets
	Injected bool // made by Inject, not by the stack
	// WScale is the shift count of a SYN's window scale option
	// (RFC 7323 §2.2), or -1 when the segment is no SYN or has none.
	WScale int8
}

// synWScale returns the shift count of the window scale option of a SYN
// (capped at 14, RFC 7323 §2.3), or -1 when h is no SYN or has none.
func synWScale(h wire.Header) int8 {
	if !h.Flags.Has(spec.SYN) || !h.HasWScale {
		return -1
	}
	return int8(min(h.WScale, 14))
}

// Verdict is what a filter decides for a packet.
type Verdict struct {
	Drop  bool          // the packet is discarded
	Hold  bool          // the packet waits until Release
	Delay time.Duration // the packet goes on after this long
}

// Pass is the verdict that lets a packet through.
var Pass = Verdict{}

// Fate is what happened to a packet on a TUN link.
type Fate uint8

// The fates a tap is told of.
const (
	FateSent      Fate = iota // reached the link from its source, before the filter
	FateDelivered             // handed to the kernel (outbound) or the stack (inbound)
	FateDropped               // discarded by the filter
	FateLost                  // discarded by the random loss fault
	FateHeld                  // held by the filter (or delayed); a later FateDelivered reports its release
)

var fateNames = [...]string{"sent", "delivered", "dropped", "lost", "held"}

// String returns the fate's name.
func (f Fate) String() string {
	if int(f) < len(fateNames) {
		return fateNames[f]
	}
	return "Fate(?)"
}

// TUNStats counts what a TUN link saw.
type TUNStats struct {
	Out, In          uint64 // TCP packets sent to the kernel and delivered to the stack
	Dropped, Lost    uint64 // by the filter and by random loss, both directions
	IPv6, NonTCP     uint64 // packets from the kernel ignored: IPv6, and IPv4 that is not TCP
	Malformed        uint64 // packets from the kernel that failed IPv4 decoding (checksum, length, fragment)
	NotOurs          uint64 // IPv4 TCP packets from the kernel to another address
	WriteErrs        uint64 // packets the device refused
	LastErr          string // the last decoding or write error
	MaxDeliveryQueue int    // the longest the inbound queue grew
}

// TUNConfig configures a TUN link. Addresses must lie in 192.0.2.0/24
// (TEST-NET-1, RFC 5737), so nothing can be routed anywhere real.
type TUNConfig struct {
	Name   string       // device name; default "tcpcheck0"
	Kernel netip.Prefix // the kernel's address on the device; default 192.0.2.1/24
	Local  netip.Addr   // our endpoint's address; default 192.0.2.2
	MTU    int          // default 1500
	// Netns is the name of a namespace made with `ip netns add` to create
	// the device in. Empty means the calling process's namespace, which
	// must not be the initial one (see ReexecInPrivateNetns).
	Netns  string
	Faults Faults // applied to packets in both directions
	Seed   uint64 // seeds the fault generator
}

var testNet1 = netip.MustParsePrefix("192.0.2.0/24")

func (c *TUNConfig) fill() error {
	def(&c.Name, "tcpcheck0")
	if !c.Kernel.IsValid() {
		c.Kernel = netip.MustParsePrefix("192.0.2.1/24")
	}
	def(&c.Local, netip.MustParseAddr("192.0.2.2"))
	def(&c.MTU, 1500)
	switch {
	case len(c.Name) >= unix.IFNAMSIZ:
		return errorf("TUN device name %q is longer than %d octets", c.Name, unix.IFNAMSIZ-1)
	case !testNet1.Contains(c.Kernel.Addr()) || c.Kernel.Bits() < 24:
		return errorf("kernel address %v: the TUN link uses only 192.0.2.0/24 (RFC 5737)", c.Kernel)
	case !testNet1.Contains(c.Local) || !c.Kernel.Contains(c.Local):
		return errorf("endpoint address %v: want an address of %v inside 192.0.2.0/24", c.Local, c.Kernel.Masked())
	case c.Local == c.Kernel.Addr():
		return errorf("endpoint and kernel share the address %v", c.Local)
	case c.MTU < 576 || c.MTU > 65535:
		return errorf("MTU %d is outside [576, 65535]", c.MTU)
	}
	return c.Faults.validate()
}

// TUNLink is a Link that exchanges real IPv4 packets with the Linux
// kernel's TCP stack through a TUN device (IFF_TUN|IFF_NO_PI) in a network
// namespace. The kernel owns the device's address; our endpoint owns
// another address of the subnet, which the kernel routes to the device.
// Link addresses are the endpoint IPs with port 0.
//
// What the kernel sends is checked: IPv6 and non-TCP packets are ignored
// and counted, IPv4 header checksums are verified, fragments rejected.
// TCP options the kernel adds (MSS, SACK-permitted, timestamps, window
// scale, NOP) are parsed or skipped by Decode; since our SYNs carry only
// MSS, the kernel then uses none of the others.
//
// A filter can drop, hold or delay chosen packets in either direction, so
// that a test can force an ordering; a tap sees every packet and its fate.
// Random faults apply in both directions.
type TUNLink struct {
	cfg   TUNConfig
	file  *os.File
	local netip.AddrPort

	mu       sync.Mutex // guards everything below and serializes writes to the device
	rng      *rand.Rand
	filter   func(TUNPacket) Verdict
	tap      func(TUNPacket, Fate)
	held     []heldPacket
	queue    []heldPacket // inbound packets waiting for delivery
	nextID   uint64
	ipID     uint16
	stats    TUNStats
	closed   bool
	timers   map[*time.Timer]struct{}
	wbuf     []byte
	recv     func(from netip.AddrPort, seg []byte)
	started  bool
	kick     chan struct{}
	stopping chan struct{}
	wg       sync.WaitGroup
}

type heldPacket struct {
	p    TUNPacket
	data []byte // the TCP segment (outbound or inbound)
}

// OpenTUN creates and configures a TUN device as cfg says (in cfg.Netns,
// or in the calling process's namespace) and returns a link over it. It
// needs root; see TUNAvailable.
func OpenTUN(cfg TUNConfig) (*TUNLink, error) {
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	if err := TUNAvailable(); err != nil {
		return nil, err
	}
	path := ""
	if cfg.Netns != "" {
		var err error
		if path, err = NetnsPath(cfg.Netns); err != nil {
			return nil, err
		}
	}
	var file *os.File
	err := inNetns(path, func() (err error) {
		file, err = CreateTUNDevice(cfg)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &TUNLink{cfg: cfg, file: file,
		local:    netip.AddrPortFrom(cfg.Local, 0),
		rng:      rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x243f6a8885a308d3)),
		timers:   map[*time.Timer]struct{}{},
		kick:     make(chan struct{}, 1),
		stopping: make(chan struct{})}, nil
}

// CreateTUNDevice creates and configures a TUN device as cfg says (cfg.Netns
// is ignored) in the calling thread's network namespace, which must be one
// of its own (run it through ThreadNetns.Do), and returns the device's file,
// non-blocking: whoever holds it exchanges raw IPv4 packets with the kernel.
// It opens /dev/net/tun, names the device, gives the kernel its address,
// sets the MTU and brings the device (and loopback) up.
func CreateTUNDevice(cfg TUNConfig) (*os.File, error) {
	cfg.Netns = ""
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	if err := TUNAvailable(); err != nil {
		return nil, err
	}
	if err := checkNotInitialNetns(); err != nil {
		return nil, err
	}
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, errorf("opening /dev/net/tun: %v", err)
	}
	fail := func(what string, err error) (*os.File, error) {
		unix.Close(fd)
		return nil, errorf("TUN device %s: %s: %v", cfg.Name, what, err)
	}
	ifr, err := unix.NewIfreq(cfg.Name)
	if err != nil {
		return fail("name", err)
	}
	ifr.SetUint16(unix.IFF_TUN | unix.IFF_NO_PI)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		return fail("TUNSETIFF (is a device of that name in use?)", err)
	}
	s, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fail("control socket", err)
	}
	defer unix.Close(s)
	mask := netip.AddrFrom4([4]byte(net.CIDRMask(cfg.Kernel.Bits(), 32)))
	for _, st := range []struct {
		req  uint
		what string
		f    func(*unix.Ifreq) error
	}{
		{unix.SIOCSIFADDR, "setting address " + cfg.Kernel.Addr().String(), func(r *unix.Ifreq) error { return r.SetInet4Addr(cfg.Kernel.Addr().AsSlice()) }},
		{unix.SIOCSIFNETMASK, "setting netmask " + mask.String(), func(r *unix.Ifreq) error { return r.SetInet4Addr(mask.AsSlice()) }},
		{unix.SIOCSIFMTU, "setting the MTU", func(r *unix.Ifreq) error { r.SetUint32(uint32(cfg.MTU)); return nil }},
	} {
		r, _ := unix.NewIfreq(cfg.Name)
		if err := st.f(r); err != nil {
			return fail("configuring", err)
		}
		if err := unix.IoctlIfreq(s, st.req, r); err != nil {
			return fail("configuring", errorf("%s: %v", st.what, err))
		}
	}
	for _, name := range []string{cfg.Name, "lo"} {
		r, _ := unix.NewIfreq(name)
		if err := unix.IoctlIfreq(s, unix.SIOCGIFFLAGS, r); err != nil {
			return fail("reading the flags of "+name, err)
		}
		r.SetUint16(r.Uint16() | unix.IFF_UP | unix.IFF_RUNNING)
		if err := unix.IoctlIfreq(s, unix.SIOCSIFFLAGS, r); err != nil {
			return fail("bringing "+name+" up", err)
		}
	}
	return os.NewFile(uintptr(fd), "/dev/net/tun"), nil
}

// Name returns the device's name.
func (l *TUNLink) Name() string { return l.cfg.Name }

// KernelAddr returns the kernel's address on the device.
func (l *TUNLink) KernelAddr() netip.Addr { return l.cfg.Kernel.Addr() }

// LocalAddr returns our endpoint's address with port 0.
func (l *TUNLink) LocalAddr() netip.AddrPort { return l.local }

// Peer returns addr's IP with port 0: every peer is behind the device.
func (l *TUNLink) Peer(addr netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(addr.Addr(), 0)
}

// SetFilter installs f (nil: pass everything). It sees every TCP packet
// before the random faults; it is called with the link's lock held and
// must not call into the link or a stack.
func (l *TUNLink) SetFilter(f func(TUNPacket) Verdict) {
	l.mu.Lock()
	l.filter = f
	l.mu.Unlock()
}

// SetTap installs f (nil: none), told of every TCP packet's fate: first
// sent (it reached the link), then held, dropped, lost, or delivered (when
// it reaches the kernel or the stack).
// It is called with the link's lock held, sometimes also the stack's, and
// must not call into either.
func (l *TUNLink) SetTap(f func(TUNPacket, Fate)) {
	l.mu.Lock()
	l.tap = f
	l.mu.Unlock()
}

// Stats returns the link's counters.
func (l *TUNLink) Stats() TUNStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stats
}

// Held returns the packets the filter holds, in the order they were held.
func (l *TUNLink) Held() []TUNPacket {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]TUNPacket, len(l.held))
	for i, h := range l.held {
		out[i] = h.p
	}
	return out
}

// Release lets the held packets that match (all of them when match is
// nil) go on, in the order they were held: the outbound ones are written
// to the device before the inbound ones are queued for the stack, so what
// the kernel answers comes after them. It returns how many it released.
func (l *TUNLink) Release(match func(TUNPacket) bool) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	var keep, out, in []heldPacket
	for _, h := range l.held {
		switch {
		case match != nil && !match(h.p):
			keep = append(keep, h)
		case h.p.Dir == Outbound:
			out = append(out, h)
		default:
			in = append(in, h)
		}
	}
	l.held = keep
	for _, h := range out {
		l.writeLocked(h)
	}
	for _, h := range in {
		l.enqueueLocked(h)
	}
	return len(out) + len(in)
}

// Inject sends a segment of our own making to the kernel, as if from our
// address (e.g. a RST the stack would never send). It passes the filter
// and the faults like any other packet and is marked Injected.
func (l *TUNLink) Inject(to netip.Addr, h wire.Header, payload []byte) error {
	seg, err := h.Encode(nil, l.local.Addr(), to, payload)
	if err != nil {
		return err
	}
	return l.send(to, seg, true)
}

// Send writes seg to the kernel as the payload of an IPv4 packet from our
// address to to's.
func (l *TUNLink) Send(to netip.AddrPort, seg []byte) error {
	return l.send(to.Addr(), seg, false)
}

func (l *TUNLink) send(to netip.Addr, seg []byte, injected bool) error {
	h, payload, err := wire.Decode(seg, l.local.Addr(), to)
	if err != nil {
		return errorf("tun link: sending a segment that does not decode: %v", err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return net.ErrClosed
	}
	l.nextID++
	p := TUNPacket{ID: l.nextID, Dir: Outbound, Src: netip.AddrPortFrom(l.local.Addr(), h.SrcPort),
		Dst: netip.AddrPortFrom(to, h.DstPort), Header: h, Len: len(payload), Injected: injected, WScale: synWScale(h)}
	hp := heldPacket{p: p, data: append([]byte(nil), seg...)}
	l.route(hp)
	return nil
}

// route applies the filter and the faults to a packet that just reached
// the link, then writes or queues it. Called with l.mu held.
func (l *TUNLink) route(h heldPacket) {
	if l.closed {
		return
	}
	l.tell(h.p, FateSent)
	v := Pass
	if l.filter != nil {
		v = l.filter(h.p)
	}
	switch {
	case v.Drop:
		l.stats.Dropped++
		l.tell(h.p, FateDropped)
		return
	case v.Hold:
		l.held = append(l.held, h)
		l.tell(h.p, FateHeld)
		return
	}
	f := l.cfg.Faults
	copies := f.copies(l.rng)
	if copies == 0 {
		l.stats.Lost++
		l.tell(h.p, FateLost)
		return
	}
	delay := v.Delay
	if f.Reorder > 0 && l.rng.Float64() < f.Reorder {
		delay += time.Millisecond + time.Duration(l.rng.Int64N(int64(4*time.Millisecond)))
	}
	for range copies {
		if delay > 0 {
			l.tell(h.p, FateHeld)
			var t *time.Timer
			t = time.AfterFunc(delay, func() {
				l.mu.Lock()
				defer l.mu.Unlock()
				if _, ok := l.timers[t]; !ok {
					return
				}
				delete(l.timers, t)
				l.pass(h)
			})
			l.timers[t] = struct{}{}
			continue
		}
		l.pass(h)
	}
}

func (l *TUNLink) pass(h heldPacket) {
	if h.p.Dir == Outbound {
		l.writeLocked(h)
	} else {
		l.enqueueLocked(h)
	}
}

func (l *TUNLink) tell(p TUNPacket, f Fate) {
	if l.tap != nil {
		l.tap(p, f)
	}
}

// writeLocked wraps an outbound segment in IPv4 and writes it to the
// device. The kernel processes a packet written to a TUN device before
// the write returns, so the tap, called after, sees the kernel's new state.
func (l *TUNLink) writeLocked(h heldPacket) {
	if l.closed {
		return
	}
	l.ipID++
	ip := wire.IPv4Header{ID: l.ipID, DF: true, TTL: 64, Protocol: wire.ProtoTCP, Src: l.local.Addr(), Dst: h.p.Dst.Addr()}
	b, err := ip.EncodeIPv4(l.wbuf[:0], len(h.data))
	if err == nil {
		b = append(b, h.data...)
		l.wbuf = b
		_, err = l.file.Write(b)
	}
	if err != nil {
		l.stats.WriteErrs++
		l.stats.LastErr = err.Error()
		return
	}
	l.stats.Out++
	l.tell(h.p, FateDelivered)
}

// enqueueLocked queues an inbound segment for the delivery goroutine.
func (l *TUNLink) enqueueLocked(h heldPacket) {
	if l.closed {
		return
	}
	l.queue = append(l.queue, h)
	l.stats.MaxDeliveryQueue = max(l.stats.MaxDeliveryQueue, len(l.queue))
	select {
	case l.kick <- struct{}{}:
	default:
	}
}

// Start runs the goroutine that reads the device and the one that
// delivers to recv, one segment at a time.
func (l *TUNLink) Start(recv func(from netip.AddrPort, seg []byte)) {
	l.mu.Lock()
	if l.started || l.closed {
		l.mu.Unlock()
		return
	}
	l.started, l.recv = true, recv
	l.mu.Unlock()
	l.wg.Add(2)
	go l.reader()
	go l.deliverer()
}

func (l *TUNLink) reader() {
	defer l.wg.Done()
	buf := make([]byte, 65536)
	for {
		n, err := l.file.Read(buf)
		if err != nil {
			if errors.Is(err, os.ErrClosed) {
				return
			}
			l.mu.Lock()
			closed := l.closed
			l.stats.LastErr = err.Error()
			l.mu.Unlock()
			if closed {
				return
			}
			continue
		}
		l.input(buf[:n])
	}
}

// input classifies one packet read from the device.
func (l *TUNLink) input(b []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(b) > 0 && b[0]>>4 == 6 {
		l.stats.IPv6++
		return
	}
	ip, seg, err := wire.DecodeIPv4(b)
	switch {
	case err != nil:
		l.stats.Malformed++
		l.stats.LastErr = err.Error()
		return
	case ip.Protocol != wire.ProtoTCP:
		l.stats.NonTCP++
		return
	case ip.Dst != l.local.Addr():
		l.stats.NotOurs++
		return
	}
	l.nextID++
	p := TUNPacket{ID: l.nextID, Dir: Inbound, Src: netip.AddrPortFrom(ip.Src, 0), Dst: netip.AddrPortFrom(ip.Dst, 0), WScale: -1}
	if h, payload, err := wire.Decode(seg, ip.Src, ip.Dst); err == nil {
		p.Header, p.Len, p.WScale = h, len(payload), synWScale(h)
		p.Src, p.Dst = netip.AddrPortFrom(ip.Src, h.SrcPort), netip.AddrPortFrom(ip.Dst, h.DstPort)
	}
	// A segment that does not decode goes on all the same: the stack
	// counts it as malformed.
	l.route(heldPacket{p: p, data: append([]byte(nil), seg...)})
}

func (l *TUNLink) deliverer() {
	defer l.wg.Done()
	for {
		select {
		case <-l.stopping:
			return
		case <-l.kick:
		}
		for {
			l.mu.Lock()
			if l.closed || len(l.queue) == 0 {
				l.mu.Unlock()
				break
			}
			h := l.queue[0]
			l.queue[0] = heldPacket{}
			l.queue = l.queue[1:]
			l.stats.In++
			l.tell(h.p, FateDelivered)
			recv := l.recv
			l.mu.Unlock()
			recv(netip.AddrPortFrom(h.p.Src.Addr(), 0), h.data)
		}
	}
}

// Close removes the device (closing its only file descriptor does), drops
// the held and delayed packets and waits for the goroutines to finish.
func (l *TUNLink) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return net.ErrClosed
	}
	l.closed = true
	for t := range l.timers {
		t.Stop()
	}
	l.timers, l.held, l.queue = nil, nil, nil
	close(l.stopping)
	l.mu.Unlock()
	err := l.file.Close()
	l.wg.Wait()
	return err
}
