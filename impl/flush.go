package impl

import (
	"net/netip"

	"github.com/tcpcheck/tcpcheck/impl/wire"
)

// outSeg is a segment a step encoded and the stack has not yet handed to
// the link: buf[off:end] of the queue's buffer, for the link address to.
type outSeg struct {
	to       netip.AddrPort
	off, end int
}

// enqueue encodes a segment into the output queue; the stack's lock is
// held. Segments leave in the order they were queued, when the lock is
// released (unlock): a step never makes a system call with the lock held,
// so the other goroutines of the stack (the reader, the users, timers) are
// not held up by a send, and the segments one lock holding produced (a
// window's worth of text, say) go to the link together.
func (s *Stack) enqueue(to netip.AddrPort, h wire.Header, src, dst netip.Addr, payload []byte) error {
	off := len(s.outBuf)
	if need := h.Len() + len(payload); cap(s.outBuf)-off < need {
		// Double the buffer here rather than let Encode's appends grow
		// it: append grows a large slice by a quarter, copying it each
		// time.
		b := make([]byte, off, max(2*cap(s.outBuf), off+need))
		copy(b, s.outBuf)
		s.outBuf = b
	}
	b, err := h.Encode(s.outBuf, src, dst, payload)
	if err != nil {
		return err
	}
	s.outBuf = b
	s.outQ = append(s.outQ, outSeg{to: to, off: off, end: len(b)})
	return nil
}

// maxSpare bounds the queue buffer a stack keeps for reuse, unless its
// send buffer is larger (spareLimit).
const maxSpare = 1 << 20

// spareLimit is the largest queue buffer the stack keeps for reuse. One
// lock holding can queue a whole send buffer's text (a window's worth of
// segments after a large Write), and the buffer that holds it, doubled
// from a power of two, is at most twice that and its headers: a stack
// that dropped it would allocate and grow a new one for every such burst,
// and a bulk sender would spend more time copying than sending.
func (s *Stack) spareLimit() int { return max(maxSpare, 2*s.opt.SendBuffer+s.opt.SendBuffer/4) }

// unlock releases the stack's lock and sends the queued segments. One
// goroutine at a time sends (s.flushing); segments queued meanwhile by
// others are sent by it, after its own, so they leave in queue order.
// Users that a step woke run meanwhile: a Dial may return while the ACK
// that completed its handshake is being sent.
func (s *Stack) unlock() {
	if len(s.outQ) == 0 || s.flushing {
		s.mu.Unlock()
		return
	}
	s.flushing = true
	for len(s.outQ) > 0 {
		q, buf := s.outQ, s.outBuf
		s.outQ, s.outBuf = s.spareQ[:0], s.spareBuf[:0]
		s.mu.Unlock()
		for _, o := range q {
			s.link.Send(o.to, buf[o.off:o.end])
		}
		s.mu.Lock()
		if cap(buf) > s.spareLimit() {
			buf = nil
		}
		if len(s.outQ) == 0 {
			// Nothing was queued meanwhile: the sent buffer becomes the
			// queue's again, and the spare stays whatever it was (none,
			// unless a send once overlapped a step). A stack that sends
			// one burst at a time (a client's, most of them) then holds
			// one buffer, not two.
			s.spareQ, s.spareBuf = s.outQ[:0], s.outBuf[:0]
			s.outQ, s.outBuf = q[:0], buf[:0]
		} else {
			s.spareQ, s.spareBuf = q[:0], buf[:0]
		}
	}
	s.flushing = false
	s.flushed.Broadcast()
	s.mu.Unlock()
}
