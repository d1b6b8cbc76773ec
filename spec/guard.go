package spec

// Ctx holds what guards may read: the TCB variables of RFC 9293 §3.3.1 and
// the fields of the arriving segment. The model fills it from its compact
// state and the endpoint from its TCB; both then evaluate the same guards.
type Ctx struct {
	SndUna    Seq    // SND.UNA: oldest unacknowledged sequence number
	SndNxt    Seq    // SND.NXT: next sequence number to be sent
	RcvNxt    Seq    // RCV.NXT: next sequence number expected
	RcvWnd    uint32 // RCV.WND: receive window
	MaxSndWnd uint32 // MAX.SND.WND: largest window the peer has offered (RFC 5961 §5)
	FinSent   bool   // our FIN has been sent; it is the octet at SND.NXT-1
	Passive   bool   // the connection came from a passive OPEN (LISTEN)

	SegSeq   Seq    // SEG.SEQ
	SegAck   Seq    // SEG.ACK
	SegLen   uint32 // SEG.LEN: text octets plus one for SYN and one for FIN
	SegFlags Flags  // control bits of the segment
}

// Guard names a predicate over a [Ctx].
type Guard uint8

// The guards. Each is defined once, here, by the function of the same name.
const (
	SeqOK      Guard = iota // segment acceptable: the four-case test of RFC 9293 §3.10.7.4
	AckOK                   // ACK set and SND.UNA < SEG.ACK =< SND.NXT (acknowledges something new)
	AckInRange              // ACK set and SND.UNA-MAX.SND.WND =< SEG.ACK =< SND.NXT (RFC 5961 §5.2)
	FinAcked                // our FIN was sent and SEG.ACK = SND.NXT (it is acknowledged)
	RstExact                // SEG.SEQ = RCV.NXT exactly (RFC 5961 §3.2)
	SeqAtIRS                // SEG.SEQ+1 = RCV.NXT: the peer's SYN again (simultaneous open)
	Passive                 // the connection came from LISTEN

	NumGuards = int(Passive) + 1
)

var guardNames = [...]string{
	SeqOK:      "SeqOK",
	AckOK:      "AckOK",
	AckInRange: "AckInRange",
	FinAcked:   "FinAcked",
	RstExact:   "RstExact",
	SeqAtIRS:   "SeqAtIRS",
	Passive:    "Passive",
}

var guardDefs = [...]string{
	SeqOK:      "segment acceptable (RFC 9293 §3.10.7.4 four-case test on SEG.SEQ, SEG.LEN, RCV.NXT, RCV.WND)",
	AckOK:      "ACK set and SND.UNA < SEG.ACK =< SND.NXT",
	AckInRange: "ACK set and SND.UNA - MAX.SND.WND =< SEG.ACK =< SND.NXT (RFC 5961 §5.2)",
	FinAcked:   "our FIN sent and SEG.ACK = SND.NXT",
	RstExact:   "SEG.SEQ = RCV.NXT (RFC 5961 §3.2)",
	SeqAtIRS:   "SEG.SEQ + 1 = RCV.NXT (the peer's SYN, seen again)",
	Passive:    "the connection was opened passively (from LISTEN)",
}

// String returns the guard's name, such as "AckOK".
func (g Guard) String() string {
	if int(g) < len(guardNames) {
		return guardNames[g]
	}
	return "Guard(" + itoa(int(g)) + ")"
}

// Definition returns the guard's definition in RFC notation.
func (g Guard) Definition() string {
	if int(g) < len(guardDefs) {
		return guardDefs[g]
	}
	return ""
}

// ParseGuard returns the guard with the given name.
func ParseGuard(name string) (Guard, bool) {
	for i, n := range guardNames {
		if n == name {
			return Guard(i), true
		}
	}
	return 0, false
}

// Eval evaluates g over c.
func (g Guard) Eval(c *Ctx) bool {
	switch g {
	case SeqOK:
		return IsSeqOK(c)
	case AckOK:
		return IsAckOK(c)
	case AckInRange:
		return IsAckInRange(c)
	case FinAcked:
		return IsFinAcked(c)
	case RstExact:
		return IsRstExact(c)
	case SeqAtIRS:
		return IsSeqAtIRS(c)
	case Passive:
		return c.Passive
	}
	return false
}

// IsSeqOK is the segment acceptability test of RFC 9293 §3.10.7.4:
//
//	SEG.LEN RCV.WND  test
//	0       0        SEG.SEQ = RCV.NXT
//	0       >0       RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND
//	>0      0        not acceptable
//	>0      >0       RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND
//	                 or RCV.NXT =< SEG.SEQ+SEG.LEN-1 < RCV.NXT+RCV.WND
func IsSeqOK(c *Ctx) bool {
	switch {
	case c.SegLen == 0 && c.RcvWnd == 0:
		return c.SegSeq == c.RcvNxt
	case c.SegLen == 0:
		return c.SegSeq.InWindow(c.RcvNxt, c.RcvWnd)
	case c.RcvWnd == 0:
		return false
	default:
		return c.SegSeq.InWindow(c.RcvNxt, c.RcvWnd) ||
			c.SegSeq.Add(c.SegLen-1).InWindow(c.RcvNxt, c.RcvWnd)
	}
}

