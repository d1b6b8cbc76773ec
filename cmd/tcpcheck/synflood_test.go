package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/tcpcheck/tcpcheck/impl"
)

// TestSynflood floods an in-process stack whose backlog is 8: the SYNs
// beyond it are answered with SYN cookies, and the command counts the
// SYN,ACKs that come back.
func TestSynflood(t *testing.T) {
	link, err := impl.NewUDPLink("127.0.0.1:0", impl.Faults{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	s, err := impl.NewStack(link, impl.Options{Backlog: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Listen(s.Addr().String()); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := run([]string{"synflood", "--count", "500", "--rate", "20000", "--wait", "300ms", s.Addr().String()}, &out, &errb); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "sent 500 spoofed SYNs") || strings.Contains(out.String(), " 0 SYN,ACKs") {
		t.Fatalf("output: %q", out.String())
	}
	if st := s.Stats(); st.SynCookies == 0 {
		t.Fatalf("no SYN cookies: %+v", st)
	}
	for _, args := range [][]string{{"synflood"}, {"synflood", "nonsense"}, {"synflood", "--count", "0", "127.0.0.1:1"}} {
		errb.Reset()
		if code := run(args, &out, &errb); code != exitUsage || !strings.Contains(errb.String(), "tcpcheck synflood:") {
			t.Errorf("%v: exit %d, stderr %q", args, code, errb.String())
		}
	}
}
