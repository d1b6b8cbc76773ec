package evidence

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/tcpcheck/tcpcheck/impl"
	"github.com/tcpcheck/tcpcheck/spec"
)

func init() {
	makers["keepalive-ours"] = keepaliveOurs
	makers["long-short-ours"] = longShortOurs
	makers["idle-ours"] = idleOurs
	makers["hundred-ours"] = hundredOurs
}

const repeatMem = "go run ./check/live/internal/evidence/genruns -only %s"

// memRig is two of tcpcheck's endpoints on the mem link under a fake
// clock, driven from one goroutine so that every run is the same.
type memRig struct {
	clock        *impl.FakeClock
	net          *impl.MemNet
	client, srv  *impl.Stack
	mu           sync.Mutex
	segs         []Seg
	at           []time.Time
	start        time.Time
	step, budget time.Duration
	// pump, when set, is called at every step of a dial (servers
	// answering on other connections meanwhile).
	pump func() error
}

func newMemRig(delay time.Duration, copt, sopt impl.Options) (*memRig, error) {
	m := &memRig{start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), step: time.Millisecond, budget: 10 * time.Minute}
	m.clock = impl.NewFakeClock(m.start)
	n, err := impl.NewMemNet(m.clock, delay, impl.Faults{}, 1)
	if err != nil {
		return nil, err
	}
	m.net = n
	n.Observe(func(p impl.MemPacket) {
		s, ok := decodeTCP(p.From.Addr(), p.To.Addr(), p.Seg)
		if !ok {
			return
		}
		m.mu.Lock()
		m.segs = append(m.segs, s)
		m.at = append(m.at, m.clock.Now())
		m.mu.Unlock()
	})
	// Fixed initial sequence numbers, so that the run is the same every
	// time (the default, RFC 6528, hashes a per-stack random secret).
	isn := func(base spec.Seq) func(local, remote netip.AddrPort) spec.Seq {
		return func(local, remote netip.AddrPort) spec.Seq { return base + spec.Seq(remote.Port())*1000 }
	}
	copt.Clock, sopt.Clock = m.clock, m.clock
	copt.ISN, sopt.ISN = isn(1000000), isn(5000000)
	for _, h := range []struct {
		ip  netip.Addr
		opt impl.Options
		out **impl.Stack
	}{{clientIP, copt, &m.client}, {serverIP, sopt, &m.srv}} {
		l, err := n.Link(h.ip)
		if err != nil {
			return nil, err
		}
		if *h.out, err = impl.NewStack(l, h.opt); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *memRig) close() {
	m.client.Close()
	m.srv.Close()
}

// until advances the clock a step at a time until cond holds.
func (m *memRig) until(what string, cond func() bool) error {
	for end := m.clock.Now().Add(m.budget); !cond(); m.clock.Advance(m.step) {
		if m.clock.Now().After(end) {
			return fmt.Errorf("evidence: mem run: %s did not happen within %s (client %v, server %v)", what, m.budget, m.client.Connections(), m.srv.Connections())
		}
	}
	return nil
}

// waitReal waits (in real time, briefly) for something a goroutine of the
// run does without the clock, such as a dial sending its SYN.
func waitReal(cond func() bool) {
	for end := time.Now().Add(ioWaitMem); !cond() && time.Now().Before(end); {
		time.Sleep(100 * time.Microsecond)
	}
}

const ioWaitMem = 5 * time.Second

func (m *memRig) nsegs() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.segs)
}

