package explain

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/tcpcheck/tcpcheck/check"
	"github.com/tcpcheck/tcpcheck/model"
)

// Scenario is a scene resolved to a trace of the model.
type Scenario struct {
	Scene    Scene
	Sys      *model.System
	Init     model.Key
	Trace    []model.Transition
	Property string // the property the last state breaks (mutant scenes), or ""
	Mutant   *model.Mutant
	// Skipped lists the moves (1-based) of the mutant's counterexample the
	// correct table could not make (Correct scenes).
	Skipped []int
	// Followed is how many steps of Trace replay the mutant's moves; the
	// rest reach the goal (Correct scenes).
	Followed int
	// Beside lists, for Correct scenes, each move of the mutant's trace
	// with the states both tables reach on it.
	Beside [][5]string
	// Parting says, for Correct scenes, where the correct table and the
	// mutant first differ on the mutant's moves.
	Parting string
	// Result is check.Explore on Sys (mutant and Correct scenes).
	Result *check.Result
}

func findMutant(name string) (*model.Mutant, error) {
	for _, m := range model.Mutants() {
		if m.Name == name {
			return &m, nil
		}
	}
	return nil, fmt.Errorf("explain: unknown mutant %q", name)
}

// exploreOptions are the options of the explorer runs behind the pages:
// one worker (the results do not depend on it) and Quiescence, as `tcpcheck
// why` runs them.
var exploreOptions = check.Options{Workers: 1, Quiescence: true, MaxStates: 5_000_000}

// Resolve finds the trace of a scene.
func Resolve(sc Scene) (*Scenario, error) {
	out := &Scenario{Scene: sc}
	if sc.ConfigOf != "" {
		cfg, err := model.MutantConfig(sc.ConfigOf)
		if err != nil {
			return nil, err
		}
		sc.Config = cfg
		out.Scene.Config = cfg
	}
	if sc.Mutant == "" {
		if sc.Goal == nil {
			return nil, fmt.Errorf("explain: scene %q has neither a goal nor a mutant", sc.Title)
		}
		sys, err := model.New(sc.Config)
		if err != nil {
			return nil, err
		}
		out.Sys, out.Init = sys, sys.Init()[0]
		out.Trace, err = Search(sys, out.Init, *sc.Goal)
		if err != nil {
			return nil, fmt.Errorf("explain: scene %q: %w", sc.Title, err)
		}
		return out, nil
	}
	m, err := findMutant(sc.Mutant)
	if err != nil {
		return nil, err
	}
	out.Mutant = m
	cfg, err := model.MutantConfig(m.Name)
	if err != nil {
		return nil, err
	}
	out.Scene.Config = cfg
	mut, err := model.NewMutant(cfg, m.Name)
	if err != nil {
		return nil, err
	}
	// The question is about one property: check that one, as `tcpcheck
	// why` does, so that a mutant that also breaks another still shows
	// the counterexample it is for.
	opt := exploreOptions
	opt.Properties = []string{m.Property}
	res, err := check.Explore(mut, opt)
	if err != nil {
		return nil, err
	}
	v := res.Violation
	if v == nil || v.Property != m.Property {
		return nil, fmt.Errorf("explain: mutant %s does not break %s (result: %s)", m.Name, m.Property, res.Verdict)
	}
	if err := check.Replay(mut, v); err != nil {
		return nil, err
	}
	if !sc.Correct {
		out.Sys, out.Init, out.Trace, out.Property, out.Result = mut, v.Init, v.Trace, v.Property, res
		return out, nil
	}
	sys, err := model.New(cfg)
	if err != nil {
		return nil, err
	}
	out.Sys, out.Init = sys, v.Init
	if out.Result, err = check.Explore(sys, exploreOptions); err != nil {
		return nil, err
	}
	path, made := Follow(sys, v.Init, v.Trace)
	for i, j := range made {
		if j < 0 {
			out.Skipped = append(out.Skipped, i+1)
		}
	}
	out.Parting = parting(mut, sys, v.Trace, path, made)
	for i, j := range made {
		ms := mut.Decode(v.Trace[i].To)
		row := [5]string{fmt.Sprint(i + 1), stepName(v.Trace[i].Step), pairText(ms), "cannot", ""}
		if j >= 0 {
			row[3] = pairText(sys.Decode(path[j].To))
			row[4] = fmt.Sprint(j + 1)
		}
		out.Beside = append(out.Beside, row)
	}
	out.Followed = len(path)
	if sc.Goal != nil {
		from := v.Init
		if len(path) > 0 {
			from = path[len(path)-1].To
		}
		rest, err := Search(sys, from, *sc.Goal)
		if err != nil {
			return nil, fmt.Errorf("explain: scene %q: %w", sc.Title, err)
		}
		path = append(path, rest...)
	}
	out.Trace = path
	return out, nil
}

