package model

import "github.com/tcpcheck/tcpcheck/spec"

// Exclusion is an invariant that explains why rows of the table apply in
// no configuration: it excludes their premise. The coverage check verifies
// it on every state of every configuration of its family, so a row it
// excludes is unreachable for a reason that is checked, not written by
// hand; a table change that makes such a row reachable (a mutant that arms
// the 2MSL timer in FIN-WAIT-2) breaks the invariant with a trace.
type Exclusion struct {
	Property        // the invariant, checked like a property
	Why      string // why the rows it excludes cannot apply, given the invariant
	// Excludes reports whether the invariant excludes row r.
	Excludes func(r spec.Row) bool
}

func isEvent(r spec.Row, es ...spec.Event) bool {
	for _, e := range es {
		if r.On == e {
			return true
		}
	}
	return false
}

// Exclusions returns the invariants that exclude rows, in a stable order.
func Exclusions() []Exclusion {
	return []Exclusion{
		{
			Property: Property{Name: "NoTimerWithoutTCB",
				Doc:   "a host in CLOSED or LISTEN has SND.UNA = SND.NXT and no 2MSL timer armed",
				Holds: forHosts(func(w *world, h *host, i int) bool { return h.st.HasTCB() || (h.una == h.nxt && h.tw == 0) })},
			Why: "the retransmission timer and R2 run only while something is unacknowledged, the 2MSL timer only once armed, " +
				"and the user timeout only with a TCB (RFC 9293 §3.8.4: the timers belong to a connection)",
			Excludes: func(r spec.Row) bool {
				return (r.From == spec.Closed || r.From == spec.Listen) &&
					isEvent(r, spec.RetransmitTimeout, spec.RetriesExhausted, spec.TimeWaitTimeout, spec.UserTimeout)
			},
		},
		{
			Property: Property{Name: "AllAckedAfterFinAcked",
				Doc: "in FIN-WAIT-2 and TIME-WAIT everything the host sent is acknowledged (SND.UNA = SND.NXT)",
				Holds: forHosts(func(w *world, h *host, i int) bool {
					return (h.st != spec.FinWait2 && h.st != spec.TimeWait) || h.una == h.nxt
				})},
			Why: "the retransmission timer and R2 run only while something is unacknowledged (RFC 6298 §5, RFC 1122 §4.2.3.5)",
			Excludes: func(r spec.Row) bool {
				return (r.From == spec.FinWait2 || r.From == spec.TimeWait) && isEvent(r, spec.RetransmitTimeout, spec.RetriesExhausted)
			},
		},
		{
			Property: Property{Name: "TwoMSLOnlyInTimeWait",
				Doc:   "the 2MSL timer is armed only in TIME-WAIT",
				Holds: forHosts(func(w *world, h *host, i int) bool { return h.tw == 0 || h.st == spec.TimeWait })},
			Why: "2MSL fires only where it is armed, and only TIME-WAIT arms it (RFC 9293 §3.6)",
			Excludes: func(r spec.Row) bool {
				return r.On == spec.TimeWaitTimeout && r.From != spec.TimeWait && r.From != spec.Closed && r.From != spec.Listen
			},
		},
		{
			Property: Property{Name: "AckOwedOnlyWhereDelayed",
				Doc:   "a host owes a delayed ACK only in the states where the delayed-ACK timer runs (ESTABLISHED, FIN-WAIT-1, FIN-WAIT-2, CLOSE-WAIT)",
				Holds: forHosts(func(w *world, h *host, i int) bool { return !h.owed || h.st.Runs(spec.TimerDelayedAck) })},
			Why: "the delayed-ACK timer fires only while an ACK is owed, and only the states that receive text in sequence delay " +
				"an ACK, and ESTABLISHED the ACK of the FIN that takes it to CLOSE-WAIT; every other FIN is acknowledged at once " +
				"(RFC 1122 §4.2.3.2, RFC 9293 §3.8.6.3)",
			Excludes: func(r spec.Row) bool {
				return r.On == spec.DelayedAckTimeout && !r.From.Runs(spec.TimerDelayedAck)
			},
		},
		{
			Property: Property{Name: "NothingPastPeerFIN",
				Doc: "in CLOSE-WAIT, CLOSING, LAST-ACK and TIME-WAIT no segment of the peer in flight carries sequence space past RCV.NXT (the peer's FIN, already received, was the last it sent)",
				Holds: forHosts(func(w *world, h *host, i int) bool {
					switch h.st {
					case spec.CloseWait, spec.Closing, spec.LastAck, spec.TimeWait:
					default:
						return true
					}
					for j := range int(w.n) {
						sg := w.net[j]
						if int(segFrom(sg)) == i || segInc(sg) != w.round || segSpaceLen(sg) == 0 || segFlags(sg).Has(spec.SYN) {
							continue
						}
						if seq(h.rcv).LessThan(seq(segSeq(sg)).Add(segSpaceLen(sg))) {
							return false
						}
					}
					return true
				})},
			Why: "so in CLOSING only the attacker could send text or a FIN in the window, and one acknowledging our FIN " +
				"would advance SND.UNA, a guess the blind attacker does not make (RFC 5961 §5)",
			Excludes: func(r spec.Row) bool {
				return r.From == spec.Closing && isEvent(r, spec.SegData, spec.SegFIN) &&
					r.When.Mask.Has(spec.FinAcked) && r.When.Want.Has(spec.FinAcked) && r.When.Want.Has(spec.SeqOK)
			},
		},
		{
			Property: Property{Name: "KeepAliveOnlyWhenIdle",
				Doc: "a host counts keepalive probes only in a synchronized state before TIME-WAIT, and in FIN-WAIT-1, CLOSING and LAST-ACK its FIN is unacknowledged (SND.UNA ≠ SND.NXT)",
				Holds: forHosts(func(w *world, h *host, i int) bool {
					counted := h.probes == 0 || h.st.Synchronized() && h.st != spec.TimeWait
					switch h.st {
					case spec.FinWait1, spec.Closing, spec.LastAck:
						return counted && h.una != h.nxt
					}
					return counted
				})},
			Why: "the keepalive timer fires only on an idle connection, synchronized, before TIME-WAIT and with nothing unacknowledged " +
				"(RFC 1122 §4.2.3.6), so of its rows only those of ESTABLISHED, FIN-WAIT-2 and CLOSE-WAIT apply",
			Excludes: func(r spec.Row) bool {
				return isEvent(r, spec.KeepAliveTimeout, spec.KeepAliveExhausted) && !r.From.Runs(spec.TimerKeepAlive)
			},
		},
	}
}

// forHosts makes a key predicate of a predicate that must hold of both
// hosts.
func forHosts(f func(w *world, h *host, i int) bool) func(Key) bool {
	return func(k Key) bool {
		var w world
		w.decode(&k)
		return f(&w, &w.h[0], 0) && f(&w, &w.h[1], 1)
	}
}
