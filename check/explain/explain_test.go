package explain

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tcpcheck/tcpcheck/check"
	"github.com/tcpcheck/tcpcheck/model"
	"github.com/tcpcheck/tcpcheck/spec"
)

var docsDir = filepath.Join("..", "..", "docs")

// TestDocsCurrent regenerates the pages into a temporary directory and
// compares them with the committed ones.
func TestDocsCurrent(t *testing.T) {
	mmd, err := os.ReadFile(filepath.Join(docsDir, "states.mmd"))
	if err != nil {
		t.Fatalf("docs/states.mmd: %v (run go generate ./...)", err)
	}
	tmp := t.TempDir()
	if err := Generate(tmp, mmd); err != nil {
		t.Fatal(err)
	}
	want, _ := filepath.Glob(filepath.Join(tmp, "questions", "*"))
	want = append(want, filepath.Join(tmp, "README.md"))
	for _, f := range want {
		rel, _ := filepath.Rel(tmp, f)
		got, err := os.ReadFile(filepath.Join(docsDir, rel))
		if err != nil {
			t.Errorf("docs/%s is missing: run go generate ./...", rel)
			continue
		}
		exp, _ := os.ReadFile(f)
		if !bytes.Equal(got, exp) {
			t.Errorf("docs/%s is out of date: run go generate ./...", rel)
		}
	}
	have, _ := filepath.Glob(filepath.Join(docsDir, "questions", "*"))
	for _, f := range have {
		if _, err := os.Stat(filepath.Join(tmp, "questions", filepath.Base(f))); err != nil {
			t.Errorf("docs/questions/%s is not generated any more: run go generate ./...", filepath.Base(f))
		}
	}
}

// TestPagesExist checks that every page the docs promise exists, with a
// trace file per scene.
func TestPagesExist(t *testing.T) {
	need := []string{"three-way-handshake", "four-way-close", "time-wait-lost-ack", "time-wait-2msl",
		"simultaneous-open", "simultaneous-close", "fin-ack-close", "synack-retransmit", "lost-third-segment",
		"abort-rst", "challenge-ack"}
	mutants := map[string]bool{}
	for _, p := range mustPages(t) {
		for _, s := range p.Scenes {
			if s.Mutant != "" {
				mutants[s.Mutant] = true
			}
		}
	}
	for _, m := range []string{"two-way-handshake", "three-way-close", "no-time-wait", "short-time-wait", "accept-any-rst", "no-fin-retransmit"} {
		if !mutants[m] {
			t.Errorf("no page shows the mutant %s", m)
		}
	}
	for _, slug := range need {
		if !hasPage(slug) {
			t.Errorf("no page %s", slug)
			continue
		}
		if _, err := os.Stat(filepath.Join(docsDir, "questions", slug+".md")); err != nil {
			t.Errorf("docs/questions/%s.md: %v", slug, err)
		}
		if _, err := os.Stat(filepath.Join(docsDir, "questions", slug+".1.trace.json")); err != nil {
			t.Errorf("docs/questions/%s.1.trace.json: %v", slug, err)
		}
	}
}

// TestDocTracesReplay reads every committed page's trace files and
// replays each through the model step by step: each step must be one of
// Next's successors of the state before it, the readable steps must be the
// model's, a counterexample must end in a state breaking its property,
// and the page must show the table the trace renders to.
func TestDocTracesReplay(t *testing.T) {
	n := 0
	for _, p := range mustPages(t) {
		page, err := os.ReadFile(filepath.Join(docsDir, "questions", p.Slug+".md"))
		if err != nil {
			t.Errorf("%s: %v", p.Slug, err)
			continue
		}
		for i := range p.Scenes {
			name := filepath.Join(docsDir, "questions", traceFile(p.Slug, i))
			data, err := os.ReadFile(name)
			if err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			tr, err := ParseTrace(data)
			if err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			sys, init, steps, err := tr.Replay()
			if err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			// Step by step, independently of Walk.
			k := init
			for j, st := range steps {
				found := false
				for _, s := range sys.Next(k, nil) {
					if s == st {
						found = true
					}
				}
				if !found {
					t.Errorf("%s: step %d is not a successor", name, j+1)
				}
				k = st.To
			}
			if len(steps) == 0 {
				t.Errorf("%s: empty trace", name)
			}
			if tr.Property != "" {
				// Replay checks invariants itself; this also covers Quiescence.
				if err := check.Replay(sys, &check.Violation{Property: tr.Property, Init: init, Trace: steps}); err != nil {
					t.Errorf("%s: %v", name, err)
				}
			}
			var table bytes.Buffer
			if err := tr.WriteTable(&table); err != nil {
				t.Errorf("%s: %v", name, err)
			}
			if !strings.Contains(string(page), table.String()) {
				t.Errorf("%s.md does not show the table of %s", p.Slug, traceFile(p.Slug, i))
			}
			n++
		}
	}
	if n == 0 {
		t.Fatal("no traces replayed")
	}
}

