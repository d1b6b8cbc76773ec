package impl

import (
	"net"

	"github.com/tcpcheck/tcpcheck/spec"
)

// Listener is a passive open (RFC 9293 §3.10.1): a TCB in LISTEN. Each SYN
// it accepts starts a child connection, a copy of the LISTEN TCB, that the
// table moves on; children that reach ESTABLISHED wait in the accept queue.
// It implements net.Listener.
type Listener struct {
	s       *Stack
	port    uint16
	tcb     *Conn // the listening TCB itself
	queue   []*Conn
	pending int // children not yet established (the half-open part of the backlog)
	closed  bool
	wake    waker
}

var _ net.Listener = (*Listener)(nil)

// segmentArrives handles a segment for the listener's port that matches no
// connection (RFC 9293 §3.10.7.2).
func (l *Listener) segmentArrives(key connKey, in *segment) {
	s := l.s
	e := spec.Classify(in.h.Flags, len(in.payload))
	if e != spec.SegSYN {
		if l.cookieACK(key, in) {
			return
		}
		c := s.newConn(key, spec.Listen)
		c.handle(e, in, nil)
		return
	}
	if len(s.conns) >= s.opt.MaxConns {
		s.stats.ConnLimitDrops++
		s.traceExtra(s.newConn(key, spec.Listen), false, *in.trace(), ExtraCapReached)
		return
	}
	if len(l.queue)+l.pending >= s.opt.Backlog {
		if !s.opt.NoSynCookies {
			l.cookieSYN(key, in)
			return
		}
		// The backlog is full: the SYN is not processed at all, as if it
		// had been lost; the peer retransmits it.
		s.stats.BacklogDrops++
		s.traceExtra(s.newConn(key, spec.Listen), false, *in.trace(), ExtraBacklogFull)
		return
	}
	c := s.newConn(key, spec.Listen)
	c.listener, c.inBacklog = l, true
	l.pending++
	s.conns[key] = c
	c.handle(e, in, nil)
}

// established moves child c to the accept queue.
func (l *Listener) established(c *Conn) {
	l.forget(c)
	l.queue = append(l.queue, c)
	l.notify()
}

// forget takes child c out of the half-open part of the backlog: it was
// established, or deleted before.
func (l *Listener) forget(c *Conn) {
	if c.inBacklog {
		c.inBacklog = false
		l.pending--
	}
}

// notify wakes the goroutines waiting in Accept.
func (l *Listener) notify() { l.s.notify(&l.wake) }

// Accept waits for and returns the next established connection.
func (l *Listener) Accept() (net.Conn, error) { return l.AcceptConn() }

// AcceptConn is Accept returning the concrete type.
func (l *Listener) AcceptConn() (*Conn, error) {
	s := l.s
	s.mu.Lock()
	for {
		if l.closed {
			s.unlock()
			return nil, net.ErrClosed
		}
		if len(l.queue) > 0 {
			c := l.queue[0]
			l.queue[0] = nil
			l.queue = l.queue[1:]
			c.listener = nil
			s.unlock()
			return c, nil
		}
		s.park(&l.wake, nil, false)
	}
}

// Close stops listening (CLOSE in LISTEN deletes the TCB) and aborts the
// connections not yet accepted.
func (l *Listener) Close() error {
	l.s.mu.Lock()
	defer l.s.unlock()
	if l.closed {
		return net.ErrClosed
	}
	l.closeLocked()
	return nil
}

func (l *Listener) closeLocked() {
	s := l.s
	l.closed = true
	if s.listeners[l.port] == l {
		delete(s.listeners, l.port)
	}
	l.tcb.handle(spec.Close, nil, nil)
	for _, c := range s.sortedConns() {
		if c.listener == l && !c.deleted {
			c.handle(spec.Abort, nil, nil)
		}
	}
	for _, c := range l.queue {
		if !c.deleted {
			c.handle(spec.Abort, nil, nil)
		}
		c.kill(net.ErrClosed)
	}
	l.queue = nil
	l.notify()
}

// Addr returns the listening address.
func (l *Listener) Addr() net.Addr {
	return net.TCPAddrFromAddrPort(l.tcb.local)
}

// State returns LISTEN while the listener is open, CLOSED after Close.
func (l *Listener) State() spec.State {
	l.s.mu.Lock()
	defer l.s.unlock()
	return l.tcb.tcb.State()
}
