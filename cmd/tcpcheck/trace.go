package main

import (
	"bytes"
	"errors"
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
		usage: "[--format table|mermaid|pcap|json] [-o FILE] FILE | --pcap CAPTURE [-o FILE]\n\n" +
			"FILE is a saved trace (the \"tcpcheck-trace\" JSON format: docs/questions/*.trace.json,\n" +
			"the export of tcpcheck browse), or the output of tcpcheck explore --json or\n" +
			"tcpcheck why --json (its \"violation\"). \"-\" reads standard input. A trace that\n" +
			"carries its model path is replayed through the model first and must match it.\n" +
			"--format json writes the trace in the saved-trace format (e.g. to keep what why --json found).\n" +
			"The format is described in the doc of package check/explain (type Trace).\n" +
			"--pcap CAPTURE prints each TCP connection of a pcap or pcapng capture as a segment table\n" +
			"(exit 2 when it holds none the reader can use: no packets, or every frame skipped).",
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
			if flagsGiven(fs)["format"] && *format != "table" {
				return usagef("--format %s does not go with --pcap, which prints segment tables; --format renders a saved trace FILE", *format)
			}
			if err := firstError(outputFile("o", *out),
				distinctFiles(fileArg{flag: "pcap", path: *pcapFile}, fileArg{flag: "o", path: *out, output: true})); err != nil {
				return err
			}
			return tracePcap(*pcapFile, *out, stdout)
		}
		if len(args) != 1 {
			return usagef("want one trace FILE (or - for standard input)")
		}
		if err := firstError(oneOf("format", *format, "table", "mermaid", "pcap", "json"), outputFile("o", *out)); err != nil {
			return err
		}
		if args[0] != "-" {
			if err := firstError(inputFile("", args[0]),
				distinctFiles(fileArg{path: args[0], what: "the trace FILE"}, fileArg{flag: "o", path: *out, output: true})); err != nil {
				return err
			}
		}
		var data []byte
		var err error
		if args[0] == "-" {
			data, err = readLimited(os.Stdin, maxTraceFile)
		} else {
			data, err = readFileLimited(args[0], maxTraceFile)
		}
		if errors.Is(err, errTooLarge) {
			name := args[0]
			if name == "-" {
				name = "standard input"
			}
			return usagef("%s: larger than %s, the most trace reads (a saved trace is kilobytes): is it the right file?", name, byteSize(maxTraceFile))
		}
		if err != nil {
			return fmt.Errorf("reading the trace: %v", err)
		}
		t, err := explain.ParseTrace(data)
		if err != nil && args[0] != "-" && isCaptureFile(args[0]) {
			return usagef("%s is a pcap or pcapng capture: print its connections with 'tcpcheck trace --pcap %s'", args[0], args[0])
		}
		if err != nil && jsonKindOf(bytes.NewReader(data)) == "endpoint" {
			return usagef("%s holds the transitions of 'tcpcheck listen/dial --trace', not a model trace: check them against the table with 'tcpcheck conform --trace %s'", args[0], args[0])
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
			if *out == "" && isTerminal(stdout) {
				return usagef("a pcap is binary: give -o FILE or redirect standard output")
			}
			err = t.WritePcap(&b)
		}
		if err != nil {
			return fmt.Errorf("%s: %v", args[0], err)
		}
		if *out != "" {
			return writeOutput("o", *out, b.Bytes())
		}
		_, err = stdout.Write(b.Bytes())
		return err
	}
}
