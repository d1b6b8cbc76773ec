//go:build !race

package impl

// raceEnabled reports whether the race detector is on: the big tests shrink.
const raceEnabled = false
