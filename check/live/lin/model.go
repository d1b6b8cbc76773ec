package lin

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/anishathalye/porcupine"
)

// OpKind is what a recorded operation did.
type OpKind uint8

// Operations. Write, Read, CloseWrite and Abort act on one side of one
// connection; Dial, Accept and Census on the establishment of one.
const (
	Write      OpKind = iota // Conn.Write of Data
	Read                     // Conn.Read
	CloseWrite               // Conn.CloseWrite (FIN)
	Abort                    // Conn.Abort (RST)
	Dial                     // Stack.Dial; Listening says whether a listener is on the port
	Accept                   // Listener.Accept
	Census                   // after the workload: the connection's Dial and Accept both happened
)

var kindNames = [...]string{"write", "read", "close-write", "abort", "dial", "accept", "census"}

func (k OpKind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("OpKind(%d)", k)
}

// ErrKind is the class of error an operation returned.
type ErrKind uint8

// Error classes.
const (
	ErrNone    ErrKind = iota
	ErrEOF             // io.EOF
	ErrReset           // impl.ErrConnReset
	ErrRefused         // impl.ErrConnRefused
	ErrClosed          // net.ErrClosed: the user closed or aborted this side
	ErrClosing         // impl.ErrClosing: writing after CloseWrite
	ErrOther           // anything else (a timeout, say): the models allow none
)

var errNames = [...]string{"", "EOF", "reset", "refused", "closed", "closing", "error"}

func (e ErrKind) String() string {
	if int(e) < len(errNames) {
		return errNames[e]
	}
	return fmt.Sprintf("ErrKind(%d)", e)
}

// Input is an operation's call. Conn names the connection (its partition);
// Side is 0 for the dialling end, 1 for the accepting end.
type Input struct {
	Kind      OpKind
	Conn      int
	Side      int
	Data      string // for Write
	Tuple     string // for Census: the connection's 4-tuple
	Listening bool   // for Dial
}

// Output is what the operation returned.
type Output struct {
	Data  string // for Read
	N     int    // for Write: octets accepted
	Err   ErrKind
	Tuple string // for Dial and Accept: "client-port>server-port" as that end sees it
}

// streamState is the user-visible state of a connection: what each side
// has written (in order), how much of it the other side has read, and
// whether each side has closed its write half or aborted.
type streamState struct {
	Sent    [2]*chunk // nil: nothing written
	Read    [2]int32  // octets of the other side's stream read
	Fin     [2]bool
	Aborted [2]bool
}

// chunk is one write's octets at the end of a byte stream whose earlier
// octets are in prev. Chunks are never changed once made, so a write adds
// one chunk and copies nothing, and states share the stream they have in
// common.
type chunk struct {
	prev *chunk
	data string
	end  int    // octets in the stream up to and including data
	sum  uint64 // hash of the stream's octets up to and including data
}

func (c *chunk) len() int {
	if c == nil {
		return 0
	}
	return c.end
}

func (c *chunk) hash() uint64 {
	if c == nil {
		return 0
	}
	return c.sum
}

// push returns the stream c followed by data.
func (c *chunk) push(data string) *chunk {
	if data == "" {
		return c
	}
	h := c.hash()
	for i := 0; i < len(data); i++ { // FNV-1a, continued over the stream
		h = (h ^ uint64(data[i])) * 1099511628211
	}
	return &chunk{prev: c, data: data, end: c.len() + len(data), sum: h}
}

// holds reports whether the stream's octets from off on start with data
// and the stream has all of them.
func (c *chunk) holds(off int, data string) bool {
	if off < 0 || off+len(data) > c.len() {
		return false
	}
	for n := c; n != nil && n.end > off; n = n.prev {
		start := n.end - len(n.data)
		lo, hi := max(start, off), min(n.end, off+len(data))
		if lo < hi && n.data[lo-start:hi-start] != data[lo-off:hi-off] {
			return false
		}
	}
	return true
}

// sameStream reports whether two streams hold the same octets.
func sameStream(a, b *chunk) bool {
	if a == b {
		return true
	}
	if a.len() != b.len() || a.hash() != b.hash() {
		return false
	}
	// Equal hashes: compare the octets, chunk by chunk from the end.
	for a != b {
		n := min(len(a.data), len(b.data))
		if a.data[len(a.data)-n:] != b.data[len(b.data)-n:] {
			return false
		}
		a, b = trim(a, n), trim(b, n)
	}
	return true
}

