package tester

import (
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/tcpcheck/tcpcheck/check/live/dut/linuxdut"
	"github.com/tcpcheck/tcpcheck/internal/testenv"
	"github.com/tcpcheck/tcpcheck/spec"
)

// linuxRun is a run of the suite against the Linux kernel (linuxdut).
type linuxRun struct {
	results []*Result
	sum     *Summary
	teeth   []MutationResult
}

// splitLinuxFull separates the cases that wait for Linux's fixed 60 s
// TIME-WAIT (run only by tcpcheck conform --dut linux --full) and gives
// each a "needs --full" result, so that the matrix says so.
func splitLinuxFull(cases []*Case) (run []*Case, skipped []*Result) {
	return SplitFull(cases, linuxdut.WaitsFixedTimer, linuxdut.FullOnly)
}

// runLinux runs suite s against Linux and checks what the issue asks of it:
// 0 disagreements, every registered deviation shown, every row exercised or
// explained. It returns nil without root (and fails then when CI is
// "true"): the Linux column and docs/linux.md's generated part are not
// checked.
func runLinux(t *testing.T, s *Suite) *linuxRun {
	t.Helper()
	if err := linuxdut.Available(); err != nil {
		if testenv.InCI() {
			t.Errorf("the Linux DUT cannot run in CI: %v", err)
		} else {
			t.Logf("the Linux column is not run (docs/conformance.md and docs/linux.md are not compared): %v", err)
		}
		return nil
	}
	rows := s.Model.Rows()
	run, skipped := splitLinuxFull(s.Cases)
	res := append(RunCases(s.Model, run, linuxdut.New, Options{Deviations: linuxdut.Deviations}), skipped...)
	sum := Summarize(s, res, linuxdut.Deviations)
	t.Logf("Linux: %s", sum)
	for _, r := range res {
		if r.Verdict == Disagree {
			t.Errorf("Linux: %s", r.Table(rows))
		}
	}
	for _, id := range sum.NotShown {
		t.Errorf("registered Linux deviation %s did not show: remove it from linuxdut.Deviations or find why", id)
	}
	if len(sum.Unexplained) > 0 {
		t.Errorf("Linux: rows neither exercised nor explained: %v", sum.Unexplained)
	}
	for i, c := range sum.Cells {
		if s.Unexercised[i] == "" && c.Kind != "agree" && c.Kind != "deviation" && c.Kind != "not drivable" && c.Kind != "needs --full" && c.Kind != "blocked" {
			t.Errorf("row %d %s on Linux: %s", i, rows[i].Name(), c.Kind)
		}
	}
	return &linuxRun{results: res, sum: sum, teeth: runTeethLinux(t, s, res)}
}

// runTeethLinux runs the mutations of the teeth test (mutations()) against
// Linux: for each, the cases of the mutant suite that the mutation changes
// (chosen as runTeeth chooses them for gVisor), with the table as the
// reference model. A mutation no case catches is a gap, with the reason
// read from the run: Linux does what the mutant says where it deviates
// from the table (the base suite shows that deviation), its cases are not
// drivable on Linux, or they meet a deviation before the mutated step. A
// gap without such a reason fails the test.
func runTeethLinux(t *testing.T, base *Suite, baseRes []*Result) []MutationResult {
	t.Helper()
	baseVerdict := map[string]*Result{}
	for _, r := range baseRes {
		baseVerdict[r.Case.Name] = r
	}
	orig := caseKeys(base)
	muts := mutations()
	mds := make([]*Model, len(muts))
	sel := make([][]*Case, len(muts))
	for j, m := range muts {
		mds[j], sel[j] = teethCases(t, base, orig, m, func(cs []*Case) []*Case {
			run, _ := splitLinuxFull(cs)
			return run
		})
	}
	outs := make([][]*Result, len(muts))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 48)
	for j := range muts {
		outs[j] = make([]*Result, len(sel[j]))
		for k, c := range sel[j] {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				opt := Options{Deviations: linuxdut.Deviations, Reference: base.Model}
				opt.fill()
				outs[j][k] = runCase(mds[j], c, linuxdut.New, &opt)
			})
		}
	}
	wg.Wait()
	// A mutation no case caught, and no registered gap explains, runs its
	// cases again, fewer at once and with a longer quiet time: on a loaded
	// machine the kernel's segment can come after the quiet time of a
	// move where the mutant expects nothing (a missed catch, not a gap).
	for j, m := range muts {
		if _, ok := linuxGaps[m.name]; ok || len(sel[j]) == 0 || slices.ContainsFunc(outs[j], func(r *Result) bool { return r.Verdict == Disagree }) {
			continue
		}
		t.Logf("mutation %s: no case caught it; running its %d cases again, 4 at once, with a quiet time of %v", m.name, len(sel[j]), 4*defaultQuiet)
		outs[j] = RunCases(mds[j], sel[j], linuxdut.New, Options{Deviations: linuxdut.Deviations, Reference: base.Model, Parallel: 4, Quiet: 4 * defaultQuiet})
	}
	var out []MutationResult
	for j, m := range muts {
		mr := MutationResult{Name: m.name, Kind: m.kind, Cases: len(sel[j])}
		for _, r := range outs[j] {
			if r.Verdict == Disagree {
				mr.CaughtBy = r.Case.Name
				break
			}
		}
		if why, ok := linuxGaps[m.name]; ok {
			if mr.CaughtBy != "" {
				t.Errorf("mutation %s is caught by Linux now (%q): drop its reason in linuxGaps", m.name, mr.CaughtBy)
			}
			mr.Reason = why
		}
		if mr.CaughtBy == "" && mr.Reason == "" {
			mr.Reason = linuxGap(outs[j], baseVerdict)
			if mr.Reason == "" {
				t.Errorf("mutation %s: no case of its %d disagrees with Linux, and no deviation or limit of Linux explains it", m.name, len(sel[j]))
				for _, r := range outs[j][:min(3, len(outs[j]))] {
					t.Logf("%s", r.Table(mds[j].Rows()))
				}
			}
		}
		out = append(out, mr)
	}
	return out
}