// parting describes the first move of the mutant's trace after which the
// correct table's hosts are in other states than the mutant's, or that it
// cannot make.
func parting(mut, sys *model.System, mtrace, path []model.Transition, made []int) string {
	for i, j := range made {
		label := stepName(mtrace[i].Step)
		if j < 0 {
			return fmt.Sprintf("The two part at move %d (%s): the mutant makes it, the correct table cannot.", i+1, label)
		}
		ms, cs := mut.Decode(mtrace[i].To), sys.Decode(path[j].To)
		for h := range 2 {
			if ms.Hosts[h].State != cs.Hosts[h].State || ms.Hosts[h].Signal != cs.Hosts[h].Signal {
				return fmt.Sprintf("The two part at move %d (%s): the mutant's table takes %s to %s, the correct table to %s.",
					i+1, label, string(rune('A'+h)), hostText(ms.Hosts[h]), hostText(cs.Hosts[h]))
			}
		}
		if ma, ca := sentText(mtrace[i].Step), sentText(path[j].Step); ma != ca {
			return fmt.Sprintf("The two part at move %d (%s): the mutant's table sends %s, the correct table %s.", i+1, label, ma, ca)
		}
	}
	return ""
}

// sentText lists what a step sent: "nothing" or "SYN,ACK seq=60 ack=31 len=0".
func sentText(st model.Step) string {
	n := min(int(st.NSent), len(st.Sent))
	if n == 0 {
		return "nothing"
	}
	var out []string
	for _, g := range st.Sent[:n] {
		out = append(out, fmt.Sprintf("%s seq=%d ack=%d len=%d", g.Flags, uint32(g.Seq), uint32(g.Ack), g.Len))
	}
	return strings.Join(out, " and ")
}

// pairText is both hosts' states: "ESTABLISHED / SYN-RECEIVED".
// Of the user's signals it shows only those that end a connection.
func pairText(st model.State) string {
	one := func(h model.Host) string {
		switch h.Signal {
		case "reset", "refused", "timeout":
			return h.State.String() + " [" + h.Signal + "]"
		}
		return h.State.String()
	}
	return one(st.Hosts[0]) + " / " + one(st.Hosts[1])
}

func hostText(h model.Host) string {
	if h.Signal != "" {
		return h.State.String() + " [" + h.Signal + "]"
	}
	return h.State.String()
}

// stepName names a step as the segment tables do ("B rcv SYN").
func stepName(st model.Step) string {
	h := string(rune('A' + st.Host))
	switch st.Kind {
	case model.User:
		return h + " " + st.Call
	case model.Deliver:
		return h + " rcv " + st.Seg.Flags.String()
	case model.Drop:
		return "lost " + st.Seg.Flags.String()
	case model.Duplicate:
		return "duplicated " + st.Seg.Flags.String()
	case model.Timer:
		return h + " " + st.Event.String() + " fires"
	case model.Inject:
		return "attacker -> " + h
	}
	return st.Kind.String()
}

