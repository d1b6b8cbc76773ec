package tester

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/tcpcheck/tcpcheck/check/live/dut/gvisordut"
	"github.com/tcpcheck/tcpcheck/spec"
)

// mutation is a change of the table or of the model's guards and timing.
type mutation struct {
	name   string
	kind   string                // "row" or "guard"
	rows   func(rows []spec.Row) // edits the table (row mutations)
	model  func(md *Model)       // edits the model (guard, arithmetic and timing mutations)
	cases  func(c *Case) bool    // for timing mutations, which do not change the cases: the cases to run
	reason string                // why no case catches it; "" = it must be caught
}

// rowMut returns a mutation of the row named row.
func rowMut(row, what string, edit func(r *spec.Row), reason string) mutation {
	return mutation{name: "`" + row + "`: " + what, kind: "row", reason: reason, rows: func(rows []spec.Row) {
		i := spec.Find(rows, row)
		if i < 0 {
			panic("no row " + row)
		}
		edit(&rows[i])
	}}
}

func to(s spec.State) func(*spec.Row)      { return func(r *spec.Row) { r.To = s } }
func do(as ...spec.Action) func(*spec.Row) { return func(r *spec.Row) { r.Do = as } }
func doTo(s spec.State, as ...spec.Action) func(*spec.Row) {
	return func(r *spec.Row) { r.Do, r.To = as, s }
}

// without drops action a from the row.
func without(a spec.Action) func(*spec.Row) {
	return func(r *spec.Row) {
		var out []spec.Action
		for _, x := range r.Do {
			if x != a {
				out = append(out, x)
			}
		}
		if len(out) == 0 {
			out = []spec.Action{spec.Drop}
		}
		r.Do = out
	}
}

// guardMut returns a mutation of the guards: f rewrites the guard outcomes
// the model sees.
func guardMut(name string, f func(c *spec.Ctx, g spec.GuardSet) spec.GuardSet, reason string) mutation {
	return mutation{name: name, kind: "guard", reason: reason, model: func(md *Model) {
		md.Guards = func(c *spec.Ctx) spec.GuardSet { return f(c, spec.EvalAll(c)) }
	}}
}

// seqOKNoWrap is the four-case test with plain integer comparisons.
func seqOKNoWrap(c *spec.Ctx) bool {
	in := func(s spec.Seq) bool {
		return uint64(c.RcvNxt) <= uint64(s) && uint64(s) < uint64(c.RcvNxt)+uint64(c.RcvWnd)
	}
	switch {
	case c.SegLen == 0 && c.RcvWnd == 0:
		return c.SegSeq == c.RcvNxt
	case c.SegLen == 0:
		return in(c.SegSeq)
	case c.RcvWnd == 0:
		return false
	}
	return in(c.SegSeq) || in(c.SegSeq.Add(c.SegLen-1))
}

