package impldut

import (
	"testing"

	"github.com/tcpcheck/tcpcheck/check/live/dut/duttest"
)

func TestAdapter(t *testing.T) { duttest.Run(t, New) }
