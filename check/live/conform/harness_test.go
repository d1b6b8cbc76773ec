package conform

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"pgregory.net/rapid"

	"github.com/tcpcheck/tcpcheck/impl"
	"github.com/tcpcheck/tcpcheck/spec"
)

// The harness: two stacks, A (10.0.0.1, the client) and B (10.0.0.2, the
// server on port 80), on a link of this file that holds every segment in
// flight until the plan delivers, drops or duplicates it, under a fake
// clock. Everything runs in the test's goroutine except the blocking part
// of Dial, whose effects the harness waits for through the tracer, so a
// plan always runs the same way.

const (
	harnessMSL  = 2 * time.Second // TIME-WAIT lasts 4 s
	serverPort  = 80
	maxDials    = 3
	finishSteps = 20000
)

var (
	ipA = netip.MustParseAddr("10.0.0.1")
	ipB = netip.MustParseAddr("10.0.0.2")
)

// opKind is what one step of a plan does.
type opKind uint8

const (
	opListen opKind = iota
	opUnlisten
	opDial
	opWrite
	opRead
	opCloseWrite
	opClose
	opAbort
	opDeliver
	opDrop
	opDup
	opAdvance
	numOps
)

var opNames = [...]string{"listen", "unlisten", "dial", "write", "read", "close-write", "close", "abort", "deliver", "drop", "duplicate", "advance"}

// op is one step of a plan. Conn picks a connection of Host (modulo how
// many it has), Index a segment in flight (modulo how many there are).
type op struct {
	Kind  opKind
	Host  int // 0 = A, 1 = B
	Conn  int
	Index int
	N     int           // octets to write
	D     time.Duration // clock advance
}

func (o op) String() string {
	h := "AB"[o.Host : o.Host+1]
	switch o.Kind {
	case opListen:
		return "B listen :80"
	case opUnlisten:
		return "B close the listener"
	case opDial:
		return "A dial B:80"
	case opWrite:
		return fmt.Sprintf("%s[%d] write %d", h, o.Conn, o.N)
	case opRead, opCloseWrite, opClose, opAbort:
		return fmt.Sprintf("%s[%d] %s", h, o.Conn, opNames[o.Kind])
	case opDeliver, opDrop, opDup:
		return fmt.Sprintf("%s segment #%d", opNames[o.Kind], o.Index)
	case opAdvance:
		return fmt.Sprintf("advance %v", o.D)
	}
	return "?"
}

// plan is a whole test case: the ISNs and the steps.
type plan struct {
	ISN [2]spec.Seq
	Ops []op
	// RecvBuffer, when set, is both stacks' receive buffer: a small one
	// closes the window, so that text waits for an ACK to open it again.
	RecvBuffer int
}

var advances = []time.Duration{0, time.Millisecond, 100 * time.Millisecond, 250 * time.Millisecond,
	time.Second, 2 * time.Second, 5 * time.Second, 30 * time.Second}

// weighted lists op kinds by how often a plan draws them: the network
// steps most, so that segments do get through.
var weighted = []opKind{opListen, opListen, opUnlisten, opDial, opDial, opWrite, opWrite, opWrite, opRead, opRead, opCloseWrite, opClose, opAbort,
	opDeliver, opDeliver, opDeliver, opDeliver, opDeliver, opDeliver, opDeliver, opDeliver,
	opDrop, opDup, opDeliver, opAdvance, opAdvance, opAdvance}

var isns = rapid.OneOf(rapid.SampledFrom([]uint32{0, 1 << 31, 0xfffffff0, 0xffffffff}), rapid.Uint32())

var planGen = rapid.Custom(func(t *rapid.T) plan {
	var p plan
	p.ISN[0] = spec.Seq(isns.Draw(t, "isnA"))
	p.ISN[1] = spec.Seq(isns.Draw(t, "isnB"))
	n := rapid.IntRange(1, 80).Draw(t, "steps")
	for range n {
		p.Ops = append(p.Ops, drawOp(t, rapid.SampledFrom(weighted).Draw(t, "op")))
	}
	return p
})

// drawOp draws the arguments of an op of kind k.
func drawOp(t *rapid.T, k opKind) op {
	o := op{Kind: k}
	switch k {
	case opWrite:
		o.Host, o.Conn, o.N = rapid.IntRange(0, 1).Draw(t, "host"), rapid.IntRange(0, 2).Draw(t, "conn"), rapid.IntRange(1, 3000).Draw(t, "n")
	case opRead, opCloseWrite, opClose, opAbort:
		o.Host, o.Conn = rapid.IntRange(0, 1).Draw(t, "host"), rapid.IntRange(0, 2).Draw(t, "conn")
	case opDeliver, opDrop, opDup:
		o.Index = rapid.IntRange(0, 7).Draw(t, "index")
	case opAdvance:
		o.D = rapid.SampledFrom(advances).Draw(t, "d")
	case opListen, opUnlisten:
		o.Host = 1
	}
	return o
}

