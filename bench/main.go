package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/tcpcheck/tcpcheck/bench/promela"
	"github.com/tcpcheck/tcpcheck/model"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	quick := fs.Bool("quick", false, "run the two smallest configurations only (under a minute)")
	out := fs.String("out", "", "also write the report to this `file` (docs/performance.md to update the docs; never with -quick); by default it is only printed")
	work := fs.String("work", "", "directory for configurations, Promela models and verifiers (default: a new temporary directory, removed at the end)")
	gen := fs.Bool("gen", false, "rewrite "+promela.RefFile+" from the generator and exit")
	from := fs.String("from", "", "render the report from FILE, the results.json of an earlier run's -work directory, instead of measuring; with -parts, measure those parts again and keep the others from FILE")
	rounds := fs.Int("rounds", 3, "rounds of the explorer comparison's runs, tcpcheck's and SPIN's, on each configuration (1..9): each figure is the median, with its spread")
	parts := fs.String("parts", "explorer,endpoint,lin", "the comparisons to run, comma-separated: explorer (against SPIN), endpoint (against Linux TCP), lin (porcupine at scale)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: go run ./bench [-quick] [-rounds N] [-parts LIST] [-out FILE] [-work DIR] | go run ./bench -gen\n\n"+
			"Runs tcpcheck's explorer and SPIN on the same configurations and prints a report.\n"+
			"Run it from the repository root; -out %s updates the docs (a full run only).\n\nflags:\n", docsReport)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 0 {
		fmt.Fprintf(stderr, "bench: unexpected argument %q; see -h\n", fs.Arg(0))
		return 2
	}
	if *rounds < 1 || *rounds > 9 {
		fmt.Fprintf(stderr, "bench: -rounds %d: give 1 to 9 rounds\n", *rounds)
		return 2
	}
	if err := checkOut(*out, *quick); err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 2
	}
	partsSet := false
	fs.Visit(func(f *flag.Flag) { partsSet = partsSet || f.Name == "parts" })
	var kept *report
	if *from != "" {
		rep, err := loadReport(*from)
		if err != nil {
			fmt.Fprintln(stderr, "bench:", err)
			return 2
		}
		if !partsSet {
			return finish(rep, *out, stdout, stderr)
		}
		if rep.Quick != *quick {
			fmt.Fprintf(stderr, "bench: %s is from a run with -quick=%v; measure again with the same -quick\n", *from, rep.Quick)
			return 2
		}
		kept = rep // measure the named parts again, keep the others
	}
	if _, err := os.Stat("go.mod"); err != nil {
		fmt.Fprintln(stderr, "bench: run from the repository root (no go.mod here)")
		return 2
	}
	if *gen {
		b, err := promela.Generate(promela.RefConfig())
		if err == nil {
			err = os.WriteFile(promela.RefFile, b, 0o644)
		}
		if err != nil {
			fmt.Fprintln(stderr, "bench:", err)
			return 2
		}
		fmt.Fprintln(stdout, "wrote", promela.RefFile)
		return 0
	}
	if *parts == "capture" { // conform --pcap against tcptrace and tshark (capture.go)
		return runCaptureIn(*work, *quick, stdout, stderr)
	}
	want, err := parseParts(*parts)
	if err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 2
	}
	dir := *work
	if dir == "" {
		d, err := os.MkdirTemp("", "tcpcheck-bench-")
		if err != nil {
			fmt.Fprintln(stderr, "bench:", err)
			return 2
		}
		defer os.RemoveAll(d)
		dir = d
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 2
	}
	dir, _ = filepath.Abs(dir)
	rep := &report{Quick: *quick, Machine: machine()}
	if kept != nil {
		rep = kept
		rep.Remeasured = nil
		for _, p := range []string{"explorer", "endpoint", "lin"} {
			if want[p] {
				rep.Remeasured = append(rep.Remeasured, p)
			}
		}
	}
	if want["explorer"] {
		endpoint, lin := rep.Endpoint, rep.Lin
		if rep, err = measure(dir, configs(*quick), *quick, *rounds, stderr); err != nil {
			fmt.Fprintln(stderr, "bench:", err)
			return 2
		}
		rep.Endpoint, rep.Lin, rep.Remeasured = endpoint, lin, kept.remeasured()
	}
	if want["endpoint"] {
		if rep.Endpoint, err = measureEndpoint(*quick, stderr); err != nil {
			fmt.Fprintln(stderr, "bench: endpoint:", err)
			return 2
		}
	}
	if want["lin"] {
		if rep.Lin, err = measureLin(*quick, stderr); err != nil {
			fmt.Fprintln(stderr, "bench: lin:", err)
			return 2
		}
	}
	if err := saveReport(rep, filepath.Join(dir, "results.json")); err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 2
	}
	return finish(rep, *out, stdout, stderr)
}

