package check

import (
	"slices"
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
	}
	rows := spec.Table()
	rep, err := Sweep(SweepOptions{Filter: func(m Mutation) bool {
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