// config is what a run varies for the mutation test.
type config struct {
	table []spec.Row    // the endpoint's table; nil for the generated step
	msl   time.Duration // the endpoint's MSL; the checker keeps harnessMSL
	// ackDelay is the endpoint's AckDelay (0: its default, 40 ms); the
	// checker keeps harnessMaxAckDelay.
	ackDelay time.Duration
	// keepAlive turns on A's keepalive (RFC 1122 §4.2.3.6): a probe after
	// 10 s idle, then every 2 s, the peer given up after 2 unanswered.
	keepAlive bool
}

// harnessMaxAckDelay is the checker's bound on a delayed ACK in the
// harness: below the endpoints' least RTO (200 ms), as RFC 1122's 500 ms
// is below RFC 6298's 1 s.
const harnessMaxAckDelay = 100 * time.Millisecond

type packet struct {
	from, to netip.AddrPort
	seg      []byte
}

type testLink struct {
	h    *harness
	addr netip.AddrPort
	recv func(from netip.AddrPort, seg []byte)
}

func (l *testLink) LocalAddr() netip.AddrPort                { return l.addr }
func (l *testLink) Peer(a netip.AddrPort) netip.AddrPort     { return netip.AddrPortFrom(a.Addr(), 0) }
func (l *testLink) Start(f func(netip.AddrPort, []byte))     { l.recv = f }
func (l *testLink) Close() error                             { l.recv = nil; return nil }
func (l *testLink) Send(to netip.AddrPort, seg []byte) error { l.h.send(l.addr, to, seg); return nil }

// endpoint is one side of one connection as the user sees it.
type endpoint struct {
	host        int
	inc         int    // B only: how many earlier B endpoints had the same port
	child       int    // B only: which child of the listener for this 4-tuple it is (1-based)
	port        uint16 // A's port: the connection's name on both sides
	conn        *impl.Conn
	dialDone    chan dialResult // A only: the blocking part of Dial
	cancel      context.CancelFunc
	settled     bool // A only: the dial has returned
	dialErr     error
	written     int  // octets Write accepted
	read        int  // octets read
	eof         bool // Read returned io.EOF
	failed      bool // Read or Write returned the connection's error
	closeWrite  bool
	closed      bool // Close called
	closedEarly bool // Close called by the plan, before the finishing phase
	aborted     bool // Abort called (or the dial was cancelled)
}

// rowsSeen, when set, is told every row an endpoint applies.
var rowsSeen func(row int)

type dialResult struct {
	c   *impl.Conn
	err error
}

type harness struct {
	cfg    config
	clock  *impl.FakeClock
	chk    *Checker
	stacks [2]*impl.Stack
	links  [2]*testLink
	// flight is appended to by whichever goroutine flushes a stack's
	// queue, a Dial's among them, so it is held under flightMu.
	flightMu sync.Mutex
	flight   []packet
	lst      *impl.Listener
	eps      [2][]*endpoint
	opened   chan uint16 // A's port of each ActiveOpen, from the tracer
	// signals from the tracer, per A port
	connected map[pair]bool
	ended     map[pair]bool // A's connection was deleted before it connected
	signalled map[pair]bool // the connection signalled a reset or timeout
	children  map[pair]int  // B: children the listener made for each 4-tuple
	accepts   int           // B's children that signalled connected, not yet accepted
	log       []string
	rows      []spec.Row // the endpoint's table
	recorded  []impl.Transition
	closing   atomic.Bool
	isss      map[pair][]spec.Seq // every ISS each side chose for each 4-tuple
	sendText  map[pair]bool       // the last row applied on each side of a connection sends text
	livePeer  string              // how EstablishedOnlyWithLivePeer failed, if it did
}

// pattern is the octet at offset k of the stream side h of the connection
// with A's port p writes: two streams never agree for long.
func pattern(p uint16, h, k int) byte {
	return byte(int(p)*7 + h*101 + k + k/251)
}

