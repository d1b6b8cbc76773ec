package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testDir holds what the tests share (the built command); TestMain removes it.
var testDir string

func TestMain(m *testing.M) {
	var err error
	if testDir, err = os.MkdirTemp("", "tcpcheck-cmd-test-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	code := m.Run()
	os.RemoveAll(testDir)
	os.Exit(code)
}

// runCLI runs tcpcheck in-process and returns its exit code and output.
func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

func TestUnknownCommand(t *testing.T) {
	code, _, stderr := runCLI(t, "frobnicate")
	if code != exitUsage || !strings.Contains(stderr, "unknown command") {
		t.Fatalf("code %d, stderr %q", code, stderr)
	}
}

func TestHelpListsCommands(t *testing.T) {
	code, stdout, _ := runCLI(t, "--help")
	if code != exitOK || !strings.Contains(stdout, "commands:") {
		t.Fatalf("code %d, stdout %q", code, stdout)
	}
	for name := range commands {
		if !strings.Contains(stdout, name) {
			t.Errorf("--help does not list %s", name)
		}
	}
}

func TestEveryCommandHasHelpAndRejectsBadFlags(t *testing.T) {
	for name := range commands {
		if code, _, stderr := runCLI(t, name, "-h"); code != exitOK || !strings.Contains(stderr, "usage: tcpcheck "+name) {
			t.Errorf("%s -h: code %d, stderr %q", name, code, stderr)
		}
		if code, _, stderr := runCLI(t, name, "--no-such-flag"); code != exitUsage || !strings.Contains(stderr, "no-such-flag") {
			t.Errorf("%s --no-such-flag: code %d, stderr %q", name, code, stderr)
		}
	}
}

func TestFlagsAfterArguments(t *testing.T) {
	var json bool
	var n int
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.BoolVar(&json, "json", false, "")
	fs.IntVar(&n, "n", 0, "")
	got, err := parseInterspersed(fs, []string{"NAME", "--json", "-n", "3", "OTHER", "--", "-n", "--json"})
	if err != nil {
		t.Fatal(err)
	}
	if !json || n != 3 || strings.Join(got, " ") != "NAME OTHER -n --json" {
		t.Fatalf("json %v, n %d, positional %q", json, n, got)
	}
	// As the issue writes it: the mutant's name first, then --json.
	code, stdout, stderr := runCLI(t, "why", "accept-any-rst", "--json")
	if code != exitViolated || !strings.HasPrefix(strings.TrimSpace(stdout), "{") {
		t.Fatalf("why accept-any-rst --json: exit %d, stdout %.200q, stderr %q", code, stdout, stderr)
	}
}

// TestReadmeListsEveryCommand: the README's command table has a row for
// every command (issue 22: synflood was missing) and names --version, and
// its first two commands are still the two a newcomer runs first.
func TestReadmeListsEveryCommand(t *testing.T) {
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(data)
	for name := range commands {
		if !strings.Contains(readme, "\n| `"+name) {
			t.Errorf("README's command table has no row for %s", name)
		}
	}
	for _, want := range []string{"tcpcheck --version", "docs/cli.md", "-out docs/performance.md"} {
		if !strings.Contains(readme, want) {
			t.Errorf("README does not mention %s", want)
		}
	}
	_, block, _ := strings.Cut(readme, "```sh\n")
	if lines := strings.Split(block, "\n"); len(lines) < 2 || !strings.HasPrefix(lines[0], "go run ./cmd/tcpcheck explore") || !strings.HasPrefix(lines[1], "go test ./...") {
		t.Errorf("README's first commands are not explore and go test: %q", lines[:2])
	}
}

// TestVersion: --version prints the version and the transition table's
// digest, which changes with the table.
func TestVersion(t *testing.T) {
	code, stdout, _ := runCLI(t, "--version")
	d, err := tableDigest()
	if code != exitOK || err != nil || !strings.HasPrefix(stdout, "tcpcheck ") || !strings.Contains(stdout, "table "+d+" (") {
		t.Fatalf("exit %d, %q (digest %s, %v)", code, stdout, d, err)
	}
	if len(d) != len("sha256:")+64 {
		t.Errorf("digest %q", d)
	}
}

// TestPlainMessage: the library's package prefixes and Go type names do
// not reach the command line (issue 22: "check: merge:", "model: config:",
// "impl.Transition" leaked).
func TestPlainMessage(t *testing.T) {
	for in, want := range map[string]string{
		"check: merge: a is not a shard":                                                                      "a is not a shard",
		"model: config: loss is 9; want 0..3":                                                                 "loss is 9; want 0..3",
		"--config c.json: model: reading config: open c.json: no such file":                                   "--config c.json: open c.json: no such file",
		"trace line 1: json: cannot unmarshal string into Go struct field Transition.From of type spec.State": "trace line 1: field From: a JSON string where a State belongs",
		"line 2: not an impl.Transition":                                                                      "line 2: not a transition",
		"a: check: b\nmodel: c":                                                                               "a: b\nc",
	} {
		if got := plainMessage(in); got != want {
			t.Errorf("plainMessage(%q) = %q, want %q", in, got, want)
		}
	}
	code, _, stderr := runCLI(t, "conform", "--trace", writeTemp(t, `{"From": "x"}`+"\n"))
	if code != exitUsage || strings.Contains(stderr, "Go struct") || !strings.Contains(stderr, "field From: a JSON string where a State belongs") {
		t.Errorf("conform --trace with a string state: exit %d, %q", code, stderr)
	}
}

func writeTemp(t *testing.T, s string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
