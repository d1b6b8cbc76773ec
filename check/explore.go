package check

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/tcpcheck/tcpcheck/check/engine"
	"github.com/tcpcheck/tcpcheck/model"
)

// Verdict is the outcome of a run or of one property.
type Verdict uint8

// The verdicts.
const (
	Ok         Verdict = iota // every state within the limits was explored and the property holds
	Violated                  // a counterexample was found
	Incomplete                // a limit stopped the run, or another violation did, before the property was decided
)

var verdictNames = [...]string{"ok", "violated", "incomplete"}

// String returns "ok", "violated" or "incomplete".
func (v Verdict) String() string {
	if int(v) < len(verdictNames) {
		return verdictNames[v]
	}
	return fmt.Sprintf("Verdict(%d)", v)
}

// MarshalText renders the verdict as its String.
func (v Verdict) MarshalText() ([]byte, error) { return []byte(v.String()), nil }

// Options tune a run of [Explore].
type Options struct {
	Workers    int           // default runtime.GOMAXPROCS(0)
	Exact      bool          // store whole keys instead of 64-bit fingerprints
	MaxDepth   int           // 0 = unlimited: states more than MaxDepth steps from an initial state are not explored
	MaxStates  int64         // 0 = unlimited
	Timeout    time.Duration // 0 = unlimited
	Quiescence bool          // check the Quiescence property (keeps the edges; more memory)
	Progress   io.Writer     // progress lines every second while the run lasts; nil = none
	// Properties, when not empty, names the properties to check (invariant
	// names and model.QuiescenceName); the others are not checked, and
	// Quiescence is checked exactly when it is listed. Empty means every
	// invariant, plus Quiescence when Quiescence is set.
	Properties []string
	// Bitstate, when above 0, stores the visited set as a table of
	// 2^Bitstate bits, BitstateHashes bits a state (SPIN's bitstate or
	// supertrace storage): far less memory, at the price that a state whose
	// bits are all already set is taken for visited and not explored.
	// Result.Storage reports the expected number of states so missed.
	// Exact storage is refused with it. Quiescence is checked for
	// deadlocks only (the rest needs the graph by state index): a deadlock
	// is reported as a violation, and otherwise Quiescence is Incomplete.
	// Bitstate is 10..40.
	Bitstate       int
	BitstateHashes int // bits set per state, 1..8; 0 means 3, as SPIN's default
	// Shard, when Shard.N > 1, explores one part of the state space; see
	// [Shard].
	Shard Shard
	// Visited, when not nil, receives the 64-bit fingerprint of every
	// visited state once the run has ended, in increasing order, in
	// batches (the slice is reused between calls). [Merge] unions shards
	// with them. Not available with Bitstate. An error stops the walk and
	// is returned by Explore.
	Visited func(fps []uint64) error
	// Stop, when closed, stops the run as a limit does (within a chunk of
	// states): the result is Incomplete with Limit "interrupted", and
	// carries the statistics so far. A command closes it on Ctrl-C.
	Stop <-chan struct{}
}

// Shard splits a run so that N processes (machines of a CI matrix or a
// batch cluster) each explore part of the state space and [Merge] combines
// their results. Every shard explores breadth-first from the initial states
// to the split depth: the first depth whose level holds at least
// SplitWidth*N states (the same in every shard, since the search is
// deterministic). There each keeps only the states whose fingerprint falls
// in its part (I of N) and explores everything they lead to. A state below
// the split depth reachable from the frontier states of several shards is
// explored by each of them; the union of the shards' visited sets is
// exactly the visited set of a single run.
type Shard struct {
	I, N int // 0 <= I < N <= MaxShards
	// SplitWidth is the level size per shard at which the frontier is
	// split; 0 means 256.
	SplitWidth int
}

// Storage says how the run stored its visited states and what that risks;
// see [engine.Storage].
type Storage = engine.Storage

// ShardInfo says what part of the state space a sharded run explored.
type ShardInfo struct {
	I, N       int
	SplitDepth int   // the depth at which the frontier was split; -1 if no level was wide enough
	Frontier   int64 // states of the split level
	Owned      int64 // of those, the states this shard explored further
}