// dial connects the client to the server's port 80 and accepts there.
func (m *memRig) dial(l *impl.Listener) (*impl.Conn, *impl.Conn, error) {
	type key struct{ l, r netip.AddrPort }
	old := map[key]bool{}
	for _, st := range []*impl.Stack{m.client, m.srv} {
		for _, ci := range st.Connections() {
			old[key{ci.Local, ci.Remote}] = true
		}
	}
	n := m.nsegs()
	type res struct {
		c   *impl.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() {
		c, err := m.client.Dial(context.Background(), netip.AddrPortFrom(serverIP, 80).String())
		ch <- res{c, err}
	}()
	waitReal(func() bool { return m.nsegs() > n }) // the SYN is out
	fresh := func(st *impl.Stack) bool {
		for _, ci := range st.Connections() {
			if ci.State == spec.Established && !old[key{ci.Local, ci.Remote}] {
				return true
			}
		}
		return false
	}
	if err := m.until("the handshake", func() bool {
		if m.pump != nil {
			m.pump()
		}
		return fresh(m.client) && fresh(m.srv)
	}); err != nil {
		return nil, nil, err
	}
	var r res
	select {
	case r = <-ch:
	case <-time.After(ioWaitMem):
		return nil, nil, errors.New("evidence: mem run: the dial did not return")
	}
	if r.err != nil {
		return nil, nil, r.err
	}
	acc := make(chan res, 1)
	go func() { c, err := l.AcceptConn(); acc <- res{c, err} }()
	var a res
	select {
	case a = <-acc:
	case <-time.After(ioWaitMem):
		return nil, nil, errors.New("evidence: mem run: nothing to accept")
	}
	return r.c, a.c, a.err
}

// readNow reads what c holds now, without waiting; io.EOF at end of
// stream.
func (m *memRig) readNow(c *impl.Conn) ([]byte, error) {
	c.SetReadDeadline(m.clock.Now())
	defer c.SetReadDeadline(time.Time{})
	var out []byte
	buf := make([]byte, 1<<16)
	for {
		n, err := c.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return out, nil
			}
			return out, err
		}
	}
}

// readAtLeast advances the clock until c has given n octets (or an error).
func (m *memRig) readAtLeast(c *impl.Conn, n int, serve func() error) ([]byte, error) {
	var got []byte
	var rerr error
	err := m.until(fmt.Sprintf("reading %d octets", n), func() bool {
		if serve != nil {
			if err := serve(); err != nil {
				rerr = err
				return true
			}
		}
		b, err := m.readNow(c)
		got = append(got, b...)
		if err != nil {
			rerr = err
			return true
		}
		return len(got) >= n
	})
	if err != nil {
		return got, err
	}
	return got, rerr
}

func (m *memRig) record(r *Record) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r.Segments = append([]Seg(nil), m.segs...)
	relativize(r.Segments, m.start, m.at)
}

func memRecord(name, comment string) *Record {
	return &Record{Name: name, Comment: comment, Repeat: fmt.Sprintf(repeatMem, name),
		Stack: "tcpcheck's endpoint against itself, over the mem link under a fake clock",
		Names: map[string]string{clientIP.String(): "client", serverIP.String(): "server"}}
}

// keepaliveOurs: the client's endpoint probes an idle connection; the
// server answers three probes; then the link loses everything and the
// client aborts after KeepAliveProbes probes.
func keepaliveOurs() (*Record, error) {
	m, err := newMemRig(10*time.Millisecond,
		impl.Options{KeepAlive: 10 * time.Second, KeepAliveInterval: 2 * time.Second, KeepAliveProbes: 3}, impl.Options{})
	if err != nil {
		return nil, err
	}
	defer m.close()
	r := memRecord("keepalive-ours", "The client's endpoint has keepalive on (Options.KeepAlive 10 s, KeepAliveInterval 2 s, KeepAliveProbes 3); it sends one line, then the connection stays idle. After 35 s the link starts losing every segment.")
	l, err := m.srv.Listen(":80")
	if err != nil {
		return nil, err
	}
	c, s, err := m.dial(l)
	if err != nil {
		return nil, err
	}
	if _, err := c.Write([]byte("hello\n")); err != nil {
		return nil, err
	}
	if _, err := m.readAtLeast(s, 6, nil); err != nil {
		return nil, err
	}
	for end := m.clock.Now().Add(35 * time.Second); m.clock.Now().Before(end); {
		m.clock.Advance(m.step)
	}
	if err := m.net.SetFaults(impl.Faults{Loss: 1}); err != nil {
		return nil, err
	}
	r.note("from here the link loses every segment (the server is gone)")
	r.Notes[len(r.Notes)-1].At = m.nsegs()
	var readErr error
	if err := m.until("the abort", func() bool {
		_, readErr = m.readNow(c)
		return readErr != nil
	}); err != nil {
		return nil, err
	}
	m.record(r)
	segs := r.Segments
	lost := r.Notes[0].At
	answered, unanswered := 0, 0
	var firstProbe time.Duration
	lastData := segs[first(segs, func(s Seg) bool { return s.Len > 0 })].T
	for i, s := range segs {
		if s.Src.Addr() == clientIP && s.is("ACK") && s.Len == 0 && s.Seq+1 == highestAckOf(segs[:i], serverIP) {
			if firstProbe == 0 {
				firstProbe = s.T - lastData
			}
			if i < lost {
				answered++
			} else {
				unanswered++
			}
		}
	}
	r.fact("probes answered", "%d", answered)
	r.fact("probes unanswered before the abort", "%d", unanswered)
	r.fact("first probe after the last segment (s)", "%.0f", firstProbe.Seconds())
	r.fact("what the user's read returned", "%s", readErr)
	r.fact("what the client sent when it gave up", "%s", func() string {
		if i := first(segs[lost:], both(from(clientIP), flags("RST"))); i >= 0 {
			return segs[lost+i].Flags
		}
		return "nothing"
	}())
	return r, nil
}

