//go:build linux

package main

import (
	"bytes"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

var update = flag.Bool("update", false, "rewrite docs/cli.md from the runs of TestCLIErrorTable")

// cliCase is one bad input to one command.
type cliCase struct {
	what string   // the bad input, in words
	args []string // the command line after "tcpcheck"
	// unprivileged runs the built command as an unprivileged user
	// (nobody, when the test runs as root): what a user without root sees.
	unprivileged bool
}

// cliCases are the bad inputs of docs/cli.md, command by command. Files
// are made in the directory the cases run in: missing.json does not
// exist, garbage.* holds bytes that are no JSON, truncated.* the first half
// of a good file, huge-shard a shard file that claims a million shards,
// header.pcap a capture without packets, udp.pcap one without TCP,
// snapped.pcap one cut by its snap length; PORT is a port in use.
func cliCases() []cliCase {
	return []cliCase{
		{"no command", nil, false},
		{"an unknown command", []string{"frobnicate"}, false},
		{"help for an unknown command", []string{"help", "frobnicate"}, false},

		{"unknown format", []string{"table", "--format", "xml"}, false},
		{"an argument", []string{"table", "rows"}, false},

		{"unknown format", []string{"diagram", "--format", "png"}, false},
		{"output in a missing directory", []string{"diagram", "-o", "missing/dir/states.mmd"}, false},

		{"an unknown flag", []string{"explore", "--frobnicate"}, false},
		{"-h with a value", []string{"explore", "-h=true"}, false},
		{"a flag without its value", []string{"explore", "--pcap"}, false},
		{"not true or false", []string{"explore", "--json=maybe"}, false},
		{"negative workers", []string{"explore", "--workers", "-1"}, false},
		{"workers not a number", []string{"explore", "--workers", "two"}, false},
		{"huge workers", []string{"explore", "--workers", "100000"}, false},
		{"negative max states", []string{"explore", "--max-states", "-5"}, false},
		{"a negative timeout", []string{"explore", "--timeout", "-1s"}, false},
		{"not a number", []string{"explore", "--loss", "x"}, false},
		{"a knob too large", []string{"explore", "--loss", "9"}, false},
		{"a huge knob", []string{"explore", "--write-a", "99999999999"}, false},
		{"negative TIME-WAIT", []string{"explore", "--time-wait", "-1"}, false},
		{"rto-max out of range", []string{"explore", "--rto-max", "2"}, false},
		{"unknown closer", []string{"explore", "--closer", "c"}, false},
		{"bad ISN list", []string{"explore", "--iss-a", "1,a"}, false},
		{"missing config file", []string{"explore", "--config", "missing.json"}, false},
		{"garbage config file", []string{"explore", "--config", "garbage.json"}, false},
		{"truncated config file", []string{"explore", "--config", "truncated-config.json"}, false},
		{"unknown preset", []string{"explore", "--preset", "nosuch"}, false},
		{"unknown property", []string{"explore", "--property", "Nope", "--max-states", "10"}, false},
		{"a config file that never ends", []string{"explore", "--config", "/dev/zero"}, false},
		{"pcap in a missing directory", []string{"explore", "--pcap", "missing/dir/x.pcap"}, false},
		{"pcap the same file as the config", []string{"explore", "--config", "truncated-config.json", "--pcap", "truncated-config.json"}, false},
		{"pcap the same file as the shard file", []string{"explore", "--shard", "0/1", "--shard-out", "s0", "--pcap", "s0"}, false},
		{"shard out of range", []string{"explore", "--shard", "3/2"}, false},
		{"too many shards", []string{"explore", "--shard", "0/5000", "--shard-out", "s0"}, false},
		{"shard file without a shard", []string{"explore", "--shard-out", "s0"}, false},
		{"bitstate too small", []string{"explore", "--bitstate", "5"}, false},
		{"Quiescence listed and turned off", []string{"explore", "--quiescence=false", "--property", "Quiescence"}, false},
		{"serve at a bad address", []string{"explore", "--serve=nohost"}, false},
		{"serve with a run's flag", []string{"explore", "--serve", "--json"}, false},
		{"an argument", []string{"explore", "now"}, false},

		{"no mutant", []string{"why"}, false},
		{"unknown mutant", []string{"why", "nosuch"}, false},
		{"pcap in a missing directory", []string{"why", "--pcap", "missing/dir/x.pcap", "two-way-handshake"}, false},
		{"--list with --pcap", []string{"why", "--list", "--pcap", "x.pcap"}, false},

		{"an argument", []string{"coverage", "all"}, false},
		{"a negative budget", []string{"coverage", "--budget", "-1s"}, false},
		{"a budget without a unit", []string{"coverage", "--budget", "30"}, false},
		{"a row the table lacks", []string{"coverage", "--row", "NO + SUCH"}, false},
		{"a sweep budget without --sweep", []string{"coverage", "--sweep-budget", "10m"}, false},
		{"a sweep sample without --sweep", []string{"coverage", "--sweep-sample", "20"}, false},
		{"--row with --json", []string{"coverage", "--row", "CLOSED + PASSIVE-OPEN", "--json"}, false},

		{"no files", []string{"merge"}, false},
		{"missing file", []string{"merge", "missing.json"}, false},
		{"garbage file", []string{"merge", "garbage.json"}, false},
		{"truncated shard file", []string{"merge", "truncated-shard"}, false},
		{"a shard of a million", []string{"merge", "huge-shard"}, false},
		{"pcap the same file as a shard", []string{"merge", "--pcap", "truncated-shard", "truncated-shard"}, false},

		{"no file", []string{"trace"}, false},
		{"missing file", []string{"trace", "missing.json"}, false},
		{"garbage file", []string{"trace", "garbage.json"}, false},
		{"truncated file", []string{"trace", "truncated.json"}, false},
		{"a directory", []string{"trace", "."}, false},
		{"unknown format", []string{"trace", "--format", "svg", "good.json"}, false},
		{"output in a missing directory", []string{"trace", "-o", "missing/dir/x", "good.json"}, false},
		{"output the same file as the input", []string{"trace", "--format", "json", "-o", "good.json", "good.json"}, false},
		{"a file that never ends", []string{"trace", "/dev/zero"}, false},
		{"an endpoint's trace", []string{"trace", "good.trace"}, false},
		{"a saved trace to --pcap", []string{"trace", "--pcap", "good.json"}, false},
		{"--format with --pcap", []string{"trace", "--pcap", "header.pcap", "--format", "mermaid"}, false},
		{"a capture without packets", []string{"trace", "--pcap", "header.pcap"}, false},

		{"unknown mutant", []string{"browse", "--mutant", "nosuch"}, false},
		{"a bad address", []string{"browse", "--addr", "nohost"}, false},
		{"a port in use", []string{"browse", "--addr", "127.0.0.1:PORT"}, false},

		{"no address", []string{"listen"}, false},
		{"a port in use", []string{"listen", "127.0.0.1:PORT"}, false},
		{"probability above 1", []string{"listen", "--loss", "2", "127.0.0.1:0"}, false},
		{"zero MSL", []string{"listen", "--msl", "0s", "127.0.0.1:0"}, false},
		{"the tun link", []string{"listen", "--link", "tun", "127.0.0.1:0"}, false},
		{"pcap in a missing directory", []string{"listen", "--pcap", "missing/dir/x.pcap", "127.0.0.1:0"}, false},
		{"pcap and trace the same file", []string{"listen", "--pcap", "x", "--trace", "x", "127.0.0.1:0"}, false},

		{"no address", []string{"dial"}, false},
		{"no port", []string{"dial", "nohost"}, false},
		{"a host name", []string{"dial", "nohost:9"}, false},
		{"port 0", []string{"dial", "127.0.0.1:0"}, false},
		{"a negative timeout", []string{"dial", "--timeout", "-1s", "127.0.0.1:9"}, false},
		{"a timeout without unit", []string{"dial", "--timeout", "5", "127.0.0.1:9"}, false},
		{"zero RTO", []string{"dial", "--rto-min", "0s", "127.0.0.1:9"}, false},

		{"zero operations", []string{"lincheck", "--ops", "0"}, false},
		{"fewer operations than connections", []string{"lincheck", "--ops", "10"}, false},
		{"zero parallel", []string{"lincheck", "--parallel", "0"}, false},
		{"too many connections", []string{"lincheck", "--conns", "10001"}, false},
		{"many connections, default operations", []string{"lincheck", "--conns", "10000"}, false},
		{"negative probability", []string{"lincheck", "--loss", "-0.1"}, false},
		{"zero timeout", []string{"lincheck", "--timeout", "0s"}, false},
		{"HTML in a missing directory", []string{"lincheck", "--html", "missing/dir/h.html"}, false},
		{"unknown corruption", []string{"lincheck", "--corrupt", "nosuch"}, false},

		{"neither --peer nor --trace", []string{"conform"}, false},
		{"unknown peer", []string{"conform", "--peer", "bsd"}, false},
		{"--peer with --trace", []string{"conform", "--peer", "kernel", "--trace", "good.trace"}, false},
		{"missing trace", []string{"conform", "--trace", "missing.trace"}, false},
		{"garbage trace", []string{"conform", "--trace", "garbage.trace"}, false},
		{"truncated trace", []string{"conform", "--trace", "truncated.trace"}, false},
		{"zero MSL", []string{"conform", "--peer", "kernel", "--msl", "0s"}, false},
		{"missing capture", []string{"conform", "--pcap", "missing.pcap"}, false},
		{"not a capture", []string{"conform", "--pcap", "garbage.trace"}, false},
		{"empty capture", []string{"conform", "--pcap", "empty.pcap"}, false},
		{"truncated capture header", []string{"conform", "--pcap", "truncated.pcap"}, false},
		{"a capture without --pcap", []string{"conform", "empty.pcap"}, false},
		{"a trace to --pcap", []string{"conform", "--pcap", "good.trace"}, false},
		{"a saved model trace to --pcap", []string{"conform", "--pcap", "good.json"}, false},
		{"a saved model trace to --trace", []string{"conform", "--trace", "good.json"}, false},
		{"a capture without packets", []string{"conform", "--pcap", "header.pcap"}, false},
		{"a capture without TCP", []string{"conform", "--pcap", "udp.pcap"}, false},
		{"a capture cut by the snap length", []string{"conform", "--pcap", "snapped.pcap"}, false},
		{"--pcap with --peer", []string{"conform", "--pcap", "good.trace", "--peer", "kernel"}, false},
		{"--json without --pcap", []string{"conform", "--trace", "good.trace", "--json"}, false},
		{"--capture-dropped without --pcap", []string{"conform", "--trace", "good.trace", "--capture-dropped"}, false},
		{"--capture-dropped with --dut", []string{"conform", "--dut", "impl", "--capture-dropped"}, false},
		{"no root", []string{"conform", "--peer", "kernel"}, true},

		{"no directory", []string{"serve"}, false},
		{"missing directory", []string{"serve", "--http", "missing"}, false},
		{"unknown link", []string{"serve", "--http", ".", "--link", "pigeon"}, false},
		{"zero idle time", []string{"serve", "--http", ".", "--idle", "0s"}, false},
		{"--netns with the udp link", []string{"serve", "--http", ".", "--link", "udp", "--netns", "x"}, false},
		{"tun without --netns", []string{"serve", "--http", ".", "--link", "tun"}, false},
		{"a port in use", []string{"serve", "--http", ".", "127.0.0.1:PORT"}, false},
		{"no root", []string{"serve", "--http", "/", "--netns", "tcpcheck-doc"}, true},

		{"no address", []string{"synflood"}, false},
		{"a bad address", []string{"synflood", "nohost"}, false},
		{"zero count", []string{"synflood", "--count", "0", "127.0.0.1:9"}, false},
		{"negative count", []string{"synflood", "--count", "-1", "127.0.0.1:9"}, false},
		{"a huge rate", []string{"synflood", "--rate", "99999999", "127.0.0.1:9"}, false},
		{"a long wait", []string{"synflood", "--wait", "2m", "127.0.0.1:9"}, false},
	}
}

// cliFiles makes the files the cases name, in dir.
func cliFiles(t *testing.T, dir string) {
	t.Helper()
	goodTrace, err := os.ReadFile("../../docs/questions/three-way-handshake.1.trace.json")
	if err != nil {
		t.Fatal(err)
	}
	// A shard file of a small run, to truncate.
	shard := filepath.Join(dir, "shard")
	if code, _, stderr := runCLI(t, "explore", "--quiet", "--also", "none", "--incarnations", "1", "--loss", "0", "--dup", "0",
		"--shard", "0/1", "--shard-out", shard); code != exitOK {
		t.Fatalf("a shard to truncate: exit %d, %s", code, stderr)
	}
	shardData, err := os.ReadFile(shard)
	if err != nil {
		t.Fatal(err)
	}
	// A capture with its header only, one of UDP datagrams, one whose SYNs
	// the snap length cut (robust_test.go).
	for name, frames := range map[string]struct {
		snap   int
		frames [][]byte
	}{"header.pcap": {65535, nil}, "udp.pcap": {65535, [][]byte{udpFrame, udpFrame}}, "snapped.pcap": {30, [][]byte{synFrame, synFrame}}} {
		writePcapFrames(t, filepath.Join(dir, name), frames.snap, frames.frames...)
	}
	endpointTrace := `{"Time":"2026-01-01T00:00:00Z","Local":"127.0.0.1:9555","Remote":"","From":0,"Event":0,"Row":0,"To":1,"In":null,"Out":null,"Replayed":false}` + "\n"
	for name, data := range map[string][]byte{
		"good.json":             goodTrace,
		"garbage.json":          []byte("\x00\x01 this is not JSON\n"),
		"truncated.json":        goodTrace[:len(goodTrace)/2],
		"truncated-config.json": []byte(`{"incarnations": 1, "loss":`),
		"truncated-shard":       shardData[:len(shardData)/2],
		"huge-shard":            bytes.Replace(shardData, []byte(`"shards":1`), []byte(`"shards":1000000`), 1),
		"good.trace":            []byte(endpointTrace),
		"garbage.trace":         []byte("\x00\x01 this is not JSON\n"),
		"truncated.trace":       []byte(endpointTrace[:40]),
		"empty.pcap":            nil,
		// The first half of a pcap file with no packets, which is its
		// 24-octet header: magic, version 2.4, then cut.
		"truncated.pcap": []byte("\xd4\xc3\xb2\xa1\x02\x00\x04\x00\x00\x00\x00\x00"),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCLIErrorTable runs every command with the bad inputs of cliCases
// and requires docs/cli.md to be the table of their exit codes and
// messages (go test ./cmd/tcpcheck -run TestCLIErrorTable -update writes
// it). Every bad input exits 2 with a message that names the command.
func TestCLIErrorTable(t *testing.T) {
	dir := t.TempDir()
	cliFiles(t, dir)
	docs, err := filepath.Abs("../../docs/cli.md")
	if err != nil {
		t.Fatal(err)
	}
	bin := buildTcpcheck(t)
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer tcp.Close()
	udp, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	t.Chdir(dir)

	var b bytes.Buffer
	b.WriteString("<!-- Generated by go test ./cmd/tcpcheck -run TestCLIErrorTable -update; DO NOT EDIT. -->\n\n" +
		"# Bad inputs and what tcpcheck says\n\n" +
		"Every command run with bad inputs: missing, garbage and truncated files, flag values out of range,\n" +
		"negative and huge numbers, output paths that cannot be written, a port in use, no root where root is\n" +
		"needed. The exit status is 2 for each (1 is kept for a violated property, 130 for Ctrl-C); the\n" +
		"message is what the command prints on standard error (a usage error adds a line pointing to\n" +
		"`tcpcheck COMMAND -h`). A test runs every line of this table, so it stays true.\n" +
		"In the commands, missing.json does not exist, garbage.* holds bytes that are not JSON,\n" +
		"truncated.* the first half of a good file, huge-shard a shard file that claims a million shards,\n" +
		"header.pcap a capture without packets, udp.pcap one without TCP, snapped.pcap one cut by its snap\n" +
		"length, and PORT is a port another program holds.\n")
	last := "-"
	for _, c := range cliCases() {
		cmd := "tcpcheck"
		if len(c.args) > 0 {
			cmd = c.args[0]
		}
		if _, ok := commands[cmd]; !ok {
			cmd = "tcpcheck"
		}
		if cmd != last {
			fmt.Fprintf(&b, "\n## %s\n\n| bad input | command | exit | message |\n|---|---|---:|---|\n", cmd)
			last = cmd
		}
		args := slices.Clone(c.args)
		for i, a := range args {
			switch {
			case a == "127.0.0.1:PORT" && (cmd == "browse"):
				args[i] = tcp.Addr().String()
			case a == "127.0.0.1:PORT":
				args[i] = udp.LocalAddr().String()
			}
		}
		var code int
		var stderr string
		if c.unprivileged {
			code, stderr = runUnprivileged(t, bin, args)
		} else {
			code, _, stderr = runCLI(t, args...)
		}
		msg := strings.NewReplacer(tcp.Addr().String(), "127.0.0.1:PORT", udp.LocalAddr().String(), "127.0.0.1:PORT", dir, ".").Replace(stderr)
		var lines []string
		for _, l := range strings.Split(strings.TrimRight(msg, "\n"), "\n") {
			if !strings.HasPrefix(l, "run 'tcpcheck ") {
				lines = append(lines, l)
			}
		}
		msg = strings.Join(lines, " ")
		if code != exitUsage || msg == "" || (cmd != "tcpcheck" && !strings.HasPrefix(msg, "tcpcheck "+cmd+": ")) && !strings.HasPrefix(msg, "invalid value") {
			t.Errorf("tcpcheck %s: exit %d, message %q; want exit 2 and a message naming the command", strings.Join(c.args, " "), code, msg)
		}
		if strings.Contains(msg, "panic") || strings.Contains(msg, "goroutine ") {
			t.Errorf("tcpcheck %s panicked: %s", strings.Join(c.args, " "), msg)
		}
		if len(msg) > 400 {
			msg = msg[:400] + " …"
		}
		fmt.Fprintf(&b, "| %s | `%s` | %d | %s |\n", c.what, strings.TrimSpace("tcpcheck "+strings.Join(c.args, " ")), code, mdCell(msg))
	}
	if *update {
		if err := os.WriteFile(docs, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	have, err := os.ReadFile(docs)
	if err != nil || !bytes.Equal(have, b.Bytes()) {
		t.Errorf("docs/cli.md is not the table of today's messages (%v); run go test ./cmd/tcpcheck -run TestCLIErrorTable -update and review the diff", err)
		hl, wl := strings.Split(string(have), "\n"), strings.Split(b.String(), "\n")
		for i := range max(len(hl), len(wl)) {
			var h, w string
			if i < len(hl) {
				h = hl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if h != w {
				t.Errorf("first difference, line %d:\n have %s\n want %s", i+1, h, w)
				break
			}
		}
	}
}

// mdCell makes a message safe inside a Markdown table cell.
func mdCell(s string) string {
	return strings.NewReplacer("|", `\|`, "<", "&lt;", ">", "&gt;", "`", "'").Replace(s)
}

// runUnprivileged runs the built command as a user without root: as
// nobody when the test runs as root, as itself otherwise.
func runUnprivileged(t *testing.T, bin string, args []string) (int, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = "/"
	if os.Geteuid() == 0 {
		// nobody must be able to run the binary.
		for d := filepath.Dir(bin); d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
			if err := os.Chmod(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s: %v", strings.Join(args, " "), err)
	}
	return code, stderr.String()
}
