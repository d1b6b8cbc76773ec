//go:build linux

package linuxdut

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/tcpcheck/tcpcheck/spec"
)

// The kernel's TCP state numbers (include/net/tcp_states.h) as RFC 9293
// states. TCP_NEW_SYN_RECV (12) is a request socket of a listener: the
// half-open connection of RFC 9293's SYN-RECEIVED. TCP_CLOSE (7) is a
// socket its user still holds that has no connection: CLOSED.
var kernelStates = map[uint8]spec.State{
	1:  spec.Established,
	2:  spec.SynSent,
	3:  spec.SynReceived,
	4:  spec.FinWait1,
	5:  spec.FinWait2,
	6:  spec.TimeWait,
	7:  spec.Closed,
	8:  spec.CloseWait,
	9:  spec.LastAck,
	10: spec.Listen,
	11: spec.Closing,
	12: spec.SynReceived,
}

const tcpListen = 10

// diagConn is one socket of a sock_diag dump.
type diagConn struct {
	local, remote netip.AddrPort
	state         uint8
}

// The sizes of struct inet_diag_req_v2 and struct inet_diag_msg
// (include/uapi/linux/inet_diag.h).
const (
	sizeofDiagReq = 56
	sizeofDiagMsg = 72
)

// diagDump asks sock_diag for every IPv4 TCP socket of the namespace of fd
// (a NETLINK_SOCK_DIAG socket): listeners, request sockets, connections,
// orphans and TIME-WAIT.
func diagDump(fd int) ([]diagConn, error) {
	req := make([]byte, unix.NLMSG_HDRLEN+sizeofDiagReq)
	binary.NativeEndian.PutUint32(req[0:], uint32(len(req)))
	binary.NativeEndian.PutUint16(req[4:], unix.SOCK_DIAG_BY_FAMILY)
	binary.NativeEndian.PutUint16(req[6:], unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
	body := req[unix.NLMSG_HDRLEN:]
	body[0] = unix.AF_INET
	body[1] = unix.IPPROTO_TCP
	binary.NativeEndian.PutUint32(body[4:], ^uint32(0)) // every state
	if err := unix.Sendto(fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return nil, fmt.Errorf("linuxdut: sock_diag request: %v", err)
	}
	var out []diagConn
	buf := make([]byte, 1<<16)
	for {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			return nil, fmt.Errorf("linuxdut: sock_diag answer: %v", err)
		}
		msgs, err := syscall.ParseNetlinkMessage(buf[:n])
		if err != nil {
			return nil, fmt.Errorf("linuxdut: sock_diag answer: %v", err)
		}
		for _, m := range msgs {
			switch m.Header.Type {
			case unix.NLMSG_DONE:
				return out, nil
			case unix.NLMSG_ERROR:
				code := int32(0)
				if len(m.Data) >= 4 {
					code = int32(binary.NativeEndian.Uint32(m.Data))
				}
				return nil, fmt.Errorf("linuxdut: sock_diag: %v", syscall.Errno(-code))
			}
			if len(m.Data) < sizeofDiagMsg {
				return nil, fmt.Errorf("linuxdut: sock_diag: a message of %d octets, want %d", len(m.Data), sizeofDiagMsg)
			}
			out = append(out, parseDiagMsg(m.Data))
		}
	}
}

// parseDiagMsg reads a struct inet_diag_msg: family, state, timer,
// retransmits, then the socket's id (ports and addresses in network
// order).
func parseDiagMsg(b []byte) diagConn {
	id := b[4:]
	sport, dport := binary.BigEndian.Uint16(id[0:]), binary.BigEndian.Uint16(id[2:])
	src, dst := netip.AddrFrom4([4]byte(id[4:8])), netip.AddrFrom4([4]byte(id[20:24]))
	return diagConn{local: netip.AddrPortFrom(src, sport), remote: netip.AddrPortFrom(dst, dport), state: b[1]}
}