// TestGoalsHold checks each goal scene's trace actually ends in its goal
// on a fresh search, and that the marks a goal needs were set on the path.
func TestGoalsHold(t *testing.T) {
	for _, p := range mustPages(t) {
		for _, sc := range p.Scenes {
			if sc.Goal == nil || sc.Mutant != "" {
				continue
			}
			s, err := Resolve(sc)
			if err != nil {
				t.Fatalf("%s: %v", p.Slug, err)
			}
			var m uint8
			prev := s.Sys.Decode(s.Init)
			for _, st := range s.Trace {
				cur := s.Sys.Decode(st.To)
				if sc.Goal.Marks != nil {
					m |= sc.Goal.Marks(prev, cur, st.Step)
				}
				prev = cur
			}
			last := s.Trace[len(s.Trace)-1].To
			if !sc.Goal.reached(s.Sys, last, prev, m) {
				t.Errorf("%s / %s: the trace does not end in its goal", p.Slug, sc.Title)
			}
			// No shorter path: the goal does not hold earlier on the path.
			m = 0
			prev = s.Sys.Decode(s.Init)
			for j, st := range s.Trace[:len(s.Trace)-1] {
				cur := s.Sys.Decode(st.To)
				if sc.Goal.Marks != nil {
					m |= sc.Goal.Marks(prev, cur, st.Step)
				}
				if sc.Goal.reached(s.Sys, st.To, cur, m) {
					t.Errorf("%s / %s: the goal already holds after step %d", p.Slug, sc.Title, j+1)
				}
				prev = cur
			}
		}
	}
}

func TestSearchUnreachable(t *testing.T) {
	c := model.DefaultConfig()
	c.Incarnations, c.Loss, c.Dup, c.Reorder, c.WriteA, c.WriteB, c.Also = 1, 0, 0, false, 0, 0, nil
	sys, err := model.New(c)
	if err != nil {
		t.Fatal(err)
	}
	// Without a simultaneous close nobody enters CLOSING.
	_, err = Search(sys, sys.Init()[0], Goal{Name: "CLOSING", Done: func(st model.State, _ uint8) bool {
		return st.Hosts[0].State == spec.Closing || st.Hosts[1].State == spec.Closing
	}})
	if err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Fatalf("want an unreachable error, got %v", err)
	}
	if _, err := Search(sys, sys.Init()[0], Goal{}); err == nil {
		t.Fatal("a goal without a predicate was accepted")
	}
	if _, err := Walk(sys, sys.Init()[0], []int{0, 99}); err == nil {
		t.Fatal("Walk took a successor that does not exist")
	}
}