// Result is what a run found.
//
// Deadlocks counts the explored states that have no successor and are not
// Quiescent. With Options.Quiescence such a state is also a Quiescence
// violation (no quiescent state is reachable from it), found as soon as its
// level is expanded; without it deadlocks are only counted.
type Result struct {
	Verdict Verdict
	// Limit names the limit that made the run Incomplete: "max-depth",
	// "max-states" or "timeout"; "" otherwise.
	Limit string
	// States counts the distinct states explored; Transitions the
	// successors Next returned for them (the edges of the explored graph,
	// each as often as it was generated).
	States, Transitions int64
	// Depth is the largest number of steps from an initial state to an
	// explored state.
	Depth   int
	Seconds float64
	// BytesPerState is the peak memory of the engine's tables divided by
	// the number of states: the visited set (packed fingerprints, a hash
	// table of fingerprints with a 4-byte state index per slot in exact
	// and Quiescence mode, or the bit table), the parent links (about 1.3
	// bytes a state), the keys of the current and next level and the table
	// of the level being built, the exact-mode key store, the edges and
	// reverse graph of the Quiescence check, measured by the capacity of
	// what is allocated, at its peak. It leaves out the Go runtime's own
	// overhead (garbage-collector headroom).
	BytesPerState float64
	Workers       int
	Properties    []PropertyResult
	Coverage      Coverage
	Violation     *Violation // the shortest counterexample, or nil
	Deadlocks     int64
	Storage       Storage
	Shard         *ShardInfo // nil unless Options.Shard was set
}

// PropertyResult is the verdict of one property.
type PropertyResult struct {
	Name    string
	Verdict Verdict
}

// Coverage says which rows of the table the run applied.
type Coverage struct {
	Rows    int   // rows in the table
	Covered []int // indices into System.Rows() of the rows some transition applied
	Dead    []int // the others: rows this configuration never reaches
}

// Violation is a shortest counterexample: from Init, the transitions of
// Trace lead to a state that breaks Property.
type Violation struct {
	Property string
	Init     model.Key
	Trace    []model.Transition
	// Note says what is wrong with the last state when that is not an
	// invariant: for Quiescence, that it is a deadlock or that no quiescent
	// state is reachable from it.
	Note string
	// Next holds up to a few successors of the last state (Quiescence), to
	// show where it can still go.
	Next []model.Transition
}

// Last returns the state the counterexample ends in.
func (v *Violation) Last() model.Key {
	if len(v.Trace) == 0 {
		return v.Init
	}
	return v.Trace[len(v.Trace)-1].To
}

// Explore checks sys breadth-first: every invariant on every reachable
// state, deadlocks, and with opt.Quiescence the Quiescence property.
func Explore(sys *model.System, opt Options) (*Result, error) {
	if sys == nil {
		return nil, errors.New("check: nil system")
	}
	return exploreSpace(newModelSpace(sys), sys, opt)
}

// exploreSpace is Explore over sp, the space of sys with its invariants.
func exploreSpace(sp *modelSpace, sys *model.System, opt Options) (*Result, error) {
	if opt.Workers < 0 || opt.MaxDepth < 0 || opt.MaxStates < 0 || opt.Timeout < 0 {
		return nil, errors.New("check: negative option (workers, max depth, max states and timeout must be >= 0)")
	}
	if len(opt.Properties) > 0 {
		var keep []model.Property
		opt.Quiescence = false
		for _, n := range opt.Properties {
			if n == model.QuiescenceName {
				opt.Quiescence = true
				continue
			}
			found := false
			for _, p := range sp.props {
				if p.Name == n {
					keep, found = append(keep, p), true
					break
				}
			}
			if !found {
				known := []string{}
				for _, p := range sp.props {
					known = append(known, p.Name)
				}
				return nil, fmt.Errorf("check: unknown property %q; the properties are %s and %s", n, strings.Join(known, ", "), model.QuiescenceName)
			}
		}
		sp.props = keep
	}
	eo := engine.Options{Workers: opt.Workers, Exact: opt.Exact, MaxDepth: opt.MaxDepth, MaxStates: opt.MaxStates,
		Timeout: opt.Timeout, Quiescence: opt.Quiescence, Progress: opt.Progress,
		Bitstate: opt.Bitstate, BitstateHashes: opt.BitstateHashes, Visited: opt.Visited, Stop: opt.Stop}
	if err := storageOpts(&eo, opt); err != nil {
		return nil, err
	}
	if eo.Workers == 0 {
		eo.Workers = runtime.GOMAXPROCS(0)
	}
	out, err := engine.Run(sp, eo)
	if err != nil {
		return nil, err
	}
	res := &Result{
		Limit:       out.Limit,
		States:      out.States,
		Transitions: out.Transitions,
		Depth:       out.Depth,
		Seconds:     out.Seconds,
		Workers:     min(eo.Workers, 255),
		Deadlocks:   out.Deadlocks,
		Coverage:    Coverage{Rows: len(out.Covered)},
	}
	if out.States > 0 {
		res.BytesPerState = float64(out.PeakBytes) / float64(out.States)
	}
	res.Storage = out.Storage
	if eo.ShardN > 1 {
		res.Shard = &ShardInfo{I: eo.ShardI, N: eo.ShardN, SplitDepth: out.SplitDepth, Frontier: out.Frontier, Owned: out.Owned}
	}
	for r, c := range out.Covered {
		if c {
			res.Coverage.Covered = append(res.Coverage.Covered, r)
		} else {
			res.Coverage.Dead = append(res.Coverage.Dead, r)
		}
	}
	names := make([]string, 0, len(sp.props)+1)
	for _, p := range sp.props {
		names = append(names, p.Name)
	}
	if opt.Quiescence {
		names = append(names, model.QuiescenceName)
	}
	violated := ""
	if out.Violated {
		v, err := sp.violation(out)
		if err != nil {
			return nil, err
		}
		res.Violation = v
		violated = v.Property
	}
	for _, n := range names {
		pr := PropertyResult{Name: n, Verdict: Incomplete}
		switch {
		case n == violated:
			pr.Verdict = Violated
		case out.Violated || !out.Complete:
		case n == model.QuiescenceName && !out.Quiesced:
		default:
			pr.Verdict = Ok
		}
		res.Properties = append(res.Properties, pr)
	}
	switch {
	case out.Violated:
		res.Verdict = Violated
	case !out.Complete:
		res.Verdict = Incomplete
	default:
		res.Verdict = Ok
		for _, p := range res.Properties {
			if p.Verdict == Incomplete {
				res.Verdict = Incomplete // Quiescence under bitstate storage, which finds deadlocks only
			}
		}
	}
	return res, nil
}