// highestAckOf is the highest relative ACK the host at ip sent in segs.
func highestAckOf(segs []Seg, ip netip.Addr) uint32 {
	var h uint32
	for _, s := range segs {
		if s.Src.Addr() == ip && s.has("ACK") && s.Ack > h {
			h = s.Ack
		}
	}
	return h
}

// longShortOurs: the long-against-short comparison with tcpcheck's
// endpoint on both sides over a 50 ms round trip.
func longShortOurs() (*Record, error) {
	const delay = 25 * time.Millisecond
	m, err := newMemRig(delay, impl.Options{}, impl.Options{})
	if err != nil {
		return nil, err
	}
	defer m.close()
	r := memRecord("long-short-ours", fmt.Sprintf("%d requests of 100 octets, each answered with 1000 octets, over a link with a 50 ms round trip: first over one persistent connection, then over a new connection per request that the client closes after its response.", nRequests))
	r.Show = 30
	l, err := m.srv.Listen(":80")
	if err != nil {
		return nil, err
	}
	req, resp := bytes.Repeat([]byte("q"), 100), bytes.Repeat([]byte("r"), 1000)
	// serve answers every 100 octets s has read with 1000 and closes at
	// end of stream.
	serve := func(s *impl.Conn, pending *int, closed *bool) func() error {
		return func() error {
			if *closed {
				return nil
			}
			b, err := m.readNow(s)
			*pending += len(b)
			for ; *pending >= 100; *pending -= 100 {
				if _, err := s.Write(resp); err != nil {
					return err
				}
			}
			if err == io.EOF {
				*closed = true
				return s.Close()
			}
			return err
		}
	}
	t0 := m.clock.Now()
	c, s, err := m.dial(l)
	if err != nil {
		return nil, err
	}
	pending, closed := 0, false
	srv := serve(s, &pending, &closed)
	for range nRequests {
		if _, err := c.Write(req); err != nil {
			return nil, err
		}
		if _, err := m.readAtLeast(c, 1000, srv); err != nil {
			return nil, err
		}
	}
	c.Close()
	if err := m.until("the close of the long connection", func() bool {
		if err := srv(); err != nil {
			return true
		}
		return closed && s.State() == spec.Closed && m.net != nil && len(m.net.InFlight()) == 0
	}); err != nil {
		return nil, err
	}
	long := m.clock.Now().Sub(t0)
	nLong := m.nsegs()
	twBefore := 0
	for _, ci := range m.client.Connections() {
		if ci.State == spec.TimeWait {
			twBefore++
		}
	}
	r.note("the short connections start here")
	r.Notes[len(r.Notes)-1].At = nLong
	t1 := m.clock.Now()
	// The client goes on to its next request as soon as it has closed;
	// the servers' closes overlap with the next handshakes.
	var pumps []func() error
	var states []*impl.Conn
	var done []*bool
	pumpAll := func() error {
		for _, p := range pumps {
			if err := p(); err != nil {
				return err
			}
		}
		return nil
	}
	m.pump = pumpAll
	for range nRequests {
		c, s, err := m.dial(l)
		if err != nil {
			return nil, err
		}
		pending, closed := 0, false
		pumps = append(pumps, serve(s, &pending, &closed))
		states, done = append(states, s), append(done, &closed)
		if _, err := c.Write(req); err != nil {
			return nil, err
		}
		if _, err := m.readAtLeast(c, 1000, pumpAll); err != nil {
			return nil, err
		}
		c.Close()
	}
	if err := m.until("the close of the short connections", func() bool {
		if err := pumpAll(); err != nil {
			return true
		}
		for i, s := range states {
			if !*done[i] || s.State() != spec.Closed {
				return false
			}
		}
		return len(m.net.InFlight()) == 0
	}); err != nil {
		return nil, err
	}
	short := m.clock.Now().Sub(t1)
	tw := 0
	for _, ci := range m.client.Connections() {
		if ci.State == spec.TimeWait {
			tw++
		}
	}
	m.record(r)
	rtt := 2 * delay
	r.fact("segments, one persistent connection", "%d", nLong)
	r.fact("segments, a connection per request", "%d", len(r.Segments)-nLong)
	r.fact("time, one persistent connection (ms)", "%d", long.Milliseconds())
	r.fact("time, a connection per request (ms)", "%d", short.Milliseconds())
	r.fact("round trips, one persistent connection", "%.1f", float64(long)/float64(rtt))
	r.fact("round trips, a connection per request", "%.1f", float64(short)/float64(rtt))
	r.fact("TIME-WAIT entries at the client after the long connection", "%d", twBefore)
	r.fact("TIME-WAIT entries the short connections added at the client", "%d", tw-twBefore)
	return r, nil
}

