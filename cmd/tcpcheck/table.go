package main

import (
	"flag"
	"io"

	"github.com/tcpcheck/tcpcheck/gen"
)

// tableFormats maps each --format of `tcpcheck table` to its writer; the
// same writers produce docs/table.md.
var tableFormats = []struct {
	name  string
	write func(io.Writer) error
}{
	{"text", gen.Text},
	{"md", gen.Markdown},
	{"json", gen.JSON},
}

func init() {
	register(&command{
		name:    "table",
		summary: "print the transition table (every row: state, event, guard, actions, next state, RFC)",
		usage:   "[--format text|md|json]",
		setup: func(fs *flag.FlagSet) func([]string, io.Writer, io.Writer) error {
			format := fs.String("format", "text", "output format: text (aligned columns), md (Markdown, as docs/table.md) or json (an array of rows)")
			return func(args []string, stdout, _ io.Writer) error {
				if len(args) > 0 {
					return usagef("unexpected arguments %q: table takes only flags", args)
				}
				var names []string
				for _, f := range tableFormats {
					if f.name == *format {
						return f.write(stdout)
					}
					names = append(names, f.name)
				}
				return oneOf("format", *format, names...)
			}
		},
	})
}
