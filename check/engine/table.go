package engine

import (
	"math/bits"
	"slices"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Both hash tables are split into shards by the top bits of the
// fingerprint, so that one worker can own a shard while it grows it.
const (
	shardBits = 8
	numShards = 1 << shardBits
)

func shardOf(fp uint64) int { return int(fp >> (64 - shardBits)) }

// home is the first slot of fp in a visited-set shard of n slots: the low
// 32 bits of the fingerprint scaled to n (the top bits chose the shard).
// Any n works, so shards grow by half rather than double.
func home(fp uint64, n int) int { return int(uint64(uint32(fp)) * uint64(n) >> 32) }

// next is linear probing's next slot.
func next(i, n int) int {
	if i++; i == n {
		return 0
	}
	return i
}

// stateSet is the set of states of the levels already placed, by
// fingerprint. It is only read while a level is being expanded and only
// written, one shard per worker, between levels, so lookups need no
// synchronisation. Three kinds: visited (a hash table, with each state's
// index when the engine needs it), packedSet (sorted fingerprints, packed;
// the least memory that keeps every fingerprint) and bitSet (bitstate).
type stateSet interface {
	// lookup returns the index stored with fp (0 when indices are not
	// kept) and whether the state is present. With keys != nil (exact
	// mode) an entry only matches when its stored key equals key.
	lookup(fp uint64, key []byte, keys *keyStore) (uint32, bool)
	// prefetch and prefetchMore ask for what a lookup of fp reads first
	// and next, so that a loop that calls prefetch for every successor,
	// then prefetchMore (which reads what prefetch asked for), then
	// lookup, has the cache misses of all of them overlap.
	prefetch(fp uint64)
	prefetchMore(fp uint64)
	add(si int, fps []uint64, xs []uint32)
	walk(f func([]uint64) error) error
	bytes() int64
}

// visited is the set of states of the levels already placed: an
// open-addressing table (linear probing) of 64-bit fingerprints per shard,
// with the state index of each entry beside it when the engine needs it
// (exact mode compares keys by index; the Quiescence check records edges by
// index). It is only read while a level is being expanded and only written,
// one shard per worker, between levels, so lookups need no synchronisation.
type visited struct {
	withIdx bool
	shards  [numShards]vshard
}

type vshard struct {
	fps []uint64
	idx []uint32
	n   int
}

const vinit = 64 // initial slots per shard

func newVisited(withIdx bool) *visited {
	v := &visited{withIdx: withIdx}
	for i := range v.shards {
		s := &v.shards[i]
		s.fps = fresh[uint64](vinit)
		if withIdx {
			s.idx = fresh[uint32](vinit)
		}
	}
	return v
}

// lookup returns the index stored with fp (0 when indices are not kept)
// and whether fp is present. With keys != nil (exact mode), an entry only
// matches when its stored key equals key.
func (v *visited) lookup(fp uint64, key []byte, keys *keyStore) (uint32, bool) {
	s := &v.shards[shardOf(fp)]
	n := len(s.fps)
	for i := home(fp, n); ; i = next(i, n) {
		f := s.fps[i]
		if f == 0 {
			return 0, false
		}
		if f == fp {
			if keys == nil {
				if s.idx == nil {
					return 0, true
				}
				return s.idx[i], true
			}
			if keys.equal(int(s.idx[i]), key) {
				return s.idx[i], true
			}
		}
	}
}

// reserve grows shard si so that extra more entries keep the load under 0.7.
func (v *visited) reserve(si, extra int) {
	s := &v.shards[si]
	need := s.n + extra
	if need*10 <= len(s.fps)*7 {
		return
	}
	size := len(s.fps)
	for need*10 > size*7 {
		size += size / 2
	}
	old, oldIdx := s.fps, s.idx
	s.fps = fresh[uint64](size)
	if v.withIdx {
		s.idx = fresh[uint32](size)
	}
	s.n = 0
	for i, f := range old {
		if f != 0 {
			var x uint32
			if oldIdx != nil {
				x = oldIdx[i]
			}
			v.insertShard(s, f, x)
		}
	}
}

// prefetch asks for fp's home slot.
func (v *visited) prefetch(fp uint64) {
	s := &v.shards[shardOf(fp)]
	prefetch(unsafe.Pointer(&s.fps[home(fp, len(s.fps))]))
}

// prefetchMore asks for fp's home index, the second array a lookup reads.
func (v *visited) prefetchMore(fp uint64) {
	s := &v.shards[shardOf(fp)]
	if s.idx != nil {
		prefetch(unsafe.Pointer(&s.idx[home(fp, len(s.idx))]))
	}
}

// add inserts the states of shard si, whose fingerprints are fps and
// indices xs; none is present yet (duplicates of a fingerprint are allowed
// in exact mode).
func (v *visited) add(si int, fps []uint64, xs []uint32) {
	v.reserve(si, len(fps))
	s := &v.shards[si]
	for i, fp := range fps {
		var x uint32
		if xs != nil {
			x = xs[i]
		}
		v.insertShard(s, fp, x)
	}
}

// walk calls f with each shard's fingerprints in increasing order; shards
// are taken by their top bits, so the whole walk is in increasing order.
func (v *visited) walk(f func([]uint64) error) error {
	var buf []uint64
	for i := range v.shards {
		buf = buf[:0]
		for _, fp := range v.shards[i].fps {
			if fp != 0 {
				buf = append(buf, fp)
			}
		}
		if err := sortedTo(buf, f); err != nil {
			return err
		}
	}
	return nil
}

// sortedTo sorts buf, drops repeats and, when any is left, calls f with
// it (the walks' last step for each shard).
func sortedTo(buf []uint64, f func([]uint64) error) error {
	slices.Sort(buf)
	buf = slices.Compact(buf)
	if len(buf) == 0 {
		return nil
	}
	return f(buf)
}

func (v *visited) insertShard(s *vshard, fp uint64, x uint32) {
	n := len(s.fps)
	i := home(fp, n)
	for s.fps[i] != 0 {
		i = next(i, n)
	}
	s.fps[i] = fp
	if s.idx != nil {
		s.idx[i] = x
	}
	s.n++
}

func (v *visited) bytes() int64 {
	var b int64
	for i := range v.shards {
		b += int64(len(v.shards[i].fps)) * 8
		b += int64(len(v.shards[i].idx)) * 4
	}
	return b
}

// exactSet is the visited set of exact mode: an open-addressing table
// (linear probing) per shard whose slot is one word, the low 32 bits of
// the fingerprint (those that place it; the top bits chose the shard)
// beside the state's index plus one (0 is an empty slot). A lookup reads
// one slot where a table of whole fingerprints and indices reads two
// arrays, and compares the stored key whenever the 32 bits match, so
// hash collisions still cannot merge states. The whole fingerprints, when
// a walk needs them, are computed again from the stored keys.
type exactSet struct {
	shards [numShards]eshard
	keys   *keyStore
	hash   func([]byte) uint64
}

type eshard struct {
	slots []uint64
	n     int
}

func newExactSet(keys *keyStore, hash func([]byte) uint64) *exactSet {
	v := &exactSet{keys: keys, hash: hash}
	for i := range v.shards {
		v.shards[i].slots = fresh[uint64](vinit)
	}
	return v
}

func exactTag(fp uint64) uint64 { return uint64(uint32(fp)) << 32 }

func (v *exactSet) lookup(fp uint64, key []byte, keys *keyStore) (uint32, bool) {
	s := &v.shards[shardOf(fp)]
	n := len(s.slots)
	tag := exactTag(fp)
	for i := home(fp, n); ; i = next(i, n) {
		x := s.slots[i]
		if x == 0 {
			return 0, false
		}
		if x&^(1<<32-1) == tag && keys.equal(int(uint32(x)-1), key) {
			return uint32(x) - 1, true
		}
	}
}

// prefetch asks for fp's home slot.
func (v *exactSet) prefetch(fp uint64) {
	s := &v.shards[shardOf(fp)]
	prefetch(unsafe.Pointer(&s.slots[home(fp, len(s.slots))]))
}

// prefetchMore asks for the stored key of the state in fp's home slot
// when its tag is fp's, which the lookup compares next.
func (v *exactSet) prefetchMore(fp uint64) {
	s := &v.shards[shardOf(fp)]
	x := s.slots[home(fp, len(s.slots))]
	if x != 0 && x&^(1<<32-1) == exactTag(fp) {
		v.keys.prefetch(int(uint32(x) - 1))
	}
}

// add inserts the states of shard si, whose fingerprints are fps and
// indices xs; none is present yet.
func (v *exactSet) add(si int, fps []uint64, xs []uint32) {
	s := &v.shards[si]
	if need := s.n + len(fps); need*10 > len(s.slots)*7 {
		size := len(s.slots)
		for need*10 > size*7 {
			size += size / 2
		}
		old := s.slots
		s.slots, s.n = fresh[uint64](size), 0
		for _, x := range old {
			if x != 0 {
				s.insert(x)
			}
		}
	}
	for i, fp := range fps {
		s.insert(exactTag(fp) | uint64(xs[i]+1))
	}
}

// insert places slot x, whose top half is the low half of its fingerprint.
func (s *eshard) insert(x uint64) {
	n := len(s.slots)
	i := home(x>>32, n)
	for s.slots[i] != 0 {
		i = next(i, n)
	}
	s.slots[i] = x
	s.n++
}

// walk calls f with each shard's fingerprints in increasing order,
// hashing the stored keys again.
func (v *exactSet) walk(f func([]uint64) error) error {
	var buf []uint64
	for i := range v.shards {
		buf = buf[:0]
		for _, x := range v.shards[i].slots {
			if x != 0 {
				buf = append(buf, v.hash(v.keys.key(int(uint32(x)-1))))
			}
		}
		if err := sortedTo(buf, f); err != nil {
			return err
		}
	}
	return nil
}

func (v *exactSet) bytes() int64 {
	var b int64
	for i := range v.shards {
		b += int64(len(v.shards[i].slots)) * 8
	}
	return b
}

// level is the table of the states found in the level being expanded:
// fingerprint, the smallest claim seen so far (parent index << 16 |
// successor number, which orders states as a one-worker breadth-first search
// would) and a reference to the candidate that holds the key. Workers insert
// under the shard's lock; the candidate's key is written before the entry is
// published, so exact-mode comparisons under the same lock see it.
type level struct {
	shards [numShards]lshard
}

type lshard struct {
	mu    sync.Mutex
	slots []lslot
	n     int
	// view is slots for prefetch, which runs without the lock; published
	// whenever slots is replaced.
	view atomic.Pointer[[]lslot]
	_    [16]byte // keep shards' locks on separate cache lines
}

// lslot is one entry of the level table; the three words sit together so
// that a probe touches one cache line.
type lslot struct {
	fp, claim, ref uint64
}

const linit = 16

func newLevel() *level {
	l := &level{}
	for i := range l.shards {
		l.shards[i].alloc(linit)
	}
	return l
}

func (s *lshard) alloc(size int) {
	s.slots = fresh[lslot](size)
	s.n = 0
	s.publish()
}

func (s *lshard) publish() {
	v := s.slots
	s.view.Store(&v)
}

// prefetch asks for fp's home slot in the level table, without the lock,
// so that its cache miss overlaps with others before insertNew takes the
// lock. (The slots may be replaced meanwhile: a prefetch of the old ones
// is only wasted.)
func (l *level) prefetch(fp uint64) {
	v := *l.shards[shardOf(fp)].view.Load()
	prefetch(unsafe.Pointer(&v[home(fp, len(v))]))
}

// grow makes the shard half as large again; any size works, since slots
// are placed by home, as in the visited set.
func (s *lshard) grow() {
	old := s.slots
	s.alloc(len(old) + len(old)/2)
	n := len(s.slots)
	for _, o := range old {
		if o.fp == 0 {
			continue
		}
		i := home(o.fp, n)
		for s.slots[i].fp != 0 {
			i = next(i, n)
		}
		s.slots[i] = o
		s.n++
	}
	s.publish()
}

// clear empties the shard for the next level.
func (s *lshard) clear() {
	clear(s.slots)
	s.n = 0
}

// reserve resizes an empty shard to hold n entries under a load of 0.7,
// growing it, or shrinking it when it is far larger than needed.
func (s *lshard) reserve(n int) {
	want := max(linit, n*10/7+1)
	if len(s.slots) < want || len(s.slots) > 2*want {
		s.alloc(want)
	}
}

func (l *level) bytes() int64 {
	var b int64
	for i := range l.shards {
		b += int64(len(l.shards[i].slots)) * 24
	}
	return b
}

// Candidate references: worker number and position in its arena.
const refPosBits = 40

func makeRef(w, p int) uint64 { return uint64(w)<<refPosBits | uint64(p) }

func splitRef(r uint64) (w, p int) { return int(r >> refPosBits), int(r & (1<<refPosBits - 1)) }

// recentSet is a worker's cache of the states it met lately: a
// direct-mapped table small enough to stay in the processor's caches, by
// fingerprint, with the state's key in exact mode (where a fingerprint
// alone does not name a state). A successor it holds needs no lookup in
// the visited set or the level table: either it was placed in an earlier
// level, or the worker found it in this level with a claim no larger, so
// the level table already holds that claim or a smaller one. Successors
// of states expanded one after another are often the same states (two
// independent steps taken in either order), so in the model more than half
// of all successors are answered here.
type recentSet struct {
	k     int // key size in exact mode; 0 in fingerprint mode
	slots []recentSlot
	keys  []byte // exact mode: slot i's key at i*k
}

type recentSlot struct {
	fp  uint64 // 0: empty
	tag uint64 // 0: placed in an earlier level; else the level it was found in, plus one, << 48 | the claim
}

// The cache has 2^6 slots at least, about one for every 8 states stored,
// and takes at most about 2 MiB.
const (
	recentMinBits = 6
	recentBytes   = 2 << 20
)

// size makes the cache fit a run that has stored states so far; growing
// it forgets what it held.
func (r *recentSet) size(states int64) {
	maxBits := bits.Len(uint(recentBytes/(16+r.k))) - 1
	b := min(max(bits.Len64(uint64(states)/8), recentMinBits), maxBits)
	if len(r.slots) < 1<<b {
		r.slots = make([]recentSlot, 1<<b)
		r.keys = make([]byte, r.k<<b)
	}
}

func (r *recentSet) slot(fp uint64) int { return int((fp >> 24) & uint64(len(r.slots)-1)) }

// prefetch asks for fp's slot.
func (r *recentSet) prefetch(fp uint64) { prefetch(unsafe.Pointer(&r.slots[r.slot(fp)])) }

// known reports whether a successor with fingerprint fp, key and claim,
// met in the expansion of level depth, needs no other lookup.
func (r *recentSet) known(fp uint64, key []byte, depth int, claim uint64) bool {
	i := r.slot(fp)
	s := &r.slots[i]
	if s.fp != fp || fp == 0 {
		return false
	}
	if r.k > 0 && string(r.keys[i*r.k:(i+1)*r.k]) != string(key) {
		return false
	}
	if s.tag>>48 != uint64(depth)+1 {
		return true // placed before this level began
	}
	return s.tag&(1<<48-1) <= claim
}

// placed records a state of an earlier level.
func (r *recentSet) placed(fp uint64, key []byte) { r.put(fp, key, 0) }

// found records a state found in level depth with claim, which the level
// table now holds, or a smaller one.
func (r *recentSet) found(fp uint64, key []byte, depth int, claim uint64) {
	r.put(fp, key, (uint64(depth)+1)<<48|claim)
}

func (r *recentSet) put(fp uint64, key []byte, tag uint64) {
	i := r.slot(fp)
	r.slots[i] = recentSlot{fp: fp, tag: tag}
	copy(r.keys[i*r.k:(i+1)*r.k], key)
}

func (r *recentSet) bytes() int64 { return int64(len(r.slots))*16 + int64(len(r.keys)) }
