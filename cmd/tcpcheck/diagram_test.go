package main

import (
	"html"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tcpcheck/tcpcheck/internal/testenv"
	"github.com/tcpcheck/tcpcheck/spec"
)

func TestDiagramMermaidIsDefault(t *testing.T) {
	code, stdout, stderr := runCLI(t, "diagram")
	if code != exitOK || !strings.HasPrefix(stdout, "stateDiagram") {
		t.Fatalf("diagram: exit %d, stderr %q, output %.40q", code, stderr, stdout)
	}
	want, err := os.ReadFile("../../docs/states.mmd")
	if err != nil {
		t.Fatal(err)
	}
	if stdout != string(want) {
		t.Error("diagram output differs from docs/states.mmd: run go generate ./...")
	}
}

func TestDiagramDOTToFile(t *testing.T) {
	out := filepath.Join(t.TempDir(), "states.dot")
	if code, stdout, stderr := runCLI(t, "diagram", "--format", "dot", "-o", out); code != exitOK || stdout != "" {
		t.Fatalf("diagram --format dot -o: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("../../docs/states.dot")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Error("diagram --format dot differs from docs/states.dot: run go generate ./...")
	}
	for _, s := range spec.States() {
		if !strings.Contains(string(got), `"`+s.String()+`"`) {
			t.Errorf("DOT has no state %s", s)
		}
	}
	if code, _, stderr := runCLI(t, "diagram", "-o", filepath.Join(t.TempDir(), "no", "such", "dir", "x")); code != exitUsage || !strings.Contains(stderr, "cannot be written: its directory") {
		t.Errorf("diagram -o into a missing directory: exit %d, stderr %q", code, stderr)
	}
}

func TestDiagramSVG(t *testing.T) {
	testenv.Tool(t, "graphviz", "dot")
	out := filepath.Join(t.TempDir(), "states.svg")
	if code, _, stderr := runCLI(t, "diagram", "--format", "svg", "-o", out); code != exitOK {
		t.Fatalf("diagram --format svg: exit %d, stderr %q", code, stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	svg := html.UnescapeString(string(b))
	if !strings.Contains(svg, "<svg") {
		t.Fatalf("not an SVG: %.80q", svg)
	}
	for _, s := range spec.States() {
		if !strings.Contains(svg, ">"+s.String()+"</text>") {
			t.Errorf("the SVG has no state %s", s)
		}
	}
}

func TestDiagramSVGWithoutDot(t *testing.T) {
	t.Setenv("PATH", t.TempDir()) // no dot here
	code, stdout, stderr := runCLI(t, "diagram", "--format", "svg")
	if code != exitUsage || stdout != "" || !strings.Contains(stderr, "install graphviz (apt-get install graphviz)") {
		t.Fatalf("diagram --format svg without dot: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

func TestDiagramBadFormat(t *testing.T) {
	code, _, stderr := runCLI(t, "diagram", "--format", "png")
	if code != exitUsage || !strings.Contains(stderr, `"png"`) || !strings.Contains(stderr, "mermaid, dot or svg") {
		t.Fatalf("diagram --format png: exit %d, stderr %q", code, stderr)
	}
}