// trim returns the stream c without its last n octets (n at most the
// last chunk's length); it makes a new chunk only to split one.
func trim(c *chunk, n int) *chunk {
	if n == len(c.data) {
		return c.prev
	}
	return &chunk{prev: c.prev, data: c.data[:len(c.data)-n], end: c.end - n}
}

func (s streamState) equal(t streamState) bool {
	return s.Read == t.Read && s.Fin == t.Fin && s.Aborted == t.Aborted &&
		sameStream(s.Sent[0], t.Sent[0]) && sameStream(s.Sent[1], t.Sent[1])
}

// establishState counts a 4-tuple's successful dials and accepts.
type establishState struct {
	Dialed, Accepted int32
}

// state is the model's state: every partition starts from the zero value
// and only uses the half its operations concern. Two states are equal
// when [state.equal] says so (== compares the streams' chunks, not their
// octets).
type state struct {
	S streamState
	E establishState
}

func (s state) equal(t state) bool { return s.E == t.E && s.S.equal(t.S) }

// stepStream is the byte-stream semantics of RFC 9293 §3.10 as the user
// sees it: reads return the peer's octets in order and never octets not
// yet written; end of stream only after the peer's CLOSE and every octet
// before it; "connection reset" only after the peer's ABORT.
func stepStream(s streamState, in Input, out Output) (bool, streamState) {
	me, peer := in.Side, 1-in.Side
	switch in.Kind {
	case Write:
		switch out.Err {
		case ErrNone:
			if out.N != len(in.Data) || s.Fin[me] || s.Aborted[me] {
				return false, s
			}
		case ErrReset:
			if !s.Aborted[peer] {
				return false, s
			}
		case ErrClosed:
			if !s.Aborted[me] {
				return false, s
			}
		case ErrClosing:
			if !s.Fin[me] {
				return false, s
			}
		default:
			return false, s
		}
		if out.N < 0 || out.N > len(in.Data) {
			return false, s
		}
		s.Sent[me] = s.Sent[me].push(in.Data[:out.N])
		return true, s
	case Read:
		switch out.Err {
		case ErrNone:
			if out.Data == "" || !s.Sent[peer].holds(int(s.Read[peer]), out.Data) {
				return false, s
			}
			s.Read[peer] += int32(len(out.Data))
			return true, s
		case ErrEOF:
			return s.Fin[peer] && int(s.Read[peer]) == s.Sent[peer].len() && out.Data == "", s
		case ErrReset:
			return s.Aborted[peer] && out.Data == "", s
		case ErrClosed:
			return s.Aborted[me] && out.Data == "", s
		}
		return false, s
	case CloseWrite:
		switch out.Err {
		case ErrNone:
			if s.Aborted[me] {
				return false, s
			}
			s.Fin[me] = true
			return true, s
		case ErrReset:
			return s.Aborted[peer], s
		case ErrClosed:
			return s.Aborted[me], s
		case ErrClosing:
			return s.Fin[me], s
		}
		return false, s
	case Abort:
		s.Aborted[me] = true
		return true, s
	}
	return false, s
}

// stepEstablish is the establishment semantics: a Dial to a port with a
// listener succeeds once per 4-tuple and is matched by exactly one Accept
// of the same 4-tuple; a Dial to a port without one is refused.
func stepEstablish(s establishState, in Input, out Output) (bool, establishState) {
	switch in.Kind {
	case Dial:
		if !in.Listening {
			return out.Err == ErrRefused, s
		}
		if out.Err != ErrNone || s.Dialed != 0 {
			return false, s
		}
		s.Dialed++
		return true, s
	case Accept:
		if out.Err != ErrNone || s.Dialed != 1 || s.Accepted != 0 {
			return false, s
		}
		s.Accepted++
		return true, s
	case Census:
		return s.Dialed == 1 && s.Accepted == 1, s
	}
	return false, s
}

// partKey names a partition: a connection's byte streams (kind 0, by
// Conn) or a 4-tuple's establishment (kind 1, by Tuple; "refused" for
// dials no listener answered).
type partKey struct {
	kind  int
	conn  int
	tuple string
}

func partitionKey(op porcupine.Operation) partKey {
	in := op.Input.(Input)
	switch in.Kind {
	case Dial:
		out := op.Output.(Output)
		if !in.Listening || out.Err != ErrNone {
			return partKey{kind: 1, tuple: "refused"}
		}
		return partKey{kind: 1, tuple: out.Tuple}
	case Accept:
		return partKey{kind: 1, tuple: op.Output.(Output).Tuple}
	case Census:
		return partKey{kind: 1, tuple: in.Tuple}
	}
	return partKey{conn: in.Conn}
}

