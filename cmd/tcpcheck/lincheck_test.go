package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLincheckOkWritesHTML(t *testing.T) {
	page := filepath.Join(t.TempDir(), "lin.html")
	code, stdout, stderr := runCLI(t, "lincheck", "--conns", "12", "--ops", "600", "--loss", "0.05", "--dup", "0.02",
		"--reorder", "0.05", "--html", page)
	if code != exitOK {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	for _, want := range []string{"verdict: Ok", "check time", "12 connections established", "history: "} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	b, err := os.ReadFile(page)
	if err != nil || !strings.Contains(string(b), "<html") {
		t.Fatalf("no HTML page at %s (%v)", page, err)
	}
}

func TestLincheckRejectsBadOptions(t *testing.T) {
	for _, args := range [][]string{
		{"--loss", "1.5"},
		{"--conns", "-1"},
		{"--conns", "10", "--ops", "3"},
		{"--timeout", "0s"},
		{"extra"},
	} {
		code, _, stderr := runCLI(t, append([]string{"lincheck"}, args...)...)
		if code != exitUsage || !strings.Contains(stderr, "lincheck") {
			t.Errorf("lincheck %v: exit %d, stderr %q", args, code, stderr)
		}
	}
}
