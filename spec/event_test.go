package spec

import "testing"

func TestClassify(t *testing.T) {
	tests := []struct {
		flags Flags
		text  int
		want  Event
	}{
		{SYN, 0, SegSYN},
		{SYN | ACK, 0, SegSYNACK},
		{SYN | FIN, 0, SegSYN},
		{RST, 0, SegRST},
		{RST | ACK, 0, SegRST},
		{RST | SYN, 0, SegRST},
		{ACK, 0, SegACK},
		{ACK | PSH, 10, SegData},
		{ACK | FIN, 0, SegFIN},
		{ACK | FIN | PSH, 5, SegFIN},
		{FIN, 0, SegNoACK},
		{0, 0, SegNoACK},
		{PSH, 3, SegNoACK},
	}
	for _, tc := range tests {
		if got := Classify(tc.flags, tc.text); got != tc.want {
			t.Errorf("Classify(%s, %d) = %s, want %s", tc.flags, tc.text, got, tc.want)
		}
	}
}

func TestNamesRoundTrip(t *testing.T) {
	for _, s := range States() {
		if got, ok := ParseState(s.String()); !ok || got != s {
			t.Errorf("ParseState(%q) = %v, %v", s, got, ok)
		}
	}
	if Closed.String() != "CLOSED" || SynSent.String() != "SYN-SENT" || TimeWait.String() != "TIME-WAIT" {
		t.Errorf("RFC names: %s %s %s", Closed, SynSent, TimeWait)
	}
	for _, e := range Events() {
		if got, ok := ParseEvent(e.String()); !ok || got != e {
			t.Errorf("ParseEvent(%q) = %v, %v", e, got, ok)
		}
		kinds := 0
		for _, k := range []bool{e.IsUser(), e.IsSegment(), e.IsTimer()} {
			if k {
				kinds++
			}
		}
		if kinds != 1 {
			t.Errorf("%s belongs to %d kinds, want exactly one", e, kinds)
		}
	}
	for g := Guard(0); int(g) < NumGuards; g++ {
		if got, ok := ParseGuard(g.String()); !ok || got != g || g.Definition() == "" {
			t.Errorf("guard %d: %q round-trips to %v, %v; definition %q", g, g, got, ok, g.Definition())
		}
	}
	for a := Action(0); int(a) < NumActions; a++ {
		if got, ok := ParseAction(a.String()); !ok || got != a {
			t.Errorf("ParseAction(%q) = %v, %v", a, got, ok)
		}
	}
	if got := (SYN | ACK).String(); got != "SYN,ACK" {
		t.Errorf("flags print as %q", got)
	}
	if got := State(42).String(); got != "State(42)" {
		t.Errorf("unknown state prints as %q", got)
	}
}
