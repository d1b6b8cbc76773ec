package lin

import (
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

// history100k is a history of about 110,000 operations over 1,000
// connections recorded from the real endpoint, shared by the benchmarks.
var history100k = sync.OnceValues(func() (*Result, error) {
	return Record(Options{Conns: 1000, Ops: 64_000, Parallel: 64, Seed: 1, // and about as many reads
		Faults: Faults{Loss: 0.01, Dup: 0.01, Reorder: 0.01}})
})

// BenchmarkCheck100k checks a history of about 110,000 operations over
// 1,000 connections, recorded once from two endpoints on the udp link
// through a lossy relay (recording is not timed):
//
//	go test ./check/lin -run '^$' -bench Check100k -benchtime 5x
func BenchmarkCheck100k(b *testing.B) {
	res, err := history100k()
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("%d operations over %d connections, recorded in %v", res.Operations, res.Connections, res.Workload.Round(time.Millisecond))
	if res.Operations < 100_000 || res.Connections < 1000 {
		b.Fatalf("the history is smaller than the target's 100,000 operations over 1,000 connections")
	}
	b.ReportAllocs()
	for b.Loop() {
		if v := Check(res.History, time.Minute); v != porcupine.Ok {
			b.Fatalf("verdict %s, want Ok", v)
		}
	}
	b.ReportMetric(float64(res.Operations)*float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

// BenchmarkCheck100kCorrupted checks the same history with one octet of
// one read forged; porcupine must prove it Illegal:
//
//	go test ./check/lin -run '^$' -bench Check100kCorrupted -benchtime 5x
func BenchmarkCheck100kCorrupted(b *testing.B) {
	res, err := history100k()
	if err != nil {
		b.Fatal(err)
	}
	bad, what, err := Corrupt(res.History, ForgedOctet, 1)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("%d operations, %s", len(bad), what)
	for b.Loop() {
		if v := Check(bad, time.Minute); v != porcupine.Illegal {
			b.Fatalf("verdict %s, want Illegal", v)
		}
	}
}
