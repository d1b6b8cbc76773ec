package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/tcpcheck/tcpcheck/spec"
)

func readAll(t *testing.T, data []byte) ([]Segment, *Reader, error) {
	t.Helper()
	r, err := Open(bytes.NewReader(data))
	if err != nil {
		return nil, nil, err
	}
	var out []Segment
	for {
		var s Segment
		err := r.Next(&s)
		if err == io.EOF {
			return out, r, nil
		}
		if err != nil {
			return out, r, err
		}
		out = append(out, s)
	}
}

// checkConversation compares what the reader decoded with the packets written.
func checkConversation(t *testing.T, got []Segment, want []pkt) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("read %d segments, wrote %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Frame != i+1 || g.Src != w.src || g.Dst != w.dst || uint32(g.Seq) != w.seq || uint32(g.Ack) != w.ack ||
			g.Flags != w.flags || g.Window != w.win || g.Len != uint32(len(w.payload)) || g.MSS != w.mss {
			t.Errorf("segment %d: read %+v, wrote %+v", i, g, w)
		}
		if w.flags.Has(spec.SYN) && (!g.HasWScale || int(g.WScale) != w.wscale || !g.SACKPerm) {
			t.Errorf("segment %d: options: window scale %v %d, SACK-permitted %v; wrote shift %d", i, g.HasWScale, g.WScale, g.SACKPerm, w.wscale)
		}
		if g.HasTS != w.ts || (w.ts && g.TSEcr != 77) {
			t.Errorf("segment %d: timestamps %v %d/%d", i, g.HasTS, g.TSVal, g.TSEcr)
		}
		if g.Sum != SumOK {
			t.Errorf("segment %d: checksum %v, want ok", i, g.Sum)
		}
	}
}

func TestReaderEveryLinkType(t *testing.T) {
	links := []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL, layers.LinkTypeLinuxSLL2,
		layers.LinkTypeRaw, layers.LinkTypeIPv4, layers.LinkTypeNull, layers.LinkTypeLoop}
	for _, link := range links {
		for _, v6 := range []bool{false, true} {
			if link == layers.LinkTypeIPv4 && v6 {
				continue
			}
			a, b := cliA, srvB
			if v6 {
				a, b = cli6, srv6
			}
			conv := conversation(a, b, 1000, 4000000000)
			for _, nanos := range []bool{false, true} {
				name := link.String()
				if v6 {
					name += "/IPv6"
				}
				if nanos {
					name += "/ns"
				}
				t.Run(name, func(t *testing.T) {
					got, r, err := readAll(t, writePcap(t, link, nanos, conv))
					if err != nil {
						t.Fatal(err)
					}
					if r.Format != "pcap" || r.LinkType() != link {
						t.Errorf("format %s link %v", r.Format, r.LinkType())
					}
					checkConversation(t, got, conv)
				})
			}
		}
	}
}

func TestReaderVLANAndIPv6HopByHopAndIPOptions(t *testing.T) {
	conv := conversation(cliA, srvB, 1, 2)
	for i := range conv {
		conv[i].vlan = true
		conv[i].ipOptions = i%2 == 0
	}
	got, _, err := readAll(t, writePcap(t, layers.LinkTypeEthernet, false, conv))
	if err != nil {
		t.Fatal(err)
	}
	checkConversation(t, got, conv)

	conv6 := conversation(cli6, srv6, 1, 2)
	for i := range conv6 {
		conv6[i].hopByHop = true
	}
	got, _, err = readAll(t, writePcap(t, layers.LinkTypeRaw, false, conv6))
	if err != nil {
		t.Fatal(err)
	}
	checkConversation(t, got, conv6)
}

func TestReaderBigEndianPcap(t *testing.T) {
	conv := conversation(cliA, srvB, 7, 9)
	for _, nanos := range []bool{false, true} {
		be := swapPcapOrder(t, writePcap(t, layers.LinkTypeEthernet, nanos, conv))
		if be[0] != 0xa1 {
			t.Fatalf("not big-endian: % x", be[:4])
		}
		got, _, err := readAll(t, be)
		if err != nil {
			t.Fatal(err)
		}
		checkConversation(t, got, conv)
	}
}

