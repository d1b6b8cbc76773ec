package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tcpcheck/tcpcheck/internal/testenv"
)

func TestTraceDocsFile(t *testing.T) {
	f := filepath.Join("..", "..", "docs", "questions", "three-way-handshake.1.trace.json")
	code, out, errs := runCLI(t, "trace", f)
	if code != exitOK {
		t.Fatalf("code %d: %s", code, errs)
	}
	for _, want := range []string{"SYN-RECEIVED", "--SYN seq=30 ack=0 len=0-->", "ESTABLISHED [connected]"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = runCLI(t, "trace", "--format", "mermaid", f)
	if code != exitOK || !strings.HasPrefix(out, "sequenceDiagram\n") || !strings.Contains(out, "N->>B: SYN seq=30") {
		t.Fatalf("mermaid: code %d\n%s", code, out)
	}
	p := filepath.Join(t.TempDir(), "x.pcap")
	code, _, errs = runCLI(t, "trace", "--format", "pcap", "-o", p, f)
	if code != exitOK {
		t.Fatalf("pcap: code %d: %s", code, errs)
	}
	data, err := os.ReadFile(p)
	if err != nil || len(data) < 24 || !bytes.Equal(data[:4], []byte{0xd4, 0xc3, 0xb2, 0xa1}) {
		t.Fatalf("pcap: %v, %d bytes", err, len(data))
	}
}

// TestTraceExploreJSON renders what why --json prints.
func TestTraceExploreJSON(t *testing.T) {
	code, js, _ := runCLI(t, "why", "--json", "--quiet", "three-way-close")
	if code != exitViolated {
		t.Fatalf("why: code %d", code)
	}
	f := filepath.Join(t.TempDir(), "why.json")
	if err := os.WriteFile(f, []byte(js), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runCLI(t, "trace", f)
	if code != exitOK || !strings.Contains(out, "LAST-ACK") || !strings.Contains(out, "violates HalfCloseDelivers") {
		t.Fatalf("code %d, %s\n%s", code, errs, out)
	}
	// Converted to a saved trace, it renders the same.
	saved := filepath.Join(t.TempDir(), "saved.json")
	if code, _, errs := runCLI(t, "trace", "--format", "json", "-o", saved, f); code != exitOK {
		t.Fatalf("--format json: code %d: %s", code, errs)
	}
	code, again, errs := runCLI(t, "trace", saved)
	if code != exitOK || again != out {
		t.Fatalf("saved copy: code %d, %s\n%s\nwant\n%s", code, errs, again, out)
	}
}

func TestTraceBadFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string { return testenv.WriteFile(t, dir, name, text) }
	for name, c := range map[string]struct {
		args []string
		want string
	}{
		"missing":  {[]string{filepath.Join(dir, "nope.json")}, "nope.json: cannot be read: no such file"},
		"empty":    {[]string{write("empty.json", "")}, "empty"},
		"garbage":  {[]string{write("g.json", "\x00\x01pcap")}, "not a JSON object"},
		"other":    {[]string{write("o.json", `{"x":1}`)}, "no \"format\""},
		"no args":  {nil, "want one trace FILE"},
		"format":   {[]string{"--format", "svg", "x"}, "--format \"svg\": want table, mermaid, pcap or json"},
		"two args": {[]string{"a", "b"}, "want one trace FILE"},
	} {
		code, _, errs := runCLI(t, append([]string{"trace"}, c.args...)...)
		if code != exitUsage || !strings.Contains(errs, c.want) {
			t.Errorf("%s: code %d, stderr %q (want %q)", name, code, errs, c.want)
		}
	}
}

// TestTracePcapTshark checks the capture with tshark when it is installed.
func TestTracePcapTshark(t *testing.T) {
	testenv.Tool(t, "tshark", "tshark")
	f := filepath.Join("..", "..", "docs", "questions", "simultaneous-close.1.trace.json")
	p := filepath.Join(t.TempDir(), "x.pcap")
	if code, _, errs := runCLI(t, "trace", "--format", "pcap", "-o", p, f); code != exitOK {
		t.Fatalf("code %d: %s", code, errs)
	}
	out, err := exec.Command("tshark", "-r", p, "-T", "fields", "-e", "tcp.flags.str").CombinedOutput()
	if err != nil {
		t.Fatalf("tshark: %v\n%s", err, out)
	}
	if strings.Count(string(out), "F") < 2 {
		t.Errorf("tshark does not see two FINs:\n%s", out)
	}
}

// TestTraceTamperedSaysWhatTheModelDoes: a saved trace whose readable step
// was edited is refused with the field that differs and what the model
// does there (issue 22: the error did not say what the model expected).
func TestTraceTamperedSaysWhatTheModelDoes(t *testing.T) {
	data, err := os.ReadFile("../../docs/questions/three-way-handshake.1.trace.json")
	if err != nil {
		t.Fatal(err)
	}
	var tr map[string]any
	if err := json.Unmarshal(data, &tr); err != nil {
		t.Fatal(err)
	}
	step := tr["trace"].([]any)[1].(map[string]any)
	if step["b"] != "SYN-RECEIVED" {
		t.Fatalf("step 2 of the docs trace leaves B in %v; the test expects SYN-RECEIVED", step["b"])
	}
	step["b"] = "CLOSED"
	p := filepath.Join(t.TempDir(), "tampered.json")
	data, _ = json.Marshal(tr)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCLI(t, "trace", p)
	want := `step 2: the readable step is not what the model does on this path: b is "CLOSED" in the file, "SYN-RECEIVED" in the model`
	if code != exitUsage || !strings.Contains(stderr, want) || strings.Contains(stderr, "explain:") {
		t.Errorf("exit %d, stderr %q; want %q", code, stderr, want)
	}
}
