package lin

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

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
	Sent    [2]string
	Read    [2]int
	Fin     [2]bool
	Aborted [2]bool
}

// establishState counts a 4-tuple's successful dials and accepts.
type establishState struct {
	Dialed, Accepted int
}

// state is the model's state: every partition starts from the zero value
// and only uses the half its operations concern. It is comparable.
type state struct {
	S streamState
	E establishState
}

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
		s.Sent[me] += in.Data[:out.N]
		return true, s
	case Read:
		switch out.Err {
		case ErrNone:
			rest := s.Sent[peer][s.Read[peer]:]
			if out.Data == "" || !strings.HasPrefix(rest, out.Data) {
				return false, s
			}
			s.Read[peer] += len(out.Data)
			return true, s
		case ErrEOF:
			return s.Fin[peer] && s.Read[peer] == len(s.Sent[peer]) && out.Data == "", s
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

// partitionKey is the partition an operation belongs to.
func partitionKey(op porcupine.Operation) (int, string) {
	in := op.Input.(Input)
	switch in.Kind {
	case Dial:
		out := op.Output.(Output)
		if !in.Listening || out.Err != ErrNone {
			return 1, "refused"
		}
		return 1, out.Tuple
	case Accept:
		return 1, op.Output.(Output).Tuple
	case Census:
		return 1, in.Tuple
	}
	return 0, fmt.Sprintf("%08d", in.Conn)
}

// Model is the porcupine model of both semantics, partitioned by
// connection (streams) and by 4-tuple (establishment).
var Model = porcupine.Model{
	Partition: func(h []porcupine.Operation) [][]porcupine.Operation {
		type key struct {
			kind int
			name string
		}
		byKey := map[key][]porcupine.Operation{}
		var keys []key
		for _, op := range h {
			k, n := partitionKey(op)
			kk := key{k, n}
			if _, ok := byKey[kk]; !ok {
				keys = append(keys, kk)
			}
			byKey[kk] = append(byKey[kk], op)
		}
		slices.SortFunc(keys, func(a, b key) int { return cmp.Or(cmp.Compare(a.kind, b.kind), cmp.Compare(a.name, b.name)) })
		out := make([][]porcupine.Operation, len(keys))
		for i, k := range keys {
			out[i] = byKey[k]
		}
		return out
	},
	Init: func() any { return state{} },
	Hash: func(st any) uint64 {
		s := st.(state)
		h := uint64(s.E.Dialed)<<56 ^ uint64(s.E.Accepted)<<48
		for i := range 2 {
			h = h*1_000_003 ^ uint64(len(s.S.Sent[i]))
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
			len(s.S.Sent[0]), s.S.Read[0], flags(s.S, 0), len(s.S.Sent[1]), s.S.Read[1], flags(s.S, 1))
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
