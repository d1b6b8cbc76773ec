package check

import (
	"fmt"
	"io"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tcpcheck/tcpcheck/check/engine"
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

// Verdicts of the sweep, as [MutantOutcome.Verdict] says them.
const (
	// VerdictCaught: a property or an exclusion invariant is violated in
	// Member, with a counterexample (Violation).
	VerdictCaught = "caught"
	// VerdictEquivalent: the mutant is shown to behave as the correct
	// table in every member of the family; Equivalence says how.
	VerdictEquivalent = "equivalent"
	// VerdictSurvivor: the mutant's reachable state graph differs from the
	// correct table's in some member, and no property tells: a property is
	// missing, or the difference is one TCP allows.
	VerdictSurvivor = "survivor"
	// VerdictInvalid: spec.Validate refuses the mutated table.
	VerdictInvalid = "invalid"
	// VerdictBudget: a member ran out of its state budget: the mutant
	// blows the state space up, which the sweep reports without judging.
	VerdictBudget = "budget"
)

// Kinds of equivalence, each checked, as [MutantOutcome.Equivalence] says
// them.
const (
	// EquivNoChange: the mutated table chooses the same next state and the
	// same actions as the correct table for every state, event and outcome
	// of the guards (checked over spec.Machine).
	EquivNoChange = "no change"
	// EquivNeverApplied: no member of the family applies the row (nor, for
	// a negated guard, any row of its state and event), so no member can
	// tell; the row is excluded by the invariant Excluded.
	EquivNeverApplied = "never applied"
	// EquivSameGraph: in every member that applies the row, the mutant's
	// successors equal the correct table's at every state where the row
	// is applied (or could have been, had the network had room), so by
	// induction from the same initial states the mutant's reachable state
	// graph is the correct table's, states and transitions: it is
	// observationally equivalent in the model.
	EquivSameGraph = "same graph"
	// EquivAllowed: the mutant's state graph differs and every property
	// holds, and the difference is one the RFCs allow: the mutation is of
	// a kind [allowedDifference] lists with its reason (an ACK sent sooner
	// than the table sends it, a signal or a RST the RFC leaves to the
	// implementation). Such a mutant is a second correct TCP, not a
	// missing property.
	EquivAllowed = "TCP allows"
)

// MutantOutcome is what the sweep found for one mutation.
type MutantOutcome struct {
	Mutation
	Verdict     string // VerdictCaught, VerdictEquivalent, ...
	Equivalence string // for VerdictEquivalent: EquivNoChange, EquivNeverApplied or EquivSameGraph
	// Member is where the mutant was caught (or ran out of its budget).
	Member    string
	Property  string
	Violation *Violation
	// Applied lists the members that apply the row (for a negated guard,
	// a row of its state and event); Diverged those of them where the
	// mutant's state graph differs from the correct table's.
	Applied, Diverged []string
	// Budget is the state budget that ran out, with VerdictBudget.
	Budget int64
	// States is the largest count of states an exploration of the mutant
	// reached, in Largest, whose correct table has Base states (0 when the
	// mutant was not explored).
	States, Base int64
	Largest      string
	Why          string // the reason, in words, for every verdict but caught
}

// SweepReport is the outcome of [Sweep].
type SweepReport struct {
	Outcomes []MutantOutcome
	// Caught, Equivalent, Survivors, Invalid and Budgeted count the
	// outcomes by verdict.
	Caught, Equivalent, Survivors, Invalid, Budgeted int
	// ByEquivalence counts the equivalent mutants by kind.
	ByEquivalence map[string]int
	Skipped       int // not run before the budget ran out
	// Sampled is the N of SweepOptions.Sample (0 or 1: every mutation).
	Sampled int
	Seconds float64
	// RecordSeconds is the part of Seconds spent exploring the correct
	// table's members to record where each row applies.
	RecordSeconds float64
}

// Score is the share of valid mutants that are caught by a property or
// shown equivalent: (caught + equivalent) over caught plus equivalent plus
// survivors plus budgeted.
func (r *SweepReport) Score() float64 {
	n := r.Caught + r.Equivalent + r.Survivors + r.Budgeted
	if n == 0 {
		return 0
	}
	return float64(r.Caught+r.Equivalent) / float64(n)
}

// CaughtShare is the share of the valid mutants that are not equivalent
// caught by a property.
func (r *SweepReport) CaughtShare() float64 {
	n := r.Caught + r.Survivors + r.Budgeted
	if n == 0 {
		return 0
	}
	return float64(r.Caught) / float64(n)
}

// SweepOptions tune [Sweep].
type SweepOptions struct {
	Coverage *CoverageReport // the coverage of the correct table (nil: Cover is run)
	Budget   time.Duration   // 0: no limit; mutants not started within it are skipped
	Parallel int             // mutants judged at once (0: GOMAXPROCS)
	// Filter, when not nil, keeps the mutations to run.
	Filter func(Mutation) bool
	// Sample, when above 1, keeps every Sample-th mutation (after Filter):
	// a quick estimate of the whole sweep.
	Sample int
	// Progress, when not nil, receives a line every 500 mutations.
	Progress io.Writer
}

// sweepMember is one member of the family explored with the correct
// table, recorded: every state, and for each row the states where a
// transition applies it.
type sweepMember struct {
	MemberResult
	orig  *model.System
	keys  []model.Key
	byRow [][]int32 // row -> indices into keys of the states that apply it
	// crowded[n] lists the states with n segments in flight, for n from
	// NetCap-maxSends+1 on: where a row that sends may have been refused
	// for want of room in the network, so a mutant of it may step where
	// the correct table does not.
	crowded [model.NetCap + 1][]int32
}

// maxSends bounds the segments one step of a row sends.
const maxSends = 4

// Sweep runs every single-row mutation of the correct table and judges it
// by the properties over the coverage family. A mutation of row R changes
// nothing in a member until some transition applies R (for a negated
// guard, a row of R's state and event), so Sweep first explores each
// member once with the correct table, recording the states where each row
// applies; then, for each mutation and member, it compares the mutant's
// successors with the correct table's at those states only. A member where
// they are all equal has the same reachable graph under the mutant (by
// induction from the same initial states) and cannot tell; in a member
// where they differ the mutant is explored with every property and
// exclusion invariant, smallest member first, until one is violated. Each
// such exploration is bounded by a state budget of four times the member's
// count plus 100,000 states.
func Sweep(opt SweepOptions) (*SweepReport, error) {
	start := time.Now()
	cov := opt.Coverage
	if cov == nil {
		var err error
		if cov, err = Cover(CoverOptions{NoQuiescence: true}); err != nil {
			return nil, err
		}
	}
	rows := spec.Table()
	muts := Mutations(rows)
	var keep []Mutation
	for _, m := range muts {
		if opt.Filter == nil || opt.Filter(m) {
			keep = append(keep, m)
		}
	}
	if opt.Sample > 1 {
		var s []Mutation
		for i := 0; i < len(keep); i += opt.Sample {
			s = append(s, keep[i])
		}
		keep = s
	}
	muts = keep
	members, err := recorded(cov, rows)
	if err != nil {
		return nil, err
	}
	rep := &SweepReport{Outcomes: make([]MutantOutcome, len(muts)), ByEquivalence: map[string]int{}, Sampled: opt.Sample}
	rep.RecordSeconds = time.Since(start).Seconds()
	excluded := map[int]string{}
	for _, rc := range cov.Rows {
		if rc.Excluded != "" {
			excluded[rc.Row] = rc.Excluded
		}
	}
	par := opt.Parallel
	if par <= 0 {
		par = runtime.GOMAXPROCS(0)
	}
	var wg sync.WaitGroup
	next := make(chan int)
	var skipped sync.Map
	var done atomic.Int64
	for range par {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if opt.Budget > 0 && time.Since(start) > opt.Budget {
					skipped.Store(i, true)
					continue
				}
				rep.Outcomes[i] = judge(muts[i], rows, members, excluded)
				if n := done.Add(1); opt.Progress != nil && n%500 == 0 {
					fmt.Fprintf(opt.Progress, "sweep: %d of %d mutations judged (%.0f s)\n", n, len(muts), time.Since(start).Seconds())
				}
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
		case VerdictCaught:
			rep.Caught++
		case VerdictEquivalent:
			rep.Equivalent++
			rep.ByEquivalence[o.Equivalence]++
		case VerdictSurvivor:
			rep.Survivors++
		case VerdictInvalid:
			rep.Invalid++
		case VerdictBudget:
			rep.Budgeted++
		}
		kept = append(kept, o)
	}
	rep.Outcomes = kept
	rep.Seconds = time.Since(start).Seconds()
	return rep, nil
}

