//go:build linux

package kernel

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/tcpcheck/tcpcheck/spec"
)

// Socket is one line of /proc/net/tcp: a kernel TCP socket of the reading
// thread's network namespace.
type Socket struct {
	Local, Remote netip.AddrPort
	Code          uint8      // the kernel's state number (include/net/tcp_states.h)
	State         spec.State // Code as an RFC 9293 state
	Timer         uint8      // the active timer: 0 none, 1 retransmit, 2 keepalive, 3 TIME-WAIT, 4 zero-window probe
	When          time.Duration
}

// kernelStates maps the kernel's state numbers to RFC 9293 states.
// TCP_NEW_SYN_RECV (12) is a request socket of a listener, the half-open
// connection of RFC 9293's SYN-RECEIVED; /proc/net/tcp prints those as
// TCP_SYN_RECV (3) already, but sock_diag reports 12. TCP_CLOSE (7) is a
// socket that still exists for its user but has no connection: CLOSED.
var kernelStates = map[uint8]spec.State{
	1:  spec.Established, // TCP_ESTABLISHED
	2:  spec.SynSent,     // TCP_SYN_SENT
	3:  spec.SynReceived, // TCP_SYN_RECV
	4:  spec.FinWait1,    // TCP_FIN_WAIT1
	5:  spec.FinWait2,    // TCP_FIN_WAIT2
	6:  spec.TimeWait,    // TCP_TIME_WAIT
	7:  spec.Closed,      // TCP_CLOSE
	8:  spec.CloseWait,   // TCP_CLOSE_WAIT
	9:  spec.LastAck,     // TCP_LAST_ACK
	10: spec.Listen,      // TCP_LISTEN
	11: spec.Closing,     // TCP_CLOSING
	12: spec.SynReceived, // TCP_NEW_SYN_RECV
}

// userHZ is the unit of the timer column (clock_t ticks, USER_HZ).
const userHZ = 100

// ReadSockets reads the IPv4 TCP sockets of this process's network
// namespace from /proc/net/tcp.
func ReadSockets() ([]Socket, error) {
	f, err := os.Open("/proc/net/tcp")
	if err != nil {
		return nil, fmt.Errorf("kernel: %v", err)
	}
	defer f.Close()
	return ParseProcNetTCP(f)
}

// ParseProcNetTCP parses the format of /proc/net/tcp: a header line, then
// one socket a line with hexadecimal "ADDR:PORT" fields, the address in
// the kernel's byte order (a __be32 printed as a native integer), the port
// in host order, and the state as two hex digits.
func ParseProcNetTCP(r io.Reader) ([]Socket, error) {
	var out []Socket
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		f := strings.Fields(sc.Text())
		if line == 1 || len(f) == 0 {
			continue // the header
		}
		if len(f) < 6 {
			return nil, fmt.Errorf("kernel: /proc/net/tcp line %d: %d fields, want at least 6", line, len(f))
		}
		var s Socket
		var err error
		if s.Local, err = parseHexAddr(f[1]); err != nil {
			return nil, fmt.Errorf("kernel: /proc/net/tcp line %d: local address: %v", line, err)
		}
		if s.Remote, err = parseHexAddr(f[2]); err != nil {
			return nil, fmt.Errorf("kernel: /proc/net/tcp line %d: remote address: %v", line, err)
		}
		code, err := strconv.ParseUint(f[3], 16, 8)
		if err != nil {
			return nil, fmt.Errorf("kernel: /proc/net/tcp line %d: state %q is not hexadecimal", line, f[3])
		}
		st, ok := kernelStates[uint8(code)]
		if !ok {
			return nil, fmt.Errorf("kernel: /proc/net/tcp line %d: unknown state %#02x", line, code)
		}
		s.Code, s.State = uint8(code), st
		if tr, when, ok := strings.Cut(f[5], ":"); ok {
			t, err1 := strconv.ParseUint(tr, 16, 8)
			w, err2 := strconv.ParseUint(when, 16, 32)
			if err1 == nil && err2 == nil {
				s.Timer, s.When = uint8(t), time.Duration(int32(w))*time.Second/userHZ
			}
		}
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("kernel: reading /proc/net/tcp: %v", err)
	}
	return out, nil
}

func parseHexAddr(s string) (netip.AddrPort, error) {
	a, p, ok := strings.Cut(s, ":")
	if !ok || len(a) != 8 || len(p) != 4 {
		return netip.AddrPort{}, fmt.Errorf("%q is not AAAAAAAA:PPPP", s)
	}
	raw, err := hex.DecodeString(a)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("%q: %v", s, err)
	}
	port, err := strconv.ParseUint(p, 16, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("%q: port: %v", s, err)
	}
	// The kernel printed the address's 32 bits as a native integer: undo
	// that to get the bytes in network order.
	var b [4]byte
	binary.NativeEndian.PutUint32(b[:], binary.BigEndian.Uint32(raw))
	return netip.AddrPortFrom(netip.AddrFrom4(b), uint16(port)), nil
}

// connState returns the kernel's state of the connection between local
// (a kernel address) and remote, and the socket line it came from: the
// socket with exactly that 4-tuple, or, when there is none, the listener
// on local's port (LISTEN) if listening is true, or CLOSED.
func connState(socks []Socket, local, remote netip.AddrPort, listening bool) (spec.State, *Socket) {
	for i, s := range socks {
		if s.Local == local && s.Remote == remote {
			return s.State, &socks[i]
		}
	}
	if listening {
		for i, s := range socks {
			if s.State == spec.Listen && s.Local.Port() == local.Port() {
				return spec.Listen, &socks[i]
			}
		}
	}
	return spec.Closed, nil
}
