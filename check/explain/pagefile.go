package explain

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/tcpcheck/tcpcheck/model"
)

// pageFiles holds the question pages, one file per page (see [ParsePage]
// for the format).
//
//go:embed pages/*.md
var pageFiles embed.FS

// PageDir is the directory of the page files, relative to this package.
const PageDir = "pages"

var loadPages = sync.OnceValues(func() ([]Page, error) { return loadPageFiles(pageFiles, PageDir, "check/explain/"+PageDir) })

// Pages returns the question pages compiled into the binary (the files of
// check/explain/pages), in the order of the index. The error names the file
// and line of a page that does not parse.
func Pages() ([]Page, error) {
	pages, err := loadPages()
	return slices.Clone(pages), err
}

// LoadPages parses every *.md file of dir in fsys but README.md as a page
// (see [ParsePage]) and returns them sorted by their order field. Two pages with
// the same order, a related page that does not exist or a goal name that
// is not registered is an error naming the file.
func LoadPages(fsys fs.FS, dir string) ([]Page, error) { return loadPageFiles(fsys, dir, dir) }

// loadPageFiles is LoadPages, naming the files under shown (the directory
// as a person finds it) in Page.File and in errors.
func loadPageFiles(fsys fs.FS, dir, shown string) ([]Page, error) {
	names, err := fs.Glob(fsys, path.Join(dir, "*.md"))
	if err != nil {
		return nil, fmt.Errorf("explain: %w", err)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("explain: no page files in %s", dir)
	}
	var pages []Page
	orders := map[int]string{}
	for _, name := range names {
		if path.Base(name) == "README.md" {
			continue // describes the format
		}
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("explain: %w", err)
		}
		p, err := ParsePage(path.Join(shown, path.Base(name)), data)
		if err != nil {
			return nil, err
		}
		if other, ok := orders[p.Order]; ok {
			return nil, fmt.Errorf("explain: %s: order %d is also the order of %s; give each page its own", p.File, p.Order, other)
		}
		orders[p.Order] = p.File
		pages = append(pages, p)
	}
	sort.Slice(pages, func(i, j int) bool { return pages[i].Order < pages[j].Order })
	for _, p := range pages {
		for _, r := range p.Related {
			if !slices.ContainsFunc(pages, func(q Page) bool { return q.Slug == r }) {
				return nil, fmt.Errorf("explain: %s: related page %q has no file %s.md", p.File, r, path.Join(shown, r))
			}
		}
	}
	return pages, nil
}

