package spec

import (
	"testing"

	"pgregory.net/rapid"
)

func TestSeqOKFourCases(t *testing.T) {
	tests := []struct {
		seq    Seq
		len    uint32
		wnd    uint32
		want   bool
		reason string
	}{
		{301, 0, 0, true, "empty segment at RCV.NXT, zero window"},
		{302, 0, 0, false, "empty segment past RCV.NXT, zero window"},
		{301, 0, 10, true, "empty segment at the left edge"},
		{310, 0, 10, true, "empty segment at the last window octet"},
		{311, 0, 10, false, "empty segment just past the window"},
		{300, 0, 10, false, "empty segment just before the window"},
		{301, 5, 0, false, "text into a zero window"},
		{295, 10, 10, true, "text that starts before the window and ends in it"},
		{291, 10, 10, false, "text that ends just before the window"},
		{310, 50, 10, true, "text that starts at the last window octet"},
	}
	for _, tc := range tests {
		c := Ctx{RcvNxt: 301, RcvWnd: tc.wnd, SegSeq: tc.seq, SegLen: tc.len}
		if got := IsSeqOK(&c); got != tc.want {
			t.Errorf("%s: IsSeqOK = %v", tc.reason, got)
		}
	}
}

// ctxGen draws TCBs and segments close to each other in sequence space, so
// that the interesting edges are hit often, anywhere on the 2^32 circle.
var ctxGen = rapid.Custom(func(t *rapid.T) Ctx {
	base := Seq(rapid.Uint32().Draw(t, "base"))
	near := func(name string) Seq { return base.Add(uint32(rapid.IntRange(-4, 12).Draw(t, name))) }
	una := near("una")
	return Ctx{
		SndUna:    una,
		SndNxt:    una.Add(uint32(rapid.IntRange(0, 4).Draw(t, "inflight"))),
		RcvNxt:    near("rcvnxt"),
		RcvWnd:    uint32(rapid.IntRange(0, 6).Draw(t, "rcvwnd")),
		MaxSndWnd: uint32(rapid.IntRange(0, 6).Draw(t, "maxsndwnd")),
		FinSent:   rapid.Bool().Draw(t, "finsent"),
		Passive:   rapid.Bool().Draw(t, "passive"),
		SegSeq:    near("segseq"),
		SegAck:    near("segack"),
		SegLen:    uint32(rapid.IntRange(0, 3).Draw(t, "seglen")),
		SegFlags:  Flags(rapid.Uint8().Draw(t, "flags")),
	}
})

func TestGuardRelations(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		c := ctxGen.Draw(t, "ctx")
		g := EvalAll(&c)
		if g.Has(AckOK) && !g.Has(AckInRange) {
			t.Fatal("an ACK of something new must be in the acceptable range")
		}
		if g.Has(FinAcked) && !g.Has(AckInRange) {
			t.Fatal("the ACK of our FIN must be in the acceptable range")
		}
		if !c.SegFlags.Has(ACK) && (g.Has(AckOK) || g.Has(AckInRange) || g.Has(FinAcked)) {
			t.Fatal("ACK guards hold without the ACK bit")
		}
		if g.Has(RstExact) && c.SegLen == 0 && !g.Has(SeqOK) {
			t.Fatal("an empty segment exactly at RCV.NXT is acceptable")
		}
		for gd := Guard(0); int(gd) < NumGuards; gd++ {
			if g.Has(gd) != gd.Eval(&c) {
				t.Fatalf("EvalAll and Eval disagree on %s", gd)
			}
		}
	})
}

// TestMachineTotal checks that for any TCB and segment some row applies, in
// every state, for every event: the table is complete on real inputs, not
// only on guard outcomes.
func TestMachineTotal(t *testing.T) {
	m, err := NewMachine(Table())
	if err != nil {
		t.Fatal(err)
	}
	rapid.Check(t, func(t *rapid.T) {
		c := ctxGen.Draw(t, "ctx")
		s := State(rapid.IntRange(0, NumStates-1).Draw(t, "state"))
		e := Event(rapid.IntRange(0, NumEvents-1).Draw(t, "event"))
		if m.StepCtx(s, e, &c) < 0 {
			t.Fatalf("no row applies to %s + %s", s, e)
		}
	})
}
