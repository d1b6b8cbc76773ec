package check

import (
	"fmt"
	"testing"

	"github.com/tcpcheck/tcpcheck/model"
)

// BenchmarkExplore measures distinct states per second and bytes per
// stored state (Result.BytesPerState) in fingerprint mode, on one and two
// workers, on the model's "large" preset (more than ten million states),
// invariants only. The engine alone is measured by check/engine's
// BenchmarkRun.
//
// Run with: go test -run '^$' -bench . -benchtime 1x ./check/...
func BenchmarkExplore(b *testing.B) {
	cfg, err := model.Preset("large")
	if err != nil {
		b.Fatal(err)
	}
	sys, err := model.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("model/workers=%d", workers), func(b *testing.B) {
			for b.Loop() {
				res, err := Explore(sys, Options{Workers: workers, MaxStates: 150_000_000})
				if err != nil {
					b.Fatal(err)
				}
				if res.Verdict == Incomplete {
					b.Logf("stopped by %s after %d states", res.Limit, res.States)
				}
				if res.States < 10_000_000 {
					b.Logf("the configuration has only %d states", res.States)
				}
				b.ReportMetric(float64(res.States)/res.Seconds, "states/s")
				b.ReportMetric(res.BytesPerState, "bytes/state")
				b.ReportMetric(float64(res.States), "states")
			}
		})
	}
}
