package lin

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/anishathalye/porcupine"
)

// Corruption is one change to a recorded history that no correct endpoint
// could have produced. [Corrupt] makes it; the check must then say Illegal.
// Each relies only on what the workload guarantees: one writer and one
// reader per side of a connection, so each side's reads are ordered in
// real time and see the peer's writes as one fixed byte stream.
type Corruption string

// The corruptions.
const (
	// ForgedOctet changes one octet of the text one read returned.
	ForgedOctet Corruption = "forged-octet"
	// SwappedReads exchanges the texts two successive reads of one side
	// returned, as if the endpoint delivered two segments out of order.
	SwappedReads Corruption = "swapped-reads"
	// ReadBeforeWrite moves a side's first read that returned text to
	// before the peer's first write: the read returns octets nobody has
	// written yet.
	ReadBeforeWrite Corruption = "read-before-write"
	// LostAccept removes the Accept of one established connection: its
	// dial succeeded, yet the listener never handed it out.
	LostAccept Corruption = "lost-accept"
)

// Corruptions lists every corruption.
var Corruptions = []Corruption{ForgedOctet, SwappedReads, ReadBeforeWrite, LostAccept}

// Corrupt returns a copy of ops with one corruption c at a place drawn
// with seed, and says what it changed. ops is not modified.
func Corrupt(ops []porcupine.Operation, c Corruption, seed uint64) ([]porcupine.Operation, string, error) {
	rng := rand.New(rand.NewPCG(seed, seed^0x6a09e667f3bcc908))
	out := slices.Clone(ops)
	pick := func(cands []int) int { return cands[rng.IntN(len(cands))] }
	switch c {
	case ForgedOctet:
		cands := indexes(ops, func(in Input, o Output) bool { return in.Kind == Read && o.Err == ErrNone && o.Data != "" })
		if len(cands) == 0 {
			return nil, "", fmt.Errorf("lin: corrupt %s: the history has no read that returned text", c)
		}
		i := pick(cands)
		in, o := ops[i].Input.(Input), ops[i].Output.(Output)
		b := []byte(o.Data)
		k := rng.IntN(len(b))
		b[k] ^= byte(1 + rng.IntN(255))
		o.Data = string(b)
		out[i].Output = o
		return out, fmt.Sprintf("connection %d, side %s: octet %d of a %d-octet read changed from %#02x to %#02x",
			in.Conn, sideName(in.Side), k, len(b), ops[i].Output.(Output).Data[k], b[k]), nil
	case SwappedReads:
		type pair struct{ a, b int }
		var cands []pair
		for _, reads := range readsBySide(ops) {
			for j := 1; j < len(reads); j++ {
				a, b := reads[j-1], reads[j]
				da, db := ops[a].Output.(Output).Data, ops[b].Output.(Output).Data
				// Swapped, the first read must disagree with the stream
				// the two reads saw, or the swap would go unnoticed.
				if ops[a].Return < ops[b].Call && db != (da + db)[:len(db)] {
					cands = append(cands, pair{a, b})
				}
			}
		}
		if len(cands) == 0 {
			return nil, "", fmt.Errorf("lin: corrupt %s: the history has no two successive reads of one side with different text", c)
		}
		slices.SortFunc(cands, func(x, y pair) int { return cmp.Compare(x.a, y.a) }) // map order is random; the pick must not be
		p := cands[rng.IntN(len(cands))]
		oa, ob := ops[p.a].Output.(Output), ops[p.b].Output.(Output)
		oa.Data, ob.Data = ob.Data, oa.Data
		out[p.a].Output, out[p.b].Output = oa, ob
		in := ops[p.a].Input.(Input)
		return out, fmt.Sprintf("connection %d, side %s: two successive reads (%d and %d octets) return each other's text",
			in.Conn, sideName(in.Side), len(oa.Data), len(ob.Data)), nil
	case ReadBeforeWrite:
		firstWrite := map[[2]int]int64{} // (conn, side) -> call of its first write
		for _, op := range ops {
			in, o := op.Input.(Input), op.Output.(Output)
			if in.Kind == Write && o.N > 0 {
				k := [2]int{in.Conn, in.Side}
				if t, ok := firstWrite[k]; !ok || op.Call < t {
					firstWrite[k] = op.Call
				}
			}
		}
		var cands []int
		for key, reads := range readsBySide(ops) {
			if _, ok := firstWrite[[2]int{key[0], 1 - key[1]}]; ok {
				cands = append(cands, reads[0])
			}
		}
		if len(cands) == 0 {
			return nil, "", fmt.Errorf("lin: corrupt %s: the history has no read that returned text", c)
		}
		slices.Sort(cands) // map order is random; the pick must not be
		i := pick(cands)
		in := ops[i].Input.(Input)
		w := firstWrite[[2]int{in.Conn, 1 - in.Side}]
		out[i].Call, out[i].Return = w-2, w-1
		return out, fmt.Sprintf("connection %d, side %s: the first read (%d octets) moved to before the peer's first write",
			in.Conn, sideName(in.Side), len(ops[i].Output.(Output).Data)), nil
	case LostAccept:
		cands := indexes(ops, func(in Input, o Output) bool { return in.Kind == Accept && o.Err == ErrNone })
		if len(cands) == 0 {
			return nil, "", fmt.Errorf("lin: corrupt %s: the history has no accept", c)
		}
		i := pick(cands)
		out = slices.Delete(out, i, i+1)
		return out, fmt.Sprintf("the accept of %s removed", ops[i].Output.(Output).Tuple), nil
	}
	return nil, "", fmt.Errorf("lin: unknown corruption %q (want one of %v)", c, Corruptions)
}

// indexes returns the indexes of the operations f accepts.
func indexes(ops []porcupine.Operation, f func(Input, Output) bool) []int {
	var r []int
	for i, op := range ops {
		if f(op.Input.(Input), op.Output.(Output)) {
			r = append(r, i)
		}
	}
	return r
}

// readsBySide returns, for each (connection, side), the indexes of its
// reads that returned text, in the order of their calls.
func readsBySide(ops []porcupine.Operation) map[[2]int][]int {
	m := map[[2]int][]int{}
	for i, op := range ops {
		in, o := op.Input.(Input), op.Output.(Output)
		if in.Kind == Read && o.Err == ErrNone && o.Data != "" {
			k := [2]int{in.Conn, in.Side}
			m[k] = append(m[k], i)
		}
	}
	for _, r := range m {
		slices.SortFunc(r, func(a, b int) int { return cmp.Compare(ops[a].Call, ops[b].Call) })
	}
	return m
}

func sideName(side int) string { return "AB"[side : side+1] }