// goalName is what the scenario's trace reaches, for the diagram's last
// note.
func (s *Scenario) goalName() string {
	if s.Scene.Goal != nil {
		return s.Scene.Goal.Name
	}
	return ""
}

// SavedTrace returns the scenario's trace as a saved trace file.
func (s *Scenario) SavedTrace(title string) (*Trace, error) {
	t, err := NewTrace(s.Sys, s.Init, s.Trace, s.Property)
	if err != nil {
		return nil, err
	}
	t.Title, t.Source, t.Goal = title, "docs", s.goalName()
	return t, nil
}

// configText lists a configuration as the flags of tcpcheck explore that
// differ from the default configuration.
func configText(c model.Config) string {
	flat := func(c model.Config) []string {
		data, _ := json.Marshal(c)
		dec := json.NewDecoder(bytes.NewReader(data))
		var parts []string
		_, _ = dec.Token()
		for dec.More() {
			tok, _ := dec.Token()
			name, _ := tok.(string)
			var raw json.RawMessage
			_ = dec.Decode(&raw)
			value := strings.Trim(string(raw), `"[]`)
			if name == "also" {
				value = "'" + model.FormatScenarios(c.Also) + "'"
				if len(c.Also) == 0 {
					value = "none"
				}
			}
			parts = append(parts, "--"+strings.ReplaceAll(name, "_", "-")+"="+value)
		}
		return parts
	}
	def := flat(model.DefaultConfig())
	var out []string
	for i, p := range flat(c) {
		if i >= len(def) || p != def[i] {
			out = append(out, p)
		}
	}
	return strings.TrimSpace("tcpcheck explore " + strings.Join(out, " "))
}

// Generate writes the pages into dir: dir/README.md (the index, with the
// state diagram from statesMMD, the Mermaid that gen writes into
// docs/states.mmd) and, per page, dir/questions/SLUG.md and one
// dir/questions/SLUG.N.trace.json per scene.
func Generate(dir string, statesMMD []byte) error {
	qdir := filepath.Join(dir, "questions")
	if err := os.MkdirAll(qdir, 0o755); err != nil {
		return fmt.Errorf("explain: %w", err)
	}
	pages, err := Pages()
	if err != nil {
		return err
	}
	files := map[string][]byte{}
	var names []string
	add := func(name string, data []byte) {
		names = append(names, name)
		files[name] = data
	}
	for _, p := range pages {
		md, traces, err := RenderPage(p)
		if err != nil {
			return err
		}
		add(filepath.Join("questions", p.Slug+".md"), md)
		for i, t := range traces {
			var b bytes.Buffer
			if err := t.WriteJSON(&b); err != nil {
				return err
			}
			add(filepath.Join("questions", traceFile(p.Slug, i)), b.Bytes())
		}
	}
	add("README.md", renderIndex(pages, statesMMD))
	// Remove pages of questions that no longer exist.
	old, _ := filepath.Glob(filepath.Join(qdir, "*"))
	for _, f := range old {
		rel, _ := filepath.Rel(dir, f)
		if _, ok := files[rel]; !ok && (strings.HasSuffix(f, ".md") || strings.HasSuffix(f, ".trace.json")) {
			if err := os.Remove(f); err != nil {
				return fmt.Errorf("explain: %w", err)
			}
		}
	}
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(dir, n), files[n], 0o644); err != nil {
			return fmt.Errorf("explain: %w", err)
		}
	}
	return nil
}

func traceFile(slug string, scene int) string { return fmt.Sprintf("%s.%d.trace.json", slug, scene+1) }

