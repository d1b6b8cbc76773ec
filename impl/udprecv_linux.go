package impl

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"os"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// receiveLoop reads and hands over datagrams for receive: recvfrom with
// MSG_DONTWAIT inside the runtime's poller (syscall.RawConn.Read), which
// waits for the socket to be readable only when nothing is queued. So
// after recvDrain the datagrams queued behind the one that satisfied recv
// are taken in the same go, and no address is allocated per datagram.
// While poll says so, an empty socket is read again after a
// runtime.Gosched, up to pollMax times, before the poller waits for it.
func (l *UDPLink) receiveLoop(buf []byte, recv func(from netip.AddrPort, seg []byte) verdict, poll func() bool) error {
	raw, err := l.conn.SyscallConn()
	if err != nil {
		return l.receiveBlocking(buf, recv)
	}
	stopped, drained, failed, polls := false, 0, 0, 0
	var rsa unix.RawSockaddrAny
	err = raw.Read(func(fd uintptr) bool {
		for {
			if stopped && drained >= drainMax {
				return true
			}
			salen := uint32(unsafe.Sizeof(rsa))
			n, _, errno := unix.Syscall6(unix.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)),
				unix.MSG_DONTWAIT, uintptr(unsafe.Pointer(&rsa)), uintptr(unsafe.Pointer(&salen)))
			switch errno {
			case 0:
				failed, polls = 0, 0
			case unix.EINTR:
				continue
			case unix.EAGAIN:
				if !stopped && poll != nil && polls < pollMax && poll() {
					polls++
					runtime.Gosched()
					continue
				}
				polls = 0
				return stopped // nothing queued: done, or wait until readable
			default:
				// An error reported for an earlier datagram (ICMP port
				// unreachable, say): read on, since the poller signals
				// only new arrivals; a persistent one waits instead.
				if failed++; failed < 16 {
					continue
				}
				failed = 0
				return stopped
			}
			from, ok := sockaddrPort(&rsa)
			if !ok {
				continue
			}
			if stopped {
				drained++
			}
			switch recv(from, buf[:n]) {
			case recvStop:
				return true
			case recvDrain:
				stopped = true
			}
		}
	})
	if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) && !errors.Is(err, net.ErrClosed) {
		// The poller's other errors mean the socket is unusable.
		return net.ErrClosed
	}
	return err
}

// sockaddrPort converts a socket address recvfrom filled in.
func sockaddrPort(rsa *unix.RawSockaddrAny) (netip.AddrPort, bool) {
	switch rsa.Addr.Family {
	case unix.AF_INET:
		sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(rsa))
		port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:])
		return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), port), true
	case unix.AF_INET6:
		sa := (*unix.RawSockaddrInet6)(unsafe.Pointer(rsa))
		port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:])
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr).Unmap(), port), true
	}
	return netip.AddrPort{}, false
}
