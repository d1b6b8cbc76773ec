package explain

import (
	"embed"
	"fmt"
)

// runFiles are the fragments of the runs that pages show ("run: NAME"):
// a run's description, the command that repeats it, its numbers, its
// segment table and its sequence diagram, rendered by go generate from
// the records of package check/live/internal/evidence.
//
//go:embed runs/*.md
var runFiles embed.FS

// RunFragment returns the Markdown fragment of the named run.
func RunFragment(name string) ([]byte, error) {
	data, err := runFiles.ReadFile("runs/" + name + ".md")
	if err != nil {
		return nil, fmt.Errorf("explain: no run %q: check/explain/runs/%s.md is missing (go generate ./... writes the fragments of the runs of check/live/internal/evidence)", name, name)
	}
	return data, nil
}