// partition splits a history by partKey, in the order of the keys. It
// makes two passes so each partition is allocated once, at its size.
func partition(h []porcupine.Operation) [][]porcupine.Operation {
	index := map[partKey]int{}
	var keys []partKey
	var sizes []int
	which := make([]int32, len(h))
	for j, op := range h {
		k := partitionKey(op)
		i, ok := index[k]
		if !ok {
			i = len(keys)
			index[k] = i
			keys = append(keys, k)
			sizes = append(sizes, 0)
		}
		sizes[i]++
		which[j] = int32(i)
	}
	parts := make([][]porcupine.Operation, len(keys))
	for i, n := range sizes {
		parts[i] = make([]porcupine.Operation, 0, n)
	}
	for j, op := range h {
		parts[which[j]] = append(parts[which[j]], op)
	}
	order := make([]int, len(keys))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(i, j int) int {
		a, b := keys[i], keys[j]
		return cmp.Or(cmp.Compare(a.kind, b.kind), cmp.Compare(a.conn, b.conn), cmp.Compare(a.tuple, b.tuple))
	})
	out := make([][]porcupine.Operation, len(keys))
	for i, j := range order {
		out[i] = parts[j]
	}
	return out
}

// Model is the porcupine model of both semantics, partitioned by
// connection (streams) and by 4-tuple (establishment).
var Model = porcupine.Model{
	Partition: partition,
	Init:      func() any { return state{} },
	Equal:     func(a, b any) bool { return a.(state).equal(b.(state)) },
	Hash: func(st any) uint64 {
		s := st.(state)
		h := uint64(s.E.Dialed)<<56 ^ uint64(s.E.Accepted)<<48
		for i := range 2 {
			h = h*1_000_003 ^ s.S.Sent[i].hash()
			h = h*1_000_003 ^ uint64(s.S.Read[i])
			if s.S.Fin[i] {
				h ^= 1 << (60 + i)
			}
			if s.S.Aborted[i] {
				h ^= 1 << (62 + i)
			}
		}
		return h
	},
	Step: func(st, input, output any) (bool, any) {
		s, in, out := st.(state), input.(Input), output.(Output)
		switch in.Kind {
		case Dial, Accept, Census:
			ok, e := stepEstablish(s.E, in, out)
			s.E = e
			return ok, s
		}
		ok, ss := stepStream(s.S, in, out)
		s.S = ss
		return ok, s
	},
	DescribeOperation: func(input, output any) string {
		in, out := input.(Input), output.(Output)
		side := "AB"[in.Side : in.Side+1]
		e := ""
		if out.Err != ErrNone {
			e = " -> " + out.Err.String()
		}
		switch in.Kind {
		case Write:
			return fmt.Sprintf("c%d %s write %s = %d%s", in.Conn, side, abbrev(in.Data), out.N, e)
		case Read:
			return fmt.Sprintf("c%d %s read %s%s", in.Conn, side, abbrev(out.Data), e)
		case CloseWrite, Abort:
			return fmt.Sprintf("c%d %s %s%s", in.Conn, side, in.Kind, e)
		case Dial:
			if !in.Listening {
				return "dial (no listener)" + e
			}
			return "dial " + out.Tuple + e
		case Accept:
			return "accept " + out.Tuple + e
		case Census:
			return "census " + in.Tuple
		}
		return in.Kind.String()
	},
	DescribeState: func(st any) string {
		s := st.(state)
		if s.E != (establishState{}) {
			return fmt.Sprintf("dialed %d, accepted %d", s.E.Dialed, s.E.Accepted)
		}
		return fmt.Sprintf("A wrote %d (B read %d)%s, B wrote %d (A read %d)%s",
			s.S.Sent[0].len(), s.S.Read[0], flags(s.S, 0), s.S.Sent[1].len(), s.S.Read[1], flags(s.S, 1))
	},
}

func flags(s streamState, i int) string {
	f := ""
	if s.Fin[i] {
		f += " FIN"
	}
	if s.Aborted[i] {
		f += " RST"
	}
	return f
}

func abbrev(s string) string {
	if len(s) <= 12 {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprintf("%q…(%d)", s[:8], len(s))
}
