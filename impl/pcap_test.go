package impl

import (
	"bytes"
	"context"
	"encoding/binary"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tcpcheck/tcpcheck/spec"
)

// needTshark returns the path of tshark, skipping the test when it is not
// installed (failing instead under CI=true).
func needTshark(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("tshark")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("tshark not found: install tshark (Debian package tshark)")
		}
		t.Skip("tshark not found: install tshark (Debian package tshark) to run this test")
	}
	return p
}

// tsharkFields runs tshark over file with checksum validation on and
// returns one line per packet with the given fields, tab-separated.
func tsharkFields(t testing.TB, file string, fields ...string) []string {
	t.Helper()
	return tsharkFieldsOpt(t, file, nil, fields...)
}

// tsharkFieldsOpt is tsharkFields with extra -o preferences.
func tsharkFieldsOpt(t testing.TB, file string, prefs []string, fields ...string) []string {
	t.Helper()
	args := []string{"-n", "-r", file, "-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE",
		"-o", "tcp.relative_sequence_numbers:FALSE", "-T", "fields"}
	for _, p := range prefs {
		args = append(args, "-o", p)
	}
	for _, f := range fields {
		args = append(args, "-e", f)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, needTshark(t), args...)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir()) // no user profile
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("tshark: %v\n%s", err, errb.String())
	}
	return strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
}

// checkPcapClean fails when tshark reports anything malformed or a bad
// checksum in file, and returns the number of TCP packets it dissected.
func checkPcapClean(t testing.TB, file string, prefs ...string) int {
	t.Helper()
	lines := tsharkFieldsOpt(t, file, prefs, "frame.number", "tcp.srcport", "tcp.checksum.status", "ip.checksum.status", "_ws.malformed", "_ws.expert.message")
	n := 0
	for _, l := range lines {
		f := strings.Split(l, "\t")
		if len(f) < 6 {
			t.Fatalf("tshark line %q: want 6 fields", l)
		}
		if f[1] == "" {
			t.Errorf("packet %s not dissected as TCP: %q", f[0], l)
			continue
		}
		n++
		// checksum.status: 1 = good (Wireshark's PROTO_CHECKSUM_E_GOOD; 0 is bad, 2 unverified).
		if f[2] != "1" || f[3] != "1" {
			t.Errorf("packet %s: tcp checksum status %q, ip checksum status %q, want good (1)", f[0], f[2], f[3])
		}
		if f[4] != "" || strings.Contains(strings.ToLower(f[5]), "malformed") {
			t.Errorf("packet %s malformed: %q", f[0], l)
		}
	}
	return n
}

func TestPcapHeaderLayout(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewPcapWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	src, dst := netip.MustParseAddrPort("192.0.2.1:1024"), netip.MustParseAddrPort("192.0.2.2:80")
	at := time.Unix(1700000000, 123456000)
	if err := w.WriteSegment(at, src, dst, Header{Seq: 1, Flags: spec.SYN, MSS: 1400}, nil); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	if len(b) != 24+16+20+24 {
		t.Fatalf("file is %d octets, want %d", len(b), 24+16+20+24)
	}
	if binary.LittleEndian.Uint32(b[20:]) != linkTypeRaw {
		t.Fatal("link type is not LINKTYPE_RAW")
	}
	if s, us := binary.LittleEndian.Uint32(b[24:]), binary.LittleEndian.Uint32(b[28:]); s != 1700000000 || us != 123456 {
		t.Fatalf("timestamp %d.%06d", s, us)
	}
	ip := b[40:60]
	if ^fold(sumBytes(0, ip)) != 0 {
		t.Fatal("IPv4 header checksum is wrong")
	}
	h, _, err := Decode(b[60:], src.Addr(), dst.Addr())
	if err != nil || h.SrcPort != 1024 || h.DstPort != 80 || h.MSS != 1400 {
		t.Fatalf("TCP segment in pcap: %v, %v", h, err)
	}
}

