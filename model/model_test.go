package model

import (
	"testing"
)

func mustNew(t testing.TB, cfg Config) *System {
	t.Helper()
	sys, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return sys
}

// small configurations whose state counts are pinned. The engine's tests
// cross-check the same numbers.
var pinned = []struct {
	name   string
	cfg    func() Config
	states int
	edges  int
}{
	{"small", func() Config { c, _ := Preset("small"); return c }, 76, 131},
	{"client-server no faults no data", func() Config {
		c := DefaultConfig()
		c.Incarnations, c.Loss, c.Dup, c.Reorder, c.WriteA, c.WriteB = 1, 0, 0, false, 0, 0
		return c
	}, 29, 41},
	{"simultaneous open, close both, loss", func() Config {
		c := DefaultConfig()
		c.Open, c.Closer, c.Incarnations, c.Dup, c.Reorder, c.WriteA, c.WriteB = "simultaneous", "both", 1, 0, false, 0, 0
		return c
	}, 953, 2180},
	{"abort b, reorder", func() Config {
		c := DefaultConfig()
		c.Abort, c.Incarnations, c.Loss, c.Dup, c.WriteA = "b", 1, 0, 0, 0
		return c
	}, 2840, 8233},
}

func TestStateCounts(t *testing.T) {
	for _, p := range pinned {
		t.Run(p.name, func(t *testing.T) {
			sys := mustNew(t, p.cfg())
			r := bfs(t, sys, bfsOptions{quiescence: true})
			if r.violation != "" {
				t.Errorf("correct table violates %s:\n%s", r.violation, render(sys, r.init, r.trace))
			}
			if r.states != p.states || r.edges != p.edges {
				t.Errorf("got %d states, %d transitions; want %d, %d", r.states, r.edges, p.states, p.edges)
			}
		})
	}
}
