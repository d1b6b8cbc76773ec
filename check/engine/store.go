package engine

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"slices"
	"sync"
	"unsafe"
)

// blockShift sets the size of the blocks of the growable arrays below.
// Blocks never move once allocated, so growing an array copies nothing and
// a reader holding an index is never invalidated.
const (
	blockShift = 14
	blockSize  = 1 << blockShift
	blockMask  = blockSize - 1
)

// blocks is a growable array of T in fixed-size blocks.
type blocks[T any] struct {
	b [][]T
	n int
}

func (l *blocks[T]) grow(n int) {
	for len(l.b)*blockSize < n {
		l.b = append(l.b, make([]T, blockSize))
	}
	if n > l.n {
		l.n = n
	}
}

func (l *blocks[T]) at(i int) *T { return &l.b[i>>blockShift][i&blockMask] }

func (l *blocks[T]) bytes() int64 {
	var zero T
	return int64(len(l.b)) * blockSize * int64(unsafe.Sizeof(zero))
}

// maxArenaBlocks bounds the candidates one worker can find in one level
// (maxArenaBlocks*blockSize). The block table has a fixed length so that
// other workers may read a published candidate without racing on a slice
// header that grows.
const maxArenaBlocks = 1 << 14

// groupSize is the number of keys of a delta-coded run: each group's first
// key is coded against the zero key, so decoding can start at any group.
const groupSize = 64

// cblock is a block of candidate states: keys and the index each gets once
// its level is placed in breadth-first order. Keys are stored whole (k
// bytes each, at a fixed place: exact mode compares them by reference) or,
// when nothing needs them but the expansion of the next level, delta-coded
// (see deltaEncode), with the offset of each group's first key in grp.
type cblock struct {
	keys []byte
	idx  []uint32
	grp  []uint32
	_    [64]byte // see arena
}

// arena holds the states of one level found by one worker.
type arena struct {
	k      int
	delta  bool
	blocks []*cblock // fixed length maxArenaBlocks
	n      int
	pool   *blockPool
	last   []byte // delta mode: the key added last
	// Arenas and blocks are small, allocated one after another for
	// different workers, and written by their worker at every new state:
	// without the pad, two workers' would share a cache line, which would
	// move between their processors at every write.
	_ [64]byte
}

func newArena(k int, pool *blockPool) *arena {
	return &arena{k: k, delta: pool.delta, blocks: make([]*cblock, maxArenaBlocks), pool: pool, last: make([]byte, k)}
}

// add appends key and returns its position.
func (a *arena) add(key []byte) (int, error) {
	p := a.n
	b := p >> blockShift
	if b >= maxArenaBlocks {
		return 0, fmt.Errorf("engine: more than %d new states in one level for one worker", maxArenaBlocks*blockSize)
	}
	if a.blocks[b] == nil {
		a.blocks[b] = a.pool.get()
	}
	cb := a.blocks[b]
	if a.delta {
		if p%groupSize == 0 {
			cb.grp[(p&blockMask)/groupSize] = uint32(len(cb.keys))
			clear(a.last)
		}
		cb.keys = deltaEncode(cb.keys, a.last, key)
		copy(a.last, key)
	} else {
		o := (p & blockMask) * a.k
		copy(cb.keys[o:o+a.k], key)
	}
	a.n++
	return p, nil
}

// key returns the key at p (whole keys only).
func (a *arena) key(p int) []byte {
	o := (p & blockMask) * a.k
	return a.blocks[p>>blockShift].keys[o : o+a.k : o+a.k]
}

// reader returns the keys from position p, which starts a group, on.
func (a *arena) reader(p int, buf []byte) keyReader {
	r := keyReader{a: a, p: p, cur: buf[:a.k]}
	if a.delta {
		cb := a.blocks[p>>blockShift]
		r.src = cb.keys[cb.grp[(p&blockMask)/groupSize]:]
	}
	return r
}

// keyReader reads an arena's keys in order.
type keyReader struct {
	a   *arena
	p   int
	src []byte // delta mode: the coded keys not yet read
	cur []byte
}

// next returns the next key; the slice is valid until the next call.
func (r *keyReader) next() []byte {
	p := r.p
	r.p++
	if !r.a.delta {
		return r.a.key(p)
	}
	if p%groupSize == 0 {
		clear(r.cur)
	}
	r.src = deltaDecode(r.src, r.cur)
	return r.cur
}