// TestReadableTableMatchesCheck renders the JSON that `tcpcheck why
// --json` prints from its readable steps and compares the table with the
// one check.WriteTable draws from the model.
func TestReadableTableMatchesCheck(t *testing.T) {
	for _, m := range model.Mutants() {
		cfg, err := model.MutantConfig(m.Name)
		if err != nil {
			t.Fatal(err)
		}
		sys, err := model.NewMutant(cfg, m.Name)
		if err != nil {
			t.Fatal(err)
		}
		res, err := check.Explore(sys, check.Options{Workers: 1, Quiescence: true})
		if err != nil {
			t.Fatal(err)
		}
		if res.Violation == nil {
			continue
		}
		data, err := res.JSON(sys)
		if err != nil {
			t.Fatal(err)
		}
		tr, err := ParseTrace(data)
		if err != nil {
			t.Fatalf("%s: %v", m.Name, err)
		}
		var got, want bytes.Buffer
		if err := tr.WriteTable(&got); err != nil {
			t.Fatal(err)
		}
		if err := check.WriteTable(&want, sys, res.Violation); err != nil {
			t.Fatal(err)
		}
		w := want.String()
		w = w[:strings.Index(w, "\nviolates ")+1]
		g := got.String()
		g = g[:strings.Index(g, "violates ")]
		if g != w {
			t.Errorf("%s: readable table differs from check.WriteTable:\n%s\nwant:\n%s", m.Name, g, w)
		}
		var mm bytes.Buffer
		if err := tr.WriteMermaid(&mm); err != nil {
			t.Fatal(err)
		}
		if _, err := parseMermaid(mm.String()); err != nil {
			t.Errorf("%s: readable Mermaid: %v", m.Name, err)
		}
		var pc bytes.Buffer
		if err := tr.WritePcap(&pc); err != nil || pc.Len() <= 24 {
			t.Errorf("%s: readable pcap: %v, %d bytes", m.Name, err, pc.Len())
		}
	}
}

func TestParseTraceErrors(t *testing.T) {
	good, err := os.ReadFile(filepath.Join(docsDir, "questions", "three-way-handshake.1.trace.json"))
	if err != nil {
		t.Fatal(err)
	}
	edit := func(f func(m map[string]any)) string {
		var m map[string]any
		if err := json.Unmarshal(good, &m); err != nil {
			t.Fatal(err)
		}
		f(m)
		b, _ := json.Marshal(m)
		return string(b)
	}
	cases := map[string]string{
		"empty":        "",
		"not json":     "SYN seq=1",
		"array":        "[1,2]",
		"no fields":    `{"a":1}`,
		"format":       edit(func(m map[string]any) { m["format"] = "pcap" }),
		"version":      edit(func(m map[string]any) { m["version"] = 9 }),
		"unknown":      edit(func(m map[string]any) { m["extra"] = 1 }),
		"no violation": `{"result":"ok","violation":null}`,
		"bad kind": edit(func(m map[string]any) {
			m["trace"].([]any)[0].(map[string]any)["kind"] = "teleport"
		}),
		"bad flag": edit(func(m map[string]any) {
			m["trace"].([]any)[0].(map[string]any)["sent"].([]any)[0].(map[string]any)["flags"] = "SYN,BOGUS"
		}),
		"bad state": edit(func(m map[string]any) { m["init"].(map[string]any)["a"] = "HALF-OPEN" }),
	}
	for name, src := range cases {
		if _, err := ParseTrace([]byte(src)); err == nil {
			t.Errorf("%s: accepted", name)
		} else if !strings.HasPrefix(err.Error(), "explain: ") {
			t.Errorf("%s: error without the package prefix: %v", name, err)
		}
	}
	// Parsable but not the model's path.
	replayCases := map[string]string{
		"path out of range": edit(func(m map[string]any) { m["model"].(map[string]any)["path"] = []int{0, 42} }),
		"other path": edit(func(m map[string]any) {
			p := m["model"].(map[string]any)["path"].([]any)
			p[len(p)-1] = 1.0 - p[len(p)-1].(float64)
		}),
		"init":   edit(func(m map[string]any) { m["model"].(map[string]any)["init"] = "00" }),
		"config": edit(func(m map[string]any) { m["model"].(map[string]any)["config"].(map[string]any)["msl"] = 99 }),
		"mutant": edit(func(m map[string]any) { m["model"].(map[string]any)["mutant"] = "no-such" }),
		"step": edit(func(m map[string]any) {
			m["trace"].([]any)[0].(map[string]any)["a"] = "LISTEN"
		}),
	}
	for name, src := range replayCases {
		tr, err := ParseTrace([]byte(src))
		if err != nil {
			continue
		}
		if _, _, _, err := tr.Replay(); err == nil {
			t.Errorf("%s: replayed", name)
		}
		var b bytes.Buffer
		if err := tr.WriteTable(&b); err == nil {
			t.Errorf("%s: rendered", name)
		}
	}
}

