package check

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"

	"github.com/tcpcheck/tcpcheck/check/engine"
	"github.com/tcpcheck/tcpcheck/model"
	"github.com/tcpcheck/tcpcheck/spec"
)

// Member is one configuration of the coverage family.
type Member struct {
	Name   string       // e.g. "attack-both"
	For    string       // what it is in the family for
	Config model.Config // the configuration
}

// Family returns the configurations `tcpcheck coverage` explores: between
// them they apply every row of the table that any configuration of the
// model can apply, and they hold the properties at loss and duplication
// budgets of 3. Each starts from the small preset (one incarnation, no
// faults, FIFO) and turns on what its rows need.
func Family() []Member {
	base := func() model.Config {
		c, _ := model.Preset("small")
		return c
	}
	forms := []string{"rst-any", "rst-ack", "syn", "syn-ack", "ack", "data", "fin", "no-ack"}
	attack := func(open, closer string) model.Config {
		c := base()
		c.Open, c.Closer, c.Inject, c.Attack = open, closer, 1, forms
		return c
	}
	sims := func(loss, dup int) []model.Scenario {
		return []model.Scenario{
			{Open: "simultaneous", Closer: "a", Incarnations: 1, Loss: loss, Dup: dup},
			{Open: "client-server", Closer: "both", Incarnations: 1, Loss: loss, Dup: dup},
		}
	}
	var out []Member
	add := func(name, why string, c model.Config) { out = append(out, Member{name, why, c}) }
	add("attack", "the off-path attacker's every form into every state of client-server open, A closing first", attack("client-server", "a"))
	add("attack-sim", "the attacker into simultaneous open", attack("simultaneous", "a"))
	add("attack-both", "the attacker into a simultaneous close (CLOSING)", attack("client-server", "both"))
	add("attack-b", "the attacker into B closing first (A in CLOSE-WAIT and LAST-ACK)", attack("client-server", "b"))
	c := base()
	c.Misuse, c.Also = "both", sims(0, 0)
	add("misuse", "every user call in every state: each user may make one call outside its program", c)
	c = base()
	c.Abort, c.Loss, c.Also = "b", 2, sims(1, 0)
	add("abort-loss", "ABORT by B with lost RSTs: half-open connections and the user timeout", c)
	c = base()
	c.Abort, c.Loss, c.Also = "a", 2, sims(1, 0)
	add("abort-a-loss", "ABORT by A with lost RSTs", c)
	c = base()
	c.MaxRetries, c.Loss, c.Reorder, c.Also = 0, 2, true, sims(2, 0)
	add("retries", "retries running out (R2) in every state that retransmits", c)
	c = base()
	c.WriteA, c.WriteB, c.Loss, c.Dup = 0, 0, 3, 3
	add("faults3", "loss and duplication budgets of 3, client-server", c)
	c = base()
	c.WriteA, c.WriteB, c.Open, c.Closer, c.Loss, c.Dup = 0, 0, "simultaneous", "both", 3, 3
	add("faults3-sim", "loss and duplication budgets of 3, simultaneous open and close", c)
	c = base()
	c.Incarnations, c.Loss, c.SendSize, c.WriteA, c.WriteB = 2, 1, 1, 2, 0
	c.SpuriousRTO, c.RTOMax = true, 1
	add("incarnations", "two incarnations, spurious RTOs and text sent an octet at a time", c)
	c = base()
	c.KeepAlive, c.Loss = 2, 2
	add("keepalive", "keepalive (RFC 1122 §4.2.3.6), two probes: an idle peer is probed, and given up once two probes or their answers are lost", c)
	c = base()
	c.ZeroWindow, c.Loss = "both", 1
	add("zero-window", "receive windows that close (a user stops reading: RCV.WND = 0) and reopen, with zero-window probes and a loss", c)
	return out
}

// RowCoverage says how one row of the table is covered.
type RowCoverage struct {
	Row  int
	Name string
	// Member is the smallest configuration (fewest states) of the family
	// that applies the row; "" when none does.
	Member string
	// Trace is a shortest path in Member from its initial state Init to a
	// transition that applies the row (its last step); nil when not
	// asked for or when the row is not covered.
	Init  model.Key
	Trace []model.Transition
	// Excluded names the exclusion invariant that makes the row
	// unreachable, when no member applies it.
	Excluded string
}

// MemberResult is the outcome of exploring one member.
type MemberResult struct {
	Member
	Result *Result // nil when the budget ran out before the member ran
}

// ExclusionResult is the verdict of an exclusion invariant over the family.
type ExclusionResult struct {
	model.Exclusion
	Verdict   Verdict
	Member    string     // where it was violated
	Violation *Violation // its counterexample
	Rows      int        // rows it excludes that no member applies
}

