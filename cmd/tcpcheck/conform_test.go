//go:build linux

package main

import (
	"strings"
	"testing"

	"github.com/tcpcheck/tcpcheck/check/live/kernel"
)

func TestConformFlags(t *testing.T) {
	code, stdout, _ := runCLI(t, "conform", "--list")
	if code != exitOK {
		t.Fatalf("--list: code %d", code)
	}
	names, err := kernel.Names()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if !strings.Contains(stdout, n) {
			t.Errorf("--list does not list %s", n)
		}
	}
	for _, args := range [][]string{
		{"conform"},
		{"conform", "--peer", "bsd"},
		{"conform", "--peer", "kernel", "--scenario", "no-such-scenario"},
		{"conform", "--peer", "kernel", "--msl", "0s"},
		{"conform", "--peer", "kernel", "extra"},
	} {
		if code, _, stderr := runCLI(t, args...); code != exitUsage || stderr == "" {
			t.Errorf("%q: code %d, stderr %q; want a usage error", args, code, stderr)
		}
	}
}
