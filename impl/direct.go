package impl

import (
	"net/netip"
	"time"
)

// directLink is a link whose arriving segments a stack receives in the
// goroutine of a user who waits (the udp link). A user blocked in Read,
// Write, Dial or Accept then reads the socket itself and is woken by the
// socket, as with the kernel's TCP, instead of being woken by a reader
// goroutine: a wakeup that crosses goroutines costs a round trip the
// kernel's TCP does not pay (and, when a processor is idle, the wakeup of
// a thread), the largest part of a request/response round trip's tail.
type directLink interface {
	Link
	// receive reads segments into buf and hands each to recv in the
	// calling goroutine until recv says to stop, interrupt is called, or
	// the link closes (an error). One goroutine at a time receives. When
	// nothing is queued it asks poll (nil: never) whether to look again,
	// after letting other goroutines run, before it waits to be woken;
	// at most pollMax times in a row.
	receive(buf []byte, recv func(from netip.AddrPort, seg []byte) verdict, poll func() bool) error
	// interrupt makes the receive in progress, or the next one, return.
	interrupt()
}

// verdict is what a receiving goroutine tells the link after a segment.
type verdict uint8

const (
	recvMore  verdict = iota // go on receiving
	recvStop                 // return now
	recvDrain                // return once the segments already queued are handed over too
)

// backgroundDelay and backgroundMax bound how long the link may go unread
// while no user waits: after that, a background goroutine receives until
// a user waits again. So they bound how late a segment that arrives while
// every user is busy (an ACK for text written, a SYN for a listener
// nobody accepts on) is processed: backgroundDelay once the background
// goroutine has had to receive, at most backgroundMax while users keep
// taking the role back before it is due (it doubles its delay at each
// such check).
//
// It backs off because each check is a timer that fires and a goroutine
// that runs, and that wakes an idle thread of the runtime, which then
// waits in the network poller: while it does, the other side of a busy
// connection takes up a segment in that thread instead of in the thread
// that sent it (as it does with the kernel's TCP), and a request/response
// round trip can take twice as long. Checking every 250 µs did that often
// enough to double the round trip's 99th percentile.
const (
	backgroundDelay = 250 * time.Microsecond
	backgroundMax   = 8 * time.Millisecond
)

// waker is what users wait on for a connection or a listener to change
// (Stack.notify). The goroutine holding the reader's role learns of it
// through the stack (readWoken); the others wait on a channel, which is
// made only when one does and is closed at the next notification. So a
// wait on the direct path allocates nothing: a channel per round trip
// made the garbage collector run, whose background work wakes an idle
// thread as the background checks do (backgroundMax).
type waker struct {
	ch chan struct{} // nil while no goroutine waits on a channel
}

// notify wakes every goroutine waiting on w.
func (s *Stack) notify(w *waker) {
	if s.reading && s.readW == w {
		s.readWoken = true
		if !s.inInput {
			s.direct.interrupt() // woken from outside the receiving goroutine
		}
	}
	if w.ch != nil {
		close(w.ch)
		w.ch = nil
	}
}

// park releases the stack's lock until w is notified or dl is closed
// (dl may be nil), or something else may have changed (the caller checks
// again), and takes the lock again. On a direct link, when no goroutine is
// receiving, the caller receives itself meanwhile (it holds the reader's
// role) and stops once w is notified or dl is closed; otherwise it waits
// on channels.
// drain asks to process the segments queued behind the one that ended
// the wait before returning: a writer waiting for the window takes every
// ACK that has arrived at once (and then queues its text in one go), where
// a reader returns the text that woke it without another system call.
func (s *Stack) park(w *waker, dl <-chan struct{}, drain bool) {
	stop := recvStop
	if drain {
		stop = recvDrain
	}
	if s.direct != nil && !s.reading && !s.closed {
		s.reading = true
		s.readW, s.readWoken, s.readDl, s.readStop = w, false, dl, stop
		s.unlock()
		err := s.direct.receive(s.rbuf, s.userRecv, s.userPoll)
		s.mu.Lock()
		s.release(err)
		return
	}
	if w.ch == nil {
		w.ch = make(chan struct{})
	}
	ch, freed := w.ch, s.freed
	s.wanting.Add(1)
	s.unlock()
	select {
	case <-ch:
	case <-dl:
	case <-freed:
	}
	s.mu.Lock()
	s.wanting.Add(-1)
}

