package main

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"runtime/debug"

	"github.com/tcpcheck/tcpcheck/gen"
	"github.com/tcpcheck/tcpcheck/spec"
)

// version says which tcpcheck this is: the module version (or "devel"),
// and the commit it was built from when the build recorded one.
func version() string {
	v := "devel"
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	if mv := info.Main.Version; mv != "" && mv != "(devel)" {
		v = mv
	}
	var rev, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = ", modified"
			}
		}
	}
	if rev != "" {
		v += fmt.Sprintf(" (commit %.12s%s)", rev, modified)
	}
	return v
}

// tableDigest is the SHA-256 of the transition table as 'tcpcheck table
// --format json' prints it: two builds with the same digest run the same
// table, whatever their versions.
func tableDigest() (string, error) {
	var b bytes.Buffer
	if err := gen.JSON(&b); err != nil {
		return "", err
	}
	return fmt.Sprintf("sha256:%x", sha256.Sum256(b.Bytes())), nil
}

func printVersion(w io.Writer) int {
	d, err := tableDigest()
	if err != nil {
		fmt.Fprintf(w, "tcpcheck: %v\n", err)
		return exitUsage
	}
	fmt.Fprintf(w, "tcpcheck %s\ntable %s (%d rows; 'tcpcheck table --format json' is what it digests)\n", version(), d, len(spec.Table()))
	return exitOK
}
