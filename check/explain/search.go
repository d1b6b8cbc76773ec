package explain

import (
	"errors"
	"fmt"

	"github.com/tcpcheck/tcpcheck/check/engine"
	"github.com/tcpcheck/tcpcheck/model"
)

// Goal is a situation to reach on a model: a predicate over the current
// global state and a few bits of history. Marks, when not nil, looks at each
// step (the states before and after it) and returns bits that stay set for
// the rest of the path, so a goal can say "both sides were in CLOSING at
// some point and both are now in TIME-WAIT".
type Goal struct {
	Name  string // what is reached, e.g. "both sides in CLOSING"
	Marks func(before, after model.State, st model.Step) uint8
	Done  func(s model.State, marks uint8) bool
	// Quiescent also requires System.Quiescent of the state (both sides
	// done, nothing in flight); Done may then be nil.
	Quiescent bool
	// Key, when not nil, must hold of the state's key too (e.g. a
	// property that fails); Done may then be nil.
	Key func(k model.Key) bool
}

// reached reports whether the goal holds in k.
func (g Goal) reached(sys *model.System, k model.Key, st model.State, marks uint8) bool {
	if g.Quiescent && !sys.Quiescent(k) {
		return false
	}
	if g.Key != nil && !g.Key(k) {
		return false
	}
	return g.Done == nil || g.Done(st, marks)
}

// maxSearch bounds a goal search: the configurations of the pages have a
// few thousand states, so a search that needs more means a wrong goal.
const maxSearch = 2_000_000

// Search returns the shortest path of transitions from start that reaches
// g. The goal is a reachability property of the explorer's engine
// (check/engine): the search space is the (state, marks) pairs reachable
// from start, and its one invariant, "g is not reached", is broken exactly
// where g is reached; the engine's counterexample, the first violating
// state in breadth-first order over System.Next's successors taken in
// order, is the path. So the result is deterministic, and a goal that
// needs history is still found by its shortest path.
func Search(sys *model.System, start model.Key, g Goal) ([]model.Transition, error) {
	if g.Done == nil && !g.Quiescent && g.Key == nil {
		return nil, errors.New("explain: goal without a Done predicate")
	}
	// Exact storage: two (state, marks) pairs are never taken for one on a
	// fingerprint collision. One worker: these spaces are small, and the
	// engine's answer does not depend on the number of workers.
	out, err := engine.Run(&goalSpace{sys: sys, start: start, g: g},
		engine.Options{Workers: 1, Exact: true, MaxStates: maxSearch})
	if err != nil {
		return nil, fmt.Errorf("explain: goal %q: %w", g.Name, err)
	}
	switch {
	case out.Violated:
		return Walk(sys, start, out.Path[1:])
	case out.Limit != "":
		return nil, fmt.Errorf("explain: goal %q not reached within %d states", g.Name, maxSearch)
	}
	return nil, fmt.Errorf("explain: goal %q is unreachable from the start state (%d states searched)", g.Name, out.States)
}

// goalSpace is the space of a goal search: a key is the model's key and one
// byte more, the goal's marks accumulated along the path to the state.
type goalSpace struct {
	sys   *model.System
	start model.Key
	g     Goal
}

// KeySize is the model's key and the marks byte.
func (s *goalSpace) KeySize() int { return model.KeySize + 1 }

// Initial is the start state, with no marks.
func (s *goalSpace) Initial() [][]byte { return [][]byte{append(s.start[:], 0)} }

// Rows is the number of the table's rows, the labels of transitions.
func (s *goalSpace) Rows() int { return len(s.sys.Rows()) }

// NewExpander returns a successor generator with its own buffer.
func (s *goalSpace) NewExpander() engine.Expander { return &goalExp{s: s} }

// goalExp expands (state, marks) pairs.
type goalExp struct {
	s   *goalSpace
	buf []model.Transition
}

// split returns the model key and the marks of k.
func split(k []byte) (model.Key, uint8) {
	return model.Key(k[:model.KeySize]), k[model.KeySize]
}

