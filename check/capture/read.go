package capture

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/tcpcheck/tcpcheck/impl/wire"
	"github.com/tcpcheck/tcpcheck/spec"
)

// Errors of Open. Test with errors.Is.
var (
	// ErrNotCapture: the file is neither pcap nor pcapng.
	ErrNotCapture = errors.New("capture: not a pcap or pcapng file")
	// ErrJSONTrace: the file is a JSON trace, which --trace reads.
	ErrJSONTrace = errors.New("capture: this is a JSON trace, not a capture: give it to --trace, not --pcap")
)

// Checksum says what is known of a segment's TCP checksum.
type Checksum uint8

// Checksum outcomes.
const (
	SumUnknown Checksum = iota // the segment was cut by the snap length: not checkable
	SumOK                      // the checksum is right
	SumBad                     // the checksum is wrong (often checksum offload on the capturing host)
)

// Segment is one captured TCP segment: its frame number as Wireshark
// numbers it (the first packet of the file is frame 1), when it was
// captured, its endpoints, and the header fields the table's guards read.
type Segment struct {
	Frame    int
	Time     time.Time
	Src, Dst netip.AddrPort
	Seq, Ack spec.Seq
	Flags    spec.Flags
	Window   uint16 // as on the wire (not scaled)
	Len      uint32 // text octets, from the IP length (not the captured length)

	MSS       uint16 // MSS option (RFC 9293 §3.7.1); 0 when absent
	HasWScale bool   // window scale option (RFC 7323 §2.2)
	WScale    uint8
	SACKPerm  bool // SACK-permitted option (RFC 2018 §2)
	HasTS     bool // timestamps option (RFC 7323 §3)
	TSVal     uint32
	TSEcr     uint32
	SACK      bool // the segment carries SACK blocks

	Sum Checksum

	hash uint64 // of the endpoints, symmetric (Check sets it)
}

// SegLen is SEG.LEN: text octets plus one for SYN and one for FIN.
func (s *Segment) SegLen() uint32 {
	n := s.Len
	if s.Flags.Has(spec.SYN) {
		n++
	}
	if s.Flags.Has(spec.FIN) {
		n++
	}
	return n
}

// option notes one TCP option the guards or the report read (RFC 9293
// §3.2 MSS, RFC 7323 window scale and timestamps, RFC 2018 SACK); a
// malformed length leaves it out, as a receiver would.
func (s *Segment) option(kind layers.TCPOptionKind, d []byte) {
	switch kind {
	case layers.TCPOptionKindMSS:
		if len(d) == 2 {
			s.MSS = binary.BigEndian.Uint16(d)
		}
	case layers.TCPOptionKindWindowScale:
		if len(d) == 1 {
			s.HasWScale, s.WScale = true, d[0]
		}
	case layers.TCPOptionKindSACKPermitted:
		s.SACKPerm = true
	case layers.TCPOptionKindSACK:
		s.SACK = true
	case layers.TCPOptionKindTimestamps:
		if len(d) == 8 {
			s.HasTS = true
			s.TSVal = binary.BigEndian.Uint32(d)
			s.TSEcr = binary.BigEndian.Uint32(d[4:])
		}
	}
}

// Skip counts the packets of a capture that are not TCP segments the
// checker can use, by reason.
type Skip struct {
	NotTCP    int // not IP, or IP but not TCP (ARP, UDP, ICMP, ...)
	Fragment  int // IP fragments (not reassembled)
	Truncated int // the snap length or the file cut the IP or TCP header
	Malformed int // a header that does not decode
	LinkType  int // a pcapng interface of a link type the reader does not know
}

// Total returns the number of skipped packets.
func (s Skip) Total() int { return s.NotTCP + s.Fragment + s.Truncated + s.Malformed + s.LinkType }

