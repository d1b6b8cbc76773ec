// Package testenv is how tcpcheck's tests ask for what a fresh machine may
// lack: an external tool (Graphviz, tshark, Chromium) or a capability (root
// and /dev/net/tun). When it is missing a test skips with a message naming
// what to install; when the environment variable CI is "true" it fails
// instead, because .ci/run installs everything the suite needs and a skip
// there would hide a broken check.
package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// InCI reports whether the tests run in CI (CI=true).
func InCI() bool { return os.Getenv("CI") == "true" }

// Missing skips t, or fails it in CI, saying what is missing and how to
// get it.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if InCI() {
		t.Fatalf("%s (CI=true requires it)", msg)
		return
	}
	t.Skip(msg)
}

// Tool returns the path of the first of names on PATH. When there is none
// it calls [Missing], naming the Debian package pkg to install.
func Tool(t testing.TB, pkg string, names ...string) string {
	t.Helper()
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	Missing(t, "%s not found; install the Debian package %s (apt-get install %s)", names[0], pkg, pkg)
	return ""
}

// Chromium returns the path of Chromium for headless browser tests.
func Chromium(t testing.TB) string {
	t.Helper()
	return Tool(t, "chromium", "chromium", "chromium-browser")
}

// WriteFile writes text to the file name in dir (a test's t.TempDir) and
// returns its path, failing the test if it cannot.
func WriteFile(t testing.TB, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
