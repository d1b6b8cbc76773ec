package linuxdut

import (
	"time"

	"github.com/tcpcheck/tcpcheck/spec"
)

// FullOnly is the reason given for a case that waits for a timer Linux
// fixes long when the suite runs without --full (verdict "needs --full").
const FullOnly = "Linux's TIME-WAIT lasts a fixed 60 s (TCP_TIMEWAIT_LEN), no sysctl shortens it"

// FullDeadline bounds a case of a --full run: TIME-WAIT's 60 s, and the
// tester's margin of 40% after it.
const FullDeadline = 150 * time.Second

// WaitsFixedTimer reports whether a case whose moves make these events
// waits for a timer that Linux keeps long whatever is asked: the end of
// TIME-WAIT (RFC 9293 §3.6, 2MSL). Such a case runs only with --full.
func WaitsFixedTimer(events []spec.Event) bool {
	for _, e := range events {
		if e == spec.TimeWaitTimeout {
			return true
		}
	}
	return false
}