// Reader reads the TCP segments of a pcap or pcapng capture.
type Reader struct {
	src interface {
		ZeroCopyReadPacketData() ([]byte, gopacket.CaptureInfo, error)
	}
	ng *pcapgo.NgReader
	// drops holds, by pcapng interface, the packets its latest statistics
	// block counts as dropped by the capture (isb_ifdrop), for the
	// interfaces whose blocks say.
	drops  map[int]uint64
	link   layers.LinkType
	Format string // "pcap" or "pcapng"
	frame  int
	Skip   Skip

	eth   layers.Ethernet
	vlan  layers.Dot1Q
	sll   layers.LinuxSLL
	sll2  layers.LinuxSLL2
	loop  layers.Loopback
	ip4   layers.IPv4
	ip6   layers.IPv6
	tcp   layers.TCP
	trunc truncFlag
	// layersOnly decodes every packet with gopacket's layers (tests hold
	// the fast path to them).
	layersOnly bool
	// fastDecoded counts the packets the fast path decoded.
	fastDecoded int
}

type truncFlag bool

func (t *truncFlag) SetTruncated() { *t = true }

// Dropped returns how many packets the capture itself dropped, as the
// interface statistics of a pcapng file count them (dumpcap writes them
// at the end; tcpdump's pcap files carry none), and whether the file said.
func (r *Reader) Dropped() (n uint64, ok bool) {
	for _, d := range r.drops {
		n += d
	}
	return n, len(r.drops) > 0
}

// Open starts reading a capture from r. It tells a pcap file from a
// pcapng file by the first four octets, and answers [ErrNotCapture] or
// [ErrJSONTrace] for other files.
func Open(r io.Reader) (*Reader, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	head, err := br.Peek(4)
	if len(head) < 4 {
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("capture: reading the file: %v", err)
		}
		if looksJSON(head) {
			return nil, ErrJSONTrace
		}
		return nil, ErrNotCapture
	}
	rd := &Reader{}
	switch string(head) {
	case "\x0a\x0d\x0d\x0a":
		ng, err := pcapgo.NewNgReader(br, pcapgo.NgReaderOptions{WantMixedLinkType: true,
			StatisticsCallback: func(id int, st pcapgo.NgInterfaceStatistics) {
				if st.PacketsDropped != pcapgo.NgNoValue64 {
					if rd.drops == nil {
						rd.drops = map[int]uint64{}
					}
					rd.drops[id] = st.PacketsDropped
				}
			}})
		if err != nil {
			return nil, headerError("pcapng", err)
		}
		rd.src, rd.ng, rd.link, rd.Format = ng, ng, ng.LinkType(), "pcapng"
	case "\xa1\xb2\xc3\xd4", "\xd4\xc3\xb2\xa1", "\xa1\xb2\x3c\x4d", "\x4d\x3c\xb2\xa1":
		p, err := pcapgo.NewReader(br)
		if err != nil {
			return nil, headerError("pcap", err)
		}
		rd.src, rd.link, rd.Format = p, p.LinkType(), "pcap"
	default:
		if pk, _ := br.Peek(512); looksJSON(pk) {
			return nil, ErrJSONTrace
		}
		return nil, ErrNotCapture
	}
	if rd.ng == nil && !knownLink(rd.link) {
		return nil, fmt.Errorf("capture: link type %s is not one the reader knows: Ethernet, Linux cooked (SLL, SLL2), raw IP or BSD loopback", linkName(rd.link))
	}
	return rd, nil
}

// linkName names a link type by gopacket's name and its number, or by
// the number alone where gopacket has no name for it
// (https://www.tcpdump.org/linktypes.html lists them).
func linkName(l layers.LinkType) string {
	if s := l.String(); !strings.HasPrefix(s, "Unknown") {
		return fmt.Sprintf("%s (%d)", s, int(l))
	}
	return fmt.Sprintf("%d (see tcpdump.org/linktypes.html)", int(l))
}

// headerError explains why a file's pcap or pcapng header cannot be read.
func headerError(format string, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("capture: the file ends inside its %s header: it was cut short (copied in part, or the capture never started writing)", format)
	}
	return fmt.Errorf("capture: %s header: %v", format, err)
}

func looksJSON(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n")
	return len(b) > 0 && (b[0] == '{' || b[0] == '[')
}

// LinkType returns the link type of the capture (of the first interface
// for pcapng).
func (r *Reader) LinkType() layers.LinkType {
	if r.ng != nil {
		if ifc, err := r.ng.Interface(0); err == nil {
			return ifc.LinkType
		}
	}
	return r.link
}

func knownLink(l layers.LinkType) bool {
	switch l {
	case layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL, layers.LinkTypeLinuxSLL2,
		layers.LinkTypeRaw, 12, 14, layers.LinkTypeIPv4, layers.LinkTypeIPv6,
		layers.LinkTypeNull, layers.LinkTypeLoop:
		return true
	}
	return false
}

