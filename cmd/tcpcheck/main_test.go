package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
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
