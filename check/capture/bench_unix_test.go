//go:build unix

package capture

import (
	"syscall"
	"testing"
	"time"
)

// BenchmarkWorker checks the first 400,000 segments of the capture in
// $TCPCHECK_BENCH_PCAP, read into memory first, on one worker: the
// checking alone, without the reader.
func BenchmarkWorker(b *testing.B) {
	path, _ := benchPcap(b)
	f, r := openBench(b, path)
	defer f.Close()
	segs := make([]Segment, 400000)
	for i := range segs {
		if err := r.Next(&segs[i]); err != nil {
			segs = segs[:i]
			break
		}
	}
	var r0, r1 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &r0)
	b.ResetTimer()
	for b.Loop() {
		opt := Options{Idle: 2 * time.Minute}
		w := &worker{opt: &opt, conns: map[connKey]*conn{}}
		deliver := func(*ConnReport) {}
		for i := range segs {
			w.add(&segs[i], deliver)
		}
		w.flush(deliver)
	}
	syscall.Getrusage(syscall.RUSAGE_SELF, &r1)
	cpu := r1.Utime.Nano() + r1.Stime.Nano() - r0.Utime.Nano() - r0.Stime.Nano()
	b.ReportMetric(float64(cpu)/float64(b.N)/float64(len(segs)), "cpu-ns/segment")
}