// Next returns the next TCP segment, skipping (and counting in r.Skip)
// packets that are not usable TCP segments. It returns io.EOF at the end
// of the capture; a capture cut in the middle of a packet ends with an
// error saying so.
func (r *Reader) Next(s *Segment) error {
	for {
		data, ci, err := r.src.ZeroCopyReadPacketData()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return io.EOF
			}
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return fmt.Errorf("capture: the file ends in the middle of frame %d (truncated capture)", r.frame+1)
			}
			return fmt.Errorf("capture: frame %d: %v", r.frame+1, err)
		}
		r.frame++
		link := r.link
		if r.ng != nil {
			if ifc, err := r.ng.Interface(ci.InterfaceIndex); err == nil {
				link = ifc.LinkType
			}
		}
		if r.decode(link, data, ci.Length, s) {
			s.Frame = r.frame
			s.Time = ci.Timestamp
			return nil
		}
	}
}

// decode fills s from one packet; false when the packet is skipped.
func (r *Reader) decode(link layers.LinkType, data []byte, wireLen int, s *Segment) bool {
	r.trunc = false
	df := &r.trunc
	var next gopacket.LayerType
	var payload []byte
	switch link {
	case layers.LinkTypeEthernet:
		if len(data) >= 14 {
			// The common frame, IPv4 or IPv6 right after the header, needs
			// no layer; anything else (VLAN tags, 802.3 lengths) goes
			// through gopacket's.
			switch binary.BigEndian.Uint16(data[12:14]) {
			case 0x0800:
				next, payload = layers.LayerTypeIPv4, data[14:]
			case 0x86dd:
				next, payload = layers.LayerTypeIPv6, data[14:]
			}
			if next != gopacket.LayerTypeZero {
				break
			}
		}
		if r.eth.DecodeFromBytes(data, df) != nil {
			r.Skip.Truncated++
			return false
		}
		next, payload = r.eth.NextLayerType(), r.eth.Payload
		for next == layers.LayerTypeDot1Q {
			if r.vlan.DecodeFromBytes(payload, df) != nil {
				r.Skip.Truncated++
				return false
			}
			next, payload = r.vlan.NextLayerType(), r.vlan.Payload
		}
	case layers.LinkTypeLinuxSLL:
		if r.sll.DecodeFromBytes(data, df) != nil {
			r.Skip.Truncated++
			return false
		}
		next, payload = r.sll.NextLayerType(), r.sll.Payload
	case layers.LinkTypeLinuxSLL2:
		if r.sll2.DecodeFromBytes(data, df) != nil {
			r.Skip.Truncated++
			return false
		}
		next, payload = r.sll2.NextLayerType(), r.sll2.Payload
	case layers.LinkTypeNull, layers.LinkTypeLoop:
		if r.loop.DecodeFromBytes(data, df) != nil {
			r.Skip.Malformed++
			return false
		}
		next, payload = r.loop.NextLayerType(), r.loop.Payload
	case layers.LinkTypeRaw, 12, 14, layers.LinkTypeIPv4, layers.LinkTypeIPv6:
		next, payload = ipVersion(data), data
	default:
		r.Skip.LinkType++
		return false
	}
	// The packet as it was on the wire: a frame cut by the snap length
	// (or the file) is truncated; one that is whole but whose headers do
	// not fit it is malformed.
	cut := len(data) < wireLen
	if ipLen, ok := ipLength(next, payload); ok && ipLen > wireLen-(len(data)-len(payload)) {
		// The IP header claims more octets than the packet had on the
		// wire: no receiver would take it.
		r.Skip.Malformed++
		return false
	}
	if !r.layersOnly && r.fast(next, payload, s) {
		r.fastDecoded++
		return true
	}
	var src, dst netip.Addr
	var ipPayload int // octets of the IP payload according to the IP header
	var seg []byte
	switch next {
	case layers.LayerTypeIPv4:
		if err := r.ip4.DecodeFromBytes(payload, df); err != nil {
			if bool(r.trunc) && cut {
				r.Skip.Truncated++
			} else {
				r.Skip.Malformed++
			}
			return false
		}
		if r.ip4.Protocol != layers.IPProtocolTCP {
			r.Skip.NotTCP++
			return false
		}
		if r.ip4.Flags&layers.IPv4MoreFragments != 0 || r.ip4.FragOffset != 0 {
			r.Skip.Fragment++
			return false
		}
		src, _ = netip.AddrFromSlice(r.ip4.SrcIP.To4())
		dst, _ = netip.AddrFromSlice(r.ip4.DstIP.To4())
		ipPayload = int(r.ip4.Length) - int(r.ip4.IHL)*4
		seg = r.ip4.Payload
	case layers.LayerTypeIPv6:
		if err := r.ip6.DecodeFromBytes(payload, df); err != nil {
			if bool(r.trunc) && cut {
				r.Skip.Truncated++
			} else {
				r.Skip.Malformed++
			}
			return false
		}
		nh := r.ip6.NextHeader
		ipPayload = int(r.ip6.Length)
		if r.ip6.HopByHop != nil {
			nh = r.ip6.HopByHop.NextHeader
			ipPayload -= len(r.ip6.HopByHop.Contents)
		}
		seg = r.ip6.Payload
		// Routing and destination options headers (RFC 8200 §4.4, §4.6)
		// are stepped over, as the receiver does.
		for nh == layers.IPProtocolIPv6Routing || nh == layers.IPProtocolIPv6Destination {
			if len(seg) < 8 || int(seg[1]+1)*8 > len(seg) {
				if cut {
					r.Skip.Truncated++
				} else {
					r.Skip.Malformed++
				}
				return false
			}
			n := int(seg[1]+1) * 8
			nh, seg, ipPayload = layers.IPProtocol(seg[0]), seg[n:], ipPayload-n
		}
		if nh != layers.IPProtocolTCP {
			if nh == layers.IPProtocolIPv6Fragment {
				r.Skip.Fragment++
			} else {
				r.Skip.NotTCP++
			}
			return false
		}
		src, _ = netip.AddrFromSlice(r.ip6.SrcIP)
		dst, _ = netip.AddrFromSlice(r.ip6.DstIP)
	default:
		r.Skip.NotTCP++
		return false
	}
	if len(seg) < 20 || int(seg[12]>>4)*4 > len(seg) {
		if cut {
			r.Skip.Truncated++
		} else {
			r.Skip.Malformed++ // a data offset beyond the whole packet
		}
		return false
	}
	if err := r.tcp.DecodeFromBytes(seg, df); err != nil {
		if bool(r.trunc) && cut {
			r.Skip.Truncated++
		} else {
			r.Skip.Malformed++
		}
		return false
	}
	hl := int(r.tcp.DataOffset) * 4
	if ipPayload < hl {
		r.Skip.Malformed++
		return false
	}
	s.Src = netip.AddrPortFrom(src, uint16(r.tcp.SrcPort))
	s.Dst = netip.AddrPortFrom(dst, uint16(r.tcp.DstPort))
	s.Seq, s.Ack = spec.Seq(r.tcp.Seq), spec.Seq(r.tcp.Ack)
	s.Flags = spec.Flags(seg[13])
	s.Window = r.tcp.Window
	s.Len = uint32(ipPayload - hl)
	s.MSS, s.HasWScale, s.WScale, s.SACKPerm, s.HasTS, s.TSVal, s.TSEcr, s.SACK = 0, false, 0, false, false, 0, 0, false
	for _, o := range r.tcp.Options {
		s.option(o.OptionType, o.OptionData)
	}
	s.Sum = checksum(src, dst, seg, ipPayload)
	return true
}

