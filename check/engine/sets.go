package engine

import (
	"encoding/binary"
	"errors"
	"math"
	"math/bits"
	"slices"
	"sync"
	"sync/atomic"
	"unsafe"
)

// packedSet keeps every 64-bit fingerprint in about 6 bytes: the top
// shardBits choose the shard, as in the hash tables; within a shard the
// fingerprints are sorted and cut into 2^q buckets by their next q bits,
// and only the remaining w = 56-q bits of each are stored, in as few whole
// bytes as hold them (6 bytes from 2^11 to 2^18 entries a shard, 5 above).
// off[b] is the position of bucket b's first entry, so a lookup reads two
// offsets and scans a bucket of 8 to 16 entries. Nothing is lost: a
// fingerprint is its shard, its bucket and its stored bits.
//
// A level is added by merging its sorted fingerprints into each shard. The
// entries are whole bytes so that, while the number of buckets stays the
// same, the merge copies the runs of old entries between two new ones as
// they are, with no decoding; when the shard has grown enough for one more
// bucket bit it is rebuilt entry by entry. The arrays a merge frees are
// kept for the next shard that needs that size (sizes are rounded to
// classes and shards grow together, so most merges reuse one).
type packedSet struct {
	shards [numShards]pshard
	pool   bytePool
}

type pshard struct {
	q    uint     // bucket bits
	w    uint     // significant stored bits per entry: 56 - q
	nb   int      // bytes per entry: w rounded up to bytes
	n    int      // entries
	off  []uint32 // 2^q+1 offsets
	data []byte   // n entries of nb bytes, plus 8 bytes of padding
}

// restBits are the bits of a fingerprint below the shard bits.
const restBits = 64 - shardBits

// bucketTarget is the fewest entries a bucket holds on average.
const bucketTarget = 8

// entryPad is the padding after a shard's entries, so that an entry is
// always read with one 8-byte load.
const entryPad = 8

func newPackedSet() *packedSet {
	p := &packedSet{}
	for i := range p.shards {
		p.shards[i].init(0)
		p.shards[i].data = make([]byte, entryPad)
	}
	return p
}

func (s *pshard) init(q uint) {
	s.q, s.w = q, restBits-q
	s.nb = int(s.w+7) / 8
	s.off = make([]uint32, 1<<q+1)
}

// bucketBits is q for a shard of n entries: about n/8 buckets.
func bucketBits(n int) uint {
	if n < 2*bucketTarget {
		return 0
	}
	return uint(min(bits.Len(uint(n/bucketTarget))-1, 24))
}

// get returns entry i's stored bits.
func (s *pshard) get(i int) uint64 {
	return binary.LittleEndian.Uint64(s.data[i*s.nb:]) & (1<<s.w - 1)
}

// guess is where r would sit in bucket b if the stored bits of its
// entries were spread evenly, which for hashes they nearly are: the scan
// starts there, and most lookups read one entry.
func (s *pshard) guess(b, r uint64) (lo, g, hi int) {
	lo, hi = int(s.off[b]), int(s.off[b+1])
	h, l := bits.Mul64(r, uint64(hi-lo))
	return lo, lo + int(h<<(64-s.w)|l>>s.w), hi
}

func (p *packedSet) lookup(fp uint64, _ []byte, _ *keyStore) (uint32, bool) {
	s := &p.shards[shardOf(fp)]
	v := fp & (1<<restBits - 1)
	b, r := v>>s.w, v&(1<<s.w-1)
	lo, i, hi := s.guess(b, r)
	if i == hi {
		i--
	}
	if i < lo {
		return 0, false
	}
	x := s.get(i)
	for x < r {
		if i++; i == hi {
			return 0, false
		}
		x = s.get(i)
	}
	for x > r {
		if i--; i < lo {
			return 0, false
		}
		x = s.get(i)
	}
	return 0, x == r
}

// prefetch asks for the bucket's offsets.
func (p *packedSet) prefetch(fp uint64) {
	s := &p.shards[shardOf(fp)]
	prefetch(unsafe.Pointer(&s.off[(fp&(1<<restBits-1))>>s.w]))
}

// prefetchMore asks for the entry where the lookup of fp starts, reading
// the bucket's offsets that prefetch asked for.
func (p *packedSet) prefetchMore(fp uint64) {
	s := &p.shards[shardOf(fp)]
	v := fp & (1<<restBits - 1)
	_, i, _ := s.guess(v>>s.w, v&(1<<s.w-1))
	prefetch(unsafe.Pointer(&s.data[i*s.nb]))
}

