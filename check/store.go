package check

import (
	"fmt"
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

// keyStore holds one key per state index (exact mode).
type keyStore struct {
	k int
	b [][]byte
}

func (s *keyStore) grow(n int) {
	for len(s.b)*blockSize < n {
		s.b = append(s.b, make([]byte, blockSize*s.k))
	}
}

func (s *keyStore) at(i int) []byte {
	o := (i & blockMask) * s.k
	return s.b[i>>blockShift][o : o+s.k : o+s.k]
}

func (s *keyStore) bytes() int64 { return int64(len(s.b)) * blockSize * int64(s.k) }

// maxArenaBlocks bounds the candidates one worker can find in one level
// (maxArenaBlocks*blockSize). The block table has a fixed length so that
// other workers may read a published candidate without racing on a slice
// header that grows.
const maxArenaBlocks = 1 << 14

// cblock is a block of candidate states: keys and the index each gets once
// its level is placed in breadth-first order.
type cblock struct {
	keys []byte
	idx  []uint32
}

// arena holds the states of one level found by one worker.
type arena struct {
	k      int
	blocks []*cblock // fixed length maxArenaBlocks
	n      int
	pool   *blockPool
}

func newArena(k int, pool *blockPool) *arena {
	return &arena{k: k, blocks: make([]*cblock, maxArenaBlocks), pool: pool}
}

// add appends key and returns its position.
func (a *arena) add(key []byte) (int, error) {
	p := a.n
	b := p >> blockShift
	if b >= maxArenaBlocks {
		return 0, fmt.Errorf("check: more than %d new states in one level for one worker", maxArenaBlocks*blockSize)
	}
	if a.blocks[b] == nil {
		a.blocks[b] = a.pool.get()
	}
	o := (p & blockMask) * a.k
	copy(a.blocks[b].keys[o:o+a.k], key)
	a.n++
	return p, nil
}

func (a *arena) key(p int) []byte {
	o := (p & blockMask) * a.k
	return a.blocks[p>>blockShift].keys[o : o+a.k : o+a.k]
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
	free  []*cblock
	total int64 // blocks allocated, in use or free
}

func (p *blockPool) get() *cblock {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := len(p.free); n > 0 {
		b := p.free[n-1]
		p.free = p.free[:n-1]
		return b
	}
	p.total++
	return &cblock{keys: make([]byte, blockSize*p.k), idx: make([]uint32, blockSize)}
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
		p.free[len(p.free)-1] = nil
		p.free = p.free[:len(p.free)-1]
		p.total--
	}
}

func (p *blockPool) bytes() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.total * blockSize * int64(p.k+4)
}
