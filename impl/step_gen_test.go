package impl

import (
	"slices"
	"testing"

	"github.com/tcpcheck/tcpcheck/spec"
	"pgregory.net/rapid"
)

func TestGeneratedTablesMatchSpec(t *testing.T) {
	if spec.NumRows() != tableRows {
		t.Fatalf("zz_step.go was generated from %d rows, spec.Table() has %d: run go generate ./...", tableRows, spec.NumRows())
	}
	for i, r := range spec.Table() {
		if tableTo[i] != r.To {
			t.Errorf("tableTo[%d] = %s, row %s goes to %s", i, tableTo[i], r.Name(), r.To)
		}
		if !slices.Equal(tableDo[i], r.Do) {
			t.Errorf("tableDo[%d] = %v, row %s does %v", i, tableDo[i], r.Name(), r.Do)
		}
	}
}

// ctxs draws a TCB and segment whose sequence numbers lie close to one
// another (so every guard goes both ways often) around an arbitrary base,
// including the 2^32 wrap.
var ctxs = rapid.Custom(func(t *rapid.T) spec.Ctx {
	base := spec.Seq(rapid.OneOf(rapid.Uint32(), rapid.Uint32Range(0, 4), rapid.Uint32Range(1<<32-4, 1<<32-1)).Draw(t, "base"))
	near := func(name string, around spec.Seq) spec.Seq {
		return around.Add(uint32(rapid.IntRange(-3, 3).Draw(t, name)))
	}
	var c spec.Ctx
	c.SndUna = base
	c.SndNxt = c.SndUna.Add(rapid.Uint32Range(0, 3).Draw(t, "inflight"))
	c.RcvNxt = spec.Seq(rapid.Uint32().Draw(t, "rcvnxt"))
	c.RcvWnd = rapid.SampledFrom([]uint32{0, 1, 3, 1 << 16}).Draw(t, "rcvwnd")
	c.MaxSndWnd = rapid.SampledFrom([]uint32{0, 1, 3, 1 << 16}).Draw(t, "maxsndwnd")
	c.FinSent = rapid.Bool().Draw(t, "finsent")
	c.Passive = rapid.Bool().Draw(t, "passive")
	c.SegSeq = near("segseq", c.RcvNxt)
	c.SegAck = near("segack", c.SndNxt)
	c.SegLen = rapid.Uint32Range(0, 4).Draw(t, "seglen")
	c.SegFlags = spec.Flags(rapid.Uint8().Draw(t, "flags"))
	return c
})

// TestGeneratedStepMatchesMachine checks zz_step.go against the
// interpreted table on random TCBs and segments, for every state and event.
func TestGeneratedStepMatchesMachine(t *testing.T) {
	m, err := spec.NewMachine(spec.Table())
	if err != nil {
		t.Fatal(err)
	}
	rapid.Check(t, func(t *rapid.T) {
		c := ctxs.Draw(t, "ctx")
		for s := range spec.NumStates + 1 {
			for e := range spec.NumEvents + 1 {
				st, ev := spec.State(s), spec.Event(e)
				cc := c // step must not depend on anything but c
				if got, want := step(st, ev, &cc), m.StepCtx(st, ev, &c); got != want {
					t.Fatalf("step(%s, %s, %+v) = %d, spec.Machine says %d: run go generate ./...", st, ev, c, got, want)
				}
				if cc != c {
					t.Fatalf("step(%s, %s) modified its context: %+v -> %+v", st, ev, c, cc)
				}
			}
		}
	})
}

// TestGeneratedStepReachesEveryRow walks a grid of contexts near the
// sequence-number wrap and checks that every row is chosen by some context
// and that step agrees with the machine on all of them, so every branch of
// the generated decision trees is compared.
func TestGeneratedStepReachesEveryRow(t *testing.T) {
	rows := spec.Table()
	m, err := spec.NewMachine(rows)
	if err != nil {
		t.Fatal(err)
	}
	hit := make([]bool, len(rows))
	const base = spec.Seq(1<<32 - 2)
	for inflight := range uint32(3) {
		for dseq := -2; dseq <= 2; dseq++ {
			for dack := -3; dack <= 1; dack++ {
				for bits := range 1 << 5 {
					for _, seglen := range []uint32{0, 2} {
						c := spec.Ctx{
							SndUna: base, SndNxt: base.Add(inflight), RcvNxt: base.Add(3),
							RcvWnd: uint32(bits & 1 * 2), MaxSndWnd: uint32(bits >> 1 & 1 * 2),
							FinSent: bits&4 != 0, Passive: bits&8 != 0,
							SegLen: seglen,
						}
						c.SegSeq = c.RcvNxt.Add(uint32(dseq))
						c.SegAck = c.SndNxt.Add(uint32(dack))
						if bits&16 != 0 {
							c.SegFlags = spec.ACK
						}
						for s := range spec.NumStates {
							for e := range spec.NumEvents {
								st, ev := spec.State(s), spec.Event(e)
								got, want := step(st, ev, &c), m.StepCtx(st, ev, &c)
								if got != want {
									t.Fatalf("step(%s, %s, %+v) = %d, spec.Machine says %d", st, ev, c, got, want)
								}
								hit[got] = true
							}
						}
					}
				}
			}
		}
	}
	for i, r := range rows {
		if !hit[i] {
			t.Errorf("row %d (%s): no context of the grid chooses it", i, r.Name())
		}
	}
}

// BenchmarkGeneratedStep compares the generated step, which evaluates only the
// guards it needs, with the machine, which evaluates all of them.
func BenchmarkGeneratedStep(b *testing.B) {
	m, err := spec.NewMachine(spec.Table())
	if err != nil {
		b.Fatal(err)
	}
	c := spec.Ctx{SndUna: 100, SndNxt: 101, RcvNxt: 300, RcvWnd: 1000, MaxSndWnd: 1000,
		SegSeq: 300, SegAck: 101, SegLen: 1, SegFlags: spec.ACK | spec.FIN}
	for _, bc := range []struct {
		name string
		step func(spec.State, spec.Event, *spec.Ctx) int
	}{{"generated", step}, {"machine", m.StepCtx}} {
		b.Run(bc.name, func(b *testing.B) {
			n := 0
			for i := 0; b.Loop(); i++ {
				n += bc.step(spec.State(i%spec.NumStates), spec.Event(i/spec.NumStates%spec.NumEvents), &c)
			}
			genStepSink = n
		})
	}
}

var genStepSink int
