package impl

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"maps"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tcpcheck/tcpcheck/impl/wire"
	"github.com/tcpcheck/tcpcheck/spec"
)

// Errors a connection reports to its user (RFC 9293 §3.10 names them).
var (
	ErrConnReset   = errors.New("impl: connection reset")
	ErrConnRefused = errors.New("impl: connection refused")
	ErrTimeout     = errors.New("impl: connection aborted due to user timeout or retransmissions exhausted")
	ErrNotExist    = errors.New("impl: connection does not exist")
	ErrExists      = errors.New("impl: connection already exists")
	ErrClosing     = errors.New("impl: connection closing")
)

func errorf(format string, args ...any) error { return fmt.Errorf("impl: "+format, args...) }

// Options configure a Stack. The zero value of a field selects its default.
type Options struct {
	Clock         Clock         // default RealClock
	MSS           int           // MSS we advertise and the largest text we put in a segment; default 1400; lowered to what the link carries (UDPLink.MaxSegment less the header)
	RecvBuffer    int           // receive buffer, the largest window; default 65535; above it only with the peer's window scale option (RFC 7323)
	SendBuffer    int           // send buffer; default 256 KiB
	Backlog       int           // accept queue plus half-open connections per listener; default 128
	MSL           time.Duration // maximum segment lifetime; TIME-WAIT lasts 2*MSL; default 2 min (RFC 9293 §3.4.2)
	RTOInitial    time.Duration // default 1 s (RFC 6298 §2.1)
	RTOMin        time.Duration // default 200 ms (RFC 6298 §2.4 says 1 s; like Linux we allow less)
	RTOMax        time.Duration // default 60 s (RFC 6298 §2.5)
	SynRetries    int           // SYN retransmissions before RetriesExhausted; default 6
	SynAckRetries int           // SYN,ACK retransmissions before RetriesExhausted; default 5
	DataRetries   int           // retransmissions of text or FIN before RetriesExhausted (R2, RFC 1122 §4.2.3.5); default 15
	UserTimeout   time.Duration // RFC 9293 §3.8.4: abort when sent data stays unacknowledged this long; default 5 min
	ChallengeACKs int           // challenge ACKs per second per connection (RFC 5961 §7); default 10
	// AckDelay is how long accepted text, and the FIN that takes
	// ESTABLISHED to CLOSE-WAIT, may wait for its ACK (the table's delay
	// ACK, RFC 1122 §4.2.3.2; RFC 9293 §3.8.6.3): default
	// 40 ms, Linux's minimum; at most 500 ms as RFC 1122 requires. A
	// negative value disables the delay (every segment of text is
	// acknowledged at once); 0, like every zero option, is the default.
	AckDelay time.Duration
	// NoSynCookies turns SYN cookies off: a SYN for a listener whose
	// backlog is full is then dropped, as if lost (RFC 4987 §3.6).
	NoSynCookies bool
	MaxConns     int // connections (not listeners) a stack keeps at once; default 16384; beyond it SYNs are dropped and Dial fails
	MaxTimeWait  int // connections in TIME-WAIT at once; default 4096; beyond it the oldest ends its 2MSL wait early
	// KeepAlive, when positive, is the idle time after which a
	// connection in ESTABLISHED, FIN-WAIT-2 or CLOSE-WAIT with nothing
	// unacknowledged sends a keepalive probe (RFC 1122 §4.2.3.6: off by
	// default, at least two hours when on; tests use less): the table's
	// KEEPALIVE event. KeepAliveInterval (default 75 s) separates the
	// probes; after KeepAliveProbes (default 9) unanswered probes the
	// timer is KEEPALIVE-OUT, whose rows reset the connection and fail
	// the user's calls with ErrTimeout.
	KeepAlive         time.Duration
	KeepAliveInterval time.Duration
	KeepAliveProbes   int
	// ISN chooses the initial send sequence number; default RFC 6528:
	// a 4 µs clock plus a keyed hash of the 4-tuple.
	ISN    func(local, remote netip.AddrPort) spec.Seq
	Tracer Tracer
	Pcap   *wire.PcapWriter // when set, every segment sent and received is written to it
	// Table, for tests only, replaces the generated step function with an
	// interpretation of these rows (a mutant of spec.Table(), say), so that
	// the checks can show they notice an endpoint that breaks the table.
	// It must pass spec.Validate. Transition.Row then indexes these rows.
	Table []spec.Row
}

// def sets *v to d when it is the zero value.
func def[T comparable](v *T, d T) {
	var zero T
	if *v == zero {
		*v = d
	}
}

