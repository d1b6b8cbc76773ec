package capture

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/tcpcheck/tcpcheck/spec"
)

// pkt is a TCP segment to write into a test capture.
type pkt struct {
	src, dst  netip.AddrPort
	seq, ack  uint32
	flags     spec.Flags
	win       uint16
	mss       uint16
	wscale    int // -1: no option
	sackPerm  bool
	ts        bool
	payload   []byte
	badSum    bool
	vlan      bool
	fragment  bool
	snapTo    int // cut the captured packet to this many octets (0: whole)
	hopByHop  bool
	ipOptions bool
}

// tcpBytes serializes the IP packet (IPv4 or IPv6 by the addresses) of p.
func (p pkt) ipBytes(t testing.TB) []byte {
	t.Helper()
	tcp := &layers.TCP{
		SrcPort: layers.TCPPort(p.src.Port()), DstPort: layers.TCPPort(p.dst.Port()),
		Seq: p.seq, Ack: p.ack, Window: p.win,
		FIN: p.flags.Has(spec.FIN), SYN: p.flags.Has(spec.SYN), RST: p.flags.Has(spec.RST),
		PSH: p.flags.Has(spec.PSH), ACK: p.flags.Has(spec.ACK), URG: p.flags.Has(spec.URG),
		ECE: p.flags.Has(spec.ECE), CWR: p.flags.Has(spec.CWR),
	}
	if p.mss != 0 {
		tcp.Options = append(tcp.Options, layers.TCPOption{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: binary.BigEndian.AppendUint16(nil, p.mss)})
	}
	if p.sackPerm {
		tcp.Options = append(tcp.Options, layers.TCPOption{OptionType: layers.TCPOptionKindSACKPermitted, OptionLength: 2})
	}
	if p.ts {
		d := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, 1000+p.seq%1000), 77)
		tcp.Options = append(tcp.Options, layers.TCPOption{OptionType: layers.TCPOptionKindTimestamps, OptionLength: 10, OptionData: d})
	}
	if p.wscale >= 0 && p.flags.Has(spec.SYN) {
		tcp.Options = append(tcp.Options, layers.TCPOption{OptionType: layers.TCPOptionKindNop, OptionLength: 1},
			layers.TCPOption{OptionType: layers.TCPOptionKindWindowScale, OptionLength: 3, OptionData: []byte{byte(p.wscale)}})
	}
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	var err error
	if p.src.Addr().Is4() {
		ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolTCP,
			SrcIP: p.src.Addr().AsSlice(), DstIP: p.dst.Addr().AsSlice(), Flags: layers.IPv4DontFragment}
		if p.fragment {
			ip.Flags = layers.IPv4MoreFragments
		}
		if p.ipOptions {
			ip.Options = []layers.IPv4Option{{OptionType: 1}, {OptionType: 1}, {OptionType: 1}, {OptionType: 0}}
		}
		if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
			t.Fatal(err)
		}
		err = gopacket.SerializeLayers(buf, opts, ip, tcp, gopacket.Payload(p.payload))
	} else {
		ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolTCP,
			SrcIP: p.src.Addr().AsSlice(), DstIP: p.dst.Addr().AsSlice()}
		if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
			t.Fatal(err)
		}
		if p.hopByHop {
			ip.NextHeader = layers.IPProtocolIPv6HopByHop
			hbh := &layers.IPv6HopByHop{}
			hbh.NextHeader = layers.IPProtocolTCP
			hbh.Options = []*layers.IPv6HopByHopOption{{OptionType: 1, OptionLength: 4, OptionData: []byte{0, 0, 0, 0}}}
			ip.HopByHop = hbh
		}
		err = gopacket.SerializeLayers(buf, opts, ip, tcp, gopacket.Payload(p.payload))
	}
	if err != nil {
		t.Fatal(err)
	}
	b := append([]byte(nil), buf.Bytes()...)
	if p.badSum {
		off := 20
		if !p.src.Addr().Is4() {
			off = 40
		} else if p.ipOptions {
			off = 24
		}
		b[off+16] ^= 0x5a
	}
	return b
}