// Next appends System.Next's successors of k's state, in its order, each
// with k's marks and those its step sets.
func (x *goalExp) Next(k []byte, keys []byte, rows []int32) ([]byte, []int32) {
	key, marks := split(k)
	g := x.s.g
	var before model.State
	if g.Marks != nil {
		before = x.s.sys.Decode(key)
	}
	x.buf = x.s.sys.Next(key, x.buf[:0])
	for i := range x.buf {
		t := &x.buf[i]
		m := marks
		if g.Marks != nil {
			m |= g.Marks(before, x.s.sys.Decode(t.To), t.Step)
		}
		keys = append(append(keys, t.To[:]...), m)
		rows = append(rows, int32(t.Step.Row))
	}
	return keys, rows
}

// Violated breaks the search's one invariant, "the goal is not reached",
// where the goal is reached.
func (x *goalExp) Violated(k []byte) int {
	key, marks := split(k)
	if x.s.g.reached(x.s.sys, key, x.s.sys.Decode(key), marks) {
		return 0
	}
	return -1
}

// Quiescent is true of every state: a goal search counts no deadlocks.
func (x *goalExp) Quiescent([]byte) bool { return true }

// Walk follows successor numbers from start: step i takes successor idx[i]
// of Next. It fails when an index is out of range.
func Walk(sys *model.System, start model.Key, idx []int) ([]model.Transition, error) {
	var out []model.Transition
	k := start
	var buf []model.Transition
	for i, j := range idx {
		buf = sys.Next(k, buf[:0])
		if j < 0 || j >= len(buf) {
			return nil, fmt.Errorf("explain: step %d takes successor %d, but the state before it has %d", i+1, j, len(buf))
		}
		out = append(out, buf[j])
		k = buf[j].To
	}
	return out, nil
}

// Indices returns, for each transition of trace, its position among the
// successors of the state before it, starting at start. It fails when a
// transition is not a successor (the trace is not a path of sys).
func Indices(sys *model.System, start model.Key, trace []model.Transition) ([]int, error) {
	var out []int
	k := start
	var buf []model.Transition
	for i, t := range trace {
		buf = sys.Next(k, buf[:0])
		at := -1
		for j, s := range buf {
			if s.To == t.To && s.Step == t.Step {
				at = j
				break
			}
		}
		if at < 0 {
			return nil, fmt.Errorf("explain: step %d is not a successor of the state before it", i+1)
		}
		out = append(out, at)
		k = t.To
	}
	return out, nil
}

// sameMove reports whether two steps are the same move of the world, as a
// reader of a trace sees it: the same kind of step by the same host on the
// same segment with the same user call. The row applied and what was sent
// may differ (that is the point when a mutant's step is followed on the
// correct table).
func sameMove(a, b model.Step) bool {
	return a.Kind == b.Kind && a.Host == b.Host && a.Call == b.Call && sameSeg(a.Seg, b.Seg) &&
		(a.Kind != model.Timer || a.Event == b.Event)
}

// Follow plays the moves of trace (a path of another system, a mutant's
// counterexample) on sys from start: each move is taken when sys has a
// successor that makes the same move, and skipped otherwise. It returns
// the path taken and, for each move of trace, the step of the path that
// made it, or -1 when sys could not make it.
func Follow(sys *model.System, start model.Key, trace []model.Transition) ([]model.Transition, []int) {
	var out []model.Transition
	made := make([]int, len(trace))
	k := start
	var buf []model.Transition
	for i, t := range trace {
		buf = sys.Next(k, buf[:0])
		made[i] = -1
		for _, s := range buf {
			if sameMove(s.Step, t.Step) {
				out = append(out, s)
				made[i] = len(out) - 1
				k = s.To
				break
			}
		}
	}
	return out, made
}

// sameSeg compares segments without their age in flight.
func sameSeg(a, b model.Segment) bool {
	a.Age, b.Age = 0, 0
	return a == b
}
