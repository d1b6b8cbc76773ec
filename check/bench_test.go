package check

import (
	"fmt"
	"testing"

	"github.com/tcpcheck/tcpcheck/model"
)

// BenchmarkExplore measures distinct states per second and bytes per
// stored state (Result.BytesPerState) in fingerprint and exact modes, on
// one and two workers, on the model's "large" preset (more than ten million states),
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
	for _, exact := range []bool{false, true} {
		for _, workers := range []int{1, 2} {
			name := fmt.Sprintf("model/workers=%d", workers)
			if exact {
				name = fmt.Sprintf("model/exact/workers=%d", workers)
			}
			b.Run(name, func(b *testing.B) {
				benchExplore(b, sys, Options{Workers: workers, Exact: exact, MaxStates: 150_000_000})
			})
		}
	}
}

func benchExplore(b *testing.B, sys *model.System, opt Options) {
	for b.Loop() {
		res, err := Explore(sys, opt)
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
}
