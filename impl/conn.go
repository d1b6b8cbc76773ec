package impl

import (
	"io"
	"net"
	"os"
	"slices"
	"time"

	"github.com/tcpcheck/tcpcheck/spec"
)

var _ net.Conn = (*Conn)(nil)

// Read reads text the peer sent. It returns io.EOF once the peer's FIN
// has been read past, ErrConnReset after a RST, ErrTimeout when the
// connection timed out, os.ErrDeadlineExceeded when the read deadline
// passed, and net.ErrClosed after Close or Abort.
func (c *Conn) Read(p []byte) (int, error) {
	s := c.s
	s.mu.Lock()
	defer s.unlock()
	for {
		switch {
		case c.userClosed:
			return 0, net.ErrClosed
		case len(c.rcvBuf) > 0:
			if len(p) == 0 {
				return 0, nil
			}
			n := copy(p, c.rcvBuf)
			c.rcvBuf = c.rcvBuf[n:]
			if len(c.rcvBuf) == 0 {
				c.rcvBuf = nil
				c.rcvStore = keepStore(c.rcvStore)
			}
			c.windowUpdate()
			return n, nil
		case c.err != nil:
			// Before end of stream: a reset or timeout may have flushed
			// text the user had not read, and io.EOF would claim it all
			// arrived (the rapid suite of check/live/conform found this).
			return 0, c.err
		case c.eof:
			return 0, io.EOF
		case c.deleted:
			return 0, net.ErrClosed
		case c.rd.passed():
			return 0, os.ErrDeadlineExceeded
		}
		c.wait(&c.rd, false)
	}
}

// wait releases the stack's lock until the connection is notified or
// deadline d passes, and takes it again (drain: Stack.park).
func (c *Conn) wait(d *deadline, drain bool) {
	c.s.park(&c.wake, d.ch, drain)
}

// Write queues p for sending (SEND, RFC 9293 §3.10.2), blocking while
// the send buffer is full. It returns ErrClosing after CloseWrite,
// the connection's error after a reset or timeout, os.ErrDeadlineExceeded
// when the write deadline passed, and net.ErrClosed after Close or Abort.
func (c *Conn) Write(p []byte) (int, error) {
	s := c.s
	s.mu.Lock()
	defer s.unlock()
	total := 0
	for len(p) > 0 {
		switch {
		case c.userClosed:
			return total, net.ErrClosed
		case c.err != nil:
			return total, c.err
		case c.wd.passed():
			return total, os.ErrDeadlineExceeded
		}
		space := s.opt.SendBuffer - len(c.sndBuf)
		if space > 0 || !c.sendTakesText() {
			chunk := p[:min(len(p), max(space, 0))]
			if err := c.handle(spec.Send, nil, chunk); err != nil {
				return total, err
			}
			total += len(chunk)
			p = p[len(chunk):]
			continue
		}
		c.wait(&c.wd, true)
	}
	return total, nil
}

// sendTakesText reports whether the table's SEND in the connection's
// state queues or sends text: only there does a Write wait for room in
// the send buffer; elsewhere SEND's row (an error, say) is the answer.
// Looked up only when the buffer is full, off the path of a Write that
// fits.
func (c *Conn) sendTakesText() bool {
	x := c.tcb.Ctx(nil, c.rcvWnd())
	_, do, _ := c.lookup(spec.Send, &x)
	return slices.Contains(do, spec.QueueText) || slices.Contains(do, spec.SendText)
}

// Close closes the connection for the user: CLOSE (RFC 9293 §3.10.4) sends
// a FIN after the queued text, and text that still arrives is discarded.
// The connection finishes closing in the background (FIN retransmission,
// TIME-WAIT). Later calls return net.ErrClosed.
func (c *Conn) Close() error {
	s := c.s
	s.mu.Lock()
	defer s.unlock()
	if c.userClosed {
		return net.ErrClosed
	}
	c.userClosed = true
	c.rcvBuf = nil
	if !c.deleted {
		c.handle(spec.Close, nil, nil) // ErrClosing after CloseWrite is fine
	}
	c.notify()
	return nil
}

// CloseWrite half-closes the connection: CLOSE sends a FIN after the
// queued text; reading goes on until the peer's FIN.
func (c *Conn) CloseWrite() error {
	s := c.s
	s.mu.Lock()
	defer s.unlock()
	switch {
	case c.userClosed:
		return net.ErrClosed
	case c.err != nil:
		return c.err
	case c.deleted:
		return ErrNotExist
	}
	return c.handle(spec.Close, nil, nil)
}

// Abort resets the connection: ABORT (RFC 9293 §3.10.5) sends a RST where
// the state calls for one and deletes the TCB.
func (c *Conn) Abort() error {
	s := c.s
	s.mu.Lock()
	defer s.unlock()
	if c.userClosed && c.deleted {
		return net.ErrClosed
	}
	c.userClosed = true
	if c.deleted {
		return nil
	}
	return c.handle(spec.Abort, nil, nil)
}

// State returns the connection's RFC 9293 state.
func (c *Conn) State() spec.State {
	c.s.mu.Lock()
	defer c.s.unlock()
	return c.tcb.State()
}

// LocalAddr returns the local TCP endpoint (the link's IP and the port).
func (c *Conn) LocalAddr() net.Addr { return net.TCPAddrFromAddrPort(c.local) }

// RemoteAddr returns the remote TCP endpoint.
func (c *Conn) RemoteAddr() net.Addr { return net.TCPAddrFromAddrPort(c.remote) }

// SetDeadline sets the read and write deadlines.
func (c *Conn) SetDeadline(t time.Time) error { return c.setDeadlines(t, &c.rd, &c.wd) }

// SetReadDeadline sets the deadline for Read; zero means none.
func (c *Conn) SetReadDeadline(t time.Time) error { return c.setDeadlines(t, &c.rd) }

// SetWriteDeadline sets the deadline for Write; zero means none.
func (c *Conn) SetWriteDeadline(t time.Time) error { return c.setDeadlines(t, &c.wd) }

func (c *Conn) setDeadlines(t time.Time, ds ...*deadline) error {
	c.s.mu.Lock()
	defer c.s.unlock()
	for _, d := range ds {
		d.set(t, !c.deleted)
	}
	return nil
}

// deadline is a read or write deadline on the stack's clock: ch is closed
// once it has passed. Guarded by the stack's lock.
type deadline struct {
	s  *Stack
	t  Timer
	ch chan struct{}
}

func (d *deadline) init(s *Stack) { d.s, d.ch = s, make(chan struct{}) }

func (d *deadline) passed() bool { return closed(d.ch) }

// set moves the deadline to at (zero: none). A timer runs only when live.
func (d *deadline) set(at time.Time, live bool) {
	d.release()
	if d.passed() {
		d.ch = make(chan struct{})
	}
	if at.IsZero() {
		return
	}
	wait := at.Sub(d.s.clock.Now())
	if wait <= 0 {
		close(d.ch)
		d.s.kick(d.ch)
		return
	}
	if !live {
		return
	}
	ch := d.ch
	d.t = d.s.clock.AfterFunc(wait, func() {
		d.s.mu.Lock()
		defer d.s.unlock()
		if d.ch == ch && !d.passed() {
			close(ch)
			d.s.kick(ch)
		}
	})
}

func (d *deadline) release() {
	if d.t != nil {
		d.t.Stop()
		d.t = nil
	}
}