func (o *Options) fill() error {
	def[Clock](&o.Clock, RealClock{})
	def(&o.MSS, 1400)
	def(&o.RecvBuffer, 65535)
	def(&o.SendBuffer, 256<<10)
	def(&o.Backlog, 128)
	def(&o.MSL, 2*time.Minute)
	def(&o.RTOInitial, time.Second)
	def(&o.RTOMin, 200*time.Millisecond)
	def(&o.RTOMax, 60*time.Second)
	def(&o.SynRetries, 6)
	def(&o.SynAckRetries, 5)
	def(&o.DataRetries, 15)
	def(&o.UserTimeout, 5*time.Minute)
	def(&o.ChallengeACKs, 10)
	def(&o.AckDelay, 40*time.Millisecond)
	def(&o.MaxConns, 16384)
	def(&o.MaxTimeWait, 4096)
	def(&o.KeepAliveInterval, 75*time.Second)
	def(&o.KeepAliveProbes, 9)
	switch {
	case o.MSS < 64 || o.MSS > 65495:
		return errorf("MSS %d is outside [64, 65495]", o.MSS)
	case o.RecvBuffer < 1 || o.RecvBuffer > 64<<20:
		return errorf("receive buffer %d is outside [1, 64 MiB]", o.RecvBuffer)
	case o.SendBuffer < 1:
		return errorf("send buffer %d must be positive", o.SendBuffer)
	case o.Backlog < 1:
		return errorf("backlog %d must be positive", o.Backlog)
	case o.MaxConns < 1 || o.MaxTimeWait < 1:
		return errorf("connection cap %d and TIME-WAIT cap %d must be positive", o.MaxConns, o.MaxTimeWait)
	case o.KeepAliveProbes < 1:
		return errorf("keepalive probes %d must be positive", o.KeepAliveProbes)
	case o.MSL < 0 || o.RTOInitial < 0 || o.RTOMin < 0 || o.RTOMax < 0 || o.UserTimeout < 0 || o.KeepAlive < 0 || o.KeepAliveInterval < 0:
		return errorf("durations must not be negative")
	case o.AckDelay >= 500*time.Millisecond:
		return errorf("ACK delay %v is not below 500 ms (RFC 1122 §4.2.3.2)", o.AckDelay)
	case o.RTOMin > o.RTOMax:
		return errorf("minimum RTO %v exceeds maximum RTO %v", o.RTOMin, o.RTOMax)
	case o.SynRetries < 0 || o.SynAckRetries < 0 || o.DataRetries < 0 || o.ChallengeACKs < 0:
		return errorf("retry limits and rates must not be negative")
	}
	return nil
}

// Stats counts what a Stack did with segments outside the table.
type Stats struct {
	Malformed         uint64 // segments that failed to decode (bad length, offset, checksum, options)
	BacklogDrops      uint64 // SYNs dropped because a listener's backlog was full and SYN cookies are off
	HeldDrops         uint64 // out-of-order segments dropped because the hold queue was full
	Retransmits       uint64 // segments sent again (timeouts and fast retransmits)
	ACKsLimited       uint64 // ACKs to unacceptable zero-length segments not sent (rate limit)
	ChallengeACKs     uint64 // challenge ACKs sent (RFC 5961 §3.2, §4.2)
	ChallengesLimited uint64 // challenge ACKs not sent: the connection's budget was spent (RFC 5961 §7)
	SynCookies        uint64 // SYN,ACKs sent with a cookie for a full backlog, their TCB not kept (RFC 4987 §3.6)
	CookiesAccepted   uint64 // ACKs with a valid cookie that re-created a connection
	CookieDrops       uint64 // ACKs with a valid cookie dropped: accept queue or connection cap full
	ConnLimitDrops    uint64 // SYNs dropped because the stack holds MaxConns connections
	TimeWaitEvicted   uint64 // TIME-WAIT connections ended early because MaxTimeWait were waiting
	KeepAliveProbes   uint64 // keepalive probes sent by the KEEPALIVE rows (RFC 1122 §4.2.3.6)
}

// connKey identifies a connection within a stack.
type connKey struct {
	port     uint16         // local TCP port
	peer     netip.AddrPort // the peer stack's link address
	peerPort uint16         // remote TCP port
}

func (k connKey) compare(o connKey) int {
	return cmp.Or(cmp.Compare(k.port, o.port), k.peer.Compare(o.peer), cmp.Compare(k.peerPort, o.peerPort))
}

