package check

import (
	"bytes"
	"strings"
	"testing"

	"github.com/tcpcheck/tcpcheck/impl/wire"
	"github.com/tcpcheck/tcpcheck/spec"
)

// TestStepPcapRefusesImpossibleLength: a length no segment can have is an
// error naming the step and the limit, not a panic ("negative Repeat
// count", makeslice) nor an allocation of that size; nothing of the
// segment reaches the capture.
func TestStepPcapRefusesImpossibleLength(t *testing.T) {
	var buf bytes.Buffer
	p, err := NewStepPcap(&buf, 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Segment(1, 0, spec.ACK, 1, 1, wire.MaxPcapText); err != nil {
		t.Fatalf("the longest segment: %v", err)
	}
	size := buf.Len()
	for _, n := range []int{-1, wire.MaxPcapText + 1, 1e12, 1 << 62} {
		err := p.Segment(3, 1, spec.ACK, 1, 1, n)
		if err == nil || !strings.HasPrefix(err.Error(), "check: pcap: step 3: ") || !strings.Contains(err.Error(), "0..65495") {
			t.Errorf("len %d: %v; want an error naming step 3 and the range 0..65495", n, err)
		}
	}
	if buf.Len() != size {
		t.Errorf("refused segments wrote %d octets", buf.Len()-size)
	}
}
