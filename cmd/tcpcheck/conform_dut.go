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
	"github.com/tcpcheck/tcpcheck/check/live/dut/linuxdut"
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
	full     bool // --full: also the cases that wait for a timer the stack fixes long (Linux's TIME-WAIT)
}

// dutSetup declares the flags of conform's generated-case mode (--json is
// conform's own, shared with --pcap).
func dutSetup(fs *flag.FlagSet) *dutOptions {
	o := &dutOptions{}
	fs.StringVar(&o.dut, "dut", "", "run the cases generated from the table against a `stack`: gvisor (gVisor's netstack in process), "+
		"impl (our endpoint, the sanity row) or linux (the kernel's TCP over TUN in private network namespaces; needs root; with --full also the cases that wait for its 60 s TIME-WAIT)")
	fs.IntVar(&o.row, "row", -1, "with --dut, run only the cases of the table row of this `index` (see 'tcpcheck table')")
	fs.StringVar(&o.caseName, "case", "", "with --dut, run only the case of this `name`")
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
		if err := linuxdut.Available(); err != nil {
			return &exitError{code: exitUsage, msg: fmt.Sprintf("--dut linux: %v\nthe Linux DUT makes a network namespace and a TUN device per case", err)}
		}
		newDUT, devs = linuxdut.New, linuxdut.Deviations
	default:
		return oneOf("dut", o.dut, "gvisor", "impl", "linux")
	}
	md, err := tester.NewModel(spec.Table())
	if err != nil {
		return &exitError{code: exitUsage, msg: err.Error()}
	}
	suite, err := tester.GenerateAll(md)
	if err != nil {
		return err
	}
	rows := md.Rows()
	if o.row != -1 {
		if err := inRange("row", o.row, 0, len(rows)-1, "the table's row numbers; see 'tcpcheck table'"); err != nil {
			return err
		}
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
			return flagError("case", fmt.Sprintf("%q", o.caseName), "no such case", "a case is named by its row, then \" / \" and the variant; --json lists them")
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
	tally := map[int]*[5]int{}
	progress := isTerminal(stderr) && !o.json
	start := time.Now()
	opt := tester.Options{Deviations: devs, Progress: func(done, total int, r *tester.Result) {
		t := tally[r.Case.Row]
		if t == nil {
			t = &[5]int{}
			tally[r.Case.Row] = t
		}
		t[r.Verdict]++
		left[r.Case.Row]--
		if progress && left[r.Case.Row] == 0 {
			fmt.Fprintf(stderr, "[%4d/%d %5.1fs] row %3d %-55s agree %d, deviation %d, not drivable %d, disagree %d\n",
				done, total, time.Since(start).Seconds(), r.Case.Row, rows[r.Case.Row].Name(), t[0], t[1], t[2], t[3])
		}
	}}
	// Linux's TIME-WAIT is a fixed 60 s: the cases that wait for its end
	// run only with --full, and are reported as such otherwise.
	var results, skipped []*tester.Result
	if o.dut == "linux" {
		if o.full {
			opt.Deadline = linuxdut.FullDeadline
		} else {
			cases, skipped = splitFull(cases)
		}
	}
	results = append(tester.RunCases(md, cases, newDUT, opt), skipped...)
	sum := tester.Summarize(suite, results, devs)
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
			Signature string  `json:"signature,omitempty"` // what the DUT did at the deciding step, in the table's terms (what a dut.Deviation's Got matches)
			Expected  string  `json:"expected,omitempty"`  // what the table expected there, rendered alike (what a dut.Deviation's Want matches)
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
				Reason: r.Reason, Deviation: r.Deviation, Signature: r.Signature, Expected: r.Expected, Seconds: r.Elapsed.Seconds()})
		}
		for v := tester.Agree; v <= tester.NeedsFull; v++ {
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
		switch o.dut {
		case "gvisor", "linux":
			fmt.Fprintf(stdout, "deviations are described in docs/%s.md; the matrix is docs/conformance.md\n", o.dut)
		}
		if len(skipped) > 0 {
			fmt.Fprintf(stdout, "%d cases wait for Linux's fixed 60 s TIME-WAIT and were not run: run them with --full\n", len(skipped))
		}
	}
	if sum.Failed(whole) {
		return &exitError{code: exitViolated, msg: fmt.Sprintf("%d cases disagree with the table, %d registered deviations did not show", sum.Verdicts[tester.Disagree], len(sum.NotShown))}
	}
	return nil
}

// splitFull separates the cases that wait for Linux's fixed TIME-WAIT and
// gives each a "needs --full" result.
func splitFull(cases []*tester.Case) (run []*tester.Case, skipped []*tester.Result) {
	return tester.SplitFull(cases, linuxdut.WaitsFixedTimer, linuxdut.FullOnly)
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := fileOf(w)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
