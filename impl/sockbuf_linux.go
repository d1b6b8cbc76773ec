package impl

import (
	"net"
	"syscall"
)

// growBuffers asks for size-octet socket buffers, beyond net.core.rmem_max
// when the process may (SO_RCVBUFFORCE needs CAP_NET_ADMIN), so that bursts
// from many connections sharing one UDP socket are not dropped by the
// kernel. Failure leaves the defaults: the stack retransmits what is lost.
func growBuffers(c *net.UDPConn, size int) {
	c.SetReadBuffer(size)
	c.SetWriteBuffer(size)
	raw, err := c.SyscallConn()
	if err != nil {
		return
	}
	raw.Control(func(fd uintptr) {
		syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, size)
		syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUFFORCE, size)
	})
}