func newHarness(p plan, cfg config) (*harness, error) {
	h := &harness{cfg: cfg, clock: impl.NewFakeClock(time.Unix(1700000000, 0)), opened: make(chan uint16, 16),
		connected: map[pair]bool{}, ended: map[pair]bool{}, signalled: map[pair]bool{}, children: map[pair]int{}, isss: map[pair][]spec.Seq{}, sendText: map[pair]bool{}, rows: cfg.table}
	if h.rows == nil {
		h.rows = spec.Table()
	}
	var err error
	h.chk, err = New(Options{MSL: harnessMSL, Context: 60, ChallengeACKs: 100, RecvBuffer: p.RecvBuffer, MaxAckDelay: harnessMaxAckDelay})
	if err != nil {
		return nil, err
	}
	msl := harnessMSL
	if cfg.msl != 0 {
		msl = cfg.msl
	}
	for i, ip := range []netip.Addr{ipA, ipB} {
		h.links[i] = &testLink{h: h, addr: netip.AddrPortFrom(ip, 0)}
		// RFC 6528 in miniature: each connection of a stack takes the
		// next of a sequence of ISNs 64000 apart, starting at the plan's.
		isn := p.ISN[i]
		var ka, kaInterval time.Duration
		if cfg.keepAlive && i == 0 {
			ka, kaInterval = 10*time.Second, 2*time.Second
		}
		s, err := impl.NewStack(h.links[i], impl.Options{
			KeepAlive: ka, KeepAliveInterval: kaInterval, KeepAliveProbes: 2,
			Clock: h.clock, MSL: msl, RTOInitial: time.Second, RTOMin: 200 * time.Millisecond, RTOMax: 8 * time.Second,
			SynRetries: 3, SynAckRetries: 3, DataRetries: 5, UserTimeout: 40 * time.Second,
			ISN: func(local, remote netip.AddrPort) spec.Seq {
				isn += 64000
				return isn - 64000
			},
			Tracer:     h.chk.Tracer(impl.Tracer{Transition: h.trace}),
			Table:      cfg.table,
			RecvBuffer: p.RecvBuffer,
			AckDelay:   cfg.ackDelay,
		})
		if err != nil {
			return nil, err
		}
		h.stacks[i] = s
	}
	return h, nil
}

func (h *harness) close() {
	// Closing races: a cancelled Dial aborts its connection in its own
	// goroutine while the stacks close here. The run is over, so the
	// harness stops listening to the tracer first.
	h.closing.Store(true)
	for _, eps := range h.eps {
		for _, e := range eps {
			if e.cancel != nil {
				e.cancel()
			}
		}
	}
	for _, s := range h.stacks {
		s.Close()
	}
	for _, e := range h.eps[0] {
		if !e.settled && e.dialDone != nil {
			<-e.dialDone
		}
	}
}

func (h *harness) send(from, to netip.AddrPort, seg []byte) {
	h.flightMu.Lock()
	defer h.flightMu.Unlock()
	h.flight = append(h.flight, packet{from: from, to: to, seg: append([]byte(nil), seg...)})
}

// trace watches A's opens and both sides' signals. It runs with a stack's
// lock held, possibly in Dial's goroutine.
func (h *harness) trace(t impl.Transition) {
	if h.closing.Load() {
		return
	}
	var acts spec.Actions
	if t.Row >= 0 && t.Row < len(h.rows) {
		acts = h.rows[t.Row].Actions()
	}
	if rowsSeen != nil {
		rowsSeen(t.Row)
	}
	h.recorded = append(h.recorded, t)
	k := pair{t.Local, t.Remote}
	// What the row must send comes from the correct table, whatever table
	// the endpoint runs (single-row mutants keep the row indices).
	h.sendText[k] = t.Row >= 0 && t.Row < len(referenceRows) && referenceRows[t.Row].Actions().Has(spec.SendText)
	if me, ok := h.chk.TCB(t.Local, t.Remote); ok && hasISS(&me) && !slices.Contains(h.isss[k], issOf(&me)) {
		h.isss[k] = append(h.isss[k], issOf(&me))
	}
	if t.To.Synchronized() && !t.From.Synchronized() && h.livePeer == "" && h.chk.Err() == nil {
		// EstablishedOnlyWithLivePeer, as far as two endpoints show it: a
		// side becomes synchronized only on an IRS that is an ISS the
		// peer chose for this 4-tuple (the peer may have aborted since;
		// its RST is then on the way).
		me, _ := h.chk.TCB(t.Local, t.Remote)
		if !slices.Contains(h.isss[pair{t.Remote, t.Local}], irsOf(&me)) {
			h.livePeer = fmt.Sprintf("%s became %s with IRS=%d, an ISS its peer never chose for this connection (ISSs %v)",
				addr(t.Local), t.To, uint32(irsOf(&me)), h.isss[pair{t.Remote, t.Local}])
		}
	}
	if acts.Has(spec.SignalTimeout) || acts.Has(spec.SignalReset) {
		h.signalled[k] = true
	}
	if t.Local.Addr() == ipB && t.From == spec.Listen && t.To != spec.Listen && t.Remote.IsValid() {
		h.children[k]++
	}
	switch {
	case t.Local.Addr() == ipA && t.Event == spec.ActiveOpen && t.From == spec.Closed:
		h.opened <- t.Local.Port()
	case t.Local.Addr() == ipA && acts.Has(spec.SignalConnected):
		h.connected[k] = true
	case t.Local.Addr() == ipA && acts.Has(spec.DeleteTCB) && !h.connected[k]:
		h.ended[k] = true
	case t.Local.Addr() == ipB && acts.Has(spec.SignalConnected) && t.Local.Port() == serverPort:
		h.accepts++
	}
}

