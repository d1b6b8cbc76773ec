package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"net/netip"

	"github.com/tcpcheck/tcpcheck/spec"
)

// HeaderLen is the length of a TCP header without options (RFC 9293 §3.1).
const HeaderLen = 20

// MaxHeaderLen is the longest TCP header: a data offset of 15 words.
const MaxHeaderLen = 60

// ProtoTCP is the IP protocol number of TCP.
const ProtoTCP = 6

// Option kinds of RFC 9293 §3.2.
const (
	optEOL = 0 // end of option list
	optNOP = 1 // no-operation
	optMSS = 2 // maximum segment size, length 4
	optWS  = 3 // window scale, length 3 (RFC 7323 §2.2)
)

// Decoding errors. Decode wraps them with detail; test with errors.Is.
var (
	ErrShort      = errors.New("wire: segment shorter than its header")
	ErrDataOffset = errors.New("wire: bad data offset")
	ErrChecksum   = errors.New("wire: bad checksum")
	ErrOptions    = errors.New("wire: malformed options")
	ErrAddress    = errors.New("wire: addresses of different families")
)

// Header is the TCP header of RFC 9293 §3.1 as a fields struct. Options
// other than MSS and window scale are not kept: Decode skips them and
// Encode emits only those two.
type Header struct {
	SrcPort, DstPort uint16
	Seq, Ack         spec.Seq
	Flags            spec.Flags
	Window           uint16
	Checksum         uint16 // as read by Decode; Encode computes its own
	Urgent           uint16
	MSS              uint16 // the MSS option (RFC 9293 §3.7.1); 0 when absent
	HasWScale        bool   // the window scale option (RFC 7323 §2) is present
	WScale           uint8  // its shift count, as sent (RFC 7323 caps its use at 14)
}

// Spec returns what spec's TCB reads of a segment with header h and n
// octets of text.
func (h *Header) Spec(n int) spec.Segment {
	return spec.Segment{Seq: h.Seq, Ack: h.Ack, Flags: h.Flags, Window: h.Window, Len: uint32(n),
		MSS: h.MSS, HasWScale: h.HasWScale, WScale: h.WScale}
}

// Len returns the encoded length of h: 20 octets, plus 4 for the MSS
// option and 4 for the window scale option (with a NOP before it).
func (h Header) Len() int {
	n := HeaderLen
	if h.MSS != 0 {
		n += 4
	}
	if h.HasWScale {
		n += 4
	}
	return n
}

// String renders h the way captures print it: "80>1024 SYN,ACK seq=300 ack=101 win=65535 mss=1400".
func (h Header) String() string {
	s := fmt.Sprintf("%d>%d %s seq=%d ack=%d win=%d", h.SrcPort, h.DstPort, h.Flags, uint32(h.Seq), uint32(h.Ack), h.Window)
	if h.MSS != 0 {
		s += fmt.Sprintf(" mss=%d", h.MSS)
	}
	if h.HasWScale {
		s += fmt.Sprintf(" ws=%d", h.WScale)
	}
	return s
}

// Encode appends the segment (header and payload) to b and returns the
// result. The checksum covers the pseudo-header of src and dst (IPv4 of
// RFC 9293 §3.1, or IPv6 of RFC 8200 §8.1), which must be of one family.
func (h Header) Encode(b []byte, src, dst netip.Addr, payload []byte) ([]byte, error) {
	src, dst = src.Unmap(), dst.Unmap()
	if src.Is4() != dst.Is4() || !src.IsValid() || !dst.IsValid() {
		return b, fmt.Errorf("%w: %v and %v", ErrAddress, src, dst)
	}
	start := len(b)
	hl := h.Len()
	b = append(b, make([]byte, hl)...)
	s := b[start:]
	binary.BigEndian.PutUint16(s[0:], h.SrcPort)
	binary.BigEndian.PutUint16(s[2:], h.DstPort)
	binary.BigEndian.PutUint32(s[4:], uint32(h.Seq))
	binary.BigEndian.PutUint32(s[8:], uint32(h.Ack))
	s[12] = byte(hl/4) << 4
	s[13] = byte(h.Flags)
	binary.BigEndian.PutUint16(s[14:], h.Window)
	binary.BigEndian.PutUint16(s[18:], h.Urgent)
	o := s[HeaderLen:]
	if h.MSS != 0 {
		o[0], o[1] = optMSS, 4
		binary.BigEndian.PutUint16(o[2:], h.MSS)
		o = o[4:]
	}
	if h.HasWScale {
		o[0], o[1], o[2], o[3] = optNOP, optWS, 3, h.WScale
	}
	b = append(b, payload...)
	seg := b[start:]
	binary.BigEndian.PutUint16(seg[16:], Checksum(src, dst, seg))
	return b, nil
}

