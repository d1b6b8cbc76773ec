package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/tcpcheck/tcpcheck/spec"
)

func TestTableJSONListsEveryRowAndState(t *testing.T) {
	code, stdout, stderr := runCLI(t, "table", "--format", "json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rows []struct {
		Index   int      `json:"index"`
		Name    string   `json:"name"`
		From    string   `json:"from"`
		Event   string   `json:"event"`
		Guard   string   `json:"guard"`
		Guards  []any    `json:"guards"`
		Actions []string `json:"actions"`
		To      string   `json:"to"`
		RFC     string   `json:"rfc"`
		Note    string   `json:"note"`
	}
	if err := json.Unmarshal([]byte(stdout), &rows); err != nil {
		t.Fatalf("table --format json is not a JSON array of rows: %v", err)
	}
	table := spec.Table()
	if len(rows) != len(table) {
		t.Fatalf("%d rows, the table has %d", len(rows), len(table))
	}
	seen := map[string]bool{}
	for i, r := range rows {
		want := table[i]
		if r.Index != i || r.Name != want.Name() || r.From != want.From.String() || r.Event != want.On.String() ||
			r.Guard != want.When.String() || len(r.Guards) != len(want.When.Lits()) || len(r.Actions) != len(want.Do) ||
			r.To != want.To.String() || r.RFC != want.RFC || r.Note != want.Note {
			t.Errorf("row %d: %+v does not match %s", i, r, want.Name())
		}
		seen[r.From], seen[r.To] = true, true
	}
	for _, s := range spec.States() {
		if !seen[s.String()] {
			t.Errorf("no row from or to %s", s)
		}
	}
}

func TestTableFormats(t *testing.T) {
	code, text, _ := runCLI(t, "table")
	if code != exitOK || !strings.HasPrefix(text, "#") || strings.Count(text, "\n") != spec.NumRows()+1 {
		t.Fatalf("table: exit %d, %d lines", code, strings.Count(text, "\n"))
	}
	code, md, _ := runCLI(t, "table", "--format", "md")
	want, err := os.ReadFile("../../docs/table.md")
	if err != nil {
		t.Fatal(err)
	}
	if code != exitOK || md != string(want) {
		t.Errorf("table --format md (exit %d) differs from docs/table.md: run go generate ./...", code)
	}
	code, _, stderr := runCLI(t, "table", "--format", "yaml")
	if code != exitUsage || !strings.Contains(stderr, `"yaml"`) || !strings.Contains(stderr, "text, md or json") {
		t.Errorf("table --format yaml: exit %d, stderr %q", code, stderr)
	}
	if code, _, stderr := runCLI(t, "table", "extra"); code != exitUsage || !strings.Contains(stderr, "extra") {
		t.Errorf("table extra: exit %d, stderr %q", code, stderr)
	}
}
