package check

import (
	"fmt"
	"testing"

	"github.com/tcpcheck/tcpcheck/model"
)

// BenchmarkExplore measures distinct states per second and bytes per
// stored state (Result.BytesPerState) in fingerprint mode, on one and two
// workers:
//
//   - model: the model's "large" preset (more than ten million states),
//     invariants only;
//   - grid: the engine alone, on a toy whose successor function costs next
//     to nothing: a 4-dimensional box of side 57 (10,556,001 states,
//     32-byte keys, 8 moves per point).
//
// Run with: go test -run XXX -bench . -benchtime 1x ./check
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
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("grid/workers=%d", workers), func(b *testing.B) {
			for b.Loop() {
				out, err := run(&grid{d: 4, m: 57, k: 32}, engineOpts{workers: workers})
				if err != nil {
					b.Fatal(err)
				}
				if out.states != 57*57*57*57 {
					b.Fatalf("%d states", out.states)
				}
				b.ReportMetric(float64(out.states)/out.seconds, "states/s")
				b.ReportMetric(float64(out.peakBytes)/float64(out.states), "bytes/state")
			}
		})
	}
}
