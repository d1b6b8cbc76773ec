package model

import (
	"fmt"
	"strings"
	"testing"
)

// bfsResult is what the tests' own breadth-first search found.
type bfsResult struct {
	states    int
	edges     int
	maxNet    int
	violation string       // first property found violated, "" if none
	trace     []Transition // shortest path to the violation
	init      Key
	quiescent bool // a Quiescence violation was found (only with checkQuiescence)
}

type bfsOptions struct {
	only        string // check only this property ("" = every invariant)
	quiescence  bool   // also check Quiescence (keeps edges)
	maxStates   int    // 0 means stateBudget
	stopAtFirst bool
}

// stateBudget bounds every search of the model's tests: the largest
// configuration they explore (the default preset) has about 2.1 million
// states, and this search keeps about 300 bytes a state, so a table change
// that blows the state space up fails here, naming the configuration,
// instead of driving the tests past 4 GiB and 10 minutes (issue 19).
const stateBudget = 2_500_000

// overBudget fails the test with which configuration ran out of how many
// states.
func overBudget(t testing.TB, sys *System, budget int) {
	t.Helper()
	t.Fatalf("model: the state budget ran out: more than %d states in configuration %s (mutant %q); "+
		"the correct table needs far fewer, so the table or the model has changed the state space: "+
		"read the change before raising the budget", budget, configSummary(sys.Config()), sys.Mutant())
}

// configSummary renders a configuration on one line.
func configSummary(c Config) string {
	return fmt.Sprintf("%s/%s write=%d,%d inc=%d loss=%d dup=%d inject=%d abort=%s misuse=%s reorder=%v also=%s",
		c.Open, c.Closer, c.WriteA, c.WriteB, c.Incarnations, c.Loss, c.Dup, c.Inject, c.Abort, c.Misuse, c.Reorder, FormatScenarios(c.Also))
}

// bfs explores every state reachable from sys.Init() breadth first, checking
// the invariants on each state. It is deliberately simple: a map of keys to
// parent indices.
func bfs(t testing.TB, sys *System, opt bfsOptions) bfsResult {
	t.Helper()
	type node struct {
		key    Key
		parent int32
		step   Step
	}
	var nodes []node
	index := map[Key]int32{}
	var succ [][]int32
	var res bfsResult
	if opt.maxStates == 0 {
		opt.maxStates = stateBudget
	}
	props := sys.Invariants()
	if opt.only != "" && opt.only != QuiescenceName {
		var keep []Property
		for _, p := range props {
			if p.Name == opt.only {
				keep = append(keep, p)
			}
		}
		if len(keep) == 0 {
			t.Fatalf("no property %q", opt.only)
		}
		props = keep
	}
	if opt.only == QuiescenceName {
		props = nil
	}
	traceTo := func(i int32) []Transition {
		var tr []Transition
		for i >= 0 && nodes[i].parent >= 0 {
			tr = append(tr, Transition{Step: nodes[i].step, To: nodes[i].key})
			i = nodes[i].parent
		}
		for l, r := 0, len(tr)-1; l < r; l, r = l+1, r-1 {
			tr[l], tr[r] = tr[r], tr[l]
		}
		res.init = nodes[i].key
		return tr
	}
	for _, k := range sys.Init() {
		if _, ok := index[k]; !ok {
			index[k] = int32(len(nodes))
			nodes = append(nodes, node{key: k, parent: -1})
		}
	}
	var buf []Transition
	for head := 0; head < len(nodes); head++ {
		k := nodes[head].key
		for _, p := range props {
			if !p.Holds(k) && res.violation == "" {
				res.violation = p.Name
				res.trace = traceTo(int32(head))
				if opt.stopAtFirst {
					res.states = len(nodes)
					return res
				}
			}
		}
		var w world
		w.decode(&k)
		res.maxNet = max(res.maxNet, int(w.n))
		buf = sys.Next(k, buf[:0])
		var out []int32
		for _, tr := range buf {
			res.edges++
			j, ok := index[tr.To]
			if !ok {
				j = int32(len(nodes))
				index[tr.To] = j
				nodes = append(nodes, node{key: tr.To, parent: int32(head), step: tr.Step})
				if len(nodes) > opt.maxStates {
					overBudget(t, sys, opt.maxStates)
				}
			}
			if opt.quiescence {
				out = append(out, j)
			}
		}
		if opt.quiescence {
			succ = append(succ, out)
		}
	}
	res.states = len(nodes)
	if opt.quiescence && res.violation == "" {
		// Backward reachability from the quiescent states.
		pred := make([][]int32, len(nodes))
		for i, out := range succ {
			for _, j := range out {
				pred[j] = append(pred[j], int32(i))
			}
		}
		good := make([]bool, len(nodes))
		var queue []int32
		for i := range nodes {
			if sys.Quiescent(nodes[i].key) {
				good[i] = true
				queue = append(queue, int32(i))
			}
		}
		for len(queue) > 0 {
			i := queue[0]
			queue = queue[1:]
			for _, p := range pred[i] {
				if !good[p] {
					good[p] = true
					queue = append(queue, p)
				}
			}
		}
		for i := range nodes { // BFS order: the first bad state is a shallowest one
			if !good[i] {
				res.violation = QuiescenceName
				res.quiescent = true
				res.trace = traceTo(int32(i))
				break
			}
		}
	}
	return res
}