func TestReaderPcapngInterfacesAndSections(t *testing.T) {
	conv := conversation(cliA, srvB, 7, 9)
	links := []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL2, layers.LinkTypeRaw}
	one := writePcapng(t, links, conv)
	got, r, err := readAll(t, one)
	if err != nil {
		t.Fatal(err)
	}
	if r.Format != "pcapng" {
		t.Errorf("format %s", r.Format)
	}
	checkConversation(t, got, conv)

	// Two sections, each with its own interfaces: the second section's
	// frames continue the numbering.
	second := conversation(cli6, srv6, 70, 90)
	two := append(append([]byte(nil), one...), writePcapng(t, []layers.LinkType{layers.LinkTypeNull}, second)...)
	got, _, err = readAll(t, two)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(conv)+len(second) {
		t.Fatalf("read %d segments from two sections, want %d", len(got), len(conv)+len(second))
	}
	for i := range second {
		second[i].wscale = conv[i].wscale
	}
	tail := got[len(conv):]
	for i := range tail {
		tail[i].Frame -= len(conv)
	}
	checkConversation(t, tail, second)
}

func TestReaderSkipsAndNotes(t *testing.T) {
	conv := conversation(cliA, srvB, 1, 2)
	conv[2].fragment = true
	conv[4].snapTo = 14 + 20 + 10 // cuts the TCP header
	conv[5].badSum = true
	conv[3].snapTo = 14 + 20 + 32 + 4 // header whole, payload cut: checksum unknown
	got, r, err := readAll(t, writePcap(t, layers.LinkTypeEthernet, false, conv))
	if err != nil {
		t.Fatal(err)
	}
	if r.Skip.Fragment != 1 || r.Skip.Truncated != 1 || len(got) != len(conv)-2 {
		t.Fatalf("skip %+v, %d segments", r.Skip, len(got))
	}
	byFrame := map[int]Segment{}
	for _, s := range got {
		byFrame[s.Frame] = s
	}
	if byFrame[6].Sum != SumBad {
		t.Errorf("frame 6 (bad checksum): %v", byFrame[6].Sum)
	}
	if byFrame[4].Sum != SumUnknown || byFrame[4].Len != uint32(len(conv[3].payload)) {
		t.Errorf("frame 4 (snapped): checksum %v len %d", byFrame[4].Sum, byFrame[4].Len)
	}
	if byFrame[6].Len != uint32(len(conv[5].payload)) {
		t.Errorf("frame 6 len %d", byFrame[6].Len)
	}
}

func TestOpenRefusesOtherFiles(t *testing.T) {
	for _, c := range []struct {
		name string
		data string
		want error
	}{
		{"empty", "", ErrNotCapture},
		{"short", "ab", ErrNotCapture},
		{"text", "hello, this is not a capture\n", ErrNotCapture},
		{"json", "{\"format\": \"tcpcheck-trace\"}", ErrJSONTrace},
		{"json-lines", "\n  [{\"state\":1}]", ErrJSONTrace},
	} {
		_, err := Open(strings.NewReader(c.data))
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}

// TestUnknownLinkTypeNamed: a capture of a link type the reader does not
// decode is refused by the type's number, with gopacket's name when it
// has one, never as "UnknownLinkType".
func TestUnknownLinkTypeNamed(t *testing.T) {
	for link, want := range map[layers.LinkType]string{107: "link type 107 (see", layers.LinkTypePPP: "link type PPP (9)"} {
		_, err := Open(bytes.NewReader(writePcap(t, link, false, nil)))
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "Unknown") {
			t.Errorf("link type %d: %v, want %q", int(link), err, want)
		}
	}
}

