package explain

import (
	"slices"

	"github.com/tcpcheck/tcpcheck/model"
	"github.com/tcpcheck/tcpcheck/spec"
)

// Page is one question and the traces that answer it. Each page is a file
// of check/explain/pages (see [ParsePage]).
type Page struct {
	Slug     string // file name under docs/questions/, without ".md"
	File     string // the page file it was read from
	Order    int    // the page's place in the index
	Question string
	Answer   string // a short plain reading, Markdown
	Scenes   []Scene
	// Linux names the scenarios of the kernel suite (check/live/kernel) that
	// run the same case against Linux; their results are in docs/linux.md.
	Linux []string
	// LinuxCases are the cases of the generated conformance suite
	// (check/live/tester) that run the same exchange against Linux.
	LinuxCases []LinuxCase
	// Related names other pages by slug.
	Related []string
	// Group is the page's group in the index, one of Groups ("" for
	// pages that name none).
	Group string
	// Runs are the scenes shown from runs rather than from the model.
	Runs []RunScene
}

// LinuxCase is a case of the generated conformance suite (package
// check/live/tester, `tcpcheck conform --dut linux --case NAME`) that a
// page cites as what Linux does: run against the Linux kernel, it agrees
// with the table, or shows the deviation of docs/linux.md named here. This
// package only carries the citation; the tests of package
// check/live/internal/evidence check that the case exists and, as root,
// run it against Linux and check its verdict.
type LinuxCase struct {
	Name      string // the case's name: its row, then " / " and the variant
	Deviation string // the ID of the registered deviation it shows; "" when Linux agrees
}

// Groups are the groups of the index, in its order.
var Groups = []string{"opening", "closing", "in use"}

// RunScene is a scene of a page shown from a run of the endpoint or of
// Linux: the fragment check/explain/runs/RUN.md, which go generate renders
// from the run's record (package check/live/internal/evidence, whose
// tests run it again and check the page's claims). At is the number of
// model scenes before it on the page.
type RunScene struct {
	Title   string
	Run     string
	Reading string
	At      int
}

// Scene is one trace of a page. Exactly one of Goal and Mutant says how the
// trace is found:
//   - Goal alone: the shortest path of the correct table in Config that
//     reaches Goal;
//   - Mutant alone: the mutant's shortest counterexample in
//     model.MutantConfig(Mutant), found by check.Explore;
//   - Mutant and Goal: the correct table in the mutant's configuration,
//     making the moves of the mutant's counterexample where it can (the
//     same user calls, deliveries, losses, ticks and timers), then the
//     shortest continuation that reaches Goal.
type Scene struct {
	Title   string
	Reading string // Markdown, after the trace
	Config  model.Config
	// ConfigOf names a mutant whose configuration (model.MutantConfig)
	// the scene uses instead of Config.
	ConfigOf string
	Goal     *Goal
	Mutant   string
	Correct  bool // with Mutant: run the correct table (see above)
}

