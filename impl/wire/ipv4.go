package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
)

// IPv4HeaderLen is the length of an IPv4 header without options
// (RFC 791 §3.1).
const IPv4HeaderLen = 20

// IPv4 decoding errors. DecodeIPv4 wraps them with detail; test with
// errors.Is.
var (
	ErrIPShort    = errors.New("wire: IPv4 packet shorter than its header")
	ErrIPVersion  = errors.New("wire: not an IPv4 packet")
	ErrIPLength   = errors.New("wire: bad IPv4 header or total length")
	ErrIPChecksum = errors.New("wire: bad IPv4 header checksum")
	ErrIPFragment = errors.New("wire: IPv4 fragment")
)

// IPv4Header is the IPv4 header of RFC 791 §3.1 as a fields struct.
// Options are not kept: DecodeIPv4 skips them and EncodeIPv4 emits none.
type IPv4Header struct {
	TOS      uint8
	TotalLen uint16 // header plus payload, as on the wire
	ID       uint16
	DF       bool   // don't fragment
	MF       bool   // more fragments
	FragOff  uint16 // fragment offset in 8-octet units
	TTL      uint8
	Protocol uint8
	Checksum uint16 // as read by DecodeIPv4; EncodeIPv4 computes its own
	Src, Dst netip.Addr
}

// DecodeIPv4 parses the IPv4 packet b and returns its header and payload
// (a subslice of b, cut to the total length). It verifies the version,
// the lengths and the header checksum, and rejects fragments (the TUN
// link sets DF and reassembles nothing). It never panics; each failure
// wraps one of ErrIPShort, ErrIPVersion, ErrIPLength, ErrIPChecksum or
// ErrIPFragment.
func DecodeIPv4(b []byte) (IPv4Header, []byte, error) {
	var h IPv4Header
	if len(b) < 1 {
		return h, nil, fmt.Errorf("%w: empty packet", ErrIPShort)
	}
	if v := b[0] >> 4; v != 4 {
		return h, nil, fmt.Errorf("%w: version %d", ErrIPVersion, v)
	}
	if len(b) < IPv4HeaderLen {
		return h, nil, fmt.Errorf("%w: %d octets, need at least %d", ErrIPShort, len(b), IPv4HeaderLen)
	}
	hl := int(b[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(b[2:]))
	switch {
	case hl < IPv4HeaderLen:
		return h, nil, fmt.Errorf("%w: header length %d, less than %d", ErrIPLength, hl, IPv4HeaderLen)
	case hl > len(b):
		return h, nil, fmt.Errorf("%w: header length %d, beyond the %d-octet packet", ErrIPLength, hl, len(b))
	case total < hl:
		return h, nil, fmt.Errorf("%w: total length %d, less than the header's %d", ErrIPLength, total, hl)
	case total > len(b):
		return h, nil, fmt.Errorf("%w: total length %d, beyond the %d octets read", ErrIPLength, total, len(b))
	}
	if sum := ^fold(sumBytes(0, b[:hl])); sum != 0 {
		return h, nil, fmt.Errorf("%w: header sums to %#04x, want 0", ErrIPChecksum, sum)
	}
	frag := binary.BigEndian.Uint16(b[6:])
	h.TOS = b[1]
	h.TotalLen = uint16(total)
	h.ID = binary.BigEndian.Uint16(b[4:])
	h.DF = frag&0x4000 != 0
	h.MF = frag&0x2000 != 0
	h.FragOff = frag & 0x1fff
	h.TTL = b[8]
	h.Protocol = b[9]
	h.Checksum = binary.BigEndian.Uint16(b[10:])
	h.Src = netip.AddrFrom4([4]byte(b[12:16]))
	h.Dst = netip.AddrFrom4([4]byte(b[16:20]))
	if h.MF || h.FragOff != 0 {
		return h, nil, fmt.Errorf("%w: id %d offset %d more=%v", ErrIPFragment, h.ID, h.FragOff*8, h.MF)
	}
	return h, b[hl:total], nil
}

// EncodeIPv4 appends an IPv4 header (no options) for a payload of
// payloadLen octets to b and returns the result; the caller appends the
// payload. TotalLen and Checksum are computed; Src and Dst must be IPv4.
func (h IPv4Header) EncodeIPv4(b []byte, payloadLen int) ([]byte, error) {
	src, dst := h.Src.Unmap(), h.Dst.Unmap()
	if !src.Is4() || !dst.Is4() {
		return b, fmt.Errorf("%w: %v and %v are not both IPv4", ErrAddress, h.Src, h.Dst)
	}
	total := IPv4HeaderLen + payloadLen
	if payloadLen < 0 || total > 0xffff {
		return b, fmt.Errorf("%w: payload of %d octets does not fit an IPv4 packet", ErrIPLength, payloadLen)
	}
	start := len(b)
	b = append(b, make([]byte, IPv4HeaderLen)...)
	ip := b[start:]
	ip[0] = 0x45
	ip[1] = h.TOS
	binary.BigEndian.PutUint16(ip[2:], uint16(total))
	binary.BigEndian.PutUint16(ip[4:], h.ID)
	frag := h.FragOff & 0x1fff
	if h.DF {
		frag |= 0x4000
	}
	if h.MF {
		frag |= 0x2000
	}
	binary.BigEndian.PutUint16(ip[6:], frag)
	ip[8] = h.TTL
	ip[9] = h.Protocol
	s4, d4 := src.As4(), dst.As4()
	copy(ip[12:], s4[:])
	copy(ip[16:], d4[:])
	binary.BigEndian.PutUint16(ip[10:], ^fold(sumBytes(0, ip[:IPv4HeaderLen])))
	return b, nil
}