// ParsePage reads one page file; name is the file's path, whose base name
// without ".md" is the page's slug (the name of docs/questions/SLUG.md).
// Errors name the file and line. The format is Markdown with a small
// header:
//
//	---
//	order: 10
//	linux: kernel-client, refused-by-us
//	linux: case LISTEN + rcv SYN
//	related: lost-third-segment, simultaneous-open
//	---
//
//	# The question?
//
//	The short answer, one or more paragraphs.
//
//	## The title of a scene
//
//	config: small write-a=0 write-b=0
//	goal: both-established
//
//	What the reader sees in the trace, one or more paragraphs.
//
// The header gives the page's place in the index (order: pages are listed
// by it, and it must be unique), what Linux does in the same case (linux,
// optional and repeatable: "linux: case NAME" or "linux: case NAME
// (deviation ID)", a case of the generated conformance suite run against
// Linux, one a line, or "linux: NAME, ...", names of kernel scenarios, files
// of check/live/kernel/testdata/scenarios) and the related pages (related,
// optional, slugs). "# " starts the
// question, and each "## " a scene; the lines right after a scene's title,
// up to the first blank line, say how its trace is found:
//
//   - goal: NAME, a goal registered in this package (the shortest path of
//     the correct table to it), with config: PRESET [KEY=VALUE ...], a
//     preset of model.Presets changed by knobs named as the flags of
//     `tcpcheck explore` (write-a=1, loss=1, open=simultaneous), or
//     config-of: MUTANT, the configuration of a mutant;
//   - mutant: NAME alone: the mutant's shortest counterexample;
//   - mutant: NAME and correct: yes: the correct table making the mutant's
//     moves, then, with goal: NAME, the shortest way on to the goal;
//   - run: NAME alone: a run of the endpoint or of Linux, shown from its
//     fragment check/explain/runs/NAME.md (see [RunFragment]).
//
// The header may also name the page's group in the index (group: opening,
// closing or in use).
//
// Prose lines are joined with single spaces into paragraphs; paragraphs are
// separated by a blank line.
func ParsePage(name string, data []byte) (Page, error) {
	p := Page{File: name, Slug: strings.TrimSuffix(path.Base(name), ".md")}
	errf := func(line int, format string, args ...any) error {
		return fmt.Errorf("explain: %s:%d: %s", name, line, fmt.Sprintf(format, args...))
	}
	if p.Slug == "" || strings.ContainsAny(p.Slug, " \t.") {
		return Page{}, fmt.Errorf("explain: %s: the file name must be SLUG.md with a slug of letters, digits and dashes", name)
	}
	lines := strings.Split(strings.TrimSuffix(string(bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))), "\n"), "\n")
	i := 0
	// The header.
	if len(lines) == 0 || lines[0] != "---" {
		return Page{}, errf(1, "a page starts with a header between two lines \"---\" (order, linux, related)")
	}
	seen := map[string]int{}
	hasOrder := false
	for i = 1; ; i++ {
		if i == len(lines) {
			return Page{}, errf(i, "the header has no closing line \"---\"")
		}
		line := lines[i]
		if line == "---" {
			i++
			break
		}
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			return Page{}, errf(i+1, "the header has no closing line \"---\" before this line")
		}
		key, value, ok := strings.Cut(line, ":")
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		if !ok || value == "" {
			return Page{}, errf(i+1, "header line %q: want KEY: VALUE (order, linux, related)", line)
		}
		if at, dup := seen[key]; dup && key != "linux" {
			return Page{}, errf(i+1, "%s is given twice (first on line %d)", key, at)
		}
		seen[key] = i + 1
		switch key {
		case "order":
			n, err := strconv.Atoi(value)
			if err != nil || n < 0 {
				return Page{}, errf(i+1, "order %q: want a whole number (the page's place in the index)", value)
			}
			p.Order, hasOrder = n, true
		case "linux":
			if name, ok := strings.CutPrefix(value, "case "); ok {
				c, err := parseLinuxCase(strings.TrimSpace(name))
				if err != nil {
					return Page{}, errf(i+1, "linux: %v", err)
				}
				p.LinuxCases = append(p.LinuxCases, c)
				break
			}
			p.Linux = append(p.Linux, splitList(value)...)
		case "related":
			p.Related = splitList(value)
		case "group":
			if !slices.Contains(Groups, value) {
				return Page{}, errf(i+1, "group %q: want one of %s", value, strings.Join(Groups, ", "))
			}
			p.Group = value
		default:
			return Page{}, errf(i+1, "unknown header key %q; want order, group, linux or related", key)
		}
	}
	if !hasOrder {
		return Page{}, errf(1, "the header has no order: N (the page's place in the index)")
	}
	// The question and its answer.
	i = skipBlank(lines, i)
	if i == len(lines) || !strings.HasPrefix(lines[i], "# ") {
		return Page{}, errf(min(i+1, len(lines)), "want the question after the header, as a line \"# QUESTION\"")
	}
	p.Question = strings.TrimSpace(strings.TrimPrefix(lines[i], "# "))
	var err error
	p.Answer, i, err = prose(lines, i+1, errf)
	if err != nil {
		return Page{}, err
	}
	if p.Answer == "" {
		return Page{}, errf(i+1, "the question has no answer: want a paragraph after \"# %s\"", p.Question)
	}
	// The scenes.
	for i < len(lines) {
		at := i + 1
		if !strings.HasPrefix(lines[i], "## ") {
			return Page{}, errf(at, "want a scene, starting with \"## TITLE\"")
		}
		sc := Scene{Title: strings.TrimSpace(strings.TrimPrefix(lines[i], "## "))}
		i = skipBlank(lines, i+1)
		var goal, config, run string
		keys := map[string]int{}
		for ; i < len(lines) && strings.TrimSpace(lines[i]) != ""; i++ {
			key, value, ok := strings.Cut(lines[i], ":")
			key, value = strings.TrimSpace(key), strings.TrimSpace(value)
			if !ok || value == "" {
				return Page{}, errf(i+1, "scene line %q: want KEY: VALUE (goal, config, config-of, mutant, correct, run), then a blank line before the prose", lines[i])
			}
			if first, dup := keys[key]; dup {
				return Page{}, errf(i+1, "%s is given twice in the scene (first on line %d)", key, first)
			}
			keys[key] = i + 1
			switch key {
			case "run":
				if _, err := RunFragment(value); err != nil {
					return Page{}, errf(i+1, "%v", err)
				}
				run = value
			case "goal":
				goal = value
				g, ok := namedGoals[value]
				if !ok {
					return Page{}, errf(i+1, "unknown goal %q; the registered goals are %s (check/explain/pages.go)", value, strings.Join(GoalNames(), ", "))
				}
				sc.Goal = &g
			case "config":
				config = value
				if sc.Config, err = parseConfig(value); err != nil {
					return Page{}, errf(i+1, "%v", err)
				}
			case "config-of":
				if _, err := model.MutantConfig(value); err != nil {
					return Page{}, errf(i+1, "config-of: %v", err)
				}
				sc.ConfigOf = value
			case "mutant":
				if _, err := findMutant(value); err != nil {
					return Page{}, errf(i+1, "%v", err)
				}
				sc.Mutant = value
			case "correct":
				if value != "yes" {
					return Page{}, errf(i+1, "correct: %q; write \"correct: yes\" or leave the line out", value)
				}
				sc.Correct = true
			default:
				return Page{}, errf(i+1, "unknown scene key %q; want goal, config, config-of, mutant, correct or run", key)
			}
		}
		if run != "" {
			if len(keys) > 1 {
				return Page{}, errf(at, "scene %q: a run scene has only its run: NAME line", sc.Title)
			}
			rs := RunScene{Title: sc.Title, Run: run, At: len(p.Scenes)}
			if rs.Reading, i, err = prose(lines, i, errf); err != nil {
				return Page{}, err
			}
			p.Runs = append(p.Runs, rs)
			continue
		}
		switch {
		case sc.Mutant == "" && goal == "":
			return Page{}, errf(at, "scene %q has neither a goal nor a mutant", sc.Title)
		case sc.Mutant == "" && config == "" && sc.ConfigOf == "":
			return Page{}, errf(at, "scene %q has a goal but no configuration: add config: PRESET [KEY=VALUE ...] or config-of: MUTANT", sc.Title)
		case config != "" && sc.ConfigOf != "":
			return Page{}, errf(at, "scene %q has both config and config-of; keep one", sc.Title)
		case sc.Mutant != "" && (config != "" || sc.ConfigOf != ""):
			return Page{}, errf(at, "scene %q: a mutant scene runs in the mutant's configuration; leave out config and config-of", sc.Title)
		case sc.Correct && sc.Mutant == "":
			return Page{}, errf(at, "scene %q: correct: yes needs mutant: NAME (the moves to follow)", sc.Title)
		case sc.Mutant != "" && !sc.Correct && goal != "":
			return Page{}, errf(at, "scene %q: a mutant's counterexample has no goal; add correct: yes to follow it on the correct table", sc.Title)
		}
		if sc.Reading, i, err = prose(lines, i, errf); err != nil {
			return Page{}, err
		}
		p.Scenes = append(p.Scenes, sc)
	}
	if len(p.Scenes)+len(p.Runs) == 0 {
		return Page{}, errf(len(lines), "the page has no scene (\"## TITLE\" and its goal, mutant or run)")
	}
	return p, nil
}

