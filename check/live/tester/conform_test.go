package tester

import (
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/tcpcheck/tcpcheck/check/live/dut/gvisordut"
	"github.com/tcpcheck/tcpcheck/check/live/dut/impldut"
	"github.com/tcpcheck/tcpcheck/spec"
)

var update = flag.Bool("update", false, "rewrite docs/conformance.md and docs/gvisor.md from this run")

const docsDir = "../../../docs"

// suiteOf generates the suite of the correct table: the search's cases
// and the coverage family's.
func suiteOf(t *testing.T) *Suite {
	t.Helper()
	md, err := NewModel(spec.Table())
	if err != nil {
		t.Fatal(err)
	}
	s, err := GenerateAll(md)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestGenerate checks the generated suite itself: every case replays to
// its row in the model, every row has cases or a reason, and the cases
// include the boundary and wrap variants.
func TestGenerate(t *testing.T) {
	s := suiteOf(t)
	rows := s.Model.Rows()
	has := map[int]bool{}
	var wrap, bnd int
	for _, c := range s.Cases {
		has[c.Row] = true
		if c.Target().Row != c.Row && c.Target().Event != spec.RetriesExhausted && !c.DelayedAck {
			t.Errorf("case %q: target selects row %d, want %d", c.Name, c.Target().Row, c.Row)
		}
		if !s.Model.replays(c.Moves, c.Wrap) {
			t.Errorf("case %q does not replay to its rows", c.Name)
		}
		if c.Wrap {
			wrap++
		}
		if strings.Contains(c.Name, " / seq=") {
			bnd++
		}
	}
	for i := range rows {
		if has[i] == (s.Unexercised[i] != "") {
			t.Errorf("row %d %s: cases %v, reason %q: want exactly one", i, rows[i].Name(), has[i], s.Unexercised[i])
		}
	}
	if wrap == 0 || bnd == 0 {
		t.Errorf("%d wrap and %d boundary cases; want both", wrap, bnd)
	}
	for _, name := range []string{
		"ESTABLISHED + rcv ACK [!SeqOK] / seq=RCV.NXT+WND ack=SND.NXT",
		"ESTABLISHED + rcv ACK [!SeqOK] / seq=RCV.NXT-1 ack=SND.NXT / wrap",
		"ESTABLISHED + rcv RST [RstExact]",
		"ESTABLISHED + rcv RST [SeqOK & !RstExact] / seq=RCV.NXT+1 ack=SND.NXT",
		"ESTABLISHED + rcv ACK [SeqOK & !AckInRange] / seq=RCV.NXT ack=SND.NXT+1 / data in flight",
		"ESTABLISHED + rcv SYN / seq=RCV.NXT+1 ack=SND.NXT",
	} {
		found := false
		for _, c := range s.Cases {
			found = found || c.Name == name
		}
		if !found {
			t.Errorf("no case %q", name)
		}
	}
	t.Logf("%d cases (%d boundary, %d wrap) for %d of %d rows; %d search nodes", len(s.Cases), bnd, wrap, len(has), len(rows), s.Nodes)
}

// TestFamilyCases checks the cases drawn from the coverage family: every
// row the family applies has a case that follows the family's trace (new,
// or one the search made already) or is not drivable, with the reason;
// none is left untranslated; a delayed-ACK case's last move owes the ACK
// of its row; and the family reaches rows the search does not.
func TestFamilyCases(t *testing.T) {
	s := suiteOf(t)
	rows := s.Model.Rows()
	rep, err := familyTraces()
	if err != nil {
		t.Fatal(err)
	}
	search := Generate(s.Model)
	var applied, cases, same, nd, gained int
	for _, rc := range rep.Rows {
		if rc.Member == "" {
			continue
		}
		applied++
		f := s.Family[rc.Row]
		switch {
		case f == nil:
			t.Errorf("row %d %s: the family applies it, the suite says nothing of it", rc.Row, rc.Name)
		case f.Case != nil:
			cases++
			if _, was := search.Unexercised[rc.Row]; was {
				gained++
			}
			if f.Case.DelayedAck {
				w := newWorld(false)
				var eff spec.Effect
				for _, m := range f.Case.Moves {
					s.Model.apply(&w, m, &eff)
				}
				if w.dut.delack != rc.Row {
					t.Errorf("case %q: its last move owes no ACK that row %s sends", f.Case.Name, rc.Name)
				}
			}
		case f.Same:
			same++
		case strings.HasPrefix(f.Why, "not drivable: "):
			nd++
		default:
			t.Errorf("row %d %s: the family's trace (%s) is not translated: %s", rc.Row, rc.Name, rc.Member, f.Why)
		}
	}
	for r, why := range s.Unexercised {
		if f := s.Family[r]; f != nil && !strings.Contains(why, "coverage family") {
			t.Errorf("row %d %s: the family reaches it, its reason does not say so: %s", r, rows[r].Name(), why)
		}
	}
	if gained == 0 {
		t.Errorf("the family's cases exercise no row the search does not reach")
	}
	t.Logf("the family applies %d rows: %d new cases (%d for rows the search does not reach), %d the same as the search's, %d not drivable; %d cases in all",
		applied, cases, gained, same, nd, len(s.Cases))
}

// TestMutantSuiteDiffers checks that the cases are a function of the
// table: a table with one row changed gives another suite.
func TestMutantSuiteDiffers(t *testing.T) {
	s := suiteOf(t)
	rows := spec.Table()
	i := spec.Find(rows, "LISTEN + rcv SYN")
	rows[i].To = spec.Established
	md, err := NewModel(rows)
	if err != nil {
		t.Fatal(err)
	}
	m := Generate(md)
	if sameSuite(s, m) {
		t.Fatal("the suite of a mutant table equals the suite of the table")
	}
}

func sameSuite(a, b *Suite) bool {
	if len(a.Cases) != len(b.Cases) {
		return false
	}
	for i := range a.Cases {
		if caseKey(a.Cases[i]) != caseKey(b.Cases[i]) {
			return false
		}
	}
	return true
}

// runBoth runs the suite against gVisor and impl at once.
func runBoth(t *testing.T, s *Suite) (gv, im []*Result) {
	t.Helper()
	var wg sync.WaitGroup
	wg.Go(func() { gv = Run(s, gvisordut.New, Options{Parallel: 48, Deviations: gvisordut.Deviations}) })
	wg.Go(func() { im = Run(s, impldut.New, Options{Parallel: 32}) })
	wg.Wait()
	return gv, im
}

// TestConformance runs the whole suite against gVisor and against impl,
// checks the must-shows (0 disagreements on both, 0 deviations on impl,
// every registered gVisor deviation shown, at least 90% of the rows
// exercised or explained), then the teeth (mutant suites against gVisor),
// and keeps docs/conformance.md and docs/gvisor.md equal to what the run
// renders (-update rewrites them).
func TestConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("the conformance suite runs a fresh netstack per case (about 20 s); skipped with -short")
	}
	s := suiteOf(t)
	rows := s.Model.Rows()
	gv, im := runBoth(t, s)
	gs := Summarize(s, gv, gvisordut.Deviations)
	is := Summarize(s, im, nil)
	t.Logf("gVisor: %s", gs)
	t.Logf("impl: %s", is)
	for _, r := range append(append([]*Result(nil), gv...), im...) {
		if r.Verdict == Disagree {
			t.Errorf("%s", r.Table(rows))
		}
	}
	if is.Verdicts[Deviation] != 0 {
		t.Errorf("impl shows %d deviations; want 0", is.Verdicts[Deviation])
	}
	for _, id := range gs.NotShown {
		t.Errorf("registered gVisor deviation %s did not show: remove it from gvisordut.Deviations or find why", id)
	}
	for _, sm := range []*Summary{gs, is} {
		if len(sm.Unexplained) > 0 {
			t.Errorf("rows neither exercised nor explained: %v", sm.Unexplained)
		}
		if 10*(sm.Exercised+sm.Explained) < 9*sm.Rows {
			t.Errorf("%d exercised + %d explained of %d rows: below 90%%", sm.Exercised, sm.Explained, sm.Rows)
		}
	}
	// Every row the model reaches and gVisor's API can drive is exercised.
	for i, c := range gs.Cells {
		if s.Unexercised[i] == "" && c.Kind != "agree" && c.Kind != "deviation" && c.Kind != "not drivable" && c.Kind != "blocked" {
			t.Errorf("row %d %s on gVisor: %s", i, rows[i].Name(), c.Kind)
		}
	}

	// Linux (linuxdut, needs root): its column, its registry and its teeth.
	lin := runLinux(t, s)

	// The teeth: the listed mutations and the sweep, at once.
	var muts []MutationResult
	var sweep sweepResult
	var wg sync.WaitGroup
	wg.Go(func() { muts = runTeeth(t, s) })
	wg.Go(func() { sweep = runSweep(t, s) })
	wg.Wait()
	verdictOf := map[string]Verdict{}
	for _, r := range gv {
		verdictOf[r.Case.Name] = r.Verdict
	}
	for _, m := range sweep.missed {
		// A mutant gVisor agrees with is a row where gVisor deviates from
		// the table: the suite's own case of the row must show that.
		if strings.HasPrefix(m.Reason, "gVisor does there") {
			name := strings.SplitN(strings.TrimPrefix(m.Name, "`"), "`", 2)[0]
			if verdictOf[name] != Deviation {
				t.Errorf("sweep %s: gVisor agrees with the mutant, but the suite's case %q is %v, not a deviation", m.Name, name, verdictOf[name])
			}
		}
	}
	if 10*sweep.caught < 8*sweep.runs {
		t.Errorf("the sweep caught %d of %d single-row mutations; want at least 80%%", sweep.caught, sweep.runs)
	}

	cols := []Column{
		{Name: "gVisor", Page: "gvisor.md", Summary: gs},
		{Name: "impl", Page: "", Summary: is},
		{Name: "Linux", Note: "not run here: needs root"},
	}
	if lin != nil {
		cols[2] = Column{Name: "Linux", Page: "linux.md", Summary: lin.sum}
	}
	docs := map[string]string{
		"conformance.md": ConformanceDoc(s, cols, muts, sweep.runs, sweep.caught, sweep.missed),
		"gvisor.md":      RegistryDoc("gVisor", "gVisor's netstack and the table", gvisorIntro, gvisordut.Deviations, rows, gv),
	}
	if lin == nil {
		delete(docs, "conformance.md") // its Linux column needs the run
	} else {
		text, err := linuxDoc(filepath.Join(docsDir, "linux.md"), lin, rows)
		if err != nil {
			t.Fatal(err)
		}
		docs["linux.md"] = text
	}
	for name, text := range docs {
		path := filepath.Join(docsDir, name)
		if *update {
			if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		have, err := os.ReadFile(path)
		if err != nil || string(have) != text {
			t.Errorf("docs/%s differs from this run (%v); rerun with -update and review the diff:\n%s", name, err, firstDiff(string(have), text))
		}
	}
}

