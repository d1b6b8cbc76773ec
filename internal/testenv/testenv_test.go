package testenv

import (
	"fmt"
	"strings"
	"testing"
)

// recorder is a testing.TB that records a skip or a failure instead of
// ending the test.
type recorder struct {
	testing.TB
	skipped, failed bool
	msg             string
}

func (r *recorder) Helper() {}
func (r *recorder) Skip(args ...any) {
	r.skipped, r.msg = true, fmt.Sprint(args...)
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed, r.msg = true, fmt.Sprintf(format, args...)
}

func TestToolFindsTheFirstThatExists(t *testing.T) {
	if p := Tool(t, "dash", "no-such-tool-tcpcheck", "sh"); !strings.HasSuffix(p, "/sh") {
		t.Fatalf("Tool = %q, want the path of sh", p)
	}
}

func TestMissingSkipsOutsideCIAndFailsInCI(t *testing.T) {
	t.Setenv("CI", "")
	r := &recorder{}
	Tool(r, "nosuchpkg", "no-such-tool-tcpcheck")
	if !r.skipped || r.failed || !strings.Contains(r.msg, "apt-get install nosuchpkg") {
		t.Fatalf("outside CI: skipped %v, failed %v, message %q", r.skipped, r.failed, r.msg)
	}
	t.Setenv("CI", "true")
	r = &recorder{}
	Tool(r, "nosuchpkg", "no-such-tool-tcpcheck")
	if r.skipped || !r.failed || !strings.Contains(r.msg, "CI=true requires it") {
		t.Fatalf("in CI: skipped %v, failed %v, message %q", r.skipped, r.failed, r.msg)
	}
}
