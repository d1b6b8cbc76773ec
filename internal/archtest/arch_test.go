package archtest

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"golang.org/x/tools/go/packages"
)

const module = "github.com/tcpcheck/tcpcheck"

var update = flag.Bool("update", false, "rewrite the import graph in docs/architecture.md")

// pkg is one of our packages as go list reports it.
type pkg struct {
	ImportPath string
	Dir        string
	GoFiles    []string
	Imports    []string // direct imports
	Deps       []string // every package it depends on, transitively
}

func root(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// ours lists the module's packages with their imports, tests excluded.
func ours(t *testing.T) map[string]*pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-pgo=off", "-json=ImportPath,Dir,GoFiles,Imports,Deps", "./...") // -pgo=off: no variants of the packages cmd/tcpcheck/default.pgo builds
	cmd.Dir = root(t)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("go list: %v\n%s", err, errb.String())
	}
	pkgs := map[string]*pkg{}
	dec := json.NewDecoder(&out)
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		p.Imports = short(p.Imports)
		p.Deps = short(p.Deps)
		pkgs[rel(p.ImportPath)] = &p
	}
	return pkgs
}

// rel is a package path relative to the module ("." for the root).
func rel(path string) string {
	if path == module {
		return "."
	}
	return strings.TrimPrefix(path, module+"/")
}

// short keeps our own packages of a list, relative to the module.
func short(paths []string) []string {
	var out []string
	for _, p := range paths {
		if p == module || strings.HasPrefix(p, module+"/") {
			out = append(out, rel(p))
		}
	}
	sort.Strings(out)
	return out
}

// rule: the packages matching From may depend (transitively) only on
// those matching one of Allow, and never on one matching Deny.
type rule struct {
	from  string   // a package, or a prefix ending in "/..."
	allow []string // nil: anything not denied
	deny  []string
	why   string
}

func match(pattern, p string) bool {
	if strings.HasSuffix(pattern, "/...") {
		base := strings.TrimSuffix(pattern, "/...")
		return p == base || strings.HasPrefix(p, base+"/")
	}
	return p == pattern
}

func matchAny(patterns []string, p string) bool {
	return slices.ContainsFunc(patterns, func(pat string) bool { return match(pat, p) })
}

// rules are the arrows of docs/architecture.md: spec and the wire format
// are leaves, the explorer's engine imports nothing of ours, the model and
// the explorer never depend on the endpoint, the endpoint never on the
// model or the checks, and nothing depends on the command line.
var rules = []rule{
	{from: "spec", allow: []string{}, why: "spec imports nothing of tcpcheck's own"},
	{from: "impl/wire", allow: []string{"spec"}, why: "the wire format is a leaf: it imports nothing of ours but spec"},
	{from: "check/engine", allow: []string{}, why: "the explorer's engine is generic over byte keys and imports nothing of ours"},
	{from: "gen/...", allow: []string{"spec", "gen/..."}, why: "the generator reads spec only"},
	{from: "model/...", deny: []string{"impl/...", "check/...", "gen/...", "cmd/..."}, why: "the model never depends on the endpoint, the checks or the generator"},
	{from: "check", deny: []string{"impl", "check/live/..."}, why: "the explorer does not depend on the endpoint"},
	{from: "check/explain/...", deny: []string{"impl", "check/live/..."}, why: "the question pages come from the model, not the endpoint"},
	{from: "impl/...", deny: []string{"model/...", "check/...", "gen/...", "cmd/..."}, why: "the endpoint depends on spec (and its own wire format) only"},
}

func TestImportGraph(t *testing.T) {
	pkgs := ours(t)
	for _, name := range []string{"spec", "impl/wire", "check/engine", "model", "impl", "check", "check/explain"} {
		if pkgs[name] == nil {
			t.Errorf("package %s is missing: the rules of docs/architecture.md name it", name)
		}
	}
	for name, p := range pkgs {
		for _, d := range p.Deps {
			if match("cmd/...", d) {
				t.Errorf("%s depends on %s: nothing may import the command line", name, d)
			}
		}
		for _, r := range rules {
			if !match(r.from, name) {
				continue
			}
			for _, d := range p.Deps {
				if r.allow != nil && !matchAny(r.allow, d) || matchAny(r.deny, d) {
					t.Errorf("%s depends on %s: %s", name, d, r.why)
				}
			}
		}
	}
}

// sequenceVariables are the connection's variables that only spec's TCB
// may change (RFC 9293 §3.3.1), as field names in any capitalization.
var sequenceVariables = []string{"sndUna", "sndNxt", "sndWL1", "sndWL2", "rcvNxt", "iss", "irs"}

func isSequenceVariable(name string) bool {
	return slices.ContainsFunc(sequenceVariables, func(v string) bool { return strings.EqualFold(v, name) })
}

// TestSequenceVariablesOnlyThroughSpec: outside spec and tests, no code
// assigns a field named after a sequence variable, nor sets one in a
// composite literal, except the inputs of spec.Params (the ISS a caller
// chooses) and the guards' read-only view spec.Ctx. The model keeps a
// compact copy over byte-sized sequence numbers, held to spec by
// model/tcb_diff_test.go, and bench/promela renders that copy as Promela:
// both are left out.
func TestSequenceVariablesOnlyThroughSpec(t *testing.T) {
	cfg := &packages.Config{Mode: packages.NeedName | packages.NeedFiles | packages.NeedSyntax |
		packages.NeedTypes | packages.NeedTypesInfo, Dir: root(t)}
	pkgs, err := packages.Load(cfg, "./...")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pkgs {
		for _, e := range p.Errors {
			t.Fatalf("%s: %v", p.PkgPath, e)
		}
		name := rel(p.PkgPath)
		if match("spec", name) || match("model/...", name) || match("bench/promela", name) {
			continue
		}
		for _, file := range p.Syntax {
			for _, bad := range assignments(p.Fset, file, p.TypesInfo) {
				t.Errorf("%s: %s: change it through spec.TCB", bad, name)
			}
		}
	}
}

