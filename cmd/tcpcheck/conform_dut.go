//go:build linux

package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/tcpcheck/tcpcheck/check/live/dut"
	"github.com/tcpcheck/tcpcheck/check/live/dut/gvisordut"
	"github.com/tcpcheck/tcpcheck/check/live/dut/impldut"
	"github.com/tcpcheck/tcpcheck/check/live/tester"
	"github.com/tcpcheck/tcpcheck/spec"
)

// dutOptions are the flags of conform --dut.
type dutOptions struct {
	dut      string
	row      int
	caseName string
	json     bool
	verbose  bool
}

// dutSetup declares the flags of conform's generated-case mode.
func dutSetup(fs *flag.FlagSet) *dutOptions {
	o := &dutOptions{}
	fs.StringVar(&o.dut, "dut", "", "run the cases generated from the table against a `stack`: gvisor (gVisor's netstack in process) or impl (our endpoint, the sanity row)")
	fs.IntVar(&o.row, "row", -1, "with --dut, run only the cases of the table row of this `index` (see 'tcpcheck table')")
	fs.StringVar(&o.caseName, "case", "", "with --dut, run only the case of this `name`")
	fs.BoolVar(&o.json, "json", false, "with --dut, print the results as JSON")
	fs.BoolVar(&o.verbose, "v", false, "with --dut, print every case's segment table (otherwise only those that disagree)")
	return o
}

// conformDUT generates the suite, runs it against the chosen stack and
// prints the results: exit 1 on a disagreement (or, for the whole suite,
// a registered deviation that did not show), 2 on a usage error.
func conformDUT(o *dutOptions, stdout, stderr io.Writer) error {
	var newDUT dut.New
	var devs []dut.Deviation
	switch o.dut {
	case "gvisor":
		newDUT, devs = gvisordut.New, gvisordut.Deviations
	case "impl":
		newDUT = impldut.New
	case "linux":
		return usagef("--dut linux: the Linux DUT over TUN is not built yet; run the kernel scenarios with --peer kernel")
	default:
		return usagef("--dut %q: want gvisor or impl", o.dut)
	}
	md, err := tester.NewModel(spec.Table())
	if err != nil {
		return &exitError{code: exitUsage, msg: err.Error()}
	}
	suite := tester.Generate(md)
	rows := md.Rows()
	if o.row != -1 && (o.row < 0 || o.row >= len(rows)) {
		return usagef("--row %d: the table's rows are numbered 0 to %d", o.row, len(rows)-1)
	}
	var cases []*tester.Case
	for _, c := range suite.Cases {
		if (o.row == -1 || c.Row == o.row) && (o.caseName == "" || c.Name == o.caseName) {
			cases = append(cases, c)
		}
	}
	if len(cases) == 0 {
		switch {
		case o.caseName != "":
			return usagef("--case %q: no such case (names are the row's name, then \" / \" and the variant; see -v or --json)", o.caseName)
		default:
			fmt.Fprintf(stdout, "row %d %s has no cases: %s\n", o.row, rows[o.row].Name(), suite.Unexercised[o.row])
			return nil
		}
	}
	whole := o.row == -1 && o.caseName == ""

	// A progress line per row on a terminal, when its last case is done.
	left := map[int]int{}
	for _, c := range cases {
		left[c.Row]++
	}
	tally := map[int]*[4]int{}
	progress := isTerminal(stderr) && !o.json
	start := time.Now()
	opt := tester.Options{Deviations: devs, Progress: func(done, total int, r *tester.Result) {
		t := tally[r.Case.Row]
		if t == nil {
			t = &[4]int{}
			tally[r.Case.Row] = t
		}
		t[r.Verdict]++
		left[r.Case.Row]--
		if progress && left[r.Case.Row] == 0 {
			fmt.Fprintf(stderr, "[%4d/%d %5.1fs] row %3d %-55s agree %d, deviation %d, not drivable %d, disagree %d\n",
				done, total, time.Since(start).Seconds(), r.Case.Row, rows[r.Case.Row].Name(), t[0], t[1], t[2], t[3])
		}
	}}
	results := tester.RunCases(md, cases, newDUT, opt)
	sub := &tester.Suite{Model: md, Cases: cases, Unexercised: suite.Unexercised}
	if whole {
		sub = suite
	}
	sum := tester.Summarize(sub, results, devs)
	if !whole {
		sum.NotShown = nil // only a run of the whole suite must show every deviation
	}

	if o.json {
		type jsonCase struct {
			Name      string  `json:"name"`
			Row       int     `json:"row"`
			RowName   string  `json:"row_name"`
			Verdict   string  `json:"verdict"`
			Reason    string  `json:"reason,omitempty"`
			Deviation string  `json:"deviation,omitempty"`
			Seconds   float64 `json:"seconds"`
		}
		out := struct {
			DUT       string         `json:"dut"`
			Cases     []jsonCase     `json:"cases"`
			Verdicts  map[string]int `json:"verdicts"`
			Rows      int            `json:"rows"`
			Exercised int            `json:"rows_exercised"`
			Explained int            `json:"rows_explained"`
			Shown     map[string]int `json:"deviations_shown"`
			NotShown  []string       `json:"deviations_not_shown"`
		}{DUT: o.dut, Verdicts: map[string]int{}, Rows: sum.Rows, Exercised: sum.Exercised, Explained: sum.Explained, Shown: sum.Shown, NotShown: sum.NotShown}
		for _, r := range results {
			out.Cases = append(out.Cases, jsonCase{Name: r.Case.Name, Row: r.Case.Row, RowName: rows[r.Case.Row].Name(), Verdict: r.Verdict.String(),
				Reason: r.Reason, Deviation: r.Deviation, Seconds: r.Elapsed.Seconds()})
		}
		for v := tester.Agree; v <= tester.Disagree; v++ {
			out.Verdicts[strings.ToLower(v.String())] = sum.Verdicts[v]
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return err
		}
	} else {
		for _, r := range results {
			if o.verbose || r.Verdict == tester.Disagree {
				fmt.Fprintln(stdout, r.Table(rows))
			}
		}
		fmt.Fprintf(stdout, "conform --dut %s: %s", o.dut, sum)
		if o.dut == "gvisor" {
			fmt.Fprintln(stdout, "deviations are described in docs/gvisor.md; the matrix is docs/conformance.md")
		}
	}
	if sum.Failed(whole) {
		return &exitError{code: exitViolated, msg: fmt.Sprintf("%d cases disagree with the table, %d registered deviations did not show", sum.Verdicts[tester.Disagree], len(sum.NotShown))}
	}
	return nil
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