// Stack is a TCP endpoint on one link: it owns the connections and
// listeners of one link address and multiplexes them by TCP port. All its
// connections share one lock.
type Stack struct {
	link      Link
	opt       Options
	clock     Clock
	local     netip.AddrPort // link address
	key       [32]byte       // RFC 6528 secret
	cookieKey [32]byte       // SYN cookie secret (RFC 4987 §3.6)
	isnMAC    hash.Hash      // HMAC-SHA256 under key, reused under the lock
	cookieMAC hash.Hash      // and under cookieKey

	mu        sync.Mutex
	closed    bool
	conns     map[connKey]*Conn
	listeners map[uint16]*Listener
	nextPort  uint16
	stats     Stats
	outQ      []outSeg // segments queued for the link (flush.go)
	outBuf    []byte
	spareQ    []outSeg
	spareBuf  []byte
	flushing  bool          // a goroutine is sending the queue
	flushed   sync.Cond     // signalled (on mu) when a goroutine stops sending the queue
	timeWait  []*Conn       // connections that entered TIME-WAIT, oldest first (some may have left it since)
	twCount   int           // connections in TIME-WAIT now
	machine   *spec.Machine // Options.Table interpreted; nil for the generated step

	// Receiving on a direct link (direct.go).
	direct    directLink // nil for a link with its own reader goroutine, or once the link closed
	rbuf      []byte     // the receiving goroutine's buffer
	reading   bool       // a goroutine holds the reader's role: it alone receives
	readW     *waker     // what that goroutine waits for (nil for the background one)
	readWoken bool       // readW was notified
	readDl    <-chan struct{}
	readStop  verdict                              // how it stops (Stack.park)
	userRecv  func(netip.AddrPort, []byte) verdict // recvUser and recvBackground, made once
	bgRecv    func(netip.AddrPort, []byte) verdict
	userPoll  func() bool   // pollAgain, made once
	inInput   bool          // the receiving goroutine holds the lock, in input
	wanting   atomic.Int32  // users waiting on channels while another goroutine receives (read by it without the lock: userPoll)
	freed     chan struct{} // closed when the role is given up while users wait
	released  time.Time     // when the role was last given up
	bgArmed   bool          // bgTimer is set
	bgDelay   time.Duration // how long the link may go unread before background receives (direct.go)
	bgTimer   *time.Timer   // starts background

	nowT   time.Time // the clock's reading for the step being taken (now)
	nowSet bool
}

// now reads the stack's clock once per step: a step, and the arrival or
// call that causes it, happens at one instant, and a real clock costs
// tens of nanoseconds a reading, which a step took a dozen times.
func (s *Stack) now() time.Time {
	if s.nowSet {
		return s.nowT
	}
	return s.clock.Now()
}

// instant reads the clock for the step about to be taken, unless one is
// under way; when it returns true, endInstant must follow the step.
func (s *Stack) instant() bool {
	if s.nowSet {
		return false
	}
	s.nowT, s.nowSet = s.clock.Now(), true
	return true
}

func (s *Stack) endInstant() { s.nowSet = false }

// NewStack returns a stack on link and starts receiving from it.
func NewStack(link Link, opt Options) (*Stack, error) {
	if err := opt.fill(); err != nil {
		return nil, err
	}
	if l, ok := link.(interface{ MaxSegment() int }); ok && opt.MSS > l.MaxSegment()-wire.HeaderLen {
		opt.MSS = l.MaxSegment() - wire.HeaderLen
	}
	s := &Stack{link: link, opt: opt, clock: opt.Clock, local: link.LocalAddr(),
		conns: map[connKey]*Conn{}, listeners: map[uint16]*Listener{}, nextPort: ephemeralLo}
	s.flushed.L = &s.mu
	if !s.local.Addr().IsValid() || s.local.Addr().IsUnspecified() {
		return nil, errorf("link address %v is not a specific IP address", s.local)
	}
	if opt.Table != nil {
		m, err := spec.NewMachine(opt.Table)
		if err != nil {
			return nil, errorf("Options.Table: %v", err)
		}
		s.machine = m
	}
	if _, err := rand.Read(s.key[:]); err != nil {
		return nil, errorf("reading the ISN secret: %v", err)
	}
	if _, err := rand.Read(s.cookieKey[:]); err != nil {
		return nil, errorf("reading the SYN cookie secret: %v", err)
	}
	s.isnMAC, s.cookieMAC = hmac.New(sha256.New, s.key[:]), hmac.New(sha256.New, s.cookieKey[:])
	if dl, ok := link.(directLink); ok {
		s.direct, s.rbuf, s.freed, s.bgArmed, s.bgDelay = dl, make([]byte, 65536), make(chan struct{}), true, backgroundDelay
		s.userRecv, s.bgRecv, s.userPoll = s.recvUser, s.recvBackground, s.pollAgain
		s.bgTimer = time.AfterFunc(backgroundDelay, s.background)
		return s, nil
	}
	link.Start(s.input)
	return s, nil
}

