// Command gendocs writes the question pages of docs/ (see package explain).
// It runs from `go generate ./...`.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tcpcheck/tcpcheck/check/explain"
)

func main() {
	out := flag.String("out", "docs", "the docs `DIR` to write (it must hold states.mmd)")
	flag.Parse()
	mmd, err := os.ReadFile(filepath.Join(*out, "states.mmd"))
	if err != nil {
		fmt.Fprintf(os.Stderr, "gendocs: %v (run go generate ./gen first)\n", err)
		os.Exit(2)
	}
	if err := explain.Generate(*out, mmd); err != nil {
		fmt.Fprintf(os.Stderr, "gendocs: %v\n", err)
		os.Exit(1)
	}
}
