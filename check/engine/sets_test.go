package engine

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestPackedSetAgainstMap adds levels of random fingerprints, some sharing
// buckets and stored bits with others, and compares every lookup and the
// walk with a map. The levels double the set at first, so that shards are
// rebuilt with more buckets, and then add a few each, so that they are
// merged into the same buckets.
func TestPackedSetAgainstMap(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	p := newPackedSet()
	want := map[uint64]bool{}
	for level := 0; level < 18; level++ {
		size := 1 << level * 40
		if level >= 12 {
			size = 1000 << (level - 12)
		}
		byShard := map[int][]uint64{}
		for i := 0; i < size; i++ {
			fp := r.Uint64() | 1
			if i%7 == 0 {
				fp = fp&^0xffff | 0x1234 // same low bits as others
			}
			if want[fp] {
				continue
			}
			want[fp] = true
			byShard[shardOf(fp)] = append(byShard[shardOf(fp)], fp)
		}
		for si, fps := range byShard {
			p.add(si, slices.Clone(fps), nil)
		}
		for fp := range want {
			if _, ok := p.lookup(fp, nil, nil); !ok {
				t.Fatalf("level %d: %#x added but not found", level, fp)
			}
		}
		for i := 0; i < 10000; i++ {
			fp := r.Uint64() | 1
			if _, ok := p.lookup(fp, nil, nil); ok != want[fp] {
				t.Fatalf("level %d: lookup(%#x) = %v, want %v", level, fp, ok, want[fp])
			}
		}
	}
	var got []uint64
	if err := p.walk(func(b []uint64) error { got = append(got, b...); return nil }); err != nil {
		t.Fatal(err)
	}
	if !slices.IsSorted(got) || len(got) != len(want) {
		t.Fatalf("walk: %d fingerprints (sorted %v), want %d", len(got), slices.IsSorted(got), len(want))
	}
	for _, fp := range got {
		if !want[fp] {
			t.Fatalf("walk returned %#x, never added", fp)
		}
	}
	// At this size a shard holds under 2^11 entries, of 7 bytes each;
	// BenchmarkSetLookup reports the 6.5 of larger shards.
	if per := float64(p.bytes()) / float64(len(want)); per > 9 {
		t.Errorf("%.1f bytes per fingerprint, want at most 9 (about 8.5 at this size)", per)
	}
}

func TestBitSet(t *testing.T) {
	s := newBitSet(20, 3)
	r := rand.New(rand.NewPCG(3, 4))
	var in []uint64
	for i := 0; i < 1000; i++ {
		in = append(in, r.Uint64()|1)
	}
	s.add(0, in, nil)
	for _, fp := range in {
		if _, ok := s.lookup(fp, nil, nil); !ok {
			t.Fatalf("%#x added but not found", fp)
		}
	}
	false_ := 0
	for i := 0; i < 100000; i++ {
		if _, ok := s.lookup(r.Uint64()|1, nil, nil); ok {
			false_++
		}
	}
	// 3000 bits set of 2^20: a false positive needs 3 set bits, about
	// (3000/2^20)^3 = 2.3e-8 each.
	if false_ > 2 {
		t.Errorf("%d false positives in 100000 lookups, want about 0", false_)
	}
	if err := s.walk(func([]uint64) error { return nil }); err == nil {
		t.Error("walk of a bitstate set: no error")
	}
}

func TestBitstateMissed(t *testing.T) {
	// Far more bits than states: almost nothing is missed.
	if m := bitstateMissed(1000, 30, 3); m > 1e-9 {
		t.Errorf("1000 states in 2^30 bits: %g missed, want ~0", m)
	}
	// A table too small: most states are missed. n = m bits, k = 1:
	// sum of 1-e^(-i/m) over i < m is m/e.
	n := int64(1 << 16)
	got, want := bitstateMissed(n, 16, 1), float64(n)/2.718281828
	if got < want*0.99 || got > want*1.01 {
		t.Errorf("2^16 states, 2^16 bits, 1 hash: %g missed, want about %g", got, want)
	}
}

// BenchmarkSetLookup compares lookups (half present, half absent) in the
// fingerprint sets at 8 million states: the hash table the engine keeps
// with indices, and the packed sorted set of fingerprint mode.
func BenchmarkSetLookup(b *testing.B) {
	const n = 8 << 20
	r := rand.New(rand.NewPCG(5, 6))
	fps := make([]uint64, n)
	byShard := make([][]uint64, numShards)
	for i := range fps {
		fps[i] = r.Uint64() | 1
		byShard[shardOf(fps[i])] = append(byShard[shardOf(fps[i])], fps[i])
	}
	sets := []struct {
		name string
		s    stateSet
	}{{"hash", newVisited(false)}, {"packed", newPackedSet()}}
	for _, c := range sets {
		for si, l := range byShard {
			c.s.add(si, slices.Clone(l), make([]uint32, len(l)))
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportMetric(float64(c.s.bytes())/n, "bytes/state")
			found := 0
			for i := 0; i < b.N; i++ {
				fp := fps[i&(n-1)]
				if i&1 == 1 {
					fp = r.Uint64() | 1
				}
				if _, ok := c.s.lookup(fp, nil, nil); ok {
					found++
				}
			}
			if b.N > 2 && found == 0 {
				b.Fatal("nothing found")
			}
		})
	}
}