// CoverageReport is what [Cover] found.
type CoverageReport struct {
	Members    []MemberResult
	Exclusions []ExclusionResult
	Rows       []RowCoverage
	// Covered, Excluded and Uncovered count the rows.
	Covered, Excluded, Uncovered int
	// Violated lists the members in which a property or an exclusion
	// failed.
	Violated []string
	Seconds  float64
}

// CoverOptions tune [Cover].
type CoverOptions struct {
	Family  []Member      // nil: Family()
	Budget  time.Duration // 0: no limit; members not started within it are skipped
	Workers int
	Traces  bool // find a shortest trace to each covered row
	// Progress, when not nil, receives a line as each member ends.
	Progress io.Writer
	// Rows is the table the members run; nil: the correct table (through
	// the generated step).
	Rows []spec.Row
	// NoQuiescence skips the Quiescence check (faster, for a count of the
	// rows only).
	NoQuiescence bool
	// ExclusionsOnly checks the exclusion invariants and none of the
	// properties (Quiescence neither): a planted row that breaks an
	// invariant is then reported by the invariant, whichever property
	// would have stopped the search first.
	ExclusionsOnly bool
}

// maxMemberStates bounds each member's exploration: the family's members
// have at most a few hundred thousand states, so a member that needs more
// runs a table that has gone wrong.
const maxMemberStates = 5_000_000

// Cover explores every member of the family, checking every property
// (Quiescence included) and every exclusion invariant, and says for each
// row of the table the smallest member that applies it or the exclusion
// that makes it unreachable. Rows with neither are uncovered.
func Cover(opt CoverOptions) (*CoverageReport, error) {
	fam := opt.Family
	if fam == nil {
		fam = Family()
	}
	start := time.Now()
	excl := model.Exclusions()
	rep := &CoverageReport{}
	for _, ex := range excl {
		rep.Exclusions = append(rep.Exclusions, ExclusionResult{Exclusion: ex, Verdict: Ok})
	}
	var rowsOf []spec.Row
	best := map[int]int{} // row -> index in rep.Members
	for _, m := range fam {
		if opt.Budget > 0 && time.Since(start) > opt.Budget {
			rep.Members = append(rep.Members, MemberResult{Member: m})
			if opt.Progress != nil {
				fmt.Fprintf(opt.Progress, "coverage: %-14s skipped (the budget of %v is spent)\n", m.Name, opt.Budget)
			}
			continue
		}
		sys, err := newSystem(m.Config, opt.Rows)
		if err != nil {
			return nil, fmt.Errorf("check: coverage member %s: %w", m.Name, err)
		}
		rowsOf = sys.Rows()
		var props []model.Property
		if !opt.ExclusionsOnly {
			props = append(props, sys.Invariants()...)
		}
		for _, ex := range excl {
			props = append(props, ex.Property)
		}
		res, err := exploreWith(sys, props, Options{Workers: opt.Workers, Quiescence: !opt.NoQuiescence && !opt.ExclusionsOnly, MaxStates: maxMemberStates})
		if err != nil {
			return nil, fmt.Errorf("check: coverage member %s: %w", m.Name, err)
		}
		if res.Limit == "max-states" {
			return nil, fmt.Errorf("check: coverage member %s: more than %d states; a member of the family has a few hundred thousand, so the table (or the model) has gone wrong", m.Name, maxMemberStates)
		}
		rep.Members = append(rep.Members, MemberResult{Member: m, Result: res})
		if res.Violation != nil {
			rep.Violated = append(rep.Violated, m.Name)
			for i := range rep.Exclusions {
				if rep.Exclusions[i].Name == res.Violation.Property {
					rep.Exclusions[i].Verdict, rep.Exclusions[i].Member, rep.Exclusions[i].Violation = Violated, m.Name, res.Violation
				}
			}
		}
		if opt.Progress != nil {
			fmt.Fprintf(opt.Progress, "coverage: %-14s %-9s %9d states %6.2f s  %3d rows\n", m.Name, res.Verdict, res.States, res.Seconds, len(res.Coverage.Covered))
		}
		for _, r := range res.Coverage.Covered {
			at := len(rep.Members) - 1
			if b, ok := best[r]; !ok || rep.Members[b].Result.States > res.States {
				best[r] = at
			}
		}
	}
	if rowsOf == nil {
		rowsOf = spec.Table()
		if opt.Rows != nil {
			rowsOf = opt.Rows
		}
	}
	for i, r := range rowsOf {
		rc := RowCoverage{Row: i, Name: r.Name()}
		if b, ok := best[i]; ok {
			rc.Member = rep.Members[b].Name
			rep.Covered++
			if opt.Traces {
				sys, err := newSystem(rep.Members[b].Config, opt.Rows)
				if err != nil {
					return nil, err
				}
				init, trace, err := RowTrace(sys, i)
				if err != nil {
					return nil, fmt.Errorf("check: coverage: row %q in %s: %w", r.Name(), rc.Member, err)
				}
				rc.Init, rc.Trace = init, trace
			}
		} else {
			for j, ex := range rep.Exclusions {
				if ex.Excludes(r) && ex.Verdict == Ok {
					rc.Excluded = ex.Name
					rep.Exclusions[j].Rows++
					break
				}
			}
			if rc.Excluded != "" {
				rep.Excluded++
			} else {
				rep.Uncovered++
			}
		}
		rep.Rows = append(rep.Rows, rc)
	}
	rep.Seconds = time.Since(start).Seconds()
	return rep, nil
}

