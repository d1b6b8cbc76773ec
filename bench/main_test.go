package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestFlags(t *testing.T) {
	for _, args := range [][]string{{"-no-such-flag"}, {"extra"}, {"-from", "/no/such/results.json"}} {
		var out, errb bytes.Buffer
		if code := run(args, &out, &errb); code != 2 {
			t.Errorf("run(%q) = %d, want 2 (stderr %q)", args, code, errb.String())
		}
	}
}

func TestCommas(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 73891770: "73,891,770"} {
		if got := commas(n); got != want {
			t.Errorf("commas(%d) = %q, want %q", n, got, want)
		}
	}
}

// sample is a report with made-up figures, for the rendering tests only.
func sample(tcpStates int64) *report {
	cr := configResult{benchConfig: configs(true)[0]}
	cr.Runs = []runResult{
		{Checker: "SPIN", Mode: "exact", Workers: 1, States: 1000, Seconds: 2, Own: 100, RSS: 120, Vector: 84},
		{Checker: "SPIN", Mode: "exact", Workers: 2, States: 1000, Seconds: 1.25, Own: 300, RSS: 320, Vector: 132},
		{Checker: "tcpcheck", Mode: "fingerprint", Workers: 2, States: tcpStates, Seconds: 0.5, Own: 10, RSS: 30},
		{Checker: "tcpcheck", Mode: "fingerprint", Workers: 1, States: tcpStates, Seconds: 1, Own: 8, RSS: 25},
		{Checker: "tcpcheck", Mode: "exact", Workers: 2, States: tcpStates, Seconds: 1, Own: 50, RSS: 70},
		{Checker: "tcpcheck", Mode: "exact", Workers: 1, States: tcpStates, Seconds: 1.5, Own: 40, RSS: 60},
	}
	return &report{Machine: []string{"CPU: test"}, Results: []configResult{cr}}
}

func TestReportRatiosAndTargets(t *testing.T) {
	var b bytes.Buffer
	sample(1000).write(&b)
	doc := b.String()
	reportHas(t, doc,
		"| inc1-dup0 | tcpcheck | fingerprint | 2 | 1,000 | 0.50 | 2,000 | 1,000 | 10.0 | 30.0 | 4.00x | 10.00x |",
		"| inc1-dup0 | SPIN | exact (vector 132 B) | 2 | 1,000 | 1.25 | 800 | 400 |",
		// issue 20: SPIN on two cores does 800/s: exact 1000/800, fingerprint 2000/800;
		// per core: exact 666/500, fingerprint 1000/500.
		"SPIN -DNCORE=2's, exact and fingerprint (inc1-dup0, 1,000 states) | exact 1.25x, fingerprint 2.50x (SPIN on 2 cores 800/s) | NOT met |",
		"per core (1 worker) at least 2x SPIN single-core, exact and fingerprint (inc1-dup0, 1,000 states) | exact 1.33x, fingerprint 2.00x | NOT met |",
		"stores the explorer's state count (inc1-dup0, 1,000 states) | 1,000 states | met |",
		"| inc1-dup0 | 2.00x | 1.50x |", // scaling: fingerprint 2000/1000, exact 1000/666
		"at least 2x SPIN's, exact mode (inc1-dup0, 1,000 states) | 2.00x (1,000/s vs SPIN's 500/s) | met |",
		"under 16, fingerprint mode (inc1-dup0, 1,000 states) | 8.0 with 1 worker, 10.0 with 2 (SPIN 100.0) | met |",
		"2x, exact mode (inc1-dup0, 1,000 states) | 2.50x (SPIN 100.0, tcpcheck 40.0) | met |",
		"fingerprint 2.00x, exact 1.50x | NOT met |",
		"## The Promela model",
	)
	if strings.Contains(doc, "MISMATCH |") {
		t.Error("equal counts reported as a mismatch")
	}
}

// TestReportRounds: with repeated runs, the seconds shown are the median
// with the spread, and scaling gives the spread of each round's ratio.
func TestReportRounds(t *testing.T) {
	rep := sample(1000)
	for i := range rep.Results[0].Runs {
		r := &rep.Results[0].Runs[i]
		switch {
		case r.Checker == "tcpcheck" && r.Mode == "exact" && r.Workers == 1:
			r.Rounds = []float64{1.4, 1.5, 1.9}
		case r.Checker == "tcpcheck" && r.Mode == "exact" && r.Workers == 2:
			r.Rounds = []float64{0.7, 1.0, 0.95}
		}
	}
	var b bytes.Buffer
	rep.write(&b)
	reportHas(t, b.String(),
		"repeated in 3 rounds",
		"| inc1-dup0 | tcpcheck | exact | 1 | 1,000 | 1.50 (1.40–1.90) | 666 |",
		// per round: 1.4/0.7, 1.5/1.0, 1.9/0.95
		"| inc1-dup0 | 2.00x | 1.50x (1.50x–2.00x) |",
		"scaling from 1 to 2 workers at least 1.8x (inc1-dup0, 1,000 states) | fingerprint 2.00x, exact 1.50x (1.50x–2.00x) | NOT met |",
		"SPIN ran once per mode.",
	)

	// SPIN's runs repeated too: their seconds show their spread, and the
	// text says that every run was repeated.
	for i := range rep.Results[0].Runs {
		if r := &rep.Results[0].Runs[i]; r.Checker == "SPIN" {
			r.Rounds = []float64{r.Seconds * 0.9, r.Seconds, r.Seconds * 1.2}
		}
	}
	b.Reset()
	rep.write(&b)
	doc := b.String()
	reportHas(t, doc, "Every run on each configuration, tcpcheck's four and SPIN's, was repeated in 3 rounds")
	if strings.Contains(doc, "SPIN ran once") {
		t.Error("report says SPIN ran once though its runs were repeated")
	}
	spinRow := regexp.MustCompile(`\| inc1-dup0 \| SPIN \| exact \(vector \d+ B\) \| 1 \| [\d,]+ \| [\d.]+ \([\d.]+–[\d.]+\) \|`)
	if !spinRow.MatchString(doc) {
		t.Errorf("SPIN's row lacks the spread of its rounds:\n%s", doc)
	}
}

