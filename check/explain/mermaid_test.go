package explain

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// This file checks the Mermaid that docs/ holds with a parser of the
// subset tcpcheck emits: sequenceDiagram (participants, messages with the
// arrows ->> -->> -x --x -) --) -> -->, notes, comments) and
// stateDiagram-v2 (state declarations, transitions with labels, [*],
// classDef and class statements, comments). It follows the grammar of
// Mermaid 10/11: a statement per line, ";" ends a statement (so it may not
// appear in a label), "#" starts an entity code in labels, every message
// names declared participants. testdata/mermaid-check.mjs checks the same
// diagrams with Mermaid itself (npm), for those who have it installed.

var (
	mmID          = `[A-Za-z_][A-Za-z0-9_]*`
	reParticipant = regexp.MustCompile(`^(participant|actor) (` + mmID + `)( as (.+))?$`)
	reMessage     = regexp.MustCompile(`^(` + mmID + `)(->>|-->>|--x|-x|--\)|-\)|-->|->)([+-]?)(` + mmID + `): ?(.*)$`)
	reNote        = regexp.MustCompile(`^Note (over|left of|right of) (` + mmID + `)(,(` + mmID + `))?: ?(.*)$`)
	reStateDecl   = regexp.MustCompile(`^state "([^"]+)" as (` + mmID + `)$`)
	reTransition  = regexp.MustCompile(`^(\[\*\]|` + mmID + `) --> (\[\*\]|` + mmID + `)( : (.+))?$`)
	reClassDef    = regexp.MustCompile(`^classDef (` + mmID + `) ([a-z-]+:[^;]+)$`)
	reClass       = regexp.MustCompile(`^class (` + mmID + `(?:, ?` + mmID + `)*) (` + mmID + `)$`)
)

// checkLabel rejects text Mermaid would cut or misread.
func checkLabel(s string) error {
	switch {
	case strings.TrimSpace(s) == "":
		return fmt.Errorf("empty label")
	case strings.Contains(s, ";"):
		return fmt.Errorf("label %q contains ';', which ends a Mermaid statement", s)
	case strings.Contains(s, "#"):
		return fmt.Errorf("label %q contains '#', which starts a Mermaid entity code", s)
	case strings.Contains(s, "%%"):
		return fmt.Errorf("label %q contains '%%%%', which starts a comment", s)
	}
	return nil
}

// parseMermaid checks one diagram and returns how many statements it has.
var (
	reFlowNode = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*)\[([^\[\]]+)\]$`)
	reFlowEdge = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*) --> ([A-Za-z_][A-Za-z0-9_]*)$`)
)

func parseMermaid(src string) (int, error) {
	lines := strings.Split(strings.TrimRight(src, "\n"), "\n")
	if len(lines) == 0 {
		return 0, fmt.Errorf("empty diagram")
	}
	kind := strings.TrimSpace(lines[0])
	n := 0
	switch kind {
	case "sequenceDiagram":
		declared := map[string]bool{}
		for i, raw := range lines[1:] {
			l := strings.TrimSpace(raw)
			if l == "" || strings.HasPrefix(l, "%%") {
				continue
			}
			n++
			bad := func(err error) error { return fmt.Errorf("line %d %q: %v", i+2, l, err) }
			if m := reParticipant.FindStringSubmatch(l); m != nil {
				if declared[m[2]] {
					return 0, bad(fmt.Errorf("participant %s declared twice", m[2]))
				}
				declared[m[2]] = true
				if m[4] != "" {
					if err := checkLabel(m[4]); err != nil {
						return 0, bad(err)
					}
				}
				continue
			}
			if m := reMessage.FindStringSubmatch(l); m != nil {
				for _, p := range []string{m[1], m[4]} {
					if !declared[p] {
						return 0, bad(fmt.Errorf("participant %s is not declared", p))
					}
				}
				if err := checkLabel(m[5]); err != nil {
					return 0, bad(err)
				}
				continue
			}
			if m := reNote.FindStringSubmatch(l); m != nil {
				for _, p := range []string{m[2], m[4]} {
					if p != "" && !declared[p] {
						return 0, bad(fmt.Errorf("participant %s is not declared", p))
					}
				}
				if err := checkLabel(m[5]); err != nil {
					return 0, bad(err)
				}
				continue
			}
			return 0, bad(fmt.Errorf("not a participant, message, note or comment"))
		}
	case "stateDiagram-v2":
		declared := map[string]bool{}
		classes := map[string]bool{}
		for i, raw := range lines[1:] {
			l := strings.TrimSpace(raw)
			if l == "" || strings.HasPrefix(l, "%%") {
				continue
			}
			n++
			bad := func(err error) error { return fmt.Errorf("line %d %q: %v", i+2, l, err) }
			if m := reStateDecl.FindStringSubmatch(l); m != nil {
				declared[m[2]] = true
				if err := checkLabel(m[1]); err != nil {
					return 0, bad(err)
				}
				continue
			}
			if m := reTransition.FindStringSubmatch(l); m != nil {
				for _, s := range []string{m[1], m[2]} {
					if s != "[*]" && !declared[s] {
						return 0, bad(fmt.Errorf("state %s is not declared", s))
					}
				}
				if m[3] != "" {
					if err := checkLabel(m[4]); err != nil {
						return 0, bad(err)
					}
				}
				continue
			}
			if m := reClassDef.FindStringSubmatch(l); m != nil {
				classes[m[1]] = true
				continue
			}
			if m := reClass.FindStringSubmatch(l); m != nil {
				if !classes[m[2]] {
					return 0, bad(fmt.Errorf("class %s is not defined by classDef", m[2]))
				}
				for _, s := range strings.Split(m[1], ",") {
					if s = strings.TrimSpace(s); !declared[s] {
						return 0, bad(fmt.Errorf("state %s is not declared", s))
					}
				}
				continue
			}
			return 0, bad(fmt.Errorf("not a state, transition, classDef, class or comment"))
		}
	case "flowchart LR", "flowchart TD":
		// The import graph of docs/architecture.md: nodes id[label],
		// edges id --> id between declared nodes.
		declared := map[string]bool{}
		for i, raw := range lines[1:] {
			l := strings.TrimSpace(raw)
			if l == "" || strings.HasPrefix(l, "%%") {
				continue
			}
			n++
			bad := func(err error) error { return fmt.Errorf("line %d %q: %v", i+2, l, err) }
			if m := reFlowNode.FindStringSubmatch(l); m != nil {
				if declared[m[1]] {
					return 0, bad(fmt.Errorf("node %s declared twice", m[1]))
				}
				declared[m[1]] = true
				if err := checkLabel(m[2]); err != nil {
					return 0, bad(err)
				}
				continue
			}
			if m := reFlowEdge.FindStringSubmatch(l); m != nil {
				for _, p := range []string{m[1], m[2]} {
					if !declared[p] {
						return 0, bad(fmt.Errorf("node %s is not declared", p))
					}
				}
				continue
			}
			return 0, bad(fmt.Errorf("not a node, an edge or a comment"))
		}
	default:
		return 0, fmt.Errorf("diagram type %q; this parser knows sequenceDiagram, stateDiagram-v2 and flowchart", kind)
	}
	if n == 0 {
		return 0, fmt.Errorf("%s without statements", kind)
	}
	return n, nil
}

