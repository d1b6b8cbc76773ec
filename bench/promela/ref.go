package promela

import (
	"strings"

	"github.com/tcpcheck/tcpcheck/model"
)

// RefFile is where the Promela model of [RefConfig] is committed, relative
// to the repository root (`go run ./bench -gen` rewrites it).
const RefFile = "bench/promela/tcp.pml"

// RefConfig is the configuration of the committed model: the default's
// main scenario with a duplication budget of 2, which is the preset
// "large".
func RefConfig() model.Config {
	c := model.DefaultConfig()
	c.Dup, c.Also = 2, nil
	return c
}

// SinkReached reports whether pan's output says the sink state was reached:
// some transition would have put more segments in flight than the model
// allows (the model drops such a transition). pan lists the statement
// "lost = 1" of the sink's self-loop as unreached when it was not.
func SinkReached(panOutput string) bool {
	_, unreached, ok := strings.Cut(panOutput, "unreached in proctype system")
	return ok && !strings.Contains(unreached, `"lost = 1"`)
}

// ExtraStates is how many states SPIN counts beyond the explorer's: two
// (the sink and the middle of its self-loop) when the sink was reached,
// else none.
func ExtraStates(sink bool) int64 {
	if sink {
		return 2
	}
	return 0
}
