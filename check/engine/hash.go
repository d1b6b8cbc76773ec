package engine

import (
	"encoding/binary"
	"math/bits"
)

// The fingerprint is a wyhash-style multiply-mix hash with fixed constants:
// deterministic across runs and machines, so state counts are reproducible.
const (
	hashSeed = 0x243f6a8885a308d3 // the digits of pi, a fixed seed
	hashM1   = 0xa0761d6478bd642f
	hashM2   = 0xe7037ed1a0b428db
	hashM3   = 0x8ebc6af09c88c6e3
)

func mix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// fingerprint returns a 64-bit hash of k, never 0 (0 marks an empty slot).
func fingerprint(k []byte) uint64 {
	n := len(k)
	h := hashSeed ^ mix(uint64(n)^hashM1, hashM2)
	for len(k) >= 16 {
		h = mix(binary.LittleEndian.Uint64(k)^hashM1, binary.LittleEndian.Uint64(k[8:])^h)
		k = k[16:]
	}
	var a, b uint64
	switch {
	case len(k) >= 8:
		a = binary.LittleEndian.Uint64(k)
		b = tail(k[8:])
	default:
		a = tail(k)
	}
	h = mix(a^hashM2, b^h)
	h = mix(h^hashM3, uint64(n)^hashM1)
	if h == 0 {
		h = 1
	}
	return h
}

// tail packs up to 7 bytes into a word.
func tail(k []byte) uint64 {
	var w uint64
	for i, c := range k {
		w |= uint64(c) << (8 * i)
	}
	return w
}