// RenderPage renders one page and the saved traces of its scenes.
func RenderPage(p Page) ([]byte, []*Trace, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "<!-- Code generated by go generate ./...; DO NOT EDIT. -->\n\n# %s\n\n%s\n", p.Question, p.Answer)
	var traces []*Trace
	runsAt := func(at int) error {
		for _, rs := range p.Runs {
			if rs.At != at {
				continue
			}
			frag, err := RunFragment(rs.Run)
			if err != nil {
				return fmt.Errorf("explain: page %s: %w", p.Slug, err)
			}
			fmt.Fprintf(&b, "\n## %s\n\n%s", rs.Title, frag)
			if rs.Reading != "" {
				fmt.Fprintf(&b, "\n%s\n", rs.Reading)
			}
		}
		return nil
	}
	for i, sc := range p.Scenes {
		if err := runsAt(i); err != nil {
			return nil, nil, err
		}
		s, err := Resolve(sc)
		if err != nil {
			return nil, nil, fmt.Errorf("explain: page %s: %w", p.Slug, err)
		}
		t, err := s.SavedTrace(p.Question + " — " + sc.Title)
		if err != nil {
			return nil, nil, fmt.Errorf("explain: page %s: %w", p.Slug, err)
		}
		traces = append(traces, t)
		if err := renderScene(&b, p, i, s); err != nil {
			return nil, nil, err
		}
	}
	if err := runsAt(len(p.Scenes)); err != nil {
		return nil, nil, err
	}
	renderLinux(&b, p)
	if len(p.Related) > 0 {
		for _, r := range p.Related {
			if !hasPage(r) {
				return nil, nil, fmt.Errorf("explain: page %s: related page %q does not exist", p.Slug, r)
			}
		}
		all, err := Pages()
		if err != nil {
			return nil, nil, err
		}
		var links []string
		for _, r := range p.Related {
			for _, q := range all {
				if q.Slug == r {
					links = append(links, fmt.Sprintf("[%s](%s.md)", q.Question, r))
				}
			}
		}
		fmt.Fprintf(&b, "\n## See also\n\n")
		for _, l := range links {
			fmt.Fprintf(&b, "- %s\n", l)
		}
	}
	fmt.Fprintf(&b, "\n[All questions](../README.md)\n")
	return b.Bytes(), traces, nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// renderLinux writes the section "What Linux does": the generated
// conformance cases and the kernel scenarios that run the page's exchange
// against Linux, with what Linux did in each case.
func renderLinux(b *bytes.Buffer, p Page) {
	if len(p.Linux) == 0 && len(p.LinuxCases) == 0 {
		return
	}
	b.WriteString("\n## What Linux does\n\n")
	if len(p.LinuxCases) > 0 {
		b.WriteString("These conformance cases, generated from the table (check/live/tester), run this page's exchanges against the Linux TCP stack, " +
			"the tester playing the peer segment by segment and reading the kernel's state after every move " +
			"(`tcpcheck conform --dut linux --case NAME -v` prints a case's segment table; it needs root):\n\n")
		for _, c := range p.LinuxCases {
			if c.Deviation == "" {
				fmt.Fprintf(b, "- `%s`: Linux agrees with the table.\n", c.Name)
			} else {
				fmt.Fprintf(b, "- `%s`: Linux differs from the table here: [`%s`](../linux.md#%s).\n", c.Name, c.Deviation, c.Deviation)
			}
		}
		b.WriteString("\n")
	}
	if len(p.Linux) > 0 {
		fmt.Fprintf(b, "The kernel conformance suite (check/live/kernel) runs the same case between tcpcheck's endpoint and the Linux TCP stack "+
			"in a network namespace: scenario%s %s (`tcpcheck conform --peer kernel --scenario NAME`). ", plural(len(p.Linux)), quoteList(p.Linux))
	}
	b.WriteString("What Linux did, and where it differs from RFC 9293, is in [docs/linux.md](../linux.md).\n")
}

func quoteList(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = "`" + x + "`"
	}
	return strings.Join(q, ", ")
}

