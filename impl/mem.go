package impl

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"sync"
	"time"
)

// MemNet is an in-process network for deterministic tests. Each stack gets
// a link with an IP address of its own. Segments are delivered in the order
// of their delivery times (send time plus Delay, plus a random extra delay
// for those the Reorder fault holds back), read from the network's clock;
// with a FakeClock, nothing is delivered until the clock is advanced, and
// Advance(0) delivers everything due now, including the replies.
//
// In manual mode segments are not scheduled at all: they wait in flight
// until the test delivers or discards them one by one.
type MemNet struct {
	mu     sync.Mutex
	clock  Clock
	delay  time.Duration
	faults Faults
	rng    *rand.Rand
	seq    uint64
	links  map[netip.Addr]*memLink
	manual bool
	held   []MemPacket
	tap    func(MemPacket)
}

// MemPacket is a segment in flight on a MemNet.
type MemPacket struct {
	From, To netip.AddrPort // link addresses
	Seg      []byte
	due      time.Time
	seq      uint64
}

// NewMemNet returns a network whose segments take delay to arrive and
// suffer the given faults, drawn from a generator seeded with seed.
func NewMemNet(clock Clock, delay time.Duration, faults Faults, seed uint64) (*MemNet, error) {
	if err := faults.validate(); err != nil {
		return nil, err
	}
	if delay < 0 {
		return nil, errorf("mem link delay %v is negative", delay)
	}
	if clock == nil {
		clock = RealClock{}
	}
	return &MemNet{clock: clock, delay: delay, faults: faults,
		rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), links: map[netip.Addr]*memLink{}}, nil
}

// Link returns a new link attached to the network at ip.
func (n *MemNet) Link(ip netip.Addr) (Link, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !ip.IsValid() {
		return nil, errorf("mem link needs an IP address")
	}
	if _, dup := n.links[ip]; dup {
		return nil, errorf("mem link address %v is already attached", ip)
	}
	l := &memLink{n: n, addr: netip.AddrPortFrom(ip, 0)}
	n.links[ip] = l
	return l, nil
}

// SetManual switches manual mode on or off. Switching it off schedules the
// segments held in flight.
func (n *MemNet) SetManual(on bool) {
	n.mu.Lock()
	n.manual = on
	held := n.held
	n.held = nil
	n.mu.Unlock()
	for _, p := range held {
		n.schedule(p)
	}
}

// InFlight returns the segments held in flight in manual mode, oldest
// first.
func (n *MemNet) InFlight() []MemPacket {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]MemPacket(nil), n.held...)
}

// Deliver hands the i-th segment held in flight to its destination, in
// the calling goroutine. It reports false when there is no such segment.
func (n *MemNet) Deliver(i int) bool {
	n.mu.Lock()
	if i < 0 || i >= len(n.held) {
		n.mu.Unlock()
		return false
	}
	p := n.held[i]
	n.held = append(n.held[:i], n.held[i+1:]...)
	dst := n.links[p.To.Addr()]
	n.mu.Unlock()
	if dst != nil {
		dst.deliver(p)
	}
	return true
}

// Discard drops the i-th segment held in flight, as a loss would.
func (n *MemNet) Discard(i int) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if i < 0 || i >= len(n.held) {
		return false
	}
	n.held = append(n.held[:i], n.held[i+1:]...)
	return true
}

// SetFaults changes the faults applied to segments sent from now on. A
// loss of 1 makes every stack on the network vanish from the others, as
// if unplugged: tests use it for a peer that disappears without FIN or RST.
func (n *MemNet) SetFaults(f Faults) error {
	if err := f.validate(); err != nil {
		return err
	}
	n.mu.Lock()
	n.faults = f
	n.mu.Unlock()
	return nil
}

// Inject puts a segment on the network as if the stack at from had sent
// it: from may be any address, attached or not (a spoofed source), and the
// segment suffers the network's faults. The attacker peer of check/live/attack
// uses it to forge segments with a chosen 4-tuple.
func (n *MemNet) Inject(from, to netip.AddrPort, seg []byte) {
	n.send(MemPacket{From: from, To: to, Seg: append([]byte(nil), seg...)})
}

// Observe calls f with every segment sent on the network (before the
// faults, once the copies they leave are queued), or stops observing when
// f is nil. f runs in the sender's
// goroutine, possibly with the sending stack's lock held: it must not call
// into a stack or the network, and must not keep p.Seg.
func (n *MemNet) Observe(f func(p MemPacket)) {
	n.mu.Lock()
	n.tap = f
	n.mu.Unlock()
}

