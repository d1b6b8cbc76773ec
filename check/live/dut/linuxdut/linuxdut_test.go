//go:build linux

package linuxdut

import (
	"testing"

	"github.com/tcpcheck/tcpcheck/check/live/dut/duttest"
	"github.com/tcpcheck/tcpcheck/internal/testenv"
)

func TestAdapter(t *testing.T) {
	if err := Available(); err != nil {
		testenv.Missing(t, "the Linux DUT: %v", err)
	}
	duttest.Run(t, New)
}