// storageOpts checks the storage and shard options and copies them to eo.
func storageOpts(eo *engine.Options, opt Options) error {
	if opt.Bitstate != 0 {
		if opt.Bitstate < 10 || opt.Bitstate > 40 {
			return fmt.Errorf("check: bitstate table of 2^%d bits: use 10..40 (2^30 bits is 128 MiB)", opt.Bitstate)
		}
		if opt.Exact {
			return errors.New("check: bitstate storage keeps no states, so it cannot be exact; choose one")
		}
		if opt.Visited != nil {
			return errors.New("check: bitstate storage keeps no fingerprints to list (shards to merge need fingerprint or exact storage)")
		}
	}
	if opt.BitstateHashes != 0 && (opt.Bitstate == 0 || opt.BitstateHashes < 1 || opt.BitstateHashes > 8) {
		return fmt.Errorf("check: %d bitstate hashes: use 1..8, with Bitstate set", opt.BitstateHashes)
	}
	if eo.BitstateHashes == 0 {
		eo.BitstateHashes = 3
	}
	sh := opt.Shard
	if sh.N != 0 || sh.I != 0 {
		if sh.N < 1 || sh.N > MaxShards || sh.I < 0 || sh.I >= sh.N {
			return fmt.Errorf("check: shard %d/%d: want I/N with 0 <= I < N <= %d", sh.I, sh.N, MaxShards)
		}
		if sh.SplitWidth < 0 {
			return fmt.Errorf("check: shard split width %d: want >= 0", sh.SplitWidth)
		}
	}
	if sh.N > 1 {
		eo.ShardI, eo.ShardN, eo.SplitWidth = sh.I, sh.N, sh.SplitWidth
		if eo.SplitWidth == 0 {
			eo.SplitWidth = 256
		}
	}
	return nil
}

// modelSpace adapts a model.System to the engine.
type modelSpace struct {
	sys   *model.System
	props []model.Property
}

func newModelSpace(sys *model.System) *modelSpace {
	return newModelSpaceWith(sys, sys.Invariants())
}

// newModelSpaceWith is the space of sys checking props.
func newModelSpaceWith(sys *model.System, props []model.Property) *modelSpace {
	return &modelSpace{sys: sys, props: props}
}

// KeySize is the size of a model.Key.
func (m *modelSpace) KeySize() int { return model.KeySize }

// Rows is the number of rows of the table, the labels of transitions.
func (m *modelSpace) Rows() int { return len(m.sys.Rows()) }

// Initial returns the keys of System.Init.
func (m *modelSpace) Initial() [][]byte {
	var out [][]byte
	for _, k := range m.sys.Init() {
		out = append(out, k[:])
	}
	return out
}

// NewExpander returns a successor generator with its own buffer.
func (m *modelSpace) NewExpander() engine.Expander {
	all := slices.EqualFunc(m.props, m.sys.Invariants(), func(a, b model.Property) bool { return a.Name == b.Name })
	return &modelExp{m: m, all: all, buf: make([]model.Transition, 0, 64)}
}

type modelExp struct {
	m   *modelSpace
	all bool // m.props are the system's invariants, in their order: System.Violated checks them at once
	buf []model.Transition
	_   [64]byte // written at every state: keep workers' expanders apart (engine.Space)
}