func renderScene(b *bytes.Buffer, p Page, i int, s *Scenario) error {
	sc := s.Scene
	fmt.Fprintf(b, "\n## %s\n\n", sc.Title)
	switch {
	case s.Mutant != nil && !sc.Correct:
		fmt.Fprintf(b, "Mutant `%s`: %s. It breaks **%s**; `tcpcheck why %s` finds this shortest counterexample "+
			"(%d states explored).\n\n", s.Mutant.Name, s.Mutant.Change, s.Property, s.Mutant.Name, s.Result.States)
	case s.Mutant != nil:
		fmt.Fprintf(b, "The correct table in the same configuration, making the moves of the mutant's counterexample "+
			"where it can (steps 1 to %d below)", s.Followed)
		if len(s.Skipped) > 0 {
			fmt.Fprintf(b, "; it cannot make move%s %s of the mutant's trace", plural(len(s.Skipped)), intList(s.Skipped))
		}
		if sc.Goal != nil && len(s.Trace) > s.Followed {
			fmt.Fprintf(b, ", then the shortest way on to: %s (steps %d to %d)", sc.Goal.Name, s.Followed+1, len(s.Trace))
		}
		fmt.Fprintf(b, ". On the correct table `tcpcheck explore` finds every property holding in this configuration: %s (%d states).\n\n",
			s.Result.Verdict, s.Result.States)
		if s.Parting != "" {
			fmt.Fprintf(b, "%s\n\n", s.Parting)
		}
		if len(s.Beside) > 0 {
			b.WriteString("Side by side, the states (A / B) after each move of the mutant's counterexample:\n\n")
			b.WriteString("| move | | mutant's table | correct table | step below |\n|---:|---|---|---|---:|\n")
			for _, r := range s.Beside {
				mark := ""
				if r[2] != r[3] {
					mark = " ◀"
				}
				fmt.Fprintf(b, "| %s | %s | %s | %s%s | %s |\n", r[0], r[1], r[2], r[3], mark, r[4])
			}
			b.WriteString("\n")
		}
	default:
		fmt.Fprintf(b, "The shortest trace of the correct table to: %s.\n\n", sc.Goal.Name)
	}
	// The command named is one that reproduces the trace below exactly
	// (a test in cmd/tcpcheck runs it): the configuration alone does not,
	// since a mutant's table or a goal is not an explore flag.
	fmt.Fprintf(b, "Configuration: `%s`  \nReproduce: `tcpcheck trace docs/questions/%s` replays the saved trace ([%s](%s)) through the model and prints it as below\n\n",
		strings.TrimSpace(strings.TrimPrefix(configText(sc.Config), "tcpcheck explore")), traceFile(p.Slug, i), traceFile(p.Slug, i), traceFile(p.Slug, i))
	b.WriteString("```text\n")
	if err := writeTable(b, s.Sys, s.Init, s.Trace, s.Property); err != nil {
		return err
	}
	b.WriteString("```\n\n```mermaid\n")
	if err := writeMermaid(b, s.Sys, s.Init, s.Trace, s.Property, s.goalName()); err != nil {
		return err
	}
	b.WriteString("```\n")
	if sc.Reading != "" {
		fmt.Fprintf(b, "\n%s\n", sc.Reading)
	}
	if s.Mutant != nil && !sc.Correct {
		fmt.Fprintf(b, "\nWhy: %s\n", s.Mutant.Explain)
	}
	return nil
}

func intList(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, ", ")
}

