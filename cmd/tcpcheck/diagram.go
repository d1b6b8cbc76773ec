package main

import (
	"bytes"
	"errors"
	"flag"
	"io"

	"github.com/tcpcheck/tcpcheck/gen"
)

// diagramFormats maps each --format of `tcpcheck diagram` to its writer;
// the same writers produce docs/states.*.
var diagramFormats = []struct {
	name  string
	write func(io.Writer) error
}{
	{"mermaid", gen.Mermaid},
	{"dot", gen.DOT},
	{"svg", gen.SVG},
}

func init() {
	register(&command{
		name:    "diagram",
		summary: "draw the TCP state diagram from the table (Mermaid, Graphviz DOT or SVG)",
		usage:   "[--format mermaid|dot|svg] [-o FILE]",
		setup: func(fs *flag.FlagSet) func([]string, io.Writer, io.Writer) error {
			format := fs.String("format", "mermaid", "output format: mermaid (stateDiagram-v2), dot (Graphviz) or svg (rendered with Graphviz's dot)")
			out := fs.String("o", "", "write to `FILE` instead of standard output")
			return func(args []string, stdout, _ io.Writer) error {
				if len(args) > 0 {
					return usagef("unexpected arguments %q: diagram takes only flags", args)
				}
				var write func(io.Writer) error
				var names []string
				for _, f := range diagramFormats {
					names = append(names, f.name)
					if f.name == *format {
						write = f.write
					}
				}
				if err := firstError(oneOf("format", *format, names...), outputFile("o", *out)); err != nil {
					return err
				}
				var b bytes.Buffer
				if err := write(&b); err != nil {
					if errors.Is(err, gen.ErrNoDot) {
						return &exitError{code: exitUsage, msg: "--format svg needs Graphviz's dot, which is not in PATH: install graphviz (apt-get install graphviz), or use --format dot or mermaid"}
					}
					return err
				}
				if *out == "" {
					_, err := stdout.Write(b.Bytes())
					return err
				}
				return writeOutput("o", *out, b.Bytes())
			}
		},
	})
}