// frame wraps the IP packet of p in the link header of link.
func (p pkt) frame(t testing.TB, link layers.LinkType) []byte {
	t.Helper()
	ipb := p.ipBytes(t)
	v6 := !p.src.Addr().Is4()
	etype := uint16(layers.EthernetTypeIPv4)
	if v6 {
		etype = uint16(layers.EthernetTypeIPv6)
	}
	var h []byte
	switch link {
	case layers.LinkTypeEthernet:
		h = []byte{2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1}
		if p.vlan {
			h = binary.BigEndian.AppendUint16(h, uint16(layers.EthernetTypeDot1Q))
			h = binary.BigEndian.AppendUint16(h, 42)
		}
		h = binary.BigEndian.AppendUint16(h, etype)
	case layers.LinkTypeLinuxSLL:
		h = binary.BigEndian.AppendUint16(nil, 4) // sent by us
		h = binary.BigEndian.AppendUint16(h, 1)   // ARPHRD_ETHER
		h = binary.BigEndian.AppendUint16(h, 6)
		h = append(h, 2, 0, 0, 0, 0, 1, 0, 0)
		h = binary.BigEndian.AppendUint16(h, etype)
	case layers.LinkTypeLinuxSLL2:
		h = binary.BigEndian.AppendUint16(nil, etype)
		h = binary.BigEndian.AppendUint16(h, 0)     // reserved
		h = binary.BigEndian.AppendUint32(h, 1)     // interface index
		h = binary.BigEndian.AppendUint16(h, 1)     // ARPHRD_ETHER
		h = append(h, 4, 6, 2, 0, 0, 0, 0, 1, 0, 0) // packet type, address length, address
	case layers.LinkTypeNull:
		fam := uint32(layers.ProtocolFamilyIPv4)
		if v6 {
			fam = uint32(layers.ProtocolFamilyIPv6BSD)
		}
		h = binary.LittleEndian.AppendUint32(nil, fam)
	case layers.LinkTypeLoop:
		fam := uint32(layers.ProtocolFamilyIPv4)
		if v6 {
			fam = uint32(layers.ProtocolFamilyIPv6BSD)
		}
		h = binary.BigEndian.AppendUint32(nil, fam)
	case layers.LinkTypeRaw, layers.LinkTypeIPv4, layers.LinkTypeIPv6:
	default:
		t.Fatalf("no test framing for link type %v", link)
	}
	out := append(h, ipb...)
	if p.snapTo > 0 && p.snapTo < len(out) {
		out = out[:p.snapTo]
	}
	return out
}

// writePcap writes pkts as a classic pcap of the given link type, one
// millisecond apart; nanos chooses the nanosecond format.
func writePcap(t testing.TB, link layers.LinkType, nanos bool, pkts []pkt) []byte {
	t.Helper()
	at := make([]time.Duration, len(pkts))
	for i := range at {
		at[i] = time.Duration(i) * time.Millisecond
	}
	return writePcapAt(t, link, nanos, pkts, at)
}