// TestPcapTshark writes a whole connection, segment by segment the way
// RFC 9293 Figures 7 and 12 draw it, and has tshark dissect it.
func TestPcapTshark(t *testing.T) {
	needTshark(t)
	file := filepath.Join(t.TempDir(), "conn.pcap")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	w, err := NewPcapWriter(f)
	if err != nil {
		t.Fatal(err)
	}
	a, b := netip.MustParseAddrPort("192.0.2.1:1024"), netip.MustParseAddrPort("192.0.2.2:80")
	at := time.Unix(1700000000, 0)
	segs := []struct {
		fromA   bool
		h       Header
		payload string
	}{
		{true, Header{Seq: 100, Flags: spec.SYN, Window: 65535, MSS: 1400}, ""},
		{false, Header{Seq: 300, Ack: 101, Flags: spec.SYN | spec.ACK, Window: 65535, MSS: 1400}, ""},
		{true, Header{Seq: 101, Ack: 301, Flags: spec.ACK, Window: 65535}, ""},
		{true, Header{Seq: 101, Ack: 301, Flags: spec.ACK | spec.PSH, Window: 65535}, "hello"},
		{false, Header{Seq: 301, Ack: 106, Flags: spec.ACK, Window: 65535}, ""},
		{true, Header{Seq: 106, Ack: 301, Flags: spec.FIN | spec.ACK, Window: 65535}, ""},
		{false, Header{Seq: 301, Ack: 107, Flags: spec.ACK, Window: 65535}, ""},
		{false, Header{Seq: 301, Ack: 107, Flags: spec.FIN | spec.ACK, Window: 65535}, ""},
		{true, Header{Seq: 107, Ack: 302, Flags: spec.ACK, Window: 65535}, ""},
	}
	for i, s := range segs {
		src, dst := b, a
		if s.fromA {
			src, dst = a, b
		}
		if err := w.WriteSegment(at.Add(time.Duration(i)*time.Millisecond), src, dst, s.h, []byte(s.payload)); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if n := checkPcapClean(t, file); n != len(segs) {
		t.Fatalf("tshark dissected %d TCP packets, want %d", n, len(segs))
	}
	// The checker must notice a bad checksum: corrupt the last packet's TCP checksum.
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)-20+16] ^= 0x55
	bad := filepath.Join(t.TempDir(), "bad.pcap")
	if err := os.WriteFile(bad, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	lines := tsharkFields(t, bad, "tcp.checksum.status")
	if lines[len(lines)-1] != "0" {
		t.Fatalf("tshark did not flag the corrupted checksum: %q", lines)
	}
	flags := tsharkFields(t, file, "tcp.flags.str", "tcp.seq", "tcp.ack", "tcp.len", "tcp.options.mss_val")
	if !strings.Contains(flags[0], "S") || !strings.Contains(flags[0], "1400") || !strings.Contains(flags[3], "\t5\t") {
		t.Fatalf("tshark read: %q", flags)
	}
}

// TestPcapOfConnection records whole connections made by two stacks
// (handshake, text both ways, close), as tcpdump on host A would, and has
// tshark dissect them: every packet TCP, no checksum errors, nothing
// malformed.
func TestPcapOfConnection(t *testing.T) {
	needTshark(t)
	// Without faults: tshark with its default preferences.
	file := recordConnection(t, Faults{})
	if n := checkPcapClean(t, file); n < 20 {
		t.Fatalf("only %d packets dissected", n)
	}
	flags := strings.Join(tsharkFields(t, file, "tcp.flags.str"), "\n")
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
	if n := checkPcapClean(t, file, "tcp.desegment_tcp_streams:FALSE"); n < 50 {
		t.Fatalf("only %d packets dissected", n)
	}
	retx := strings.Join(tsharkFields(t, file, "tcp.analysis.retransmission"), "")
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
	w, err := NewPcapWriter(f)
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