// closed reports whether ch (not nil) is closed.
func closed(ch <-chan struct{}) bool {
	if ch == nil {
		return false
	}
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// release gives up the reader's role: to the users waiting on channels,
// who are woken to take it, and to the background goroutine, which takes
// it when nobody has after its delay. err is receive's: once the link is
// closed, nobody receives and users wait on channels only.
func (s *Stack) release(err error) {
	s.reading = false
	if err != nil {
		s.direct = nil
	}
	s.readW, s.readDl = nil, nil
	s.released = time.Now()
	if s.wanting.Load() > 0 {
		// They may no longer need to wait once woken: the timer below
		// then makes sure somebody receives.
		close(s.freed)
		s.freed = make(chan struct{})
	}
	if !s.bgArmed && !s.closed && s.direct != nil {
		s.bgArmed = true
		s.bgTimer.Reset(s.bgDelay)
	}
}

// background runs when its delay has passed since the reader's role was
// last given up: when nobody has taken it since, it receives until a user
// waits on a channel (and should take the role) or the link closes.
func (s *Stack) background() {
	s.mu.Lock()
	s.bgArmed = false
	if s.closed || s.direct == nil {
		s.mu.Unlock()
		return
	}
	if idle := time.Since(s.released); s.reading || idle < s.bgDelay {
		// Users keep receiving: check less often. While one has the role,
		// its release sets the timer again.
		s.bgDelay = min(2*s.bgDelay, backgroundMax)
		if !s.reading {
			s.bgArmed = true
			s.bgTimer.Reset(s.bgDelay - idle)
		}
		s.mu.Unlock()
		return
	}
	s.bgDelay = backgroundDelay // the link was left unread: check often again
	s.reading = true
	s.unlock()
	err := s.direct.receive(s.rbuf, s.bgRecv, nil)
	s.mu.Lock()
	s.release(err)
	s.unlock()
}

// recvUser is what a user holding the reader's role does with a segment
// (Stack.userRecv, made once: a closure per wait would be allocated).
func (s *Stack) recvUser(from netip.AddrPort, seg []byte) verdict {
	s.mu.Lock()
	s.inInput = true
	s.inputLocked(from, seg)
	s.inInput = false
	woken, dl, stop := s.readWoken, s.readDl, s.readStop
	s.unlock()
	if woken || closed(dl) {
		return stop
	}
	return recvMore
}

// pollMax bounds how many times in a row a receiving user looks at an
// empty socket again, letting the other goroutines run in between, before
// it waits in the runtime's poller (some tens of µs). It does so only
// while other users of the stack wait for the reader's role (pollAgain):
// the segments they wait for come through it, and each wait in the poller
// costs the wakeup of a thread when the next one arrives, while a
// processor idles. With it, four concurrent handshake+close loops on one
// stack went from 38,300-38,800 to 41,100-42,100 cycles/s in
// BenchmarkHandshakeClose, and from 0.88-1.00x to 1.18-1.19x the kernel's
// rate in go run ./bench -parts endpoint. A user alone on its stack (one
// request/response connection, one dialer) waits at once, as before:
// polling there keeps busy a processor that the other side's goroutine
// needs, and in trials it tripled the round trip's 99th percentile and
// cut one dialer's rate to a third. An interrupt (a deadline, Close) that
// comes while it polls is seen when the polling ends, that much later.
const pollMax = 100

// pollAgain says whether a user holding the reader's role, finding the
// socket empty, should look again instead of waiting: while other users
// wait for the role (pollMax).
func (s *Stack) pollAgain() bool { return s.wanting.Load() > 0 }

// recvBackground is what the background goroutine does with a segment:
// it stops when a user waits, to leave it the role.
func (s *Stack) recvBackground(from netip.AddrPort, seg []byte) verdict {
	s.mu.Lock()
	s.inInput = true
	s.inputLocked(from, seg)
	s.inInput = false
	stop := s.wanting.Load() > 0
	s.unlock()
	if stop {
		return recvStop
	}
	return recvMore
}

// kick interrupts the goroutine receiving for the stack when it waits
// for the deadline channel ch, which the caller has just closed, and is
// not itself the caller (inside input, it checks ch once input returns).
func (s *Stack) kick(ch <-chan struct{}) {
	if s.reading && !s.inInput && ch != nil && s.readDl == ch {
		s.direct.interrupt()
	}
}
