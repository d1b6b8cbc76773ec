package spec

import (
	"strings"
	"testing"
)

func TestTableValid(t *testing.T) {
	if err := Validate(Table()); err != nil {
		t.Fatal(err)
	}
}

func TestTableCoversEveryStateAndEvent(t *testing.T) {
	var seen [NumStates][NumEvents]bool
	for _, r := range Table() {
		seen[r.From][r.On] = true
	}
	for s := range NumStates {
		for e := range NumEvents {
			if !seen[s][e] {
				t.Errorf("no row for %s + %s", State(s), Event(e))
			}
		}
	}
}

func TestRowNamesUnique(t *testing.T) {
	names := map[string]int{}
	for i, r := range Table() {
		if j, dup := names[r.Name()]; dup {
			t.Errorf("rows %d and %d share the name %q", j, i, r.Name())
		}
		names[r.Name()] = i
	}
}

func TestValidateRejectsDuplicateRow(t *testing.T) {
	rows := Table()
	i := Find(rows, "LISTEN + rcv SYN")
	if i < 0 {
		t.Fatal("no row LISTEN + rcv SYN")
	}
	dup := rows[i]
	dup.To = Established // the two-way handshake, added beside the correct row
	err := Validate(append(rows, dup))
	if err == nil || !strings.Contains(err.Error(), "nondeterministic") || !strings.Contains(err.Error(), "LISTEN + rcv SYN") {
		t.Fatalf("Validate with a duplicated row: %v", err)
	}
}

func TestValidateRejectsMissingRow(t *testing.T) {
	rows := Table()
	i := Find(rows, "CLOSING + rcv ACK [SeqOK & AckInRange & FinAcked]")
	if i < 0 {
		t.Fatal("no row for CLOSING + rcv ACK of our FIN")
	}
	rows = append(rows[:i], rows[i+1:]...)
	err := Validate(rows)
	if err == nil || !strings.Contains(err.Error(), "incomplete: no row for CLOSING + rcv ACK when SeqOK & AckInRange & FinAcked") {
		t.Fatalf("Validate with a missing row: %v", err)
	}

	// Removing every row of a pair is reported as a missing pair.
	var none []Row
	for _, r := range Table() {
		if !(r.From == TimeWait && r.On == TimeWaitTimeout) {
			none = append(none, r)
		}
	}
	if err := Validate(none); err == nil || !strings.Contains(err.Error(), "no row for TIME-WAIT + 2MSL") {
		t.Fatalf("Validate without TIME-WAIT + 2MSL: %v", err)
	}
}

func TestValidateRejectsMalformedRows(t *testing.T) {
	base := Table()[0]
	tests := []struct {
		name string
		edit func(r *Row)
		want string
	}{
		{"no RFC", func(r *Row) { r.RFC = "" }, "no RFC section"},
		{"no note", func(r *Row) { r.Note = "" }, "no note"},
		{"actions out of order", func(r *Row) { r.Do = []Action{DeleteTCB, SendRST} }, "out of execution order"},
		{"repeated action", func(r *Row) { r.Do = []Action{SendACK, SendACK} }, "out of execution order"},
		{"drop not alone", func(r *Row) { r.Do = []Action{Drop, SendACK} }, "drop must stand alone"},
		{"unknown state", func(r *Row) { r.To = State(99) }, "unknown To state"},
		{"unknown action", func(r *Row) { r.Do = []Action{Action(99)} }, "unknown action"},
		{"want outside mask", func(r *Row) { r.When = Cond{Want: 1} }, "does not mask"},
	}
	for _, tc := range tests {
		rows := Table()
		r := base
		tc.edit(&r)
		rows[0] = r
		if err := Validate(rows); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Validate = %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
}

func TestMachineRejectsInvalidTable(t *testing.T) {
	if _, err := NewMachine(nil); err == nil || !strings.HasPrefix(err.Error(), "spec: ") {
		t.Fatalf("NewMachine(nil) = %v", err)
	}
	m, err := NewMachine(Table())
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Step(State(200), Send, 0); got != -1 {
		t.Errorf("Step on an unknown state = %d, want -1", got)
	}
}

func TestTableCitesRFCs(t *testing.T) {
	for _, r := range Table() {
		if !strings.HasPrefix(r.RFC, "RFC ") || !strings.Contains(r.RFC, "§") {
			t.Errorf("%s cites %q", r.Name(), r.RFC)
		}
	}
}
