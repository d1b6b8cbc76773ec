package engine

import "unsafe"

// pageSize is the smallest page the kernel maps; writing one byte in each
// is enough to have every page of a new table mapped.
const pageSize = 4096

// fresh returns a zeroed table of n elements whose pages are already
// written. A hash table is probed (read) before it is filled, and a new
// allocation comes straight from the kernel unmapped: the first read maps
// the shared zero page, and the write that follows must replace that
// mapping and flush it from every other processor running the process, an
// interrupt per page to each of them. With two workers that cost more
// than a tenth of the second core. A write first maps a page of its own
// at once, without the flush. T must hold no pointers.
func fresh[T any](n int) []T {
	s := make([]T, n)
	if n == 0 {
		return s
	}
	b := unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), uintptr(n)*unsafe.Sizeof(s[0]))
	for i := 0; i < len(b); i += pageSize {
		b[i] = 0
	}
	return s
}
