//go:build !linux

package linuxdut

import (
	"errors"

	"github.com/tcpcheck/tcpcheck/check/live/dut"
)

// Available returns nil when this process can build a Linux DUT; on this
// system it never can.
func Available() error {
	return errors.New("linuxdut: the Linux DUT needs Linux (network namespaces and /dev/net/tun)")
}

// New is a [dut.New] that fails: the Linux DUT needs Linux.
func New(dut.Config) (dut.DUT, error) { return nil, Available() }
