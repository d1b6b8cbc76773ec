package explain

import (
	"github.com/tcpcheck/tcpcheck/model"
	"github.com/tcpcheck/tcpcheck/spec"
)

// Helpers to write goals. Host 0 is A, host 1 is B.

// both reports whether both hosts are in state s.
func both(st model.State, s spec.State) bool {
	return st.Hosts[0].State == s && st.Hosts[1].State == s
}

// entered returns bit when host h is in state s after the step and was
// not before it.
func entered(h int, s spec.State, bit uint8) func(before, after model.State, st model.Step) uint8 {
	return func(before, after model.State, st model.Step) uint8 {
		if before.Hosts[h].State != s && after.Hosts[h].State == s {
			return bit
		}
		return 0
	}
}

// anyMark combines mark functions.
func anyMark(fs ...func(before, after model.State, st model.Step) uint8) func(before, after model.State, st model.Step) uint8 {
	return func(before, after model.State, st model.Step) uint8 {
		var m uint8
		for _, f := range fs {
			m |= f(before, after, st)
		}
		return m
	}
}

// stepMark returns bit for a step that satisfies p.
func stepMark(bit uint8, p func(before, after model.State, st model.Step) bool) func(before, after model.State, st model.Step) uint8 {
	return func(before, after model.State, st model.Step) uint8 {
		if p(before, after, st) {
			return bit
		}
		return 0
	}
}

// settled reports whether the network is empty.
func settled(st model.State) bool { return len(st.Net) == 0 }

// closedPair reports an orderly end of a close by A: A in TIME-WAIT (or
// already CLOSED), B CLOSED, nothing in flight.
func closedPair(st model.State) bool {
	a := st.Hosts[0].State
	return (a == spec.TimeWait || a == spec.Closed) && st.Hosts[1].State == spec.Closed && settled(st)
}
