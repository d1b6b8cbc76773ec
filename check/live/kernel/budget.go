//go:build linux

package kernel

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// How long the suite waits.
//
// Every wait of a scenario is for an event: a packet crossing the link, a
// transition of our endpoint, a socket call returning, or (for what only
// /proc/net/tcp shows, such as a kernel timer firing) a state read again at
// each such event and at least every pollEvery. Its bound is a budget, not
// a guess of how long the event takes: a base for an idle machine,
// stretched by how many runnable threads each of our GOMAXPROCS has to
// share a CPU with, so that busy CPUs beside the suite change its duration,
// not its verdicts.

// pollEvery is how often a wait looks again without an event, for changes
// only the kernel's timers make.
const pollEvery = 20 * time.Millisecond

// budget stretches base by the machine's load: the 1-minute load average
// per GOMAXPROCS, at least 1 and at most 8 times.
func budget(base time.Duration) time.Duration {
	f := 1.0
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if fields := strings.Fields(string(b)); len(fields) > 0 {
			if load, err := strconv.ParseFloat(fields[0], 64); err == nil {
				f = 1 + load/float64(runtime.GOMAXPROCS(0))
			}
		}
	}
	return time.Duration(float64(base) * min(f, 8))
}

// stepWait bounds a checkpoint or a wait for a packet: 5 s on an idle
// machine.
func stepWait() time.Duration { return budget(5 * time.Second) }

// ioWait bounds every blocking call of a script: 10 s on an idle machine.
func ioWait() time.Duration { return budget(10 * time.Second) }

// kick tells the waits that something happened. It never blocks.
func (e *env) kick() {
	select {
	case e.changed <- struct{}{}:
	default:
	}
}

// await waits for the next event (or pollEvery).
func (e *env) await() {
	t := time.NewTimer(pollEvery)
	defer t.Stop()
	select {
	case <-e.changed:
	case <-t.C:
	}
}
