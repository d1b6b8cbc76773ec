//go:build !amd64

package engine

import "unsafe"

// prefetch is a no-op where the engine has no prefetch instruction: the
// lookups then take their cache misses one after another.
func prefetch(p unsafe.Pointer) {}
