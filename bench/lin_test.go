package main

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"
)

var _ section = (*linReport)(nil)

// TestLinSmall records a small history from the real endpoints, checks it
// and its corrupted copies, and renders the report, also after a round
// trip through JSON (as -from does).
func TestLinSmall(t *testing.T) {
	r, err := measureLinAt([]int{10, 12}, 40, false, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Runs) != 2 {
		t.Fatalf("%d histories, want 2", len(r.Runs))
	}
	for i, run := range r.Runs {
		if run.Verdict != "Ok" || run.Connections != []int{10, 12}[i] || run.Operations < 400 || len(run.CheckRuns) != linChecks {
			t.Fatalf("small run: verdict %s, %d connections, %d operations, %d checks", run.Verdict, run.Connections, run.Operations, len(run.CheckRuns))
		}
	}
	if r.caught() != len(r.Corrupted) || len(r.Corrupted) < 4 {
		t.Fatalf("corrupted histories: %+v", r.Corrupted)
	}
	tg := r.targets()
	if len(tg) != 1 || tg[0].Met || !strings.Contains(tg[0].Measured, "smaller history") {
		t.Fatalf("a 10-connection run meets the target: %+v", tg)
	}
	var a bytes.Buffer
	r.write(&a)
	for _, want := range []string{"## Linearizability checking at scale", "| recorded from the endpoints | ", "Illegal: caught", "forged-octet", "- 12 connections asked"} {
		if !strings.Contains(a.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, a.String())
		}
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back linReport
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	var c bytes.Buffer
	back.write(&c)
	if a.String() != c.String() {
		t.Errorf("the report differs after JSON:\n%s\n---\n%s", a.String(), c.String())
	}
}

// TestLinTargets checks the target arithmetic on reports written by hand.
func TestLinTargets(t *testing.T) {
	good := func() *linReport {
		return &linReport{
			Runs: []linRun{{Conns: 1000, Operations: 114_000, Connections: 1000, CheckSeconds: 0.4, CheckRuns: []float64{0.5, 0.4, 0.3}, Verdict: "Ok"},
				{Conns: 5000, Operations: 570_000, Connections: 5000, CheckSeconds: 3, Verdict: "Ok"}},
			Corrupted: []linCorrupted{{Kind: "forged-octet", Verdict: "Illegal"}, {Kind: "lost-accept", Verdict: "Illegal"}}}
	}
	if tg := good().targets(); !tg[0].Met || !strings.Contains(tg[0].Measured, "0.400 s for 114,000 operations over 1,000 connections (Ok); 2 of 2") {
		t.Errorf("good report: %+v", tg)
	}
	for name, f := range map[string]func(r *linReport){
		"slow":               func(r *linReport) { r.Runs[0].CheckSeconds = 2 },
		"not linearizable":   func(r *linReport) { r.Runs[0].Verdict = "Illegal" },
		"timed out":          func(r *linReport) { r.Runs[0].Verdict = "Unknown" },
		"corruption missed":  func(r *linReport) { r.Corrupted[1].Verdict = "Ok" },
		"no corruption":      func(r *linReport) { r.Corrupted = nil },
		"too few operations": func(r *linReport) { r.Runs[0].Operations = 99_999 },
		"too few conns":      func(r *linReport) { r.Runs[0].Connections = 999 },
		"no history":         func(r *linReport) { r.Runs = nil },
	} {
		r := good()
		f(r)
		if tg := r.targets(); tg[0].Met {
			t.Errorf("%s: target met: %+v", name, tg[0])
		}
	}
	r := good()
	r.Corrupted[0].Verdict = "Ok"
	r.Runs[1].Verdict = "Unknown"
	var b bytes.Buffer
	r.write(&b)
	if !strings.Contains(b.String(), "**Ok, want Illegal**") || !strings.Contains(b.String(), "**Unknown (the check timed out), want Ok**") {
		t.Errorf("a missed corruption or a timeout is not flagged:\n%s", b.String())
	}
	if m := linMedian([]float64{3, 1, 2}); m != 2 {
		t.Errorf("median of 3, 1, 2 = %v", m)
	}
	if m := linMedian([]float64{4, 1, 2, 3}); m != 2.5 {
		t.Errorf("median of 4, 1, 2, 3 = %v", m)
	}
}