// add merges fps (in any order; they are sorted here) into shard si.
func (p *packedSet) add(si int, fps []uint64, _ []uint32) {
	if len(fps) == 0 {
		return
	}
	for i := range fps {
		fps[i] &= 1<<restBits - 1
	}
	slices.Sort(fps)
	s := &p.shards[si]
	var t pshard
	t.init(bucketBits(s.n + len(fps)))
	if t.q == s.q {
		p.merge(s, &t, fps)
	} else {
		p.rebuild(s, &t, fps)
	}
	p.pool.put(s.data)
	*s = t
}

// merge adds fps to s in t, which has s's buckets: the old entries between
// two new ones are copied as bytes.
func (p *packedSet) merge(s, t *pshard, fps []uint64) {
	nb := s.nb
	t.data = p.pool.get((s.n+len(fps))*nb + entryPad)
	old, out := s.data, t.data
	oi, o := 0, 0     // entries of s read, bytes of t written
	ob, added := 0, 0 // the next bucket whose offset is to be set; new entries written
	last := uint64(math.MaxUint64)
	for _, v := range fps {
		if v == last {
			continue // the caller promised distinct fingerprints, but a set stays a set
		}
		last = v
		b, r := int(v>>s.w), v&(1<<s.w-1)
		i, hi := max(oi, int(s.off[b])), int(s.off[b+1])
		for i < hi && s.get(i) < r {
			i++
		}
		if i < hi && s.get(i) == r {
			continue
		}
		for ; ob <= b; ob++ {
			t.off[ob] = s.off[ob] + uint32(added)
		}
		o += copy(out[o:], old[oi*nb:i*nb])
		oi = i
		binary.LittleEndian.PutUint64(out[o:], r)
		o += nb
		added++
	}
	copy(out[o:], old[oi*nb:s.n*nb])
	for ; ob <= 1<<s.q; ob++ {
		t.off[ob] = s.off[ob] + uint32(added)
	}
	t.n = s.n + added
	t.data = t.data[:t.n*nb+entryPad]
}

// rebuild writes s's entries and fps, merged, into t, whose number of
// buckets differs from s's, entry by entry.
func (p *packedSet) rebuild(s, t *pshard, fps []uint64) {
	t.data = p.pool.get((s.n+len(fps))*t.nb + entryPad)
	o, bucket := 0, 0
	j, last := 0, uint64(math.MaxUint64)
	put := func(v uint64) {
		if v == last {
			return // already present: the caller promised it is not, but a set stays a set
		}
		last = v
		for b := int(v >> t.w); bucket < b; bucket++ {
			t.off[bucket+1] = uint32(o)
		}
		binary.LittleEndian.PutUint64(t.data[o*t.nb:], v&(1<<t.w-1))
		o++
	}
	for b := 0; b < 1<<s.q; b++ {
		for i, end := int(s.off[b]), int(s.off[b+1]); i < end; i++ {
			v := uint64(b)<<s.w | s.get(i)
			for j < len(fps) && fps[j] < v {
				put(fps[j])
				j++
			}
			put(v)
		}
	}
	for ; j < len(fps); j++ {
		put(fps[j])
	}
	for ; bucket < 1<<t.q; bucket++ {
		t.off[bucket+1] = uint32(o)
	}
	t.n = o
	t.data = t.data[:t.n*t.nb+entryPad]
}

func (p *packedSet) walk(f func([]uint64) error) error {
	var buf []uint64
	for si := range p.shards {
		s := &p.shards[si]
		buf = buf[:0]
		for b := 0; b < 1<<s.q; b++ {
			for i, end := int(s.off[b]), int(s.off[b+1]); i < end; i++ {
				buf = append(buf, uint64(si)<<restBits|uint64(b)<<s.w|s.get(i))
			}
		}
		if len(buf) > 0 {
			if err := f(buf); err != nil {
				return err
			}
		}
	}
	return nil
}

func (p *packedSet) bytes() int64 {
	var b int64
	for i := range p.shards {
		s := &p.shards[i]
		b += int64(cap(s.off))*4 + int64(cap(s.data))
	}
	return b + p.pool.bytes()
}

// bytePool recycles the arrays of merged shards. Sizes are rounded up to
// classes a sixteenth apart, so that an array freed by one shard fits the
// next shard of about the same size.
type bytePool struct {
	mu   sync.Mutex
	free map[int][][]byte // by class size
	held int64            // bytes in free
}

