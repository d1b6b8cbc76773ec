package testenv

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Tshark returns the path of tshark, skipping the test when it is not
// installed (failing instead under CI=true).
func Tshark(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("tshark")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("tshark not found: install tshark (Debian package tshark)")
		}
		t.Skip("tshark not found: install tshark (Debian package tshark) to run this test")
	}
	return p
}

// TsharkFields runs tshark over file with checksum validation on and
// returns one line per packet with the given fields, tab-separated.
func TsharkFields(t testing.TB, file string, fields ...string) []string {
	t.Helper()
	return TsharkFieldsOpt(t, file, nil, fields...)
}

// TsharkFieldsOpt is TsharkFields with extra -o preferences.
func TsharkFieldsOpt(t testing.TB, file string, prefs []string, fields ...string) []string {
	t.Helper()
	args := []string{"-n", "-r", file, "-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE",
		"-o", "tcp.relative_sequence_numbers:FALSE", "-T", "fields"}
	for _, p := range prefs {
		args = append(args, "-o", p)
	}
	for _, f := range fields {
		args = append(args, "-e", f)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, Tshark(t), args...)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir()) // no user profile
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("tshark: %v\n%s", err, errb.String())
	}
	return strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
}

// CheckPcapClean fails when tshark reports anything malformed or a bad
// checksum in file, and returns the number of TCP packets it dissected.
func CheckPcapClean(t testing.TB, file string, prefs ...string) int {
	t.Helper()
	lines := TsharkFieldsOpt(t, file, prefs, "frame.number", "tcp.srcport", "tcp.checksum.status", "ip.checksum.status", "_ws.malformed", "_ws.expert.message")
	n := 0
	for _, l := range lines {
		f := strings.Split(l, "\t")
		if len(f) < 6 {
			t.Fatalf("tshark line %q: want 6 fields", l)
		}
		if f[1] == "" {
			t.Errorf("packet %s not dissected as TCP: %q", f[0], l)
			continue
		}
		n++
		// checksum.status: 1 = good (Wireshark's PROTO_CHECKSUM_E_GOOD; 0 is bad, 2 unverified).
		if f[2] != "1" || f[3] != "1" {
			t.Errorf("packet %s: tcp checksum status %q, ip checksum status %q, want good (1)", f[0], f[2], f[3])
		}
		if f[4] != "" || strings.Contains(strings.ToLower(f[5]), "malformed") {
			t.Errorf("packet %s malformed: %q", f[0], l)
		}
	}
	return n
}