// settle collects the result of a dial whose outcome the trace has shown.
func (h *harness) settle(e *endpoint) {
	if e.settled {
		return
	}
	k := pair{netip.AddrPortFrom(ipA, e.port), netip.AddrPortFrom(ipB, serverPort)}
	if !h.connected[k] && !h.ended[k] {
		return
	}
	r := <-e.dialDone
	e.settled, e.conn, e.dialErr = true, r.c, r.err
}

// acceptAll takes B's established children (Accept does not block then).
func (h *harness) acceptAll() error {
	for ; h.accepts > 0 && h.lst != nil; h.accepts-- {
		c, err := h.lst.AcceptConn()
		if err != nil {
			return err
		}
		port := c.RemoteAddr().(interface{ AddrPort() netip.AddrPort }).AddrPort().Port()
		e := &endpoint{host: 1, port: port, conn: c}
		e.child = h.children[h.key(e)]
		for _, o := range h.eps[1] {
			if o.port == port {
				e.inc++
			}
		}
		h.eps[1] = append(h.eps[1], e)
	}
	return nil
}

// failure is a check that failed, with the evidence.
type failure struct {
	check string
	msg   string
}

func (f *failure) Error() string { return f.check + ": " + f.msg }

func (h *harness) fail(check, format string, args ...any) *failure {
	var b strings.Builder
	fmt.Fprintf(&b, format, args...)
	b.WriteString("\nplan so far:\n")
	for _, l := range h.log {
		b.WriteString("    " + l + "\n")
	}
	b.WriteString("segment table (last steps):\n")
	for _, l := range h.chk.Recent() {
		b.WriteString("    " + l + "\n")
	}
	return &failure{check: check, msg: b.String()}
}

func (h *harness) ep(host, i int) *endpoint {
	eps := h.eps[host]
	if len(eps) == 0 {
		return nil
	}
	e := eps[i%len(eps)]
	if host == 0 {
		h.settle(e)
	}
	return e
}