// TestParseTraceRefusesImpossibleSegments: a recorded trace (no model path)
// is drawn from its readable steps alone, so every segment is checked when
// the file is read: a length no segment can have panicked the capture
// ("bytes: negative Repeat count", makeslice) or ran out of memory.
func TestParseTraceRefusesImpossibleSegments(t *testing.T) {
	good, err := os.ReadFile(filepath.Join(docsDir, "questions", "three-way-handshake.1.trace.json"))
	if err != nil {
		t.Fatal(err)
	}
	recorded := func(f func(sent map[string]any)) []byte {
		var m map[string]any
		if err := json.Unmarshal(good, &m); err != nil {
			t.Fatal(err)
		}
		delete(m, "model")
		f(m["trace"].([]any)[0].(map[string]any)["sent"].([]any)[0].(map[string]any))
		b, _ := json.Marshal(m)
		return b
	}
	for _, tc := range []struct {
		field string
		value any
		want  string
	}{
		{"len", -1, "step 1: sent[0]: len is -1; a segment carries 0..65495 octets of text"},
		{"len", 1 << 62, "len is 4611686018427387904; a segment carries 0..65495"},
		{"len", 1e12, "len is 1000000000000; a segment carries 0..65495"},
		{"len", 65496, "len is 65496"},
		{"flags", "SYN,SYN", `step 1: sent[0]: flags "SYN,SYN" name SYN twice`},
		{"flags", "SYN,,ACK", `unknown TCP flag "" in flags "SYN,,ACK"`},
		{"from", "C", `step 1: sent[0]: from is "C"; want A or B`},
	} {
		_, err := ParseTrace(recorded(func(s map[string]any) { s[tc.field] = tc.value }))
		if err == nil || !strings.HasPrefix(err.Error(), "explain: trace: ") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %v: %v; want an error containing %q", tc.field, tc.value, err, tc.want)
		}
	}
	tr, err := ParseTrace(recorded(func(s map[string]any) { s["len"] = 65495 }))
	if err != nil {
		t.Fatalf("the longest segment: %v", err)
	}
	var b bytes.Buffer
	if err := tr.WritePcap(&b); err != nil {
		t.Fatalf("pcap of the longest segment: %v", err)
	}
	// A trace built in memory is not checked by ParseTrace: the capture
	// refuses the length itself.
	tr.Steps[0].Sent[0].Len = -1
	if err := tr.WritePcap(&b); err == nil || !strings.Contains(err.Error(), "step 1") {
		t.Errorf("pcap of a segment of length -1: %v; want an error naming step 1", err)
	}
}

func FuzzParseTrace(f *testing.F) {
	good, _ := os.ReadFile(filepath.Join(docsDir, "questions", "abort-rst.1.trace.json"))
	f.Add(good)
	f.Add([]byte(`{"result":"violated","violation":{"property":"X","init":{"a":"CLOSED","b":"LISTEN"},"trace":[{"kind":"drop","host":"network","a":"CLOSED","b":"LISTEN"}]}}`))
	f.Add([]byte(`{"format":"tcpcheck-trace","version":1,"init":{},"trace":[]}`))
	// a recorded trace whose segment has an impossible length (it panicked the capture)
	f.Add([]byte(`{"format":"tcpcheck-trace","version":1,"init":{"a":"CLOSED","b":"LISTEN"},"trace":[{"kind":"user","host":"A","sent":[{"from":"A","flags":"SYN","len":-1}],"a":"SYN-SENT","b":"LISTEN"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		tr, err := ParseTrace(data)
		if err != nil {
			return
		}
		var b bytes.Buffer
		_ = tr.WriteTable(&b)
		_ = tr.WriteMermaid(&b)
		_ = tr.WritePcap(&b)
	})
}
