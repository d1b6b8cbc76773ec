package check

import (
	"slices"
	"strings"
	"testing"

	"github.com/tcpcheck/tcpcheck/model"
	"github.com/tcpcheck/tcpcheck/spec"
)

// TestSweepCatchesTheIssuesMutants: the single-row mutations issue 19
// found passing every property before the family and the new properties
// existed are now caught by a property, each with a counterexample that
// replays on the mutated table.
func TestSweepCatchesTheIssuesMutants(t *testing.T) {
	want := map[string][]string{
		// SYN-SENT accepts a RST without checking its ACK.
		"SYN-SENT + rcv RST [!AckOK]|to CLOSED instead of SYN-SENT": {model.SynSentResetNeedsAck, model.NoBlindReset},
		// TIME-WAIT does not restart 2MSL on a retransmitted FIN.
		"TIME-WAIT + rcv FIN|without start 2MSL": {model.TimeWaitRestarts},
		// A closed host ignores a segment instead of resetting its sender.
		"CLOSED + rcv ACK|without reply RST": {model.UnknownConnectionReset},
		// An in-window RST in CLOSING resets instead of a challenge ACK.
		"CLOSING + rcv RST [SeqOK & !RstExact]|to CLOSED instead of CLOSING": {model.NoBlindReset},
		// The properties the full sweep found missing, each with a
		// survivor of the sweep before it.
		"CLOSE-WAIT + rcv ACK [SeqOK & !AckInRange]|to ESTABLISHED instead of CLOSE-WAIT": {model.UnacceptableSegmentIgnored},
		"CLOSED + rcv FIN|with send ACK":                             {model.SegmentWithoutConnectionIgnored},
		"SYN-RECEIVED + RTO|without retransmit":                      {model.RetransmissionResendsEarliest},
		"CLOSE-WAIT + USER-TIMEOUT|with send RST":                    {model.TimeoutEndsConnection},
		"FIN-WAIT-2 + ABORT|without send RST":                        {model.AbortEndsConnection},
		"TIME-WAIT + PASSIVE-OPEN|with send ACK":                     {model.RefusedCallChangesNothing},
		"ESTABLISHED + ACTIVE-OPEN|to CLOSED instead of ESTABLISHED": {model.RefusedCallChangesNothing, model.SignalsMatchState},
		// The properties the second sweep found missing (model/cause.go),
		// each with a survivor of the sweep before them.
		"CLOSE-WAIT + rcv FIN [SeqOK & AckInRange]|with send ACK":                         {model.SegmentsHaveCause},
		"LISTEN + SEND|with send challenge-ACK":                                           {model.SegmentsHaveCause},
		"CLOSE-WAIT + rcv data [SeqOK & AckInRange]|to ESTABLISHED instead of CLOSE-WAIT": {model.StateMatchesSequence},
		"ESTABLISHED + CLOSE|to CLOSED instead of FIN-WAIT-1":                             {model.SegmentsHaveCause, model.StateMatchesSequence},
		"SYN-RECEIVED + rcv SYN,ACK [AckOK & SeqAtIRS & !Passive]|without send ACK":       {model.AcceptableSegmentProcessed},
		"LISTEN + SEND|without queue-text":                                                {model.AcceptableSegmentProcessed},
		"CLOSE-WAIT + rcv RST [RstExact]|without signal reset":                            {model.AcceptableResetCloses},
		"SYN-RECEIVED + CLOSE|with signal connected":                                      {model.SignalsHaveCause},
		"TIME-WAIT + ABORT|with signal reset":                                             {model.AbortEndsConnection},
		"SYN-RECEIVED + rcv data [SeqOK & !AckOK]|without reply RST":                      {model.UnacceptableSegmentIgnored},
	}
	rows := spec.Table()
	cov, err := FamilyCoverage()
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Sweep(SweepOptions{Coverage: cov, Filter: func(m Mutation) bool {
		_, ok := want[rows[m.Row].Name()+"|"+m.Change]
		return ok
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Outcomes) != len(want) {
		t.Fatalf("%d mutations ran, want %d", len(rep.Outcomes), len(want))
	}
	for _, o := range rep.Outcomes {
		key := rows[o.Row].Name() + "|" + o.Change
		if o.Verdict != "caught" || !slices.Contains(want[key], o.Property) {
			t.Errorf("%s: %s %s, want caught by %s", key, o.Verdict, o.Property, want[key])
			continue
		}
		m, err := FindMember(o.Member)
		if err != nil {
			t.Fatal(err)
		}
		sys, err := model.NewWithTable(m.Config, o.rows)
		if err != nil {
			t.Fatal(err)
		}
		if err := Replay(sys, o.Violation); err != nil {
			t.Errorf("%s: %v", key, err)
		}
	}
}

// TestMutationsAreSingleRow: every mutation changes exactly one row (a
// negated guard also its exclusive sibling), and the kinds are all there.
func TestMutationsAreSingleRow(t *testing.T) {
	rows := spec.Table()
	kinds := map[string]int{}
	for _, m := range Mutations(rows) {
		kinds[m.Kind]++
		changed := 0
		for i := range rows {
			a, b := rows[i], m.rows[i]
			if a.To != b.To || a.When != b.When || a.Actions() != b.Actions() {
				changed++
			}
		}
		if changed == 0 || changed > 2 || (changed == 2 && m.Kind != "negate guard") {
			t.Fatalf("%s %s: %d rows changed", rows[m.Row].Name(), m.Change, changed)
		}
	}
	for _, k := range []string{"next state", "drop action", "add action", "negate guard"} {
		if kinds[k] == 0 {
			t.Errorf("no %s mutation", k)
		}
	}
}

// TestSweepReasonsAreChecked: the sweep's reasons for a mutant it does not
// catch hold. A mutant of a row no member applies is "never applied", with
// the exclusion invariant that makes the row unreachable; a mutant whose
// successors equal the table's wherever its row applies is "same graph",
// and exploring it in full in every member that applies the row finds the
// correct table's state and transition counts; a mutation the sweep
// catches names a property, and one it cannot tell apart is not caught.
func TestSweepReasonsAreChecked(t *testing.T) {
	rows := spec.Table()
	type want struct{ verdict, equiv, why string }
	cases := map[string]want{
		// The delayed-ACK timer never fires in CLOSED.
		"CLOSED + DELACK|to LISTEN instead of CLOSED": {VerdictEquivalent, EquivNeverApplied, "AckOwedOnlyWhereDelayed"},
		// The model's users do not read the errors calls return.
		"ESTABLISHED + PASSIVE-OPEN|with error: does not exist": {VerdictEquivalent, EquivSameGraph, ""},
		// An in-window RST in ESTABLISHED resets instead of a challenge ACK.
		"ESTABLISHED + rcv RST [SeqOK & !RstExact]|to CLOSED instead of ESTABLISHED": {VerdictCaught, "", ""},
		// Differences the RFCs leave open: no RST when keepalive gives
		// up, and text acknowledged at once instead of with a delay.
		"ESTABLISHED + KEEPALIVE-OUT|without send RST":              {VerdictEquivalent, EquivAllowed, "RFC 1122 §4.2.3.6"},
		"ESTABLISHED + rcv data [SeqOK & AckInRange]|with send ACK": {VerdictEquivalent, EquivAllowed, "RFC 1122 §4.2.3.2"},
	}
	cov, err := FamilyCoverage()
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Sweep(SweepOptions{Coverage: cov, Filter: func(m Mutation) bool {
		_, ok := cases[rows[m.Row].Name()+"|"+m.Change]
		return ok
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Outcomes) != len(cases) {
		t.Fatalf("%d mutations ran, want %d", len(rep.Outcomes), len(cases))
	}
	for _, o := range rep.Outcomes {
		key := rows[o.Row].Name() + "|" + o.Change
		w := cases[key]
		if o.Verdict != w.verdict || o.Equivalence != w.equiv || !strings.Contains(o.Why, w.why) {
			t.Errorf("%s: %s (%s) %q, want %s (%s) naming %q", key, o.Verdict, o.Equivalence, o.Why, w.verdict, w.equiv, w.why)
			continue
		}
		switch {
		case o.Verdict == VerdictCaught && (o.Property == "" || o.Violation == nil):
			t.Errorf("%s: caught without a property and a counterexample", key)
		case o.Equivalence == EquivSameGraph:
			if len(o.Applied) == 0 {
				t.Errorf("%s: same graph, but applied nowhere", key)
			}
			for _, name := range o.Applied {
				m, err := FindMember(name)
				if err != nil {
					t.Fatal(err)
				}
				good := explore(t, mustSystem(t, m.Config), Options{Workers: 1})
				sys, err := model.NewWithTable(m.Config, o.rows)
				if err != nil {
					t.Fatal(err)
				}
				bad := explore(t, sys, Options{Workers: 1})
				if good.States != bad.States || good.Transitions != bad.Transitions {
					t.Errorf("%s in %s: the mutant has %d states and %d transitions, the table %d and %d; not the same graph",
						key, name, bad.States, bad.Transitions, good.States, good.Transitions)
				}
			}
		}
	}
}

// TestNoChange: the check behind "no change" tells a table from itself
// only when some situation chooses a different next state or actions.
func TestNoChange(t *testing.T) {
	rows := spec.Table()
	if !noChange(rows, spec.Clone(rows)) {
		t.Fatal("a table differs from its copy")
	}
	// Two rows told apart by one guard literal, given the same outcome:
	// negating the literal in both changes nothing.
	var a, b int = -1, -1
	for i, r := range rows {
		for j, o := range rows {
			if i != j && r.From == o.From && r.On == o.On && r.When.Mask == o.When.Mask && r.When.Want^o.When.Want != 0 &&
				(r.When.Want^o.When.Want)&(r.When.Want^o.When.Want-1) == 0 {
				a, b = i, j
			}
		}
	}
	if a < 0 {
		t.Fatal("no pair of rows exclusive by one literal")
	}
	same := spec.Clone(rows)
	same[b].To, same[b].Do = same[a].To, append([]spec.Action(nil), same[a].Do...)
	swapped := spec.Clone(same)
	swapped[a].When, swapped[b].When = same[b].When, same[a].When
	if !noChange(same, swapped) {
		t.Errorf("swapping the guards of %s and %s, which do the same, changes the table", rows[a].Name(), rows[b].Name())
	}
	if noChange(rows, Mutations(rows)[0].rows) {
		t.Errorf("the mutation %s %s changes nothing", rows[Mutations(rows)[0].Row].Name(), Mutations(rows)[0].Change)
	}
}