// do runs one step; it reports a failure only for what the user saw go
// wrong in a way no check below catches (none so far).
func (h *harness) do(o op) error {
	h.log = append(h.log, o.String())
	skip := func() error { // nothing to do: keep the plan listing short
		h.log = h.log[:len(h.log)-1]
		return nil
	}
	switch o.Kind {
	case opListen:
		if h.lst != nil {
			return skip()
		}
		l, err := h.stacks[1].Listen(fmt.Sprintf(":%d", serverPort))
		if err != nil {
			return fmt.Errorf("listen: %v", err)
		}
		h.lst = l
	case opUnlisten:
		if h.lst == nil {
			return skip()
		}
		h.lst.Close() // aborts the children not yet accepted
		h.lst, h.accepts = nil, 0
	case opDial:
		if len(h.eps[0]) >= maxDials {
			return skip()
		}
		ctx, cancel := context.WithCancel(context.Background())
		e := &endpoint{host: 0, dialDone: make(chan dialResult, 1), cancel: cancel}
		s := h.stacks[0]
		go func() {
			c, err := s.Dial(ctx, fmt.Sprintf("%v:%d", ipB, serverPort))
			e.dialDone <- dialResult{c, err}
		}()
		select {
		case e.port = <-h.opened:
		case r := <-e.dialDone:
			e.settled, e.dialErr = true, r.err
			return fmt.Errorf("dial failed at once: %v", r.err)
		case <-time.After(10 * time.Second):
			return errors.New("dial: no ACTIVE-OPEN transition within 10 s")
		}
		h.eps[0] = append(h.eps[0], e)
	case opWrite:
		e := h.ep(o.Host, o.Conn)
		if e == nil || e.conn == nil || e.closed || e.aborted {
			return skip()
		}
		b := make([]byte, o.N)
		for k := range b {
			b[k] = pattern(e.port, e.host, e.written+k)
		}
		n, err := e.conn.Write(b)
		e.written += n
		switch {
		case e.closeWrite && (err == nil || n > 0):
			// RFC 9293 §3.10.2: SEND after CLOSE is "connection closing".
			return h.fail("UserSignal", "%s[port %d] wrote %d octets after its own CLOSE (err %v)", "AB"[o.Host:o.Host+1], e.port, n, err)
		case errors.Is(err, impl.ErrNotExist) && !e.closeWrite && !h.signalled[h.key(e)]:
			// The connection vanished while the user could still send,
			// and no "connection reset" or timeout told it why.
			return h.fail("UserSignal", "%s[port %d] write: %v, though the user never closed and was never told of a reset or timeout",
				"AB"[o.Host:o.Host+1], e.port, err)
		case err != nil && !isUserError(err):
			e.failed = true
		}
	case opRead:
		e := h.ep(o.Host, o.Conn)
		if e == nil || e.conn == nil || e.closed || e.aborted {
			return skip()
		}
		return h.read(e)
	case opCloseWrite:
		e := h.ep(o.Host, o.Conn)
		if e == nil || e.conn == nil || e.closed || e.aborted {
			return skip()
		}
		err := e.conn.CloseWrite()
		if e.closeWrite && err == nil {
			// RFC 9293 §3.10.4: CLOSE after CLOSE is "connection closing".
			return h.fail("UserSignal", "%s[port %d] closed twice without an error", "AB"[o.Host:o.Host+1], e.port)
		}
		if err == nil {
			e.closeWrite = true
		}
	case opClose:
		e := h.ep(o.Host, o.Conn)
		if e == nil || e.conn == nil || e.closed || e.aborted {
			return skip()
		}
		e.conn.Close()
		e.closed, e.closedEarly = true, true
	case opAbort:
		e := h.ep(o.Host, o.Conn)
		switch {
		case e == nil || e.closed || e.aborted || e.conn == nil && e.settled:
			return skip()
		case e.conn == nil && !e.settled:
			e.cancel() // Dial aborts its connection
			r := <-e.dialDone
			e.settled, e.conn, e.dialErr, e.aborted = true, r.c, r.err, true
			if r.c != nil {
				r.c.Abort()
			}
		case e.conn != nil:
			e.conn.Abort()
			e.aborted = true
		}
	case opDeliver, opDrop, opDup:
		h.flightMu.Lock()
		if len(h.flight) == 0 {
			h.flightMu.Unlock()
			return skip()
		}
		i := o.Index % len(h.flight)
		p := h.flight[i]
		if o.Kind == opDup {
			h.flight = append(h.flight, packet{from: p.from, to: p.to, seg: append([]byte(nil), p.seg...)})
		} else {
			h.flight = append(h.flight[:i], h.flight[i+1:]...)
		}
		h.flightMu.Unlock()
		if o.Kind == opDeliver {
			h.deliver(p) // unlocked: the stack's answer comes back through send
		}
	case opAdvance:
		h.clock.Advance(o.D)
	}
	return h.acceptAll()
}

func (h *harness) deliver(p packet) {
	for _, l := range h.links {
		if l.addr.Addr() == p.to.Addr() && l.recv != nil {
			l.recv(p.from, p.seg)
		}
	}
}

// isUserError is an error of the user's own making (writing after
// CloseWrite, say), not a failure of the connection.
func isUserError(err error) bool {
	return errors.Is(err, impl.ErrClosing) || errors.Is(err, impl.ErrNotExist) || errors.Is(err, impl.ErrExists) ||
		errors.Is(err, os.ErrDeadlineExceeded)
}

// read reads what is there now and checks it against the peer's stream.
func (h *harness) read(e *endpoint) error {
	if e.eof || e.failed {
		return nil
	}
	e.conn.SetReadDeadline(h.clock.Now())
	buf := make([]byte, 4096)
	for range 1000 {
		n, err := e.conn.Read(buf)
		for k := range n {
			if want := pattern(e.port, 1-e.host, e.read+k); buf[k] != want {
				return h.fail("StreamPrefix", "%s[port %d] read octet %d as %#x; the peer wrote %#x there",
					"AB"[e.host:e.host+1], e.port, e.read+k, buf[k], want)
			}
		}
		e.read += n
		switch {
		case err == io.EOF:
			// End of stream says the peer wrote nothing more: every octet
			// it wrote must have been read (HalfCloseDelivers).
			e.eof = true
			if p := h.peer(e); p != nil && e.read != p.written {
				return h.fail("HalfCloseDelivers", "%s[port %d] read end of stream after %d octets; the peer wrote %d",
					"AB"[e.host:e.host+1], e.port, e.read, p.written)
			}
			return nil
		case err != nil && !errors.Is(err, os.ErrDeadlineExceeded):
			// A connection that ends other than by EOF tells its user
			// why (RFC 9293 §3.10: "connection reset", "connection
			// refused", a timeout); it never just vanishes.
			if !errors.Is(err, impl.ErrConnReset) && !errors.Is(err, impl.ErrConnRefused) && !errors.Is(err, impl.ErrTimeout) {
				return h.fail("UserSignal", "%s[port %d] read failed with %q, not a reset, refusal or timeout",
					"AB"[e.host:e.host+1], e.port, err)
			}
			e.failed = true
			return nil
		case n == 0:
			return nil
		}
	}
	return nil
}