var recordCache struct {
	sync.Mutex
	cov     *CoverageReport
	members []*sweepMember
}

// recorded is recordMembers, kept for the last coverage report it was
// asked about (the tests sweep a few mutations at a time).
func recorded(cov *CoverageReport, rows []spec.Row) ([]*sweepMember, error) {
	recordCache.Lock()
	defer recordCache.Unlock()
	if recordCache.cov == cov {
		return recordCache.members, nil
	}
	ms, err := recordMembers(cov, rows)
	if err != nil {
		return nil, err
	}
	recordCache.cov, recordCache.members = cov, ms
	return ms, nil
}

// recordMembers explores every member of cov that ran with the correct
// table, recording where each row applies, smallest member first.
func recordMembers(cov *CoverageReport, rows []spec.Row) ([]*sweepMember, error) {
	var out []*sweepMember
	for _, mr := range cov.Members {
		if mr.Result == nil {
			continue
		}
		sys, err := model.New(mr.Config)
		if err != nil {
			return nil, fmt.Errorf("check: sweep: member %s: %w", mr.Name, err)
		}
		sm := &sweepMember{MemberResult: mr, orig: sys, byRow: make([][]int32, len(rows))}
		rs := &recordSpace{modelSpace: newModelSpaceWith(sys, nil)}
		res, err := engine.Run(rs, engine.Options{MaxStates: maxMemberStates})
		if err != nil {
			return nil, fmt.Errorf("check: sweep: member %s: %w", mr.Name, err)
		}
		if res.Limit != "" {
			return nil, fmt.Errorf("check: sweep: member %s: stopped by %s after %d states", mr.Name, res.Limit, res.States)
		}
		for _, x := range rs.exps {
			base := int32(len(sm.keys))
			sm.keys = append(sm.keys, x.keys...)
			for r, list := range x.byRow {
				for _, j := range list {
					sm.byRow[r] = append(sm.byRow[r], base+j)
				}
			}
			for n, list := range x.crowded {
				for _, j := range list {
					sm.crowded[n] = append(sm.crowded[n], base+j)
				}
			}
		}
		out = append(out, sm)
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].Result.States < out[b].Result.States })
	return out, nil
}