func mutations() []mutation {
	S := spec.Established
	return []mutation{
		rowMut("LISTEN + rcv SYN", "to ESTABLISHED (a two-way handshake)", to(S), ""),
		rowMut("LISTEN + rcv SYN", "no SYN,ACK", without(spec.SendSYNACK), ""),
		rowMut("SYN-SENT + rcv SYN,ACK [AckOK]", "no ACK", without(spec.SendACK), ""),
		rowMut("SYN-SENT + rcv SYN,ACK [AckOK]", "to SYN-RECEIVED", to(spec.SynReceived), ""),
		rowMut("SYN-RECEIVED + rcv ACK [SeqOK & AckOK]", "stays in SYN-RECEIVED", to(spec.SynReceived), ""),
		rowMut("ESTABLISHED + rcv data [SeqOK & AckInRange]", "no ACK of text", without(spec.DelayACK), ""),
		rowMut("ESTABLISHED + rcv FIN [SeqOK & AckInRange]", "stays ESTABLISHED", to(S), ""),
		rowMut("ESTABLISHED + CLOSE", "no FIN", without(spec.SendFIN), ""),
		rowMut("ESTABLISHED + CLOSE", "to FIN-WAIT-2", to(spec.FinWait2), ""),
		rowMut("ESTABLISHED + SEND", "text not sent", do(spec.Drop), ""),
		rowMut("FIN-WAIT-1 + rcv ACK [SeqOK & AckInRange & FinAcked]", "to CLOSED", to(spec.Closed), ""),
		rowMut("FIN-WAIT-2 + rcv FIN [SeqOK & AckInRange]", "to CLOSED (no TIME-WAIT)", to(spec.Closed), ""),
		rowMut("CLOSE-WAIT + CLOSE", "to CLOSED without FIN (a three-way close)", doTo(spec.Closed, spec.DeleteTCB), ""),
		rowMut("LAST-ACK + rcv ACK [SeqOK & AckInRange & FinAcked]", "stays in LAST-ACK", to(spec.LastAck), ""),
		rowMut("CLOSING + rcv ACK [SeqOK & AckInRange & FinAcked]", "to CLOSED", to(spec.Closed), ""),
		rowMut("ESTABLISHED + rcv RST [RstExact]", "ignored", doTo(S, spec.Drop), ""),
		rowMut("ESTABLISHED + rcv RST [SeqOK & !RstExact]", "accepted (reset)", doTo(spec.Closed, spec.SignalReset, spec.DeleteTCB), ""),
		rowMut("ESTABLISHED + rcv SYN", "no challenge ACK", do(spec.Drop), ""),
		rowMut("CLOSED + rcv SYN", "no RST", do(spec.Drop), ""),
		rowMut("LISTEN + rcv ACK", "no RST", do(spec.Drop), ""),
		rowMut("SYN-SENT + rcv RST [AckOK]", "ignored", doTo(spec.SynSent, spec.Drop), ""),
		rowMut("ESTABLISHED + rcv ACK [!SeqOK]", "no ACK", do(spec.Drop), ""),
		rowMut("TIME-WAIT + rcv FIN", "retransmitted FIN not acknowledged", doTo(spec.TimeWait, spec.StartTimeWait), ""),
		rowMut("SYN-RECEIVED + rcv RST [RstExact & Passive]", "ignored", doTo(spec.SynReceived, spec.Drop), ""),
		rowMut("ESTABLISHED + ABORT", "no RST", doTo(spec.Closed, spec.DeleteTCB), ""),
		rowMut("ESTABLISHED + rcv RST [RstExact]", "signals refused, not reset", doTo(spec.Closed, spec.SignalRefused, spec.DeleteTCB), ""),
		rowMut("SYN-SENT + rcv RST [AckOK]", "signals reset, not refused", doTo(spec.Closed, spec.SignalReset, spec.DeleteTCB), ""),
		rowMut("TIME-WAIT + rcv SYN", "no challenge ACK", do(spec.Drop),
			"gVisor deviates there too (time-wait-ignores-syn): it answers no SYN in TIME-WAIT, which is what the mutant says"),

		guardMut("window edge off by one: RCV.WND+1 in the acceptability test", func(c *spec.Ctx, g spec.GuardSet) spec.GuardSet {
			x := *c
			x.RcvWnd++
			return g.With(spec.SeqOK, spec.IsSeqOK(&x))
		}, ""),
		guardMut("window edge off by one: RCV.WND-1 in the acceptability test", func(c *spec.Ctx, g spec.GuardSet) spec.GuardSet {
			x := *c
			if x.RcvWnd > 0 {
				x.RcvWnd--
			}
			return g.With(spec.SeqOK, spec.IsSeqOK(&x))
		}, ""),
		guardMut("RST accepted anywhere in the window", func(c *spec.Ctx, g spec.GuardSet) spec.GuardSet {
			return g.With(spec.RstExact, spec.IsSeqOK(c))
		}, ""),
		guardMut("acceptability test without wraparound", func(c *spec.Ctx, g spec.GuardSet) spec.GuardSet {
			return g.With(spec.SeqOK, seqOKNoWrap(c))
		}, ""),
		guardMut("SND.NXT+1 accepted as an ACK", func(c *spec.Ctx, g spec.GuardSet) spec.GuardSet {
			if c.SegFlags.Has(spec.ACK) && c.SegAck == c.SndNxt+1 {
				g = g.With(spec.AckOK, true).With(spec.AckInRange, true)
			}
			return g
		}, ""),
		guardMut("SEG.ACK = SND.UNA taken as acknowledging something new", func(c *spec.Ctx, g spec.GuardSet) spec.GuardSet {
			if c.SegFlags.Has(spec.ACK) && c.SegAck == c.SndUna {
				g = g.With(spec.AckOK, true)
			}
			return g
		}, ""),
		guardMut("SEG.SEQ+1 = RCV.NXT test off by one (SEG.SEQ = RCV.NXT)", func(c *spec.Ctx, g spec.GuardSet) spec.GuardSet {
			return g.With(spec.SeqAtIRS, c.SegSeq == c.RcvNxt)
		}, ""),
		guardMut("our FIN taken as acknowledged one octet early", func(c *spec.Ctx, g spec.GuardSet) spec.GuardSet {
			if c.FinSent && c.SegFlags.Has(spec.ACK) && c.SegAck == c.SndNxt-1 {
				g = g.With(spec.FinAcked, true)
			}
			return g
		}, ""),
		guardMut("no lower bound on the ACK (RFC 5961 §5.2 MAX.SND.WND dropped)", func(c *spec.Ctx, g spec.GuardSet) spec.GuardSet {
			return g.With(spec.AckInRange, c.SegFlags.Has(spec.ACK) && c.SegAck.LessEq(c.SndNxt))
		}, "gVisor deviates there too (bad-ack-dropped-silently): it takes or ignores such old ACKs without the ACK the table sends, as the mutant does"),
		{name: "TIME-WAIT of 1 MSL instead of 2", kind: "guard", model: func(md *Model) { md.TimeWaitFactor = 0.5 },
			cases: func(c *Case) bool { return c.Target().Event == spec.TimeWaitTimeout }},
		{name: "one retry more before giving up", kind: "guard", model: func(md *Model) { md.ExtraRetries = 1 },
			cases: func(c *Case) bool {
				return c.Target().Event == spec.RetriesExhausted && c.Name == "ESTABLISHED + R2"
			}},
	}
}