// key returns the connection of e as the tracer names it.
func (h *harness) key(e *endpoint) pair {
	a, b := netip.AddrPortFrom(ipA, e.port), netip.AddrPortFrom(ipB, serverPort)
	if e.host == 1 {
		return pair{b, a}
	}
	return pair{a, b}
}

// peer returns the endpoint on the other side of e's connection: A's
// port names it. A never reuses a port, but B can see a later incarnation
// of the same 4-tuple (an old duplicate SYN that arrived after the first
// incarnation ended); such a one has no peer and must read nothing.
func (h *harness) peer(e *endpoint) *endpoint {
	if e.inc > 0 {
		return nil
	}
	for _, p := range h.eps[1-e.host] {
		if p.port == e.port && p.inc == 0 {
			return p
		}
	}
	return nil
}

// endpointOf returns the user's endpoint of a connection of host i, or nil
// while it has none (a child not yet accepted).
func (h *harness) endpointOf(i int, local, remote netip.AddrPort) *endpoint {
	var found *endpoint
	for _, e := range h.eps[i] {
		if k := h.key(e); k.local == local && k.remote == remote {
			found = e // the latest incarnation
		}
	}
	if i == 1 && found != nil && h.children[pair{local, remote}] != found.child {
		return nil // a newer incarnation, not yet accepted
	}
	return found
}

// queues compares the endpoint's send and receive queues with what the
// shadow TCB and the user's calls say they hold: the send queue is the
// text written and not yet acknowledged, the receive queue the text
// accepted and not yet read. A row that left out "process ACK", "accept
// text" or "accept FIN" leaves them wrong at once.
func (h *harness) queues(i int, ci impl.ConnInfo) error {
	sh, ok := h.chk.TCB(ci.Local, ci.Remote)
	if !ok || !hasISS(&sh) || !hasIRS(&sh) || !sh.State().Synchronized() {
		return nil
	}
	e := h.endpointOf(i, ci.Local, ci.Remote)
	written, read, discarding := 0, 0, false
	if e != nil {
		written, read, discarding = e.written, e.read, e.closed || e.aborted
	}
	acked := int(sh.SndUna().Sub(issOf(&sh).Add(1)))
	if sh.FinSent() && sh.SndUna() == sh.SndNxt() {
		acked--
	}
	if want := written - min(max(acked, 0), written); ci.SendQ != want {
		return h.fail(CheckConformance, "%s's send queue holds %d octets; %d were written and %d acknowledged (SND.UNA=%d): %s",
			"AB"[i:i+1], ci.SendQ, written, max(acked, 0), uint32(sh.SndUna()), ci)
	}
	// A row that sends text leaves none waiting while nothing is in flight
	// and the peer's window is open: this catches a row that left out
	// "send text" (the ACK that opens a window must release the text).
	if unsent := written - int(sh.SndNxt().Sub(issOf(&sh).Add(1))); h.sendText[pair{ci.Local, ci.Remote}] &&
		!sh.FinSent() && sh.SndUna() == sh.SndNxt() && sh.SndWnd() > 0 && unsent > 0 {
		return h.fail(CheckConformance, "%s applied a row that sends text, yet %d written octets wait with nothing in flight "+
			"and the peer's window open (SND.WND=%d): %s", "AB"[i:i+1], unsent, sh.SndWnd(), ci)
	}
	accepted := int(sh.RcvNxt().Sub(irsOf(&sh).Add(1)))
	if sh.FinReceived() {
		accepted--
	}
	if want := accepted - read; !discarding && ci.RecvQ != want {
		return h.fail(CheckConformance, "%s's receive queue holds %d octets; %d were accepted (RCV.NXT=%d) and %d read: %s",
			"AB"[i:i+1], ci.RecvQ, accepted, uint32(sh.RcvNxt()), read, ci)
	}
	return nil
}

