package model

import (
	"testing"

	"github.com/tcpcheck/tcpcheck/spec"
)

// shortestCounterexample pins the length of each mutant's shortest
// counterexample in its MutantConfig (the engine reports the same).
var shortestCounterexample = map[string]int{
	"two-way-handshake":     20,
	"no-time-wait":          14,
	"short-time-wait":       19,
	"three-way-close":       8,
	"no-fin-retransmit":     5,
	"accept-any-rst":        4,
	"unbounded-delayed-ack": 7,
}

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
			if want := shortestCounterexample[m.Name]; len(r.trace) != want {
				t.Errorf("shortest counterexample has %d steps; want %d", len(r.trace), want)
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

// TestPropertiesCanFail breaks the table (or the model) in ways no named
// mutant does, so that with TestMutants every invariant is seen failing.
func TestPropertiesCanFail(t *testing.T) {
	small, _ := Preset("small")
	cases := []struct {
		property string
		row      string
		edit     func(*spec.Row)
		knob     func(*Config)
	}{
		{
			property: HandshakeAgreement,
			row:      "SYN-RECEIVED + rcv ACK [SeqOK & AckOK]",
			edit: func(r *spec.Row) { // take the third segment's SEG.SEQ for the peer's ISN
				r.Do = []spec.Action{spec.AcceptSYN, spec.ProcessACK, spec.SendText, spec.SignalConnected}
			},
		},
		{
			property: TimeWaitHeld,
			row:      "ESTABLISHED + rcv FIN [SeqOK & AckInRange]",
			edit: func(r *spec.Row) { // the passive closer waits too
				r.To = spec.TimeWait
				r.Do = []spec.Action{spec.ProcessACK, spec.AcceptText, spec.AcceptFIN, spec.SendACK, spec.StartTimeWait}
			},
		},
		{
			property: TimeWaitHeld,
			knob:     func(c *Config) { c.TimeWait = c.MSL },
		},
	}
	for _, c := range cases {
		name := c.property + " " + c.row
		t.Run(name, func(t *testing.T) {
			cfg := small
			if c.knob != nil {
				c.knob(&cfg)
			}
			rows := spec.Table()
			if c.row != "" {
				i := spec.Find(rows, c.row)
				if i < 0 {
					t.Fatalf("no row %q", c.row)
				}
				c.edit(&rows[i])
			}
			sys, err := NewWithTable(cfg, rows)
			if err != nil {
				t.Fatal(err)
			}
			r := bfs(t, sys, bfsOptions{only: c.property, stopAtFirst: true, maxStates: 5_000_000})
			if r.violation != c.property {
				t.Fatalf("%s not violated (%d states)", c.property, r.states)
			}
			t.Logf("violated in %d steps:\n%s", len(r.trace), render(sys, r.init, r.trace))
		})
	}
}