func renderIndex(pages []Page, statesMMD []byte) []byte {
	var b bytes.Buffer
	b.WriteString("<!-- Code generated by go generate ./...; DO NOT EDIT. -->\n\n")
	b.WriteString("# tcpcheck docs: questions about TCP connection management, answered with traces\n\n")
	b.WriteString("Every page below answers one question with traces that tcpcheck itself produced from the " +
		"transition table (spec/): the shortest path of the model to the situation in question, and for the " +
		"\"why\" questions the counterexample of a mutant (the table with one row changed) beside what the correct " +
		"table does in the same configuration. Each trace is a segment table (flags, seq, ack, len and both sides' " +
		"states), a Mermaid sequence diagram and a saved trace file that `tcpcheck trace` renders again. The pages " +
		"are regenerated by `go generate ./...`; a test fails when they are out of date and replays every trace " +
		"through the model. The pages about connections in use also show runs: tcpcheck's endpoint and Linux's own TCP " +
		"in a private network namespace, or two endpoints over the in-process link under a fake clock, each with the " +
		"segments captured, the numbers measured and the command that repeats it; a test runs them again and fails " +
		"when a run no longer supports its page.\n\n")
	b.WriteString("To walk the state space yourself, run `tcpcheck browse` and open the address it prints.\n\n")
	b.WriteString("## Questions\n\n")
	titles := map[string]string{"opening": "Opening", "closing": "Closing", "in use": "Connections in use", "": "More questions"}
	for _, g := range append(slices.Clone(Groups), "") {
		var in []Page
		for _, p := range pages {
			if p.Group == g {
				in = append(in, p)
			}
		}
		if len(in) == 0 {
			continue
		}
		fmt.Fprintf(&b, "### %s\n\n", titles[g])
		for _, p := range in {
			fmt.Fprintf(&b, "- [%s](questions/%s.md)\n", p.Question, p.Slug)
		}
		b.WriteString("\n")
	}
	b.WriteString("## The state diagram\n\n")
	b.WriteString("Drawn from the table by `tcpcheck diagram` ([states.svg](states.svg), [states.dot](states.dot), " +
		"[states.mmd](states.mmd); every row in [table.md](table.md)).\n\n![TCP connection states](states.svg)\n\n")
	if len(statesMMD) > 0 {
		b.WriteString("```mermaid\n")
		b.Write(bytes.TrimRight(statesMMD, "\n"))
		b.WriteString("\n```\n\n")
	}
	b.WriteString("## Saved traces\n\n")
	b.WriteString("Each `questions/*.trace.json` file is a saved trace: one JSON object with `\"format\": \"tcpcheck-trace\"`, " +
		"`\"version\": 1`, the readable steps (`init` and `trace`, in the shape of the `violation` object that " +
		"`tcpcheck explore --json` prints) and, for traces of the model, `model`: the configuration, the mutant (if any), " +
		"the initial state's key in hex and the successor numbers of the path. `tcpcheck trace FILE` replays such a " +
		"path through the model (and refuses a file whose steps are not the model's) and prints it as a segment table, " +
		"`--format mermaid` or `--format pcap`; it also reads the JSON of `tcpcheck explore --json` and `tcpcheck why " +
		"--json` directly. `tcpcheck browse` exports the trace walked in the same format. The full description is the " +
		"doc of `Trace` in package check/explain (`go doc ./check/explain Trace`).\n\n")
	b.WriteString("## More\n\n")
	b.WriteString("- [table.md](table.md): the transition table, row by row, with RFC sections.\n")
	b.WriteString("- [decisions.md](decisions.md): decisions taken where the model and the RFC needed one.\n")
	b.WriteString("- [findings.md](findings.md): counterexamples the explorer found on the correct table, and what was decided.\n")
	b.WriteString("- [linux.md](linux.md): what the Linux TCP stack did in the generated conformance cases and the kernel scenarios, and where it differs from the table.\n")
	b.WriteString("- [sharding.md](sharding.md): bitstate storage and runs split over several machines, with a worked example.\n")
	b.WriteString("- [performance.md](performance.md): the explorer beside SPIN, the endpoint beside Linux TCP, porcupine at scale (from `go run ./bench`).\n")
	return b.Bytes()
}

func hasPage(slug string) bool {
	pages, _ := Pages()
	for _, p := range pages {
		if p.Slug == slug {
			return true
		}
	}
	return false
}
