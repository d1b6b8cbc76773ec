package engine

import (
	"fmt"
	"testing"
)

// BenchmarkRun measures distinct states per second and bytes per stored
// state of the engine alone, in fingerprint mode on one and two workers, on
// a toy whose successor function costs next to nothing: a 4-dimensional box
// of side 57 (10,556,001 states, 32-byte keys, 8 moves per point).
//
// Run with: go test -run '^$' -bench . -benchtime 1x ./check/engine
func BenchmarkRun(b *testing.B) {
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("grid/workers=%d", workers), func(b *testing.B) {
			for b.Loop() {
				out, err := Run(&grid{d: 4, m: 57, k: 32}, Options{Workers: workers})
				if err != nil {
					b.Fatal(err)
				}
				if out.States != 57*57*57*57 {
					b.Fatalf("%d states", out.States)
				}
				b.ReportMetric(float64(out.States)/out.Seconds, "states/s")
				b.ReportMetric(float64(out.PeakBytes)/float64(out.States), "bytes/state")
			}
		})
	}
}
