//go:build linux

package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/tcpcheck/tcpcheck/check/live/conform"
	"github.com/tcpcheck/tcpcheck/check/live/kernel"
	"github.com/tcpcheck/tcpcheck/impl"
)

func init() {
	register(&command{
		name:    "conform",
		summary: "hold TCP against the table: generated cases against a stack (--dut), the kernel scenarios (--peer kernel), a trace or a capture",
		usage: "--dut gvisor|impl|linux [--full] [--row N] [--case NAME] [--json] [-v] | --peer kernel [--scenario NAME] [--list] [--full] | --trace FILE | --pcap FILE [--json] [--strict] [--verify-checksums] [--capture-dropped] [--follow]\n\n" +
			"Exit status: 0 every case, scenario, transition or connection conforms, 1 one does not,\n" +
			"2 usage or environment error. With --pcap, a capture that holds no connection to check\n" +
			"(no packets, or every frame skipped: not TCP, cut by the snap length...) is exit 2:\n" +
			"nothing was checked, which is not a pass; the summary says why.",
		setup: func(fs *flag.FlagSet) func(args []string, stdout, stderr io.Writer) error {
			peer := fs.String("peer", "", "the peer to conform with: kernel (the Linux TCP stack over a TUN link; needs root and /dev/net/tun)")
			scenario := fs.String("scenario", "", "run only the scenario of this `name` (see --list)")
			list := fs.Bool("list", false, "list the scenarios and exit")
			full := fs.Bool("full", false, "print every packet in transcripts (long runs of data segments are summarised otherwise); "+
				"with --dut linux, also run the cases that wait for Linux's fixed 60 s TIME-WAIT")
			msl := fs.Duration("msl", 500*time.Millisecond, "our endpoint's MSL; TIME-WAIT lasts 2*MSL; with --pcap, the shortest MSL the capture's hosts may use: "+
				"a TIME-WAIT shorter than 2*MSL is reported (time-wait-short)")
			traceFile := fs.String("trace", "", "instead of the kernel suite, check a trace `file` written by 'tcpcheck listen/dial --trace' "+
				"against the table (with --msl, also that TIME-WAIT lasted 2*MSL)")
			pcapFile := fs.String("pcap", "", "instead of the kernel suite, check every connection of a capture `file` (pcap or pcapng: tcpdump, Wireshark) against the table; see docs/capture.md")
			var pf pcapFlags
			fs.BoolVar(&pf.json, "json", false, "with --pcap or --dut: print the reports as JSON")
			fs.BoolVar(&pf.strict, "strict", false, "with --pcap: every named deviation (docs/capture.md: delayed ACKs, Linux's RST with ACK, a shrunk window, reordering before the capture point...) fails its connection")
			fs.BoolVar(&pf.verify, "verify-checksums", false, "with --pcap: a segment with a wrong TCP checksum fails its connection")
			fs.BoolVar(&pf.dropped, "capture-dropped", false, "with --pcap: the capture may have dropped packets (tcpdump: \"dropped by kernel\"): an ACK beyond everything captured from its peer acknowledges text the capture missed (missed-by-capture), not text never sent; an ACK after a SYN its peer never answered in the capture, a SYN,ACK it missed")
			fs.BoolVar(&pf.follow, "follow", false, "with --pcap: keep reading a capture still being written (tcpdump -U -w), report connections as they close; stop with Ctrl-C")
			dutFlags := dutSetup(fs)
			return func(args []string, stdout, stderr io.Writer) error {
				if len(args) != 0 {
					if len(args) == 1 && !strings.HasPrefix(args[0], "-") {
						return usagef("unexpected argument %q: a file goes after --pcap (a capture) or --trace (a JSON trace)", args[0])
					}
					return usagef("unexpected arguments %q (flags go before any other argument)", args)
				}
				set := flagsGiven(fs)
				if *pcapFile != "" {
					for _, other := range []string{"peer", "scenario", "list", "full", "trace", "dut", "row", "case", "v"} {
						if set[other] {
							return usagef("--%s does not go with --pcap FILE, which checks a capture: give one of them", other)
						}
					}
					if err := inRange("msl", *msl, time.Millisecond, time.Hour, "TIME-WAIT lasts 2*MSL; e.g. 30s"); err != nil {
						return err
					}
					pf.minTimeWait = 2 * *msl
					return conformPcap(*pcapFile, pf, stdout, stderr)
				}
				if dutFlags.dut != "" {
					for _, other := range []string{"peer", "scenario", "list", "msl", "trace", "strict", "verify-checksums", "capture-dropped", "follow"} {
						if set[other] {
							return usagef("--%s does not go with --dut, which runs the generated cases: give one of them", other)
						}
					}
					if set["full"] && dutFlags.dut != "linux" {
						return usagef("--full goes with --dut linux (the cases that wait for its 60 s TIME-WAIT) or the kernel suite")
					}
					dutFlags.full = *full
					dutFlags.json = pf.json
					return conformDUT(dutFlags, stdout, stderr)
				}
				for _, f := range []string{"strict", "verify-checksums", "capture-dropped", "follow"} {
					if set[f] {
						return usagef("--%s goes with --pcap FILE", f)
					}
				}
				if set["json"] {
					return usagef("--json goes with --pcap FILE or --dut gvisor|impl|linux")
				}
				for _, only := range []string{"row", "case", "v"} {
					if set[only] {
						return usagef("--%s goes with --dut gvisor|impl|linux", only)
					}
				}
				if err := inRange("msl", *msl, time.Millisecond, time.Hour, "TIME-WAIT lasts 2*MSL; e.g. 500ms"); err != nil {
					return err
				}
				if *traceFile != "" {
					for _, other := range []string{"peer", "scenario", "list", "full"} {
						if set[other] {
							return usagef("--%s goes with the kernel suite, --trace FILE checks a file instead: give one of them", other)
						}
					}
					if isCaptureFile(*traceFile) {
						return usagef("%s is a pcap or pcapng capture, not a trace: check it with 'tcpcheck conform --pcap %s'", *traceFile, *traceFile)
					}
					if err := inputFile("trace", *traceFile); err != nil {
						return err
					}
					if jsonKind(*traceFile) == "model" {
						return usagef("%s is a saved model trace (JSON in the \"tcpcheck-trace\" format, or explore --json), not an endpoint's transitions: print it with 'tcpcheck trace %s'; --trace takes the JSON lines 'tcpcheck listen/dial --trace FILE' writes", *traceFile, *traceFile)
					}
					return conformTrace(*traceFile, *msl, set["msl"], stdout)
				}
				all, err := kernel.Scenarios()
				if err != nil {
					return &exitError{code: exitUsage, msg: err.Error()}
				}
				if *list {
					for _, s := range all {
						fmt.Fprintf(stdout, "%-24s %s\n", s.Name, s.Summary)
					}
					return nil
				}
				if *peer == "" {
					return usagef("want --dut gvisor|impl|linux (the generated cases), --peer kernel (the kernel suite), --trace FILE (check a trace of listen/dial) or --pcap FILE (check a capture)")
				}
				if err := oneOf("peer", *peer, "kernel"); err != nil {
					return err
				}
				if *scenario != "" && !slices.ContainsFunc(all, func(s kernel.Scenario) bool { return s.Name == *scenario }) {
					return flagError("scenario", fmt.Sprintf("%q", *scenario), "no such scenario", "'tcpcheck conform --list' names them")
				}
				if !impl.InPrivateNetns() {
					if err := kernel.Available(); err != nil {
						return &exitError{code: exitUsage, msg: fmt.Sprintf("%v\nthe suite creates a TUN device in a private network namespace of its own", err)}
					}
					again := []string{"conform", "--peer", "kernel", "--msl", msl.String(), fmt.Sprintf("--full=%v", *full)}
					if *scenario != "" {
						again = append(again, "--scenario", *scenario)
					}
					// The child gets standard output itself (a terminal stays
					// one), and reports a failed write to it as its own.
					var out io.Writer = stdout
					if f, ok := fileOf(stdout); ok {
						out = f
					}
					code, err := impl.ReexecInPrivateNetns(again, os.Stdin, out, stderr)
					if err != nil {
						return &exitError{code: exitUsage, msg: err.Error()}
					}
					if code != exitOK {
						return &exitError{code: code}
					}
					return nil
				}
				var names []string
				if *scenario != "" {
					names = []string{*scenario}
				}
				results, err := kernel.Run(names, kernel.Options{MSL: *msl, Full: *full})
				if err != nil {
					return &exitError{code: exitUsage, msg: err.Error()}
				}
				return conformReport(results, stdout)
			}
		},
	})
}

