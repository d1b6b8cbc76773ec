package check

import "testing"

// BenchmarkEngineGrid measures the engine alone on a toy whose successor
// function costs next to nothing: a 4-dimensional box of side 57
// (10,556,001 states, 32-byte keys), in fingerprint mode.
func BenchmarkEngineGrid(b *testing.B) {
	for _, workers := range []int{1, 2} {
		b.Run(map[int]string{1: "workers=1", 2: "workers=2"}[workers], func(b *testing.B) {
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