// deltaEncode appends key, coded against prev, to dst: a mask of the
// 8-byte words that differ (one bit a word, in as many bytes as the key
// needs), then for each of those words a mask of the bytes that differ and
// the new bytes. A successor differs from its sibling in a few bytes, so a
// 64-byte key takes 10 to 20. Whole words are compared as words and their
// byte masks computed without a loop over the bytes.
func deltaEncode(dst, prev, key []byte) []byte {
	words := (len(key) + 7) / 8
	wmBytes := (words + 7) / 8
	at := len(dst)
	dst = slices.Grow(dst, wmBytes+words+len(key))
	out := dst[:at+wmBytes+words+len(key)]
	clear(out[at : at+wmBytes])
	o := at + wmBytes
	full := len(key) / 8
	for w := 0; w < full; w++ {
		lo := w * 8
		kw := binary.LittleEndian.Uint64(key[lo:])
		m := byteMask(kw ^ binary.LittleEndian.Uint64(prev[lo:]))
		if m == 0 {
			continue
		}
		out[at+w/8] |= 1 << (w % 8)
		out[o] = m
		o++
		for ; m != 0; m &= m - 1 {
			out[o] = byte(kw >> (8 * bits.TrailingZeros8(m)))
			o++
		}
	}
	if full < words {
		lo := full * 8
		var m byte
		for i := lo; i < len(key); i++ {
			if key[i] != prev[i] {
				m |= 1 << (i - lo)
			}
		}
		if m != 0 {
			out[at+full/8] |= 1 << (full % 8)
			out[o] = m
			o++
			for i := lo; i < len(key); i++ {
				if m&(1<<(i-lo)) != 0 {
					out[o] = key[i]
					o++
				}
			}
		}
	}
	return out[:o]
}

// byteMask has bit i set when byte i (little-endian) of x is not zero.
func byteMask(x uint64) byte {
	x |= x >> 4
	x |= x >> 2
	x |= x >> 1
	x &= 0x0101010101010101
	return byte((x * 0x0102040810204080) >> 56)
}

// deltaDecode applies the coded key at the start of src to cur and returns
// the rest of src.
func deltaDecode(src, cur []byte) []byte {
	words := (len(cur) + 7) / 8
	wmBytes := (words + 7) / 8
	i := wmBytes
	for b := 0; b < wmBytes; b++ {
		for wm := src[b]; wm != 0; wm &= wm - 1 {
			w := b*8 + bits.TrailingZeros8(wm)
			m := src[i]
			i++
			base := w * 8
			for ; m != 0; m &= m - 1 {
				cur[base+bits.TrailingZeros8(m)] = src[i]
				i++
			}
		}
	}
	return src[i:]
}

func (a *arena) idx(p int) *uint32 { return &a.blocks[p>>blockShift].idx[p&blockMask] }

// reset empties the arena. Its blocks went back to the pool as the level
// was expanded.
func (a *arena) reset() {
	for i := 0; i < maxArenaBlocks && a.blocks[i] != nil; i++ {
		a.blocks[i] = nil
	}
	a.n = 0
}

// blockPool recycles candidate blocks between levels and counts the memory
// they take.
type blockPool struct {
	mu    sync.Mutex
	k     int
	delta bool
	free  []*cblock
	all   map[*cblock]bool // every block allocated, in use or free
}

func (p *blockPool) get() *cblock {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := len(p.free); n > 0 {
		b := p.free[n-1]
		p.free = p.free[:n-1]
		if p.delta {
			b.keys = b.keys[:0]
		}
		return b
	}
	b := &cblock{idx: make([]uint32, blockSize)}
	if p.delta {
		b.keys = make([]byte, 0, blockSize*16)
		b.grp = make([]uint32, blockSize/groupSize)
	} else {
		b.keys = make([]byte, blockSize*p.k)
	}
	if p.all == nil {
		p.all = map[*cblock]bool{}
	}
	p.all[b] = true
	return b
}

func (p *blockPool) put(b *cblock) {
	p.mu.Lock()
	p.free = append(p.free, b)
	p.mu.Unlock()
}

// trim frees pooled blocks beyond keep, so a peak level's memory is given
// back once levels shrink.
func (p *blockPool) trim(keep int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.free) > keep {
		delete(p.all, p.free[len(p.free)-1])
		p.free[len(p.free)-1] = nil
		p.free = p.free[:len(p.free)-1]
	}
}

// bytes is the memory of every block; called between phases, when no
// worker is appending keys.
func (p *blockPool) bytes() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	var n int64
	for b := range p.all {
		n += int64(cap(b.keys)) + int64(cap(b.idx))*4 + int64(cap(b.grp))*4
	}
	return n
}
