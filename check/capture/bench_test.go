package capture

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/tcpcheck/tcpcheck/spec"
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

// BenchmarkInFlight checks a capture made at the sender of a bulk
// transfer with 300 segments in flight and one segment in 400 lost after
// the capture point: the receiver's ACKs, one for every second segment it
// gets, are captured a window after the text they acknowledge, and stay
// at each hole (duplicate ACKs, the segments after it held) until the
// retransmission, 20 segments after the first duplicate, arrives. So the
// receiver's candidates have hundreds of the sender's segments pending
// at each of its ACKs. Built here (4,000 segments of 1,448 octets, cut
// to 96 octets a packet), so anyone can rerun it on any commit.
func BenchmarkInFlight(b *testing.B) {
	benchCheck(b, inFlightCapture(b, 4000, 300, 400))
}

// BenchmarkDeepPipeFromTheMiddle checks a bulk transfer with 3,000
// segments in flight (20,000 segments, none lost), captured at the
// sender from after the handshake: the receiver's MSS is not known, so
// each of its ACKs is looked for inside the sender's pending segments
// (conn.cutAtACK), thousands of them. Compare BenchmarkDeepPipe, the same
// capture with its handshake.
func BenchmarkDeepPipeFromTheMiddle(b *testing.B) {
	benchCheck(b, fromFrame(inFlightCapture(b, 20000, 3000, 0), 3))
}

// BenchmarkDeepPipe is BenchmarkDeepPipeFromTheMiddle's capture whole.
func BenchmarkDeepPipe(b *testing.B) {
	benchCheck(b, inFlightCapture(b, 20000, 3000, 0))
}

// benchCheck checks data, a capture of one connection that conforms.
func benchCheck(b *testing.B, data []byte) {
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		r, err := Open(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		sum, err := Check(context.Background(), r, Options{Workers: 1})
		if err != nil || sum.Connections != 1 || sum.Failing != 0 {
			b.Fatalf("%v %v\n%s", sum, err, reportText(sum))
		}
	}
}

// inFlightCapture is the capture BenchmarkInFlight checks: n segments of
// the server's, each reaching the client lag segments of the server's
// later, except every lossEvery-th original (0: none), which the server
// sends again once the client's duplicate ACKs could have told it.
func inFlightCapture(tb testing.TB, n, lag, lossEvery int) []byte {
	const iss, irs, mss = 1000, 4000000000, 1448
	text := make([]byte, mss)
	var pkts []pkt
	var at []time.Duration
	now := time.Duration(0)
	add := func(p pkt, gap time.Duration) {
		now += gap
		p.snapTo = 96
		pkts, at = append(pkts, p), append(at, now)
	}
	add(pkt{src: cliA, dst: srvB, seq: iss, flags: spec.SYN, win: 65535, mss: 1460, wscale: 7}, 0)
	add(pkt{src: srvB, dst: cliA, seq: irs, ack: iss + 1, flags: spec.SYN | spec.ACK, win: 65535, mss: 1460, wscale: 7}, time.Millisecond)
	add(pkt{src: cliA, dst: srvB, seq: iss + 1, ack: irs + 1, flags: spec.ACK, win: 65535, wscale: -1}, time.Millisecond)
	arrives := map[int][]int{} // the segments that reach the client at each step
	got := make([]bool, n)
	inOrder, fresh := 0, 0 // segments the client has in order; segments got since its last ACK
	retransmitAt := map[int]int{}
	send := func(i, step int, lost bool) {
		add(pkt{src: srvB, dst: cliA, seq: irs + 1 + uint32(i*mss), ack: iss + 1, flags: spec.ACK, win: 512, wscale: -1, payload: text}, 10*time.Microsecond)
		if !lost {
			arrives[step+lag] = append(arrives[step+lag], i)
		}
	}
	// One step is one of the server's segments sent (the first ones
	// again, or the next), then the client's ACKs of what arrives.
	for step, next := 0, 0; inOrder < n; step++ {
		if step > 2*n+10*lag {
			tb.Fatal("inFlightCapture: the transfer does not end")
		}
		if i, ok := retransmitAt[step]; ok {
			send(i, step, false)
		} else if next < n {
			lost := lossEvery > 0 && next%lossEvery == lossEvery/2
			send(next, step, lost)
			if lost {
				retransmitAt[step+lag+20] = next
			}
			next++
		}
		for _, i := range arrives[step] {
			got[i], fresh = true, fresh+1
			for inOrder < n && got[inOrder] {
				inOrder++
			}
			if fresh == 2 || inOrder == n {
				add(pkt{src: cliA, dst: srvB, seq: iss + 1, ack: irs + 1 + uint32(inOrder*mss), flags: spec.ACK, win: 65535, wscale: -1}, time.Microsecond)
				fresh = 0
			}
		}
		delete(arrives, step)
	}
	return writePcapAt(tb, layers.LinkTypeEthernet, false, pkts, at)
}