// prose reads paragraphs from line i up to the next line starting with "#"
// (or the end): lines are joined with spaces, paragraphs with a blank line.
func prose(lines []string, i int, errf func(int, string, ...any) error) (string, int, error) {
	var paras []string
	var cur []string
	for ; i < len(lines) && !strings.HasPrefix(lines[i], "#"); i++ {
		line := strings.TrimSpace(lines[i])
		if line == "" {
			if len(cur) > 0 {
				paras = append(paras, strings.Join(cur, " "))
				cur = nil
			}
			continue
		}
		cur = append(cur, line)
	}
	if len(cur) > 0 {
		paras = append(paras, strings.Join(cur, " "))
	}
	if i < len(lines) && !strings.HasPrefix(lines[i], "## ") {
		return "", i, errf(i+1, "%q: only a scene title (\"## TITLE\") may follow the prose", lines[i])
	}
	return strings.Join(paras, "\n\n"), i, nil
}

func skipBlank(lines []string, i int) int {
	for i < len(lines) && strings.TrimSpace(lines[i]) == "" {
		i++
	}
	return i
}

// linuxCaseDeviation is the end of a "linux: case" line that names the
// deviation the case shows.
var linuxCaseDeviation = regexp.MustCompile(` \(deviation ([a-z0-9]+(?:-[a-z0-9]+)*)\)$`)

