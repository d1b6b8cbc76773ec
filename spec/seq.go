package spec

// Seq is a TCP sequence number: arithmetic is modulo 2^32 and comparisons
// follow RFC 9293 §3.4 (a is before b when the signed 32-bit difference a-b
// is negative), so they stay correct across the wrap.
type Seq uint32

// Add returns s advanced by n octets.
func (s Seq) Add(n uint32) Seq { return s + Seq(n) }

// Sub returns the number of octets from b up to s (s - b modulo 2^32).
func (s Seq) Sub(b Seq) uint32 { return uint32(s - b) }

// LessThan reports whether s is before b in sequence space.
func (s Seq) LessThan(b Seq) bool { return int32(s-b) < 0 }

// LessEq reports whether s is before or equal to b in sequence space.
func (s Seq) LessEq(b Seq) bool { return int32(s-b) <= 0 }

// InRange reports whether a =< s < b in sequence space.
func (s Seq) InRange(a, b Seq) bool { return a.LessEq(s) && s.LessThan(b) }

// InWindow reports whether s lies in the window of size octets that starts
// at start: start =< s < start+size. A zero-size window holds nothing.
func (s Seq) InWindow(start Seq, size uint32) bool {
	return s.Sub(start) < size
}