// send applies the faults and schedules the copies of p. The tap sees p
// once they are queued, in the same critical section: a run that waits to
// observe a segment sent by another goroutine and then advances a fake
// clock has it delivered at the time it was sent, not a step later.
func (n *MemNet) send(p MemPacket) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.manual {
		n.held = append(n.held, p)
	} else {
		for range n.faults.copies(n.rng) {
			q := p
			q.due = n.clock.Now().Add(n.delay)
			if n.faults.Reorder > 0 && n.rng.Float64() < n.faults.Reorder {
				extra := time.Millisecond + time.Duration(n.rng.Int64N(int64(4*time.Millisecond+2*n.delay)))
				q.due = q.due.Add(extra)
			}
			n.scheduleLocked(q)
		}
	}
	if n.tap != nil {
		n.tap(p)
	}
}

// schedule queues p at its destination and arms the destination's timer.
func (n *MemNet) schedule(p MemPacket) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.scheduleLocked(p)
}

// scheduleLocked is schedule with n.mu held.
func (n *MemNet) scheduleLocked(p MemPacket) {
	dst := n.links[p.To.Addr()]
	if dst == nil || dst.closed {
		return
	}
	if p.due.IsZero() {
		p.due = n.clock.Now().Add(n.delay)
	}
	n.seq++
	p.seq = n.seq
	i := len(dst.q)
	for i > 0 && (p.due.Before(dst.q[i-1].due)) {
		i--
	}
	dst.q = slices.Insert(dst.q, i, p)
	if dst.timer == nil {
		dst.timer = n.clock.AfterFunc(p.due.Sub(n.clock.Now()), dst.flush)
		dst.timerAt = p.due
	} else if !dst.armed || p.due.Before(dst.timerAt) {
		dst.timer.Reset(p.due.Sub(n.clock.Now()))
		dst.timerAt = p.due
	}
	dst.armed = true
}

type memLink struct {
	n    *MemNet
	addr netip.AddrPort

	// Guarded by n.mu.
	q       []MemPacket // sorted by (due, seq)
	timer   Timer
	timerAt time.Time
	armed   bool
	busy    bool // a flush is delivering
	closed  bool

	recvMu sync.Mutex // held while recv runs
	recv   func(from netip.AddrPort, seg []byte)
	done   bool // guarded by recvMu
}

func (l *memLink) LocalAddr() netip.AddrPort { return l.addr }

func (l *memLink) Peer(addr netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(addr.Addr(), 0)
}

func (l *memLink) Send(to netip.AddrPort, seg []byte) error {
	l.n.send(MemPacket{From: l.addr, To: to, Seg: append([]byte(nil), seg...)})
	return nil
}

func (l *memLink) Start(recv func(from netip.AddrPort, seg []byte)) {
	l.recvMu.Lock()
	l.recv = recv
	l.recvMu.Unlock()
}

func (l *memLink) Close() error {
	n := l.n
	n.mu.Lock()
	l.closed = true
	l.q = nil
	if l.timer != nil {
		l.timer.Stop()
	}
	delete(n.links, l.addr.Addr())
	n.mu.Unlock()
	l.recvMu.Lock()
	l.done = true
	l.recvMu.Unlock()
	return nil
}

// flush delivers every segment that is due, in order. One flush runs at a
// time: a flush that finds another under way leaves the work to it, so the
// one under way clears busy in the same critical section in which it sees
// nothing left to do (else a segment queued between its last look and the
// clearing would wait for a flush that never comes).
func (l *memLink) flush() {
	n := l.n
	n.mu.Lock()
	l.armed = false
	if l.busy { // the flush under way delivers what is due, in order
		n.mu.Unlock()
		return
	}
	l.busy = true
	n.mu.Unlock()
	for {
		n.mu.Lock()
		if l.closed || len(l.q) == 0 {
			l.busy = false
			n.mu.Unlock()
			return
		}
		now := n.clock.Now()
		if p := l.q[0]; p.due.After(now) {
			l.timer.Reset(p.due.Sub(now))
			l.timerAt, l.armed = p.due, true
			l.busy = false
			n.mu.Unlock()
			return
		}
		p := l.q[0]
		l.q = l.q[1:]
		n.mu.Unlock()
		l.deliver(p)
	}
}

func (l *memLink) deliver(p MemPacket) {
	l.recvMu.Lock()
	defer l.recvMu.Unlock()
	if l.recv != nil && !l.done {
		l.recv(p.From, p.Seg)
	}
}
