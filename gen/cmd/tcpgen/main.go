// Command tcpgen regenerates every file derived from the transition table
// (spec.Table): the step functions of model/ and impl/, docs/table.md, the
// state diagrams docs/states.{dot,mmd,svg}, and the diagram in README.md.
//
// Usage:
//
//	go run ./gen/cmd/tcpgen [-root DIR]
//
// It is run by `go generate ./...` through gen/generate.go. Without Graphviz
// it keeps the existing SVG, says so on stderr and exits 0.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/tcpcheck/tcpcheck/gen"
)

func main() {
	root := flag.String("root", ".", "repository root (the directory holding go.mod)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: tcpgen [-root DIR]\n\nRegenerates the files derived from spec.Table().\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 0 {
		fmt.Fprintf(os.Stderr, "tcpgen: unexpected arguments %q\n", flag.Args())
		flag.Usage()
		os.Exit(2)
	}
	if _, err := os.Stat(*root + "/go.mod"); err != nil {
		fmt.Fprintf(os.Stderr, "tcpgen: %s is not the repository root (no go.mod); pass -root\n", *root)
		os.Exit(2)
	}
	err := gen.Generate(*root)
	switch {
	case err == nil:
	case errors.Is(err, gen.ErrNoDot):
		fmt.Fprintf(os.Stderr, "tcpgen: kept the existing docs/states.svg: %v\n", err)
	default:
		fmt.Fprintf(os.Stderr, "tcpgen: %v\n", err)
		os.Exit(1)
	}
}