// caseKey identifies a case by its name and the rows its moves select.
func caseKey(c *Case) string {
	var b strings.Builder
	b.WriteString(c.Name)
	for _, m := range c.Moves {
		fmt.Fprintf(&b, "|%s:%d", m, m.Row)
	}
	return b.String()
}

// maxMutantCases bounds the cases run per mutation.
const maxMutantCases = 12

// teethCases builds the suite of mutation m and picks the cases to run
// against a stack: those the mutation changes, first those whose last
// move the original table answers with another row, then those with
// another row on the way, then the rest that are new or cross a changed
// row; keep (when not nil) filters them (a stack's cases it cannot run
// here), and at most maxMutantCases are kept. base is the suite of the
// correct table, orig the caseKeys of its cases.
func teethCases(t *testing.T, base *Suite, orig map[string]bool, m mutation, keep func([]*Case) []*Case) (*Model, []*Case) {
	t.Helper()
	table := spec.Table()
	rows := spec.Clone(table)
	if m.rows != nil {
		m.rows(rows)
	}
	md, err := NewModel(rows)
	if err != nil {
		t.Fatalf("mutation %s: %v", m.name, err)
	}
	if m.model != nil {
		m.model(md)
	}
	changed := map[int]bool{}
	for i := range rows {
		if fmt.Sprint(rows[i]) != fmt.Sprint(table[i]) {
			changed[i] = true
		}
	}
	var first, second, rest []*Case
	for _, c := range Generate(md).Cases {
		if m.cases != nil {
			if m.cases(c) {
				first = append(first, c)
			}
			continue
		}
		om, ok := base.Model.rowsOf(c.Moves, c.Wrap)
		if changed[c.Row] || !ok || om[len(om)-1].Row != c.Target().Row {
			first = append(first, c)
			continue
		}
		differs := false
		for i, mv := range c.Moves {
			differs = differs || om[i].Row != mv.Row || changed[mv.Row]
		}
		switch {
		case differs:
			second = append(second, c)
		case !orig[caseKey(c)]:
			rest = append(rest, c)
		}
	}
	cs := append(append(first, second...), rest...)
	if keep != nil {
		cs = keep(cs)
	}
	return md, cs[:min(len(cs), maxMutantCases)]
}

