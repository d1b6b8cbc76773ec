//go:build !linux

package impl

import "net"

// growBuffers asks for size-octet socket buffers.
func growBuffers(c *net.UDPConn, size int) {
	c.SetReadBuffer(size)
	c.SetWriteBuffer(size)
}
