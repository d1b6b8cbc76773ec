package explain

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

// mustPages returns the embedded pages or fails the test.
func mustPages(t *testing.T) []Page {
	t.Helper()
	pages, err := Pages()
	if err != nil {
		t.Fatal(err)
	}
	return pages
}

// TestPageFiles checks that every file of check/explain/pages is a page the
// binary holds and that docs/questions has a generated page for each, and
// no other: adding a page is adding a file.
func TestPageFiles(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(PageDir, "*"))
	if err != nil {
		t.Fatal(err)
	}
	var onDisk []string
	for _, f := range files {
		if filepath.Base(f) == "README.md" {
			continue
		}
		if !strings.HasSuffix(f, ".md") {
			t.Errorf("%s: the page directory holds only SLUG.md files", f)
			continue
		}
		onDisk = append(onDisk, strings.TrimSuffix(filepath.Base(f), ".md"))
	}
	var loaded []string
	for _, p := range mustPages(t) {
		loaded = append(loaded, p.Slug)
		if p.File != "check/explain/"+PageDir+"/"+p.Slug+".md" {
			t.Errorf("page %s was read from %s", p.Slug, p.File)
		}
	}
	generated, _ := filepath.Glob(filepath.Join(docsDir, "questions", "*.md"))
	for i, g := range generated {
		generated[i] = strings.TrimSuffix(filepath.Base(g), ".md")
	}
	slices.Sort(onDisk)
	slices.Sort(loaded)
	slices.Sort(generated)
	if !slices.Equal(onDisk, loaded) {
		t.Errorf("page files %v, pages loaded %v", onDisk, loaded)
	}
	if !slices.Equal(onDisk, generated) {
		t.Errorf("page files %v, docs/questions pages %v (run go generate ./...)", onDisk, generated)
	}
}

const goodPage = `---
order: 1
related: other
---

# Why?

Because
of this.

Second paragraph.

## A scene

config: small write-a=0 write-b=0 reorder=true also=simultaneous/a
goal: both-established

It reads.

## A mutant

mutant: two-way-handshake
`

func TestParsePage(t *testing.T) {
	p, err := ParsePage("pages/why.md", []byte(goodPage))
	if err != nil {
		t.Fatal(err)
	}
	if p.Slug != "why" || p.Question != "Why?" || p.Answer != "Because of this.\n\nSecond paragraph." || len(p.Scenes) != 2 {
		t.Fatalf("parsed %+v", p)
	}
	sc := p.Scenes[0]
	if sc.Title != "A scene" || sc.Reading != "It reads." || sc.Goal == nil || sc.Goal.Name != namedGoals["both-established"].Name {
		t.Errorf("scene %+v", sc)
	}
	if c := sc.Config; c.WriteA != 0 || c.WriteB != 0 || !c.Reorder || c.Incarnations != 1 || len(c.Also) != 1 || c.Also[0].Open != "simultaneous" {
		t.Errorf("config %+v", c)
	}
	if sc := p.Scenes[1]; sc.Mutant != "two-way-handshake" || sc.Goal != nil || sc.Reading != "" {
		t.Errorf("mutant scene %+v", sc)
	}
	fsys := fstest.MapFS{
		"p/why.md":    {Data: []byte(goodPage)},
		"p/README.md": {Data: []byte("not a page")},
		"p/other.md":  {Data: []byte(strings.Replace(strings.Replace(goodPage, "order: 1", "order: 0", 1), "related: other\n", "", 1))},
	}
	pages, err := LoadPages(fsys, "p")
	if err != nil || len(pages) != 2 || pages[0].Slug != "other" || pages[1].Slug != "why" {
		t.Errorf("LoadPages: %v %+v", err, pages)
	}
	fsys["p/why.md"].Data = []byte(strings.Replace(goodPage, "related: other", "related: nowhere", 1))
	if _, err := LoadPages(fsys, "p"); err == nil || !strings.Contains(err.Error(), "p/why.md") || !strings.Contains(err.Error(), "nowhere") {
		t.Errorf("a missing related page: %v", err)
	}
	fsys["p/why.md"].Data = []byte(strings.Replace(goodPage, "order: 1", "order: 0", 1))
	if _, err := LoadPages(fsys, "p"); err == nil || !strings.Contains(err.Error(), "order 0") {
		t.Errorf("two pages with one order: %v", err)
	}
}