func sizeClass(n int) int {
	if n <= 64 {
		return 64
	}
	step := 1 << max(0, bits.Len(uint(n))-5) // 16 to 32 classes per doubling
	return (n + step - 1) / step * step
}

// get returns an array of n bytes (not cleared: a merge writes every
// byte it reads, and the padding is never compared).
func (p *bytePool) get(n int) []byte {
	c := sizeClass(n)
	p.mu.Lock()
	if l := p.free[c]; len(l) > 0 {
		a := l[len(l)-1]
		p.free[c] = l[:len(l)-1]
		p.held -= int64(c)
		p.mu.Unlock()
		return a[:n]
	}
	p.mu.Unlock()
	return make([]byte, n, c)
}

func (p *bytePool) put(a []byte) {
	if cap(a) < 64 {
		return
	}
	c := cap(a)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.free == nil {
		p.free = map[int][][]byte{}
	}
	// Keep a few arrays of a class: a level merges the shards one per
	// worker at a time, so more would only sit there.
	if len(p.free[c]) >= 4 {
		return
	}
	p.free[c] = append(p.free[c], a[:c])
	p.held += int64(c)
}

func (p *bytePool) bytes() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.held
}

// bitSet is bitstate storage: a table of 2^m bits; a state sets k bits
// chosen from its fingerprint and counts as visited when all k are set.
// Insertions from different shards race on words, so bits are set
// atomically.
type bitSet struct {
	m    uint
	k    int
	bits []uint64
}

func newBitSet(m uint, k int) *bitSet {
	return &bitSet{m: m, k: k, bits: make([]uint64, max(1, (uint64(1)<<m)/64))}
}

// pos returns the i-th bit of fp: double hashing over two independent
// 64-bit mixes of the fingerprint.
func (s *bitSet) pos(h1, h2 uint64, i int) uint64 {
	return (h1 + uint64(i)*h2) & (1<<s.m - 1)
}

func (s *bitSet) hashes(fp uint64) (uint64, uint64) {
	return mix(fp, hashM1), mix(fp^hashM3, hashM2) | 1
}

func (s *bitSet) lookup(fp uint64, _ []byte, _ *keyStore) (uint32, bool) {
	h1, h2 := s.hashes(fp)
	for i := 0; i < s.k; i++ {
		b := s.pos(h1, h2, i)
		if s.bits[b>>6]&(1<<(b&63)) == 0 {
			return 0, false
		}
	}
	return 0, true
}

func (s *bitSet) prefetch(fp uint64) {
	h1, _ := s.hashes(fp)
	b := s.pos(h1, 0, 0)
	prefetch(unsafe.Pointer(&s.bits[b>>6]))
}

func (s *bitSet) prefetchMore(fp uint64) {
	h1, h2 := s.hashes(fp)
	b := s.pos(h1, h2, 1)
	prefetch(unsafe.Pointer(&s.bits[b>>6]))
}

func (s *bitSet) add(_ int, fps []uint64, _ []uint32) {
	for _, fp := range fps {
		h1, h2 := s.hashes(fp)
		for i := 0; i < s.k; i++ {
			b := s.pos(h1, h2, i)
			atomic.OrUint64(&s.bits[b>>6], 1<<(b&63))
		}
	}
}

var errBitstateWalk = errors.New("engine: bitstate storage keeps no fingerprints to list")

func (s *bitSet) walk(func([]uint64) error) error {
	return errBitstateWalk
}

func (s *bitSet) bytes() int64 { return int64(len(s.bits)) * 8 }

// bitstateMissed is the expected number of n states stored one after
// another in a table of m bits with k bits each that find all their bits
// already set: the sum over i of (1-e^(-k*i/m))^k, integrated numerically.
func bitstateMissed(n int64, m uint, k int) float64 {
	if n <= 1 {
		return 0
	}
	size := math.Ldexp(1, int(m))
	f := func(i float64) float64 { return math.Pow(-math.Expm1(-float64(k)*i/size), float64(k)) }
	const steps = 4096
	h := float64(n) / steps
	sum := (f(0) + f(float64(n))) / 2
	for j := 1; j < steps; j++ {
		sum += f(float64(j) * h)
	}
	return sum * h
}

// FingerprintMissed is the expected number of states lost to 64-bit
// fingerprint collisions among n states: about n^2/2^65.
func FingerprintMissed(n int64) float64 {
	x := float64(n)
	return x * x / math.Ldexp(1, 65)
}