// Addr returns the stack's link address.
func (s *Stack) Addr() netip.AddrPort { return s.local }

// Stats returns the stack's counters.
func (s *Stack) Stats() Stats {
	s.mu.Lock()
	defer s.unlock()
	return s.stats
}

const ephemeralLo, ephemeralHi = 49152, 65535

// isn returns the initial send sequence number for a connection
// (RFC 6528 §3: ISN = M + F(localip, localport, remoteip, remoteport, secretkey),
// M a clock ticking every 4 microseconds, F a keyed HMAC-SHA256).
func (s *Stack) isn(local, remote netip.AddrPort) spec.Seq {
	if s.opt.ISN != nil {
		return s.opt.ISN(local, remote)
	}
	m := uint32(s.now().UnixNano() / 4000)
	return spec.Seq(m + tupleMAC(s.isnMAC, local, remote))
}

// tupleMAC returns the first 32 bits of mac, an HMAC-SHA256 under a
// secret key (reset and reused: the stack's lock is held), of the 4-tuple
// (local IP, local port, remote IP, remote port) followed by more.
func tupleMAC(mac hash.Hash, local, remote netip.AddrPort, more ...byte) uint32 {
	var buf [64]byte
	l16, r16 := local.Addr().As16(), remote.Addr().As16()
	b := binary.BigEndian.AppendUint16(append(buf[:0], l16[:]...), local.Port())
	b = binary.BigEndian.AppendUint16(append(b, r16[:]...), remote.Port())
	mac.Reset()
	mac.Write(append(b, more...))
	return binary.BigEndian.Uint32(mac.Sum(buf[:0]))
}

// input is the link's receive function: decode, demultiplex, process.
func (s *Stack) input(from netip.AddrPort, b []byte) {
	s.mu.Lock()
	defer s.unlock()
	s.inputLocked(from, b)
}

// inputLocked is input with the stack's lock held.
func (s *Stack) inputLocked(from netip.AddrPort, b []byte) {
	h, payload, err := wire.Decode(b, from.Addr(), s.local.Addr())
	if s.closed {
		return
	}
	if s.instant() {
		defer s.endInstant()
	}
	now := s.now()
	if err != nil {
		s.stats.Malformed++
		if s.opt.Tracer.Extra != nil {
			s.opt.Tracer.Extra(now, netip.AddrPortFrom(s.local.Addr(), 0), from, false, Segment{}, err.Error())
		}
		return
	}
	if s.opt.Pcap != nil {
		s.opt.Pcap.WriteSegment(now, netip.AddrPortFrom(from.Addr(), h.SrcPort), netip.AddrPortFrom(s.local.Addr(), h.DstPort), h, payload)
	}
	in := &segment{h: h, payload: payload}
	key := connKey{port: h.DstPort, peer: from, peerPort: h.SrcPort}
	if c := s.conns[key]; c != nil {
		c.segmentArrives(in)
		return
	}
	if l := s.listeners[h.DstPort]; l != nil {
		l.segmentArrives(key, in)
		return
	}
	// No TCB: the connection is CLOSED (RFC 9293 §3.10.7.1).
	c := s.newConn(key, spec.Closed)
	c.handle(spec.Classify(h.Flags, len(payload)), in, nil)
}

// newConn returns an unregistered connection for key in state st.
func (s *Stack) newConn(key connKey, st spec.State) *Conn {
	c := &Conn{s: s, key: key, tcb: spec.NewTCB(),
		local:  netip.AddrPortFrom(s.local.Addr(), key.port),
		remote: netip.AddrPortFrom(key.peer.Addr(), key.peerPort),
		rto:    s.opt.RTOInitial}
	if st == spec.Listen {
		c.tcb = spec.NewListenTCB()
	}
	c.rd.init(s)
	c.wd.init(s)
	return c
}

