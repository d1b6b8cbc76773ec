package conform

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tcpcheck/tcpcheck/model"
	"github.com/tcpcheck/tcpcheck/spec"
)

// mutation is an endpoint that breaks the table in one place.
type mutation struct {
	name string
	cfg  config
}

// rowMutation changes one row of spec.Table(): to a wrong next state (to
// >= 0) and/or without one action (drop != 0 removes it; a row left with
// no action becomes "drop").
func rowMutation(t *testing.T, row string, to spec.State, drop spec.Action) mutation {
	t.Helper()
	rows := spec.Table()
	i := spec.Find(rows, row)
	if i < 0 {
		t.Fatalf("no row %q", row)
	}
	var change []string
	if to != rows[i].To {
		change = append(change, fmt.Sprintf("goes to %s instead of %s", to, rows[i].To))
		rows[i].To = to
	}
	if drop != spec.Drop {
		if !slices.Contains(rows[i].Do, drop) {
			t.Fatalf("row %q has no action %s", row, drop)
		}
		rows[i].Do = slices.DeleteFunc(rows[i].Do, func(a spec.Action) bool { return a == drop })
		if len(rows[i].Do) == 0 {
			rows[i].Do = []spec.Action{spec.Drop}
		}
		change = append(change, "without "+drop.String())
	}
	if err := spec.Validate(rows); err != nil {
		t.Fatalf("mutation of %q: %v", row, err)
	}
	return mutation{name: fmt.Sprintf("%q %s", row, strings.Join(change, ", ")), cfg: config{table: rows}}
}

// mutantMutation builds the endpoint of one of model.Mutants(): the rows of
// model.NewMutant, or, for the one-knob mutant short-time-wait, an endpoint
// whose TIME-WAIT lasts MSL instead of 2*MSL (its MSL is halved while the
// checker keeps the real one).
func mutantMutation(t *testing.T, m model.Mutant) mutation {
	t.Helper()
	if m.Name == "short-time-wait" {
		return mutation{name: "mutant " + m.Name, cfg: config{msl: harnessMSL / 2}}
	}
	if m.Name == "unbounded-delayed-ack" {
		// The endpoint delays its ACKs beyond the checker's bound.
		return mutation{name: "mutant " + m.Name, cfg: config{ackDelay: 4 * harnessMaxAckDelay}}
	}
	sys, err := model.NewMutant(model.DefaultConfig(), m.Name)
	if err != nil {
		t.Fatal(err)
	}
	rows := spec.Clone(sys.Rows())
	if slices.EqualFunc(rows, spec.Table(), func(a, b spec.Row) bool {
		return a.To == b.To && slices.Equal(a.Do, b.Do) && a.When == b.When
	}) {
		t.Fatalf("mutant %s: its rows are the correct table", m.Name)
	}
	return mutation{name: "mutant " + m.Name, cfg: config{table: rows}}
}

// teethPlans is how many plans (drawn from seeds 0, 1, ...) a mutation may
// survive before the test calls it uncaught.
const teethPlans = 3000

// TestMutationsAreCaught runs the endpoint with each mutation while the
// checks keep the correct table, and requires some check to fail. It lists
// each mutation with the check that caught it and the seed of the plan.
//
// None of the mutations listed is equivalent to the correct table: each
// changes a segment the endpoint sends, a state it moves to, or what its
// user is told, and some plan shows it. A mutation no check could tell
// apart would have to be argued equivalent here before it is listed.
func TestMutationsAreCaught(t *testing.T) {
	var muts []mutation
	for _, m := range model.Mutants() {
		muts = append(muts, mutantMutation(t, m))
	}
	muts = append(muts,
		rowMutation(t, "CLOSED + ACTIVE-OPEN", spec.SynSent, spec.SendSYN),
		rowMutation(t, "LISTEN + rcv SYN", spec.SynReceived, spec.SendSYNACK),
		rowMutation(t, "SYN-SENT + rcv SYN,ACK [AckOK]", spec.Established, spec.SendACK),
		rowMutation(t, "SYN-SENT + rcv RST [AckOK]", spec.SynSent, spec.Drop),
		rowMutation(t, "SYN-RECEIVED + rcv ACK [SeqOK & AckOK]", spec.Established, spec.SignalConnected),
		rowMutation(t, "SYN-RECEIVED + rcv RST [RstExact & Passive]", spec.SynReceived, spec.Drop),
		rowMutation(t, "ESTABLISHED + rcv data [SeqOK & AckInRange]", spec.Established, spec.AcceptText),
		rowMutation(t, "ESTABLISHED + rcv data [SeqOK & AckInRange]", spec.Established, spec.DelayACK),
		rowMutation(t, "ESTABLISHED + DELACK", spec.Established, spec.SendACK),
		rowMutation(t, "ESTABLISHED + CLOSE", spec.FinWait1, spec.SendFIN),
		rowMutation(t, "ESTABLISHED + rcv RST [RstExact]", spec.Closed, spec.SignalReset),
		rowMutation(t, "ESTABLISHED + RTO", spec.Established, spec.Retransmit),
		rowMutation(t, "CLOSE-WAIT + CLOSE", spec.Closed, spec.Drop),
		rowMutation(t, "FIN-WAIT-1 + rcv ACK [SeqOK & AckInRange & FinAcked]", spec.FinWait1, spec.Drop),
		rowMutation(t, "FIN-WAIT-2 + rcv FIN [SeqOK & AckInRange]", spec.FinWait2, spec.Drop),
		rowMutation(t, "LAST-ACK + rcv ACK [SeqOK & AckInRange & FinAcked]", spec.LastAck, spec.Drop),
		rowMutation(t, "TIME-WAIT + rcv FIN", spec.TimeWait, spec.StartTimeWait),
		rowMutation(t, "CLOSED + rcv SYN", spec.Closed, spec.ReplyRST),
	)
	caught := 0
	var report strings.Builder
	for _, m := range muts {
		check, by := "", ""
		start := time.Now()
		var cases []plan
		var names []string
		for _, p := range targeted {
			cases, names = append(cases, p.plan), append(names, "targeted plan: "+p.name)
		}
		for s := range teethPlans {
			cases, names = append(cases, planGen.Example(s)), append(names, fmt.Sprintf("plan seed %d", s))
		}
		for i, p := range cases {
			err := runPlan(p, m.cfg)
			if err == nil {
				continue
			}
			var f *failure
			if !errors.As(err, &f) {
				t.Errorf("%s: %s: the harness failed: %v", m.name, names[i], err)
				break
			}
			check, by = f.check, names[i]
			break
		}
		if check == "" {
			t.Errorf("%s: not caught by the targeted plans and %d random plans", m.name, teethPlans)
			fmt.Fprintf(&report, "  %-96s NOT CAUGHT\n", m.name)
			continue
		}
		caught++
		fmt.Fprintf(&report, "  %-96s caught by %-18s (%s, %v)\n", m.name, check, by, time.Since(start).Round(time.Millisecond))
	}
	t.Logf("mutations of the endpoint (the checks keep the correct table):\n%smutation score: %d/%d caught",
		report.String(), caught, len(muts))
}
