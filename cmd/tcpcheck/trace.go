package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/tcpcheck/tcpcheck/check/explain"
)

func init() {
	register(&command{
		name:    "trace",
		summary: "render a saved trace as a segment table, a Mermaid sequence diagram or a pcap capture",
		usage: "[--format table|mermaid|pcap|json] [-o FILE] FILE | --pcap CAPTURE\n\n" +
			"FILE is a saved trace (the \"tcpcheck-trace\" JSON format: docs/questions/*.trace.json,\n" +
			"the export of tcpcheck browse), or the output of tcpcheck explore --json or\n" +
			"tcpcheck why --json (its \"violation\"). \"-\" reads standard input. A trace that\n" +
			"carries its model path is replayed through the model first and must match it.\n" +
			"--format json writes the trace in the saved-trace format (e.g. to keep what why --json found).\n" +
			"The format is described in the doc of package check/explain (type Trace).\n" +
			"--pcap CAPTURE prints each TCP connection of a pcap or pcapng capture as a segment table.",
		setup: setupTrace,
	})
}

func setupTrace(fs *flag.FlagSet) func(args []string, stdout, stderr io.Writer) error {
	format := fs.String("format", "table", "output `FORMAT`: table, mermaid, pcap or json (the saved-trace format)")
	out := fs.String("o", "", "write to `FILE` instead of standard output (required for pcap on a terminal)")
	pcapFile := fs.String("pcap", "", "print the connections of a capture `file` (pcap or pcapng) as segment tables")
	return func(args []string, stdout, stderr io.Writer) error {
		if *pcapFile != "" {
			if len(args) != 0 {
				return usagef("--pcap takes the capture; unexpected arguments %q", args)
			}
			return tracePcap(*pcapFile, stdout)
		}
		if len(args) != 1 {
			return usagef("want one trace FILE (or - for standard input)")
		}
		if err := firstError(oneOf("format", *format, "table", "mermaid", "pcap", "json"), outputFile("o", *out)); err != nil {
			return err
		}
		if args[0] != "-" {
			if err := inputFile("", args[0]); err != nil {
				return err
			}
		}
		var data []byte
		var err error
		if args[0] == "-" {
			data, err = io.ReadAll(os.Stdin)
		} else {
			data, err = os.ReadFile(args[0])
		}
		if err != nil {
			return fmt.Errorf("reading the trace: %v", err)
		}
		t, err := explain.ParseTrace(data)
		if err != nil && args[0] != "-" && isCaptureFile(args[0]) {
			return usagef("%s is a pcap or pcapng capture: print its connections with 'tcpcheck trace --pcap %s'", args[0], args[0])
		}
		if err != nil {
			return fmt.Errorf("%s: %v", args[0], err)
		}
		var b bytes.Buffer
		switch *format {
		case "table":
			if t.Title != "" {
				fmt.Fprintf(&b, "%s\n", t.Title)
			}
			err = t.WriteTable(&b)
		case "mermaid":
			err = t.WriteMermaid(&b)
		case "json":
			err = t.WriteJSON(&b)
		case "pcap":
			if *out == "" {
				if f, ok := stdout.(*os.File); ok {
					if st, e := f.Stat(); e == nil && st.Mode()&os.ModeCharDevice != 0 {
						return usagef("a pcap is binary: give -o FILE or redirect standard output")
					}
				}
			}
			err = t.WritePcap(&b)
		}
		if err != nil {
			return fmt.Errorf("%s: %v", args[0], err)
		}
		if *out != "" {
			if err := os.WriteFile(*out, b.Bytes(), 0o644); err != nil {
				return fmt.Errorf("-o %s: %v", *out, unwrapPath(err))
			}
			return nil
		}
		_, err = stdout.Write(b.Bytes())
		return err
	}
}
