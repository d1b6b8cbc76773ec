package impl

import (
	"syscall"
	"testing"
	"time"
)

// TestWaitingReadersIdle blocks two readers of one stack on connections
// that receive no text: one holds the reader's role and, since the other
// waits for it, polls the empty socket (pollMax) after each segment before
// it waits in the poller. The polling must end: over 300 ms the process
// may use only a small part of one processor, where a reader that kept
// polling would use all of it.
func TestWaitingReadersIdle(t *testing.T) {
	a, b, ca, _, l := directPair(t)
	ca2, _ := connect(t, a, b, l)
	done := make(chan error, 2)
	for _, c := range []*Conn{ca, ca2} {
		go func() {
			_, err := c.Read(make([]byte, 10))
			done <- err
		}()
	}
	bothBlocked(t, a)
	// Text from a: b's ACK of it (delayed, at most 40 ms) wakes neither
	// reader, but the one receiving takes it up and then polls.
	if _, err := ca.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	cpu := func() time.Duration {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			t.Fatal(err)
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	const span = 300 * time.Millisecond
	before, start := cpu(), time.Now()
	time.Sleep(span)
	used, took := cpu()-before, time.Since(start)
	if used > took/5 {
		t.Errorf("two idle readers used %v of CPU in %v", used, took)
	}
	ca.Abort()
	ca2.Abort()
	for range 2 {
		if err := <-done; err == nil {
			t.Error("a Read of an aborted connection returned no error")
		}
	}
}
