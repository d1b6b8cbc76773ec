package impl

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// budget stretches base, a bound for an idle machine, by the machine's
// load: the 1-minute load average per GOMAXPROCS (from /proc/loadavg where
// there is one), at least 1 and at most 8 times. Tests on real time bound
// their waits with it, so that busy CPUs beside them change how long they
// take, not whether they pass.
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
