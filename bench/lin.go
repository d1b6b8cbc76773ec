package main

import (
	"fmt"
	"io"
	"runtime"
	"slices"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/tcpcheck/tcpcheck/check/live/lin"
)

// linReport is the linearizability check at scale: histories recorded
// from two real endpoints (package impl on the udp link, through
// check/live/lin's lossy relay), checked with porcupine against check/live/lin's
// model, and corrupted copies of the first that the check must find
// Illegal.
type linReport struct {
	Quick     bool
	Faults    string   // what the relay does to datagrams
	Runs      []linRun // the target's scale first, then (without -quick) a larger one
	Corrupted []linCorrupted
}

// linRun is one recorded history and its checks.
type linRun struct {
	Conns         int // connections the workload dials
	OpsAsked      int // writes, half-closes and aborts it asks for (reads come on top)
	Operations    int // operations in the history
	StreamOps     int // of which on byte streams
	EstablishOps  int // of which on establishment (dial, accept, census)
	Partitions    int
	Connections   int    // connections established
	Counts        string // the history broken down
	RecordSeconds float64
	CheckRuns     []float64 // seconds of each check of the history
	CheckSeconds  float64   // their median
	Verdict       string
}

// linCorrupted is one corrupted copy of the history and its check.
type linCorrupted struct {
	Kind    string // a lin.Corruption
	What    string // what was changed
	Verdict string
	Seconds float64
}

// linOpsPer is the writes, half-closes and aborts per connection; reads
// come to about as many again, so 1,000 connections make over 100,000
// operations.
const linOpsPer = 64

// linScales are the connections of each history: the target's scale, and
// without -quick also five times as many.
func linScales(quick bool) []int {
	if quick {
		return []int{1000}
	}
	return []int{1000, 5000}
}

const linChecks = 3 // checks of each history; the report gives the median

var linFaults = lin.Faults{Loss: 0.01, Dup: 0.01, Reorder: 0.01}

func measureLin(quick bool, log io.Writer) (*linReport, error) {
	return measureLinAt(linScales(quick), linOpsPer, quick, log)
}

func measureLinAt(scales []int, opsPer int, quick bool, log io.Writer) (*linReport, error) {
	r := &linReport{Quick: quick, Faults: fmt.Sprintf("loss %g, duplication %g, reordering %g", linFaults.Loss, linFaults.Dup, linFaults.Reorder)}
	for k, conns := range scales {
		run, h, err := measureLinRun(conns, opsPer, log)
		if err != nil {
			return nil, err
		}
		r.Runs = append(r.Runs, *run)
		if k > 0 {
			continue
		}
		for i, c := range lin.Corruptions {
			bad, what, err := lin.Corrupt(h, c, uint64(i)+1)
			if err != nil {
				return nil, fmt.Errorf("bench: %w", err)
			}
			v, s := linTimeCheck(bad, time.Minute)
			r.Corrupted = append(r.Corrupted, linCorrupted{Kind: string(c), What: what, Verdict: string(v), Seconds: s})
			fmt.Fprintf(log, "bench: lin: %s: %s in %.3f s\n", c, v, s)
		}
	}
	return r, nil
}

// measureLinRun records one history and checks it linChecks times.
func measureLinRun(conns, opsPer int, log io.Writer) (*linRun, []porcupine.Operation, error) {
	opt := lin.Options{Conns: conns, Ops: conns * opsPer, Parallel: 64, Faults: linFaults, Seed: 1, Timeout: time.Minute}
	fmt.Fprintf(log, "bench: lin: recording %d connections, %d writes, half-closes and aborts over the udp link\n", conns, opt.Ops)
	res, err := lin.Record(opt)
	if err != nil {
		return nil, nil, fmt.Errorf("bench: %w", err)
	}
	r := &linRun{
		Conns: conns, OpsAsked: opt.Ops,
		Operations: res.Operations, StreamOps: res.StreamOps, EstablishOps: res.EstablishOps,
		Partitions: res.Partitions, Connections: res.Connections, Counts: res.Counts.String(),
		RecordSeconds: res.Workload.Seconds(),
	}
	fmt.Fprintf(log, "bench: lin: %d operations in %.2f s; checking %d times\n", r.Operations, r.RecordSeconds, linChecks)
	for range linChecks {
		v, s := linTimeCheck(res.History, opt.Timeout)
		r.CheckRuns = append(r.CheckRuns, s)
		if r.Verdict != "" && r.Verdict != string(v) {
			return nil, nil, fmt.Errorf("bench: lin: the same history checked %s, then %s", r.Verdict, v)
		}
		r.Verdict = string(v)
	}
	r.CheckSeconds = linMedian(r.CheckRuns)
	fmt.Fprintf(log, "bench: lin: %s in %.3f s (median)\n", r.Verdict, r.CheckSeconds)
	return r, res.History, nil
}

