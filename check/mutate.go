package check

import (
	"fmt"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/tcpcheck/tcpcheck/model"
	"github.com/tcpcheck/tcpcheck/spec"
)

// Mutation is a single-row change of the table.
type Mutation struct {
	Row    int    // index of the row changed
	Kind   string // "next state", "drop action", "add action" or "negate guard"
	Change string // what changed, in words, e.g. "to CLOSED instead of TIME-WAIT"
	rows   []spec.Row
}

// Mutations returns every single-row mutation of rows: each row's next
// state changed to every other state, each of its actions dropped (the last
// one leaving [spec.Drop]), each action it lacks added (in execution order;
// [spec.Drop] is no action to add), and each literal of its guard negated.
// A negated literal overlaps the sibling row that has the opposite literal,
// so that row's literal is negated too: the two rows trade the situations
// the guard tells apart. Mutations the table's validation refuses are kept;
// [Sweep] counts them apart.
func Mutations(rows []spec.Row) []Mutation {
	var out []Mutation
	add := func(i int, kind, change string, edit func(t []spec.Row)) {
		t := spec.Clone(rows)
		edit(t)
		out = append(out, Mutation{Row: i, Kind: kind, Change: change, rows: t})
	}
	for i, r := range rows {
		for _, s := range spec.States() {
			if s != r.To {
				add(i, "next state", fmt.Sprintf("to %s instead of %s", s, r.To), func(t []spec.Row) { t[i].To = s })
			}
		}
		for j, a := range r.Do {
			if a == spec.Drop {
				continue
			}
			add(i, "drop action", "without "+a.String(), func(t []spec.Row) {
				t[i].Do = append(append([]spec.Action(nil), r.Do[:j]...), r.Do[j+1:]...)
				if len(t[i].Do) == 0 {
					t[i].Do = []spec.Action{spec.Drop}
				}
			})
		}
		has := r.Actions()
		for a := spec.Action(1); int(a) < spec.NumActions; a++ {
			if has.Has(a) {
				continue
			}
			add(i, "add action", "with "+a.String(), func(t []spec.Row) {
				var do []spec.Action
				for _, b := range r.Do {
					if b != spec.Drop {
						do = append(do, b)
					}
				}
				do = append(do, a)
				sort.Slice(do, func(x, y int) bool { return do[x] < do[y] })
				t[i].Do = do
			})
		}
		for _, l := range r.When.Lits() {
			g := l.G
			add(i, "negate guard", fmt.Sprintf("guard %s negated (and in the row it is exclusive with)", g), func(t []spec.Row) {
				flipped := r.When
				flipped.Want ^= 1 << g
				for k := range t {
					if k != i && t[k].From == r.From && t[k].On == r.On && t[k].When == flipped {
						t[k].When.Want ^= 1 << g
					}
				}
				t[i].When.Want ^= 1 << g
			})
		}
	}
	return out
}

// MutantOutcome is what the sweep found for one mutation.
type MutantOutcome struct {
	Mutation
	// Verdict: "caught" (a property or exclusion invariant is violated in
	// Member, with Violation), "equivalent" (no member that applies the
	// row, or a row its guard competes with, tells it from the correct
	// table), "invalid" (spec.Validate refuses the table), or "budget"
	// (a member ran out of its state budget: the mutant blows the state
	// space up, which the sweep reports without judging).
	Verdict   string
	Member    string
	Property  string
	Violation *Violation
	Why       string // for equivalent mutants: why no property can tell
}

// SweepReport is the outcome of [Sweep].
type SweepReport struct {
	Outcomes                              []MutantOutcome
	Caught, Equivalent, Invalid, Budgeted int
	Skipped                               int // not run before the budget ran out
	Seconds                               float64
}

// Score is the share of valid mutants caught by a property: caught over
// caught plus equivalent plus budgeted.
func (r *SweepReport) Score() float64 {
	n := r.Caught + r.Equivalent + r.Budgeted
	if n == 0 {
		return 0
	}
	return float64(r.Caught) / float64(n)
}

// SweepOptions tune [Sweep].
type SweepOptions struct {
	Coverage *CoverageReport // the coverage of the correct table (nil: Cover is run)
	Budget   time.Duration   // 0: no limit; mutants not started within it are skipped
	Parallel int             // mutants explored at once (0: GOMAXPROCS)
	// Filter, when not nil, keeps the mutations to run.
	Filter func(Mutation) bool
}

