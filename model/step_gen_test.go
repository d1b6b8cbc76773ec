package model

import (
	"testing"

	"github.com/tcpcheck/tcpcheck/spec"
)

// TestGeneratedStepMatchesTable checks zz_step.go against the interpreted
// table on every state, event and guard outcome (and just out of range).
// When it fails, run `go generate ./...`.
func TestGeneratedStepMatchesTable(t *testing.T) {
	if spec.NumRows() != tableRows {
		t.Fatalf("zz_step.go was generated from %d rows, spec.Table() has %d: run go generate ./...", tableRows, spec.NumRows())
	}
	rows := spec.Table()
	m, err := spec.NewMachine(rows)
	if err != nil {
		t.Fatal(err)
	}
	hit := make([]bool, len(rows))
	for s := range spec.NumStates + 1 {
		for e := range spec.NumEvents + 1 {
			for g := range spec.GuardSet(1 << spec.NumGuards) {
				st, ev := spec.State(s), spec.Event(e)
				got, want := step(st, ev, g), m.Step(st, ev, g)
				if got != want {
					t.Fatalf("step(%s, %s, %07b) = %d, spec.Machine says %d: run go generate ./...", st, ev, g, got, want)
				}
				if got >= 0 {
					hit[got] = true
				}
			}
		}
	}
	for i, r := range rows {
		if !hit[i] {
			t.Errorf("row %d (%s) is never chosen by step", i, r.Name())
		}
		if tableTo[i] != r.To {
			t.Errorf("tableTo[%d] = %s, row %s goes to %s", i, tableTo[i], r.Name(), r.To)
		}
		if tableDo[i] != r.Actions() {
			t.Errorf("tableDo[%d] = %v, row %s does %v", i, tableDo[i].List(), r.Name(), r.Do)
		}
	}
}

// BenchmarkGeneratedStep compares the generated step with the interpreted table over
// every state, event and guard outcome.
func BenchmarkGeneratedStep(b *testing.B) {
	m, err := spec.NewMachine(spec.Table())
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		step func(spec.State, spec.Event, spec.GuardSet) int
	}{{"generated", step}, {"machine", m.Step}} {
		b.Run(bc.name, func(b *testing.B) {
			n := 0
			for i := 0; b.Loop(); i++ {
				n += bc.step(spec.State(i%spec.NumStates), spec.Event(i/spec.NumStates%spec.NumEvents), spec.GuardSet(i/(spec.NumStates*spec.NumEvents)))
			}
			genStepSink = n
		})
	}
}

var genStepSink int
