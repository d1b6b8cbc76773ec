package gen

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/tcpcheck/tcpcheck/spec"
)

// idents holds the Go identifiers of the spec enums, indexed by value, as
// declared in the spec package's source. Like stringer, the generator reads
// the constants where they are declared, so renaming or adding one needs no
// change here.
type idents struct {
	state  []string
	event  []string
	guard  []string
	action []string
}

// readIdents parses the non-test Go files of dir (the spec package) and
// collects the constants declared as `Name T = iota` and those that follow
// them in the same const block without a value.
func readIdents(dir string) (*idents, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, fmt.Errorf("gen: %w", err)
	}
	sort.Strings(names)
	byType := map[string]map[int]string{}
	fset := token.NewFileSet()
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("gen: %w", err)
		}
		f, err := parser.ParseFile(fset, name, src, parser.SkipObjectResolution)
		if err != nil {
			return nil, fmt.Errorf("gen: %w", err)
		}
		for _, decl := range f.Decls {
			collectIota(decl, byType)
		}
	}
	id := &idents{}
	for _, want := range []struct {
		typ string
		n   int
		dst *[]string
	}{
		{"State", spec.NumStates, &id.state},
		{"Event", spec.NumEvents, &id.event},
		{"Guard", spec.NumGuards, &id.guard},
		{"Action", spec.NumActions, &id.action},
	} {
		*want.dst = make([]string, want.n)
		for v := range want.n {
			name, ok := byType[want.typ][v]
			if !ok {
				return nil, fmt.Errorf("gen: no constant of type spec.%s with value %d in %s; is the source out of step with the compiled spec package?", want.typ, v, dir)
			}
			(*want.dst)[v] = name
		}
		if len(byType[want.typ]) != want.n {
			return nil, fmt.Errorf("gen: %s declares %d constants of type spec.%s, the compiled package has %d; rebuild the generator",
				dir, len(byType[want.typ]), want.typ, want.n)
		}
	}
	return id, nil
}

// collectIota records the iota-valued constants of one const declaration.
func collectIota(decl ast.Decl, byType map[string]map[int]string) {
	gd, ok := decl.(*ast.GenDecl)
	if !ok || gd.Tok != token.CONST {
		return
	}
	typ := "" // the type of the iota run in progress, "" when none
	for i, s := range gd.Specs {
		vs := s.(*ast.ValueSpec)
		switch {
		case len(vs.Values) == 0:
			// Repeats the previous expression: continues the run.
		case isIota(vs.Values) && vs.Type != nil:
			typ = ""
			if t, ok := vs.Type.(*ast.Ident); ok {
				typ = t.Name
			}
		default:
			typ = ""
		}
		if typ == "" {
			continue
		}
		for _, n := range vs.Names {
			if n.Name == "_" {
				continue
			}
			if byType[typ] == nil {
				byType[typ] = map[int]string{}
			}
			byType[typ][i] = n.Name
		}
	}
}

func isIota(values []ast.Expr) bool {
	if len(values) != 1 {
		return false
	}
	id, ok := values[0].(*ast.Ident)
	return ok && id.Name == "iota"
}