// ipLength returns the length of the IP packet b (of layer type next) as
// its header gives it, when the header is there and gives one (IPv4's
// total length; IPv6's payload length plus its header; 0, as segmentation
// offload and jumbograms leave it, gives none).
func ipLength(next gopacket.LayerType, b []byte) (int, bool) {
	switch {
	case next == layers.LayerTypeIPv4 && len(b) >= 4:
		n := int(binary.BigEndian.Uint16(b[2:4]))
		return n, n != 0
	case next == layers.LayerTypeIPv6 && len(b) >= 6:
		n := int(binary.BigEndian.Uint16(b[4:6]))
		return 40 + n, n != 0
	}
	return 0, false
}

// fast fills s from the IP packet b (of layer type next) when it is the
// common case: IPv4 without options or IPv6 without extension headers,
// not a fragment, carrying a TCP header that is all there and whose
// options are plain. It reads the header fields straight from the octets
// (the same fields, with the same outcome, as gopacket's layers, which
// decode the rest: TestFastDecodeMatchesLayers holds the two together)
// and answers false, changing nothing but s, for anything else.
func (r *Reader) fast(next gopacket.LayerType, b []byte, s *Segment) bool {
	var src, dst netip.Addr
	var ipPayload int
	var seg []byte
	switch next {
	case layers.LayerTypeIPv4:
		if len(b) < 20 || b[0]&0x0f != 5 || b[9] != 6 {
			return false
		}
		n := int(binary.BigEndian.Uint16(b[2:4]))
		if n < 20 || binary.BigEndian.Uint16(b[6:8])&0x3fff != 0 {
			// A length of 0 (segmentation offload), a bad length, or a
			// fragment (more fragments, or an offset).
			return false
		}
		if len(b) > n {
			b = b[:n]
		}
		src = netip.AddrFrom4([4]byte(b[12:16]))
		dst = netip.AddrFrom4([4]byte(b[16:20]))
		ipPayload, seg = n-20, b[20:]
	case layers.LayerTypeIPv6:
		if len(b) < 40 || b[6] != 6 {
			return false
		}
		n := int(binary.BigEndian.Uint16(b[4:6]))
		if n == 0 {
			return false
		}
		seg = b[40:]
		if len(seg) > n {
			seg = seg[:n]
		}
		src = netip.AddrFrom16([16]byte(b[8:24]))
		dst = netip.AddrFrom16([16]byte(b[24:40]))
		ipPayload = n
	default:
		return false
	}
	if len(seg) < 20 {
		return false
	}
	hl := int(seg[12]>>4) * 4
	if hl < 20 || hl > len(seg) || ipPayload < hl {
		return false
	}
	s.MSS, s.HasWScale, s.WScale, s.SACKPerm, s.HasTS, s.TSVal, s.TSEcr, s.SACK = 0, false, 0, false, false, 0, 0, false
	// The options as a receiver reads them: up to the end of the option
	// list, or to an option whose length cannot be followed.
	for o := seg[20:hl]; len(o) > 0; {
		kind := o[0]
		if kind == 0 {
			break
		}
		if kind == 1 {
			o = o[1:]
			continue
		}
		if kind == uint8(layers.TCPOptionKindMultipathTCP) {
			return false // gopacket reads these by their subtypes
		}
		if len(o) < 2 || o[1] < 2 || int(o[1]) > len(o) {
			break
		}
		s.option(layers.TCPOptionKind(kind), o[2:o[1]])
		o = o[o[1]:]
	}
	s.Src = netip.AddrPortFrom(src, binary.BigEndian.Uint16(seg[0:2]))
	s.Dst = netip.AddrPortFrom(dst, binary.BigEndian.Uint16(seg[2:4]))
	s.Seq, s.Ack = spec.Seq(binary.BigEndian.Uint32(seg[4:8])), spec.Seq(binary.BigEndian.Uint32(seg[8:12]))
	s.Flags = spec.Flags(seg[13])
	s.Window = binary.BigEndian.Uint16(seg[14:16])
	s.Len = uint32(ipPayload - hl)
	s.Sum = checksum(src, dst, seg, ipPayload)
	return true
}

// checksum verifies the TCP checksum of seg, the IP payload from the TCP
// header on, whose IP header says it is ipPayload octets long: unknown
// when the capture cut the segment short.
func checksum(src, dst netip.Addr, seg []byte, ipPayload int) Checksum {
	switch {
	case len(seg) < ipPayload:
		return SumUnknown
	case wire.Checksum(src, dst, seg[:ipPayload]) == 0:
		return SumOK
	}
	return SumBad
}

// ipVersion returns the layer type of a raw IP packet by its version.
func ipVersion(b []byte) gopacket.LayerType {
	if len(b) == 0 {
		return gopacket.LayerTypeZero
	}
	switch b[0] >> 4 {
	case 4:
		return layers.LayerTypeIPv4
	case 6:
		return layers.LayerTypeIPv6
	}
	return gopacket.LayerTypeZero
}
