package conform

import (
	"flag"
	"os"
	"testing"

	"pgregory.net/rapid"
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
