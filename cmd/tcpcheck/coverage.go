package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"runtime"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/tcpcheck/tcpcheck/check"
	"github.com/tcpcheck/tcpcheck/model"
	"github.com/tcpcheck/tcpcheck/spec"
)

func init() {
	register(&command{
		name:    "coverage",
		summary: "explore the coverage family: every row of the table applied by some configuration or excluded by a checked invariant",
		usage: "[flags]\n\n" +
			"Explores a family of small configurations chosen to reach rows (both open modes,\n" +
			"every closer, ABORT, an off-path attacker injecting every form of segment into\n" +
			"every state, stray user calls, retries running out, budgets of 3 losses and 3\n" +
			"duplicates, incarnations), checks every property in each, Quiescence included,\n" +
			"and the exclusion invariants, and prints per row the smallest member that\n" +
			"applies it with a shortest trace, or the invariant that makes it unreachable.\n" +
			"--row ROW prints the whole trace of one row.\n" +
			"Exit status: 0 every row is covered or excluded and every property and\n" +
			"invariant holds, 1 a row is uncovered or a property or invariant is violated,\n" +
			"2 usage error.",
		setup: setupCoverage,
	})
}

func setupCoverage(fs *flag.FlagSet) func(args []string, stdout, stderr io.Writer) error {
	asJSON := fs.Bool("json", false, "print the report as one JSON object (with every trace)")
	budget := fs.Duration("budget", 0, "stop starting members after this `DURATION` (e.g. 30s); rows only the skipped members apply are then uncovered (0 = no limit)")
	row := fs.String("row", "", "print the shortest trace to this `ROW` (a row name as the table prints it, e.g. \"CLOSING + rcv SYN\") in the member that covers it")
	workers := fs.Int("workers", 0, "exploration workers per member (0 is one per CPU)")
	quiet := fs.Bool("quiet", false, "no progress lines")
	sweep := fs.Bool("sweep", false, "also run the mutation sweep: every single-row mutation of the table over the members that apply the row, judged by the properties (a few minutes on 2 cores: docs/coverage.md gives the last run's time)")
	sweepBudget := fs.Duration("sweep-budget", 0, "with --sweep: stop starting mutants after this `DURATION` (0 = no limit)")
	sweepSample := fs.Int("sweep-sample", 0, "with --sweep: judge only every `N`th mutation, a quick estimate (0 = all)")
	markdown := fs.Bool("markdown", false, "print the report as docs/coverage.md is written")
	return func(args []string, stdout, stderr io.Writer) error {
		if len(args) > 0 {
			return usagef("takes no arguments, got %q", strings.Join(args, " "))
		}
		if err := firstError(
			atLeast("budget", *budget, 0, "0 is no limit; e.g. 30s"),
			atLeast("sweep-budget", *sweepBudget, 0, "0 is no limit; e.g. 10m"),
			inRange("workers", *workers, 0, 255, "0 is one per CPU"),
			atLeast("sweep-sample", *sweepSample, 0, "0 judges every mutation; e.g. 20"),
		); err != nil {
			return err
		}
		set := flagsGiven(fs)
		for _, name := range []string{"sweep-budget", "sweep-sample"} {
			if set[name] && !*sweep {
				return usagef("--%s goes with --sweep, which it limits; add --sweep or drop it", name)
			}
		}
		switch {
		case *asJSON && *markdown:
			return usagef("--json and --markdown both given; choose one")
		case *asJSON && *sweep:
			return usagef("--sweep with --json: the JSON report has no sweep; the text report and --markdown have it")
		}
		if *row != "" {
			for _, name := range []string{"json", "markdown", "sweep", "sweep-budget", "sweep-sample", "budget"} {
				if set[name] {
					return usagef("--%s does not go with --row, which prints the trace to one row; give one of them", name)
				}
			}
			return coverageRow(stdout, *row, *workers)
		}
		opt := check.CoverOptions{Budget: *budget, Workers: *workers, Traces: true}
		if !*quiet && isTerminal(stderr) {
			opt.Progress = stderr
		}
		rep, err := check.Cover(opt)
		if err != nil {
			return err
		}
		var sw *check.SweepReport
		if *sweep {
			if sw, err = check.Sweep(check.SweepOptions{Coverage: rep, Budget: *sweepBudget, Sample: *sweepSample, Progress: opt.Progress}); err != nil {
				return err
			}
		}
		if *markdown {
			if err := writeCoverageMarkdown(stdout, rep, sw); err != nil {
				return err
			}
		} else if *asJSON {
			data, err := coverageJSON(rep)
			if err != nil {
				return err
			}
			if _, err := fmt.Fprintf(stdout, "%s\n", data); err != nil {
				return err
			}
		} else if err := writeCoverage(stdout, rep); err != nil {
			return err
		}
		if sw != nil && !*markdown {
			fmt.Fprintf(stdout, "\nmutation sweep: %d caught, %d equivalent (%d never applied, %d same graph, %d no change, %d TCP allows), %d survivors, %d budget, %d refused by validation, %d skipped; %.1f%% caught or shown equivalent (%.0f s)\n",
				sw.Caught, sw.Equivalent, sw.ByEquivalence[check.EquivNeverApplied], sw.ByEquivalence[check.EquivSameGraph], sw.ByEquivalence[check.EquivNoChange], sw.ByEquivalence[check.EquivAllowed],
				sw.Survivors, sw.Budgeted, sw.Invalid, sw.Skipped, 100*sw.Score(), sw.Seconds)
			for _, o := range sw.Outcomes {
				if o.Verdict == check.VerdictSurvivor || o.Verdict == check.VerdictBudget {
					fmt.Fprintf(stdout, "  %s: %s: %s: %s\n", o.Verdict, spec.Table()[o.Row].Name(), o.Change, o.Why)
				}
			}
		}
		switch {
		case len(rep.Violated) > 0:
			return &exitError{code: exitViolated, msg: "a property or an exclusion invariant is violated in " + strings.Join(rep.Violated, ", ")}
		case rep.Uncovered > 0:
			return &exitError{code: exitViolated, msg: fmt.Sprintf("%d rows uncovered: no member applies them and no invariant excludes them", rep.Uncovered)}
		}
		return nil
	}
}