// reportHas fails t for each of wants that doc lacks.
func reportHas(t *testing.T, doc string, wants ...string) {
	t.Helper()
	for _, want := range wants {
		if !strings.Contains(doc, want) {
			t.Errorf("report lacks %q:\n%s", want, doc)
		}
	}
}

func TestRoundsFlag(t *testing.T) {
	for _, n := range []string{"0", "10"} {
		var out, errb bytes.Buffer
		if code := run([]string{"-rounds", n}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "-rounds") {
			t.Errorf("run(-rounds %s) = %d, stderr %q; want 2 naming -rounds", n, code, errb.String())
		}
	}
}

func TestReportMismatch(t *testing.T) {
	var b bytes.Buffer
	sample(999).write(&b)
	if !strings.Contains(b.String(), "1,000 MISMATCH") {
		t.Errorf("SPIN's 1,000 states against tcpcheck's 999 not flagged:\n%s", b.String())
	}
}

func TestSaveLoadRender(t *testing.T) {
	path := filepath.Join(t.TempDir(), "results.json")
	if err := saveReport(sample(1000), path); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "performance.md")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-from", path, "-out", out}, &stdout, &stderr); code != 0 {
		t.Fatalf("run -from = %d: %s", code, stderr.String())
	}
	var direct bytes.Buffer
	sample(1000).write(&direct)
	if stdout.String() != direct.String() {
		t.Error("the report rendered from results.json differs from the one rendered directly")
	}
}

func TestParseParts(t *testing.T) {
	got, err := parseParts("explorer, lin")
	if err != nil || !got["explorer"] || !got["lin"] || got["endpoint"] {
		t.Errorf("parseParts(explorer, lin) = %v, %v", got, err)
	}
	for _, bad := range []string{"", ",", "spin"} {
		if _, err := parseParts(bad); err == nil {
			t.Errorf("parseParts(%q): no error", bad)
		}
	}
}

// TestFromWithPartsNeedsSameQuick: measuring some parts again over a kept
// run refuses a run of the other size rather than mix them.
func TestFromWithPartsNeedsSameQuick(t *testing.T) {
	path := filepath.Join(t.TempDir(), "results.json")
	if err := saveReport(sample(1000), path); err != nil { // a full run's results
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-from", path, "-parts", "lin", "-quick", "-out", ""}, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), "-quick") {
		t.Errorf("run -from (full) -parts lin -quick = %d, stderr %q; want 2 naming -quick", code, stderr.String())
	}
}

func TestReportSaysWhatWasRemeasured(t *testing.T) {
	var b bytes.Buffer
	sample(1000).write(&b)
	if !strings.Contains(b.String(), "Every figure below comes from the run that wrote this file.") {
		t.Error("a whole run does not say so")
	}
	rep := sample(1000)
	rep.Remeasured = []string{"explorer"}
	b.Reset()
	rep.write(&b)
	if !strings.Contains(b.String(), "The explorer part was measured again by `go run ./bench -from results.json -parts explorer`") {
		t.Errorf("a partly remeasured run does not say which part:\n%s", b.String()[:400])
	}
}

// TestWritesTheDocsOnlyWhenAsked: a run prints its report and writes no
// file unless -out names one; -quick never writes docs/performance.md, and
// an -out that cannot be written is refused before anything is measured
// (issue 22: go run ./bench -quick overwrote the committed report).
func TestWritesTheDocsOnlyWhenAsked(t *testing.T) {
	results := filepath.Join(t.TempDir(), "results.json")
	if err := saveReport(sample(1000), results); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.Mkdir("docs", 0o755); err != nil {
		t.Fatal(err)
	}
	const committed = "the committed report\n"
	if err := os.WriteFile("docs/performance.md", []byte(committed), 0o644); err != nil {
		t.Fatal(err)
	}
	unchanged := func(what string) {
		t.Helper()
		if b, _ := os.ReadFile("docs/performance.md"); string(b) != committed {
			t.Errorf("%s changed docs/performance.md", what)
		}
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-from", results}, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "# ") {
		t.Fatalf("-from: exit %d, stdout %.100q, stderr %q", code, stdout.String(), stderr.String())
	}
	unchanged("a run without -out")
	for _, args := range [][]string{
		{"-quick", "-out", "docs/performance.md"},
		{"-quick", "-out", "./docs/../docs/performance.md"},
		{"-quick", "-out", filepath.Join(dir, "docs", "performance.md")},
		{"-out", "/nonexistent/performance.md"},
	} {
		stderr.Reset()
		t0 := time.Now()
		if code := run(args, io.Discard, &stderr); code != 2 || !strings.Contains(stderr.String(), "-out") {
			t.Errorf("%q: exit %d, stderr %q; want 2 naming -out", args, code, stderr.String())
		}
		if time.Since(t0) > time.Second {
			t.Errorf("%q: refused only after %v", args, time.Since(t0))
		}
		unchanged(strings.Join(args, " "))
	}
	stdout.Reset()
	if code := run([]string{"-from", results, "-out", "docs/performance.md"}, &stdout, io.Discard); code != 0 {
		t.Fatalf("-from -out: exit %d", code)
	}
	if b, _ := os.ReadFile("docs/performance.md"); string(b) != stdout.String() {
		t.Error("-out docs/performance.md did not write the report printed")
	}
}