// exempt reports whether a field belongs to a struct that may hold such a
// name: spec.Params (a caller's input) or spec.Ctx (the guards' view).
func exempt(info *types.Info, e ast.Expr) bool {
	if info == nil {
		return false
	}
	tv, ok := info.Types[e]
	if !ok {
		return false
	}
	typ := tv.Type
	if ptr, ok := typ.(*types.Pointer); ok {
		typ = ptr.Elem()
	}
	n, ok := typ.(*types.Named)
	if !ok || n.Obj().Pkg() == nil {
		return false
	}
	return n.Obj().Pkg().Path() == module+"/spec" && (n.Obj().Name() == "Params" || n.Obj().Name() == "Ctx")
}

// assignments finds the places in file that set a sequence variable field.
// info, when not nil, exempts spec.Params and spec.Ctx.
func assignments(fset *token.FileSet, file *ast.File, info *types.Info) []string {
	var out []string
	field := func(e ast.Expr) (string, bool) {
		if s, ok := e.(*ast.SelectorExpr); ok && isSequenceVariable(s.Sel.Name) && !exempt(info, s.X) {
			return s.Sel.Name, true
		}
		return "", false
	}
	ast.Inspect(file, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.AssignStmt:
			for _, l := range n.Lhs {
				if name, ok := field(l); ok {
					out = append(out, fmt.Sprintf("%s assigns the field %s", fset.Position(l.Pos()), name))
				}
			}
		case *ast.IncDecStmt:
			if name, ok := field(n.X); ok {
				out = append(out, fmt.Sprintf("%s changes the field %s", fset.Position(n.Pos()), name))
			}
		case *ast.CompositeLit:
			if exempt(info, n) {
				return true
			}
			for _, e := range n.Elts {
				if kv, ok := e.(*ast.KeyValueExpr); ok {
					if id, ok := kv.Key.(*ast.Ident); ok && isSequenceVariable(id.Name) {
						out = append(out, fmt.Sprintf("%s sets the field %s in a literal", fset.Position(kv.Pos()), id.Name))
					}
				}
			}
		}
		return true
	})
	return out
}

func TestAssignmentsFindsCopies(t *testing.T) {
	src := `package p
type tcb struct{ sndUna, SndNxt uint32; rcvNxt uint32 }
func f(c *tcb, x struct{ ISS uint32 }) {
	c.sndUna = 1
	c.SndNxt++
	_ = tcb{rcvNxt: 3}
	iss := 4 // a local variable is no connection variable
	_ = iss
}`
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, "p.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	got := assignments(fset, file, nil)
	if len(got) != 3 {
		t.Fatalf("found %d: %q, want the three fields", len(got), got)
	}
}

// graph renders the direct imports between our packages (commands and
// internal test helpers left out) as a Mermaid flowchart.
func graph(pkgs map[string]*pkg) string {
	skip := func(p string) bool {
		return match("internal/...", p) || strings.Contains(p, "/internal/") || strings.HasSuffix(p, "/cmd/tcpgen")
	}
	var names []string
	for n := range pkgs {
		if !skip(n) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	id := func(p string) string { return strings.NewReplacer("/", "_", ".", "root").Replace(p) }
	var b strings.Builder
	b.WriteString("```mermaid\nflowchart LR\n")
	for _, n := range names {
		fmt.Fprintf(&b, "  %s[%s]\n", id(n), n)
	}
	for _, n := range names {
		for _, d := range pkgs[n].Imports {
			if !skip(d) {
				fmt.Fprintf(&b, "  %s --> %s\n", id(n), id(d))
			}
		}
	}
	b.WriteString("```\n")
	return b.String()
}

const (
	graphBegin = "<!-- import graph: generated by go test ./internal/archtest -update; do not edit -->\n"
	graphEnd   = "<!-- end of import graph -->\n"
)

// TestArchitectureDoc: docs/architecture.md draws today's import graph and
// has a paragraph for every package.
func TestArchitectureDoc(t *testing.T) {
	pkgs := ours(t)
	path := filepath.Join(root(t), "docs", "architecture.md")
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(doc)
	i, j := strings.Index(s, graphBegin), strings.Index(s, graphEnd)
	if i < 0 || j < i {
		t.Fatalf("%s has no import graph between %q and %q", path, graphBegin, graphEnd)
	}
	want := s[:i] + graphBegin + graph(pkgs) + s[j:]
	if want != s {
		if *update {
			if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
		} else {
			t.Errorf("the import graph in %s is stale: run go test ./internal/archtest -update", path)
		}
	}
	for name := range pkgs {
		if strings.Contains(name, "/internal/") || name == "internal/archtest" {
			continue
		}
		if !strings.Contains(s, "`"+name+"`") {
			t.Errorf("%s says nothing of package %s: add a paragraph that names it as `%s`", path, name, name)
		}
	}
}
