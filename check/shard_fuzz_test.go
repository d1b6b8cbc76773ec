package check

import (
	"bytes"
	"testing"
)

// FuzzMerge: merge reads shard files that may be damaged or of another
// run; whatever the bytes of one of two shards, it returns a result or an
// error, never a panic. The seeds are both shards of the small preset.
func FuzzMerge(f *testing.F) {
	sys := presetSystem(f, "small")
	var files [][]byte
	for i := 0; i < 2; i++ {
		var buf bytes.Buffer
		if _, err := WriteShard(&buf, sys, Options{Workers: 1, Shard: Shard{I: i, N: 2, SplitWidth: 2}}); err != nil {
			f.Fatal(err)
		}
		files = append(files, buf.Bytes())
	}
	f.Add(files[0], true)
	f.Add(files[1], false)
	f.Fuzz(func(t *testing.T, data []byte, first bool) {
		if first {
			mergeBytes(data, files[1]) //nolint:errcheck // any error is fine; a panic is not
		} else {
			mergeBytes(files[0], data) //nolint:errcheck
		}
	})
}
