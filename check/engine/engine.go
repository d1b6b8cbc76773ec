package engine

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// Space is what the engine explores: a transition system whose states are
// byte strings of one fixed size, the keys. Two keys are the same state
// exactly when their bytes are equal.
type Space interface {
	// KeySize is the size of every key, in bytes; it must be positive.
	KeySize() int
	// Initial returns the initial states' keys in a fixed order; a path
	// starts with the number of its initial state in this list.
	Initial() [][]byte
	// NewExpander returns a successor generator for one worker; Run calls
	// it once per worker, so an Expander may keep scratch buffers. Fields
	// an Expander writes on every call should not share a cache line with
	// another worker's (pad a small struct to 64 bytes past them): the
	// workers run on different processors, and a shared line would move
	// between them at every state.
	NewExpander() Expander
	// Rows is the number of labels (table rows) a transition may carry,
	// for Result.Covered.
	Rows() int
}

// Expander computes the successors of states and judges them. Its methods
// must be deterministic: Run numbers states by the order of Next and
// rebuilds paths from successor numbers.
type Expander interface {
	// Next appends the keys of k's successors, in a fixed order, to keys
	// (KeySize bytes each) and the label each applied (-1 for none) to
	// rows. At most 65535 successors.
	Next(k []byte, keys []byte, rows []int32) ([]byte, []int32)
	// Violated returns the index of the first invariant k breaks, or -1.
	Violated(k []byte) int
	// Quiescent reports whether k is a state every run must be able to
	// reach (Options.Quiescence), and which states without successors are
	// not deadlocks.
	Quiescent(k []byte) bool
}

// Options tune a run of [Run]. The zero value explores everything with one
// worker per processor and 64-bit fingerprint storage.
type Options struct {
	Workers   int           // 0 means runtime.GOMAXPROCS(0); at most 255 are used
	Exact     bool          // keep every key and compare keys, not only fingerprints
	MaxDepth  int           // 0 = unlimited: states more than MaxDepth steps from an initial state are not explored
	MaxStates int64         // 0 = unlimited
	Timeout   time.Duration // 0 = unlimited
	// Quiescence checks that from every state a Quiescent one is reachable
	// (keeps the graph by state index; more memory) and reports a deadlock
	// as soon as its level is expanded.
	Quiescence bool
	Progress   io.Writer // a progress line every second while the run lasts; nil = none
	// Bitstate, when above 0, is the log2 of the size in bits of a
	// bitstate table that replaces the visited set; BitstateHashes bits are
	// set a state (0 means 3).
	Bitstate       int
	BitstateHashes int
	// ShardN, when above 1, explores part ShardI of ShardN: breadth-first
	// to the first level of at least SplitWidth*ShardN states, then only
	// the states of that level whose fingerprint falls in part ShardI.
	ShardI, ShardN, SplitWidth int
	// Visited, when not nil, receives the fingerprint of every visited
	// state once the run has ended, in increasing order, in batches (the
	// slice is reused between calls). An error stops the walk and is
	// returned by Run. Not available with Bitstate.
	Visited func([]uint64) error
	// Stop, when closed, ends the run as a limit does (Result.Limit is
	// LimitStop): an interrupted run reports what it explored.
	Stop <-chan struct{}

	hash func([]byte) uint64 // tests: nil means fingerprint
}

// The limits that make a run incomplete, as Result.Limit names them.
const (
	LimitDepth  = "max-depth"
	LimitStates = "max-states"
	LimitTime   = "timeout"
	LimitStop   = "interrupted"
)

// PropQuiescence is Result.Property when the violation is of Quiescence
// rather than of an invariant.
const PropQuiescence = -1

const (
	noState  = ^uint32(0)
	maxSucc  = 1<<16 - 1 // successors per state (the successor number is 16 bits)
	maxInit  = 1<<16 - 1
	edgeFlag = uint64(1) << 63 // edge target is a candidate reference, not yet an index
)

// Result is what a run found, in terms of indices: invariants by their
// number in Expander.Violated, states by their successor numbers.
type Result struct {
	Complete            bool   // every state within the limits was explored
	Limit               string // the limit that stopped the run (LimitDepth, LimitStates, LimitTime), or ""
	States, Transitions int64  // distinct states explored; successors Next returned for them
	Depth               int    // the largest number of steps from an initial state to an explored state
	Seconds             float64
	PeakBytes           int64  // the peak memory of the engine's tables
	Covered             []bool // by label: whether some transition carried it
	Deadlocks           int64  // explored states with no successor that are not Quiescent

	// Violated says a property was found broken: the invariant numbered
	// Property, or Quiescence (PropQuiescence), Deadlock when by a state
	// without successors. Path leads to the shortest counterexample, the
	// first in breadth-first order: the initial state's number, then the
	// successor number (the position in Next's list) of each step.
	Violated bool
	Property int
	Deadlock bool
	Path     []int
	Quiesced bool // the Quiescence check ran to the end

	Storage Storage
	// SplitDepth is the depth whose level a sharded run split (-1 if none
	// was wide enough), Frontier that level's states and Owned those of
	// them this part explored further.
	SplitDepth int
	Frontier   int64
	Owned      int64
}

// Storage says how a run stored its visited states and what that risks.
type Storage struct {
	Mode string // "exact", "fingerprint" or "bitstate"
	// Bits is the size of the bit table (bitstate) or of a fingerprint,
	// Hashes the bits set per state (bitstate).
	Bits   int64
	Hashes int
	// HashFactor is the bits of the table per state stored (bitstate), as
	// SPIN prints it: coverage is near complete when it is above 100.
	HashFactor float64
	// ExpectedMissed is the expected number of reachable states that were
	// not explored because they were taken for states already visited:
	// hash collisions of the fingerprints, or, in bitstate mode, states
	// whose bits were all already set. 0 in exact mode.
	ExpectedMissed float64
}

type violRec struct {
	ref  uint64
	prop int
}

type worker struct {
	id          int
	e           *engine
	exp         Expander
	keys        []byte
	rows        []int32
	transitions int64
	covered     []bool
	viol        []violRec
	deadlocks   int64
	deadMin     uint32
	sawNew      bool
	fps         []uint64
	xs          []uint32
	cur         []byte // the key being expanded, decoded
	skip        []bool // successors of the batch being expanded that recent knows
	parents     []parentRec
	look        []uint32   // the visited set's index of each successor of the batch looked up, noState if absent
	recent      *recentSet // the states this worker met lately; nil when the graph is recorded
	chunks      chunkCache // exact mode: chunks this worker interned lately
	levelStart  int64      // transitions before this level
	edgeTmp     [][]uint64 // this level's edges, in chunks: from, n, targets...
	edgeUsed    int        // chunks of edgeTmp in use
	edges       [][]uint32 // permanent edge lists: from, n, targets...
	err         error
	newLocal    int64        // new states this worker found in this level
	newCount    atomic.Int64 // newLocal as last published, for the limit and the progress line
	_           [56]byte
}

type engine struct {
	sp    Space
	opt   Options
	graph bool // record the graph for the Quiescence check
	k     int
	hash  func([]byte) uint64

	vis   stateSet
	lvl   *level
	keys  *keyStore // exact mode: every state's key by index
	links links
	quiet blocks[uint64] // bitset of quiescent states (Quiescence)
	pool  *blockPool
	ws    []*worker

	cur, next []*arena
	curStart  int // index of the level being expanded
	curN      int
	states    int64
	depth     int

	cnt, cursor []uint32
	order       []uint64

	abort    atomic.Int32
	phase    atomic.Int32 // phaseExplore, phasePlace or phaseQuiescence, for the progress line
	probeHit atomic.Bool  // a state past the depth limit was found
	grown    float64      // new states per expanded state in the last level
	peak     int64
	start    time.Time

	// Shard mode: the depth whose level was split (-1 until then), its
	// size, and the states of it this shard owns.
	splitDepth int
	frontier   int64
	owned      atomic.Int64

	// For the progress line, which runs beside the workers.
	progStates   atomic.Int64
	progDepth    atomic.Int64
	progFrontier atomic.Int64
}

const (
	abortTime = 1 + iota
	abortStates
	abortStop
)

const (
	phaseExplore = iota
	phasePlace
	phaseQuiescence
)

func newEngine(sp Space, opt Options) *engine {
	if opt.Workers <= 0 {
		opt.Workers = runtime.GOMAXPROCS(0)
	}
	if opt.Workers > 255 {
		opt.Workers = 255
	}
	if opt.Bitstate > 0 && opt.BitstateHashes <= 0 {
		opt.BitstateHashes = 3
	}
	e := &engine{sp: sp, opt: opt, k: sp.KeySize(), hash: opt.hash, splitDepth: -1}
	if e.hash == nil {
		e.hash = fingerprint
	}
	// The Quiescence check keeps the graph by state index, which bitstate
	// storage has not; there Quiescence is checked for deadlocks only.
	e.graph = opt.Quiescence && opt.Bitstate == 0
	if opt.Exact {
		e.keys = newKeyStore(e.k)
	}
	switch {
	case opt.Bitstate > 0:
		e.vis = newBitSet(uint(opt.Bitstate), opt.BitstateHashes)
	case opt.Exact:
		e.vis = newExactSet(e.keys, e.hash)
	case opt.Quiescence:
		e.vis = newVisited(true)
	default:
		e.vis = newPackedSet()
	}
	e.lvl = newLevel()
	// Keys of a level are only needed whole for exact-mode comparisons
	// and the key store; otherwise they are delta-coded.
	e.pool = &blockPool{k: e.k, delta: !opt.Exact}
	for i := 0; i < opt.Workers; i++ {
		w := &worker{id: i, e: e, exp: sp.NewExpander(), covered: make([]bool, sp.Rows()), deadMin: noState}
		if !e.graph {
			w.recent = &recentSet{}
			if opt.Exact {
				w.recent.k = e.k
			}
		}
		e.ws = append(e.ws, w)
		e.cur = append(e.cur, newArena(e.k, e.pool))
		e.next = append(e.next, newArena(e.k, e.pool))
	}
	return e
}

// Run explores sp breadth-first, level by level, on opt.Workers
// goroutines, checking every new state with Expander.Violated, and stops at
// the first level that holds a violation, a limit, or the end of the space.
// The state numbering, counts and the counterexample do not depend on the
// number of workers.
func Run(sp Space, opt Options) (*Result, error) {
	if sp.KeySize() <= 0 {
		return nil, errors.New("engine: key size must be positive")
	}
	e := newEngine(sp, opt)
	e.start = time.Now()
	if opt.Timeout > 0 {
		t := time.AfterFunc(opt.Timeout, func() { e.abort.CompareAndSwap(0, abortTime) })
		defer t.Stop()
	}
	if opt.Stop != nil {
		ended := make(chan struct{})
		defer close(ended)
		go func() {
			select {
			case <-opt.Stop:
				e.abort.CompareAndSwap(0, abortStop)
			case <-ended:
			}
		}()
	}
	stop := e.startProgress()
	out, err := e.explore()
	stop()
	if err != nil {
		return nil, err
	}
	out.Seconds = time.Since(e.start).Seconds()
	out.States = e.states
	out.PeakBytes = e.peak
	out.SplitDepth, out.Frontier, out.Owned = e.splitDepth, e.frontier, e.owned.Load()
	out.Storage = e.storage()
	if opt.Visited != nil {
		if err := e.vis.walk(opt.Visited); err != nil {
			return nil, err
		}
	}
	for _, w := range e.ws {
		out.Transitions += w.transitions
		for r, c := range w.covered {
			if c {
				if out.Covered == nil {
					out.Covered = make([]bool, len(w.covered))
				}
				out.Covered[r] = true
			}
		}
	}
	if out.Covered == nil {
		out.Covered = make([]bool, sp.Rows())
	}
	if opt.Progress != nil {
		rate := float64(out.States) / max(out.Seconds, 1e-9)
		fmt.Fprintf(opt.Progress, "explore: done: %d states, %d transitions, depth %d, %.2fs, %.0f states/s, %.1f bytes/state\n",
			out.States, out.Transitions, out.Depth, out.Seconds, rate, float64(out.PeakBytes)/float64(max(out.States, 1)))
	}
	return out, nil
}

func (e *engine) explore() (*Result, error) {
	out := &Result{}
	if err := e.initLevel(out); err != nil || out.Violated {
		return out, err
	}
	for depth := 0; ; depth++ {
		if e.curN == 0 {
			out.Complete = true
			break
		}
		out.Depth = depth
		probe := e.opt.MaxDepth > 0 && depth >= e.opt.MaxDepth
		if err := e.expand(probe); err != nil {
			return nil, err
		}
		e.track()
		switch e.abort.Load() {
		case abortTime:
			out.Limit = LimitTime
			return out, nil
		case abortStates:
			out.Limit = LimitStates
			return out, nil
		case abortStop:
			out.Limit = LimitStop
			return out, nil
		}
		deadMin := noState
		hit := probe && e.probeHit.Load()
		for _, w := range e.ws {
			if hit {
				// The probe stopped early: its counts depend on scheduling,
				// and the run is incomplete anyway, so they are dropped.
				w.deadlocks, w.deadMin = 0, noState
				w.transitions = w.levelStart
			}
			out.Deadlocks += w.deadlocks
			w.deadlocks = 0
			deadMin = min(deadMin, w.deadMin)
			w.deadMin = noState
		}
		if deadMin != noState && e.opt.Quiescence {
			out.Violated, out.Property, out.Deadlock = true, PropQuiescence, true
			out.Path = e.path(deadMin)
			return out, nil
		}
		if probe {
			out.Complete = true
			for _, w := range e.ws {
				if w.sawNew {
					out.Complete, out.Limit = false, LimitDepth
				}
			}
			if out.Complete && e.graph {
				// Every successor of the last level was already known, so
				// its edges are complete and the graph is whole.
				e.parallel(len(e.ws), func(_ *worker, i int) { e.ws[i].resolveEdges() })
			}
			break
		}
		e.phase.Store(phasePlace)
		err := e.place()
		e.phase.Store(phaseExplore)
		if err != nil {
			return nil, err
		}
		e.track()
		best, prop := noState, 0
		for _, w := range e.ws {
			for _, v := range w.viol {
				if x := *e.cand(v.ref); x < best {
					best, prop = x, v.prop
				}
			}
			w.viol = w.viol[:0]
		}
		e.advance()
		if best != noState {
			out.Depth = depth + 1
			out.Violated, out.Property = true, prop
			out.Path = e.path(best)
			return out, nil
		}
	}
	if out.Complete && e.graph {
		idx, stuck, err := e.checkQuiescence()
		if err != nil {
			return nil, err
		}
		out.Quiesced = true
		if stuck {
			out.Violated, out.Property = true, PropQuiescence
			out.Path = e.path(idx)
		}
	}
	return out, nil
}

// initLevel places the initial states as level 0.
func (e *engine) initLevel(out *Result) error {
	inits := e.sp.Initial()
	if len(inits) > maxInit {
		return fmt.Errorf("engine: %d initial states, at most %d supported", len(inits), maxInit)
	}
	a := e.cur[0]
	exp := e.ws[0].exp
	best, prop := noState, 0
	var nums []uint16
	for i, k := range inits {
		if len(k) != e.k {
			return fmt.Errorf("engine: initial state %d has a %d-byte key, want %d", i, len(k), e.k)
		}
		fp := e.hash(k)
		if _, found := e.vis.lookup(fp, k, e.keys); found {
			continue
		}
		idx := uint32(e.states)
		e.states++
		p, err := a.add(k)
		if err != nil {
			return err
		}
		*a.idx(p) = idx
		nums = append(nums, uint16(i))
		e.vis.add(shardOf(fp), []uint64{fp}, []uint32{idx})
		if e.keys != nil {
			e.keys.grow(int(e.states))
			e.keys.put(int(idx), k, &e.ws[0].chunks)
		}
		if v := exp.Violated(k); v >= 0 && best == noState {
			best, prop = idx, v
		}
	}
	e.links.addInit(nums)
	e.curStart, e.curN = 0, int(e.states)
	if e.graph {
		e.quiet.grow(int(e.states+63) / 64)
	}
	e.maybeSplit()
	e.progStates.Store(e.states)
	e.progFrontier.Store(int64(e.curN))
	e.track()
	if best != noState {
		out.Violated, out.Property = true, prop
		out.Path = e.path(best)
	}
	return nil
}

// parallel runs f(w, i) for i in [0, n) on every worker, handing out items
// in order from a shared counter.
func (e *engine) parallel(n int, f func(w *worker, i int)) {
	var next atomic.Int64
	e.onWorkers(func(w *worker) {
		for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
			f(w, i)
		}
	})
}

// parallelOwned runs f on every item of lists, where list i is worker
// i's own: each worker works through its own list from the front and then
// takes what is left of the others' from their backs. A worker expands the
// states it found itself, in the order it found them, so the successors
// that neighbouring states share are met by one worker (and mostly answered
// by its recent set) rather than by two that would each look them up in
// the other's part of the level table.
func (e *engine) parallelOwned(lists [][]chunk, f func(w *worker, c chunk)) {
	spans := make([]ownedSpan, len(lists))
	for i, l := range lists {
		spans[i].v.Store(uint64(len(l)))
	}
	e.onWorkers(func(w *worker) {
		for d := range spans {
			o := (w.id + d) % len(spans)
			for i, ok := spans[o].take(d == 0); ok; i, ok = spans[o].take(d == 0) {
				f(w, lists[o][i])
			}
		}
	})
}

// onWorkers runs f on every worker, each on a goroutine of its own, and
// waits for them all.
func (e *engine) onWorkers(f func(w *worker)) {
	var wg sync.WaitGroup
	for _, w := range e.ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(w)
		}()
	}
	wg.Wait()
}

// ownedSpan is the range [lo, hi) of a list's items not yet taken, as
// lo<<32 | hi, on a cache line of its own.
type ownedSpan struct {
	v atomic.Uint64
	_ [56]byte
}

// take takes the first item of the span (front) or its last.
func (s *ownedSpan) take(front bool) (int, bool) {
	for {
		v := s.v.Load()
		lo, hi := v>>32, v&(1<<32-1)
		if lo >= hi {
			return 0, false
		}
		i, nv := lo, (lo+1)<<32|hi
		if !front {
			i, nv = hi-1, lo<<32|(hi-1)
		}
		if s.v.CompareAndSwap(v, nv) {
			return int(i), true
		}
	}
}

// chunk is a range of states of the current level, within one block of
// an arena; left counts the block's chunks not yet expanded, and the last
// one to finish gives the block back to the pool, so that the next level
// can reuse it while this one is still being expanded.
type chunk struct {
	a        *arena
	from, to int
	left     *atomic.Int32
}

// expand computes the successors of every state of the current level and
// gathers the new ones, each with its smallest claim, in the level table.
func (e *engine) expand(probe bool) error {
	// Chunks start at a group boundary, where delta-coded keys can be
	// decoded from.
	size := max(1, min(4096, e.curN/(8*len(e.ws)))/groupSize) * groupSize
	chunks := make([][]chunk, len(e.cur))
	for ai, a := range e.cur {
		for b := 0; b*blockSize < a.n; b++ {
			left := new(atomic.Int32)
			end := min((b+1)*blockSize, a.n)
			for p := b * blockSize; p < end; p += size {
				chunks[ai] = append(chunks[ai], chunk{a, p, min(p+size, end), left})
				left.Add(1)
			}
		}
	}
	for _, w := range e.ws {
		w.sawNew = false
		w.newLocal = 0
		w.newCount.Store(0)
		w.levelStart = w.transitions
		if w.recent != nil {
			w.recent.size(e.states)
		}
	}
	if !probe && e.grown > 0 {
		// Size the level table for the level this one will probably
		// produce, judging by the last one, so it does not grow step by
		// step under the workers' feet.
		per := int(float64(e.curN)*e.grown*1.1)/numShards + 1
		e.parallel(numShards, func(_ *worker, si int) { e.lvl.shards[si].reserve(per) })
	}
	e.parallelOwned(chunks, func(w *worker, c chunk) {
		if w.err == nil && w.expandChunk(c, probe) {
			if c.left.Add(-1) == 0 {
				e.pool.put(c.a.blocks[c.from>>blockShift])
			}
		}
	})
	for _, w := range e.ws {
		if w.err != nil {
			return w.err
		}
	}
	return nil
}

// batchStates is how many states a worker expands together: their
// successors are hashed and looked up in passes over the whole batch, so
// that many cache misses are in flight at once.
const batchStates = 16

// parentRec is a state of a batch: its index, where its successors start
// in the worker's keys, how many it has, and whether it is quiescent.
type parentRec struct {
	idx     uint32
	from, n int
	quiet   bool
}

// expandChunk expands the states of c and reports whether it got through
// all of them.
func (w *worker) expandChunk(c chunk, probe bool) bool {
	e := w.e
	k := e.k
	w.cur = resize(w.cur, k)
	rd := c.a.reader(c.from, w.cur)
	for p := c.from; p < c.to; {
		if e.abort.Load() != 0 || (probe && e.probeHit.Load()) {
			return false
		}
		// Expand a batch of states, their successors one after another.
		w.keys, w.rows, w.parents = w.keys[:0], w.rows[:0], w.parents[:0]
		for ; p < c.to && len(w.parents) < batchStates; p++ {
			key := rd.next()
			pidx := *c.a.idx(p)
			if e.depth == e.splitDepth && !e.owns(key) {
				// Another shard explores this state further; for the
				// Quiescence check it stands for the states it leads to,
				// which that shard checks.
				if e.graph {
					atomic.OrUint64(e.quiet.at(int(pidx>>6)), 1<<(pidx&63))
				}
				continue
			}
			from := len(w.rows)
			w.keys, w.rows = w.exp.Next(key, w.keys, w.rows)
			n := len(w.rows) - from
			if n > maxSucc {
				w.err = fmt.Errorf("engine: a state has %d successors, at most %d supported", n, maxSucc)
				return false
			}
			if len(w.keys) != len(w.rows)*k {
				w.err = fmt.Errorf("engine: successor keys of %d bytes for %d successors of %d bytes", len(w.keys)-from*k, n, k)
				return false
			}
			pr := parentRec{idx: pidx, from: from, n: n}
			if e.opt.Quiescence || n == 0 {
				pr.quiet = w.exp.Quiescent(key)
			}
			w.parents = append(w.parents, pr)
		}
		if !w.expandBatch(probe) {
			return false
		}
	}
	w.newCount.Store(w.newLocal)
	if e.opt.MaxStates > 0 {
		e.checkMaxStates()
	}
	return true
}

// expandBatch looks up the successors of the batch in w.parents, whose keys
// and rows are w.keys and w.rows, and records the new ones; it reports
// whether it got through all of them.
func (w *worker) expandBatch(probe bool) bool {
	e := w.e
	k := e.k
	total := len(w.rows)
	// Hash every successor first and prefetch what its lookup reads, so
	// that the cache misses of the lookups below overlap instead of coming
	// one after another. Successors the worker met lately are answered by
	// its cache of them and looked up nowhere else; a lookup in the
	// visited set reads two places (a packed set's bucket offsets and then
	// its entries; exact mode's slot and then the stored key), so each is
	// asked for in a pass of its own.
	w.fps = w.fps[:0]
	w.skip = resize(w.skip, total)
	for j := 0; j < total; j++ {
		fp := e.hash(w.keys[j*k : (j+1)*k])
		w.fps = append(w.fps, fp)
		if w.recent != nil {
			w.recent.prefetch(fp)
		}
	}
	if w.recent != nil {
		for _, pr := range w.parents {
			for j := 0; j < pr.n; j++ {
				i := pr.from + j
				if w.recent.known(w.fps[i], w.keys[i*k:(i+1)*k], e.depth, uint64(pr.idx)<<16|uint64(j)) {
					w.skip[i] = true
				}
			}
		}
	}
	for i, fp := range w.fps {
		if !w.skip[i] {
			e.vis.prefetch(fp)
		}
	}
	for i, fp := range w.fps {
		if !w.skip[i] {
			e.vis.prefetchMore(fp)
		}
	}
	// Look up every successor not known yet; those not in the visited set
	// go to the level table, whose slots are prefetched here in turn.
	w.look = resize(w.look, total)
	for _, pr := range w.parents {
		for j := 0; j < pr.n; j++ {
			i := pr.from + j
			if w.skip[i] {
				continue
			}
			sk := w.keys[i*k : (i+1)*k : (i+1)*k]
			fp := w.fps[i]
			// Met earlier in this batch.
			if w.recent != nil && w.recent.known(fp, sk, e.depth, uint64(pr.idx)<<16|uint64(j)) {
				w.skip[i] = true
				continue
			}
			x, found := e.vis.lookup(fp, sk, e.keys)
			if found {
				w.look[i] = x
				if w.recent != nil {
					w.recent.placed(fp, sk)
				}
				continue
			}
			w.look[i] = noState
			e.lvl.prefetch(fp)
		}
	}
	for _, pr := range w.parents {
		n, pidx := pr.n, pr.idx
		w.transitions += int64(n)
		if n == 0 && !pr.quiet {
			w.deadlocks++
			w.deadMin = min(w.deadMin, pidx)
		}
		if e.graph {
			if pr.quiet {
				q := e.quiet.at(int(pidx >> 6))
				atomic.OrUint64(q, 1<<(pidx&63))
			}
			if n > 0 {
				w.edgeRoom(n + 2)
				w.edgeAdd(uint64(pidx))
				w.edgeAdd(uint64(n))
			}
		}
		for j := 0; j < n; j++ {
			i := pr.from + j
			if r := w.rows[i]; r >= 0 && int(r) < len(w.covered) {
				w.covered[r] = true
			}
			if w.skip[i] {
				continue
			}
			if x := w.look[i]; x != noState {
				if e.graph {
					w.edgeAdd(uint64(x))
				}
				continue
			}
			if probe {
				w.sawNew = true
				e.probeHit.Store(true)
				return false
			}
			sk := w.keys[i*k : (i+1)*k : (i+1)*k]
			fp := w.fps[i]
			claim := uint64(pidx)<<16 | uint64(j)
			// Found earlier in this batch with a claim no larger.
			if w.recent != nil && w.recent.known(fp, sk, e.depth, claim) {
				continue
			}
			ref, isNew, err := e.insertNew(w, fp, claim, sk)
			if err != nil {
				w.err = err
				return false
			}
			if w.recent != nil {
				w.recent.found(fp, sk, e.depth, claim)
			}
			if e.graph {
				w.edgeAdd(edgeFlag | ref)
			}
			if !isNew {
				continue
			}
			if v := w.exp.Violated(sk); v >= 0 {
				w.viol = append(w.viol, violRec{ref, v})
			}
			// The count is published every 256 states and at the end of
			// each chunk: an atomic add per state would wait for the
			// processor's pending stores each time.
			w.newLocal++
			if w.newLocal&255 == 0 {
				w.newCount.Store(w.newLocal)
				if e.opt.MaxStates > 0 {
					e.checkMaxStates()
				}
			}
		}
	}
	return true
}

// levelNew is the number of new states found so far in the level being
// expanded.
func (e *engine) levelNew() int64 {
	var sum int64
	for _, o := range e.ws {
		sum += o.newCount.Load()
	}
	return sum
}

// checkMaxStates stops the run when the states placed plus those found in
// this level exceed the limit.
func (e *engine) checkMaxStates() {
	if e.states+e.levelNew() > e.opt.MaxStates {
		e.abort.CompareAndSwap(0, abortStates)
	}
}

// insertNew records a successor that is not in the visited set: a new
// candidate if no worker has found it in this level yet, otherwise the
// claim of the existing one is lowered to claim when smaller. The shard's
// lock is taken only when other workers may insert beside this one: even
// uncontended, a lock and an unlock are two atomic operations that wait
// for the processor's pending stores (2-3% of a one-worker run on bench's
// inc2-dup2; within the noise on inc2-dup3, which waits on memory).
func (e *engine) insertNew(w *worker, fp, claim uint64, key []byte) (uint64, bool, error) {
	s := &e.lvl.shards[shardOf(fp)]
	if len(e.ws) == 1 {
		return e.insertIn(s, w, fp, claim, key)
	}
	s.mu.Lock()
	ref, isNew, err := e.insertIn(s, w, fp, claim, key)
	s.mu.Unlock()
	return ref, isNew, err
}

// insertIn is insertNew's work in shard s, under its lock if any.
func (e *engine) insertIn(s *lshard, w *worker, fp, claim uint64, key []byte) (uint64, bool, error) {
	if (s.n+1)*10 > len(s.slots)*7 {
		s.grow()
	}
	n := len(s.slots)
	for i := home(fp, n); ; i = next(i, n) {
		sl := &s.slots[i]
		if sl.fp == 0 {
			p, err := e.next[w.id].add(key)
			if err != nil {
				return 0, false, err
			}
			ref := makeRef(w.id, p)
			*sl = lslot{fp, claim, ref}
			s.n++
			return ref, true, nil
		}
		if sl.fp == fp && (e.keys == nil || string(e.candKey(sl.ref)) == string(key)) {
			if claim < sl.claim {
				sl.claim = claim
			}
			return sl.ref, false, nil
		}
	}
}

func (e *engine) candKey(ref uint64) []byte {
	w, p := splitRef(ref)
	return e.next[w].key(p)
}

// placeAhead is how many new states ahead place asks for a candidate.
const placeAhead = 8

// prefetchCand asks for candidate ref's number and, in exact mode, its
// key, which place reads next.
func (e *engine) prefetchCand(ref uint64) {
	prefetch(unsafe.Pointer(e.cand(ref)))
	if e.keys != nil {
		key := e.candKey(ref)
		prefetch(unsafe.Pointer(&key[0]))
		prefetch(unsafe.Pointer(&key[len(key)-1]))
	}
}

// inc adds one to *p and returns the sum: atomically when other workers
// may add beside this one.
func (e *engine) inc(p *uint32) uint32 {
	if len(e.ws) == 1 {
		*p++
		return *p
	}
	return atomic.AddUint32(p, 1)
}

func (e *engine) cand(ref uint64) *uint32 {
	w, p := splitRef(ref)
	return e.next[w].idx(p)
}

// place numbers the new level in the order a one-worker breadth-first
// search would (by parent index, then successor number), records parents,
// and adds the level to the visited set.
func (e *engine) place() error {
	total := 0
	for i := range e.lvl.shards {
		total += e.lvl.shards[i].n
	}
	if e.states+int64(total) > int64(noState) {
		return fmt.Errorf("engine: more than %d states", noState)
	}
	nextStart := int(e.states)
	e.cnt = resize(e.cnt, e.curN+1)
	e.cursor = resize(e.cursor, e.curN)
	e.order = resize(e.order, total)
	cnt, cursor, order := e.cnt, e.cursor, e.order
	curStart := uint64(e.curStart)
	e.parallel(numShards, func(_ *worker, si int) {
		s := &e.lvl.shards[si]
		for i := range s.slots {
			if sl := &s.slots[i]; sl.fp != 0 {
				e.inc(&cnt[sl.claim>>16-curStart+1])
			}
		}
	})
	for i := 1; i <= e.curN; i++ {
		cnt[i] += cnt[i-1]
	}
	copy(cursor, cnt[:e.curN])
	e.parallel(numShards, func(_ *worker, si int) {
		s := &e.lvl.shards[si]
		for i := range s.slots {
			if sl := &s.slots[i]; sl.fp != 0 {
				c := sl.claim
				pos := e.inc(&cursor[c>>16-curStart]) - 1
				order[pos] = (c&0xffff)<<48 | sl.ref
			}
		}
	})
	e.states += int64(total)
	ll := e.links.addLevel(cnt[:e.curN+1])
	if e.keys != nil {
		e.keys.grow(int(e.states))
	}
	if e.graph {
		e.quiet.grow(int(e.states+63) / 64)
	}
	const span = 4096
	e.parallel((e.curN+span-1)/span, func(w *worker, c int) {
		lo, hi := c*span, min((c+1)*span, e.curN)
		for q := lo; q < hi; q++ {
			if g := order[cnt[q]:cnt[q+1]]; len(g) > 1 {
				slices.Sort(g)
			}
		}
		// The span's new states in their final order. Their candidates
		// lie in the workers' arenas in the order they were found, so
		// each is asked for a few states ahead, and the cache misses of
		// reading their keys and writing their numbers overlap.
		first := int(cnt[lo])
		run := order[first:cnt[hi]]
		for j, o := range run {
			if j+placeAhead < len(run) {
				e.prefetchCand(run[j+placeAhead] & (1<<48 - 1))
			}
			idx := nextStart + first + j
			ref := o & (1<<48 - 1)
			*e.cand(ref) = uint32(idx)
			ll.setSucc(idx-nextStart, uint16(o>>48))
			if e.keys != nil {
				e.keys.put(idx, e.candKey(ref), &w.chunks)
			}
		}
	})
	e.parallel(numShards, func(w *worker, si int) {
		s := &e.lvl.shards[si]
		w.fps, w.xs = w.fps[:0], w.xs[:0]
		for i := range s.slots {
			if sl := &s.slots[i]; sl.fp != 0 {
				w.fps = append(w.fps, sl.fp)
				w.xs = append(w.xs, *e.cand(sl.ref))
			}
		}
		e.vis.add(si, w.fps, w.xs)
	})
	if e.graph {
		e.parallel(len(e.ws), func(_ *worker, i int) { e.ws[i].resolveEdges() })
	}
	return nil
}

const edgeChunk = 1 << 16

// edgeRoom makes sure the current edge chunk has room for n more words, so
// that a state's edges never straddle two chunks.
func (w *worker) edgeRoom(n int) {
	if w.edgeUsed > 0 {
		c := w.edgeTmp[w.edgeUsed-1]
		if cap(c)-len(c) >= n {
			return
		}
	}
	if w.edgeUsed < len(w.edgeTmp) && cap(w.edgeTmp[w.edgeUsed]) >= n {
		w.edgeTmp[w.edgeUsed] = w.edgeTmp[w.edgeUsed][:0]
	} else {
		c := make([]uint64, 0, max(edgeChunk, n))
		if w.edgeUsed < len(w.edgeTmp) {
			w.edgeTmp[w.edgeUsed] = c
		} else {
			w.edgeTmp = append(w.edgeTmp, c)
		}
	}
	w.edgeUsed++
}

func (w *worker) edgeAdd(x uint64) {
	c := &w.edgeTmp[w.edgeUsed-1]
	*c = append(*c, x)
}

// resolveEdges turns the level's edge targets that were candidate
// references into state indices and appends the edges to the permanent
// lists.
func (w *worker) resolveEdges() {
	const chunkCap = 1 << 20
	for _, t := range w.edgeTmp[:w.edgeUsed] {
		for len(t) > 0 {
			n := int(t[1])
			if len(w.edges) == 0 || cap(w.edges[len(w.edges)-1])-len(w.edges[len(w.edges)-1]) < n+2 {
				w.edges = append(w.edges, make([]uint32, 0, max(chunkCap, n+2)))
			}
			l := &w.edges[len(w.edges)-1]
			*l = append(*l, uint32(t[0]), uint32(n))
			for _, x := range t[2 : 2+n] {
				if x&edgeFlag != 0 {
					x = uint64(*w.e.cand(x &^ edgeFlag))
				}
				*l = append(*l, uint32(x))
			}
			t = t[2+n:]
		}
	}
	w.edgeUsed = 0
}

// advance makes the placed level the current one.
func (e *engine) advance() {
	newStart := e.curStart + e.curN
	old := e.curN
	e.curN = int(e.states) - newStart
	e.grown = float64(e.curN) / float64(max(old, 1))
	e.curStart = newStart
	for i := range e.cur {
		e.cur[i].reset()
	}
	e.cur, e.next = e.next, e.cur
	e.parallel(numShards, func(_ *worker, si int) { e.lvl.shards[si].clear() })
	e.pool.trim(len(e.ws) + (e.curN>>blockShift)/4)
	e.depth++
	for _, w := range e.ws {
		w.newLocal = 0
		w.newCount.Store(0)
	}
	e.maybeSplit()
	e.progStates.Store(e.states)
	e.progDepth.Store(int64(e.depth))
	e.progFrontier.Store(int64(e.curN))
}

// storage describes the visited set and the states it may have missed.
func (e *engine) storage() Storage {
	switch v := e.vis.(type) {
	case *bitSet:
		m := float64(uint64(1) << v.m)
		return Storage{Mode: "bitstate", Bits: int64(1) << v.m, Hashes: v.k,
			HashFactor: m / float64(max(e.states, 1)), ExpectedMissed: bitstateMissed(e.states, v.m, v.k)}
	}
	if e.opt.Exact {
		return Storage{Mode: "exact"}
	}
	return Storage{Mode: "fingerprint", Bits: 64, ExpectedMissed: FingerprintMissed(e.states)}
}

// maybeSplit makes the current level the split level of a sharded run
// when it is the first one wide enough.
func (e *engine) maybeSplit() {
	if e.opt.ShardN > 1 && e.splitDepth < 0 && e.curN >= e.opt.SplitWidth*e.opt.ShardN {
		e.splitDepth = e.depth
		e.frontier = int64(e.curN)
	}
}

// owns reports whether key, a state of the split level, is this shard's.
// The part is taken from fingerprint bits that neither hash table uses
// to place it, so that each shard's part is spread over all of them.
func (e *engine) owns(key []byte) bool {
	own := int(mix(e.hash(key), hashM3)%uint64(e.opt.ShardN)) == e.opt.ShardI
	if own {
		e.owned.Add(1)
	}
	return own
}

func resize[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	s = s[:n]
	clear(s)
	return s
}

// path returns the initial state number and the successor numbers that
// lead to state idx.
func (e *engine) path(idx uint32) []int { return e.links.path(idx) }

