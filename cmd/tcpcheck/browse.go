package main

import (
	"flag"
	"io"
	"strings"

	"github.com/tcpcheck/tcpcheck/model"
)

func init() {
	register(&command{
		name:    "browse",
		summary: "walk the model's state space by hand in a local web page",
		usage: "[--addr ADDR] [--mutant NAME] [configuration flags | --config FILE | --preset NAME]\n\n" +
			"Serves the explorer on ADDR (default 127.0.0.1 on a free port) and prints its URL.\n" +
			"The page shows the current global state, the enabled actions as links, back and\n" +
			"forward, the state diagram with A's and B's states highlighted, jumps to a\n" +
			"counterexample or a docs page's trace, and exports the trace walked. Everything\n" +
			"is served by tcpcheck itself; the page loads nothing from the network.\n" +
			"With --mutant the mutant's own configuration is used unless configuration flags are given.",
		setup: setupBrowse,
	})
}

func setupBrowse(fs *flag.FlagSet) func(args []string, stdout, stderr io.Writer) error {
	var cf configFlags
	addr := fs.String("addr", defaultExplorerAddr, "listen on `ADDR` (host:port)")
	mutant := fs.String("mutant", "", "run the named mutant instead of the correct table: "+strings.Join(mutantNames(), ", "))
	cf.register(fs)
	return func(args []string, stdout, stderr io.Writer) error {
		if len(args) > 0 {
			return usagef("unexpected argument %q; browse takes only flags", args[0])
		}
		sys, err := browseSystem(&cf, fs, *mutant)
		if err != nil {
			return err
		}
		return serveExplorer(sys, *addr, stdout)
	}
}

// browseSystem builds the system browse serves: the configuration from the
// flags, or the mutant's own when a mutant is named and no configuration
// flag is given.
func browseSystem(cf *configFlags, fs *flag.FlagSet, mutant string) (*model.System, error) {
	cfg, err := cf.config()
	if err != nil {
		return nil, err
	}
	if mutant == "" {
		return model.New(cfg)
	}
	found := false
	for _, n := range mutantNames() {
		found = found || n == mutant
	}
	if !found {
		return nil, usagef("unknown mutant %q; mutants: %s", mutant, strings.Join(mutantNames(), ", "))
	}
	given := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name != "addr" && f.Name != "mutant" {
			given = true
		}
	})
	if !given {
		if cfg, err = model.MutantConfig(mutant); err != nil {
			return nil, err
		}
	}
	return model.NewMutant(cfg, mutant)
}
