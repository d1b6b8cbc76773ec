package tester

import (
	"fmt"
	"sync"
	"testing"

	"github.com/tcpcheck/tcpcheck/check/live/dut/gvisordut"
	"github.com/tcpcheck/tcpcheck/spec"
)

// sweepResult is the outcome of the systematic single-row mutations: for
// every row with a main case, its next state changed, and (for a row that
// sends) its segments dropped.
type sweepResult struct {
	runs, caught int
	missed       []MutationResult // with the reason the run gives
}

// runSweep mutates every row with cases in two ways and runs the row's main
// case of each mutant suite against gVisor. A mutation is caught when the
// case disagrees; otherwise the case's verdict says why: gVisor does what
// the mutant says (agree), or a registered deviation covers what it does.
func runSweep(t *testing.T, base *Suite) sweepResult {
	table := spec.Table()
	type job struct {
		name string
		md   *Model
		c    *Case
		same bool // the mutant expects what the table does all along the case
	}
	var jobs []job
	for r, row := range table {
		if base.Unexercised[r] != "" {
			continue
		}
		var muts []struct {
			what string
			edit func(*spec.Row)
		}
		alt := row.From
		switch {
		case row.To != row.From:
		case row.From == spec.Closed:
			alt = spec.Listen
		default:
			alt = spec.Closed
		}
		muts = append(muts, struct {
			what string
			edit func(*spec.Row)
		}{"to " + alt.String(), func(x *spec.Row) { x.To = alt }})
		sends := false
		for _, a := range row.Do {
			sends = sends || a.Sends()
		}
		if sends {
			muts = append(muts, struct {
				what string
				edit func(*spec.Row)
			}{"sends nothing", func(x *spec.Row) {
				var do []spec.Action
				for _, a := range x.Do {
					if !a.Sends() {
						do = append(do, a)
					}
				}
				if len(do) == 0 {
					do = []spec.Action{spec.Drop}
				}
				x.Do = do
			}})
		}
		for _, m := range muts {
			rows := spec.Clone(table)
			m.edit(&rows[r])
			md, err := NewModel(rows)
			if err != nil {
				t.Fatalf("sweep %s: %v", row.Name(), err)
			}
			for _, c := range Generate(md).Cases {
				if c.Name == row.Name() {
					jobs = append(jobs, job{name: fmt.Sprintf("`%s`: %s", row.Name(), m.what), md: md, c: c, same: sameExpectation(base.Model, md, c)})
					break
				}
			}
		}
	}
	outs := make([]*Result, len(jobs))
	opt := Options{Deviations: gvisordut.Deviations, Reference: base.Model}
	opt.fill()
	sem := make(chan struct{}, opt.Parallel)
	done := make(chan int)
	for i := range jobs {
		if jobs[i].same {
			go func() { done <- i }()
			continue
		}
		go func() {
			sem <- struct{}{}
			outs[i] = runCase(jobs[i].md, jobs[i].c, gvisordut.New, &opt)
			<-sem
			done <- i
		}()
	}
	for range jobs {
		<-done
	}
	// A mutant gVisor seemed to agree with runs its case again, fewer at
	// once and with a longer quiet time: on a loaded machine a segment can
	// come after the quiet time of a move where the mutant expects nothing.
	var again []int
	for i, j := range jobs {
		if !j.same && outs[i].Verdict == Agree {
			again = append(again, i)
		}
	}
	if len(again) > 0 {
		slow := Options{Deviations: gvisordut.Deviations, Reference: base.Model, Quiet: 4 * defaultQuiet}
		slow.fill()
		sem := make(chan struct{}, 4)
		var wg sync.WaitGroup
		for _, i := range again {
			wg.Go(func() {
				sem <- struct{}{}
				defer func() { <-sem }()
				outs[i] = runCase(jobs[i].md, jobs[i].c, gvisordut.New, &slow)
			})
		}
		wg.Wait()
	}
	var sr sweepResult
	for i, j := range jobs {
		sr.runs++
		r := outs[i]
		if j.same {
			sr.missed = append(sr.missed, MutationResult{Name: j.name, Kind: "sweep",
				Reason: "equivalent in the row's case: the mutant expects there what the table does (the row has nothing to send or no other state to show in that case)"})
			continue
		}
		switch r.Verdict {
		case Disagree:
			sr.caught++
		case Agree:
			sr.missed = append(sr.missed, MutationResult{Name: j.name, Kind: "sweep", Cases: 1,
				Reason: "gVisor does there what the mutant says"})
		case Deviation:
			sr.missed = append(sr.missed, MutationResult{Name: j.name, Kind: "sweep", Cases: 1,
				Reason: "gVisor's registered deviation " + r.Deviation + " covers what it does there"})
		case NotDrivable:
			sr.missed = append(sr.missed, MutationResult{Name: j.name, Kind: "sweep", Cases: 1,
				Reason: "the mutant's case is not drivable on gVisor: " + r.Reason})
		}
	}
	return sr
}

// sameExpectation reports whether models a and b expect the same segments
// and states at every move of c (with the generation's ISS and window).
func sameExpectation(a, b *Model, c *Case) bool {
	wa, wb := newWorld(c.Wrap), newWorld(c.Wrap)
	var ea, eb spec.Effect
	for _, m := range c.Moves {
		ra, rb := a.apply(&wa, m, &ea), b.apply(&wb, m, &eb)
		if (ra < 0) != (rb < 0) || fmt.Sprint(ea.Out) != fmt.Sprint(eb.Out) || wa.dut.tcb.State() != wb.dut.tcb.State() {
			return false
		}
	}
	return true
}
