package conform

import (
	"flag"
	"os"
	"testing"

	"pgregory.net/rapid"

	"github.com/tcpcheck/tcpcheck/spec"
)

// ciChecks is how many plans each rapid suite runs when neither
// -rapid.checks nor RAPID_CHECKS says otherwise.
const ciChecks = 1000

func TestMain(m *testing.M) {
	flag.Parse()
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "rapid.checks" })
	if _, env := os.LookupEnv("RAPID_CHECKS"); !set && !env {
		flag.Set("rapid.checks", "1000")
	}
	os.Exit(m.Run())
}

// TestEndpointsConform runs two real endpoints through plans rapid draws
// and checks, after every step, trace conformance against the reference
// table, TimeWaitHeld, HandshakeAgreement and that reads are a prefix of
// the peer's writes; at the end, quiescence and complete delivery.
func TestEndpointsConform(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		p := planGen.Draw(t, "plan")
		if err := runPlan(p, config{}); err != nil {
			t.Fatal(err)
		}
	})
}

// TestEndpointsStateMachine is the same suite in rapid's state-machine
// form: rapid picks each next action (by name, uniformly; delivery has
// two names so that segments get through) and the checks run after every
// one; the finishing phase follows the last.
func TestEndpointsStateMachine(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		p := plan{ISN: [2]spec.Seq{spec.Seq(isns.Draw(t, "isnA")), spec.Seq(isns.Draw(t, "isnB"))}}
		h, err := newHarness(p, config{})
		if err != nil {
			t.Fatal(err)
		}
		defer h.close()
		actions := map[string]func(*rapid.T){
			"": func(t *rapid.T) {
				if err := h.check(); err != nil {
					t.Fatal(err)
				}
			},
		}
		for k := range numOps {
			act := func(t *rapid.T) {
				if err := h.do(drawOp(t, k)); err != nil {
					t.Fatal(err)
				}
			}
			actions[opNames[k]] = act
			if k == opDeliver {
				actions["deliver (again)"] = act
			}
		}
		t.Repeat(actions)
		if err := h.finish(); err != nil {
			t.Fatal(err)
		}
	})
}
