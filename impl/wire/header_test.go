package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/tcpcheck/tcpcheck/spec"
)

var (
	addrA = netip.MustParseAddr("192.0.2.1")
	addrB = netip.MustParseAddr("192.0.2.2")
)

// mustEncode encodes h with payload from addrA to addrB.
func mustEncode(t testing.TB, h Header, payload []byte) []byte {
	t.Helper()
	b, err := h.Encode(nil, addrA, addrB, payload)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// withOptions builds a segment whose options are opts (padded by the
// caller to a multiple of 4) and fixes its checksum.
func withOptions(opts []byte, payload []byte) []byte {
	b := make([]byte, HeaderLen, HeaderLen+len(opts)+len(payload))
	binary.BigEndian.PutUint16(b[0:], 1024)
	binary.BigEndian.PutUint16(b[2:], 80)
	binary.BigEndian.PutUint32(b[4:], 100)
	b[12] = byte((HeaderLen+len(opts))/4) << 4
	b[13] = byte(spec.SYN)
	binary.BigEndian.PutUint16(b[14:], 65535)
	b = append(b, opts...)
	b = append(b, payload...)
	fixChecksum(b)
	return b
}

// fixChecksum stores the correct checksum (for addrA to addrB) in b when b
// is long enough to have a checksum field.
func fixChecksum(b []byte) {
	if len(b) < 18 {
		return
	}
	b[16], b[17] = 0, 0
	binary.BigEndian.PutUint16(b[16:], Checksum(addrA, addrB, b))
}

// decodeSeeds are labelled inputs for FuzzDecode and TestDecodeSeeds, each
// with the error Decode must return (nil for a valid segment).
var decodeSeeds = []struct {
	name string
	b    []byte
	want error
}{
	{"syn-with-mss", withOptions([]byte{optMSS, 4, 0x05, 0x78}, nil), nil},
	{"ack-with-payload", withOptions(nil, []byte("hello")), nil},
	{"nop-nop-mss", withOptions([]byte{optNOP, optNOP, optMSS, 4, 0x02, 0x18, optEOL, 0}, nil), nil},
	{"eol-then-garbage", withOptions([]byte{optEOL, 0xff, 0xff, 0xff}, nil), nil},
	{"unknown-option-skipped", withOptions([]byte{30, 4, 1, 2}, nil), nil},
	{"mss-and-window-scale", withOptions([]byte{optMSS, 4, 0x05, 0x78, optNOP, optWS, 3, 7}, nil), nil},
	{"window-scale-length-4", withOptions([]byte{optWS, 4, 7, 0}, nil), ErrOptions},
	{"timestamp-option", withOptions([]byte{optNOP, optNOP, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2}, nil), nil},
	{"empty", nil, ErrShort},
	{"nineteen-octets", make([]byte, 19), ErrShort},
	{"data-offset-4", func() []byte { b := withOptions(nil, nil); b[12] = 4 << 4; fixChecksum(b); return b }(), ErrDataOffset},
	{"data-offset-beyond", func() []byte { b := withOptions(nil, nil); b[12] = 15 << 4; fixChecksum(b); return b }(), ErrDataOffset},
	{"bad-checksum", func() []byte { b := withOptions(nil, []byte("x")); b[16] ^= 0xff; return b }(), ErrChecksum},
	{"mss-length-3", withOptions([]byte{optMSS, 3, 0, optEOL}, nil), ErrOptions},
	{"option-length-0", withOptions([]byte{30, 0, 0, 0}, nil), ErrOptions},
	{"option-length-past-end", withOptions([]byte{30, 9, 0, 0}, nil), ErrOptions},
	{"option-without-length", withOptions([]byte{optNOP, optNOP, optNOP, 30}, nil), ErrOptions},
}

func TestDecodeSeeds(t *testing.T) {
	for _, s := range decodeSeeds {
		t.Run(s.name, func(t *testing.T) {
			_, _, err := Decode(s.b, addrA, addrB)
			if !errors.Is(err, s.want) || (err == nil) != (s.want == nil) {
				t.Fatalf("Decode: %v, want %v", err, s.want)
			}
			if err != nil && !bytes.HasPrefix([]byte(err.Error()), []byte("wire: ")) {
				t.Fatalf("error %q lacks the impl: prefix", err)
			}
			checkRoundTrip(t, s.b)
		})
	}
}

// checkRoundTrip decodes b and, when that succeeds, checks that encoding
// the result and decoding again gives the same header and payload.
func checkRoundTrip(t *testing.T, b []byte) {
	t.Helper()
	h, p, err := Decode(b, addrA, addrB)
	if err != nil {
		return
	}
	b2, err := h.Encode(nil, addrA, addrB, p)
	if err != nil {
		t.Fatalf("Encode of a decoded header: %v", err)
	}
	h2, p2, err := Decode(b2, addrA, addrB)
	if err != nil {
		t.Fatalf("Decode(Encode(%v)): %v", h, err)
	}
	h.Checksum, h2.Checksum = 0, 0
	if h != h2 || !bytes.Equal(p, p2) {
		t.Fatalf("round trip: %v %q became %v %q", h, p, h2, p2)
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range decodeSeeds {
		f.Add(s.b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkRoundTrip(t, b)
		// With the checksum made right, the fuzzer reaches the options.
		fixed := bytes.Clone(b)
		fixChecksum(fixed)
		checkRoundTrip(t, fixed)
	})
}

func TestHeaderRoundTrip(t *testing.T) {
	cases := []Header{
		{SrcPort: 1024, DstPort: 80, Seq: 100, Flags: spec.SYN, Window: 65535, MSS: 1400},
		{SrcPort: 80, DstPort: 1024, Seq: 0xffffffff, Ack: 101, Flags: spec.SYN | spec.ACK, Window: 1, MSS: 536},
		{SrcPort: 1, DstPort: 65535, Seq: 7, Ack: 9, Flags: spec.ACK | spec.PSH | spec.FIN, Window: 0, Urgent: 3},
		{Flags: spec.RST},
		{SrcPort: 9, DstPort: 10, Seq: 1, Flags: spec.SYN, Window: 512, MSS: 1400, HasWScale: true, WScale: 4},
		{SrcPort: 9, DstPort: 10, Seq: 1, Flags: spec.SYN | spec.ACK, HasWScale: true, WScale: 0},
	}
	for _, h := range cases {
		for _, payload := range [][]byte{nil, []byte("x"), bytes.Repeat([]byte("ab"), 700)} {
			b := mustEncode(t, h, payload)
			got, p, err := Decode(b, addrA, addrB)
			if err != nil {
				t.Fatalf("Decode(Encode(%v)): %v", h, err)
			}
			got.Checksum = 0
			if got != h || !bytes.Equal(p, payload) {
				t.Fatalf("round trip: %v %q became %v %q", h, payload, got, p)
			}
			if _, _, err := Decode(b, addrA, netip.MustParseAddr("192.0.2.3")); !errors.Is(err, ErrChecksum) {
				t.Fatalf("a segment for another address decoded: %v", err)
			}
		}
	}
}

func TestChecksumIPv6(t *testing.T) {
	a, b := netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::2")
	h := Header{SrcPort: 5, DstPort: 6, Seq: 1, Flags: spec.SYN, MSS: 1220}
	seg, err := h.Encode(nil, a, b, []byte("odd"))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := Decode(seg, a, b); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Encode(nil, a, addrB, nil); !errors.Is(err, ErrAddress) {
		t.Fatalf("mixed families: %v", err)
	}
}

// TestChecksumKnown pins the checksum against a value computed by hand:
// RFC 1071 sums of 16-bit words with end-around carry.
func TestChecksumKnown(t *testing.T) {
	src, dst := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	seg := make([]byte, 20)
	seg[12] = 5 << 4
	// Words: 0a00+0001+0a00+0002+0006+0014+5000 = 0x641d; complement 0x9be2.
	if got := Checksum(src, dst, seg); got != 0x9be2 {
		t.Fatalf("Checksum = %#04x, want 0x9be2", got)
	}
}

// naiveSum is RFC 1071's 16-bit one's complement sum, word by word: the
// reference the fast sumBytes must agree with.
func naiveSum(parts ...[]byte) uint16 {
	var sum uint32
	for _, b := range parts {
		for i := 0; i < len(b); i += 2 {
			w := uint32(b[i]) << 8
			if i+1 < len(b) {
				w |= uint32(b[i+1])
			}
			sum += w
			sum = sum>>16 + sum&0xffff
		}
	}
	return ^uint16(sum)
}

// TestChecksumMatchesNaive compares Checksum with the 16-bit reference on
// random segments of every length up to 300 octets and a few near 64 KiB,
// including all-0xff text (sums that carry on every word) and all zeros.
func TestChecksumMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	src6, dst6 := netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::2")
	lengths := []int{65487, 65488, 65535}
	for n := range 301 {
		lengths = append(lengths, n)
	}
	for _, n := range lengths {
		for fill := range 3 {
			seg := make([]byte, n)
			switch fill {
			case 0:
				for i := range seg {
					seg[i] = byte(rng.Uint32())
				}
			case 1:
				for i := range seg {
					seg[i] = 0xff
				}
			}
			a4, b4 := addrA.As4(), addrB.As4()
			var ph [12]byte
			copy(ph[0:], a4[:])
			copy(ph[4:], b4[:])
			ph[9] = ProtoTCP
			binary.BigEndian.PutUint16(ph[10:], uint16(n))
			if got, want := Checksum(addrA, addrB, seg), naiveSum(ph[:], seg); got != want {
				t.Fatalf("IPv4, %d octets, fill %d: Checksum = %#04x, want %#04x", n, fill, got, want)
			}
			a16, b16 := src6.As16(), dst6.As16()
			var ph6 [40]byte
			copy(ph6[0:], a16[:])
			copy(ph6[16:], b16[:])
			binary.BigEndian.PutUint32(ph6[32:], uint32(n))
			ph6[39] = ProtoTCP
			if got, want := Checksum(src6, dst6, seg), naiveSum(ph6[:], seg); got != want {
				t.Fatalf("IPv6, %d octets, fill %d: Checksum = %#04x, want %#04x", n, fill, got, want)
			}
		}
	}
}

// BenchmarkChecksum sums a full-sized Ethernet segment (1448 octets of
// text and a 32-octet header with timestamps).
func BenchmarkChecksum(b *testing.B) {
	seg := make([]byte, 1480)
	for i := range seg {
		seg[i] = byte(i * 7)
	}
	b.SetBytes(int64(len(seg)))
	for b.Loop() {
		Checksum(addrA, addrB, seg)
	}
}
