package main

import (
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/tcpcheck/tcpcheck/check/live/lin"
)

func init() {
	register(&command{
		name:    "lincheck",
		summary: "run concurrent connections through a lossy relay and check the history for linearizability (porcupine)",
		usage:   "[--conns N] [--ops N] [--loss P] [--dup P] [--reorder P] [--html FILE] [--corrupt KIND]",
		setup: func(fs *flag.FlagSet) func(args []string, stdout, stderr io.Writer) error {
			var o lin.Options
			var html, corrupt string
			fs.IntVar(&o.Conns, "conns", 20, "connections to dial, 1..10000")
			fs.IntVar(&o.Ops, "ops", 1000, "writes, half-closes and aborts over all connections (reads come on top), --conns..1000000")
			fs.Float64Var(&o.Faults.Loss, "loss", 0, "probability that the relay loses a segment")
			fs.Float64Var(&o.Faults.Dup, "dup", 0, "probability that the relay duplicates a segment")
			fs.Float64Var(&o.Faults.Reorder, "reorder", 0, "probability that the relay holds a segment back 1-6ms (reordering)")
			fs.DurationVar(&o.Faults.Delay, "delay", 0, "delay the relay adds to every segment")
			fs.IntVar(&o.Parallel, "parallel", 32, "connections in progress at once, 1..10000")
			fs.Uint64Var(&o.Seed, "seed", 1, "seed of the workload and of the relay's faults")
			fs.DurationVar(&o.Timeout, "timeout", 2*time.Minute, "limit of the linearizability check; beyond it the verdict is Unknown")
			fs.BoolVar(&o.Conform, "conform", true, "also replay every transition of both stacks through the reference table (trace conformance)")
			fs.StringVar(&html, "html", "", "write porcupine's visualisation of the history to this `file`, whatever the verdict")
			fs.StringVar(&corrupt, "corrupt", "", "change the recorded history in one place before checking it, to see the check catch it: `kind` is one of "+corruptions())
			return func(args []string, stdout, stderr io.Writer) error {
				if len(args) > 0 {
					return usagef("unexpected arguments %q: lincheck takes only flags", args)
				}
				err := firstError(
					inRange("conns", o.Conns, 1, 10000, "connections to dial"),
					inRange("ops", o.Ops, o.Conns, 1_000_000, "at least one per connection of --conns "+strconv.Itoa(o.Conns)+": give --ops "+strconv.Itoa(o.Conns)+" or more"),
					inRange("parallel", o.Parallel, 1, 10000, "connections in progress at once"),
					probability("loss", o.Faults.Loss),
					probability("dup", o.Faults.Dup),
					probability("reorder", o.Faults.Reorder),
					inRange("delay", o.Faults.Delay, 0, time.Second, "e.g. 1ms"),
					inRange("timeout", o.Timeout, time.Millisecond, 24*time.Hour, "the check's limit; e.g. 2m"),
					outputFile("html", html),
				)
				if err != nil {
					return err
				}
				if corrupt != "" && !slices.Contains(lin.Corruptions, lin.Corruption(corrupt)) {
					return oneOf("corrupt", corrupt, corruptionNames()...)
				}
				res, err := lin.Record(o)
				if err != nil {
					return usagef("%v", err)
				}
				if corrupt != "" {
					var what string
					if res.History, what, err = lin.Corrupt(res.History, lin.Corruption(corrupt), o.Seed); err != nil {
						return &exitError{code: exitUsage, msg: err.Error()}
					}
					res.Operations = len(res.History)
					fmt.Fprintf(stdout, "corrupted (%s): %s\n", corrupt, what)
				}
				t0 := time.Now()
				res.Verdict = lin.Check(res.History, o.Timeout)
				res.Check = time.Since(t0)
				fmt.Fprintf(stdout, "history: %d operations (%d on byte streams, %d on establishment) in %d partitions\n",
					res.Operations, res.StreamOps, res.EstablishOps, res.Partitions)
				fmt.Fprintf(stdout, "         %d connections established; %s\n", res.Connections, res.Counts)
				fmt.Fprintf(stdout, "relay:   %d segments forwarded, %d lost, %d duplicated, %d reordered\n",
					res.Relay.Forwarded, res.Relay.Dropped, res.Relay.Duplicated, res.Relay.Reordered)
				fmt.Fprintf(stdout, "workload %v (recording), check time %v (%.0f operations/s)\n",
					res.Workload.Round(time.Millisecond), res.Check.Round(time.Millisecond), float64(len(res.History))/res.Check.Seconds())
				if html != "" {
					if err := res.WriteHTML(html); err != nil {
						return &exitError{code: exitUsage, msg: err.Error()}
					}
					fmt.Fprintf(stdout, "visualisation: %s\n", html)
				}
				if o.Conform {
					if res.Divergence != nil {
						fmt.Fprintf(stdout, "conformance: %v\n", res.Divergence)
					} else {
						fmt.Fprintf(stdout, "conformance: all %d transitions of both stacks are the table's\n", res.Transitions)
					}
				}
				fmt.Fprintf(stdout, "verdict: %s\n", res.Verdict)
				if res.Divergence != nil && res.Verdict != porcupine.Illegal {
					return &exitError{code: exitViolated, msg: "the endpoint left the table (trace conformance); the history itself is " + string(res.Verdict)}
				}
				switch res.Verdict {
				case porcupine.Ok:
					return nil
				case porcupine.Illegal:
					if corrupt != "" {
						return &exitError{code: exitViolated, msg: "the corrupted history is not linearizable: the check caught the corruption"}
					}
					return &exitError{code: exitViolated, msg: "the history is not linearizable: no order of the operations fits the model"}
				}
				return &exitError{code: exitUsage, msg: fmt.Sprintf("the check did not finish within --timeout %v: the verdict is Unknown", o.Timeout)}
			}
		},
	})
}

func corruptions() string { return strings.Join(corruptionNames(), ", ") }

func corruptionNames() []string {
	var names []string
	for _, c := range lin.Corruptions {
		names = append(names, string(c))
	}
	return names
}
