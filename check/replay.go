package check

import (
	"fmt"
	"reflect"

	"github.com/tcpcheck/tcpcheck/check/engine"
	"github.com/tcpcheck/tcpcheck/model"
)

// Replay re-walks v's trace through sys: the trace must start at one of
// sys's initial states, every step must be one of the successors Next
// returns, and the last state must break v's property. For Quiescence that
// means no quiescent state is reachable from the last state, which Replay
// checks by exploring everything reachable from it.
func Replay(sys *model.System, v *Violation) error {
	if v == nil {
		return fmt.Errorf("check: replay: no violation")
	}
	found := false
	for _, k := range sys.Init() {
		if k == v.Init {
			found = true
			break
		}
	}
	if !found {
		return fmt.Errorf("check: replay: the trace does not start at an initial state")
	}
	k := v.Init
	var buf []model.Transition
	for i, t := range v.Trace {
		buf = sys.Next(k, buf[:0])
		ok := false
		for _, s := range buf {
			if s.To == t.To && reflect.DeepEqual(s.Step, t.Step) {
				ok = true
				break
			}
		}
		if !ok {
			return fmt.Errorf("check: replay: step %d (%s) is not a successor of the state before it", i+1, stepLabel(t.Step))
		}
		k = t.To
	}
	if v.Property == model.QuiescenceName {
		return replayStuck(sys, k)
	}
	for _, p := range sys.Invariants() {
		if p.Name == v.Property {
			if p.Holds(k) {
				return fmt.Errorf("check: replay: %s holds in the last state", p.Name)
			}
			return nil
		}
	}
	return fmt.Errorf("check: replay: unknown property %q", v.Property)
}

// replayStuck checks that no quiescent state is reachable from k.
func replayStuck(sys *model.System, k model.Key) error {
	sp := &stuckSpace{modelSpace: newModelSpace(sys), from: k}
	out, err := engine.Run(sp, engine.Options{})
	if err != nil {
		return err
	}
	if out.Violated {
		return fmt.Errorf("check: replay: a quiescent state is reachable from the last state in %d steps", len(out.Path)-1)
	}
	return nil
}

// stuckSpace explores from one state with "quiescent" as the only bad
// property.
type stuckSpace struct {
	*modelSpace
	from model.Key
}

// Initial is the one state explored from.
func (s *stuckSpace) Initial() [][]byte { return [][]byte{s.from[:]} }

// NewExpander returns the model's successors with quiescence as the only
// violation.
func (s *stuckSpace) NewExpander() engine.Expander {
	return stuckExp{s.modelSpace.NewExpander().(*modelExp)}
}

type stuckExp struct{ *modelExp }

// Violated reports a quiescent state as the violation (number 0).
func (x stuckExp) Violated(k []byte) int {
	if x.Quiescent(k) {
		return 0
	}
	return -1
}
