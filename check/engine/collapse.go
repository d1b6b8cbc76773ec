package engine

import (
	"bytes"
	"encoding/binary"
	"sync"
	"sync/atomic"
	"unsafe"
)

// keyStore holds every state's key by index (exact mode). Keys longer than
// one chunk are stored collapsed, as SPIN's COLLAPSE mode does: each
// 16-byte chunk of a key is interned in a table of its own, and a state
// keeps only the chunks' numbers, 4 bytes each. A model's key repeats few
// distinct chunks -- the hosts' control blocks, the network's slots -- so
// a 64-byte key takes 16 bytes and the tables little more. Nothing is
// lost: a key is its chunks.
type keyStore struct {
	k      int
	chunks int      // 0: keys are stored whole
	whole  [][]byte // whole keys, k bytes each, in blocks (chunks == 0)
	ids    blocks[uint32]
	tabs   []*chunkTab
}

const (
	chunkBytes = 16
	// cacheSize is the entries of a worker's cache of interned chunks, per
	// chunk position.
	cacheSize = 1 << 10
)

func newKeyStore(k int) *keyStore {
	s := &keyStore{k: k}
	if k > chunkBytes {
		s.chunks = (k + chunkBytes - 1) / chunkBytes
		for range s.chunks {
			s.tabs = append(s.tabs, newChunkTab())
		}
	}
	return s
}

func (s *keyStore) grow(n int) {
	if s.chunks == 0 {
		for len(s.whole)*blockSize < n {
			s.whole = append(s.whole, make([]byte, blockSize*s.k))
		}
		return
	}
	s.ids.grow(n * s.chunks)
}

// keyChunk returns chunk c of key, zero-padded.
func keyChunk(key []byte, c int) [2]uint64 {
	lo, hi := c*chunkBytes, min(c*chunkBytes+chunkBytes, len(key))
	if hi-lo == chunkBytes {
		return [2]uint64{binary.LittleEndian.Uint64(key[lo:]), binary.LittleEndian.Uint64(key[lo+8:])}
	}
	var b [chunkBytes]byte
	copy(b[:], key[lo:hi])
	return [2]uint64{binary.LittleEndian.Uint64(b[:]), binary.LittleEndian.Uint64(b[8:])}
}

// put stores key as state i's, interning its chunks through cache (one per
// worker; nil for none).
func (s *keyStore) put(i int, key []byte, cache *chunkCache) {
	if s.chunks == 0 {
		copy(s.wholeAt(i), key)
		return
	}
	for c := range s.chunks {
		*s.ids.at(i*s.chunks + c) = s.tabs[c].intern(keyChunk(key, c), cache.at(c))
	}
}

// equal reports whether state i's key is key.
func (s *keyStore) equal(i int, key []byte) bool {
	if s.chunks == 0 {
		return bytes.Equal(s.wholeAt(i), key)
	}
	for c := range s.chunks {
		if s.tabs[c].value(*s.ids.at(i*s.chunks + c)) != keyChunk(key, c) {
			return false
		}
	}
	return true
}

// prefetch asks for the start of state i's stored key.
func (s *keyStore) prefetch(i int) {
	if s.chunks == 0 {
		prefetch(unsafe.Pointer(&s.wholeAt(i)[0]))
	} else {
		prefetch(unsafe.Pointer(s.ids.at(i * s.chunks)))
	}
}

// wholeAt is state i's key when keys are stored whole.
func (s *keyStore) wholeAt(i int) []byte {
	o := (i & blockMask) * s.k
	return s.whole[i>>blockShift][o : o+s.k : o+s.k]
}

// key returns state i's key (for tests).
func (s *keyStore) key(i int) []byte {
	if s.chunks == 0 {
		return bytes.Clone(s.wholeAt(i))
	}
	out := make([]byte, s.chunks*chunkBytes)
	for c := range s.chunks {
		v := s.tabs[c].value(*s.ids.at(i*s.chunks + c))
		binary.LittleEndian.PutUint64(out[c*chunkBytes:], v[0])
		binary.LittleEndian.PutUint64(out[c*chunkBytes+8:], v[1])
	}
	return out[:s.k]
}

func (s *keyStore) bytes() int64 {
	b := int64(len(s.whole))*blockSize*int64(s.k) + s.ids.bytes()
	for _, t := range s.tabs {
		b += t.bytes()
	}
	return b
}

