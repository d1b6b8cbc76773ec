package conform

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/tcpcheck/tcpcheck/spec"
)

// equivalent lists the single-row mutations that no check can tell apart
// from the correct table on this endpoint, each with the argument.
var equivalent = map[string]string{
	`"LISTEN + CLOSE" without delete TCB`: "impl's Listener.Close takes the listener out of the stack whatever " +
		"the row does, and a listening TCB holds nothing another event reads",

	`"SYN-SENT + rcv SYN,ACK [AckOK]" without send text`:          sendTextArg,
	`"SYN-RECEIVED + rcv ACK [SeqOK & AckOK]" without send text`:  sendTextArg,
	`"SYN-RECEIVED + rcv data [SeqOK & AckOK]" without send text`: sendTextArg,
	`"SYN-RECEIVED + rcv FIN [SeqOK & AckOK]" without send text`:  sendTextArg,

	`"FIN-WAIT-2 + rcv ACK [SeqOK & AckInRange]" without process-ACK`:  finWait2Arg,
	`"FIN-WAIT-2 + rcv data [SeqOK & AckInRange]" without process-ACK`: finWait2Arg,
	`"FIN-WAIT-2 + rcv FIN [SeqOK & AckInRange]" without process-ACK`:  finWait2Arg,

	`"LAST-ACK + rcv ACK [SeqOK & AckInRange & FinAcked]" without process-ACK`: "it goes to CLOSED and deletes " +
		"the TCB, so SND.UNA is never read again",

	`"FIN-WAIT-2 + USER-TIMEOUT" without signal timeout`: "impl runs the user timer in FIN-WAIT-2 only for an " +
		"orphaned connection (nothing is unacknowledged there): its user has called Close, and every later " +
		"call returns net.ErrClosed, so no user is left to be told",
}

const (
	sendTextArg = "impl's API queues no text before ESTABLISHED: Dial returns and Accept hands out a connection only " +
		"once it is established, so a user cannot SEND in SYN-SENT or SYN-RECEIVED and the row's send text " +
		"finds nothing queued (the table's queue-text path is reachable in the model, not through this API)"
	finWait2Arg = "in FIN-WAIT-2 our FIN is acknowledged, so SND.UNA = SND.NXT: no ACK can acknowledge anything " +
		"new, and no text can be sent any more, so the window update goes unused"
)

// mutationPlans is how many random plans (seeds 0, 1, ...) a mutation of
// the systematic test may survive after the targeted plans.
const mutationPlans = 2000

// TestEverySingleRowMutation mutates every row that the suite's plans
// (seeds 0-299 and the targeted plans) reach, in every single way: to a
// wrong next state (CLOSED, or ESTABLISHED for rows that go to CLOSED)
// and without each of its actions in turn. Each mutant endpoint runs the
// targeted plans and then random plans until a check fails. A mutation
// that survives must be in the equivalent list above, argued there. The
// test logs the mutation score and which checks caught what.
func TestEverySingleRowMutation(t *testing.T) {
	plans := mutationPlans
	if testing.Short() {
		plans = 300
	}
	reached := map[int]bool{}
	rowsSeen = func(r int) { reached[r] = true }
	for seed := range 300 {
		if err := runPlan(planGen.Example(seed), config{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range targeted {
		if err := runPlan(p.plan, config{}); err != nil {
			t.Fatal(err)
		}
	}
	rowsSeen = nil
	base := spec.Table()
	tried, caught := 0, 0
	var survivors []string
	byCheck := map[string]int{}
	for i, r := range base {
		if !reached[i] {
			continue
		}
		for _, m := range singleRowMutations(base, i) {
			tried++
			check := catch(m.rows, plans)
			if check == "" {
				survivors = append(survivors, m.name)
				if _, ok := equivalent[m.name]; !ok {
					t.Errorf("mutation %s is not caught by the targeted plans and %d random plans, and not argued equivalent", m.name, plans)
				}
				continue
			}
			caught++
			byCheck[check]++
			if _, ok := equivalent[m.name]; ok {
				t.Logf("mutation %s, listed as equivalent, was caught by %s: remove it from the list", m.name, check)
			}
			_ = r
		}
	}
	var checks []string
	for c, n := range byCheck {
		checks = append(checks, fmt.Sprintf("%s %d", c, n))
	}
	slices.Sort(checks)
	var argued []string
	for _, s := range survivors {
		argued = append(argued, s+": "+equivalent[s])
	}
	t.Logf("rows reached: %d of %d; single-row mutations: %d; caught: %d; survivors argued equivalent: %d; "+
		"mutation score %d/%d = %.1f%% (%d/%d = %.1f%% of the non-equivalent)\ncaught by: %s\nequivalent:\n  %s",
		len(reached), len(base), tried, caught, len(survivors), caught, tried, 100*float64(caught)/float64(tried),
		caught, tried-len(survivors), 100*float64(caught)/float64(max(tried-len(survivors), 1)),
		strings.Join(checks, ", "), strings.Join(argued, "\n  "))
}

type namedRows struct {
	name string
	rows []spec.Row
}

// singleRowMutations returns the valid mutations of row i of base.
func singleRowMutations(base []spec.Row, i int) []namedRows {
	r := base[i]
	var out []namedRows
	wrong := spec.Closed
	if r.To == spec.Closed {
		wrong = spec.Established
	}
	rows := spec.Clone(base)
	rows[i].To = wrong
	out = append(out, namedRows{fmt.Sprintf("%q goes to %s instead of %s", r.Name(), wrong, r.To), rows})
	for _, a := range r.Do {
		if a == spec.Drop {
			continue
		}
		rows := spec.Clone(base)
		rows[i].Do = slices.DeleteFunc(rows[i].Do, func(b spec.Action) bool { return b == a })
		if len(rows[i].Do) == 0 {
			rows[i].Do = []spec.Action{spec.Drop}
		}
		out = append(out, namedRows{fmt.Sprintf("%q without %s", r.Name(), a), rows})
	}
	return slices.DeleteFunc(out, func(m namedRows) bool { return spec.Validate(m.rows) != nil })
}

// catch runs the endpoint with rows on the targeted plans and then on up
// to n random plans, and returns the check that failed first, or "".
func catch(rows []spec.Row, n int) string {
	try := func(p plan) string {
		err := runPlan(p, config{table: rows})
		var f *failure
		switch {
		case errors.As(err, &f):
			return f.check
		case err != nil:
			return "harness: " + err.Error()
		}
		return ""
	}
	for _, p := range targeted {
		if c := try(p.plan); c != "" {
			return c
		}
	}
	for s := range n {
		if c := try(planGen.Example(s)); c != "" {
			return c
		}
	}
	return ""
}