// ephemeral picks a free local port for a connection to peer.
func (s *Stack) ephemeral(peer netip.AddrPort, peerPort uint16) (uint16, error) {
	for range ephemeralHi - ephemeralLo + 1 {
		p := s.nextPort
		s.nextPort++
		if s.nextPort == 0 || s.nextPort < ephemeralLo {
			s.nextPort = ephemeralLo
		}
		if _, used := s.listeners[p]; used {
			continue
		}
		if _, used := s.conns[connKey{port: p, peer: peer, peerPort: peerPort}]; used {
			continue
		}
		if p == peerPort && peer.Addr() == s.local.Addr() {
			// Never local endpoint = remote endpoint: stacks that share an
			// address (several on one host's loopback, each on its own
			// link port) would make a 4-tuple whose two ends look alike
			// to anyone who reads the segments (a tracer, a capture).
			continue
		}
		return p, nil
	}
	return 0, errorf("no free ephemeral port for %v", peer)
}

// parseAddr parses "host:port"; an empty host is 127.0.0.1.
func parseAddr(addr string) (netip.AddrPort, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return netip.AddrPort{}, errorf("address %q: %v (want host:port)", addr, err)
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return netip.AddrPort{}, errorf("address %q: port %q is not a number in [0, 65535]", addr, port)
	}
	if host == "" || host == "localhost" {
		host = "127.0.0.1"
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return netip.AddrPort{}, errorf("address %q: host %q is not an IP address", addr, host)
	}
	return netip.AddrPortFrom(ip.Unmap(), uint16(p)), nil
}

// Dial opens a connection to addr (host:port) and waits until it is
// established, refused, timed out, or ctx is done. On the udp link, host:port
// is the peer stack's UDP address and port is also the TCP port.
func (s *Stack) Dial(ctx context.Context, addr string) (*Conn, error) {
	ap, err := parseAddr(addr)
	if err != nil {
		return nil, err
	}
	c, err := s.connect(ap)
	if err != nil {
		return nil, err
	}
	return c, c.waitConnected(ctx)
}

// connect makes the active OPEN and returns at once.
func (s *Stack) connect(ap netip.AddrPort) (*Conn, error) {
	if ap.Port() == 0 {
		return nil, errorf("dial %v: port 0", ap)
	}
	s.mu.Lock()
	defer s.unlock()
	if s.closed {
		return nil, net.ErrClosed
	}
	if len(s.conns) >= s.opt.MaxConns {
		return nil, errorf("dial %v: the stack holds its maximum of %d connections (Options.MaxConns)", ap, s.opt.MaxConns)
	}
	peer := s.link.Peer(ap)
	port, err := s.ephemeral(peer, ap.Port())
	if err != nil {
		return nil, err
	}
	c := s.newConn(connKey{port: port, peer: peer, peerPort: ap.Port()}, spec.Closed)
	s.conns[c.key] = c
	if err := c.handle(spec.ActiveOpen, nil, nil); err != nil {
		return nil, err
	}
	return c, nil
}

// waitConnected waits for the OPEN to complete; when ctx is done first it
// aborts the connection.
func (c *Conn) waitConnected(ctx context.Context) error {
	s := c.s
	// The context's end wakes the wait like any change to the connection.
	stop := context.AfterFunc(ctx, func() {
		s.mu.Lock()
		c.notify()
		s.unlock()
	})
	defer stop()
	s.mu.Lock()
	defer s.unlock()
	for {
		switch {
		case c.connected:
			return nil
		case c.err != nil:
			return c.err
		case c.deleted:
			return ErrNotExist
		case ctx.Err() != nil:
			c.userClosed = true
			c.handle(spec.Abort, nil, nil)
			return ctx.Err()
		}
		s.park(&c.wake, nil, false)
	}
}

// Listen opens a passive connection on addr's port and returns a
// listener. The host must be empty, unspecified or the stack's own IP.
func (s *Stack) Listen(addr string) (*Listener, error) {
	host, _, _ := net.SplitHostPort(addr)
	ap, err := parseAddr(addr)
	if err != nil {
		return nil, err
	}
	if host != "" && !ap.Addr().IsUnspecified() && ap.Addr() != s.local.Addr() {
		return nil, errorf("listen %s: the stack's address is %v", addr, s.local.Addr())
	}
	s.mu.Lock()
	defer s.unlock()
	if s.closed {
		return nil, net.ErrClosed
	}
	port := ap.Port()
	if port == 0 {
		if port, err = s.ephemeral(netip.AddrPort{}, 0); err != nil {
			return nil, err
		}
	}
	if _, used := s.listeners[port]; used {
		return nil, fmt.Errorf("listen %s: %w", addr, ErrExists)
	}
	l := &Listener{s: s, port: port}
	l.tcb = s.newConn(connKey{port: port}, spec.Closed)
	if err := l.tcb.handle(spec.PassiveOpen, nil, nil); err != nil {
		return nil, err
	}
	s.listeners[port] = l
	return l, nil
}