func countOf(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// replayCommand is the command that prints the trace to a row.
func replayCommand(row string) string {
	return "tcpcheck coverage --row '" + row + "'"
}

func writeCoverage(w io.Writer, rep *check.CoverageReport) error {
	ew := &errWriter{w: w}
	fmt.Fprintf(ew, "rows: %d of %d covered, %d excluded by invariants, %d uncovered (%.1f s)\n",
		rep.Covered, len(rep.Rows), rep.Excluded, rep.Uncovered, rep.Seconds)
	fmt.Fprintln(ew, "\nmembers:")
	tw := tabwriter.NewWriter(ew, 2, 8, 2, ' ', 0)
	for _, m := range rep.Members {
		if m.Result == nil {
			fmt.Fprintf(tw, "  %s\tskipped (budget)\t\t\t%s\n", m.Name, m.For)
			continue
		}
		verdict := m.Result.Verdict.String()
		if v := m.Result.Violation; v != nil {
			verdict += ": " + v.Property
		}
		fmt.Fprintf(tw, "  %s\t%s\t%d states\t%d rows\t%s\n", m.Name, verdict, m.Result.States, len(m.Result.Coverage.Covered), m.For)
	}
	_ = tw.Flush()
	fmt.Fprintln(ew, "\nexclusion invariants (checked on every state of every member):")
	for _, ex := range rep.Exclusions {
		fmt.Fprintf(ew, "  %s: %s: %s; excludes %d rows\n", ex.Name, ex.Verdict, ex.Doc, ex.Rows)
		if ex.Violation != nil {
			fmt.Fprintf(ew, "    violated in %s:\n", ex.Member)
			m, err := check.FindMember(ex.Member)
			if err == nil {
				if sys, err := newSystemFor(m); err == nil {
					_ = check.WriteTable(ew, sys, ex.Violation)
				}
			}
		}
	}
	fmt.Fprintln(ew, "\nrows:")
	tw = tabwriter.NewWriter(ew, 2, 8, 2, ' ', 0)
	for _, r := range rep.Rows {
		switch {
		case r.Member != "":
			fmt.Fprintf(tw, "  %s\tcovered by %s\t%s\t%s\n", r.Name, r.Member, countOf(len(r.Trace), "step"), replayCommand(r.Name))
		case r.Excluded != "":
			fmt.Fprintf(tw, "  %s\texcluded by %s\t\t\n", r.Name, r.Excluded)
		default:
			fmt.Fprintf(tw, "  %s\tUNCOVERED\t\t\n", r.Name)
		}
	}
	_ = tw.Flush()
	return ew.err
}

// coverageRow prints the shortest trace to one row in the smallest member
// that applies it.
func coverageRow(w io.Writer, name string, workers int) error {
	rows := spec.Table()
	i := spec.Find(rows, name)
	if i < 0 {
		return usagef("--row %q: the table has no such row ('tcpcheck table' lists them)", name)
	}
	rep, err := check.Cover(check.CoverOptions{Workers: workers})
	if err != nil {
		return err
	}
	r := rep.Rows[i]
	if r.Member == "" {
		if r.Excluded != "" {
			for _, ex := range rep.Exclusions {
				if ex.Name == r.Excluded {
					_, err := fmt.Fprintf(w, "%s: no configuration applies it: %s holds in every member (%s), and %s\n", name, ex.Name, ex.Doc, ex.Why)
					return err
				}
			}
		}
		return &exitError{code: exitViolated, msg: name + ": uncovered"}
	}
	m, err := check.FindMember(r.Member)
	if err != nil {
		return err
	}
	sys, err := newSystemFor(m)
	if err != nil {
		return err
	}
	init, trace, err := check.RowTrace(sys, i)
	if err != nil {
		return err
	}
	ew := &errWriter{w: w}
	fmt.Fprintf(ew, "%s: applied in member %s (%s), by the last of %s:\n", name, m.Name, m.For, countOf(len(trace), "step"))
	var tb bytes.Buffer
	_ = check.WriteTable(&tb, sys, &check.Violation{Init: init, Trace: trace})
	// A trace to a row, not a counterexample: no property is violated.
	fmt.Fprint(ew, strings.Replace(tb.String(), "violates  in the last state:", "the last state:", 1))
	fmt.Fprintf(ew, "%s\n", configLine(m.Config))
	return ew.err
}

type coverageRowJSON struct {
	Row      string                    `json:"row"`
	Member   string                    `json:"member,omitempty"`
	Command  string                    `json:"command,omitempty"`
	Excluded string                    `json:"excluded_by,omitempty"`
	Trace    *check.ViolationJSONValue `json:"trace,omitempty"`
}

type coverageMemberJSON struct {
	Name     string `json:"name"`
	For      string `json:"for"`
	Result   string `json:"result"`
	States   int64  `json:"states"`
	Rows     int    `json:"rows"`
	Violated string `json:"violated,omitempty"`
}

type coverageExclusionJSON struct {
	Name   string `json:"name"`
	Doc    string `json:"invariant"`
	Why    string `json:"why"`
	Result string `json:"result"`
	Rows   int    `json:"rows"`
}

func coverageJSON(rep *check.CoverageReport) ([]byte, error) {
	out := struct {
		Covered    int                     `json:"covered"`
		Excluded   int                     `json:"excluded"`
		Uncovered  int                     `json:"uncovered"`
		Seconds    float64                 `json:"seconds"`
		Members    []coverageMemberJSON    `json:"members"`
		Exclusions []coverageExclusionJSON `json:"exclusions"`
		Rows       []coverageRowJSON       `json:"rows"`
	}{Covered: rep.Covered, Excluded: rep.Excluded, Uncovered: rep.Uncovered, Seconds: rep.Seconds}
	systems := map[string]*check.Member{}
	for _, m := range rep.Members {
		mj := coverageMemberJSON{Name: m.Name, For: m.For, Result: "skipped"}
		if m.Result != nil {
			mj.Result, mj.States, mj.Rows = m.Result.Verdict.String(), m.Result.States, len(m.Result.Coverage.Covered)
			if m.Result.Violation != nil {
				mj.Violated = m.Result.Violation.Property
			}
		}
		mm := m.Member
		systems[m.Name] = &mm
		out.Members = append(out.Members, mj)
	}
	for _, ex := range rep.Exclusions {
		out.Exclusions = append(out.Exclusions, coverageExclusionJSON{ex.Name, ex.Doc, ex.Why, ex.Verdict.String(), ex.Rows})
	}
	for _, r := range rep.Rows {
		rj := coverageRowJSON{Row: r.Name, Member: r.Member, Excluded: r.Excluded}
		if r.Member != "" {
			rj.Command = replayCommand(r.Name)
			sys, err := newSystemFor(*systems[r.Member])
			if err != nil {
				return nil, err
			}
			v := check.ViolationJSON(sys, &check.Violation{Init: r.Init, Trace: r.Trace})
			rj.Trace = &v
		}
		out.Rows = append(out.Rows, rj)
	}
	return json.Marshal(out)
}

// newSystemFor is the model of a family member on the correct table.
func newSystemFor(m check.Member) (*model.System, error) { return model.New(m.Config) }

// writeCoverageMarkdown writes docs/coverage.md: totals, the family, the
// exclusion invariants, every row with its member and replay command or
// its invariant, and with a sweep its score and the mutants no property
// caught.
func writeCoverageMarkdown(w io.Writer, rep *check.CoverageReport, sw *check.SweepReport) error {
	ew := &errWriter{w: w}
	fmt.Fprint(ew, "<!-- Generated by `go run ./cmd/tcpcheck coverage --sweep --markdown > docs/coverage.md`; DO NOT EDIT. -->\n\n")
	fmt.Fprint(ew, "# Coverage of the table\n\n")
	fmt.Fprintf(ew, "Of the table's %d rows, **%d are applied** by some configuration of the coverage family, "+
		"**%d are excluded** by an invariant the explorer verifies on every state of every configuration, "+
		"and **%d are uncovered**. Every property, Quiescence included, holds in every configuration. "+
		"`tcpcheck coverage` reruns all of it; `tcpcheck coverage --row ROW` prints the shortest trace to a row "+
		"in the smallest configuration that applies it.\n\n", len(rep.Rows), rep.Covered, rep.Excluded, rep.Uncovered)
	fmt.Fprint(ew, "## The family\n\n| member | states | rows | for |\n|---|---:|---:|---|\n")
	for _, m := range rep.Members {
		if m.Result == nil {
			fmt.Fprintf(ew, "| %s | skipped | | %s |\n", m.Name, m.For)
			continue
		}
		fmt.Fprintf(ew, "| %s | %d | %d | %s |\n", m.Name, m.Result.States, len(m.Result.Coverage.Covered), m.For)
	}
	fmt.Fprint(ew, "\n## Exclusion invariants\n\n| invariant | holds on every state | so | rows |\n|---|---|---|---:|\n")
	for _, ex := range rep.Exclusions {
		fmt.Fprintf(ew, "| %s | %s | %s | %d |\n", ex.Name, ex.Doc, ex.Why, ex.Rows)
	}
	fmt.Fprint(ew, "\n## Rows\n\n| row | covered by | steps | replay | excluded by |\n|---|---|---:|---|---|\n")
	for _, r := range rep.Rows {
		switch {
		case r.Member != "":
			fmt.Fprintf(ew, "| %s | %s | %d | `%s` | |\n", coverageCell(r.Name), r.Member, len(r.Trace), replayCommand(r.Name))
		case r.Excluded != "":
			fmt.Fprintf(ew, "| %s | | | | %s |\n", coverageCell(r.Name), r.Excluded)
		default:
			fmt.Fprintf(ew, "| %s | **uncovered** | | | |\n", coverageCell(r.Name))
		}
	}
	if sw != nil {
		writeSweepMarkdown(ew, sw)
	}
	return ew.err
}

// writeSweepMarkdown writes the "Mutation sweep" section of
// docs/coverage.md: the score, the caught mutants by row with the
// properties that caught them, and every mutant not caught with its
// checked reason.
func writeSweepMarkdown(ew io.Writer, sw *check.SweepReport) {
	rows := spec.Table()
	fmt.Fprint(ew, "\n## Mutation sweep\n\n")
	fmt.Fprint(ew, "Every single-row mutation of the table (next state changed, one action dropped, one action "+
		"added, one guard literal negated together with the row it is exclusive with), judged over the coverage "+
		"family by the properties and the exclusion invariants, not by pinned counts. The sweep explores each member "+
		"once with the table, recording the states where each row applies; a mutation can change a member's state "+
		"graph only there, so it compares the mutant's successors with the table's at those states, and explores the "+
		"mutant (every property, Quiescence included, smallest member first, until one is violated) only in the "+
		"members where they differ. A mutant not caught is equivalent for a checked reason: *no change* (the mutated "+
		"table chooses the same next state and actions in every situation), *never applied* (no member applies the row; "+
		"the exclusion invariant that makes it unreachable is named), *same graph* (where the row applies, the "+
		"mutant's successors are the table's, so its reachable state graph is the table's: equivalent in the model), "+
		"or *TCP allows* (the graph differs, every property holds, and the change is of a kind the RFCs leave open, "+
		"listed with its RFC text: an ACK sent sooner, a signal or a RST left to the implementation). "+
		"Anything else is a *survivor*, a finding of a missing property.\n\n")
	if sw.Sampled > 1 {
		fmt.Fprintf(ew, "This run judged every %dth mutation only.\n\n", sw.Sampled)
	}
	valid := sw.Caught + sw.Equivalent + sw.Survivors + sw.Budgeted
	fmt.Fprintf(ew, "**%d valid mutants: %d caught** by a property with a counterexample, **%d equivalent** "+
		"(%d no change, %d never applied, %d same graph, %d TCP allows), **%d survivors**, %d stopped by a member's state budget; "+
		"%d more are refused by the table's validation; %d not run within the budget. "+
		"Caught or shown equivalent: **%.1f%%**; of the mutants that are not equivalent, %.1f%% are caught. "+
		"(%.0f s on %d CPUs, %.0f s of it recording the members.)\n\n",
		valid, sw.Caught, sw.Equivalent, sw.ByEquivalence[check.EquivNoChange], sw.ByEquivalence[check.EquivNeverApplied],
		sw.ByEquivalence[check.EquivSameGraph], sw.ByEquivalence[check.EquivAllowed], sw.Survivors, sw.Budgeted, sw.Invalid, sw.Skipped,
		100*sw.Score(), 100*sw.CaughtShare(), sw.Seconds, runtime.GOMAXPROCS(0), sw.RecordSeconds)
	kinds := []string{"next state", "drop action", "add action", "negate guard"}
	verdicts := []string{check.VerdictCaught, check.VerdictEquivalent, check.VerdictSurvivor, check.VerdictBudget, check.VerdictInvalid}
	count := map[[2]string]int{}
	byProp := map[string]int{}
	for _, o := range sw.Outcomes {
		count[[2]string{o.Kind, o.Verdict}]++
		if o.Verdict == check.VerdictCaught {
			byProp[o.Property]++
		}
	}
	fmt.Fprint(ew, "| mutation | caught | equivalent | survivors | budget | invalid |\n|---|---:|---:|---:|---:|---:|\n")
	for _, k := range kinds {
		fmt.Fprintf(ew, "| %s |", k)
		for _, v := range verdicts {
			fmt.Fprintf(ew, " %d |", count[[2]string{k, v}])
		}
		fmt.Fprintln(ew)
	}
	fmt.Fprint(ew, "\n| property | mutants it caught first |\n|---|---:|\n")
	var props []string
	for p := range byProp {
		props = append(props, p)
	}
	sort.Strings(props)
	for _, p := range props {
		fmt.Fprintf(ew, "| %s | %d |\n", p, byProp[p])
	}
	list := func(title, intro string, keep func(o check.MutantOutcome) bool, cell func(o check.MutantOutcome) string) {
		n := 0
		for _, o := range sw.Outcomes {
			if keep(o) {
				n++
			}
		}
		fmt.Fprintf(ew, "\n### %s (%d)\n\n%s\n\n", title, n, intro)
		if n == 0 {
			return
		}
		fmt.Fprint(ew, "| row | mutation | why |\n|---|---|---|\n")
		for _, o := range sw.Outcomes {
			if keep(o) {
				fmt.Fprintf(ew, "| %s | %s | %s |\n", coverageCell(rows[o.Row].Name()), coverageCell(o.Change), coverageCell(cell(o)))
			}
		}
	}
	why := func(o check.MutantOutcome) string { return o.Why }
	list("Survivors", "Mutants whose state graph differs from the table's in some member while every property holds: each is a finding (a property missing, or a difference TCP allows).",
		func(o check.MutantOutcome) bool { return o.Verdict == check.VerdictSurvivor }, why)
	list("Stopped by a state budget", "Mutants that blow a member's state space up past four times its size plus 100,000 states.",
		func(o check.MutantOutcome) bool { return o.Verdict == check.VerdictBudget }, why)
	// The mutants that grow a member's state space the most: what the
	// tests' state budgets are for.
	var grow []check.MutantOutcome
	for _, o := range sw.Outcomes {
		if o.Base > 0 {
			grow = append(grow, o)
		}
	}
	sort.SliceStable(grow, func(a, b int) bool {
		return float64(grow[a].States)/float64(grow[a].Base) > float64(grow[b].States)/float64(grow[b].Base)
	})
	fmt.Fprint(ew, "\n### Largest state spaces\n\nThe mutants whose exploration grew a member's state space the most (at a budget, the count where it stopped).\n\n"+
		"| row | mutation | verdict | member | states | the table's |\n|---|---|---|---|---:|---:|\n")
	for _, o := range grow[:min(len(grow), 10)] {
		fmt.Fprintf(ew, "| %s | %s | %s | %s | %d | %d |\n", coverageCell(rows[o.Row].Name()), coverageCell(o.Change), o.Verdict, o.Largest, o.States, o.Base)
	}
	list("Equivalent: no change", "The mutated table chooses the same next state and actions as the table for every state, event and outcome of the guards.",
		func(o check.MutantOutcome) bool { return o.Equivalence == check.EquivNoChange }, why)
	list("Equivalent: never applied", "No member applies the row; the invariant named excludes it in every member.",
		func(o check.MutantOutcome) bool { return o.Equivalence == check.EquivNeverApplied }, why)
	list("Equivalent: TCP allows", "The mutant's state graph differs and every property holds, and the difference is one the RFCs leave open: the reason, with its RFC text, is beside each.",
		func(o check.MutantOutcome) bool { return o.Equivalence == check.EquivAllowed }, why)
	list("Equivalent: same graph", "Where the row applies, the mutant's successors are the table's (the members listed), so its reachable state graph is the table's.",
		func(o check.MutantOutcome) bool { return o.Equivalence == check.EquivSameGraph },
		func(o check.MutantOutcome) string { return "same graph in " + strings.Join(o.Applied, ", ") })
	// The caught mutants, one line per row: how many, and by what.
	type caught struct {
		n     int
		props map[string]int
	}
	per := map[int]*caught{}
	for _, o := range sw.Outcomes {
		if o.Verdict != check.VerdictCaught {
			continue
		}
		c := per[o.Row]
		if c == nil {
			c = &caught{props: map[string]int{}}
			per[o.Row] = c
		}
		c.n++
		c.props[o.Property+" in "+o.Member]++
	}
	fmt.Fprintf(ew, "\n### Caught, by row (%d)\n\nFor each row, how many of its mutants a property caught, and which property in which member caught them first (each with a counterexample that replays on the mutated table).\n\n| row | caught | by |\n|---|---:|---|\n", sw.Caught)
	for i, r := range rows {
		c := per[i]
		if c == nil {
			continue
		}
		var by []string
		for p, n := range c.props {
			by = append(by, fmt.Sprintf("%s ×%d", p, n))
		}
		sort.Strings(by)
		fmt.Fprintf(ew, "| %s | %d | %s |\n", coverageCell(r.Name()), c.n, coverageCell(strings.Join(by, ", ")))
	}
}

func coverageCell(s string) string { return strings.ReplaceAll(s, "|", "\\|") }
