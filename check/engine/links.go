package engine

import (
	"math/bits"
	"sort"
	"sync"
)

// links records how each state was reached -- its parent and its
// successor number among the parent's successors -- in about 1.3 bytes a
// state instead of 6. A level is numbered by parent, so the parents of its
// states never decrease: for each state of the level before, in order, the
// level's bit vector holds a 1 for each of its children and then a 0, and
// the parent of the level's r-th state is the number of 0s before the r-th
// 1. The successor numbers are one byte each; the rare one above 254 is
// kept aside.
type links struct {
	start []uint32  // start[L]: the index of level L's first state
	init  []uint16  // level 0: each initial state's number among Space.Initial
	lv    []*lLinks // lv[L-1] for level L >= 1
}

type lLinks struct {
	ones []uint64
	succ []uint8
	mu   sync.Mutex
	big  map[uint32]uint16 // successor numbers >= bigSucc, by position in the level
}

const bigSucc = 255

// addInit records level 0: n states, the i-th the initial state numbered
// nums[i].
func (l *links) addInit(nums []uint16) {
	l.start = append(l.start[:0], 0, uint32(len(nums)))
	l.init = nums
}

// addLevel records a level whose states have parents in the last level
// recorded: the children of its q-th state are the new level's states
// cnt[q] to cnt[q+1]-1. It returns the level's record, for setSucc.
func (l *links) addLevel(cnt []uint32) *lLinks {
	parents := len(cnt) - 1
	n := int(cnt[parents])
	ll := &lLinks{ones: make([]uint64, (n+parents+63)/64), succ: make([]uint8, n)}
	for q := 0; q < parents; q++ {
		for b := int(cnt[q]) + q; b < int(cnt[q+1])+q; b++ {
			ll.ones[b>>6] |= 1 << (b & 63)
		}
	}
	l.lv = append(l.lv, ll)
	l.start = append(l.start, l.start[len(l.start)-1]+uint32(n))
	return ll
}

// setSucc records the successor number of the level's r-th state; calls
// for different r may run at once.
func (ll *lLinks) setSucc(r int, s uint16) {
	if s < bigSucc {
		ll.succ[r] = uint8(s)
		return
	}
	ll.succ[r] = bigSucc
	ll.mu.Lock()
	if ll.big == nil {
		ll.big = map[uint32]uint16{}
	}
	ll.big[uint32(r)] = s
	ll.mu.Unlock()
}

// path returns the initial state number and the successor numbers that
// lead to state idx.
func (l *links) path(idx uint32) []int {
	L := sort.Search(len(l.start), func(i int) bool { return l.start[i] > idx }) - 1
	rev := []int{}
	for ; L > 0; L-- {
		ll := l.lv[L-1]
		r := int(idx - l.start[L])
		s := int(ll.succ[r])
		if s == bigSucc {
			s = int(ll.big[uint32(r)])
		}
		rev = append(rev, s)
		idx = l.start[L-1] + uint32(select1(ll.ones, r)-r)
	}
	rev = append(rev, int(l.init[idx]))
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	return rev
}

// select1 returns the position of the r-th 1 (from 0) in v.
func select1(v []uint64, r int) int {
	for i, w := range v {
		c := bits.OnesCount64(w)
		if r < c {
			for ; ; r-- {
				b := bits.TrailingZeros64(w)
				if r == 0 {
					return i*64 + b
				}
				w &= w - 1
			}
		}
		r -= c
	}
	panic("engine: internal error: select1 past the end of a level's links")
}

func (l *links) bytes() int64 {
	b := int64(cap(l.start))*4 + int64(cap(l.init))*2
	for _, ll := range l.lv {
		b += int64(cap(ll.ones))*8 + int64(cap(ll.succ)) + int64(len(ll.big))*16
	}
	return b
}