// parseLinuxCase reads "NAME" or "NAME (deviation ID)", the value of a
// header line "linux: case ...".
func parseLinuxCase(s string) (LinuxCase, error) {
	var c LinuxCase
	if m := linuxCaseDeviation.FindStringSubmatch(s); m != nil {
		c.Deviation = m[1]
		s = strings.TrimSuffix(s, m[0])
	} else if strings.Contains(s, "(deviation") {
		return c, fmt.Errorf("%q: want NAME (deviation ID), the ID in lower case with dashes", s)
	}
	// A case is named by its row, "STATE + EVENT [GUARD]", then variants.
	if !strings.Contains(s, " + ") {
		return c, fmt.Errorf("case %q: a case is named by its row, \"STATE + EVENT ...\", as `tcpcheck conform --dut linux -v` lists it", s)
	}
	c.Name = s
	return c, nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// parseConfig reads "PRESET [KEY=VALUE ...]": a preset of model.Presets
// with knobs changed, the knobs named as the flags of `tcpcheck explore`
// (write-a=1, reorder=true, open=simultaneous, also=none).
func parseConfig(s string) (model.Config, error) {
	f := strings.Fields(s)
	c, err := model.Preset(f[0])
	if err != nil {
		return model.Config{}, fmt.Errorf("config %q: the first word is a preset (%s)", s, strings.Join(model.Presets(), ", "))
	}
	data, err := json.Marshal(c)
	if err != nil {
		return model.Config{}, err
	}
	knobs := map[string]json.RawMessage{}
	if err := json.Unmarshal(data, &knobs); err != nil {
		return model.Config{}, err
	}
	for _, kv := range f[1:] {
		k, v, ok := strings.Cut(kv, "=")
		key := strings.ReplaceAll(k, "-", "_")
		old, known := knobs[key]
		if !ok || !known {
			var names []string
			for n := range knobs {
				names = append(names, strings.ReplaceAll(n, "_", "-"))
			}
			sort.Strings(names)
			return model.Config{}, fmt.Errorf("config %q: %q is not KNOB=VALUE with a knob of %s", s, kv, strings.Join(names, ", "))
		}
		var val any
		switch {
		case key == "also":
			val, err = model.ParseScenarios(v)
		case old[0] == '"':
			val = v
		case old[0] == 't' || old[0] == 'f':
			val, err = strconv.ParseBool(v)
		case old[0] == '[' || old[0] == 'n':
			var ns []int
			for _, x := range strings.Split(v, ",") {
				n, e := strconv.Atoi(x)
				if e != nil {
					err = e
					break
				}
				ns = append(ns, n)
			}
			val = ns
		default:
			val, err = strconv.Atoi(v)
		}
		if err != nil {
			return model.Config{}, fmt.Errorf("config %q: %s: %v", s, kv, err)
		}
		if knobs[key], err = json.Marshal(val); err != nil {
			return model.Config{}, err
		}
	}
	if data, err = json.Marshal(knobs); err != nil {
		return model.Config{}, err
	}
	var out model.Config
	if err := json.Unmarshal(data, &out); err != nil {
		return model.Config{}, fmt.Errorf("config %q: %v", s, err)
	}
	if err := out.Validate(); err != nil {
		return model.Config{}, fmt.Errorf("config %q: %v", s, err)
	}
	return out, nil
}
