package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"time"
)

// progress rewrites the explorer's progress lines for a person watching a
// long run: a state count that only grows (the explorer's numbering phase
// reports the states placed so far, fewer than the line before counted),
// the rate, depth and queue (the frontier still to expand), the time
// spent and, where a limit makes it knowable, the time left. Lines it does
// not know pass through unchanged.
type progress struct {
	w         io.Writer
	maxStates int64
	timeout   time.Duration
	start     time.Time

	mu      sync.Mutex
	partial []byte
	states  int64
	depth   int64
	queue   int64
	lastN   int64
	lastAt  time.Time
	rate    float64
	stopped bool // Ctrl-C: the explorer's "done" line is not a finished run
}

// interrupt marks the run as stopped by Ctrl-C.
func (p *progress) interrupt() {
	p.mu.Lock()
	p.stopped = true
	p.mu.Unlock()
}

func newProgress(w io.Writer, maxStates int64, timeout time.Duration) *progress {
	now := time.Now()
	return &progress{w: w, maxStates: maxStates, timeout: timeout, start: now, lastAt: now}
}

func (p *progress) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.partial = append(p.partial, b...)
	for {
		i := bytes.IndexByte(p.partial, '\n')
		if i < 0 {
			break
		}
		line := string(p.partial[:i])
		p.partial = p.partial[i+1:]
		if _, err := io.WriteString(p.w, p.rewrite(line, time.Now())+"\n"); err != nil {
			return len(b), err
		}
	}
	return len(b), nil
}

// rewrite turns one of the explorer's progress lines into the line shown.
func (p *progress) rewrite(line string, now time.Time) string {
	var n, newStates, depth, frontier, heap int64
	var rate float64
	switch {
	case scan(line, "explore: %d states, %f states/s, depth %d, frontier %d, heap %d MiB", &n, &rate, &depth, &frontier, &heap):
		p.depth, p.queue = depth, frontier
	case scan(line, "explore: %d states, numbering the %d new states of depth %d, heap %d MiB", &n, &newStates, &depth, &heap):
		// Placed states plus the new ones being numbered: the count
		// the previous line showed, not fewer.
		n += newStates
		p.depth = depth - 1
	case p.stopped && strings.HasPrefix(line, "explore: done: "):
		return "explore: interrupted: " + strings.TrimPrefix(line, "explore: done: ")
	default:
		return line
	}
	n = max(n, p.states)
	if dt := now.Sub(p.lastAt).Seconds(); dt > 0.2 {
		p.rate = float64(n-p.lastN) / dt
		p.lastN, p.lastAt = n, now
	}
	p.states = n
	elapsed := now.Sub(p.start)
	s := fmt.Sprintf("explore: %d states, %.0f states/s, depth %d, queue %d, heap %d MiB, %s", n, p.rate, p.depth, p.queue, heap, seconds(elapsed))
	if left, why := p.left(n, elapsed); why != "" {
		s += fmt.Sprintf(", at most %s left (%s)", seconds(left), why)
	}
	return s
}

// left estimates the time until a limit stops the run; without a limit
// the size of the state space is unknown, and so is the time left.
func (p *progress) left(n int64, elapsed time.Duration) (time.Duration, string) {
	left, why := time.Duration(-1), ""
	if p.timeout > 0 {
		left, why = max(p.timeout-elapsed, 0), "--timeout "+p.timeout.String()
	}
	if p.maxStates > 0 && p.rate > 0 {
		d := time.Duration(float64(p.maxStates-min(n, p.maxStates)) / p.rate * float64(time.Second))
		if left < 0 || d < left {
			left, why = d, fmt.Sprintf("--max-states %d", p.maxStates)
		}
	}
	return left, why
}

// scan is fmt.Sscanf that reports whether every value was read.
func scan(line, format string, args ...any) bool {
	if !strings.HasPrefix(line, "explore: ") {
		return false
	}
	n, err := fmt.Sscanf(line, format, args...)
	return err == nil && n == len(args)
}

// notifyInterrupt is signal.Notify for os.Interrupt; tests replace it.
var notifyInterrupt = func(c chan<- os.Signal) (stop func()) {
	signal.Notify(c, os.Interrupt)
	return func() { signal.Stop(c) }
}

// onInterrupt calls f (once) on the first Ctrl-C until release is called;
// a second Ctrl-C after that ends the process as Ctrl-C does.
func onInterrupt(f func()) (release func()) {
	c := make(chan os.Signal, 1)
	stop := notifyInterrupt(c)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		select {
		case <-c:
			stop() // a second Ctrl-C is Go's default: the process ends
			f()
		case <-done:
		}
	})
	return func() {
		close(done)
		wg.Wait()
		stop()
	}
}