// writePcapAt is writePcap with packet i at at[i] after the capture's
// start.
func writePcapAt(t testing.TB, link layers.LinkType, nanos bool, pkts []pkt, at []time.Duration) []byte {
	t.Helper()
	if len(at) != len(pkts) {
		t.Fatalf("%d times for %d packets", len(at), len(pkts))
	}
	var b bytes.Buffer
	w := pcapgo.NewWriter(&b)
	if nanos {
		w = pcapgo.NewWriterNanos(&b)
	}
	if err := w.WriteFileHeader(65535, link); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i, p := range pkts {
		full := p
		full.snapTo = 0
		data := p.frame(t, link)
		ci := gopacket.CaptureInfo{Timestamp: t0.Add(at[i]), CaptureLength: len(data), Length: len(full.frame(t, link))}
		if err := w.WritePacket(ci, data); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}

// writePcapng writes pkts as pcapng; packet i goes to interface links[i%len(links)].
func writePcapng(t testing.TB, links []layers.LinkType, pkts []pkt) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := pcapgo.NewNgWriterInterface(&b, pcapgo.NgInterface{Name: "if0", LinkType: links[0], SnapLength: 65535}, pcapgo.DefaultNgWriterOptions)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range links[1:] {
		if _, err := w.AddInterface(pcapgo.NgInterface{Name: "ifx", LinkType: l, SnapLength: 65535}); err != nil {
			t.Fatal(err)
		}
	}
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i, p := range pkts {
		ifc := i % len(links)
		data := p.frame(t, links[ifc])
		ci := gopacket.CaptureInfo{Timestamp: t0.Add(time.Duration(i) * time.Millisecond), CaptureLength: len(data), Length: len(data), InterfaceIndex: ifc}
		if err := w.WritePacket(ci, data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// swapPcapOrder rewrites a little-endian classic pcap into big-endian.
func swapPcapOrder(t testing.TB, le []byte) []byte {
	t.Helper()
	b := append([]byte(nil), le...)
	sw := func(off, n int) {
		for i, j := off, off+n-1; i < j; i, j = i+1, j-1 {
			b[i], b[j] = b[j], b[i]
		}
	}
	sw(0, 4)
	sw(4, 2)
	sw(6, 2)
	sw(8, 4)
	sw(12, 4)
	sw(16, 4)
	sw(20, 4)
	for _, r := range pcapRecords(le) {
		for k := 0; k < 4; k++ {
			sw(r[0]+4*k, 4)
		}
	}
	return b
}

var (
	cliA = netip.MustParseAddrPort("192.0.2.1:40000")
	srvB = netip.MustParseAddrPort("192.0.2.2:80")
	cli6 = netip.MustParseAddrPort("[2001:db8::1]:40000")
	srv6 = netip.MustParseAddrPort("[2001:db8::2]:80")
)

// conversation returns a whole connection: handshake with options, a
// request, a reply, and a close from the client.
func conversation(a, b netip.AddrPort, iss, irs uint32) []pkt {
	req := []byte("GET / HTTP/1.1\r\n\r\n")
	rep := []byte("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
	A, B := spec.ACK, spec.ACK
	return []pkt{
		{src: a, dst: b, seq: iss, flags: spec.SYN, win: 64240, mss: 1460, wscale: 7, sackPerm: true, ts: true},
		{src: b, dst: a, seq: irs, ack: iss + 1, flags: spec.SYN | spec.ACK, win: 65160, mss: 1460, wscale: 7, sackPerm: true, ts: true},
		{src: a, dst: b, seq: iss + 1, ack: irs + 1, flags: A, win: 502, wscale: -1, ts: true},
		{src: a, dst: b, seq: iss + 1, ack: irs + 1, flags: A | spec.PSH, win: 502, wscale: -1, ts: true, payload: req},
		{src: b, dst: a, seq: irs + 1, ack: iss + 1 + uint32(len(req)), flags: B, win: 509, wscale: -1, ts: true},
		{src: b, dst: a, seq: irs + 1, ack: iss + 1 + uint32(len(req)), flags: B | spec.PSH, win: 509, wscale: -1, ts: true, payload: rep},
		{src: a, dst: b, seq: iss + 1 + uint32(len(req)), ack: irs + 1 + uint32(len(rep)), flags: A, win: 502, wscale: -1, ts: true},
		{src: a, dst: b, seq: iss + 1 + uint32(len(req)), ack: irs + 1 + uint32(len(rep)), flags: A | spec.FIN, win: 502, wscale: -1, ts: true},
		{src: b, dst: a, seq: irs + 1 + uint32(len(rep)), ack: iss + 2 + uint32(len(req)), flags: B | spec.FIN, win: 509, wscale: -1, ts: true},
		{src: a, dst: b, seq: iss + 2 + uint32(len(req)), ack: irs + 2 + uint32(len(rep)), flags: A, win: 502, wscale: -1, ts: true},
	}
}
