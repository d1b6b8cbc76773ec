package gen

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tcpcheck/tcpcheck/spec"
)

// ErrNoDot is returned (wrapped) when Graphviz's dot is not installed, so an
// SVG cannot be rendered.
var ErrNoDot = errors.New("gen: graphviz 'dot' not found in PATH: install graphviz (apt-get install graphviz)")

// output is one generated file, relative to the repository root.
type output struct {
	path string
	make func(rows []spec.Row, id *idents) ([]byte, error)
}

// outputs lists every generated file except the SVG, which depends on an
// external tool and is handled by Generate.
var outputs = []output{
	{"model/zz_step.go", modelStep},
	{"impl/zz_step.go", implStep},
}

// rendered returns the content of every generated file (paths relative to
// root), read from the spec sources under root and from spec.Table().
func rendered(root string) ([]string, map[string][]byte, error) {
	rows := spec.Table()
	if err := spec.Validate(rows); err != nil {
		return nil, nil, fmt.Errorf("gen: the table is invalid, fix spec/ first: %w", err)
	}
	id, err := readIdents(filepath.Join(root, "spec"))
	if err != nil {
		return nil, nil, err
	}
	var paths []string
	files := map[string][]byte{}
	for _, o := range outputs {
		b, err := o.make(rows, id)
		if err != nil {
			return nil, nil, err
		}
		paths = append(paths, o.path)
		files[o.path] = b
	}
	return paths, files, nil
}

// Generate regenerates every derived file of the repository rooted at root
// from spec.Table(): the step functions of model/ and impl/, the table and
// diagrams in docs/, and the diagram embedded in README.md. Files whose
// content is unchanged are not rewritten. When dot is missing the SVG is
// left as it is and the returned error wraps ErrNoDot; everything else has
// then been written.
func Generate(root string) error {
	paths, files, err := rendered(root)
	if err != nil {
		return err
	}
	for _, p := range paths {
		if err := writeIfChanged(filepath.Join(root, p), files[p]); err != nil {
			return err
		}
	}
	return nil
}

func writeIfChanged(path string, b []byte) error {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, b) {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("gen: %w", err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("gen: %w", err)
	}
	return nil
}
