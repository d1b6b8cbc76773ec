package impl

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tcpcheck/tcpcheck/impl/wire"
	"github.com/tcpcheck/tcpcheck/internal/testenv"
	"github.com/tcpcheck/tcpcheck/spec"
)

// TestPcapOfConnection records whole connections made by two stacks
// (handshake, text both ways, close), as tcpdump on host A would, and has
// tshark dissect them: every packet TCP, no checksum errors, nothing
// malformed.
func TestPcapOfConnection(t *testing.T) {
	testenv.Tshark(t)
	// Without faults: tshark with its default preferences.
	file := recordConnection(t, Faults{})
	if n := testenv.CheckPcapClean(t, file); n < 20 {
		t.Fatalf("only %d packets dissected", n)
	}
	flags := strings.Join(testenv.TsharkFields(t, file, "tcp.flags.str"), "\n")
	for _, want := range []string{"S", "F", "A"} {
		if !strings.Contains(flags, want) {
			t.Errorf("no packet with flag %s in the capture", want)
		}
	}
	// With losses and reordering the capture holds retransmissions, which
	// Wireshark's stream reassembly reports as overlapping "fragments"
	// even when they repeat the original exactly; dissected packet by
	// packet (no reassembly) nothing may be malformed.
	file = recordConnection(t, Faults{Loss: 0.05, Reorder: 0.05})
	if n := testenv.CheckPcapClean(t, file, "tcp.desegment_tcp_streams:FALSE"); n < 50 {
		t.Fatalf("only %d packets dissected", n)
	}
	retx := strings.Join(testenv.TsharkFields(t, file, "tcp.analysis.retransmission"), "")
	if retx == "" {
		t.Fatal("the lossy capture has no retransmission")
	}
}

// recordConnection runs one connection over a mem link with faults and
// returns the pcap file A's stack wrote.
func recordConnection(t *testing.T, faults Faults) string {
	file := filepath.Join(t.TempDir(), "conn.pcap")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	w, err := wire.NewPcapWriter(f)
	if err != nil {
		t.Fatal(err)
	}
	clock, a, b := memPair(t, Options{Pcap: w, MSL: time.Second}, time.Millisecond, faults, 3)
	b.opt.Pcap = nil // capture at A only
	ca, cb := establish(t, clock, a, b)
	ca.Write(bytes.Repeat([]byte("abc"), 20000))
	cb.Write([]byte("odd-length reply"))
	ca.CloseWrite()
	cb.CloseWrite()
	for i := 0; i < 100000 && (ca.State() != spec.Closed || cb.State() != spec.Closed); i++ {
		readNow(cb, clock)
		readNow(ca, clock)
		clock.Advance(10 * time.Millisecond)
	}
	if ca.State() != spec.Closed || cb.State() != spec.Closed {
		t.Fatalf("connection did not close: %s %s", ca.State(), cb.State())
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return file
}
