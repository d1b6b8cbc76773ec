package check

import (
	"testing"
)

func TestCoverScratch(t *testing.T) {
	rep, err := Cover(CoverOptions{Progress: testWriter{t}, Traces: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("covered %d excluded %d uncovered %d in %.1f s", rep.Covered, rep.Excluded, rep.Uncovered, rep.Seconds)
	for _, r := range rep.Rows {
		if r.Member == "" {
			t.Logf("%-50s %s", r.Name, r.Excluded)
		}
	}
	for _, m := range rep.Members {
		if m.Result.Violation != nil {
			t.Logf("%s violates %s", m.Name, m.Result.Violation.Property)
		}
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }
