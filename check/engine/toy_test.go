package engine

import (
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"testing"
)

// graph is a toy transition system given by explicit successor lists, over
// keys of any size (the state number is the first 4 bytes, the rest is
// filler derived from it so keys are not mostly zero).
type graph struct {
	k     int
	init  []int
	succ  [][]int
	bad   []int // invariant index each state breaks first, -1 none
	quiet []bool
	rows  int
}

func (g *graph) key(n int) []byte {
	b := make([]byte, g.k)
	binary.LittleEndian.PutUint32(b, uint32(n))
	for i := 4; i < g.k; i++ {
		b[i] = byte(n*31 + i*7)
	}
	return b
}

func (g *graph) KeySize() int { return g.k }
func (g *graph) Rows() int    { return g.rows }
func (g *graph) Initial() [][]byte {
	var out [][]byte
	for _, n := range g.init {
		out = append(out, g.key(n))
	}
	return out
}
func (g *graph) NewExpander() Expander { return g }
func (g *graph) Next(k []byte, keys []byte, rows []int32) ([]byte, []int32) {
	n := int(binary.LittleEndian.Uint32(k))
	for i, s := range g.succ[n] {
		keys = append(keys, g.key(s)...)
		rows = append(rows, int32((n+i)%g.rows))
	}
	return keys, rows
}
func (g *graph) Violated(k []byte) int {
	if g.bad == nil {
		return -1
	}
	return g.bad[binary.LittleEndian.Uint32(k)]
}
func (g *graph) Quiescent(k []byte) bool { return g.quiet[binary.LittleEndian.Uint32(k)] }

// randomGraph builds a graph of n nodes with out-degree 0..maxDeg; a few
// nodes are bad and some quiescent, with probabilities given in percent.
func randomGraph(seed uint64, n, maxDeg, badPct, quietPct, k int) *graph {
	r := rand.New(rand.NewPCG(seed, 7))
	g := &graph{k: k, succ: make([][]int, n), bad: make([]int, n), quiet: make([]bool, n), rows: 17}
	for i := range g.succ {
		d := r.IntN(maxDeg + 1)
		for range d {
			g.succ[i] = append(g.succ[i], r.IntN(n))
		}
		g.bad[i] = -1
		if r.IntN(1000) < badPct {
			g.bad[i] = r.IntN(3)
		}
		g.quiet[i] = r.IntN(100) < quietPct
	}
	g.init = []int{0}
	if r.IntN(2) == 0 {
		g.init = append(g.init, r.IntN(n), 0)
	}
	return g
}

// refResult is what a plain sequential breadth-first search finds.
type refResult struct {
	states, transitions int64
	depth               int
	violated            bool
	prop                int
	deadlock            bool
	path                []int
	deadlocks           int64
}

// reference explores g the simple way, with the same rules as the engine:
// levels in order; invariants on each new level; deadlocks (with
// quiescence) when a level is expanded; Quiescence at the end.
func reference(g *graph, quiescence bool, maxDepth int) refResult {
	var res refResult
	seen := map[int]bool{}
	parent := map[int]int{}
	succNo := map[int]int{}
	var level []int
	for i, n := range g.init {
		if !seen[n] {
			seen[n] = true
			parent[n], succNo[n] = -1, i
			level = append(level, n)
		}
	}
	var order []int
	pathTo := func(n int) []int {
		var p []int
		for n >= 0 {
			p = append(p, succNo[n])
			n = parent[n]
		}
		slices.Reverse(p)
		return p
	}
	for depth := 0; len(level) > 0; depth++ {
		res.depth = depth
		order = append(order, level...)
		res.states += int64(len(level))
		for _, n := range level {
			if g.bad[n] >= 0 {
				res.violated, res.prop, res.path = true, g.bad[n], pathTo(n)
				return res
			}
		}
		if maxDepth > 0 && depth == maxDepth {
			// The last level is only probed for states beyond the limit; its
			// transitions and deadlocks count only when there are none.
			var trans, dead int64
			beyond := false
			for _, n := range level {
				trans += int64(len(g.succ[n]))
				if len(g.succ[n]) == 0 && !g.quiet[n] {
					dead++
				}
				for _, s := range g.succ[n] {
					beyond = beyond || !seen[s]
				}
			}
			if beyond {
				return res
			}
			res.transitions += trans
			res.deadlocks += dead
			if quiescence && dead > 0 {
				for _, n := range level {
					if len(g.succ[n]) == 0 && !g.quiet[n] {
						res.violated, res.prop, res.deadlock, res.path = true, -1, true, pathTo(n)
						return res
					}
				}
			}
			break // the whole graph is within the limit
		}
		var next []int
		for _, n := range level {
			res.transitions += int64(len(g.succ[n]))
			if len(g.succ[n]) == 0 && !g.quiet[n] {
				res.deadlocks++
				if quiescence && !res.deadlock {
					res.violated, res.prop, res.deadlock, res.path = true, -1, true, pathTo(n)
				}
			}
			for j, s := range g.succ[n] {
				if !seen[s] {
					seen[s] = true
					parent[s], succNo[s] = n, j
					next = append(next, s)
				}
			}
		}
		if res.deadlock {
			return res
		}
		level = next
	}
	if quiescence {
		good := map[int]bool{}
		for _, n := range order {
			if g.quiet[n] {
				good[n] = true
			}
		}
		for changed := true; changed; {
			changed = false
			for _, n := range order {
				if good[n] {
					continue
				}
				for _, s := range g.succ[n] {
					if good[s] {
						good[n], changed = true, true
						break
					}
				}
			}
		}
		for _, n := range order {
			if !good[n] {
				res.violated, res.prop, res.path = true, -1, pathTo(n)
				break
			}
		}
	}
	return res
}

func TestEngineMatchesReferenceOnRandomGraphs(t *testing.T) {
	for seed := uint64(0); seed < 120; seed++ {
		n := 50 + int(seed*37%2000)
		g := randomGraph(seed, n, 1+int(seed%5), int(seed%4), 10+int(seed%50), 4+int(seed%61))
		for _, quiescence := range []bool{false, true} {
			maxDepth := 0
			switch seed % 7 {
			case 3:
				maxDepth = 4
			case 5:
				// A limit equal to the depth of the whole graph: the last
				// level is only probed, yet the run is complete.
				if full := reference(g, false, 0); full.depth > 0 && !full.violated {
					maxDepth = full.depth
				}
			}
			want := reference(g, quiescence, maxDepth)
			// Storage: fingerprints (packed sorted set, or the hash table
			// with Quiescence), exact, and bitstate with a table so large
			// that it misses nothing here.
			for _, mode := range []string{"fingerprint", "exact", "bitstate"} {
				if mode == "bitstate" && quiescence {
					continue
				}
				exact := mode == "exact"
				for _, workers := range []int{1, 2, 3} {
					opt := Options{Workers: workers, Exact: exact, Quiescence: quiescence, MaxDepth: maxDepth}
					if mode == "bitstate" {
						opt.Bitstate, opt.BitstateHashes = 22, 3
					}
					got, err := Run(g, opt)
					if err != nil {
						t.Fatal(err)
					}
					if got.States != want.states || got.Transitions != want.transitions || got.Depth != want.depth ||
						got.Violated != want.violated || got.Deadlocks != want.deadlocks {
						t.Fatalf("seed %d q=%v %s workers=%d: got states %d transitions %d depth %d violated %v deadlocks %d, want %d %d %d %v %d",
							seed, quiescence, mode, workers, got.States, got.Transitions, got.Depth, got.Violated, got.Deadlocks,
							want.states, want.transitions, want.depth, want.violated, want.deadlocks)
					}
					if want.violated && (got.Property != want.prop || got.Deadlock != want.deadlock || !slices.Equal(got.Path, want.path)) {
						t.Fatalf("seed %d q=%v %s workers=%d: violation prop %d deadlock %v path %v, want %d %v %v",
							seed, quiescence, mode, workers, got.Property, got.Deadlock, got.Path, want.prop, want.deadlock, want.path)
					}
				}
			}
		}
	}
}

// grid is a toy whose states are the points of a d-dimensional box of
// side m; every move adds or subtracts one on one axis.
type grid struct {
	d, m, k int
	bad     func(c []int) bool
}

func (g *grid) KeySize() int          { return g.k }
func (g *grid) Rows() int             { return 2 * g.d }
func (g *grid) NewExpander() Expander { return &gridExp{g: g, c: make([]int, g.d)} }
func (g *grid) Initial() [][]byte {
	return [][]byte{make([]byte, g.k)}
}

type gridExp struct {
	g *grid
	c []int
}

func (x *gridExp) decode(k []byte) {
	for i := range x.c {
		x.c[i] = int(binary.LittleEndian.Uint16(k[2*i:]))
	}
}

func (x *gridExp) Next(k []byte, keys []byte, rows []int32) ([]byte, []int32) {
	x.decode(k)
	for i := range x.c {
		for dir := -1; dir <= 1; dir += 2 {
			v := x.c[i] + dir
			if v < 0 || v >= x.g.m {
				continue
			}
			o := len(keys)
			keys = append(keys, k...)
			binary.LittleEndian.PutUint16(keys[o+2*i:], uint16(v))
			rows = append(rows, int32(2*i+(dir+1)/2))
		}
	}
	return keys, rows
}

func (x *gridExp) Violated(k []byte) int {
	if x.g.bad == nil {
		return -1
	}
	x.decode(k)
	if x.g.bad(x.c) {
		return 0
	}
	return -1
}

func (x *gridExp) Quiescent(k []byte) bool { return true }

func TestGridCountsPinned(t *testing.T) {
	// A 3-dimensional box of side 10: 1000 states; each axis contributes
	// 2 moves per point minus one at each face: 3*(2*1000-2*100) = 5400
	// transitions; the far corner is 27 moves away.
	for _, workers := range []int{1, 2} {
		for _, exact := range []bool{false, true} {
			got, err := Run(&grid{d: 3, m: 10, k: 24}, Options{Workers: workers, Exact: exact, Quiescence: true})
			if err != nil {
				t.Fatal(err)
			}
			if !got.Complete || got.Violated || got.States != 1000 || got.Transitions != 5400 || got.Depth != 27 {
				t.Fatalf("workers %d exact %v: %+v", workers, exact, got)
			}
			for r, c := range got.Covered {
				if !c {
					t.Errorf("row %d not covered", r)
				}
			}
		}
	}
}

func TestGridShortestCounterexampleIsFirstInBFSOrder(t *testing.T) {
	// The bad points are those with x+y+z = 5 and z >= 2. A one-worker BFS
	// orders each level by the lexicographically smallest path, counting
	// successor numbers, which are the valid moves in the order axis 0
	// down, axis 0 up, axis 1 down, ... The first bad point is (3,0,2):
	// from the origin x+ is move 0, then from (1,0,0) x+ is move 1 (x- is
	// move 0), again 1, then z+ is move 3 at (3,0,0) and move 4 at (3,0,1).
	g := &grid{d: 3, m: 10, k: 16, bad: func(c []int) bool { return c[0]+c[1]+c[2] == 5 && c[2] >= 2 }}
	for _, workers := range []int{1, 2} {
		got, err := Run(g, Options{Workers: workers})
		if err != nil {
			t.Fatal(err)
		}
		want := []int{0, 0, 1, 1, 3, 4} // initial state 0, then the moves
		if !got.Violated || got.Property != 0 || got.Depth != 5 || !slices.Equal(got.Path, want) {
			t.Fatalf("workers %d: violated %v depth %d path %v, want path %v", workers, got.Violated, got.Depth, got.Path, want)
		}
	}
}

func TestLimits(t *testing.T) {
	big := &grid{d: 6, m: 200, k: 16}
	got, err := Run(big, Options{MaxStates: 5000})
	if err != nil {
		t.Fatal(err)
	}
	if got.Complete || got.Limit != LimitStates || got.States > 5000 || got.States == 0 {
		t.Fatalf("max-states: %+v", got)
	}
	got, err = Run(big, Options{MaxDepth: 3})
	if err != nil {
		t.Fatal(err)
	}
	// Points within 3 moves of the corner of a 6-dimensional box: C(6+3,3) = 84.
	if got.Complete || got.Limit != LimitDepth || got.States != 84 || got.Depth != 3 {
		t.Fatalf("max-depth: %+v", got)
	}
	small := &grid{d: 2, m: 4, k: 8}
	got, err = Run(small, Options{MaxDepth: 6})
	if err != nil {
		t.Fatal(err)
	}
	if !got.Complete || got.Limit != "" || got.States != 16 {
		t.Fatalf("a depth limit equal to the diameter must not make the run incomplete: %+v", got)
	}
	got, err = Run(big, Options{Timeout: 1})
	if err != nil {
		t.Fatal(err)
	}
	if got.Complete || got.Limit != LimitTime {
		t.Fatalf("timeout: %+v", got)
	}
}

func TestExactModeSurvivesFingerprintCollisions(t *testing.T) {
	// A hash with only 16 distinct values collides all the time: fingerprint
	// mode then merges distinct states, exact mode must not.
	weak := func(k []byte) uint64 { return fingerprint(k)&(0xf<<60) | fingerprint(k)&0xf | 1 }
	g := randomGraph(99, 3000, 3, 0, 30, 20)
	want := reference(g, false, 0)
	if want.states < 1000 {
		t.Fatalf("the test graph should reach many states, reaches %d", want.states)
	}
	for _, workers := range []int{1, 2} {
		got, err := Run(g, Options{Workers: workers, Exact: true, hash: weak})
		if err != nil {
			t.Fatal(err)
		}
		if got.States != want.states || got.Transitions != want.transitions || got.Violated != want.violated || !slices.Equal(got.Path, want.path) {
			t.Fatalf("workers %d: got %d states, %d transitions, violated %v %v; want %d %d %v %v", workers,
				got.States, got.Transitions, got.Violated, got.Path, want.states, want.transitions, want.violated, want.path)
		}
		lossy, err := Run(g, Options{Workers: workers, hash: weak})
		if err != nil {
			t.Fatal(err)
		}
		if lossy.States >= want.states {
			t.Fatalf("the weak hash should lose states in fingerprint mode: %d of %d", lossy.States, want.states)
		}
	}
}

func TestFingerprintSpreadsShards(t *testing.T) {
	var count [numShards]int
	seen := map[uint64]bool{}
	k := make([]byte, 24)
	const n = 200000
	for i := range n {
		binary.LittleEndian.PutUint32(k, uint32(i))
		fp := fingerprint(k)
		if seen[fp] {
			t.Fatalf("collision at %d", i)
		}
		seen[fp] = true
		count[shardOf(fp)]++
	}
	for s, c := range count {
		if c < n/numShards/2 || c > n/numShards*2 {
			t.Errorf("shard %d holds %d of %d keys", s, c, n)
		}
	}
}

func TestDepthLimitAtTheDiameterKeepsQuiescence(t *testing.T) {
	// 0 -> 1 -> 2 -> 0 with 0 quiescent. With a depth limit of 2 the last
	// level {2} is only probed; its edge back to 0 must still count.
	g := &graph{k: 8, init: []int{0}, succ: [][]int{{1}, {2}, {0}}, bad: []int{-1, -1, -1}, quiet: []bool{true, false, false}, rows: 1}
	for _, workers := range []int{1, 2} {
		got, err := Run(g, Options{Workers: workers, Quiescence: true, MaxDepth: 2})
		if err != nil {
			t.Fatal(err)
		}
		if !got.Complete || got.Violated || !got.Quiesced || got.States != 3 || got.Transitions != 3 {
			t.Fatalf("workers %d: %+v", workers, got)
		}
	}
}

// TestVisitedSameInEveryStorage lists the visited fingerprints of one
// space stored as packed fingerprints, as the Quiescence check's table,
// and in exact mode (which computes them again from the stored keys): the
// lists must be the same, sorted, one per state.
func TestVisitedSameInEveryStorage(t *testing.T) {
	var lists [][]uint64
	for _, opt := range []Options{{}, {Quiescence: true}, {Exact: true}, {Exact: true, Workers: 2}} {
		var fps []uint64
		opt.Visited = func(b []uint64) error { fps = append(fps, b...); return nil }
		got, err := Run(&grid{d: 3, m: 12, k: 40}, opt)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.IsSorted(fps) || int64(len(fps)) != got.States || got.States != 12*12*12 {
			t.Fatalf("%+v: %d fingerprints (sorted %v) for %d states", opt, len(fps), slices.IsSorted(fps), got.States)
		}
		lists = append(lists, fps)
	}
	for i := 1; i < len(lists); i++ {
		if !slices.Equal(lists[i], lists[0]) {
			t.Errorf("storage %d lists other fingerprints than storage 0", i)
		}
	}
}
