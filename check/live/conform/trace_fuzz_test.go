package conform

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// FuzzReadTrace: whatever a trace file holds, ReadTrace returns
// transitions or an error, never a panic; Check judges what it returns
// without a panic; and what it returns writes and reads back the same.
func FuzzReadTrace(f *testing.F) {
	f.Add([]byte(goodLine + "\n"))
	f.Add([]byte("\n" + goodLine + "\n" + goodLine + "\n"))
	if trace, err := recordPlan(transfer, config{}); err == nil {
		var buf bytes.Buffer
		if err := WriteTrace(&buf, trace); err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes())
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		trace, err := ReadTrace(bytes.NewReader(data))
		if err != nil {
			return
		}
		Check(trace, Options{MSL: harnessMSL}) //nolint:errcheck // a divergence is a verdict; a panic is the failure
		var buf bytes.Buffer
		if err := WriteTrace(&buf, trace); err != nil {
			t.Fatal(err)
		}
		back, err := ReadTrace(&buf)
		if err != nil {
			t.Fatalf("its own output does not read back: %v", err)
		}
		if diff := cmp.Diff(trace, back, cmpopts.EquateComparable(netip.AddrPort{})); diff != "" {
			t.Fatalf("read back differently (-first +again):\n%s", diff)
		}
	})
}
