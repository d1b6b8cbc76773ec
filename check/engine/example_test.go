package engine_test

import (
	"fmt"

	"github.com/tcpcheck/tcpcheck/check/engine"
)

// jugs is the puzzle of a 3-litre and a 5-litre jug: a state is the litres
// in each, one byte each; a move fills a jug, empties it, or pours one into
// the other until the first is empty or the second full.
type jugs struct{}

func (jugs) KeySize() int                 { return 2 }
func (jugs) Initial() [][]byte            { return [][]byte{{0, 0}} }
func (jugs) Rows() int                    { return 6 }
func (jugs) NewExpander() engine.Expander { return jugs{} }

var moves = []string{"fill A", "fill B", "empty A", "empty B", "pour A into B", "pour B into A"}

func (jugs) Next(k, keys []byte, rows []int32) ([]byte, []int32) {
	a, b := k[0], k[1]
	ab, ba := min(a, 5-b), min(b, 3-a)
	for m, s := range [][2]byte{{3, b}, {a, 5}, {0, b}, {a, 0}, {a - ab, b + ab}, {a + ba, b - ba}} {
		keys, rows = append(keys, s[0], s[1]), append(rows, int32(m))
	}
	return keys, rows
}

// Violated breaks the invariant "B never holds 4 litres": the goal, as a
// property whose shortest counterexample is the shortest way to reach it.
func (jugs) Violated(k []byte) int {
	if k[1] == 4 {
		return 0
	}
	return -1
}

func (jugs) Quiescent([]byte) bool { return true }

// Run finds the shortest way to measure 4 litres; the path gives the
// successor numbers, here the moves.
func ExampleRun() {
	res, err := engine.Run(jugs{}, engine.Options{Workers: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("reached:", res.Violated, "in", len(res.Path)-1, "moves")
	for _, m := range res.Path[1:] {
		fmt.Println(moves[m])
	}
	// Output:
	// reached: true in 6 moves
	// fill B
	// pour B into A
	// empty A
	// pour B into A
	// fill B
	// pour B into A
}