func TestReaderTruncatedFile(t *testing.T) {
	data := writePcap(t, layers.LinkTypeEthernet, false, conversation(cliA, srvB, 1, 2))
	for _, cut := range []int{10, 24 + 8, len(data) - 5} {
		r, err := Open(bytes.NewReader(data[:cut]))
		if err != nil {
			if cut >= 24 || !strings.Contains(err.Error(), "cut short") {
				t.Errorf("cut %d: %v", cut, err)
			}
			continue
		}
		var s Segment
		for err == nil {
			err = r.Next(&s)
		}
		if err == io.EOF || !strings.Contains(err.Error(), "truncated") {
			t.Errorf("cut at %d: %v, want an error naming the truncation", cut, err)
		}
	}
}

// writeRaw writes whole raw-IP packets (captured length = length on the
// wire) as a pcap.
func writeRaw(t *testing.T, packets ...[]byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w := pcapgo.NewWriter(&b)
	if err := w.WriteFileHeader(65535, layers.LinkTypeRaw); err != nil {
		t.Fatal(err)
	}
	for _, p := range packets {
		if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: time.Unix(1, 0), CaptureLength: len(p), Length: len(p)}, p); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}

// readOne reads the first segment of a capture, and its skip counts.
func readOne(t *testing.T, data []byte) (Segment, Skip, error) {
	t.Helper()
	r, err := Open(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var s Segment
	err = r.Next(&s)
	return s, r.Skip, err
}

// TestWholePacketsWithBadHeaders: a packet that is all there, whose IP
// length claims more than it carried or whose TCP data offset runs past
// its end, is malformed (a receiver drops it), not cut by the snap length
// and not a segment with text it never had.
func TestWholePacketsWithBadHeaders(t *testing.T) {
	syn := pkt{src: cliA, dst: srvB, seq: 1000, flags: spec.SYN}.ipBytes(t)
	v6 := pkt{src: netip.MustParseAddrPort("[2001:db8::1]:40000"), dst: netip.MustParseAddrPort("[2001:db8::2]:80"), seq: 1000, flags: spec.SYN}.ipBytes(t)
	long4 := slices.Clone(syn)
	binary.BigEndian.PutUint16(long4[2:4], 60000)
	long6 := slices.Clone(v6)
	binary.BigEndian.PutUint16(long6[4:6], 65535)
	offset := slices.Clone(syn)
	offset[20+12] = 15 << 4 // 60 octets of TCP header in a packet that has 20
	for name, p := range map[string][]byte{"IPv4 length": long4, "IPv6 payload length": long6, "data offset": offset} {
		_, skip, err := readOne(t, writeRaw(t, p))
		if err != io.EOF || skip.Malformed != 1 || skip.Total() != 1 {
			t.Errorf("%s: %v, skipped %+v; want it skipped as malformed", name, err, skip)
		}
	}
}

// TestIPv6ExtensionHeaders: TCP behind a routing and a destination options
// header is read, its length less theirs.
func TestIPv6ExtensionHeaders(t *testing.T) {
	v6 := pkt{src: netip.MustParseAddrPort("[2001:db8::1]:40000"), dst: netip.MustParseAddrPort("[2001:db8::2]:80"), seq: 1000, flags: spec.ACK, payload: []byte("hello")}.ipBytes(t)
	// Routing (type 0 segments left 0: 8 octets), then destination
	// options (a PadN of 6: 8 octets), then TCP.
	rt := []byte{60, 0, 0, 0, 0, 0, 0, 0}
	do := []byte{6, 0, 1, 4, 0, 0, 0, 0}
	p := slices.Concat(v6[:40], rt, do, v6[40:])
	p[6] = 43
	binary.BigEndian.PutUint16(p[4:6], uint16(len(p)-40))
	s, skip, err := readOne(t, writeRaw(t, p))
	if err != nil || s.Len != 5 || s.Seq != 1000 || s.Dst.Port() != 80 {
		t.Fatalf("%v: %+v, skipped %+v", err, s, skip)
	}
}
