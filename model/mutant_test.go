package model

import (
	"testing"
)

// TestMutants finds each mutant's violation of its property with the tests'
// own BFS in MutantConfig, and checks that the correct table passes every
// property in the same configuration.
func TestMutants(t *testing.T) {
	for _, m := range Mutants() {
		t.Run(m.Name, func(t *testing.T) {
			cfg, err := MutantConfig(m.Name)
			if err != nil {
				t.Fatal(err)
			}
			mut, err := NewMutant(cfg, m.Name)
			if err != nil {
				t.Fatal(err)
			}
			r := bfs(t, mut, bfsOptions{only: m.Property, quiescence: m.Property == QuiescenceName, stopAtFirst: true})
			if r.violation != m.Property {
				t.Fatalf("mutant %s: %s not violated (%d states)", m.Name, m.Property, r.states)
			}
			t.Logf("%s breaks %s in %d steps (%d states explored):\n%s", m.Name, m.Property, len(r.trace), r.states, render(mut, r.init, r.trace))
			good := mustNew(t, cfg)
			g := bfs(t, good, bfsOptions{quiescence: true})
			if g.violation != "" {
				t.Fatalf("correct table violates %s in %s's configuration (%d states):\n%s", g.violation, m.Name, g.states, render(good, g.init, g.trace))
			}
			t.Logf("correct table: %d states, all properties hold", g.states)
		})
	}
}
