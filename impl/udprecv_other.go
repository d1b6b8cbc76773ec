//go:build !linux

package impl

import "net/netip"

// receiveLoop reads and hands over datagrams for receive.
func (l *UDPLink) receiveLoop(buf []byte, recv func(from netip.AddrPort, seg []byte) verdict, _ func() bool) error {
	return l.receiveBlocking(buf, recv)
}
