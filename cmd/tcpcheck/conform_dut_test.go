//go:build linux

package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tcpcheck/tcpcheck/check/live/dut/linuxdut"
	"github.com/tcpcheck/tcpcheck/internal/testenv"
)

func TestConformDUT(t *testing.T) {
	code, stdout, stderr := runCLI(t, "conform", "--dut", "gvisor", "--case", "LISTEN + rcv SYN", "-v")
	if code != exitOK || !strings.Contains(stdout, "1 cases: 1 agree") || !strings.Contains(stdout, "SYN,ACK") {
		t.Errorf("--dut gvisor --case: code %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, stderr = runCLI(t, "conform", "--dut", "gvisor", "--case", "TIME-WAIT + rcv SYN", "--json")
	var out struct {
		Cases []struct{ Verdict, Deviation string }
	}
	if err := json.Unmarshal([]byte(stdout), &out); code != exitOK || err != nil || len(out.Cases) != 1 ||
		out.Cases[0].Verdict != "deviation" || out.Cases[0].Deviation != "time-wait-ignores-syn" {
		t.Errorf("--json: code %d, %v, %+v\n%s", code, err, out, stderr)
	}
	code, stdout, _ = runCLI(t, "conform", "--dut", "impl", "--row", "0")
	if code != exitOK || !strings.Contains(stdout, "0 disagree") {
		t.Errorf("--dut impl --row 0: code %d\n%s", code, stdout)
	}
	for _, args := range [][]string{
		{"conform", "--dut", "bsd"},
		{"conform", "--dut", "gvisor", "--full"},
		{"conform", "--dut", "impl", "--row", "9999"},
		{"conform", "--dut", "impl", "--case", "no such case"},
		{"conform", "--dut", "impl", "--peer", "kernel"},
	} {
		if code, _, stderr := runCLI(t, args...); code != exitUsage || stderr == "" {
			t.Errorf("%q: code %d, stderr %q; want a usage error", args, code, stderr)
		}
	}
}

// TestConformDUTLinux runs one case against the kernel, and a registered
// deviation; without root, --dut linux is an environment error (exit 2).
func TestConformDUTLinux(t *testing.T) {
	if err := linuxdut.Available(); err != nil {
		if code, _, stderr := runCLI(t, "conform", "--dut", "linux", "--case", "LISTEN + rcv SYN"); code != exitUsage || !strings.Contains(stderr, "root") {
			t.Errorf("--dut linux without root: code %d, stderr %q; want exit 2 naming root", code, stderr)
		}
		testenv.Missing(t, "the Linux DUT: %v", err)
	}
	code, stdout, stderr := runCLI(t, "conform", "--dut", "linux", "--case", "LISTEN + rcv SYN", "-v")
	if code != exitOK || !strings.Contains(stdout, "1 cases: 1 agree") || !strings.Contains(stdout, "SYN,ACK") {
		t.Errorf("--dut linux --case: code %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, stderr = runCLI(t, "conform", "--dut", "linux", "--case", "TIME-WAIT + rcv RST", "--json")
	var out struct {
		Cases []struct{ Verdict, Deviation string }
	}
	if err := json.Unmarshal([]byte(stdout), &out); code != exitOK || err != nil || len(out.Cases) != 1 ||
		out.Cases[0].Verdict != "deviation" || out.Cases[0].Deviation != "rst-kills-time-wait" {
		t.Errorf("--dut linux --json: code %d, %v, %+v\n%s", code, err, out, stderr)
	}
	code, stdout, _ = runCLI(t, "conform", "--dut", "linux", "--case", "TIME-WAIT + 2MSL")
	if code != exitOK || !strings.Contains(stdout, "run them with --full") {
		t.Errorf("--dut linux, a case of TIME-WAIT's end without --full: code %d\n%s", code, stdout)
	}
}
