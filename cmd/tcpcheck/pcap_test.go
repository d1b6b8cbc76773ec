//go:build linux

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"net/netip"

	"github.com/tcpcheck/tcpcheck/impl/wire"
	"github.com/tcpcheck/tcpcheck/spec"
)

// writeHandshake writes a pcap (the endpoint's own writer, raw IP) of a
// handshake and a close; ackOff is added to the SYN,ACK's ACK field.
func writeHandshake(t *testing.T, path string, ackOff uint32) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := wire.NewPcapWriter(f)
	if err != nil {
		t.Fatal(err)
	}
	writeConn(t, w, netip.MustParseAddrPort("192.0.2.1:40000"), ackOff, time.Unix(1700000000, 0))
}

// writeConn writes a handshake and a close from client a to 192.0.2.2:80.
func writeConn(t *testing.T, w *wire.PcapWriter, a netip.AddrPort, ackOff uint32, t0 time.Time) {
	t.Helper()
	b := netip.MustParseAddrPort("192.0.2.2:80")
	segs := []struct {
		fromA bool
		h     wire.Header
	}{
		{true, wire.Header{Seq: 100, Flags: spec.SYN, Window: 1000, MSS: 1460}},
		{false, wire.Header{Seq: 500, Ack: 101 + spec.Seq(ackOff), Flags: spec.SYN | spec.ACK, Window: 1000, MSS: 1460}},
		{true, wire.Header{Seq: 101, Ack: 501, Flags: spec.ACK, Window: 1000}},
		{true, wire.Header{Seq: 101, Ack: 501, Flags: spec.FIN | spec.ACK, Window: 1000}},
		{false, wire.Header{Seq: 501, Ack: 102, Flags: spec.FIN | spec.ACK, Window: 1000}},
		{true, wire.Header{Seq: 102, Ack: 502, Flags: spec.ACK, Window: 1000}},
	}
	for i, s := range segs {
		src, dst := a, b
		if !s.fromA {
			src, dst = b, a
		}
		s.h.SrcPort, s.h.DstPort = src.Port(), dst.Port()
		if err := w.WriteSegment(t0.Add(time.Duration(i)*time.Millisecond), src, dst, s.h, nil); err != nil {
			t.Fatal(err)
		}
	}
}

func TestConformPcap(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.pcap")
	writeHandshake(t, good, 0)
	code, out, errs := runCLI(t, "conform", "--pcap", good)
	if code != exitOK || !strings.Contains(out, "client: CLOSED SYN-SENT ESTABLISHED FIN-WAIT-1 TIME-WAIT") ||
		!strings.Contains(out, "1 connections checked: 1 conform") {
		t.Fatalf("good capture: code %d\n%s%s", code, out, errs)
	}
	code, out, _ = runCLI(t, "conform", "--pcap", good, "--json")
	if code != exitOK || !strings.Contains(out, `"conforming": 1`) {
		t.Fatalf("--json: code %d\n%s", code, out)
	}
	code, out, _ = runCLI(t, "trace", "--pcap", good)
	if code != exitOK || !strings.Contains(out, "<SEQ=500><ACK=101><CTL=SYN,ACK>") {
		t.Fatalf("trace --pcap: code %d\n%s", code, out)
	}

	bad := filepath.Join(dir, "bad.pcap")
	writeHandshake(t, bad, 1)
	code, out, _ = runCLI(t, "conform", "--pcap", bad)
	if code != exitViolated || !strings.Contains(out, "DOES NOT CONFORM: frame 2") {
		t.Fatalf("planted fault: code %d\n%s", code, out)
	}

	// A capture that dropped packets: the summary says to check it again
	// with --capture-dropped, and with it the connections conform.
	dropped := filepath.Join("..", "..", "check", "capture", "testdata", "linux-capture-dropped-handshake.pcap")
	code, out, _ = runCLI(t, "conform", "--pcap", dropped)
	if code != exitViolated || !strings.Contains(out, "2 of the 2 connections that do not conform fail where the capture may have missed packets") {
		t.Fatalf("a capture that dropped packets: code %d\n%s", code, out)
	}
	if code, out, _ = runCLI(t, "conform", "--pcap", dropped, "--capture-dropped"); code != exitOK || strings.Contains(out, "may have missed packets") {
		t.Fatalf("--capture-dropped: code %d\n%s", code, out)
	}

	text := filepath.Join(dir, "notes.txt")
	os.WriteFile(text, []byte("not a capture at all\n"), 0o644)
	if code, _, errs := runCLI(t, "conform", "--pcap", text); code != exitUsage || !strings.Contains(errs, "not a pcap or pcapng file") {
		t.Errorf("text file: code %d, %q", code, errs)
	}
	empty := filepath.Join(dir, "empty.pcap")
	os.WriteFile(empty, nil, 0o644)
	if code, _, errs := runCLI(t, "conform", "--pcap", empty); code != exitUsage || !strings.Contains(errs, "is empty") {
		t.Errorf("empty file: code %d, %q", code, errs)
	}
	if code, _, errs := runCLI(t, "conform", good); code != exitUsage || !strings.Contains(errs, "--pcap") {
		t.Errorf("capture without --pcap: code %d, %q", code, errs)
	}
	js := filepath.Join("..", "..", "docs", "questions", "three-way-handshake.1.trace.json")
	// A saved model trace goes to 'tcpcheck trace', not to conform --trace,
	// which reads an endpoint's transitions.
	if code, _, errs := runCLI(t, "conform", "--pcap", js); code != exitUsage || !strings.Contains(errs, "print it with 'tcpcheck trace "+js+"'") {
		t.Errorf("JSON trace to --pcap: code %d, %q", code, errs)
	}
	if code, _, errs := runCLI(t, "conform", "--trace", good); code != exitUsage || !strings.Contains(errs, "--pcap") {
		t.Errorf("capture to --trace: code %d, %q", code, errs)
	}
	if code, _, errs := runCLI(t, "trace", good); code != exitUsage || !strings.Contains(errs, "--pcap") {
		t.Errorf("capture to trace: code %d, %q", code, errs)
	}
	if code, _, errs := runCLI(t, "conform", "--pcap", filepath.Join(dir, "missing.pcap")); code != exitUsage || errs == "" {
		t.Errorf("missing file: code %d, %q", code, errs)
	}
	cut := filepath.Join(dir, "cut.pcap")
	data, _ := os.ReadFile(good)
	os.WriteFile(cut, data[:len(data)-7], 0o644)
	if code, _, errs := runCLI(t, "conform", "--pcap", cut); code != exitUsage || !strings.Contains(errs, "truncated") {
		t.Errorf("truncated file: code %d, %q", code, errs)
	}
}

