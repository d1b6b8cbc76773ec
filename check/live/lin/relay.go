package lin

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"time"
)

// Faults are what the relay does to each datagram it forwards. The
// probabilities are in [0, 1].
type Faults struct {
	Loss    float64       // the datagram is dropped
	Dup     float64       // it is forwarded twice
	Reorder float64       // it is held back by up to Jitter so later ones overtake it
	Delay   time.Duration // every datagram waits this long
	Jitter  time.Duration // the most a reordered datagram is held back; default 5 ms
}

func (f Faults) validate() error {
	for _, p := range []struct {
		name string
		v    float64
	}{{"loss", f.Loss}, {"dup", f.Dup}, {"reorder", f.Reorder}} {
		if !(p.v >= 0 && p.v <= 1) {
			return fmt.Errorf("lin: %s probability %v is outside [0, 1]", p.name, p.v)
		}
	}
	if f.Delay < 0 || f.Jitter < 0 {
		return errors.New("lin: relay delay and jitter must not be negative")
	}
	return nil
}

// relay forwards UDP datagrams between two stacks through pairs of
// loopback sockets ("wires") and injects faults on the way. A wire's
// front faces the client stack: the client dials the front's address, so
// the TCP port it dials is the front's UDP port. The back faces the
// server stack, which sees every segment of the wire coming from there.
type relay struct {
	f Faults

	mu      sync.Mutex
	rng     *rand.Rand
	closed  bool
	pending map[*time.Timer]struct{}
	wg      sync.WaitGroup
	socks   []*net.UDPConn
	stats   RelayStats
}

// RelayStats counts what the relay did.
type RelayStats struct {
	Forwarded, Dropped, Duplicated, Reordered int
}

func newRelay(f Faults, seed uint64) (*relay, error) {
	if err := f.validate(); err != nil {
		return nil, err
	}
	if f.Jitter == 0 {
		f.Jitter = 5 * time.Millisecond
	}
	return &relay{f: f, rng: rand.New(rand.NewPCG(seed, seed^0x243f6a8885a308d3)), pending: map[*time.Timer]struct{}{}}, nil
}

func listenLoopback() (*net.UDPConn, netip.AddrPort, error) {
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:0")))
	if err != nil {
		return nil, netip.AddrPort{}, fmt.Errorf("lin: relay socket: %w", err)
	}
	c.SetReadBuffer(8 << 20)
	c.SetWriteBuffer(8 << 20)
	a := c.LocalAddr().(*net.UDPAddr).AddrPort()
	return c, netip.AddrPortFrom(a.Addr().Unmap(), a.Port()), nil
}

// wire connects client (a stack's UDP address) and server through two new
// sockets and returns the front address the client dials.
func (r *relay) wire(client, server netip.AddrPort) (netip.AddrPort, error) {
	front, frontAddr, err := listenLoopback()
	if err != nil {
		return netip.AddrPort{}, err
	}
	back, _, err := listenLoopback()
	if err != nil {
		front.Close()
		return netip.AddrPort{}, err
	}
	r.mu.Lock()
	r.socks = append(r.socks, front, back)
	r.mu.Unlock()
	r.pump(front, back, server) // client -> server
	r.pump(back, front, client) // server -> client
	return frontAddr, nil
}

// pump forwards what arrives on in out of out to dst.
func (r *relay) pump(in, out *net.UDPConn, dst netip.AddrPort) {
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		buf := make([]byte, 65536)
		for {
			n, _, err := in.ReadFromUDPAddrPort(buf)
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				continue
			}
			r.forward(out, dst, append([]byte(nil), buf[:n]...))
		}
	}()
}

func (r *relay) forward(out *net.UDPConn, dst netip.AddrPort, b []byte) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	copies := 1
	switch {
	case r.rng.Float64() < r.f.Loss:
		copies = 0
		r.stats.Dropped++
	case r.rng.Float64() < r.f.Dup:
		copies = 2
		r.stats.Duplicated++
	}
	for c := range copies {
		delay := r.f.Delay
		if r.rng.Float64() < r.f.Reorder {
			delay += time.Duration(r.rng.Int64N(int64(r.f.Jitter))) + time.Millisecond
			r.stats.Reordered++
		} else if c == 1 {
			delay += time.Duration(r.rng.Int64N(int64(time.Millisecond)))
		}
		r.stats.Forwarded++
		if delay == 0 {
			out.WriteToUDPAddrPort(b, dst)
			continue
		}
		r.wg.Add(1)
		var t *time.Timer
		t = time.AfterFunc(delay, func() {
			defer r.wg.Done()
			r.mu.Lock()
			delete(r.pending, t)
			closed := r.closed
			r.mu.Unlock()
			if !closed {
				out.WriteToUDPAddrPort(b, dst)
			}
		})
		r.pending[t] = struct{}{}
	}
	r.mu.Unlock()
}

// Stats returns the relay's counters.
func (r *relay) Stats() RelayStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stats
}

// close stops forwarding and waits for every goroutine of the relay.
func (r *relay) close() {
	r.mu.Lock()
	r.closed = true
	for t := range r.pending {
		if t.Stop() {
			r.wg.Done()
		}
	}
	r.pending = nil
	socks := r.socks
	r.mu.Unlock()
	for _, s := range socks {
		s.Close()
	}
	r.wg.Wait()
}