// Decode parses the segment b that travelled from src to dst and returns
// its header and payload (a subslice of b). It verifies the checksum and
// the options and never panics; each failure wraps one of ErrShort,
// ErrDataOffset, ErrChecksum, ErrOptions or ErrAddress.
func Decode(b []byte, src, dst netip.Addr) (Header, []byte, error) {
	var h Header
	if len(b) < HeaderLen {
		return h, nil, fmt.Errorf("%w: %d octets, need at least %d", ErrShort, len(b), HeaderLen)
	}
	off := int(b[12]>>4) * 4
	if off < HeaderLen {
		return h, nil, fmt.Errorf("%w: %d octets, less than %d", ErrDataOffset, off, HeaderLen)
	}
	if off > len(b) {
		return h, nil, fmt.Errorf("%w: %d octets, beyond the %d-octet segment", ErrDataOffset, off, len(b))
	}
	src, dst = src.Unmap(), dst.Unmap()
	if src.Is4() != dst.Is4() || !src.IsValid() || !dst.IsValid() {
		return h, nil, fmt.Errorf("%w: %v and %v", ErrAddress, src, dst)
	}
	if sum := Checksum(src, dst, b); sum != 0 {
		return h, nil, fmt.Errorf("%w: segment sums to %#04x, want 0", ErrChecksum, sum)
	}
	h.SrcPort = binary.BigEndian.Uint16(b[0:])
	h.DstPort = binary.BigEndian.Uint16(b[2:])
	h.Seq = spec.Seq(binary.BigEndian.Uint32(b[4:]))
	h.Ack = spec.Seq(binary.BigEndian.Uint32(b[8:]))
	h.Flags = spec.Flags(b[13])
	h.Window = binary.BigEndian.Uint16(b[14:])
	h.Checksum = binary.BigEndian.Uint16(b[16:])
	h.Urgent = binary.BigEndian.Uint16(b[18:])
	if err := parseOptions(&h, b[HeaderLen:off]); err != nil {
		return Header{}, nil, err
	}
	return h, b[off:], nil
}

// parseOptions walks the option list of RFC 9293 §3.2 into h: EOL ends
// it, NOP is one octet, every other kind has a length octet that counts
// the kind and length octets too. MSS must have length 4 and window scale
// (RFC 7323 §2.2) length 3; unknown kinds are skipped.
func parseOptions(h *Header, o []byte) error {
	for i := 0; i < len(o); {
		kind := o[i]
		switch kind {
		case optEOL:
			return nil
		case optNOP:
			i++
			continue
		}
		if i+1 >= len(o) {
			return fmt.Errorf("%w: option kind %d at offset %d has no length octet", ErrOptions, kind, i)
		}
		n := int(o[i+1])
		if n < 2 || i+n > len(o) {
			return fmt.Errorf("%w: option kind %d at offset %d has length %d, %d octets left", ErrOptions, kind, i, n, len(o)-i)
		}
		switch kind {
		case optMSS:
			if n != 4 {
				return fmt.Errorf("%w: MSS option has length %d, want 4", ErrOptions, n)
			}
			h.MSS = binary.BigEndian.Uint16(o[i+2:])
		case optWS:
			if n != 3 {
				return fmt.Errorf("%w: window scale option has length %d, want 3", ErrOptions, n)
			}
			h.HasWScale, h.WScale = true, o[i+2]
		}
		i += n
	}
	return nil
}

