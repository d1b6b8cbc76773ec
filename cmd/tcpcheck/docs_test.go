package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDocsCommandsReproduceTheirTraces runs the command each docs page
// names beside each trace and requires its output to be the trace the page
// shows: `tcpcheck trace FILE` for every scene, and `tcpcheck why NAME`
// where the page says why finds that counterexample (issue 22: the pages'
// "Configuration: tcpcheck explore ..." lines printed ok under a mutant,
// and nothing for a goal).
func TestDocsCommandsReproduceTheirTraces(t *testing.T) {
	pages, err := filepath.Glob("../../docs/questions/*.md")
	if err != nil || len(pages) == 0 {
		t.Fatalf("no docs pages (%v)", err)
	}
	reproduce := regexp.MustCompile("(?m)^Reproduce: `tcpcheck trace (docs/questions/[^`]+)`.*\\n\\n```text\\n((?s:.*?))```\\n")
	why := regexp.MustCompile("`tcpcheck why ([a-z0-9-]+)` finds this shortest counterexample")
	whyTables := map[string]string{}
	scenes := 0
	for _, page := range pages {
		data, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		text := string(data)
		name := filepath.Base(page)
		if strings.Contains(text, "Configuration: `tcpcheck explore") {
			t.Errorf("%s gives its configuration as a tcpcheck explore command, which cannot select a mutant or a goal", name)
		}
		blocks := strings.Count(text, "```text\n")
		matches := reproduce.FindAllStringSubmatchIndex(text, -1)
		if len(matches) != blocks {
			t.Errorf("%s: %d traces but %d of them follow a Reproduce line", name, blocks, len(matches))
		}
		for _, m := range matches {
			scenes++
			file, table := text[m[2]:m[3]], text[m[4]:m[5]]
			code, stdout, stderr := runCLI(t, "trace", filepath.Join("../..", file))
			if code != exitOK {
				t.Errorf("%s: tcpcheck trace %s: exit %d, %s", name, file, code, stderr)
				continue
			}
			// The first line is the trace's title.
			if _, got, _ := strings.Cut(stdout, "\n"); got != table {
				t.Errorf("%s: tcpcheck trace %s prints\n%s\nthe page shows\n%s", name, file, got, table)
			}
			// A mutant's scene says why finds this counterexample: it must.
			sceneStart := strings.LastIndex(text[:m[0]], "\n## ")
			if w := why.FindStringSubmatch(text[sceneStart:m[0]]); w != nil {
				got, ok := whyTables[w[1]]
				if !ok {
					got = whyCounterexample(t, w[1])
					whyTables[w[1]] = got
				}
				if got != table {
					t.Errorf("%s: tcpcheck why %s finds\n%s\nthe page shows\n%s", name, w[1], got, table)
				}
			}
		}
	}
	if scenes < len(pages) {
		t.Errorf("%d reproducible traces in %d pages", scenes, len(pages))
	}
}

// whyCounterexample runs why NAME and returns its counterexample table.
func whyCounterexample(t *testing.T, name string) string {
	t.Helper()
	code, stdout, stderr := runCLI(t, "why", "--quiet", name)
	if code != exitViolated {
		t.Fatalf("why %s: exit %d, %s", name, code, stderr)
	}
	_, after, ok := strings.Cut(stdout, "\ncounterexample (")
	if !ok {
		t.Fatalf("why %s: no counterexample:\n%s", name, stdout)
	}
	_, table, _ := strings.Cut(after, "\n")
	table, _, _ = strings.Cut(table, "\n\n")
	// why adds a line of explanation to a deadlock, which the pages
	// leave out; the steps are what is compared.
	var lines []string
	for _, l := range strings.Split(table, "\n") {
		if !strings.HasPrefix(l, "  deadlock: ") {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n") + "\n"
}
