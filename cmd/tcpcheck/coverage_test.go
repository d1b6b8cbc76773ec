package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// TestCoverageCommand: the family covers or excludes every row (exit 0),
// the JSON's counts add up to the table, every covered row names its
// member, the command that replays it and a trace whose last step applies
// it, and --row prints that trace.
func TestCoverageCommand(t *testing.T) {
	code, stdout, stderr := runCLI(t, "coverage", "--json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rep struct {
		Covered, Excluded, Uncovered int
		Rows                         []struct {
			Row      string `json:"row"`
			Member   string `json:"member"`
			Command  string `json:"command"`
			Excluded string `json:"excluded_by"`
			Trace    *struct {
				Trace []struct {
					Row string `json:"row"`
				} `json:"trace"`
			} `json:"trace"`
		}
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Uncovered != 0 || rep.Covered+rep.Excluded != len(rep.Rows) || rep.Covered == 0 || rep.Excluded == 0 {
		t.Fatalf("covered %d, excluded %d, uncovered %d of %d rows", rep.Covered, rep.Excluded, rep.Uncovered, len(rep.Rows))
	}
	for _, r := range rep.Rows {
		if r.Member == "" {
			if r.Excluded == "" {
				t.Errorf("%s: neither covered nor excluded", r.Row)
			}
			continue
		}
		if r.Trace == nil || len(r.Trace.Trace) == 0 || !strings.Contains(r.Command, r.Row) {
			t.Fatalf("%s: no trace or no command", r.Row)
		}
		if last := r.Trace.Trace[len(r.Trace.Trace)-1].Row; last != r.Row {
			t.Errorf("%s: the trace ends with row %q", r.Row, last)
		}
	}
	code, stdout, stderr = runCLI(t, "coverage", "--row", "SYN-SENT + rcv RST [!AckOK]")
	if code != exitOK || !strings.Contains(stdout, "attacker -> A") || !strings.Contains(stdout, "SYN-SENT") {
		t.Errorf("--row: exit %d, %s%s", code, stdout, stderr)
	}
	code, stdout, _ = runCLI(t, "coverage", "--row", "TIME-WAIT + RTO")
	if code != exitOK || !strings.Contains(stdout, "AllAckedAfterFinAcked") {
		t.Errorf("--row of an excluded row: exit %d, %s", code, stdout)
	}
	if code, _, stderr := runCLI(t, "coverage", "--row", "NO + SUCH"); code != exitUsage || !strings.Contains(stderr, "no such row") {
		t.Errorf("--row of no row: exit %d, %s", code, stderr)
	}
}

// TestCoverageDocCurrent: docs/coverage.md starts with what `coverage
// --markdown` writes now (the mutation sweep below it is regenerated with
// --sweep, which takes a few minutes on 2 cores, and is not rerun
// here).
func TestCoverageDocCurrent(t *testing.T) {
	data, err := os.ReadFile("../../docs/coverage.md")
	if err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI(t, "coverage", "--markdown")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	doc := string(data)
	if i := strings.Index(doc, "\n\n## Mutation sweep\n"); i >= 0 {
		doc = doc[:i+1]
	}
	if doc != stdout {
		t.Errorf("docs/coverage.md is stale: run go run ./cmd/tcpcheck coverage --sweep --markdown > docs/coverage.md")
	}
}