// TestConformPcapOfModelTraces writes every saved question trace as a
// pcap (the writer explore --pcap uses, check.WritePcap) and checks it:
// what the correct model does conforms; the traces with an off-path
// attacker's injected RST do not, at the injected segment, which no host
// sent.
func TestConformPcapOfModelTraces(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "docs", "questions", "*.trace.json"))
	if len(files) < 10 {
		t.Fatalf("only %d question traces", len(files))
	}
	dir := t.TempDir()
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		injected := strings.Contains(string(data), `"injected": true`)
		p := filepath.Join(dir, filepath.Base(f)+".pcap")
		if code, _, errs := runCLI(t, "trace", "--format", "pcap", "-o", p, f); code != exitOK {
			t.Fatalf("%s: trace --format pcap: %s", f, errs)
		}
		code, out, _ := runCLI(t, "conform", "--pcap", p)
		// The capture's clock keeps the model's ticks (check.PcapMSL a
		// model MSL): a TIME-WAIT the mutants cut short shows as such,
		// and one of the table's own does not.
		cutShort := strings.Contains(string(data), `"mutant": "short-time-wait"`) || strings.Contains(string(data), `"mutant": "no-time-wait"`)
		if fromTable := !strings.Contains(string(data), `"mutant"`); (cutShort || fromTable) && strings.Contains(out, "time-wait-short") != cutShort {
			t.Errorf("%s: time-wait-short reported: %v, want %v\n%s", f, !cutShort, cutShort, out)
		}
		switch {
		case !injected && code != exitOK:
			t.Errorf("%s: the model's own trace does not conform:\n%s", f, out)
		case injected && (code != exitViolated || !strings.Contains(out, "<CTL=RST>, which no delivery")):
			t.Errorf("%s: an injected RST should be the finding:\n%s", f, out)
		}
	}
}

// TestConformPcapFollow checks a capture while it is written: the report
// on each connection appears when it closes, and Ctrl-C ends the run with
// the summary.
func TestConformPcapFollow(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "tcpcheck")
	if out, err := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	path := filepath.Join(dir, "live.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := wire.NewPcapWriter(f)
	if err != nil {
		t.Fatal(err)
	}
	writeConn(t, w, netip.MustParseAddrPort("192.0.2.1:40000"), 0, time.Unix(1700000000, 0))
	cmd := exec.Command(bin, "conform", "--pcap", path, "--follow")
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	out := lines(stdout)
	waitFor(t, out, "connection 1: 192.0.2.1:40000", "conform --follow")
	writeConn(t, w, netip.MustParseAddrPort("192.0.2.1:40001"), 0, time.Unix(1700000001, 0))
	waitFor(t, out, "connection 2: 192.0.2.1:40001", "conform --follow")
	cmd.Process.Signal(syscall.SIGINT)
	waitFor(t, out, "summary: 2 connections checked: 2 conform", "conform --follow")
	if err := cmd.Wait(); err != nil {
		t.Fatalf("conform --follow: %v", err)
	}
}