// TestParsePageErrors checks that a malformed page file gets an error that
// names the file and the line.
func TestParsePageErrors(t *testing.T) {
	for _, c := range []struct {
		name, old, new, want string
	}{
		{"no header", "---\norder: 1\nrelated: other\n---\n", "", "pages/bad.md:1: "},
		{"unclosed header", "---\n\n# Why?", "\n# Why?", "pages/bad.md:4: the header has no closing line"},
		{"no order", "order: 1\n", "", "pages/bad.md:1: the header has no order"},
		{"bad order", "order: 1", "order: first", "pages/bad.md:2: order \"first\""},
		{"unknown header key", "related: other", "see: other", "pages/bad.md:3: unknown header key \"see\""},
		{"no question", "# Why?", "Why?", "pages/bad.md:"},
		{"no answer", "Because\nof this.\n\nSecond paragraph.\n", "", "has no answer"},
		{"unknown goal", "goal: both-established", "goal: everybody-happy", "pages/bad.md:16: unknown goal \"everybody-happy\"; the registered goals are "},
		{"bad knob", "write-b=0", "write-c=0", "pages/bad.md:15: config"},
		{"bad value", "reorder=true", "reorder=often", "pages/bad.md:15: config"},
		{"out of range", "write-a=0", "write-a=9", "write_a is 9"},
		{"bad preset", "config: small", "config: tiny", "pages/bad.md:15: config \"tiny"},
		{"unknown mutant", "mutant: two-way-handshake", "mutant: one-way-handshake", "pages/bad.md:22: explain: unknown mutant"},
		{"no goal nor mutant", "mutant: two-way-handshake\n", "", "pages/bad.md:20: scene \"A mutant\" has neither"},
		{"goal without config", "config: small write-a=0 write-b=0 reorder=true also=simultaneous/a\n", "", "pages/bad.md:13: scene \"A scene\" has a goal but no configuration"},
		{"mutant with goal", "mutant: two-way-handshake", "mutant: two-way-handshake\ngoal: quiescent", "no goal"},
		{"correct without mutant", "goal: both-established", "goal: both-established\ncorrect: yes", "needs mutant"},
		{"correct maybe", "mutant: two-way-handshake", "mutant: two-way-handshake\ncorrect: maybe", "pages/bad.md:23: correct"},
		{"key twice", "goal: both-established", "goal: both-established\ngoal: quiescent", "pages/bad.md:17: goal is given twice"},
		{"stray heading", "It reads.", "It reads.\n\n### Deeper", "pages/bad.md:20: "},
		{"no scene", goodPage[strings.Index(goodPage, "\n## A scene"):], "\n", "pages/bad.md:12: the page has no scene"},
	} {
		src := strings.Replace(goodPage, c.old, c.new, 1)
		if src == goodPage {
			t.Fatalf("%s: the change %q does not apply", c.name, c.old)
		}
		_, err := ParsePage("pages/bad.md", []byte(src))
		if err == nil || !strings.HasPrefix(err.Error(), "explain: pages/bad.md") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v; want an error naming the file and containing %q", c.name, err, c.want)
		}
	}
}

// TestGoalNamesUsed checks that every registered goal is used by a page, so
// that the registry holds no dead goal, and listed in the README of the
// page files.
func TestGoalNamesUsed(t *testing.T) {
	used := map[string]bool{}
	for _, p := range mustPages(t) {
		for _, sc := range p.Scenes {
			if sc.Goal != nil {
				used[sc.Goal.Name] = true
			}
		}
	}
	readme, err := os.ReadFile(filepath.Join(PageDir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range GoalNames() {
		if !used[namedGoals[n].Name] {
			t.Errorf("goal %s is used by no page", n)
		}
		if row := "| `" + n + "` | " + namedGoals[n].Name + " |"; !strings.Contains(string(readme), row) {
			t.Errorf("%s/README.md lacks the goal's row %s", PageDir, row)
		}
	}
}

// TestParsePageLinux checks the header lines "linux:": kernel scenarios
// as a list, generated cases one a line, with the deviation they show.
func TestParsePageLinux(t *testing.T) {
	head := "order: 1\n"
	src := strings.Replace(goodPage, head, head+"linux: kernel-client, refused-by-us\n"+
		"linux: case CLOSE-WAIT + CLOSE / close()\n"+
		"linux: case ESTABLISHED + ABORT (deviation abort-rst-carries-ack)\n"+
		"linux: close-with-unread-data\n", 1)
	p, err := ParsePage("pages/why.md", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"kernel-client", "refused-by-us", "close-with-unread-data"}; !slices.Equal(p.Linux, want) {
		t.Errorf("scenarios %q, want %q", p.Linux, want)
	}
	if want := []LinuxCase{{Name: "CLOSE-WAIT + CLOSE / close()"}, {Name: "ESTABLISHED + ABORT", Deviation: "abort-rst-carries-ack"}}; !slices.Equal(p.LinuxCases, want) {
		t.Errorf("cases %+v, want %+v", p.LinuxCases, want)
	}
	for _, c := range []struct{ line, want string }{
		{"linux: case established", `pages/bad.md:3: linux: case "established": a case is named by its row`},
		{"linux: case ESTABLISHED + ABORT (deviation Abort_RST)", `pages/bad.md:3: linux: "ESTABLISHED + ABORT (deviation Abort_RST)": want NAME (deviation ID)`},
	} {
		_, err := ParsePage("pages/bad.md", []byte(strings.Replace(goodPage, head, head+c.line+"\n", 1)))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v; want an error containing %q", c.line, err, c.want)
		}
	}
}

// TestPageLinuxEvidence checks what the pages cite as Linux's behaviour
// (linux:): every kernel scenario is a file of the kernel suite, and every
// deviation a generated case shows is registered in docs/linux.md. That
// the cases exist and show what the pages say is checked by the tests of
// package check/live/internal/evidence, which may depend on the tester.
func TestPageLinuxEvidence(t *testing.T) {
	dir := filepath.Join("..", "live", "kernel", "testdata", "scenarios")
	doc, err := os.ReadFile(filepath.Join(docsDir, "linux.md"))
	if err != nil {
		t.Fatal(err)
	}
	cited := 0
	for _, p := range mustPages(t) {
		for _, n := range p.Linux {
			if _, err := os.Stat(filepath.Join(dir, n+".txt")); err != nil {
				t.Errorf("%s: linux: %s is not a kernel scenario: %v", p.File, n, err)
			}
		}
		for _, c := range p.LinuxCases {
			cited++
			if c.Deviation != "" && !strings.Contains(string(doc), "\n#### `"+c.Deviation+"`\n") {
				t.Errorf("%s: linux: case %s shows deviation %s, which docs/linux.md does not register", p.File, c.Name, c.Deviation)
			}
		}
	}
	if cited == 0 {
		t.Error("no page cites a generated case as what Linux does")
	}
}
