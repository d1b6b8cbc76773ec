package impl

import (
	"io"
	"runtime"
	"testing"
	"time"
)

// TestLargeWritesReuseTheQueueBuffer writes 1 MiB at a time on a
// connection with 4 MiB buffers, as a bulk sender does. Each Write lets
// the stack queue a window's worth of 64 KiB segments in one lock holding;
// the buffer they are encoded into must be kept from one burst to the
// next. A stack that drops it allocates and grows a new one for every
// burst, copying each segment again (it used to: 1.2 GB/s against 4.2 in
// BenchmarkBulk with 1 MiB writes).
func TestLargeWritesReuseTheQueueBuffer(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	_, _, ca, cb, _ := directPairWith(t, Options{MSS: 65495, RecvBuffer: 4 << 20, SendBuffer: 4 << 20})
	cb.SetReadDeadline(time.Now().Add(budget(20 * time.Second))) // fail, not hang, if the writer stops
	done := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, cb)
		done <- err
	}()
	ca.SetWriteDeadline(time.Now().Add(budget(20 * time.Second))) // fail, not hang, if the reader stops
	chunk := make([]byte, 1<<20)
	write := func(n int) {
		t.Helper()
		for range n {
			if _, err := ca.Write(chunk); err != nil {
				t.Fatal(err)
			}
		}
	}
	write(16) // warm up: buffers grown once, timers and goroutines made
	retx := ca.s.Stats().Retransmits
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	const n = 64
	write(n)
	runtime.ReadMemStats(&m1)
	retx = ca.s.Stats().Retransmits - retx
	// A stack that drops the buffer allocates about 1,500 objects and
	// 235 MB here, every octet sent encoded into new memory; one that keeps
	// it, from 9 to 35 objects of a few KB: a channel each time a writer
	// waits for room or for a flush, which a busy machine makes it do more
	// often. So allow 4 objects per Write, and octets for the buffer to
	// grow twice more (a burst larger than any before grows it to 8 MiB,
	// which is not a leak). A lost datagram (a busy machine overflowing
	// the socket's buffer) makes the receiver hold each segment after it
	// in a buffer of its own: allow those, a window's worth per
	// retransmission.
	objs, octets := m1.Mallocs-m0.Mallocs, m1.TotalAlloc-m0.TotalAlloc
	const held = 2 * 64 // segments a retransmission may leave held, each in a buffer of its own
	limit, octetLimit := 4*n+held*retx, 24<<20+held*retx*(64<<10)
	t.Logf("%d objects, %d octets allocated in %d Writes; %d segments retransmitted", objs, octets, n, retx)
	if objs > limit || octets > octetLimit {
		t.Errorf("%d 1 MiB Writes allocated %d objects and %d octets (%d segments retransmitted), want at most %d and %d",
			n, objs, octets, retx, limit, octetLimit)
	}
	ca.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