// Next appends the keys and rows of System.Next's successors of k.
func (x *modelExp) Next(k []byte, keys []byte, rows []int32) ([]byte, []int32) {
	x.buf = x.m.sys.Next(model.Key(k), x.buf[:0])
	for i := range x.buf {
		t := &x.buf[i]
		keys = append(keys, t.To[:]...)
		rows = append(rows, int32(t.Step.Row))
	}
	return keys, rows
}

// Violated returns the index in m.props of the first property k breaks,
// or -1.
func (x *modelExp) Violated(k []byte) int {
	key := (*model.Key)(k)
	if x.all {
		return x.m.sys.Violated(key)
	}
	for i, p := range x.m.props {
		if !p.Holds(*key) {
			return i
		}
	}
	return -1
}

// Quiescent is System.Quiescent.
func (x *modelExp) Quiescent(k []byte) bool { return x.m.sys.Quiescent(model.Key(k)) }

// maxNext is how many successors of a stuck state a Violation shows.
const maxNext = 4

// violation rebuilds the counterexample by re-running Next along the
// successor numbers the engine recorded.
func (m *modelSpace) violation(out *engine.Result) (*Violation, error) {
	inits := m.sys.Init()
	if len(out.Path) == 0 || out.Path[0] >= len(inits) {
		return nil, errors.New("check: internal error: bad counterexample path")
	}
	v := &Violation{Init: inits[out.Path[0]]}
	k := v.Init
	var buf []model.Transition
	for i, j := range out.Path[1:] {
		buf = m.sys.Next(k, buf[:0])
		if j >= len(buf) {
			return nil, fmt.Errorf("check: internal error: step %d takes successor %d of %d (is Next deterministic?)", i+1, j, len(buf))
		}
		v.Trace = append(v.Trace, buf[j])
		k = buf[j].To
	}
	if out.Property == engine.PropQuiescence {
		v.Property = model.QuiescenceName
		if out.Deadlock {
			v.Note = "deadlock: the last state has no successor and is not quiescent"
		} else {
			v.Note = "no quiescent state (both sides CLOSED or LISTEN, users done, network empty) is reachable from the last state"
			buf = m.sys.Next(k, buf[:0])
			v.Next = append(v.Next, buf[:min(len(buf), maxNext)]...)
		}
	} else {
		v.Property = m.props[out.Property].Name
	}
	return v, nil
}

// resultJSON is the shape of Result in JSON; see [Result.MarshalJSON].
type resultJSON struct {
	Result        Verdict          `json:"result"`
	Limit         string           `json:"limit,omitempty"`
	States        int64            `json:"states"`
	Transitions   int64            `json:"transitions"`
	Depth         int              `json:"depth"`
	Seconds       float64          `json:"seconds"`
	StatesPerSec  float64          `json:"states_per_second"`
	BytesPerState float64          `json:"bytes_per_state"`
	Workers       int              `json:"workers"`
	Deadlocks     int64            `json:"deadlocks"`
	Properties    []propertyJSON   `json:"properties"`
	Coverage      coverageJSON     `json:"coverage"`
	Violation     *json.RawMessage `json:"violation"`
}

type propertyJSON struct {
	Name   string  `json:"name"`
	Result Verdict `json:"result"`
}

type coverageJSON struct {
	Rows    int      `json:"rows"`
	Covered int      `json:"covered"`
	Dead    []string `json:"dead"`
}

// JSON renders r as one JSON object: result, states, transitions, depth,
// seconds, properties, coverage (with the dead rows by name) and the
// violation with its trace, or null.
func (r *Result) JSON(sys *model.System) ([]byte, error) {
	rows := sys.Rows()
	j := resultJSON{
		Result: r.Verdict, Limit: r.Limit, States: r.States, Transitions: r.Transitions, Depth: r.Depth,
		Seconds: r.Seconds, BytesPerState: r.BytesPerState, Workers: r.Workers, Deadlocks: r.Deadlocks,
		Coverage:   coverageJSON{Rows: r.Coverage.Rows, Covered: len(r.Coverage.Covered), Dead: []string{}},
		Properties: []propertyJSON{},
	}
	if r.Seconds > 0 {
		j.StatesPerSec = float64(r.States) / r.Seconds
	}
	for _, p := range r.Properties {
		j.Properties = append(j.Properties, propertyJSON{p.Name, p.Verdict})
	}
	for _, d := range r.Coverage.Dead {
		j.Coverage.Dead = append(j.Coverage.Dead, rows[d].Name())
	}
	if r.Violation != nil {
		v, err := json.Marshal(ViolationJSON(sys, r.Violation))
		if err != nil {
			return nil, err
		}
		raw := json.RawMessage(v)
		j.Violation = &raw
	}
	return json.Marshal(j)
}