// Checksum returns the Internet checksum (RFC 1071) of seg preceded by the
// TCP pseudo-header of src and dst. Over a segment whose checksum field is
// correct it returns 0; over one whose checksum field is 0 it returns the
// value to store there.
func Checksum(src, dst netip.Addr, seg []byte) uint16 {
	var sum uint64
	if src.Is4() {
		a, b := src.As4(), dst.As4()
		sum = sumBytes(sum, a[:])
		sum = sumBytes(sum, b[:])
		sum += ProtoTCP + uint64(len(seg))
	} else {
		a, b := src.As16(), dst.As16()
		sum = sumBytes(sum, a[:])
		sum = sumBytes(sum, b[:])
		sum += uint64(len(seg)>>16) + uint64(len(seg)&0xffff) + ProtoTCP
	}
	sum = sumBytes(sum, seg)
	return ^fold(sum)
}

// sumBytes adds b, which starts at an even offset of the checksummed
// octets, to the one's complement sum (b shorter than 16 GiB). The sum of
// 16-bit words does not depend on the byte order (RFC 1071 §2 (B)): it
// adds b as little-endian 32-bit words, which folds to the same 16-bit sum
// (§2 (C)), into four 64-bit accumulators that each take 2^32 words before
// they can overflow, so no add waits on another's carry; the folded sum,
// byte-swapped, is the big-endian one. This matters for segments near 64
// KiB and for a capture checker that sums every octet it reads.
func sumBytes(sum uint64, b []byte) uint64 {
	var s0, s1, s2, s3 uint64
	for len(b) >= 64 {
		s0 += uint64(binary.LittleEndian.Uint32(b[0:])) + uint64(binary.LittleEndian.Uint32(b[4:]))
		s1 += uint64(binary.LittleEndian.Uint32(b[8:])) + uint64(binary.LittleEndian.Uint32(b[12:]))
		s2 += uint64(binary.LittleEndian.Uint32(b[16:])) + uint64(binary.LittleEndian.Uint32(b[20:]))
		s3 += uint64(binary.LittleEndian.Uint32(b[24:])) + uint64(binary.LittleEndian.Uint32(b[28:]))
		s0 += uint64(binary.LittleEndian.Uint32(b[32:])) + uint64(binary.LittleEndian.Uint32(b[36:]))
		s1 += uint64(binary.LittleEndian.Uint32(b[40:])) + uint64(binary.LittleEndian.Uint32(b[44:]))
		s2 += uint64(binary.LittleEndian.Uint32(b[48:])) + uint64(binary.LittleEndian.Uint32(b[52:]))
		s3 += uint64(binary.LittleEndian.Uint32(b[56:])) + uint64(binary.LittleEndian.Uint32(b[60:]))
		b = b[64:]
	}
	for len(b) >= 8 {
		s0 += uint64(binary.LittleEndian.Uint32(b[0:])) + uint64(binary.LittleEndian.Uint32(b[4:]))
		b = b[8:]
	}
	if len(b) > 0 {
		// The last 1-7 octets, padded with zeros: an odd last octet is
		// the high half of a 16-bit word padded with zero.
		var w [8]byte
		copy(w[:], b)
		s1 += uint64(binary.LittleEndian.Uint32(w[0:])) + uint64(binary.LittleEndian.Uint32(w[4:]))
	}
	// Each accumulator holds less than 2^62 (the length bound): the sum of
	// the four cannot overflow.
	le := fold(s0 + s1 + s2 + s3)
	sum, c := bits.Add64(sum, uint64(bits.ReverseBytes16(le)), 0)
	return sum + c // c is 1 only when sum wrapped to 0, so this cannot carry
}

// fold reduces a one's complement sum to 16 bits with end-around carry.
func fold(sum uint64) uint16 {
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return uint16(sum)
}
