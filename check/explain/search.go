package explain

import (
	"errors"
	"fmt"

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

// node is one (state, marks) pair of a goal search.
type node struct {
	key    model.Key
	marks  uint8
	parent int32 // index of the parent node, -1 at the start
	succ   int32 // index of the transition in the parent's Next
}

// Search returns the shortest path of transitions from start that reaches
// g, breadth-first over System.Next (each step is one of Next's successors,
// taken in Next's order, so the result is deterministic). The search is
// over (state, marks) pairs, so a goal that needs history is still found
// by its shortest path.
func Search(sys *model.System, start model.Key, g Goal) ([]model.Transition, error) {
	if g.Done == nil && !g.Quiescent && g.Key == nil {
		return nil, errors.New("explain: goal without a Done predicate")
	}
	type visit struct {
		key   model.Key
		marks uint8
	}
	first := node{key: start, parent: -1}
	if g.reached(sys, start, sys.Decode(start), 0) {
		return nil, nil
	}
	nodes := []node{first}
	seen := map[visit]bool{{start, 0}: true}
	var buf []model.Transition
	for i := 0; i < len(nodes); i++ {
		cur := nodes[i]
		var before model.State
		if g.Marks != nil {
			before = sys.Decode(cur.key)
		}
		buf = sys.Next(cur.key, buf[:0])
		for j, t := range buf {
			after := sys.Decode(t.To)
			m := cur.marks
			if g.Marks != nil {
				m |= g.Marks(before, after, t.Step)
			}
			v := visit{t.To, m}
			if seen[v] {
				continue
			}
			seen[v] = true
			nodes = append(nodes, node{key: t.To, marks: m, parent: int32(i), succ: int32(j)})
			if g.reached(sys, t.To, after, m) {
				return rebuild(sys, nodes, len(nodes)-1)
			}
			if len(nodes) > maxSearch {
				return nil, fmt.Errorf("explain: goal %q not reached within %d states", g.Name, maxSearch)
			}
		}
	}
	return nil, fmt.Errorf("explain: goal %q is unreachable from the start state (%d states searched)", g.Name, len(nodes))
}

// rebuild walks the parent links back from node n and re-runs Next
// forwards along the recorded successor numbers.
func rebuild(sys *model.System, nodes []node, n int) ([]model.Transition, error) {
	var idx []int
	for i := n; nodes[i].parent >= 0; i = int(nodes[i].parent) {
		idx = append(idx, int(nodes[i].succ))
	}
	for l, r := 0, len(idx)-1; l < r; l, r = l+1, r-1 {
		idx[l], idx[r] = idx[r], idx[l]
	}
	return Walk(sys, nodes[0].key, idx)
}

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