// chunkTab interns the chunks seen at one position: chunk to number under
// a lock, number to chunk without one. Values live in blocks that never
// move; a number reaches a reader only through the engine's own
// synchronisation (the level table's locks, the barrier between levels),
// after the value was written.
type chunkTab struct {
	mu   sync.Mutex
	vals atomic.Pointer[[]*[blockSize][2]uint64] // replaced, never changed, when it grows
	n    uint32
	// slots is the open-addressing table, number+1 per slot, 0 empty. A
	// slot is written once, atomically, after its value; a grown table is
	// filled before it is published. So a chunk already interned is found
	// without the lock, and only a new one (rare: a model repeats few
	// chunks) takes it.
	slots atomic.Pointer[[]uint32]
}

func newChunkTab() *chunkTab {
	t := &chunkTab{}
	t.slots.Store(new(make([]uint32, 64)))
	t.vals.Store(&[]*[blockSize][2]uint64{})
	return t
}

func (t *chunkTab) value(id uint32) [2]uint64 { return (*t.vals.Load())[id>>blockShift][id&blockMask] }

func chunkHash(v [2]uint64) uint64 { return mix(v[0]^hashM1, v[1]^hashM2) }

// intern returns v's number, adding v if it is new.
func (t *chunkTab) intern(v [2]uint64, c *cacheLine) uint32 {
	h := chunkHash(v)
	var e *cacheEntry
	if c != nil {
		e = &c[h&(cacheSize-1)]
		if e.ok && e.v == v {
			return e.id
		}
	}
	id, ok := t.find(v, h)
	if !ok {
		t.mu.Lock()
		id = t.lookupLocked(v, h)
		t.mu.Unlock()
	}
	if e != nil {
		*e = cacheEntry{v: v, id: id, ok: true}
	}
	return id
}

// find returns v's number if v is in the table; it takes no lock.
func (t *chunkTab) find(v [2]uint64, h uint64) (uint32, bool) {
	slots := *t.slots.Load()
	n := len(slots)
	for i := home(h, n); ; i = next(i, n) {
		x := atomic.LoadUint32(&slots[i])
		if x == 0 {
			return 0, false
		}
		if t.value(x-1) == v {
			return x - 1, true
		}
	}
}

func (t *chunkTab) lookupLocked(v [2]uint64, h uint64) uint32 {
	if id, ok := t.find(v, h); ok {
		return id
	}
	id := t.n
	vals := *t.vals.Load()
	if int(id>>blockShift) == len(vals) {
		grown := append(vals[:len(vals):len(vals)], new([blockSize][2]uint64))
		t.vals.Store(&grown)
		vals = grown
	}
	vals[id>>blockShift][id&blockMask] = v
	t.n++
	slots := *t.slots.Load()
	if int(t.n)*2 > len(slots) {
		// A reader of the grown table that misses id takes the lock we
		// hold, and finds it.
		grown := fresh[uint32](2 * len(slots))
		for _, x := range slots {
			if x != 0 {
				placeSlot(grown, x, chunkHash(t.value(x-1)))
			}
		}
		t.slots.Store(&grown)
		slots = grown
	}
	placeSlot(slots, id+1, h)
	return id
}

// placeSlot writes number+1 x into the first free slot of h's probe
// sequence.
func placeSlot(slots []uint32, x uint32, h uint64) {
	n := len(slots)
	i := home(h, n)
	for atomic.LoadUint32(&slots[i]) != 0 {
		i = next(i, n)
	}
	atomic.StoreUint32(&slots[i], x)
}

func (t *chunkTab) bytes() int64 {
	return int64(len(*t.vals.Load()))*blockSize*16 + int64(len(*t.slots.Load()))*4
}

// chunkCache is a worker's cache of recently interned chunks, one line per
// chunk position, so that most interning takes no lock.
type chunkCache struct{ lines []cacheLine }

type cacheLine [cacheSize]cacheEntry

type cacheEntry struct {
	v  [2]uint64
	id uint32
	ok bool
}

func (c *chunkCache) at(i int) *cacheLine {
	if c == nil {
		return nil
	}
	for len(c.lines) <= i {
		c.lines = append(c.lines, cacheLine{})
	}
	return &c.lines[i]
}
