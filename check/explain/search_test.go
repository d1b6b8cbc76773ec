package explain

import (
	"slices"
	"testing"

	"github.com/tcpcheck/tcpcheck/model"
)

// referenceSearch is the plainest breadth-first search over (state, marks)
// pairs: a queue, a map of pairs seen, successors taken in Next's order,
// and the first pair discovered that reaches the goal. It returns the
// successor numbers of the path, or ok false when the goal is unreachable.
func referenceSearch(sys *model.System, start model.Key, g Goal) (path []int, ok bool) {
	type pair struct {
		key   model.Key
		marks uint8
	}
	type node struct {
		pair
		parent, succ int
	}
	if g.reached(sys, start, sys.Decode(start), 0) {
		return []int{}, true
	}
	nodes := []node{{pair{start, 0}, -1, 0}}
	seen := map[pair]bool{{start, 0}: true}
	for i := 0; i < len(nodes); i++ {
		cur := nodes[i]
		before := sys.Decode(cur.key)
		for j, t := range sys.Next(cur.key, nil) {
			after := sys.Decode(t.To)
			m := cur.marks
			if g.Marks != nil {
				m |= g.Marks(before, after, t.Step)
			}
			p := pair{t.To, m}
			if seen[p] {
				continue
			}
			seen[p] = true
			nodes = append(nodes, node{p, i, j})
			if g.reached(sys, t.To, after, m) {
				for n := len(nodes) - 1; nodes[n].parent >= 0; n = nodes[n].parent {
					path = append(path, nodes[n].succ)
				}
				slices.Reverse(path)
				return path, true
			}
		}
	}
	return nil, false
}

// TestSearchIsFirstShortestWitness checks that the engine-backed Search
// returns, for every goal of the pages and for each of a few starting
// states on the way to it, the same path as the plain reference search:
// the first of the shortest witnesses in breadth-first order, which is what
// keeps the pages' traces stable.
func TestSearchIsFirstShortestWitness(t *testing.T) {
	n := 0
	for _, p := range mustPages(t) {
		for _, sc := range p.Scenes {
			if sc.Goal == nil || sc.Mutant != "" {
				continue
			}
			cfg := sc.Config
			if sc.ConfigOf != "" {
				var err error
				if cfg, err = model.MutantConfig(sc.ConfigOf); err != nil {
					t.Fatal(err)
				}
			}
			sys, err := model.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			start := sys.Init()[0]
			first, err := Search(sys, start, *sc.Goal)
			if err != nil {
				t.Fatalf("%s / %s: %v", p.Slug, sc.Title, err)
			}
			// From the start and from states along the first trace (where
			// marks set before are forgotten, so the goal may lie further).
			starts := []model.Key{start}
			for i := 1; i < len(first); i += 3 {
				starts = append(starts, first[i].To)
			}
			for _, from := range starts {
				want, ok := referenceSearch(sys, from, *sc.Goal)
				got, err := Search(sys, from, *sc.Goal)
				if !ok {
					if err == nil {
						t.Errorf("%s / %s: Search found a path the reference search says does not exist", p.Slug, sc.Title)
					}
					continue
				}
				if err != nil {
					t.Fatalf("%s / %s: %v", p.Slug, sc.Title, err)
				}
				idx, err := Indices(sys, from, got)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(idx, want) {
					t.Errorf("%s / %s: Search took successors %v, the reference search %v", p.Slug, sc.Title, idx, want)
				}
				n++
			}
		}
	}
	if n < 20 {
		t.Fatalf("only %d searches compared", n)
	}
}
