package capture

import (
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/tcpcheck/tcpcheck/spec"
)

// TestStepAsSpec holds the shadow's step (which evaluates only the guards
// the rows mention) to spec's TCB.Step: from random walks over the table,
// with segments near the connection's sequence variables, both choose the
// same row and leave the same TCB and the same effect.
func TestStepAsSpec(t *testing.T) {
	rng := rand.New(rand.NewPCG(18, 3))
	near := func(s spec.Seq) spec.Seq { return s + spec.Seq(rng.IntN(7)) - 3 }
	flagSets := []spec.Flags{spec.SYN, spec.SYN | spec.ACK, spec.ACK, spec.ACK | spec.PSH, spec.FIN | spec.ACK,
		spec.RST, spec.RST | spec.ACK, spec.FIN, 0, spec.SYN | spec.FIN}
	rows, steps := map[int]bool{}, 0
	for walk := 0; walk < 3000; walk++ {
		sh := shadow{tcb: spec.NewTCB()}
		if walk%2 == 1 {
			sh.tcb = spec.NewListenTCB()
		}
		for n := 0; n < 40; n++ {
			p := spec.Params{ISS: spec.Seq(rng.Uint32()), RcvWnd: uint32(rng.IntN(3)) * 1000, MSS: uint16(500 + rng.IntN(1000)),
				WScale: rng.IntN(2) == 0, Shift: uint8(rng.IntN(15)), Unsent: uint32(rng.IntN(3000)), FinQueued: rng.IntN(4) == 0}
			var in *spec.Segment
			var e spec.Event
			if rng.IntN(3) > 0 {
				seg := spec.Segment{Seq: near(sh.tcb.RcvNxt()), Ack: near(sh.tcb.SndNxt()), Flags: flagSets[rng.IntN(len(flagSets))],
					Window: uint16(rng.IntN(3) * 700), MSS: uint16(rng.IntN(2) * 1460), HasWScale: rng.IntN(2) == 0, WScale: uint8(rng.IntN(15))}
				if rng.IntN(2) == 0 {
					seg.Len = uint32(rng.IntN(1500))
				}
				if rng.IntN(4) == 0 {
					seg.Ack = near(sh.tcb.SndUna())
				}
				in, e = &seg, spec.Classify(seg.Flags, int(seg.Len))
			} else {
				e = spec.Event(rng.IntN(spec.NumEvents))
				if e.IsSegment() {
					e = spec.Send
				}
			}
			want := sh.tcb
			var wantEff, gotEff spec.Effect
			wantRow := want.Step(machine, e, in, p, &wantEff)
			got := sh
			gotRow := got.step(e, in, p, &gotEff)
			if gotRow != wantRow || got.tcb != want || !reflect.DeepEqual(gotEff, wantEff) {
				t.Fatalf("%s on %s (%+v): step chose row %d, TCB %+v, effect %+v; TCB.Step row %d, TCB %+v, effect %+v",
					e, sh.tcb.State(), in, gotRow, got.tcb, gotEff, wantRow, want, wantEff)
			}
			if got.hist.n == 0 || got.hist.st[got.hist.n-1] != want.State() {
				t.Fatalf("the state line %v does not end in %s", got.hist.list(), want.State())
			}
			steps++
			if gotRow >= 0 {
				rows[gotRow] = true
			}
			sh = got
		}
	}
	if len(rows) < len(machine.Rows())/2 {
		t.Errorf("the walks reached only %d of %d rows", len(rows), len(machine.Rows()))
	}
	t.Logf("%d steps, %d of %d rows", steps, len(rows), len(machine.Rows()))
}