// recordSpace is the model's space with expanders that keep every state
// they expand and the rows its transitions apply.
type recordSpace struct {
	*modelSpace
	mu   sync.Mutex
	exps []*recordExp
}

func (s *recordSpace) NewExpander() engine.Expander {
	x := &recordExp{modelExp: modelExp{m: s.modelSpace, buf: make([]model.Transition, 0, 64)}, byRow: make([][]int32, len(s.sys.Rows()))}
	s.mu.Lock()
	s.exps = append(s.exps, x)
	s.mu.Unlock()
	return x
}

type recordExp struct {
	modelExp
	keys    []model.Key
	byRow   [][]int32
	crowded [model.NetCap + 1][]int32
	seen    []int16
}

func (x *recordExp) Next(k []byte, keys []byte, rows []int32) ([]byte, []int32) {
	n0 := len(rows)
	keys, rows = x.modelExp.Next(k, keys, rows)
	idx := int32(len(x.keys))
	key := model.Key(k)
	x.keys = append(x.keys, key)
	x.seen = x.seen[:0]
	for _, r := range rows[n0:] {
		if r < 0 || slices.Contains(x.seen, int16(r)) {
			continue
		}
		x.seen = append(x.seen, int16(r))
		x.byRow[r] = append(x.byRow[r], idx)
	}
	if n := key.InFlight(); n > model.NetCap-maxSends {
		x.crowded[n] = append(x.crowded[n], idx)
	}
	return keys, rows
}

// sends counts the actions of r that put a segment on the network.
func sends(r spec.Row) int {
	n := 0
	for _, a := range r.Do {
		switch a {
		case spec.SendSYN, spec.SendSYNACK, spec.SendText, spec.SendFIN, spec.SendACK, spec.SendChallengeACK,
			spec.DelayACK, spec.SendRST, spec.ReplyRST, spec.Retransmit:
			n++
		}
	}
	return n
}

