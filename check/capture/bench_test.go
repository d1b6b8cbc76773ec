package capture

import (
	"bytes"
	"context"
	"os"
	"testing"
)

// BenchmarkCheck checks the capture in $TCPCHECK_BENCH_PCAP (for example
// the one 'go run ./bench -parts capture -work DIR' leaves in DIR).
func BenchmarkCheck(b *testing.B) {
	path := os.Getenv("TCPCHECK_BENCH_PCAP")
	if path == "" {
		b.Skip("set TCPCHECK_BENCH_PCAP to a capture file")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		r, err := Open(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Check(context.Background(), r, Options{OnConn: func(*ConnReport) {}}); err != nil {
			b.Fatal(err)
		}
	}
}
