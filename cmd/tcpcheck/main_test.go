package main

import (
	"bytes"
	"strings"
	"testing"
)

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
