package engine

import (
	"sync/atomic"
	"testing"
	"time"
)

// Every chunk of every worker's list is handed out exactly once, whatever
// the lists' lengths and however the workers race for the last ones.
func TestParallelOwnedTakesEachChunkOnce(t *testing.T) {
	for _, workers := range []int{1, 2, 3, 5} {
		e := newEngine(&graph{k: 4, rows: 1}, Options{Workers: workers})
		for trial := 0; trial < 50; trial++ {
			lists := make([][]chunk, workers)
			var seen [][]atomic.Int32
			for i := range lists {
				n := (trial*7 + i*13) % 40 // some lists empty
				if i == 0 {
					n = trial * 3
				}
				for p := 0; p < n; p++ {
					// The chunk names itself: from is its list, to its place there.
					lists[i] = append(lists[i], chunk{from: i, to: p})
				}
				seen = append(seen, make([]atomic.Int32, n))
			}
			e.parallelOwned(lists, func(_ *worker, c chunk) { seen[c.from][c.to].Add(1) })
			for i := range seen {
				for p := range seen[i] {
					if n := seen[i][p].Load(); n != 1 {
						t.Fatalf("%d workers, trial %d: chunk %d of list %d taken %d times, want once", workers, trial, p, i, n)
					}
				}
			}
		}
	}
}

// A worker whose own list is done takes the others' from their backs, so
// a slow worker does not hold up the level.
func TestParallelOwnedSteals(t *testing.T) {
	e := newEngine(&graph{k: 4, rows: 1}, Options{Workers: 2})
	lists := [][]chunk{{{to: 0}, {to: 1}, {to: 2}, {to: 3}}, nil}
	stolen := make(chan struct{})
	var first atomic.Int32
	first.Store(-1)
	e.parallelOwned(lists, func(w *worker, c chunk) {
		if w.id == 1 {
			if first.CompareAndSwap(-1, int32(c.to)) {
				close(stolen)
			}
			return
		}
		select {
		case <-stolen:
		case <-time.After(10 * time.Second):
			t.Error("worker 1, its own list empty, took none of worker 0's chunks in 10 s")
		}
	})
	if f := first.Load(); f != 3 {
		t.Errorf("worker 1 first took chunk %d of worker 0's list, want the last, 3", f)
	}
}
