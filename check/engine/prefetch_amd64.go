package engine

import "unsafe"

// prefetch asks the processor to bring the cache line at p in, without
// waiting for it: unlike a load, it holds up no instruction after it, so
// the misses of many lookups prepared one after another are in flight
// together.
//
//go:noescape
func prefetch(p unsafe.Pointer)