// render prints a trace, one line per step, for failure messages.
func render(sys *System, init Key, tr []Transition) string {
	var b strings.Builder
	st := sys.Decode(init)
	fmt.Fprintf(&b, "   init: A %s\n         B %s\n", st.Hosts[0], st.Hosts[1])
	for i, t := range tr {
		st := sys.Decode(t.To)
		desc := t.Step.Kind.String()
		switch t.Step.Kind {
		case User:
			desc += " " + "AB"[t.Step.Host:t.Step.Host+1] + " " + t.Step.Call
		case Deliver, Drop, Duplicate, Inject:
			desc += " " + t.Step.Seg.String() + " to " + "AB"[t.Step.Host:t.Step.Host+1]
		case Timer:
			desc += " " + t.Step.Event.String() + " at " + "AB"[t.Step.Host:t.Step.Host+1]
		}
		if t.Step.Row >= 0 {
			desc += " [" + sys.Rows()[t.Step.Row].Name() + "]"
		}
		for j := 0; j < int(min(t.Step.NSent, 2)); j++ {
			desc += " => " + t.Step.Sent[j].String()
		}
		fmt.Fprintf(&b, "%3d %s\n      A %s\n      B %s\n", i+1, desc, st.Hosts[0], st.Hosts[1])
		if len(st.Net) > 0 {
			fmt.Fprintf(&b, "      net:")
			for _, s := range st.Net {
				fmt.Fprintf(&b, " [%c %s age=%d inc=%d]", "AB"[s.From], s, s.Age, s.Inc)
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}

// fatalRecorder is a testing.TB whose Fatalf records the message and
// stops the search by a panic the test recovers.
type fatalRecorder struct {
	testing.TB
	msg string
}

type fatalStop struct{}

func (f *fatalRecorder) Helper() {}
func (f *fatalRecorder) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	panic(fatalStop{})
}

// TestStateBudgetMessage: a search that runs out of its state budget stops
// there and says which configuration needed how many states.
func TestStateBudgetMessage(t *testing.T) {
	c, err := Preset("default")
	if err != nil {
		t.Fatal(err)
	}
	sys := mustNew(t, c)
	rec := &fatalRecorder{TB: t}
	func() {
		defer func() {
			if r := recover(); r != nil {
				if _, ok := r.(fatalStop); !ok {
					panic(r)
				}
			}
		}()
		bfs(rec, sys, bfsOptions{maxStates: 1000})
	}()
	for _, want := range []string{"state budget ran out", "more than 1000 states", "client-server/a", "inc=2"} {
		if !strings.Contains(rec.msg, want) {
			t.Errorf("message %q lacks %q", rec.msg, want)
		}
	}
}