// sortedConns returns the registered connections in key order.
func (s *Stack) sortedConns() []*Conn {
	keys := slices.SortedFunc(maps.Keys(s.conns), connKey.compare)
	out := make([]*Conn, len(keys))
	for i, k := range keys {
		out[i] = s.conns[k]
	}
	return out
}

// ConnInfo describes one connection or listener, as ss does.
type ConnInfo struct {
	Local, Remote netip.AddrPort
	State         spec.State
	RecvQ, SendQ  int // octets not yet read by the user; octets not yet acknowledged or sent
}

// String renders the info as one ss-like line.
func (i ConnInfo) String() string {
	return fmt.Sprintf("%-12s %6d %6d %-21s %s", i.State, i.RecvQ, i.SendQ, fmtAddr(i.Local), fmtAddr(i.Remote))
}

// Connections lists the listeners (by port) and then the connections (by
// local port and peer) with their states.
func (s *Stack) Connections() []ConnInfo {
	s.mu.Lock()
	defer s.unlock()
	var out []ConnInfo
	for _, p := range slices.Sorted(maps.Keys(s.listeners)) {
		out = append(out, ConnInfo{Local: netip.AddrPortFrom(s.local.Addr(), p), State: spec.Listen})
	}
	for _, c := range s.sortedConns() {
		out = append(out, ConnInfo{Local: c.local, Remote: c.remote, State: c.tcb.State(), RecvQ: len(c.rcvBuf), SendQ: len(c.sndBuf)})
	}
	return out
}

// Close aborts every connection (RFC 9293 §3.10.5 ABORT: a RST where the
// table sends one), closes every listener and the link, and stops every
// timer. Blocked calls return net.ErrClosed.
func (s *Stack) Close() error {
	s.mu.Lock()
	if s.closed {
		s.unlock()
		return net.ErrClosed
	}
	for _, c := range s.sortedConns() {
		if !c.deleted {
			c.handle(spec.Abort, nil, nil)
		}
		c.kill(net.ErrClosed)
	}
	for _, p := range slices.Sorted(maps.Keys(s.listeners)) {
		s.listeners[p].closeLocked()
	}
	s.closed = true
	if s.bgTimer != nil {
		s.bgTimer.Stop()
	}
	s.unlock()
	// Another goroutine may still be sending what was queued before the
	// RSTs above (flush.go): let it finish before the link closes.
	s.Sync()
	return s.link.Close()
}

// Sync waits until every segment the stack has queued so far is handed to
// its link. A step's segments leave when the stack's lock is released, sent
// by whichever goroutine is sending at that moment (flush.go), which may be
// another than the one whose step queued them and may still be sending
// when that one returns: a harness that drives stacks one step at a time
// calls Sync between steps, so that each step's segments are on the link
// before the next step begins.
func (s *Stack) Sync() {
	s.mu.Lock()
	for s.flushing {
		s.flushed.Wait()
	}
	s.mu.Unlock()
}

// WindowShift is the window scale shift a receive buffer of buf octets
// needs (RFC 7323 §2.3): the least that brings it within 16 bits.
func WindowShift(buf int) uint8 {
	var sh uint8
	for buf>>sh > 65535 && sh < 14 {
		sh++
	}
	return sh
}

// challengeAllowed enforces the challenge ACK rate of RFC 5961 §7 for one
// connection: at most Options.ChallengeACKs in any one-second interval
// that starts with the first challenge ACK of the interval. The budget is
// the connection's own. A budget shared by the stack (Linux before 4.7)
// is the side channel of CVE-2016-5696: an off-path attacker who provokes
// challenge ACKs on its own connection counts how many it gets back and
// learns how many another connection spent, and so whether a spoofed
// segment fell in that connection's window.
func (c *Conn) challengeAllowed() bool {
	now := c.s.now()
	if c.chalStart.IsZero() || now.Sub(c.chalStart) >= time.Second {
		c.chalStart, c.chalCount = now, 0
	}
	if c.chalCount >= c.s.opt.ChallengeACKs {
		c.s.stats.ChallengesLimited++
		return false
	}
	c.chalCount++
	return true
}