const gvisorIntro = `The conformance tester runs every generated case against gVisor's netstack
(` + "`gvisor.dev/gvisor v0.0.0-20260905035102-160fafc42237`" + `, in process, through a
link/channel endpoint: ` + "`check/live/dut/gvisordut`" + `), a fresh stack per case, with
RACK and SACK off and short timers where it has options for them. Where
gVisor does something else than the table, the difference is registered in
` + "`gvisordut.Deviations`" + ` (the rows, what the tester sees in the table's terms,
the RFC section, what the table says and what gVisor does) and the case's
verdict is that deviation; a registered deviation that no case shows fails
the run (` + "`TestConformance`, `tcpcheck conform --dut gvisor`" + `), so this page stays
true for the pinned version. The matrix is in [conformance.md](conformance.md).

Not drivable on gVisor: its handshake gives up only when the backoff passes a
fixed MaxRTO of 120 s (TCPSynRetriesOption is stored but not enforced), so the
rows of giving up in SYN-SENT and SYN-RECEIVED are not run; and its Write
refuses text before the connection is established (would block), so SEND in
SYN-SENT and SYN-RECEIVED is not drivable either.`

// firstDiff shows the first differing line of two texts.
func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range max(len(al), len(bl)) {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			return "line " + strconv.Itoa(i+1) + ":\n  have: " + x + "\n  want: " + y
		}
	}
	return ""
}
