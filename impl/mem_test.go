package impl

import (
	"net/netip"
	"testing"
	"time"
)

// TestMemObservedIsScheduled: a segment sent by another goroutine is
// queued for delivery at its send time before the observer sees it, so
// that a run which waits to observe it and then advances the fake clock
// (check/live/internal/evidence's rigs) has it delivered in that step.
// The observer here holds the sender up after seeing the segment; when
// the tap ran before the segment was queued, the clock moved first and the
// segment arrived a step late.
func TestMemObservedIsScheduled(t *testing.T) {
	clock := NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	n, err := NewMemNet(clock, time.Millisecond, Faults{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	a, err := n.Link(netip.MustParseAddr("192.0.2.1"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := n.Link(netip.MustParseAddr("192.0.2.2"))
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan time.Time, 1)
	b.Start(func(netip.AddrPort, []byte) { got <- clock.Now() })
	seen := make(chan struct{})
	n.Observe(func(MemPacket) {
		close(seen)
		time.Sleep(20 * time.Millisecond) // the sender is slow to go on
	})
	sent := clock.Now()
	go a.Send(b.LocalAddr(), []byte{1})
	<-seen
	clock.Advance(time.Millisecond)
	select {
	case at := <-got:
		if want := sent.Add(time.Millisecond); !at.Equal(want) {
			t.Fatalf("delivered at %v, want %v", at, want)
		}
	default:
		t.Fatal("the segment observed was not delivered in the step after it was sent")
	}
}
