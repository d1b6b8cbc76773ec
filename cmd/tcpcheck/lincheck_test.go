package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tcpcheck/tcpcheck/check/live/lin"
	"github.com/tcpcheck/tcpcheck/internal/testenv"
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
		{"--corrupt", "no-such"},
	} {
		code, _, stderr := runCLI(t, append([]string{"lincheck"}, args...)...)
		if code != exitUsage || !strings.Contains(stderr, "lincheck") {
			t.Errorf("lincheck %v: exit %d, stderr %q", args, code, stderr)
		}
	}
}

// TestLincheckCatchesCorruption records a good history, corrupts it in
// each way lincheck offers and requires the check to fail with exit 1.
func TestLincheckCatchesCorruption(t *testing.T) {
	for _, c := range lin.Corruptions {
		kind := string(c)
		code, stdout, stderr := runCLI(t, "lincheck", "--conns", "8", "--ops", "320", "--loss", "0.02", "--conform=false", "--corrupt", kind)
		if code != exitViolated || !strings.Contains(stdout, "corrupted ("+kind+"): ") || !strings.Contains(stdout, "verdict: Illegal") ||
			!strings.Contains(stderr, "caught the corruption") {
			t.Errorf("--corrupt %s: exit %d\nstdout: %s\nstderr: %s", kind, code, stdout, stderr)
		}
	}
}

// TestLincheckHTMLInChromium opens the page lincheck --html writes in
// headless Chromium and takes a screenshot of it.
func TestLincheckHTMLInChromium(t *testing.T) {
	bin := testenv.Chromium(t)
	dir := t.TempDir()
	page, shot := filepath.Join(dir, "lin.html"), filepath.Join(dir, "lin.png")
	if code, stdout, stderr := runCLI(t, "lincheck", "--conns", "6", "--ops", "120", "--loss", "0.05", "--html", page); code != exitOK {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
		"--user-data-dir="+filepath.Join(dir, "profile"), "--window-size=1280,900", "--screenshot="+shot, "file://"+page)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, out)
	}
	if st, err := os.Stat(shot); err != nil || st.Size() < 5000 {
		t.Fatalf("chromium took no screenshot of %s: %v", page, err)
	}
}

// TestLincheckZeroIsNotADefault: --ops 0 and --parallel 0 are refused as
// --ops 10 is, with the range and what to do (issue 22: 0 silently meant
// the default).
func TestLincheckZeroIsNotADefault(t *testing.T) {
	for _, tc := range []struct{ args, want string }{
		{"--ops 0", "--ops 0: want 20 to 1000000 (at least one per connection of --conns 20: give --ops 20 or more)"},
		{"--ops 10", "--ops 10: want 20 to 1000000"},
		{"--parallel 0", "--parallel 0: want 1 to 10000"},
		{"--conns 0", "--conns 0: want 1 to 10000"},
		{"--conns 10000", "--ops 1000: want 10000 to 1000000"},
	} {
		code, stdout, stderr := runCLI(t, append([]string{"lincheck"}, strings.Fields(tc.args)...)...)
		if code != exitUsage || stdout != "" || !strings.Contains(stderr, tc.want) {
			t.Errorf("lincheck %s: exit %d, stderr %q; want %q", tc.args, code, stderr, tc.want)
		}
	}
}