// linuxGaps are the mutations Linux cannot catch for a reason the run
// does not show by itself.
var linuxGaps = map[string]string{}

// linuxGap says why no case of a mutant disagrees with Linux, or "" when
// the run does not tell.
func linuxGap(rs []*Result, base map[string]*Result) string {
	if len(rs) == 0 {
		return "needs --full: the cases it changes wait for TIME-WAIT's end (" + linuxdut.FullOnly + "); they run with tcpcheck conform --dut linux --full"
	}
	devs := map[string]bool{}
	nd := ""
	for _, r := range rs {
		switch r.Verdict {
		case Deviation:
			devs[r.Deviation] = true
		case NotDrivable:
			nd = r.Reason
		case Agree:
			// Linux does what the mutant expects: where the table differs
			// from the mutant, the base suite's case must show a deviation.
			if b := base[r.Case.Name]; b != nil && b.Verdict == Deviation {
				devs[b.Deviation] = true
			}
		}
	}
	if len(devs) > 0 {
		var ids []string
		for id := range devs {
			ids = append(ids, "`"+id+"`")
		}
		sort.Strings(ids)
		return "Linux deviates from the table there (" + strings.Join(ids, ", ") + ")"
	}
	if nd != "" {
		return "not drivable on Linux: " + strings.Replace(nd, "dut: not drivable through this stack's API: ", "", 1)
	}
	return ""
}

// The markers of docs/linux.md's generated part.
const (
	linuxDocBegin = "<!-- Generated by go test ./check/live/tester -run TestConformance -update from linuxdut.Deviations and the run; do not edit between these markers. -->\n"
	linuxDocEnd   = "<!-- End of the generated part. -->\n"
)

// linuxDoc returns docs/linux.md (read from path) with its generated part,
// the deviations of the generated cases and the teeth against Linux,
// rendered from run.
func linuxDoc(path string, run *linuxRun, rows []spec.Row) (string, error) {
	have, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	doc := string(have)
	i, j := strings.Index(doc, linuxDocBegin), strings.Index(doc, linuxDocEnd)
	if i < 0 || j < i {
		return "", fmt.Errorf("%s has no generated part between the markers %q and %q", path, linuxDocBegin, linuxDocEnd)
	}
	reg := RegistryDoc("Linux", "", "", linuxdut.Deviations, rows, run.results)
	reg = reg[strings.Index(reg, "## Deviations\n\n")+len("## Deviations\n\n"):]
	reg = strings.TrimPrefix(strings.ReplaceAll("\n"+reg, "\n### `", "\n#### `"), "\n")
	var b strings.Builder
	b.WriteString(linuxDocBegin + "\n")
	b.WriteString("The counts per row and stack are in [conformance.md](conformance.md); a case that waits for\n")
	b.WriteString("TIME-WAIT's end is not run without --full (" + linuxdut.FullOnly + "): its verdict, and\n")
	b.WriteString("the cell of a row whose cases all wait for it, read \"needs --full\" there.\n")
	b.WriteString("\n### Deviations in the generated cases\n\n")
	b.WriteString(reg)
	b.WriteString("### Teeth against Linux\n\n")
	b.WriteString("The mutations of the teeth test in [conformance.md](conformance.md), each run against Linux\n")
	b.WriteString("(the mutant suite's cases that the mutation changes, at most a few per mutation, with the table\n")
	b.WriteString("as the reference: a registered deviation excuses only what the table itself expects).\n\n")
	b.WriteString("| mutation | kind | cases run | caught by |\n|---|---|---|---|\n")
	caught, full := 0, 0
	for _, m := range run.teeth {
		by := "`" + m.CaughtBy + "`"
		switch {
		case m.CaughtBy != "":
			caught++
		case strings.HasPrefix(m.Reason, "needs --full"):
			full++
			by = m.Reason
		default:
			by = "not caught: " + m.Reason
		}
		fmt.Fprintf(&b, "| %s | %s | %d | %s |\n", m.Name, m.Kind, m.Cases, strings.ReplaceAll(by, "|", "\\|"))
	}
	fmt.Fprintf(&b, "\n%d of %d mutations caught by Linux; %d need --full (their cases wait for Linux's fixed TIME-WAIT), a gap of a run without it.\n\n", caught, len(run.teeth), full)
	return doc[:i] + b.String() + doc[j:], nil
}
