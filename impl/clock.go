package impl

import (
	"slices"
	"sync"
	"time"
)

// Clock is the source of time for a Stack: its timers (retransmission,
// 2MSL, user timeout), deadlines, RTT samples and ISN clock all read it.
// Tests inject a FakeClock to make time an input.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f in its own goroutine (or, for a FakeClock, in
	// the goroutine that advances the clock) once d has elapsed.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a timer made by a Clock's AfterFunc.
type Timer interface {
	// Stop prevents the timer from firing; it reports whether it did so.
	Stop() bool
	// Reset makes the timer fire after d; it reports whether the timer
	// had been active.
	Reset(d time.Duration) bool
}

// RealClock is the wall clock of package time.
type RealClock struct{}

// Now returns time.Now().
func (RealClock) Now() time.Time { return time.Now() }

// AfterFunc is time.AfterFunc.
func (RealClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// FakeClock is a Clock that moves only when Advance is called. Timers fire
// in the order of their deadlines (ties in the order they were set), in the
// goroutine that calls Advance, with no lock of the clock held.
type FakeClock struct {
	mu     sync.Mutex
	now    time.Time
	seq    uint64
	timers []*fakeTimer // pending, unordered
}

// NewFakeClock returns a FakeClock reading start.
func NewFakeClock(start time.Time) *FakeClock { return &FakeClock{now: start} }

type fakeTimer struct {
	c   *FakeClock
	f   func()
	at  time.Time
	seq uint64
	on  bool
}

// Now returns the clock's current time.
func (c *FakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// AfterFunc arranges for f to run when the clock has advanced by d.
func (c *FakeClock) AfterFunc(d time.Duration, f func()) Timer {
	t := &fakeTimer{c: c, f: f}
	t.Reset(d)
	return t
}

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := t.on
	t.c.remove(t)
	return was
}

func (t *fakeTimer) Reset(d time.Duration) bool {
	c := t.c
	c.mu.Lock()
	defer c.mu.Unlock()
	was := t.on
	c.remove(t)
	c.seq++
	t.at, t.seq, t.on = c.now.Add(max(d, 0)), c.seq, true
	c.timers = append(c.timers, t)
	return was
}

func (c *FakeClock) remove(t *fakeTimer) {
	if !t.on {
		return
	}
	t.on = false
	if i := slices.Index(c.timers, t); i >= 0 {
		c.timers = slices.Delete(c.timers, i, i+1)
	}
}

// next removes and returns the earliest timer due at or before limit.
func (c *FakeClock) next(limit time.Time) *fakeTimer {
	c.mu.Lock()
	defer c.mu.Unlock()
	var best *fakeTimer
	for _, t := range c.timers {
		if t.at.After(limit) {
			continue
		}
		if best == nil || t.at.Before(best.at) || t.at.Equal(best.at) && t.seq < best.seq {
			best = t
		}
	}
	if best != nil {
		c.remove(best)
		if best.at.After(c.now) {
			c.now = best.at
		}
	}
	return best
}

// Advance moves the clock forward by d, firing every timer that falls due
// on the way, each with the clock reading its deadline. Timers that firing
// sets within the interval fire too.
func (c *FakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	limit := c.now.Add(d)
	c.mu.Unlock()
	for {
		t := c.next(limit)
		if t == nil {
			break
		}
		t.f()
	}
	c.mu.Lock()
	c.now = limit
	c.mu.Unlock()
}

// Pending returns the time until the earliest pending timer, and false
// when none is pending.
func (c *FakeClock) Pending() (time.Duration, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var best time.Time
	found := false
	for _, t := range c.timers {
		if !found || t.at.Before(best) {
			best, found = t.at, true
		}
	}
	return best.Sub(c.now), found
}