// Sweep runs every single-row mutation of the correct table over the
// members of the coverage family that can tell it apart: those that apply
// the mutated row (or, for a negated guard, a row of the same state and
// event), smallest first, until a property or an exclusion invariant is
// violated. Each member's exploration is bounded by a state budget of four
// times the correct table's count plus 100,000 states.
func Sweep(opt SweepOptions) (*SweepReport, error) {
	start := time.Now()
	cov := opt.Coverage
	if cov == nil {
		var err error
		if cov, err = Cover(CoverOptions{}); err != nil {
			return nil, err
		}
	}
	rows := spec.Table()
	applies := make([]map[int]bool, len(cov.Members)) // member -> rows applied
	for m, mr := range cov.Members {
		applies[m] = map[int]bool{}
		if mr.Result != nil {
			for _, r := range mr.Result.Coverage.Covered {
				applies[m][r] = true
			}
		}
	}
	order := make([]int, 0, len(cov.Members))
	for m, mr := range cov.Members {
		if mr.Result != nil {
			order = append(order, m)
		}
	}
	sort.SliceStable(order, func(a, b int) bool {
		return cov.Members[order[a]].Result.States < cov.Members[order[b]].Result.States
	})
	excluded := map[int]string{}
	for _, rc := range cov.Rows {
		if rc.Excluded != "" {
			excluded[rc.Row] = rc.Excluded
		}
	}
	muts := Mutations(rows)
	if opt.Filter != nil {
		var keep []Mutation
		for _, m := range muts {
			if opt.Filter(m) {
				keep = append(keep, m)
			}
		}
		muts = keep
	}
	rep := &SweepReport{Outcomes: make([]MutantOutcome, len(muts))}
	par := opt.Parallel
	if par <= 0 {
		par = runtime.GOMAXPROCS(0)
	}
	var wg sync.WaitGroup
	next := make(chan int)
	var skipped sync.Map
	for range par {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if opt.Budget > 0 && time.Since(start) > opt.Budget {
					skipped.Store(i, true)
					continue
				}
				rep.Outcomes[i] = judge(muts[i], rows, cov, order, applies, excluded)
			}
		}()
	}
	for i := range muts {
		next <- i
	}
	close(next)
	wg.Wait()
	kept := rep.Outcomes[:0]
	for i, o := range rep.Outcomes {
		if _, ok := skipped.Load(i); ok {
			rep.Skipped++
			continue
		}
		switch o.Verdict {
		case "caught":
			rep.Caught++
		case "equivalent":
			rep.Equivalent++
		case "invalid":
			rep.Invalid++
		case "budget":
			rep.Budgeted++
		}
		kept = append(kept, o)
	}
	rep.Outcomes = kept
	rep.Seconds = time.Since(start).Seconds()
	return rep, nil
}

// judge explores one mutation.
func judge(mu Mutation, rows []spec.Row, cov *CoverageReport, order []int, applies []map[int]bool, excluded map[int]string) MutantOutcome {
	out := MutantOutcome{Mutation: mu}
	if err := spec.Validate(mu.rows); err != nil {
		out.Verdict = "invalid"
		return out
	}
	r := rows[mu.Row]
	relevant := func(m int) bool {
		if applies[m][mu.Row] {
			return true
		}
		if mu.Kind != "negate guard" {
			return false
		}
		for k, o := range rows {
			if o.From == r.From && o.On == r.On && applies[m][k] {
				return true
			}
		}
		return false
	}
	ran := 0
	excl := model.Exclusions()
	for _, m := range order {
		if !relevant(m) {
			continue
		}
		ran++
		mr := cov.Members[m]
		sys, err := model.NewWithTable(mr.Config, mu.rows)
		if err != nil {
			out.Verdict = "invalid"
			return out
		}
		props := append([]model.Property{}, sys.Invariants()...)
		for _, ex := range excl {
			props = append(props, ex.Property)
		}
		budget := 4*mr.Result.States + 100_000
		res, err := exploreWith(sys, props, Options{Workers: 1, Quiescence: true, MaxStates: budget})
		if err != nil {
			out.Verdict, out.Why = "budget", err.Error()
			return out
		}
		if res.Violation != nil {
			out.Verdict, out.Member, out.Property, out.Violation = "caught", mr.Name, res.Violation.Property, res.Violation
			return out
		}
		if res.Limit != "" {
			out.Verdict, out.Member = "budget", mr.Name
			out.Why = fmt.Sprintf("member %s ran out of its budget of %d states", mr.Name, budget)
			return out
		}
	}
	out.Verdict = "equivalent"
	out.Why = equivalentWhy(mu, r, ran, excluded)
	return out
}

// equivalentWhy says why no property tells a mutant from the correct
// table, where the reason is known from the kind of change; otherwise that
// no member that applies the row does.
func equivalentWhy(mu Mutation, r spec.Row, ran int, excluded map[int]string) string {
	if ran == 0 {
		if ex := excluded[mu.Row]; ex != "" {
			return "the row is unreachable (" + ex + "), and the change does not make it reachable"
		}
		return "no member applies the row"
	}
	added := func(as ...spec.Action) bool {
		for _, a := range as {
			if mu.Kind == "add action" && mu.Change == "with "+a.String() {
				return true
			}
			if mu.Kind == "drop action" && mu.Change == "without "+a.String() {
				return true
			}
		}
		return false
	}
	switch {
	case added(spec.ErrNotExist, spec.ErrExists, spec.ErrClosing):
		return "the model's users do not read the error a call returns (the endpoint's tests do)"
	case added(spec.QueueText) && r.On != spec.Send:
		return "queue-text takes the octets of a SEND; on any other event it has none to queue"
	case added(spec.SendChallengeACK, spec.SendACK):
		return "in the model a challenge ACK and an ACK are the same segment (the rate limit of RFC 5961 §7 is not modelled)"
	}
	return fmt.Sprintf("no property is violated in the %d member(s) that apply the row", ran)
}