// IsAckOK reports whether the segment carries an ACK of something new:
// SND.UNA < SEG.ACK =< SND.NXT (RFC 9293 §3.10.7.3 and §3.10.7.4).
func IsAckOK(c *Ctx) bool {
	return c.SegFlags.Has(ACK) && c.SndUna.LessThan(c.SegAck) && c.SegAck.LessEq(c.SndNxt)
}

// IsAckInRange reports whether the ACK is in the range RFC 5961 §5.2
// accepts: SND.UNA - MAX.SND.WND =< SEG.ACK =< SND.NXT.
func IsAckInRange(c *Ctx) bool {
	lo := c.SndUna - Seq(c.MaxSndWnd)
	return c.SegFlags.Has(ACK) && lo.LessEq(c.SegAck) && c.SegAck.LessEq(c.SndNxt)
}

// IsAcceptable reports whether an arriving segment is acceptable: its
// sequence numbers pass the test of RFC 9293 §3.10.7.4 (IsSeqOK) and its
// ACK, if it has one, is in the range RFC 5961 §5.2 accepts
// (IsAckInRange). Only such a segment shows the peer alive, and the
// endpoint rate-limits its answers to the others.
func IsAcceptable(c *Ctx) bool { return IsSeqOK(c) && (!c.SegFlags.Has(ACK) || IsAckInRange(c)) }

// IsFinAcked reports whether our FIN has been sent and the segment
// acknowledges it (SEG.ACK = SND.NXT, the FIN being the last octet sent).
func IsFinAcked(c *Ctx) bool {
	return c.FinSent && c.SegFlags.Has(ACK) && c.SegAck == c.SndNxt
}

// IsRstExact reports whether SEG.SEQ = RCV.NXT (RFC 5961 §3.2: only such a
// RST resets a synchronized connection).
func IsRstExact(c *Ctx) bool { return c.SegSeq == c.RcvNxt }

// IsSeqAtIRS reports whether the segment starts at the peer's initial
// sequence number (SEG.SEQ+1 = RCV.NXT), as a SYN,ACK does in a
// simultaneous open (RFC 9293 Figure 8).
func IsSeqAtIRS(c *Ctx) bool { return c.SegSeq.Add(1) == c.RcvNxt }

// GuardSet holds the outcome of every guard: bit g is set when guard g holds.
type GuardSet uint8

// Has reports whether guard g holds in s.
func (s GuardSet) Has(g Guard) bool { return s&(1<<g) != 0 }

// With returns s with guard g set to v.
func (s GuardSet) With(g Guard, v bool) GuardSet {
	if v {
		return s | 1<<g
	}
	return s &^ (1 << g)
}

// EvalAll evaluates every guard over c.
func EvalAll(c *Ctx) GuardSet {
	var s GuardSet
	for g := Guard(0); int(g) < NumGuards; g++ {
		s = s.With(g, g.Eval(c))
	}
	return s
}

// Cond is a conjunction of guard literals: the guards in Mask must have the
// values in Want. The zero Cond always holds.
type Cond struct {
	Mask GuardSet
	Want GuardSet
}

// Holds reports whether the condition is true of the guard outcomes s.
func (c Cond) Holds(s GuardSet) bool { return s&c.Mask == c.Want }

// When returns the condition "all of lits", each literal a guard or its
// negation made by [Not].
func When(lits ...Lit) Cond {
	var c Cond
	for _, l := range lits {
		c.Mask |= 1 << l.G
		if !l.Neg {
			c.Want |= 1 << l.G
		}
	}
	return c
}

// Lit is a guard or its negation.
type Lit struct {
	G   Guard
	Neg bool
}

// Is is the positive literal of g.
func Is(g Guard) Lit { return Lit{G: g} }

// Not is the negative literal of g.
func Not(g Guard) Lit { return Lit{G: g, Neg: true} }

// Lits returns the literals of c in guard order.
func (c Cond) Lits() []Lit {
	var out []Lit
	for g := Guard(0); int(g) < NumGuards; g++ {
		if c.Mask.Has(g) {
			out = append(out, Lit{G: g, Neg: !c.Want.Has(g)})
		}
	}
	return out
}

// String renders the condition as "SeqOK & !RstExact", or "-" when it
// always holds.
func (c Cond) String() string {
	s := ""
	for _, l := range c.Lits() {
		if s != "" {
			s += " & "
		}
		if l.Neg {
			s += "!"
		}
		s += l.G.String()
	}
	if s == "" {
		return "-"
	}
	return s
}
