package main

import "io"

// A target is one of issue 8's targets with what this run measured.
type target struct {
	What     string // the target, as the issue states it
	Measured string // the figure and the peer's figure, e.g. "1.12x (4,310/s vs 3,850/s)"
	Met      bool
}

// section is a comparison with its own table in the report beside the
// explorer's: the endpoint against the Linux kernel (endpoint.go) and the
// linearizability checker at scale (lin.go). Each is measured by a
// measure function, kept in results.json so -from renders it again, and
// written as Markdown starting with a "## " heading.
type section interface {
	write(w io.Writer)
	targets() []target
}