// check runs the checks that hold after every step.
func (h *harness) check() error {
	if err := h.chk.Err(); err != nil {
		d := err.(*Divergence)
		return h.fail(d.Check, "step %d: %s", d.Step, d.Reason)
	}
	if h.livePeer != "" {
		return h.fail("EstablishedOnlyWithLivePeer", "%s", h.livePeer)
	}
	for host := range h.eps {
		for _, e := range h.eps[host] {
			written := 0
			if p := h.peer(e); p != nil {
				written = p.written
			}
			if e.read > 0 && e.inc > 0 {
				return h.fail("IncarnationIsolation", "B[port %d], a later incarnation of the 4-tuple, read %d octets written to an earlier one",
					e.port, e.read)
			}
			if e.read > written {
				return h.fail("StreamPrefix", "%s[port %d] read %d octets; the peer wrote %d",
					"AB"[host:host+1], e.port, e.read, written)
			}
		}
	}
	for i, s := range h.stacks {
		for _, ci := range s.Connections() {
			if !ci.Remote.IsValid() {
				continue // a listener
			}
			if ci.State == spec.Closed || ci.State == spec.Listen {
				// A connection in CLOSED has no TCB (RFC 9293 §3.3.2), and
				// a passive one that went back to LISTEN is its listener
				// again: the row that led there deletes the TCB.
				return h.fail(CheckConformance, "%s still holds a connection's TCB in %s: %s", "AB"[i:i+1], ci.State, ci)
			}
			if err := h.queues(i, ci); err != nil {
				return err
			}
		}
	}
	for _, e := range h.eps[0] {
		a := netip.AddrPortFrom(ipA, e.port)
		b := netip.AddrPortFrom(ipB, serverPort)
		ta, oka := h.chk.TCB(a, b)
		tb, okb := h.chk.TCB(b, a)
		if !oka || !okb || ta.State() != spec.Established || tb.State() != spec.Established {
			continue
		}
		if issOf(&ta) != irsOf(&tb) || issOf(&tb) != irsOf(&ta) {
			return h.fail("HandshakeAgreement", "both ESTABLISHED: A ISS=%d IRS=%d, B ISS=%d IRS=%d",
				uint32(issOf(&ta)), uint32(irsOf(&ta)), uint32(issOf(&tb)), uint32(irsOf(&tb)))
		}
		if !ta.RcvNxt().InRange(tb.SndUna(), tb.SndNxt().Add(1)) || !tb.RcvNxt().InRange(ta.SndUna(), ta.SndNxt().Add(1)) {
			return h.fail("HandshakeAgreement", "both ESTABLISHED: a RCV.NXT lies outside what the peer sent and has not had acknowledged")
		}
	}
	return nil
}

// finish lets the users finish: everyone still open half-closes, reads to
// the end and closes, while the network delivers in order without faults
// and the clock runs until no timer is left. Then both sides must be
// CLOSED or LISTEN and every octet of a connection that no one aborted
// and that did not fail must have been read.
func (h *harness) finish() error {
	h.log = append(h.log, "finish: half-close, read to the end, close; deliver in order; run the clock")
	for step := 0; ; step++ {
		if step == finishSteps {
			return h.fail("Quiescence", "still busy after %d steps of the finishing phase: %s", finishSteps, h.busy())
		}
		for _, e := range h.eps[0] {
			h.settle(e)
		}
		for host := range h.eps {
			for _, e := range h.eps[host] {
				if e.conn == nil || e.closed || e.aborted {
					continue
				}
				if !e.closeWrite {
					e.conn.CloseWrite()
					e.closeWrite = true
				}
				if err := h.read(e); err != nil {
					return err
				}
				if e.eof || e.failed {
					// Before it closes, the user tries CLOSE and SEND once
					// more: after its own CLOSE both must fail ("connection
					// closing", RFC 9293 §3.10.2 and §3.10.4, or the error
					// that ended the connection).
					if err := e.conn.CloseWrite(); err == nil {
						return h.fail("UserSignal", "%s[port %d] closed twice without an error", "AB"[host:host+1], e.port)
					}
					if n, err := e.conn.Write([]byte{0}); err == nil || n > 0 {
						return h.fail("UserSignal", "%s[port %d] wrote %d octets after its own CLOSE (err %v)", "AB"[host:host+1], e.port, n, err)
					}
					e.conn.Close()
					e.closed = true
				}
			}
		}
		if err := h.check(); err != nil {
			return err
		}
		h.flightMu.Lock()
		var p packet
		have := len(h.flight) > 0
		if have {
			p = h.flight[0]
			h.flight = h.flight[1:]
		}
		h.flightMu.Unlock()
		if have {
			h.deliver(p)
		} else if d, ok := h.clock.Pending(); ok {
			h.clock.Advance(max(d, 0))
		} else if h.quiet() {
			break
		} else if !h.giveUp() {
			h.clock.Advance(time.Second)
		}
		if err := h.acceptAll(); err != nil {
			return err
		}
	}
	for i, s := range h.stacks {
		for _, ci := range s.Connections() {
			if ci.State != spec.Listen {
				return h.fail("Quiescence", "%s still has %s", "AB"[i:i+1], ci)
			}
		}
	}
	for host := range h.eps {
		for _, e := range h.eps[host] {
			p := h.peer(e)
			if p == nil || e.aborted || p.aborted || e.failed || p.failed || e.dialErr != nil || p.dialErr != nil {
				continue
			}
			if e.closedEarly {
				continue // closed before the end: text still arriving was discarded
			}
			if e.read != p.written {
				return h.fail("Delivery", "%s[port %d] read %d octets of the %d the peer wrote, and no one aborted",
					"AB"[host:host+1], e.port, e.read, p.written)
			}
		}
	}
	return nil
}

