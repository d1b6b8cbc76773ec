package tester

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/tcpcheck/tcpcheck/check/live/dut"
	"github.com/tcpcheck/tcpcheck/check/live/dut/impldut"
)

// brokenDUT is impl with its output replaced: nothing at all, or garbage;
// or whose calls never return.
type brokenDUT struct {
	dut.DUT
	mode string // "silent", "garbage" or "hang"
}

func (b *brokenDUT) Receive(ctx context.Context) ([]byte, error) {
	switch b.mode {
	case "garbage":
		if _, err := b.DUT.Receive(ctx); err != nil {
			return nil, err
		}
		return []byte{0x45, 0, 0, 40, 1, 2, 3}, nil
	case "silent":
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return b.DUT.Receive(ctx)
}

func (b *brokenDUT) Listen(port uint16) (dut.Listener, error) {
	if b.mode == "hang" {
		select {} // a call that never returns
	}
	return b.DUT.Listen(port)
}

func (b *brokenDUT) Connect(remote netip.AddrPort) (dut.Conn, error) {
	if b.mode == "hang" {
		select {}
	}
	return b.DUT.Connect(remote)
}

// TestBrokenDUT: a DUT that stops answering, answers garbage or hangs in
// a call ends its case with a disagreement, within the case's deadline.
func TestBrokenDUT(t *testing.T) {
	s := suiteOf(t)
	var cases []*Case
	for _, c := range s.Cases {
		if c.Name == "LISTEN + rcv SYN" || c.Name == "ESTABLISHED + rcv data [SeqOK & AckInRange]" {
			cases = append(cases, c)
		}
	}
	if len(cases) != 2 {
		t.Fatalf("found %d of the 2 cases", len(cases))
	}
	const deadline = 8 * time.Second
	for _, mode := range []string{"silent", "garbage", "hang"} {
		newDUT := func(cfg dut.Config) (dut.DUT, error) {
			d, err := impldut.New(cfg)
			if err != nil {
				return nil, err
			}
			return &brokenDUT{DUT: d, mode: mode}, nil
		}
		start := time.Now()
		rs := RunCases(s.Model, cases, newDUT, Options{Deadline: deadline})
		for _, r := range rs {
			if r.Verdict != Disagree {
				t.Errorf("%s DUT, case %q: verdict %v; want a disagreement\n%s", mode, r.Case.Name, r.Verdict, r.Table(s.Model.Rows()))
			}
			want := map[string]string{"silent": "the DUT sent nothing", "garbage": "malformed", "hang": "did not return from"}[mode]
			if !strings.Contains(r.Reason, want) {
				t.Errorf("%s DUT, case %q: reason %q; want it to say %q", mode, r.Case.Name, r.Reason, want)
			}
			if r.Elapsed > deadline {
				t.Errorf("%s DUT, case %q took %v, beyond its deadline of %v", mode, r.Case.Name, r.Elapsed, deadline)
			}
		}
		// Each case disagrees, so each runs twice (RunCases runs a case
		// that disagrees once more): the run is bounded by two deadlines.
		if el := time.Since(start); el > 2*deadline+2*time.Second {
			t.Errorf("%s DUT: the run took %v", mode, el)
		}
	}
}
