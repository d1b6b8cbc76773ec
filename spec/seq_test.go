package spec

import (
	"math"
	"testing"

	"pgregory.net/rapid"
)

func TestSeqWrap(t *testing.T) {
	top := Seq(math.MaxUint32)
	tests := []struct {
		a, b     Seq
		lt, leq  bool
		describe string
	}{
		{0, 1, true, true, "plain order"},
		{1, 0, false, false, "plain order, reversed"},
		{5, 5, false, true, "equal"},
		{top, 0, true, true, "2^32-1 is before 0 across the wrap"},
		{0, top, false, false, "0 is after 2^32-1"},
		{top - 10, 10, true, true, "21 octets across the wrap"},
		{1<<31 + 1, 0, true, true, "2^31+1 is 2^31-1 octets before 0"},
		{0, 1<<31 - 1, true, true, "just under half the space: before"},
	}
	for _, tc := range tests {
		if got := tc.a.LessThan(tc.b); got != tc.lt {
			t.Errorf("%s: %d.LessThan(%d) = %v", tc.describe, tc.a, tc.b, got)
		}
		if got := tc.a.LessEq(tc.b); got != tc.leq {
			t.Errorf("%s: %d.LessEq(%d) = %v", tc.describe, tc.a, tc.b, got)
		}
	}
}

func TestSeqWindowAtWrap(t *testing.T) {
	start := Seq(math.MaxUint32 - 1) // window covers 2^32-2, 2^32-1, 0, 1
	for _, s := range []Seq{start, start + 1, 0, 1} {
		if !s.InWindow(start, 4) {
			t.Errorf("%d should be in the window [%d, +4)", s, start)
		}
	}
	for _, s := range []Seq{start - 1, 2, 1 << 31} {
		if s.InWindow(start, 4) {
			t.Errorf("%d should be outside the window [%d, +4)", s, start)
		}
	}
	if Seq(7).InWindow(7, 0) {
		t.Error("a zero window holds nothing")
	}
	if got := Seq(2).Sub(math.MaxUint32 - 1); got != 4 {
		t.Errorf("Sub across the wrap = %d, want 4", got)
	}
	if !Seq(0).InRange(math.MaxUint32, 1) {
		t.Error("0 should be in [2^32-1, 1)")
	}
}

func TestSeqProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		a := Seq(rapid.Uint32().Draw(t, "a"))
		n := rapid.Uint32Range(1, 1<<31-1).Draw(t, "n")
		b := a.Add(n)
		if !a.LessThan(b) || b.LessThan(a) || !a.LessEq(b) {
			t.Fatalf("%d + %d = %d should be after %d", a, n, b, a)
		}
		if b.Sub(a) != n {
			t.Fatalf("(%d).Sub(%d) = %d, want %d", b, a, b.Sub(a), n)
		}
		w := rapid.Uint32Range(0, 1<<20).Draw(t, "w")
		off := rapid.Uint32Range(0, 1<<21).Draw(t, "off")
		if got, want := a.Add(off).InWindow(a, w), off < w; got != want {
			t.Fatalf("InWindow(%d+%d, %d, %d) = %v, want %v", a, off, a, w, got, want)
		}
	})
}