// giveUp closes the connections whose users still wait when nothing is
// in flight and no timer runs: the peer is gone without a word (its RST
// was lost), and a user that waits for ever is what the user timeout of
// an orphaned connection is for. It reports whether it closed any.
func (h *harness) giveUp() bool {
	closed := false
	for host := range h.eps {
		for _, e := range h.eps[host] {
			if e.conn != nil && !e.closed && !e.aborted {
				h.log = append(h.log, fmt.Sprintf("finish: %s[port %d] gives up waiting and closes", "AB"[host:host+1], e.port))
				e.conn.Close()
				e.closed, closed = true, true
			}
		}
	}
	return closed
}

// busy describes what keeps the finishing phase going.
func (h *harness) busy() string {
	var parts []string
	for host := range h.eps {
		for _, e := range h.eps[host] {
			if host == 0 && !e.settled || e.conn != nil && !e.closed && !e.aborted {
				parts = append(parts, fmt.Sprintf("%s[port %d] settled=%v eof=%v failed=%v closed=%v state=%v",
					"AB"[host:host+1], e.port, e.settled || host == 1, e.eof, e.failed, e.closed, connState(e.conn)))
			}
		}
	}
	for i, s := range h.stacks {
		for _, ci := range s.Connections() {
			parts = append(parts, fmt.Sprintf("%s has %s", "AB"[i:i+1], ci))
		}
	}
	if d, ok := h.clock.Pending(); ok {
		parts = append(parts, fmt.Sprintf("a timer is due in %v", d))
	}
	return strings.Join(parts, "; ")
}

func connState(c *impl.Conn) string {
	if c == nil {
		return "-"
	}
	return c.State().String()
}

// quiet reports whether every user is done.
func (h *harness) quiet() bool {
	for host := range h.eps {
		for _, e := range h.eps[host] {
			if host == 0 && !e.settled {
				return false
			}
			if e.conn != nil && !e.closed && !e.aborted {
				return false
			}
		}
	}
	return true
}

// runPlan runs a plan and returns the first failed check, or nil.
func runPlan(p plan, cfg config) error {
	_, err := recordPlan(p, cfg)
	return err
}

// recordPlan runs a plan and returns the transitions of both endpoints.
func recordPlan(p plan, cfg config) ([]impl.Transition, error) {
	h, err := newHarness(p, cfg)
	if err != nil {
		return nil, err
	}
	defer h.close()
	err = h.run(p)
	return h.recorded, err
}

func (h *harness) run(p plan) error {
	if err := h.check(); err != nil {
		return err
	}
	for _, o := range p.Ops {
		if err := h.do(o); err != nil {
			return err
		}
		// The step's segments may still be on their way to the link, sent
		// by another goroutine (a Dial's, say, that is sending the queue):
		// wait for them, so that the next op sees the same segments in
		// flight whatever the scheduling.
		for _, s := range h.stacks {
			s.Sync()
		}
		if err := h.check(); err != nil {
			return err
		}
	}
	return h.finish()
}

// issOf, irsOf, hasISS and hasIRS read a shadow TCB's ISS and IRS.
func issOf(t *spec.TCB) spec.Seq { s, _ := t.ISS(); return s }
func irsOf(t *spec.TCB) spec.Seq { s, _ := t.IRS(); return s }
func hasISS(t *spec.TCB) bool    { _, ok := t.ISS(); return ok }
func hasIRS(t *spec.TCB) bool    { _, ok := t.IRS(); return ok }