// idleOurs: an established connection with keepalive off stays idle for
// three hours of the fake clock: nothing is sent, nothing times out.
func idleOurs() (*Record, error) {
	m, err := newMemRig(10*time.Millisecond, impl.Options{}, impl.Options{})
	if err != nil {
		return nil, err
	}
	defer m.close()
	r := memRecord("idle-ours", "Two endpoints with keepalive off (the default, as RFC 1122 §4.2.3.6 wants) exchange a line, then the connection stays idle for 3 hours of the fake clock; then the client writes another line.")
	l, err := m.srv.Listen(":80")
	if err != nil {
		return nil, err
	}
	c, s, err := m.dial(l)
	if err != nil {
		return nil, err
	}
	if _, err := c.Write([]byte("hello\n")); err != nil {
		return nil, err
	}
	if _, err := m.readAtLeast(s, 6, nil); err != nil {
		return nil, err
	}
	// The server's ACK of the line is delayed (RFC 1122 §4.2.3.2, 40 ms):
	// let it go before the idle hours start.
	m.clock.Advance(time.Second)
	before := m.nsegs()
	r.note("3 hours without a segment")
	r.Notes[len(r.Notes)-1].At = before
	// Advance in large steps: no timer is armed, so nothing is skipped.
	for range 3 * 60 {
		m.clock.Advance(time.Minute)
	}
	during := m.nsegs() - before
	states := fmt.Sprintf("%s / %s", c.State(), s.State())
	if _, err := c.Write([]byte("still here\n")); err != nil {
		return nil, err
	}
	if _, err := m.readAtLeast(s, 11, nil); err != nil {
		return nil, err
	}
	m.record(r)
	r.fact("segments during the 3 idle hours", "%d", during)
	r.fact("states after them (client / server)", "%s", states)
	r.fact("the next line arrived", "yes")
	return r, nil
}

// hundredOurs: a hundred connections from one endpoint to another's
// listener; one TCB each.
func hundredOurs() (*Record, error) {
	m, err := newMemRig(time.Millisecond, impl.Options{}, impl.Options{})
	if err != nil {
		return nil, err
	}
	defer m.close()
	r := memRecord("hundred-ours", "One endpoint (192.0.2.1) dials another's listener (192.0.2.2:80) a hundred times; then the server's connections are listed (Stack.Connections, what ss would show).")
	r.Show = 6
	l, err := m.srv.Listen(":80")
	if err != nil {
		return nil, err
	}
	ports := map[uint16]bool{}
	for range 100 {
		c, _, err := m.dial(l)
		if err != nil {
			return nil, err
		}
		ports[c.LocalAddr().(interface{ AddrPort() netip.AddrPort }).AddrPort().Port()] = true
	}
	m.record(r)
	est, listen := 0, 0
	var tuples []string
	for _, ci := range m.srv.Connections() {
		switch ci.State {
		case spec.Established:
			est++
			if len(tuples) < 2 {
				tuples = append(tuples, fmt.Sprintf("(%s, %s)", ci.Local, ci.Remote))
			}
		case spec.Listen:
			listen++
		}
	}
	r.fact("server connections ESTABLISHED (one TCB each)", "%d", est)
	r.fact("server listeners", "%d", listen)
	r.fact("distinct client ports", "%d", len(ports))
	r.fact("the first two, as (local, remote) at the server", "%s", strings.Join(tuples, ", "))
	r.fact("SYNs", "%d", count(r.Segments, func(s Seg) bool { return s.is("SYN") }))
	return r, nil
}
