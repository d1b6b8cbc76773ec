package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/tcpcheck/tcpcheck/model"
)

func init() {
	register(&command{
		name:    "why",
		summary: "run a mutant of the table and explain the shortest counterexample it produces",
		usage: "[flags] NAME | --list\n\n" +
			"Runs the named mutant (a one-row change of the table or a one-knob change of the\n" +
			"model) on the smallest configuration that shows its violation, checking the\n" +
			"property the mutant is about, and prints the question it answers, the change,\n" +
			"the violated property, the shortest counterexample and a plain-language\n" +
			"explanation.\n" +
			"Exit status: 1 when the mutant breaks its property (the expected outcome),\n" +
			"0 when it unexpectedly does not, 2 for an unknown NAME or bad flags.",
		setup: setupWhy,
	})
}

func mutantNames() []string {
	var names []string
	for _, m := range model.Mutants() {
		names = append(names, m.Name)
	}
	return names
}

func setupWhy(fs *flag.FlagSet) func(args []string, stdout, stderr io.Writer) error {
	var rf runFlags
	rf.register(fs, false)
	list := fs.Bool("list", false, "list the mutants and the question each answers (with --json as a JSON array)")
	return func(args []string, stdout, stderr io.Writer) error {
		if err := rf.validate(); err != nil {
			return err
		}
		set := flagsGiven(fs)
		if *list {
			if len(args) > 0 {
				return usagef("--list takes no NAME")
			}
			for _, name := range []string{"pcap", "mermaid", "rows"} {
				if set[name] {
					return usagef("--%s goes with a mutant NAME, which runs it; --list only names the mutants", name)
				}
			}
			if rf.json {
				type mutantJSON struct {
					Name     string `json:"name"`
					Question string `json:"question"`
					Property string `json:"property"`
				}
				list := []mutantJSON{}
				for _, m := range model.Mutants() {
					list = append(list, mutantJSON{m.Name, m.Question, m.Property})
				}
				data, err := json.Marshal(list)
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(stdout, "%s\n", data)
				return err
			}
			for _, m := range model.Mutants() {
				fmt.Fprintf(stdout, "%-18s %s (breaks %s)\n", m.Name, m.Question, m.Property)
			}
			return nil
		}
		if len(args) != 1 {
			return usagef("want one mutant NAME (or --list); mutants: %s", strings.Join(mutantNames(), ", "))
		}
		var mut *model.Mutant
		for _, m := range model.Mutants() {
			if m.Name == args[0] {
				mut = &m
				break
			}
		}
		if mut == nil {
			return usagef("unknown mutant %q; mutants: %s", args[0], strings.Join(mutantNames(), ", "))
		}
		cfg, err := model.MutantConfig(mut.Name)
		if err != nil {
			return err
		}
		sys, err := model.NewMutant(cfg, mut.Name)
		if err != nil {
			return err
		}
		// The question is about one property: check that one, so that a
		// mutant that also breaks another (a restatement of the same rule,
		// found a step earlier) still shows the counterexample it is for.
		opt := rf.options(stderr)
		opt.Properties = []string{mut.Property}
		res, err := rf.explore(sys, opt, nil)
		if err != nil {
			return err
		}
		got := ""
		if res.Violation != nil {
			got = res.Violation.Property
		}
		expected := got == mut.Property
		if rf.json {
			extra := map[string]any{"mutant": map[string]string{
				"name": mut.Name, "question": mut.Question, "change": mut.Change,
				"property": mut.Property, "explain": mut.Explain,
			}, "expected": expected}
			if err := report(stdout, stderr, sys, res, &rf, extra); err != nil {
				return err
			}
		} else {
			fmt.Fprintf(stdout, "%s\n\nmutant %s: %s\nexpected to break: %s\n", mut.Question, mut.Name, mut.Change, mut.Property)
			switch {
			case res.Violation == nil:
				fmt.Fprintf(stdout, "\nUNEXPECTED: no property was violated (%s, %d states); the mutant does not show what it should.\n",
					res.Verdict, res.States)
			case !expected:
				fmt.Fprintf(stdout, "\nUNEXPECTED: it broke %s first, not %s.\n", got, mut.Property)
			default:
				fmt.Fprintf(stdout, "\nviolated: %s (shortest counterexample, %d steps; %d states explored)\n", got, len(res.Violation.Trace), res.States)
			}
			fmt.Fprintln(stdout)
			if err := report(stdout, stderr, sys, res, &rf, nil); err != nil {
				return err
			}
			if res.Violation != nil {
				fmt.Fprintf(stdout, "\nwhy: %s\n", mut.Explain)
			}
		}
		return verdictExit(res)
	}
}
