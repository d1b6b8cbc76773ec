package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/tcpcheck/tcpcheck/check"
)

func init() {
	register(&command{
		name:    "merge",
		summary: "combine the shard files of a sharded explore run (explore --shard I/N --shard-out FILE)",
		usage: "[flags] FILE...\n\n" +
			"Reads the shard files of one run (every part 0..N-1, each once), counts the\n" +
			"distinct states of the union of their visited sets, and prints the result\n" +
			"as explore does: verdict per property, coverage, the shortest counterexample\n" +
			"any shard found, the overlap (states explored by more than one shard) and a\n" +
			"table of the shards. See docs/sharding.md.\n" +
			"Exit status: 0 every property holds (or a limit set on a shard stopped it,\n" +
			"which the output says), 1 a property is violated, 2 a shard is missing, a file\n" +
			"is damaged or of another run, or bad flags.",
		setup: setupMerge,
	})
}

func setupMerge(fs *flag.FlagSet) func(args []string, stdout, stderr io.Writer) error {
	var rf runFlags
	rf.register(fs, false)
	return func(args []string, stdout, stderr io.Writer) error {
		if len(args) == 0 {
			return usagef("want the shard FILEs of a run (written by explore --shard I/N --shard-out FILE)")
		}
		if err := rf.validate(); err != nil {
			return err
		}
		files := []fileArg{{flag: "pcap", path: rf.pcap, output: true}}
		for _, a := range args {
			if err := inputFile("", a); err != nil {
				return err
			}
			files = append(files, fileArg{path: a, what: "the shard file"})
		}
		if err := distinctFiles(files...); err != nil {
			return err
		}
		m, err := check.Merge(args...)
		if err != nil {
			return err
		}
		if err := mergeReport(stdout, stderr, m, &rf); err != nil {
			return err
		}
		switch {
		case m.Result.Verdict == check.Violated:
			return &exitError{code: exitViolated}
		case len(m.Missing) > 0:
			return &exitError{code: exitUsage, msg: "incomplete: " + strings.Join(m.Why, "; ") + "; give every shard's file"}
		}
		return nil
	}
}

type mergeJSON struct {
	Shards       int             `json:"shards"`
	Missing      []int           `json:"missing"`
	Why          []string        `json:"why"`
	SumStates    int64           `json:"sum_states"`
	Overlap      float64         `json:"overlap"`
	MaxPeakBytes int64           `json:"max_peak_bytes"`
	Parts        []mergePartJSON `json:"parts"`
}

type mergePartJSON struct {
	File        string          `json:"file"`
	Shard       int             `json:"shard"`
	Result      check.Verdict   `json:"result"`
	Limit       string          `json:"limit,omitempty"`
	States      int64           `json:"states"`
	Transitions int64           `json:"transitions"`
	Depth       int             `json:"depth"`
	Seconds     float64         `json:"seconds"`
	PeakBytes   int64           `json:"peak_bytes"`
	Split       *shardJSONValue `json:"split"`
	Violated    string          `json:"violated,omitempty"`
}

// mergeReport prints a merged result, human or JSON: the verdict and the
// counterexample first, as explore does.
func mergeReport(w, stderr io.Writer, m *check.Merged, rf *runFlags) error {
	res, sys := m.Result, m.Sys
	extra := map[string]any{"merge": mergeJSONOf(m)}
	if mut := sys.Mutant(); mut != "" {
		extra["mutant"] = map[string]string{"name": mut}
	}
	if rf.json {
		return report(w, stderr, sys, res, rf, extra)
	}
	mermaid, err := counterexampleMermaid(sys, res, rf)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "result: %s\n", verdictLine(res, strings.Join(m.Why, "; ")))
	if err := reportCounterexample(w, sys, res, mermaid); err != nil {
		return err
	}
	fmt.Fprintln(w, configLine(sys.Config()))
	if mut := sys.Mutant(); mut != "" {
		fmt.Fprintf(w, "mutant: %s\n", mut)
	}
	fmt.Fprintf(w, "merged %d of %d shards: states %d (the union), transitions %d, depth %d, %.2f s in all shards\n",
		len(m.Parts), m.N, res.States, res.Transitions, res.Depth, res.Seconds)
	fmt.Fprintf(w, "overlap: the shards explored %d states in all, %.3f times the union; the largest shard's tables peaked at %s\n",
		m.SumStates, m.Overlap, byteSize(float64(m.MaxPeakBytes)))
	fmt.Fprintln(w, storageLine(res.Storage))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "shard\tsplit depth\tfrontier\towned\tstates\ttransitions\tdepth\tseconds\tpeak\tresult\t  file")
	for _, p := range m.Parts {
		r := p.Result
		split, frontier, owned := "-", "-", "-"
		if sh := r.Shard; sh != nil && sh.SplitDepth >= 0 {
			split, frontier, owned = fmt.Sprint(sh.SplitDepth), fmt.Sprint(sh.Frontier), fmt.Sprint(sh.Owned)
		}
		verdict := r.Verdict.String()
		if r.Violation != nil {
			verdict += " " + r.Violation.Property
		} else if r.Limit != "" {
			verdict += " " + r.Limit
		}
		fmt.Fprintf(tw, "%d/%d\t%s\t%s\t%s\t%d\t%d\t%d\t%.2f\t%s\t%s\t  %s\n", p.I, m.N, split, frontier, owned,
			r.States, r.Transitions, r.Depth, r.Seconds, byteSize(r.BytesPerState*float64(r.States)), verdict, p.Name)
	}
	runs, rest := m.MissingRuns()
	for _, r := range runs {
		fmt.Fprintf(tw, "%s\t\t\t\t\t\t\t\t\tmissing\t\n", r)
	}
	if rest > 0 {
		fmt.Fprintf(tw, "%d more\t\t\t\t\t\t\t\t\tmissing\t\n", rest)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	reportProperties(w, sys, res, rf)
	return writeFiles(res, rf, sys.Config().MSL, stderr)
}

func mergeJSONOf(m *check.Merged) mergeJSON {
	j := mergeJSON{Shards: m.N, Missing: m.Missing, Why: m.Why, SumStates: m.SumStates, Overlap: m.Overlap,
		MaxPeakBytes: m.MaxPeakBytes, Parts: []mergePartJSON{}}
	if j.Missing == nil {
		j.Missing = []int{}
	}
	if j.Why == nil {
		j.Why = []string{}
	}
	for _, p := range m.Parts {
		r := p.Result
		pj := mergePartJSON{File: p.Name, Shard: p.I, Result: r.Verdict, Limit: r.Limit, States: r.States,
			Transitions: r.Transitions, Depth: r.Depth, Seconds: r.Seconds, PeakBytes: int64(r.BytesPerState * float64(r.States))}
		if r.Shard != nil {
			s := shardJSON(r.Shard)
			pj.Split = &s
		}
		if r.Violation != nil {
			pj.Violated = r.Violation.Property
		}
		j.Parts = append(j.Parts, pj)
	}
	return j
}
