// Command genruns renders the records of package evidence into the
// fragments the question pages show (check/explain/runs/NAME.md). Runs
// over the mem link are made afresh (they are deterministic); live runs
// are read from their stored records. It runs from go generate ./...;
// with -only NAME it prints one fragment, making the run if it is a mem
// run.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/tcpcheck/tcpcheck/check/live/internal/evidence"
)

func main() {
	out := flag.String("out", "check/explain/runs", "write the fragments into this `dir`")
	records := flag.String("records", "check/live/internal/evidence/testdata", "the stored records of the live runs")
	only := flag.String("only", "", "print the fragment of this run only")
	flag.Parse()
	if err := run(*out, *records, *only); err != nil {
		fmt.Fprintf(os.Stderr, "genruns: %v\n", err)
		os.Exit(1)
	}
}

func run(out, records, only string) error {
	want := map[string]bool{}
	for _, r := range evidence.Runs() {
		if only != "" && r.Name != only {
			continue
		}
		var rec *evidence.Record
		var err error
		if r.Live {
			rec, err = evidence.Load(records, r.Name)
		} else {
			rec, err = evidence.Make(r.Name)
		}
		if err != nil {
			return err
		}
		if err := r.Check(rec); err != nil {
			return err
		}
		if only != "" {
			_, err := os.Stdout.Write(rec.Fragment())
			return err
		}
		want[r.Name+".md"] = true
		if err := os.WriteFile(filepath.Join(out, r.Name+".md"), rec.Fragment(), 0o644); err != nil {
			return err
		}
	}
	if only != "" {
		return fmt.Errorf("no run %q", only)
	}
	old, _ := filepath.Glob(filepath.Join(out, "*.md"))
	for _, f := range old {
		if !want[filepath.Base(f)] && !strings.EqualFold(filepath.Base(f), "README.md") {
			if err := os.Remove(f); err != nil {
				return err
			}
		}
	}
	return nil
}
