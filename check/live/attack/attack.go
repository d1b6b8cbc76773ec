package attack

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/tcpcheck/tcpcheck/impl"
	"github.com/tcpcheck/tcpcheck/impl/wire"
	"github.com/tcpcheck/tcpcheck/spec"
)

// Segment is a segment the attacker forges. Src and Dst are TCP endpoints
// (IP address and TCP port). On the mem link Src may be any address; on
// the udp link its IP must be the peer's socket IP (the kernel sets the
// UDP source), while its port is free: it is the TCP source port.
type Segment struct {
	Src, Dst netip.AddrPort
	Flags    spec.Flags
	Seq, Ack spec.Seq
	Window   uint16
	MSS      uint16 // the MSS option; 0 leaves it out
	Payload  []byte
}

// Reply is a segment an endpoint sent, as the peer recorded it.
type Reply struct {
	Src, Dst netip.AddrPort // TCP endpoints
	Header   wire.Header
	Len      int // text octets
}

// String renders the reply on one line.
func (r Reply) String() string {
	return fmt.Sprintf("%v>%v %s len=%d", r.Src, r.Dst, r.Header, r.Len)
}

// Peer forges segments and records replies. It is safe for concurrent use.
type Peer struct {
	mem     *impl.MemNet
	udp     *net.UDPConn
	udpIP   netip.AddrPort
	wg      sync.WaitGroup
	keep    func(Reply) bool
	mu      sync.Mutex
	seen    []Reply
	dropped int
	buf     []byte
}

// maxRecorded bounds the replies a Peer keeps; beyond it they are counted
// in Dropped only, so that a flood cannot grow the record without bound.
const maxRecorded = 1 << 20

// NewMem returns a peer on the mem network n. It records every segment any
// stack on n sends for which keep returns true (every segment when keep is
// nil): a blind attacker sees none of them, the test sees them all. It
// takes n's observer slot (impl.MemNet.Observe).
func NewMem(n *impl.MemNet, keep func(Reply) bool) *Peer {
	p := &Peer{mem: n, keep: keep}
	n.Observe(func(m impl.MemPacket) {
		h, payload, err := wire.Decode(m.Seg, m.From.Addr(), m.To.Addr())
		if err != nil {
			return
		}
		p.record(Reply{Src: netip.AddrPortFrom(m.From.Addr(), h.SrcPort), Dst: netip.AddrPortFrom(m.To.Addr(), h.DstPort),
			Header: h, Len: len(payload)})
	})
	return p
}

// NewUDP returns a peer with a UDP socket bound to addr (host:port, the
// host a specific IP such as 127.0.0.1). It records every segment that
// arrives on the socket and that keep accepts.
func NewUDP(addr string, keep func(Reply) bool) (*Peer, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return nil, fmt.Errorf("attack: udp peer address %q: %v (want ip:port)", addr, err)
	}
	if ap.Addr().IsUnspecified() {
		return nil, fmt.Errorf("attack: udp peer address %v: bind to a specific IP (the checksum covers it)", ap)
	}
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(ap))
	if err != nil {
		return nil, fmt.Errorf("attack: %v", err)
	}
	local := conn.LocalAddr().(*net.UDPAddr).AddrPort()
	p := &Peer{udp: conn, udpIP: netip.AddrPortFrom(local.Addr().Unmap(), local.Port()), keep: keep}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		b := make([]byte, 65536)
		for {
			n, from, err := conn.ReadFromUDPAddrPort(b)
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				continue
			}
			from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
			h, payload, err := wire.Decode(b[:n], from.Addr(), p.udpIP.Addr())
			if err != nil {
				continue
			}
			p.record(Reply{Src: netip.AddrPortFrom(from.Addr(), h.SrcPort), Dst: netip.AddrPortFrom(p.udpIP.Addr(), h.DstPort),
				Header: h, Len: len(payload)})
		}
	}()
	return p, nil
}

// Addr returns the udp peer's socket address (invalid on the mem link).
func (p *Peer) Addr() netip.AddrPort { return p.udpIP }

func (p *Peer) record(r Reply) {
	if p.keep != nil && !p.keep(r) {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.seen) >= maxRecorded {
		p.dropped++
		return
	}
	p.seen = append(p.seen, r)
}

// Send forges s and puts it on the link. On the udp link s.Dst is the
// victim stack's UDP address, whose port is also the TCP port (as for
// impl.Stack.Dial).
func (p *Peer) Send(s Segment) error {
	h := wire.Header{SrcPort: s.Src.Port(), DstPort: s.Dst.Port(), Seq: s.Seq, Ack: s.Ack, Flags: s.Flags,
		Window: s.Window, MSS: s.MSS}
	if p.udp != nil && s.Src.Addr() != p.udpIP.Addr() {
		return fmt.Errorf("attack: source %v: on the udp link the source IP is the socket's, %v", s.Src, p.udpIP.Addr())
	}
	// No lock is held here: on the mem link the network calls record
	// while it sends.
	b, err := h.Encode(make([]byte, 0, h.Len()+len(s.Payload)), s.Src.Addr(), s.Dst.Addr(), s.Payload)
	if err != nil {
		return fmt.Errorf("attack: %v", err)
	}
	if p.mem != nil {
		p.mem.Inject(netip.AddrPortFrom(s.Src.Addr(), 0), netip.AddrPortFrom(s.Dst.Addr(), 0), b)
		return nil
	}
	if _, err = p.udp.WriteToUDPAddrPort(b, s.Dst); err != nil {
		return fmt.Errorf("attack: send: %v", err)
	}
	return nil
}

// Replies returns the replies recorded so far, oldest first.
func (p *Peer) Replies() []Reply {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.seen)
}

// Take returns the replies recorded so far and forgets them.
func (p *Peer) Take() []Reply {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.seen
	p.seen = nil
	return out
}

// Dropped returns how many replies were not kept because the record was full.
func (p *Peer) Dropped() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.dropped
}

// Close stops recording: it releases the mem network's observer slot or
// closes the UDP socket and waits for its reader.
func (p *Peer) Close() error {
	if p.mem != nil {
		p.mem.Observe(nil)
		return nil
	}
	err := p.udp.Close()
	p.wg.Wait()
	return err
}

// WaitFor polls until cond holds or d passes (real time), for the udp link.
func WaitFor(d time.Duration, cond func() bool) bool {
	end := time.Now().Add(d)
	for !cond() {
		if time.Now().After(end) {
			return false
		}
		time.Sleep(time.Millisecond)
	}
	return true
}