// docsReport is the committed report: written only when -out names it.
const docsReport = "docs/performance.md"

// checkOut refuses, before anything is measured, an -out that cannot be
// written, and -quick with the docs' report: a quick run's figures are
// not the docs' (and from whatever machine ran it).
func checkOut(out string, quick bool) error {
	if out == "" {
		return nil
	}
	if quick {
		abs, err1 := filepath.Abs(out)
		docs, err2 := filepath.Abs(docsReport)
		if err1 != nil || err2 != nil || abs == docs || filepath.Base(filepath.Dir(abs))+"/"+filepath.Base(abs) == docsReport {
			return fmt.Errorf("-out %s with -quick: a quick run never writes the docs' report; drop -quick, or -out another file", out)
		}
	}
	if st, err := os.Stat(out); err == nil && st.IsDir() {
		return fmt.Errorf("-out %s is a directory; give a file", out)
	}
	dir := filepath.Dir(out)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return fmt.Errorf("-out %s: the directory %s does not exist; create it or give another path", out, dir)
	}
	f, err := os.CreateTemp(dir, ".bench-probe-*")
	if err != nil {
		return fmt.Errorf("-out %s cannot be written: %v", out, err)
	}
	f.Close()
	os.Remove(f.Name())
	return nil
}

// remeasured is Remeasured of a report that may be nil.
func (rep *report) remeasured() []string {
	if rep == nil {
		return nil
	}
	return rep.Remeasured
}

// parseParts reads the -parts flag.
func parseParts(s string) (map[string]bool, error) {
	want := map[string]bool{}
	for _, p := range strings.Split(s, ",") {
		switch p = strings.TrimSpace(p); p {
		case "explorer", "endpoint", "lin":
			want[p] = true
		case "":
		default:
			return nil, fmt.Errorf("-parts: unknown part %q; the parts are explorer, endpoint and lin", p)
		}
	}
	if len(want) == 0 {
		return nil, errors.New("-parts: name at least one of explorer, endpoint and lin")
	}
	return want, nil
}

// finish prints the report, writes it to out unless out is empty, and
// returns the exit status: 1 when the checkers disagree on a count.
func finish(rep *report, out string, stdout, stderr io.Writer) int {
	var b bytes.Buffer
	rep.write(&b)
	stdout.Write(b.Bytes())
	if out != "" {
		if err := os.WriteFile(out, b.Bytes(), 0o644); err != nil {
			fmt.Fprintln(stderr, "bench:", err)
			return 2
		}
		fmt.Fprintln(stderr, "bench: wrote", out)
	}
	if rep.Mismatch {
		fmt.Fprintln(stderr, "bench: the checkers disagree on a state count (see the table)")
		return 1
	}
	return 0
}

// benchConfig is one configuration of the comparison.
type benchConfig struct {
	Name string
	What string // how it differs from the default's main scenario
	Cfg  model.Config
}

// configs returns the configurations in increasing size: the default's
// main scenario (DefaultConfig without Also) with budgets and incarnations
// changed.
func configs(quick bool) []benchConfig {
	mk := func(name, what string, f func(c *model.Config)) benchConfig {
		c := model.DefaultConfig()
		c.Also = nil
		f(&c)
		return benchConfig{name, what, c}
	}
	list := []benchConfig{
		mk("inc1-dup0", "1 incarnation, loss 1, dup 0", func(c *model.Config) { c.Incarnations, c.Dup = 1, 0 }),
		mk("inc1-dup1", "1 incarnation, loss 1, dup 1", func(c *model.Config) { c.Incarnations = 1 }),
		mk("inc2-dup1", "2 incarnations, loss 1, dup 1 (the default's main scenario)", func(c *model.Config) {}),
		mk("inc2-dup2", "2 incarnations, loss 1, dup 2 (preset large)", func(c *model.Config) { c.Dup = 2 }),
		mk("inc2-dup3", "2 incarnations, loss 1, dup 3", func(c *model.Config) { c.Dup = 3 }),
	}
	if quick {
		return list[:2]
	}
	return list
}

var errMissing = errors.New("bench: needs spin and gcc on PATH (Debian packages spin and gcc)")
