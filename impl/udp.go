package impl

import (
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"
)

// UDPLink carries each TCP segment as the payload of one UDP datagram: a
// stack is one UDP socket, and its connections are told apart by TCP port.
// No privileges are needed. The TCP checksum covers a pseudo-header made of
// the UDP addresses' IPs, so the socket must be bound to a specific IP.
// Faults are applied to the datagrams it sends.
type UDPLink struct {
	conn   *net.UDPConn
	local  netip.AddrPort
	faults Faults

	mu      sync.Mutex
	rng     *rand.Rand
	closed  bool
	pending map[*time.Timer]struct{} // datagrams held back by the Reorder fault
	wg      sync.WaitGroup           // the reader and the held-back sends
}

// NewUDPLink binds a UDP socket to addr ("127.0.0.1:0" picks a port; an
// empty host means 127.0.0.1) with the given faults, drawn from a
// generator seeded with seed.
func NewUDPLink(addr string, faults Faults, seed uint64) (*UDPLink, error) {
	if err := faults.validate(); err != nil {
		return nil, err
	}
	ap, err := parseAddr(addr)
	if err != nil {
		return nil, err
	}
	if ap.Addr().IsUnspecified() {
		return nil, errorf("udp link address %v: bind to a specific IP such as 127.0.0.1 (the checksum covers it)", ap)
	}
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(ap))
	if err != nil {
		return nil, errorf("udp link: %v", err)
	}
	growBuffers(conn, 8<<20)
	local := conn.LocalAddr().(*net.UDPAddr).AddrPort()
	local = netip.AddrPortFrom(local.Addr().Unmap(), local.Port())
	return &UDPLink{conn: conn, local: local, faults: faults, pending: map[*time.Timer]struct{}{},
		rng: rand.New(rand.NewPCG(seed, seed^0x6a09e667f3bcc908))}, nil
}

// MaxSegment returns the largest TCP segment (header and text) one
// datagram carries: 65,507 octets over IPv4, 65,527 over IPv6 (a UDP
// payload within the 16-bit length fields). A stack on this link never
// uses a larger MSS than this less the TCP header.
func (l *UDPLink) MaxSegment() int {
	if l.local.Addr().Is4() {
		return 65535 - 20 - 8
	}
	return 65535 - 8
}

// LocalAddr returns the UDP socket's address.
func (l *UDPLink) LocalAddr() netip.AddrPort { return l.local }

// Peer returns addr: the peer stack's UDP address is the dial address.
func (l *UDPLink) Peer(addr netip.AddrPort) netip.AddrPort { return addr }

// Send writes seg as one datagram to to, after the faults.
func (l *UDPLink) Send(to netip.AddrPort, seg []byte) error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return net.ErrClosed
	}
	copies, delay := l.faults.copies(l.rng), time.Duration(0)
	if copies > 0 && l.faults.Reorder > 0 && l.rng.Float64() < l.faults.Reorder {
		delay = time.Millisecond + time.Duration(l.rng.Int64N(int64(4*time.Millisecond)))
	}
	if delay > 0 {
		b := append([]byte(nil), seg...)
		l.wg.Add(1)
		var t *time.Timer
		t = time.AfterFunc(delay, func() {
			defer l.wg.Done()
			l.mu.Lock()
			delete(l.pending, t)
			closed := l.closed
			l.mu.Unlock()
			if !closed {
				for range copies {
					l.conn.WriteToUDPAddrPort(b, to)
				}
			}
		})
		l.pending[t] = struct{}{}
		l.mu.Unlock()
		return nil
	}
	l.mu.Unlock()
	var err error
	for range copies {
		_, err = l.conn.WriteToUDPAddrPort(seg, to)
	}
	if err != nil {
		return errorf("udp link send: %v", err)
	}
	return nil
}

// Start runs the reader goroutine. A Stack does not call it: it
// receives through receive, in the goroutines of its waiting users.
func (l *UDPLink) Start(recv func(from netip.AddrPort, seg []byte)) {
	go l.receive(make([]byte, 65536), func(from netip.AddrPort, seg []byte) verdict {
		recv(from, seg)
		return recvMore
	}, nil)
}

// receive reads datagrams into buf and hands each to recv, in the calling
// goroutine, until recv says to stop, interrupt is called, or the link
// closes (net.ErrClosed). The caller makes sure that one goroutine at a
// time receives (directLink). After recvDrain, the datagrams already
// queued in the socket (up to drainMax) are handed over too, without
// waiting (on Linux; elsewhere it is recvStop).
func (l *UDPLink) receive(buf []byte, recv func(from netip.AddrPort, seg []byte) verdict, poll func() bool) error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return net.ErrClosed
	}
	l.wg.Add(1)
	l.mu.Unlock()
	defer l.wg.Done()
	err := l.receiveLoop(buf, recv, poll)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		// interrupt: clear it before the caller looks at why (interrupt's
		// order makes that safe).
		l.conn.SetReadDeadline(time.Time{})
		return nil
	}
	return err
}

// drainMax bounds the datagrams receive hands over after recvDrain.
const drainMax = 64

// receiveBlocking is receiveLoop through package net: a read that waits,
// with no draining.
func (l *UDPLink) receiveBlocking(buf []byte, recv func(from netip.AddrPort, seg []byte) verdict) error {
	for {
		n, from, err := l.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) || errors.Is(err, os.ErrDeadlineExceeded) {
				return err
			}
			continue // e.g. ICMP port unreachable reported on a later read
		}
		if recv(netip.AddrPortFrom(from.Addr().Unmap(), from.Port()), buf[:n]) != recvMore {
			return nil
		}
	}
}

// interrupt makes a receive in progress (or the next one) return. The
// caller first makes the reason visible (closes the channel the receiving
// goroutine checks) and then interrupts; receive clears the interrupt
// before it returns, so the receiving goroutine, which checks after the
// return, sees the reason.
func (l *UDPLink) interrupt() { l.conn.SetReadDeadline(time.Unix(1, 0)) }

// Close closes the socket, drops the held-back datagrams, and waits for
// the reader to finish.
func (l *UDPLink) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return net.ErrClosed
	}
	l.closed = true
	for t := range l.pending {
		if t.Stop() {
			l.wg.Done()
		}
	}
	l.pending = nil
	l.mu.Unlock()
	err := l.conn.Close()
	l.wg.Wait()
	return err
}