// memory is the bytes held by the engine's tables now.
func (e *engine) memory() int64 {
	b := e.vis.bytes() + e.lvl.bytes() + e.pool.bytes() + e.links.bytes() + e.quiet.bytes()
	if e.keys != nil {
		b += e.keys.bytes()
	}
	b += int64(cap(e.cnt)+cap(e.cursor))*4 + int64(cap(e.order))*8
	for _, w := range e.ws {
		if w.recent != nil {
			b += w.recent.bytes()
		}
		for _, c := range w.edgeTmp {
			b += int64(cap(c)) * 8
		}
		for _, l := range w.edges {
			b += int64(cap(l)) * 4
		}
	}
	return b
}

func (e *engine) track() { e.peak = max(e.peak, e.memory()) }

// checkQuiescence marks, backwards over the explored graph, every state
// from which a quiescent state is reachable, and returns the first state
// (in breadth-first order, so the one with the shortest trace) that is not
// marked.
func (e *engine) checkQuiescence() (uint32, bool, error) {
	n := int(e.states)
	var chunks [][]uint32
	targets := 0
	for _, w := range e.ws {
		for _, l := range w.edges {
			chunks = append(chunks, l)
			targets += len(l)
		}
	}
	if targets >= int(noState) {
		return 0, false, fmt.Errorf("engine: %d edges are too many for the Quiescence check", targets)
	}
	e.phase.Store(phaseQuiescence)
	forEdge := func(f func(from, to uint32)) {
		e.parallel(len(chunks), func(_ *worker, i int) {
			l := chunks[i]
			for len(l) > 0 {
				from, m := l[0], int(l[1])
				for _, to := range l[2 : 2+m] {
					f(from, to)
				}
				l = l[2+m:]
			}
		})
	}
	// Reverse graph in compressed form: the sources of target t are
	// src[off[t]:off[t+1]] (in no particular order).
	off := make([]uint32, n+1)
	forEdge(func(_, to uint32) { atomic.AddUint32(&off[to+1], 1) })
	for i := 1; i <= n; i++ {
		off[i] += off[i-1]
	}
	src := make([]uint32, off[n])
	// Fill using off[t] as t's cursor: afterwards off[t] is where t's
	// sources end, which is where t+1's begin, so shifting by one restores
	// the offsets.
	forEdge(func(from, to uint32) { src[atomic.AddUint32(&off[to], 1)-1] = from })
	copy(off[1:], off[:n])
	off[0] = 0
	e.peak = max(e.peak, e.memory()+int64(len(off)+len(src))*4)
	chunks = nil
	for _, w := range e.ws {
		w.edges = nil // the forward edges are no longer needed
	}
	// Mark backwards from the quiescent states, one layer at a time.
	marked := make([]uint64, (n+63)/64)
	var frontier []uint32
	for i := 0; i < n; i++ {
		if *e.quiet.at(i >> 6)&(1<<(i&63)) != 0 {
			marked[i>>6] |= 1 << (i & 63)
			frontier = append(frontier, uint32(i))
		}
	}
	found := make([][]uint32, len(e.ws))
	const span = 4096
	for len(frontier) > 0 {
		e.parallel((len(frontier)+span-1)/span, func(w *worker, c int) {
			for _, t := range frontier[c*span : min((c+1)*span, len(frontier))] {
				for _, s := range src[off[t]:off[t+1]] {
					word, bit := &marked[s>>6], uint64(1)<<(s&63)
					if atomic.LoadUint64(word)&bit == 0 && atomic.OrUint64(word, bit)&bit == 0 {
						found[w.id] = append(found[w.id], s)
					}
				}
			}
		})
		frontier = frontier[:0]
		for i := range found {
			frontier = append(frontier, found[i]...)
			found[i] = found[i][:0]
		}
		e.peak = max(e.peak, e.memory()+int64(len(off)+len(src)+cap(frontier))*4+int64(len(marked))*8)
	}
	for i, m := range marked {
		if want := ^uint64(0); m != want {
			for b := 0; b < 64; b++ {
				if x := i*64 + b; x < n && m&(1<<b) == 0 {
					return uint32(x), true, nil
				}
			}
		}
	}
	return 0, false, nil
}

// startProgress prints a progress line every second until the returned
// function is called.
func (e *engine) startProgress() func() {
	if e.opt.Progress == nil {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		var lastStates int64
		last := e.start
		for {
			select {
			case <-done:
				return
			case now := <-tick.C:
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				// e.states and e.curN change only between levels; reading
				// them racily here would be a data race, so progress uses
				// the atomics.
				if e.phase.Load() == phasePlace {
					fmt.Fprintf(e.opt.Progress, "explore: %d states, numbering the %d new states of depth %d, heap %d MiB\n",
						e.progStates.Load(), e.levelNew(), e.progDepth.Load()+1, ms.HeapAlloc>>20)
					continue
				}
				if e.phase.Load() == phaseQuiescence {
					fmt.Fprintf(e.opt.Progress, "explore: checking Quiescence on %d states (reverse graph, backward marking), heap %d MiB\n",
						e.progStates.Load(), ms.HeapAlloc>>20)
					continue
				}
				st := e.progStates.Load() + e.levelNew()
				rate := float64(st-lastStates) / now.Sub(last).Seconds()
				fmt.Fprintf(e.opt.Progress, "explore: %d states, %.0f states/s, depth %d, frontier %d, heap %d MiB\n",
					st, rate, e.progDepth.Load(), e.progFrontier.Load(), ms.HeapAlloc>>20)
				lastStates, last = st, now
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}
