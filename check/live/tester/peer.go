package tester

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	"github.com/tcpcheck/tcpcheck/check/live/dut"
	"github.com/tcpcheck/tcpcheck/impl/wire"
	"github.com/tcpcheck/tcpcheck/spec"
)

// Seg is a segment on the wire between the tester and the DUT.
type Seg struct {
	H       wire.Header
	Payload []byte
}

// Spec returns what a spec.TCB reads of the segment.
func (s Seg) Spec() spec.Segment {
	return spec.Segment{Seq: s.H.Seq, Ack: s.H.Ack, Flags: s.H.Flags, Window: s.H.Window,
		Len: uint32(len(s.Payload)), MSS: s.H.MSS, HasWScale: s.H.HasWScale, WScale: s.H.WScale}
}

// String renders the segment as "SYN,ACK seq=300 ack=101 len=0 win=65535".
func (s Seg) String() string {
	return fmt.Sprintf("%s seq=%d ack=%d len=%d win=%d", s.H.Flags, uint32(s.H.Seq), uint32(s.H.Ack), len(s.Payload), s.H.Window)
}

// ErrGarbage is wrapped by the error of a packet from the DUT that is not a
// well-formed IPv4 packet carrying a TCP segment between the tester and
// the DUT.
var ErrGarbage = errors.New("tester: the DUT sent a malformed or stray packet")

// Peer is the tester's end of one connection with the DUT: it builds
// segments, wraps them in IPv4 and injects them, and decodes what the DUT
// sends back.
type Peer struct {
	DUT     dut.DUT
	Addr    netip.Addr // the tester's address
	DUTAddr netip.Addr
	Port    uint16 // the tester's port
	DUTPort uint16 // the DUT's port (learned from its SYN on an active open)
}

// Send builds the segment h with payload (ports filled in, checksum
// computed), wraps it in an IPv4 packet and injects it.
func (p *Peer) Send(h wire.Header, payload []byte) error {
	h.SrcPort, h.DstPort = p.Port, p.DUTPort
	seg, err := h.Encode(nil, p.Addr, p.DUTAddr, payload)
	if err != nil {
		return fmt.Errorf("tester: encode %v: %w", h, err)
	}
	ip := wire.IPv4Header{TTL: 64, Protocol: wire.ProtoTCP, Src: p.Addr, Dst: p.DUTAddr}
	pkt, err := ip.EncodeIPv4(nil, len(seg))
	if err != nil {
		return fmt.Errorf("tester: encode IPv4: %w", err)
	}
	return p.DUT.Inject(append(pkt, seg...))
}

// Recv returns the next segment the DUT sent, waiting until ctx is done.
// A packet that does not decode, or that belongs to another connection,
// is an error wrapping ErrGarbage; when the DUT port is still 0 it is
// learned from the first segment.
func (p *Peer) Recv(ctx context.Context) (Seg, error) {
	pkt, err := p.DUT.Receive(ctx)
	if err != nil {
		return Seg{}, err
	}
	ih, b, err := wire.DecodeIPv4(pkt)
	if err != nil {
		return Seg{}, fmt.Errorf("%w: %v", ErrGarbage, err)
	}
	if ih.Protocol != wire.ProtoTCP || ih.Src != p.DUTAddr || ih.Dst != p.Addr {
		return Seg{}, fmt.Errorf("%w: protocol %d from %v to %v", ErrGarbage, ih.Protocol, ih.Src, ih.Dst)
	}
	h, payload, err := wire.Decode(b, ih.Src, ih.Dst)
	if err != nil {
		return Seg{}, fmt.Errorf("%w: %v", ErrGarbage, err)
	}
	if p.DUTPort == 0 {
		p.DUTPort = h.SrcPort
	}
	if h.DstPort != p.Port || h.SrcPort != p.DUTPort {
		return Seg{}, fmt.Errorf("%w: segment %v for ports %d>%d, want %d>%d", ErrGarbage, h, h.SrcPort, h.DstPort, p.DUTPort, p.Port)
	}
	return Seg{H: h, Payload: append([]byte(nil), payload...)}, nil
}
