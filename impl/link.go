package impl

import (
	"math/rand/v2"
	"net/netip"
)

// Link carries TCP segments between stacks. A link address identifies a
// stack: for the udp link it is the stack's UDP socket address, for the
// mem link an IP address with port 0 (a TUN link would use the IP address
// alone, in the same way). The IP part of the link addresses is what the
// TCP checksum's pseudo-header covers.
type Link interface {
	// LocalAddr returns this end's link address.
	LocalAddr() netip.AddrPort
	// Peer returns the link address of the stack that serves the TCP
	// endpoint addr (for the udp link, addr itself; for the mem link,
	// addr's IP with port 0).
	Peer(addr netip.AddrPort) netip.AddrPort
	// Send transmits one segment to the link address to. It must not
	// keep seg after it returns and must not call back into a stack.
	Send(to netip.AddrPort, seg []byte) error
	// Start begins delivering arriving segments to recv, one call at a
	// time; seg is valid only during the call.
	Start(recv func(from netip.AddrPort, seg []byte))
	// Close stops delivery; when it returns, recv is not running and will
	// not be called again.
	Close() error
}

// Faults are the link faults a link injects on the segments it sends.
// Each probability is in [0, 1].
type Faults struct {
	Loss    float64 // a segment is dropped
	Dup     float64 // a segment is sent twice
	Reorder float64 // a segment is held back so that later ones overtake it
}

// copies draws how many copies of a segment the faults let through: 0
// (lost), 1, or 2 (duplicated). Loss is drawn first, so that seeded runs
// repeat.
func (f Faults) copies(rng *rand.Rand) int {
	switch {
	case f.Loss > 0 && rng.Float64() < f.Loss:
		return 0
	case f.Dup > 0 && rng.Float64() < f.Dup:
		return 2
	}
	return 1
}

func (f Faults) validate() error {
	for _, p := range []struct {
		name string
		v    float64
	}{{"loss", f.Loss}, {"dup", f.Dup}, {"reorder", f.Reorder}} {
		if !(p.v >= 0 && p.v <= 1) {
			return errorf("%s probability %v is outside [0, 1]", p.name, p.v)
		}
	}
	return nil
}