// caseKeys returns the caseKeys of a suite's cases.
func caseKeys(s *Suite) map[string]bool {
	orig := map[string]bool{}
	for _, c := range s.Cases {
		orig[caseKey(c)] = true
	}
	return orig
}

// runTeeth runs, for every mutation, the cases of the mutant suite that the
// mutation changes against gVisor and reports which catch it.
func runTeeth(t *testing.T, base *Suite) []MutationResult {
	orig := caseKeys(base)
	type job struct {
		m     mutation
		md    *Model
		cases []*Case
	}
	var jobs []job
	for _, m := range mutations() {
		md, cs := teethCases(t, base, orig, m, nil)
		jobs = append(jobs, job{m: m, md: md, cases: cs})
	}
	// Run every mutant's cases together, each with its own model.
	type mc struct {
		j int
		c *Case
	}
	var flat []mc
	for j, jb := range jobs {
		for _, c := range jb.cases {
			flat = append(flat, mc{j, c})
		}
	}
	results := make([][]*Result, len(jobs))
	done := make(chan struct{})
	sem := make(chan struct{}, 48)
	outs := make([]*Result, len(flat))
	go func() {
		defer close(done)
		var wg sync.WaitGroup
		for i, x := range flat {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				opt := Options{Deviations: gvisordut.Deviations, Reference: base.Model}
				opt.fill()
				outs[i] = runCase(jobs[x.j].md, x.c, gvisordut.New, &opt)
			})
		}
		wg.Wait()
	}()
	<-done
	for i, x := range flat {
		results[x.j] = append(results[x.j], outs[i])
	}
	// A mutation that must be caught and was not runs its cases again,
	// fewer at once and with a longer quiet time (on a loaded machine a
	// segment can come after the quiet time of a move where the mutant
	// expects nothing).
	for j, jb := range jobs {
		if jb.m.reason != "" || len(jb.cases) == 0 || slices.ContainsFunc(results[j], func(r *Result) bool { return r.Verdict == Disagree }) {
			continue
		}
		t.Logf("mutation %s: no case caught it; running its %d cases again, 4 at once, with a quiet time of %v", jb.m.name, len(jb.cases), 4*defaultQuiet)
		results[j] = RunCases(jb.md, jb.cases, gvisordut.New, Options{Deviations: gvisordut.Deviations, Reference: base.Model, Parallel: 4, Quiet: 4 * defaultQuiet})
	}
	var out []MutationResult
	for j, jb := range jobs {
		mr := MutationResult{Name: jb.m.name, Kind: jb.m.kind, Cases: len(jb.cases), Reason: jb.m.reason}
		for _, r := range results[j] {
			if r.Verdict == Disagree {
				mr.CaughtBy = r.Case.Name
				break
			}
		}
		switch {
		case mr.CaughtBy == "" && jb.m.reason == "":
			t.Errorf("mutation %s: no case of its %d disagrees with gVisor", jb.m.name, len(jb.cases))
			for _, r := range results[j][:min(3, len(results[j]))] {
				t.Logf("%s", r.Table(jb.md.Rows()))
			}
		case mr.CaughtBy != "" && jb.m.reason != "":
			t.Errorf("mutation %s is caught by %q now: drop its reason %q", jb.m.name, mr.CaughtBy, jb.m.reason)
		}
		out = append(out, mr)
	}
	return out
}
