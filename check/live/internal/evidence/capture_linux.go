//go:build linux

package evidence

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"
)

// capture records the IPv4 TCP segments crossing one interface, with an
// AF_PACKET socket (what tcpdump uses): on lo every segment is seen once,
// as it leaves; on a TUN device both directions are.
type capture struct {
	fd   int
	mu   sync.Mutex
	segs []Seg
	at   []time.Time
	raw  [][]byte // the IPv4 packets, for a pcap file
	done chan struct{}
	stop chan struct{}
	// marks are remarks made during the run, placed by time.
	marks []mark
}

type mark struct {
	at   time.Time
	text string
}

// mark notes text now; finish places it after the segments seen before.
func (c *capture) mark(format string, args ...any) {
	c.mu.Lock()
	c.marks = append(c.marks, mark{time.Now(), fmt.Sprintf(format, args...)})
	c.mu.Unlock()
}

// notes places the marks among the segments.
func (c *capture) notes() []Note {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []Note
	for _, m := range c.marks {
		n := 0
		for _, t := range c.at {
			if !t.After(m.at) {
				n++
			}
		}
		out = append(out, Note{At: n, Text: m.text})
	}
	return out
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// startCapture opens the capture on the named interface.
func startCapture(ifname string) (*capture, error) {
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		return nil, fmt.Errorf("evidence: capture: %v", err)
	}
	fd, err := syscall.Socket(syscall.AF_PACKET, syscall.SOCK_DGRAM, int(htons(syscall.ETH_P_ALL)))
	if err != nil {
		return nil, fmt.Errorf("evidence: capture: AF_PACKET socket: %v (needs root)", err)
	}
	if err := syscall.Bind(fd, &syscall.SockaddrLinklayer{Protocol: htons(syscall.ETH_P_ALL), Ifindex: ifi.Index}); err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("evidence: capture: bind to %s: %v", ifname, err)
	}
	// A burst of segments (a hundred handshakes) must not overflow the
	// socket's queue: 8 MiB, beyond rmem_max as root may.
	_ = syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, 8<<20)
	tv := syscall.NsecToTimeval(int64(50 * time.Millisecond))
	if err := syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &tv); err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("evidence: capture: %v", err)
	}
	c := &capture{fd: fd, done: make(chan struct{}), stop: make(chan struct{})}
	lo := ifi.Flags&net.FlagLoopback != 0
	go c.loop(lo)
	return c, nil
}

func (c *capture) loop(lo bool) {
	defer close(c.done)
	buf := make([]byte, 1<<16)
	for {
		select {
		case <-c.stop:
			return
		default:
		}
		n, from, err := syscall.Recvfrom(c.fd, buf, 0)
		if err != nil {
			continue // the timeout, to look at stop
		}
		now := time.Now()
		if ll, ok := from.(*syscall.SockaddrLinklayer); ok && lo && ll.Pkttype != syscall.PACKET_OUTGOING {
			continue // lo shows each segment twice; keep the copy leaving
		}
		s, ok := decodeIPv4TCP(buf[:n])
		if !ok {
			continue
		}
		c.mu.Lock()
		c.segs = append(c.segs, s)
		c.at = append(c.at, now)
		c.raw = append(c.raw, append([]byte(nil), buf[:n]...))
		c.mu.Unlock()
	}
}

// count returns how many segments have been seen so far.
func (c *capture) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.segs)
}

// waitAfterFIN waits up to d for the FIN of the host at fin and then for
// a segment from the host at ack after it (the last ACK of a close).
func (c *capture) waitAfterFIN(fin, ack netip.Addr, d time.Duration) bool {
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		c.mu.Lock()
		at := -1
		for i, s := range c.segs {
			if at < 0 && s.Src.Addr() == fin && s.has("FIN") {
				at = i
			} else if at >= 0 && s.Src.Addr() == ack {
				c.mu.Unlock()
				return true
			}
		}
		c.mu.Unlock()
		time.Sleep(5 * time.Millisecond)
	}
	return false
}

// waitAckOfFIN waits up to d for a segment without text from the host at
// ack that acknowledges the FIN of the host at fin.
func (c *capture) waitAckOfFIN(fin, ack netip.Addr, d time.Duration) bool {
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		c.mu.Lock()
		var finEnd uint32
		have := false
		for _, s := range c.segs {
			if !have && s.Src.Addr() == fin && s.has("FIN") {
				finEnd, have = s.RawSeq+uint32(s.Len)+1, true
			} else if have && s.Src.Addr() == ack && s.Len == 0 && s.RawAck == finEnd {
				c.mu.Unlock()
				return true
			}
		}
		c.mu.Unlock()
		time.Sleep(5 * time.Millisecond)
	}
	return false
}

// waitFor waits up to d for a segment that satisfies pred, after the
// first from segments; it reports whether one came.
func (c *capture) waitFor(from int, d time.Duration, pred func(Seg) bool) bool {
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		c.mu.Lock()
		for _, s := range c.segs[min(from, len(c.segs)):] {
			if pred(s) {
				c.mu.Unlock()
				return true
			}
		}
		c.mu.Unlock()
		time.Sleep(5 * time.Millisecond)
	}
	return false
}

// finish stops the capture and returns the segments with relative
// numbers and times.
func (c *capture) finish() []Seg {
	close(c.stop)
	<-c.done
	syscall.Close(c.fd)
	c.mu.Lock()
	defer c.mu.Unlock()
	segs := append([]Seg(nil), c.segs...)
	if len(segs) > 0 {
		relativize(segs, c.at[0], c.at)
	}
	return segs
}

// decodeIPv4TCP reads an IPv4 packet carrying TCP, options included.
func decodeIPv4TCP(p []byte) (Seg, bool) {
	if len(p) < 20 || p[0]>>4 != 4 || p[9] != syscall.IPPROTO_TCP {
		return Seg{}, false
	}
	ihl := int(p[0]&0xf) * 4
	total := int(binary.BigEndian.Uint16(p[2:4]))
	if ihl < 20 || total > len(p) || total < ihl+20 {
		return Seg{}, false
	}
	src, _ := netip.AddrFromSlice(p[12:16])
	dst, _ := netip.AddrFromSlice(p[16:20])
	return decodeTCP(src, dst, p[ihl:total])
}

// pcap returns the captured packets as a classic pcap file of raw IPv4
// (LINKTYPE_RAW), which tcpdump, Wireshark and tcpcheck conform --pcap
// read.
func (c *capture) pcap() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	var b []byte
	b = binary.LittleEndian.AppendUint32(b, 0xa1b2c3d4) // microsecond pcap
	b = binary.LittleEndian.AppendUint16(b, 2)
	b = binary.LittleEndian.AppendUint16(b, 4)
	b = binary.LittleEndian.AppendUint32(b, 0)     // thiszone
	b = binary.LittleEndian.AppendUint32(b, 0)     // sigfigs
	b = binary.LittleEndian.AppendUint32(b, 65535) // snaplen
	b = binary.LittleEndian.AppendUint32(b, 101)   // LINKTYPE_RAW
	for i, p := range c.raw {
		t := c.at[i]
		b = binary.LittleEndian.AppendUint32(b, uint32(t.Unix()))
		b = binary.LittleEndian.AppendUint32(b, uint32(t.Nanosecond()/1000))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(p)))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(p)))
		b = append(b, p...)
	}
	return b
}
