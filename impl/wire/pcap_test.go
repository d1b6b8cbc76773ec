package wire

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tcpcheck/tcpcheck/internal/testenv"
	"github.com/tcpcheck/tcpcheck/spec"
)

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
	testenv.Tshark(t)
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
	if n := testenv.CheckPcapClean(t, file); n != len(segs) {
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
	lines := testenv.TsharkFields(t, bad, "tcp.checksum.status")
	if lines[len(lines)-1] != "0" {
		t.Fatalf("tshark did not flag the corrupted checksum: %q", lines)
	}
	flags := testenv.TsharkFields(t, file, "tcp.flags.str", "tcp.seq", "tcp.ack", "tcp.len", "tcp.options.mss_val")
	if !strings.Contains(flags[0], "S") || !strings.Contains(flags[0], "1400") || !strings.Contains(flags[3], "\t5\t") {
		t.Fatalf("tshark read: %q", flags)
	}
}

// TestPcapRefusesOversizedSegment: a segment longer than a packet holds is
// an error naming the limit, and nothing of it reaches the file.
func TestPcapRefusesOversizedSegment(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewPcapWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	src, dst := netip.MustParseAddrPort("192.0.2.1:1024"), netip.MustParseAddrPort("192.0.2.2:80")
	at := time.Unix(1700000000, 0)
	if err := w.WriteSegment(at, src, dst, Header{Flags: spec.ACK}, make([]byte, MaxPcapText)); err != nil {
		t.Fatalf("the largest segment: %v", err)
	}
	size := buf.Len()
	for _, tc := range []struct {
		name     string
		src, dst netip.AddrPort
		h        Header
		n        int
		want     string
	}{
		{"IPv4", src, dst, Header{Flags: spec.ACK}, MaxPcapText + 1, "at most 65495"},
		{"IPv4 with options", src, dst, Header{Flags: spec.SYN, MSS: 1400, HasWScale: true}, MaxPcapText, "at most 65487"},
		{"IPv6", netip.MustParseAddrPort("[2001:db8::1]:1024"), netip.MustParseAddrPort("[2001:db8::2]:80"), Header{Flags: spec.ACK}, 0xffff, "at most 65515"},
	} {
		err := w.WriteSegment(at, tc.src, tc.dst, tc.h, make([]byte, tc.n))
		if err == nil || !strings.HasPrefix(err.Error(), "wire: ") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s, %d octets: %v; want an error saying %q", tc.name, tc.n, err, tc.want)
		}
	}
	if buf.Len() != size {
		t.Errorf("a refused segment wrote %d octets", buf.Len()-size)
	}
}