// newSystem is model.New, or model.NewWithTable when rows is not nil.
func newSystem(cfg model.Config, rows []spec.Row) (*model.System, error) {
	if rows == nil {
		return model.New(cfg)
	}
	return model.NewWithTable(cfg, rows)
}

// exploreWith is Explore with props as the invariants instead of the
// system's.
func exploreWith(sys *model.System, props []model.Property, opt Options) (*Result, error) {
	return exploreSpace(newModelSpaceWith(sys, props), sys, opt)
}

// FindMember returns the family member of the given name.
func FindMember(name string) (Member, error) {
	var names []string
	for _, m := range Family() {
		if m.Name == name {
			return m, nil
		}
		names = append(names, m.Name)
	}
	sort.Strings(names)
	return Member{}, fmt.Errorf("check: no member %q in the coverage family; the members are %v", name, names)
}

// RowTrace returns a shortest path from an initial state of sys whose last
// transition applies row: a breadth-first search of the engine whose one
// invariant, "the row has not been applied", breaks exactly there.
func RowTrace(sys *model.System, row int) (model.Key, []model.Transition, error) {
	if row < 0 || row >= len(sys.Rows()) {
		return model.Key{}, nil, fmt.Errorf("check: row %d out of range", row)
	}
	out, err := engine.Run(&rowSpace{sys: sys, row: int16(row)}, engine.Options{Workers: 1, MaxStates: maxMemberStates})
	if err != nil {
		return model.Key{}, nil, err
	}
	if !out.Violated {
		return model.Key{}, nil, errors.New("the row is not applied in this configuration")
	}
	inits := sys.Init()
	k := inits[out.Path[0]]
	init := k
	var trace []model.Transition
	var buf []model.Transition
	for _, j := range out.Path[1:] {
		buf = sys.Next(k, buf[:0])
		if j >= len(buf) {
			return model.Key{}, nil, errors.New("internal error: the path does not replay (is Next deterministic?)")
		}
		trace = append(trace, buf[j])
		k = buf[j].To
	}
	return init, trace, nil
}

// rowSpace is the model's state space with one more byte per key: 1 once
// the path to the state has applied the row.
type rowSpace struct {
	sys *model.System
	row int16
}

func (s *rowSpace) KeySize() int { return model.KeySize + 1 }
func (s *rowSpace) Rows() int    { return len(s.sys.Rows()) }
func (s *rowSpace) Initial() [][]byte {
	var out [][]byte
	for _, k := range s.sys.Init() {
		out = append(out, append(k[:], 0))
	}
	return out
}
func (s *rowSpace) NewExpander() engine.Expander { return &rowExp{s: s} }

type rowExp struct {
	s   *rowSpace
	buf []model.Transition
}

func (x *rowExp) Next(k []byte, keys []byte, rows []int32) ([]byte, []int32) {
	x.buf = x.s.sys.Next(model.Key(k[:model.KeySize]), x.buf[:0])
	for i := range x.buf {
		t := &x.buf[i]
		hit := k[model.KeySize]
		if t.Step.Row == x.s.row {
			hit = 1
		}
		keys = append(append(keys, t.To[:]...), hit)
		rows = append(rows, int32(t.Step.Row))
	}
	return keys, rows
}

func (x *rowExp) Violated(k []byte) int {
	if k[model.KeySize] != 0 {
		return 0
	}
	return -1
}

func (x *rowExp) Quiescent([]byte) bool { return true }

var familyOnce struct {
	sync.Once
	rep *CoverageReport
	err error
}

// FamilyCoverage returns the coverage of the correct table by the family
// (without traces or the Quiescence check), computed once per process.
func FamilyCoverage() (*CoverageReport, error) {
	familyOnce.Do(func() {
		familyOnce.rep, familyOnce.err = Cover(CoverOptions{NoQuiescence: true})
	})
	return familyOnce.rep, familyOnce.err
}