// judge decides one mutation.
func judge(mu Mutation, rows []spec.Row, members []*sweepMember, excluded map[int]string) MutantOutcome {
	out := MutantOutcome{Mutation: mu}
	if err := spec.Validate(mu.rows); err != nil {
		out.Verdict, out.Why = VerdictInvalid, "spec.Validate: "+err.Error()
		return out
	}
	if noChange(rows, mu.rows) {
		out.Verdict, out.Equivalence = VerdictEquivalent, EquivNoChange
		out.Why = "the mutated table chooses the same next state and actions as the table for every state, event and outcome of the guards"
		return out
	}
	r := rows[mu.Row]
	// The rows whose steps the mutation can change: the row itself, or
	// for a negated guard every row of its state and event (the
	// selection among them changes).
	group := []int{mu.Row}
	if mu.Kind == "negate guard" {
		group = group[:0]
		for k, o := range rows {
			if o.From == r.From && o.On == r.On {
				group = append(group, k)
			}
		}
	}
	// A step of a row that sends s segments was refused where more than
	// NetCap-s were in flight; there the mutant's may not be.
	minCrowd := model.NetCap + 1
	for _, k := range group {
		if s := sends(rows[k]); s > 0 {
			minCrowd = min(minCrowd, model.NetCap-s+1)
		}
	}
	var firstDiff string
	for _, m := range members {
		var at []int32
		for _, k := range group {
			at = append(at, m.byRow[k]...)
		}
		applied := len(at) > 0
		for n := minCrowd; n <= model.NetCap; n++ {
			at = append(at, m.crowded[n]...)
		}
		if len(at) == 0 {
			continue
		}
		if applied {
			out.Applied = append(out.Applied, m.Name)
		}
		sys, err := model.NewWithTable(m.Config, mu.rows)
		if err != nil {
			out.Verdict, out.Why = VerdictInvalid, err.Error()
			return out
		}
		d := diverges(m, sys, at)
		if d == "" {
			continue
		}
		if !applied {
			out.Applied = append(out.Applied, m.Name)
		}
		out.Diverged = append(out.Diverged, m.Name)
		if firstDiff == "" {
			firstDiff = d
		}
		props := append([]model.Property{}, sys.Invariants()...)
		for _, ex := range model.Exclusions() {
			props = append(props, ex.Property)
		}
		budget := 4*m.Result.States + 100_000
		res, err := exploreWith(sys, props, Options{Workers: 1, Quiescence: true, MaxStates: budget})
		if err != nil {
			out.Verdict, out.Member, out.Why = VerdictBudget, m.Name, err.Error()
			return out
		}
		if res.States > out.States {
			out.States, out.Base, out.Largest = res.States, m.Result.States, m.Name
		}
		if res.Violation != nil {
			out.Verdict, out.Member, out.Property, out.Violation = VerdictCaught, m.Name, res.Violation.Property, res.Violation
			return out
		}
		if res.Limit != "" {
			out.Verdict, out.Member, out.Budget = VerdictBudget, m.Name, budget
			out.Why = fmt.Sprintf("member %s ran out of its budget of %d states (the correct table has %d there)", m.Name, budget, m.Result.States)
			return out
		}
	}
	switch {
	case len(out.Applied) == 0:
		out.Verdict, out.Equivalence = VerdictEquivalent, EquivNeverApplied
		if ex := excluded[mu.Row]; ex != "" {
			out.Why = "no member applies the row: " + ex + " holds in every member and excludes it"
		} else if mu.Kind == "negate guard" {
			out.Why = "no member applies a row of " + r.From.String() + " + " + r.On.String()
		} else {
			out.Why = "no member applies the row (uncovered)"
		}
	case len(out.Diverged) == 0:
		out.Verdict, out.Equivalence = VerdictEquivalent, EquivSameGraph
		out.Why = "where the row applies (in " + strings.Join(out.Applied, ", ") + ") the mutant's successors are the table's, so its reachable state graph is the table's"
	default:
		out.Verdict = VerdictSurvivor
		out.Why = "the state graph differs in " + strings.Join(out.Diverged, ", ") + " (" + firstDiff + ") and no property is violated"
		if why := allowedDifference(r, mu.rows[mu.Row]); why != "" {
			out.Verdict, out.Equivalence = VerdictEquivalent, EquivAllowed
			out.Why = "the state graph differs in " + strings.Join(out.Diverged, ", ") + " and every property holds: " + why
		}
	}
	return out
}

