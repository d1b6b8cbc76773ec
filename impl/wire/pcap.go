package wire

import (
	"encoding/binary"
	"fmt"
	"io"
	"net/netip"
	"sync"
	"time"
)

// linkTypeRaw is LINKTYPE_RAW: each packet starts with an IPv4 or IPv6 header.
const linkTypeRaw = 101

// MaxPcapText is the most octets of text [PcapWriter.WriteSegment] can put
// in one IPv4 packet: the 65535 octets of an IPv4 packet less its 20-octet
// header and a TCP header without options. (An IPv6 packet, whose length
// field leaves out its own header, holds 20 more.)
const MaxPcapText = 0xffff - IPv4HeaderLen - HeaderLen

// PcapWriter writes TCP segments to a classic libpcap file (LINKTYPE_RAW),
// wrapping each in a synthesized IPv4 (or IPv6) header, so that Wireshark
// and tshark dissect them as TCP. It is safe for concurrent use.
type PcapWriter struct {
	mu  sync.Mutex
	w   io.Writer
	id  uint16
	buf []byte
}

// NewPcapWriter writes the pcap file header to w and returns a writer for
// the packets.
func NewPcapWriter(w io.Writer) (*PcapWriter, error) {
	var hdr [24]byte
	binary.LittleEndian.PutUint32(hdr[0:], 0xa1b2c3d4) // microsecond timestamps
	binary.LittleEndian.PutUint16(hdr[4:], 2)
	binary.LittleEndian.PutUint16(hdr[6:], 4)
	binary.LittleEndian.PutUint32(hdr[16:], 65535) // snaplen
	binary.LittleEndian.PutUint32(hdr[20:], linkTypeRaw)
	if _, err := w.Write(hdr[:]); err != nil {
		return nil, fmt.Errorf("wire: writing pcap header: %w", err)
	}
	return &PcapWriter{w: w}, nil
}

// WriteSegment writes one packet captured at t: the segment h with payload
// from src to dst. The ports of src and dst replace h's; the TCP and IP
// checksums are computed. A segment too long for one packet (more than
// [MaxPcapText] octets of text in IPv4) is an error, and nothing is written.
func (p *PcapWriter) WriteSegment(t time.Time, src, dst netip.AddrPort, h Header, payload []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	h.SrcPort, h.DstPort = src.Port(), dst.Port()
	sa, da := src.Addr().Unmap(), dst.Addr().Unmap()
	ipLen, family, room := 40, "IPv6", 0xffff
	if sa.Is4() {
		ipLen, family, room = IPv4HeaderLen, "IPv4", 0xffff-IPv4HeaderLen
	}
	// The length is checked before any buffer is built: an impossible one
	// is an error, never an allocation of that size.
	if tcpLen := h.Len() + len(payload); tcpLen > room {
		return fmt.Errorf("wire: a segment with %d octets of text does not fit an %s packet: with this header it can carry at most %d",
			len(payload), family, room-h.Len())
	}
	b := append(p.buf[:0], make([]byte, 16+ipLen)...)
	b, err := h.Encode(b, sa, da, payload)
	if err != nil {
		return err
	}
	tcpLen := len(b) - 16 - ipLen
	ip := b[16 : 16+ipLen]
	if sa.Is4() {
		p.id++
		ip[0] = 0x45
		binary.BigEndian.PutUint16(ip[2:], uint16(20+tcpLen))
		binary.BigEndian.PutUint16(ip[4:], p.id)
		binary.BigEndian.PutUint16(ip[6:], 0x4000) // don't fragment
		ip[8] = 64                                 // TTL
		ip[9] = ProtoTCP
		a4, d4 := sa.As4(), da.As4()
		copy(ip[12:], a4[:])
		copy(ip[16:], d4[:])
		binary.BigEndian.PutUint16(ip[10:], ^fold(sumBytes(0, ip)))
	} else {
		ip[0] = 0x60
		binary.BigEndian.PutUint16(ip[4:], uint16(tcpLen))
		ip[6] = ProtoTCP
		ip[7] = 64 // hop limit
		a16, d16 := sa.As16(), da.As16()
		copy(ip[8:], a16[:])
		copy(ip[24:], d16[:])
	}
	rec := b[:16]
	n := uint32(len(b) - 16)
	binary.LittleEndian.PutUint32(rec[0:], uint32(t.Unix()))
	binary.LittleEndian.PutUint32(rec[4:], uint32(t.Nanosecond()/1000))
	binary.LittleEndian.PutUint32(rec[8:], n)
	binary.LittleEndian.PutUint32(rec[12:], n)
	p.buf = b
	if _, err := p.w.Write(b); err != nil {
		return fmt.Errorf("wire: writing pcap packet: %w", err)
	}
	return nil
}