// mermaidBlocks returns the ```mermaid blocks of a Markdown text.
func mermaidBlocks(md string) []string {
	var out []string
	parts := strings.Split(md, "```mermaid\n")
	for _, p := range parts[1:] {
		end := strings.Index(p, "```")
		if end < 0 {
			out = append(out, p)
			continue
		}
		out = append(out, p[:end])
	}
	return out
}

func TestMermaidInDocs(t *testing.T) {
	docs := filepath.Join("..", "..", "docs")
	files, _ := filepath.Glob(filepath.Join(docs, "*.md"))
	more, _ := filepath.Glob(filepath.Join(docs, "questions", "*.md"))
	files = append(files, more...)
	diagrams := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, b := range mermaidBlocks(string(data)) {
			if _, err := parseMermaid(b); err != nil {
				t.Errorf("%s: diagram %d: %v", f, i+1, err)
			}
			diagrams++
		}
	}
	if mmd, err := os.ReadFile(filepath.Join(docs, "states.mmd")); err == nil {
		if _, err := parseMermaid(string(mmd)); err != nil {
			t.Errorf("docs/states.mmd: %v", err)
		}
		diagrams++
	}
	// Every page has at least one diagram per scene, the index the state diagram.
	want := 1
	for _, p := range mustPages(t) {
		want += len(p.Scenes) + len(p.Runs)
	}
	if diagrams < want {
		t.Errorf("found %d Mermaid diagrams in docs/, want at least %d (run go generate ./...)", diagrams, want)
	}
}

func TestMermaidParserRejects(t *testing.T) {
	good := "sequenceDiagram\n    participant A\n    participant N as network\n    A-)N: SYN seq=1\n    N->>A: ACK\n    N-xA: lost\n    Note over A,N: tick\n"
	if _, err := parseMermaid(good); err != nil {
		t.Fatalf("good diagram rejected: %v", err)
	}
	for name, src := range map[string]string{
		"unknown type":      "graph TD\n A-->B\n",
		"undeclared":        "sequenceDiagram\n    participant A\n    A->>B: x\n",
		"semicolon":         "sequenceDiagram\n    participant A\n    Note over A: a;b\n",
		"hash":              "sequenceDiagram\n    participant A\n    Note over A: #1\n",
		"bad arrow":         "sequenceDiagram\n    participant A\n    participant B\n    A=>B: x\n",
		"empty note":        "sequenceDiagram\n    participant A\n    Note over A: \n",
		"empty":             "sequenceDiagram\n",
		"state undeclared":  "stateDiagram-v2\n    [*] --> X\n",
		"state garbage":     "stateDiagram-v2\n    state \"A\" as A\n    A -> A\n",
		"class undefined":   "stateDiagram-v2\n    state \"A\" as A\n    class A nope\n",
		"twice declared":    "sequenceDiagram\n    participant A\n    participant A\n",
		"state label colon": "stateDiagram-v2\n    state \"A\" as A\n    A --> A : a;b\n",
		"flow undeclared":   "flowchart LR\n  a[a]\n  a --> b\n",
		"flow bad edge":     "flowchart LR\n  a[a]\n  a -> a\n",
	} {
		if _, err := parseMermaid(src); err == nil {
			t.Errorf("%s: accepted:\n%s", name, src)
		}
	}
}