// allowedDifference says why the change from row r to m, which every
// property accepts, is one TCP allows, or "" when it is not a kind of
// change listed here. The list is short and each entry cites the RFC text
// that leaves the choice open; a mutant it names still has to pass every
// property first.
func allowedDifference(r, m spec.Row) string {
	if r.To != m.To || r.When != m.When {
		return ""
	}
	had, has := r.Actions(), m.Actions()
	added, dropped := has&^had, (had&^has)&^spec.SetOf(spec.Drop)
	only := func(set spec.Actions, a spec.Action) bool { return set == spec.SetOf(a) }
	switch {
	case dropped == 0 && only(added, spec.SignalReset) && r.On == spec.Abort &&
		(r.From == spec.SynSent || r.From == spec.SynReceived || r.From.Synchronized() && r.From != spec.Closing && r.From != spec.LastAck && r.From != spec.TimeWait):
		return "RFC 9293 §3.10.5 gives the SENDs and RECEIVEs pending at an ABORT \"connection reset\"; the table tells the user nothing, as the user made the call"
	case added == 0 && only(dropped, spec.SendRST) && r.On == spec.KeepAliveExhausted:
		return "RFC 1122 §4.2.3.6 does not say what a host sends when it gives a silent peer up; the table sends a RST as Linux does, gVisor sends none (docs/gvisor.md)"
	case dropped == 0 && only(added, spec.DelayACK) && r.On.IsSegment() && r.From.Runs(spec.TimerDelayedAck) &&
		!had.Has(spec.AcceptText) && !had.Has(spec.AcceptFIN) && !had.Has(spec.AcceptSYN):
		return "the row then sends an owed delayed ACK at once; RFC 1122 §4.2.3.2 bounds the delay from above only, and an ACK may always be sent sooner"
	case dropped == 0 && (only(added, spec.SendACK) || only(added, spec.SendChallengeACK)) && had.Has(spec.DelayACK):
		return "the row then acknowledges at once the text it would acknowledge with a delay; RFC 1122 §4.2.3.2 makes the delayed ACK a SHOULD, and an immediate ACK is always allowed"
	case dropped == 0 && only(added, spec.ProcessACK) && (r.From == spec.FinWait2 || r.From == spec.TimeWait) && r.On.IsSegment():
		return "in " + r.From.String() + " everything sent is acknowledged (the exclusion AllAckedAfterFinAcked), so processing the ACK changes nothing but the keepalive count, which RFC 1122 §4.2.3.6 lets any segment received restart"
	}
	return ""
}

// diverges compares the successors of the mutant sys with the correct
// table's at the states at of member m, and describes the first
// difference ("" when there is none).
func diverges(m *sweepMember, sys *model.System, at []int32) string {
	var a, b []model.Transition
	for _, j := range at {
		k := m.keys[j]
		a = m.orig.Next(k, a[:0])
		b = sys.Next(k, b[:0])
		if d := diffSteps(a, b); d != "" {
			return d
		}
	}
	return ""
}

// diffSteps describes the first difference between two successor lists.
func diffSteps(a, b []model.Transition) string {
	for i := range min(len(a), len(b)) {
		if a[i].To != b[i].To {
			return fmt.Sprintf("a step of %s leads elsewhere", stepName(b[i].Step))
		}
	}
	switch {
	case len(a) > len(b):
		return fmt.Sprintf("a step of %s is gone", stepName(a[len(b)].Step))
	case len(b) > len(a):
		return fmt.Sprintf("a new step of %s", stepName(b[len(a)].Step))
	}
	return ""
}

func stepName(s model.Step) string {
	host := "A"
	if s.Host == 1 {
		host = "B"
	}
	return fmt.Sprintf("%s on %s", host, s.Event)
}

// noChange reports whether the mutated table mut chooses, for every state,
// event and outcome of the guards its rows mention, a row with the same
// next state and actions as rows does.
func noChange(rows, mut []spec.Row) bool {
	a, err := spec.NewMachine(rows)
	if err != nil {
		return false
	}
	b, err := spec.NewMachine(mut)
	if err != nil {
		return false
	}
	for st := range spec.NumStates {
		for e := range spec.NumEvents {
			s, ev := spec.State(st), spec.Event(e)
			mask := a.Guards(s, ev) | b.Guards(s, ev)
			// Every subset of mask, by the standard enumeration.
			for g := spec.GuardSet(0); ; g = (g - mask) & mask {
				i, j := a.Step(s, ev, g), b.Step(s, ev, g)
				if (i < 0) != (j < 0) {
					return false
				}
				if i >= 0 && (rows[i].To != mut[j].To || rows[i].Actions() != mut[j].Actions()) {
					return false
				}
				if g == mask {
					break
				}
			}
		}
	}
	return true
}
