package wire

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"
)

func ipv4Packet(t testing.TB, payload []byte) []byte {
	t.Helper()
	h := IPv4Header{ID: 7, DF: true, TTL: 64, Protocol: ProtoTCP,
		Src: netip.MustParseAddr("192.0.2.1"), Dst: netip.MustParseAddr("192.0.2.2")}
	b, err := h.EncodeIPv4(nil, len(payload))
	if err != nil {
		t.Fatal(err)
	}
	return append(b, payload...)
}

func TestIPv4RoundTrip(t *testing.T) {
	payload := []byte("0123456789")
	b := ipv4Packet(t, payload)
	h, got, err := DecodeIPv4(append(b, 0xee, 0xee)) // link padding beyond the total length
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(payload) {
		t.Errorf("payload %q, want %q", got, payload)
	}
	if h.ID != 7 || !h.DF || h.MF || h.TTL != 64 || h.Protocol != ProtoTCP || h.TotalLen != uint16(IPv4HeaderLen+len(payload)) ||
		h.Src != netip.MustParseAddr("192.0.2.1") || h.Dst != netip.MustParseAddr("192.0.2.2") {
		t.Errorf("decoded %+v", h)
	}
	// A known header: the example of RFC 1071 style hand computation.
	known := []byte{0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7}
	known = append(known, make([]byte, 0x73-20)...)
	if _, _, err := DecodeIPv4(known); err != nil {
		t.Errorf("a correct header from a capture: %v", err)
	}
}

// TestIPv4Errors checks each failure is reported with its own error.
func TestIPv4Errors(t *testing.T) {
	good := ipv4Packet(t, []byte("abcd"))
	mod := func(f func(b []byte) []byte) []byte {
		return f(append([]byte(nil), good...))
	}
	refix := func(b []byte) []byte {
		hl := int(b[0]&0xf) * 4
		if hl > len(b) {
			return b
		}
		binary.BigEndian.PutUint16(b[10:], 0)
		binary.BigEndian.PutUint16(b[10:], ^fold(sumBytes(0, b[:hl])))
		return b
	}
	cases := []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, ErrIPShort},
		{"ipv6", []byte{0x60, 0, 0, 0}, ErrIPVersion},
		{"short", good[:19], ErrIPShort},
		{"ihl below 5", mod(func(b []byte) []byte { b[0] = 0x44; return refix(b) }), ErrIPLength},
		{"ihl beyond packet", mod(func(b []byte) []byte { b[0] = 0x4f; return b }), ErrIPLength},
		{"total below header", mod(func(b []byte) []byte { binary.BigEndian.PutUint16(b[2:], 10); return refix(b) }), ErrIPLength},
		{"total beyond read", mod(func(b []byte) []byte { binary.BigEndian.PutUint16(b[2:], 100); return refix(b) }), ErrIPLength},
		{"checksum", mod(func(b []byte) []byte { b[8]--; return b }), ErrIPChecksum},
		{"more fragments", mod(func(b []byte) []byte { b[6] |= 0x20; return refix(b) }), ErrIPFragment},
		{"fragment offset", mod(func(b []byte) []byte { b[7] = 3; return refix(b) }), ErrIPFragment},
	}
	for _, c := range cases {
		if _, _, err := DecodeIPv4(c.b); !errors.Is(err, c.want) {
			t.Errorf("%s: error %v, want %v", c.name, err, c.want)
		}
	}
	if _, err := (IPv4Header{Src: netip.MustParseAddr("::1"), Dst: netip.MustParseAddr("::2")}).EncodeIPv4(nil, 0); !errors.Is(err, ErrAddress) {
		t.Errorf("IPv6 addresses: %v, want ErrAddress", err)
	}
	if _, err := (IPv4Header{Src: addrA, Dst: addrB}).EncodeIPv4(nil, 70000); !errors.Is(err, ErrIPLength) {
		t.Errorf("oversized payload: %v, want ErrIPLength", err)
	}
}

// FuzzDecodeIPv4 checks that decoding never panics and that whatever
// decodes encodes back to a packet that decodes the same.
func FuzzDecodeIPv4(f *testing.F) {
	seeds := map[string][]byte{
		"tcp":   ipv4Packet(f, []byte{1, 2, 3}),
		"empty": ipv4Packet(f, nil),
		"ipv6":  {0x60, 0, 0, 0, 0, 0, 6, 64},
		"short": {0x45, 0},
	}
	for _, name := range []string{"tcp", "empty", "ipv6", "short"} {
		f.Add(seeds[name])
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h, payload, err := DecodeIPv4(b)
		if err != nil {
			return
		}
		out, err := h.EncodeIPv4(nil, len(payload))
		if err != nil {
			t.Fatalf("re-encoding %+v: %v", h, err)
		}
		out = append(out, payload...)
		h2, p2, err := DecodeIPv4(out)
		if err != nil || string(p2) != string(payload) || h2.Src != h.Src || h2.Dst != h.Dst || h2.Protocol != h.Protocol {
			t.Fatalf("round trip: %+v %v", h2, err)
		}
	})
}
