package evidence

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/tcpcheck/tcpcheck/check/explain"
	"github.com/tcpcheck/tcpcheck/check/live/dut/linuxdut"
	"github.com/tcpcheck/tcpcheck/check/live/tester"
	"github.com/tcpcheck/tcpcheck/internal/testenv"
	"github.com/tcpcheck/tcpcheck/spec"
)

// linuxCitation is a generated case cited as what Linux does, with the
// deviation it must show ("" when Linux agrees with the table), and where
// it is cited.
type linuxCitation struct {
	explain.LinuxCase
	where string
}

// replacedRow is a row of the table "Scenarios the generated cases
// replaced" of docs/linux.md: "| `SCENARIO` | TEXT | CASES |".
var (
	replacedRow  = regexp.MustCompile("(?m)^\\| `([a-z0-9-]+)` \\| [^\n]*\\| ([^|\n]+) \\|$")
	replacedCase = regexp.MustCompile("`([^`]+)`(?: \\(deviation `([^`]+)`\\))?")
)

// linuxDocCitations reads the cases that docs/linux.md names in place of
// the dropped kernel scenarios, and the scenarios they replaced.
func linuxDocCitations(t *testing.T) (cites []linuxCitation, dropped []string) {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join("..", "..", "..", "..", "docs", "linux.md"))
	if err != nil {
		t.Fatal(err)
	}
	const title = "### Scenarios the generated cases replaced\n"
	i := strings.Index(string(doc), title)
	if i < 0 {
		t.Fatalf("docs/linux.md has no section %q", strings.TrimSpace(title))
	}
	sec := string(doc[i+len(title):])
	if j := strings.Index(sec, "\n#"); j >= 0 {
		sec = sec[:j]
	}
	for _, m := range replacedRow.FindAllStringSubmatch(sec, -1) {
		dropped = append(dropped, m[1])
		cs := replacedCase.FindAllStringSubmatch(m[2], -1)
		if len(cs) == 0 {
			t.Errorf("docs/linux.md: the scenario %s names no case in its place", m[1])
		}
		for _, c := range cs {
			cites = append(cites, linuxCitation{explain.LinuxCase{Name: c[1], Deviation: c[2]}, "docs/linux.md (in place of the scenario " + m[1] + ")"})
		}
	}
	if len(dropped) == 0 {
		t.Fatal("docs/linux.md: no row in the table of the scenarios the generated cases replaced")
	}
	return cites, dropped
}

// TestLinuxCases checks the generated cases that stand for Linux's
// behaviour in the question pages ("linux: case ...") and in docs/linux.md
// (in place of the kernel scenarios they replaced): each is a case the
// tester generates from the table, not one that waits out Linux's fixed
// TIME-WAIT, and the deviation named beside it is registered. As root it
// runs them against Linux (linuxdut) and requires each to agree with the
// table, or to show exactly the deviation named; without root it skips
// that part (and fails when CI is "true").
func TestLinuxCases(t *testing.T) {
	pages, err := explain.Pages()
	if err != nil {
		t.Fatal(err)
	}
	var cites []linuxCitation
	for _, p := range pages {
		for _, c := range p.LinuxCases {
			cites = append(cites, linuxCitation{c, p.File})
		}
	}
	docCites, dropped := linuxDocCitations(t)
	cites = append(cites, docCites...)
	for _, name := range dropped {
		if _, err := os.Stat(filepath.Join("..", "..", "kernel", "testdata", "scenarios", name+".txt")); err == nil {
			t.Errorf("docs/linux.md says the generated cases replaced the kernel scenario %s, which is still a file of the suite", name)
		}
	}

	md, err := tester.NewModel(spec.Table())
	if err != nil {
		t.Fatal(err)
	}
	suite := tester.Generate(md)
	byName := map[string]*tester.Case{}
	for _, c := range suite.Cases {
		byName[c.Name] = c
	}
	registered := map[string]bool{}
	for _, d := range linuxdut.Deviations {
		registered[d.ID] = true
	}
	want := map[string]string{} // case name -> the deviation it shows
	var cases []*tester.Case
	for _, c := range cites {
		tc := byName[c.Name]
		switch {
		case tc == nil:
			t.Errorf("%s: %q is not a generated case (tcpcheck conform --dut impl --json lists them)", c.where, c.Name)
			continue
		case linuxdut.WaitsFixedTimer(events(tc)):
			t.Errorf("%s: case %q waits for Linux's fixed 60 s TIME-WAIT (it runs only with --full); cite another", c.where, c.Name)
			continue
		case c.Deviation != "" && !registered[c.Deviation]:
			t.Errorf("%s: case %q: deviation %s is not registered in linuxdut.Deviations", c.where, c.Name, c.Deviation)
		}
		if w, ok := want[c.Name]; ok {
			if w != c.Deviation {
				t.Errorf("%s: case %q is cited with deviation %q here and %q elsewhere", c.where, c.Name, c.Deviation, w)
			}
			continue
		}
		want[c.Name] = c.Deviation
		cases = append(cases, tc)
	}
	if t.Failed() {
		return
	}

	if err := linuxdut.Available(); err != nil {
		testenv.Missing(t, "running the cited cases against Linux: %v", err)
	}
	results := tester.RunCases(md, cases, linuxdut.New, tester.Options{Deviations: linuxdut.Deviations})
	for _, r := range results {
		w := want[r.Case.Name]
		got := verdictOf(r)
		if got != verdictWanted(w) {
			t.Errorf("case %q against Linux: %s; the citations say %s\n%s", r.Case.Name, got, verdictWanted(w), r.Table(md.Rows()))
		}
	}
	t.Logf("%d cited cases run against Linux", len(results))
}

// events lists the events of a case's moves.
func events(c *tester.Case) []spec.Event {
	var out []spec.Event
	for _, m := range c.Moves {
		out = append(out, m.Event)
	}
	return slices.Clip(out)
}

// verdictOf renders a result as the citations name it.
func verdictOf(r *tester.Result) string {
	switch r.Verdict {
	case tester.Agree:
		return "agrees"
	case tester.Deviation:
		return "shows deviation " + r.Deviation
	}
	return fmt.Sprintf("%s (%s)", r.Verdict, r.Reason)
}

// verdictWanted renders what a citation says of a case.
func verdictWanted(deviation string) string {
	if deviation == "" {
		return "agrees"
	}
	return "shows deviation " + deviation
}