// GoalNames returns the names of the registered goals, sorted: the names a
// page file's "goal:" line may give.
func GoalNames() []string {
	var out []string
	for n := range namedGoals {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// namedGoals are the goals page files name ("goal: NAME"). A new page whose
// goal is one of these is one new file; a new goal is one entry here.
// Host 0 is A, host 1 is B.
var namedGoals = map[string]Goal{
	// The run winds down: both sides CLOSED or LISTEN, users done, nothing
	// in flight (System.Quiescent).
	"quiescent": {Name: "both sides are done and the network is empty", Quiescent: true},

	"both-established": {Name: "both sides ESTABLISHED", Done: func(st model.State, _ uint8) bool {
		return both(st, spec.Established) && settled(st)
	}},

	"four-way-close": {Name: "A in TIME-WAIT, B CLOSED, nothing in flight",
		Marks: entered(0, spec.FinWait2, 1),
		Done: func(st model.State, m uint8) bool {
			return m&1 != 0 && st.Hosts[0].State == spec.TimeWait && closedPair(st)
		}},

	"half-close-data": {Name: "A has read B's octet, written after B acknowledged A's FIN, A in TIME-WAIT, B CLOSED",
		Marks: stepMark(1, func(before, after model.State, st model.Step) bool {
			return st.Kind == model.User && st.Host == 1 && before.Hosts[1].State == spec.CloseWait && !before.Hosts[1].AckOwed &&
				before.Hosts[1].Written < after.Hosts[1].Written
		}),
		Done: func(st model.State, m uint8) bool {
			return m&1 != 0 && st.Hosts[0].Delivered == 1 && st.Hosts[0].State == spec.TimeWait && closedPair(st)
		}},

	"a-read-b-octet-quiescent": {Name: "A has read B's octet, both sides done", Quiescent: true,
		Done: func(st model.State, _ uint8) bool { return st.Hosts[0].Delivered == 1 }},

	"simultaneous-open": {Name: "both sides ESTABLISHED, both having been in SYN-RECEIVED",
		Marks: anyMark(entered(0, spec.SynReceived, 1), entered(1, spec.SynReceived, 2)),
		Done: func(st model.State, m uint8) bool {
			return m == 3 && both(st, spec.Established) && settled(st)
		}},

	"simultaneous-close": {Name: "both sides were in CLOSING together, and both are in TIME-WAIT",
		Marks: stepMark(1, func(_, after model.State, _ model.Step) bool { return both(after, spec.Closing) }),
		Done: func(st model.State, m uint8) bool {
			return m&1 != 0 && both(st, spec.TimeWait) && settled(st)
		}},

	"fin-wait-1-to-time-wait": {Name: "A went from FIN-WAIT-1 straight to TIME-WAIT, B CLOSED",
		Marks: stepMark(1, func(before, after model.State, _ model.Step) bool {
			return before.Hosts[0].State == spec.FinWait1 && after.Hosts[0].State == spec.TimeWait
		}),
		Done: func(st model.State, m uint8) bool {
			return m&1 != 0 && st.Hosts[0].State == spec.TimeWait && st.Hosts[1].State == spec.Closed
		}},

	"ack-lost-fin-wait-1-to-time-wait": {Name: "B's ACK of A's FIN was lost, A went from FIN-WAIT-1 straight to TIME-WAIT",
		Marks: anyMark(
			stepMark(1, func(before, _ model.State, st model.Step) bool {
				return st.Kind == model.Drop && st.Seg.From == 1 && st.Seg.Flags == spec.ACK && before.Hosts[0].State == spec.FinWait1
			}),
			stepMark(2, func(before, after model.State, _ model.Step) bool {
				return before.Hosts[0].State == spec.FinWait1 && after.Hosts[0].State == spec.TimeWait
			})),
		Done: func(st model.State, m uint8) bool {
			return m == 3 && st.Hosts[0].State == spec.TimeWait && st.Hosts[1].State == spec.Closed && settled(st)
		}},

	"synack-retransmitted": {Name: "B retransmitted its SYN,ACK and both sides are ESTABLISHED",
		Marks: stepMark(1, func(before, _ model.State, st model.Step) bool {
			return st.Kind == model.Timer && st.Host == 1 && st.Event == spec.RetransmitTimeout && before.Hosts[1].State == spec.SynReceived
		}),
		Done: func(st model.State, m uint8) bool {
			return m&1 != 0 && both(st, spec.Established) && settled(st)
		}},

	"synack-retries-exhausted": {Name: "B gave up in SYN-RECEIVED (R2)",
		Marks: stepMark(1, func(before, _ model.State, st model.Step) bool {
			return st.Kind == model.Timer && st.Host == 1 && st.Event == spec.RetriesExhausted && before.Hosts[1].State == spec.SynReceived
		}),
		Done: func(st model.State, m uint8) bool { return m&1 != 0 }},

	"third-segment-lost": {Name: "the third segment was lost and both sides are ESTABLISHED",
		Marks: stepMark(1, lostThirdSegment),
		Done: func(st model.State, m uint8) bool {
			return m&1 != 0 && both(st, spec.Established) && settled(st)
		}},

	"third-segment-lost-data-acks": {Name: "the third segment was lost and A's data took B to ESTABLISHED",
		Marks: anyMark(
			stepMark(1, lostThirdSegment),
			stepMark(2, func(before, after model.State, st model.Step) bool {
				return st.Kind == model.Deliver && st.Host == 1 && st.Seg.Len > 0 &&
					before.Hosts[1].State == spec.SynReceived && after.Hosts[1].State == spec.Established
			})),
		Done: func(st model.State, m uint8) bool { return m == 3 && settled(st) }},

	"abort-reset": {Name: "A aborted and B's user was told \"connection reset\"",
		Marks: stepMark(1, func(before, _ model.State, st model.Step) bool {
			return st.Kind == model.User && st.Host == 0 && st.Call == "abort" && before.Hosts[0].State == spec.Established
		}),
		Done: func(st model.State, m uint8) bool {
			return m&1 != 0 && st.Hosts[1].Signal == "reset" && settled(st)
		}},

	"challenge-ack": {Name: "an injected in-window RST drew a challenge ACK and the connection survived",
		Marks: stepMark(1, func(before, after model.State, st model.Step) bool {
			return st.Kind == model.Inject && before.Hosts[st.Host].State == spec.Established &&
				after.Hosts[st.Host].State == spec.Established && st.NSent > 0 && st.Sent[0].Flags == spec.ACK
		}),
		Done: func(st model.State, m uint8) bool { return m&1 != 0 }},
}

// lostThirdSegment matches the loss of A's ACK that would complete B's
// handshake.
func lostThirdSegment(before, _ model.State, st model.Step) bool {
	return st.Kind == model.Drop && st.Seg.From == 0 && st.Seg.Flags == spec.ACK && before.Hosts[1].State == spec.SynReceived
}