// TestDeltaCoding codes runs of keys of several sizes, each a few bytes
// away from the one before, and decodes them back.
func TestDeltaCoding(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, k := range []int{1, 7, 8, 13, 64, 65, 130} {
		var keys [][]byte
		prev := make([]byte, k)
		var coded []byte
		for i := 0; i < 200; i++ {
			key := slices.Clone(prev)
			if i%groupSize == 0 {
				prev = make([]byte, k) // a group starts from the zero key
			}
			for j := r.IntN(4); j >= 0; j-- {
				key[r.IntN(k)] = byte(r.Uint32())
			}
			coded = deltaEncode(coded, prev, key)
			keys = append(keys, key)
			prev = key
		}
		cur := make([]byte, k)
		for i, want := range keys {
			if i%groupSize == 0 {
				clear(cur)
			}
			coded = deltaDecode(coded, cur)
			if !slices.Equal(cur, want) {
				t.Fatalf("k=%d key %d: decoded %x, want %x", k, i, cur, want)
			}
		}
		if len(coded) != 0 {
			t.Fatalf("k=%d: %d bytes left after decoding", k, len(coded))
		}
	}
}

// TestKeyStoreCollapse stores keys whose chunks repeat, whole (k <= 16)
// and collapsed (k > 16), from several goroutines, and reads them back.
func TestKeyStoreCollapse(t *testing.T) {
	for _, k := range []int{8, 16, 17, 40, 64} {
		s := newKeyStore(k)
		const n = 20000
		s.grow(n)
		keys := make([][]byte, n)
		r := rand.New(rand.NewPCG(9, uint64(k)))
		for i := range keys {
			keys[i] = make([]byte, k)
			for j := range keys[i] {
				keys[i][j] = byte(r.IntN(3)) // few distinct chunks, as in a model
			}
		}
		done := make(chan bool)
		for g := 0; g < 4; g++ {
			go func() {
				var cache chunkCache
				for i := g; i < n; i += 4 {
					s.put(i, keys[i], &cache)
				}
				done <- true
			}()
		}
		for range 4 {
			<-done
		}
		for i, want := range keys {
			if got := s.key(i); !slices.Equal(got, want) {
				t.Fatalf("k=%d state %d: key %x, want %x", k, i, got, want)
			}
			if !s.equal(i, want) {
				t.Fatalf("k=%d state %d: equal(its own key) is false", k, i)
			}
			other := slices.Clone(want)
			other[r.IntN(k)] ^= 0x80
			if s.equal(i, other) {
				t.Fatalf("k=%d state %d: equal(a different key) is true", k, i)
			}
		}
	}
}

// TestByteMask compares byteMask with a loop over the bytes.
func TestByteMask(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for i := 0; i < 100000; i++ {
		x := r.Uint64()
		for b := 0; b < 8; b++ {
			if r.IntN(2) == 0 {
				x &^= 0xff << (8 * b)
			}
		}
		var want byte
		for b := 0; b < 8; b++ {
			if x>>(8*b)&0xff != 0 {
				want |= 1 << b
			}
		}
		if got := byteMask(x); got != want {
			t.Fatalf("byteMask(%#x) = %08b, want %08b", x, got, want)
		}
	}
}

// TestExactSetFindsByKey adds states to exact mode's visited set in levels
// and checks that each is found by its key with its index, that a key
// whose fingerprint matches a stored state's is not, and that the table
// stays within its load (8-byte slots at least 0.7/1.5 full once grown).
func TestExactSetFindsByKey(t *testing.T) {
	const k = 40
	keys := newKeyStore(k)
	v := newExactSet(keys, fingerprint)
	key := func(i int) []byte {
		b := make([]byte, k)
		b[0], b[1], b[2], b[39] = byte(i), byte(i>>8), byte(i>>16), 7
		return b
	}
	n := 0
	for level := 0; level < 10; level++ {
		byShard := map[int][]uint64{}
		idx := map[int][]uint32{}
		keys.grow(n + 1000<<level)
		for i := n; i < n+1000<<level; i++ {
			keys.put(i, key(i), nil)
			fp := fingerprint(key(i))
			byShard[shardOf(fp)] = append(byShard[shardOf(fp)], fp)
			idx[shardOf(fp)] = append(idx[shardOf(fp)], uint32(i))
		}
		n += 1000 << level
		for si, fps := range byShard {
			v.add(si, fps, idx[si])
		}
	}
	for i := 0; i < n; i += 7 {
		if x, ok := v.lookup(fingerprint(key(i)), key(i), keys); !ok || int(x) != i {
			t.Fatalf("state %d: lookup = %d, %v", i, x, ok)
		}
		if _, ok := v.lookup(fingerprint(key(i)), key(n+i), keys); ok {
			t.Fatalf("state %d's fingerprint with another key found", i)
		}
	}
	if per := float64(v.bytes()) / float64(n); per > 8/0.7*1.5+1 {
		t.Errorf("%.1f bytes a state in the exact set, want at most %.1f", per, 8/0.7*1.5+1)
	}
}