// conformReport prints each scenario's transcript and a summary; it returns an
// exit code 1 error when a scenario failed.
func conformReport(results []kernel.Result, w io.Writer) error {
	failed := 0
	var devs []kernel.Deviation
	for _, r := range results {
		fmt.Fprintf(w, "=== %s: %s\n%s", r.Name, r.Summary, r.Transcript)
		for _, d := range r.Deviations {
			fmt.Fprintf(w, "expected deviation %s (%s): %s\n", d.ID, d.RFC, d.Evidence)
			devs = append(devs, d)
		}
		if r.Pass() {
			fmt.Fprintf(w, "--- PASS %s (%v, %d packets)\n\n", r.Name, r.Elapsed.Round(time.Millisecond), r.Packets)
			continue
		}
		failed++
		fmt.Fprintf(w, "--- FAIL %s (%v, %d packets)\n", r.Name, r.Elapsed.Round(time.Millisecond), r.Packets)
		for _, f := range r.Failures {
			fmt.Fprintf(w, "    %s\n", strings.ReplaceAll(f, "\n", "\n    "))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "summary: %d scenarios, %d passed, %d failed\n", len(results), len(results)-failed, failed)
	for _, r := range results {
		verdict := "pass"
		if !r.Pass() {
			verdict = "FAIL"
		}
		fmt.Fprintf(w, "  %-4s %-24s %8v %4d packets\n", verdict, r.Name, r.Elapsed.Round(time.Millisecond), r.Packets)
	}
	if len(devs) > 0 {
		fmt.Fprintf(w, "deviations of Linux from RFC 9293 and the table (see docs/linux.md):\n")
		for _, d := range devs {
			fmt.Fprintf(w, "  %-30s %s\n", d.ID, d.Linux)
		}
	}
	if failed > 0 {
		return &exitError{code: exitViolated, msg: fmt.Sprintf("%d of %d scenarios failed", failed, len(results))}
	}
	return nil
}

// conformTrace checks a trace file written by listen/dial --trace against
// the table: exit 0 when every transition is one the table allows, 1 with
// the first divergence otherwise, 2 when the file cannot be read.
func conformTrace(path string, msl time.Duration, mslSet bool, stdout io.Writer) error {
	opt := conform.Options{}
	if mslSet {
		opt.MSL = msl
	}
	f, err := os.Open(path)
	if err != nil {
		return &exitError{code: exitUsage, msg: err.Error()}
	}
	trace, err := conform.ReadTrace(f)
	f.Close()
	if err != nil {
		return &exitError{code: exitUsage, msg: fmt.Sprintf("%v (file %s)", err, path)}
	}
	if len(trace) == 0 {
		return &exitError{code: exitUsage, msg: fmt.Sprintf("%s holds no transitions; write one with 'tcpcheck listen --trace FILE' or 'dial --trace FILE'", path)}
	}
	if err := conform.Check(trace, opt); err != nil {
		fmt.Fprintln(stdout, err)
		return &exitError{code: exitViolated, msg: fmt.Sprintf("%s: the endpoint left the table (above)", path)}
	}
	fmt.Fprintf(stdout, "%s: %d transitions, every one allowed by the table\n", path, len(trace))
	return nil
}
