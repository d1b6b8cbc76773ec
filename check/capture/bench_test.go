package capture

import (
	"context"
	"os"
	"testing"
)

// BenchmarkCheck checks the capture in $TCPCHECK_BENCH_PCAP (for example
// the one 'go run ./bench -parts capture -work DIR' leaves in DIR), read
// from the file as 'conform --pcap' reads it (from the page cache after
// the first run).
func BenchmarkCheck(b *testing.B) {
	path, size := benchPcap(b)
	b.SetBytes(size)
	for b.Loop() {
		f, r := openBench(b, path)
		if _, err := Check(context.Background(), r, Options{OnConn: func(*ConnReport) {}}); err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
}

// BenchmarkRead only reads and decodes the segments of the capture in
// $TCPCHECK_BENCH_PCAP: the serial part of a check.
func BenchmarkRead(b *testing.B) {
	path, size := benchPcap(b)
	b.SetBytes(size)
	for b.Loop() {
		f, r := openBench(b, path)
		var s Segment
		for r.Next(&s) == nil {
		}
		f.Close()
	}
}

// benchPcap returns the capture named by $TCPCHECK_BENCH_PCAP and its
// size, or skips the benchmark.
func benchPcap(b *testing.B) (string, int64) {
	path := os.Getenv("TCPCHECK_BENCH_PCAP")
	if path == "" {
		b.Skip("set TCPCHECK_BENCH_PCAP to a capture file")
	}
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	return path, st.Size()
}

// openBench opens the capture at path and its reader; the caller closes
// the file.
func openBench(b *testing.B, path string) (*os.File, *Reader) {
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	r, err := Open(f)
	if err != nil {
		f.Close()
		b.Fatal(err)
	}
	return f, r
}