// linTimeCheck checks ops after a collection, so the check does not pay for
// the garbage the workload left.
func linTimeCheck(ops []porcupine.Operation, timeout time.Duration) (porcupine.CheckResult, float64) {
	runtime.GC()
	t0 := time.Now()
	v := lin.Check(ops, timeout)
	return v, time.Since(t0).Seconds()
}

func linMedian(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// caught counts the corrupted histories found Illegal.
func (r *linReport) caught() int {
	n := 0
	for _, c := range r.Corrupted {
		if c.Verdict == string(porcupine.Illegal) {
			n++
		}
	}
	return n
}

func (r *linReport) write(w io.Writer) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	p("## Linearizability checking at scale\n\n")
	p("Two tcpcheck endpoints (package impl) on the udp link, joined through check/live/lin's relay on loopback (%s), ", r.Faults)
	p("run many connections, up to 64 at a time: each dials, both ends write, read, half-close or abort, and every call is recorded ")
	p("with its call and return times (`lin.Record`). porcupine checks the history against check/live/lin's model (`lin.Check`), ")
	p("partitioned by connection and by 4-tuple, the partitions in parallel on both cores. ")
	p("Seconds to check are the median of %d checks of the same history, after a garbage collection; ops/s is operations over that median. ", linChecks)
	p("Each corrupted row is the first history with one change no correct endpoint could make (`lin.Corrupt`), checked once.")
	if r.Quick {
		p(" -quick records only the history at the target's scale.")
	}
	p("\n\n")
	p("| history | operations | connections | partitions | seconds to record | seconds to check | ops/s checked | result |\n")
	p("|---|---:|---:|---:|---:|---:|---:|---|\n")
	for i, run := range r.Runs {
		p("| recorded from the endpoints | %s | %s | %s | %.2f | %.3f | %s | %s |\n",
			commas(int64(run.Operations)), commas(int64(run.Connections)), commas(int64(run.Partitions)),
			run.RecordSeconds, run.CheckSeconds, commas(int64(linRate(run.Operations, run.CheckSeconds))), linVerdict(run.Verdict, porcupine.Ok))
		if i > 0 {
			continue
		}
		for _, c := range r.Corrupted {
			p("| the same, corrupted (%s): %s | | | | | %.3f | | %s |\n", c.Kind, c.What, c.Seconds, linVerdict(c.Verdict, porcupine.Illegal))
		}
	}
	p("\n")
	for _, run := range r.Runs {
		p("- %s connections asked, %s writes, half-closes and aborts: %s operations on byte streams, %s on establishment; %s; checks took %s.\n",
			commas(int64(run.Conns)), commas(int64(run.OpsAsked)), commas(int64(run.StreamOps)), commas(int64(run.EstablishOps)), run.Counts, linSeconds(run.CheckRuns))
	}
	p("\nTo check such a history again: `go test ./check/lin -run '^$' -bench Check100k -benchtime 5x` (1,000 connections, recorded once, then checked).\n")
}

func linRate(n int, seconds float64) float64 {
	if seconds <= 0 {
		return 0
	}
	return float64(n) / seconds
}

func linSeconds(xs []float64) string {
	s := ""
	for i, x := range xs {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%.3f", x)
	}
	return s + " s"
}

// linVerdict is the verdict and whether it is the one wanted.
func linVerdict(got string, want porcupine.CheckResult) string {
	switch {
	case got == string(want) && want == porcupine.Illegal:
		return "Illegal: caught"
	case got == string(want):
		return got
	case got == string(porcupine.Unknown):
		return "**Unknown (the check timed out), want " + string(want) + "**"
	}
	return fmt.Sprintf("**%s, want %s**", got, want)
}

// targets judges the first history, at the target's scale.
func (r *linReport) targets() []target {
	t := target{What: "100,000 operations over 1,000 connections check in under 2 s"}
	if len(r.Runs) == 0 {
		t.Measured = "no history recorded"
		return []target{t}
	}
	run := r.Runs[0]
	t.Measured = fmt.Sprintf("%.3f s for %s operations over %s connections (%s); %d of %d corrupted histories caught",
		run.CheckSeconds, commas(int64(run.Operations)), commas(int64(run.Connections)), run.Verdict, r.caught(), len(r.Corrupted))
	full := run.Operations >= 100_000 && run.Connections >= 1000
	if !full {
		t.Measured += " (a smaller history than the target's)"
	}
	t.Met = full && run.CheckSeconds < 2 && run.Verdict == string(porcupine.Ok) && len(r.Corrupted) > 0 && r.caught() == len(r.Corrupted)
	return []target{t}
}
