//go:build linux

package main

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tcpcheck/tcpcheck/internal/testenv"
)

// The robustness sweep of the command line: output files, inputs that are
// outputs, standard output that cannot be written, help, flags that were
// ignored, the limits of shards, bitstate tables and files read whole, and
// captures with nothing to check.

// smallRun is a configuration explore checks in a moment.
var smallRun = []string{"--quiet", "--also", "none", "--incarnations", "1", "--loss", "0", "--dup", "0"}

// makeFiles makes files with the given contents in dir.
func makeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, data := range files {
		testenv.WriteFile(t, dir, name, data)
	}
}

// dirHolds requires dir to hold exactly files, with those contents ("" for
// a file whose contents do not matter).
func dirHolds(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
		want, ok := files[e.Name()]
		if !ok {
			t.Errorf("%s: a file left behind", e.Name())
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil || want != "" && string(data) != want {
			t.Errorf("%s holds %q (%v), want %q", e.Name(), data, err, want)
		}
	}
	if len(names) != len(files) {
		t.Errorf("%s holds %q; want %d files", dir, names, len(files))
	}
}

// TestFailedRunKeepsOutputFiles: a run refused for its address (or a port
// in use) leaves the files --pcap and --trace name as they were (the
// sweep: listen emptied both, dial replaced the pcap with an empty one).
func TestFailedRunKeepsOutputFiles(t *testing.T) {
	udp, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	dir := t.TempDir()
	keep := map[string]string{"keep.pcap": "old capture", "keep.trace": "old trace"}
	makeFiles(t, dir, keep)
	pcap, trace := filepath.Join(dir, "keep.pcap"), filepath.Join(dir, "keep.trace")
	for _, args := range [][]string{
		{"listen", "--pcap", pcap, "--trace", trace, "nohost"},
		{"listen", "--pcap", pcap, "--trace", trace, udp.LocalAddr().String()},
		{"dial", "--pcap", pcap, "--trace", trace, "nohost"},
		{"dial", "--pcap", pcap, "nohost:9"},
		{"dial", "--pcap", pcap, "127.0.0.1:0"},
	} {
		code, _, stderr := runCLI(t, args...)
		if code != exitUsage || !strings.HasPrefix(stderr, "tcpcheck "+args[0]+": ") {
			t.Errorf("%v: exit %d, %q", args, code, stderr)
		}
		dirHolds(t, dir, keep)
	}
	if _, _, stderr := runCLI(t, "dial", "nohost"); !strings.Contains(stderr, `ADDR "nohost": missing port in address; want IP:PORT`) {
		t.Errorf("dial nohost: %q", stderr)
	}
}

// TestPendingFile: an output is written beside its path and put in place
// whole, with the mode of the file it replaces; discarded, the path keeps
// what it held; a device is written in place, never replaced.
func TestPendingFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out")
	makeFiles(t, dir, map[string]string{"out": "old"})
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := createOutput("pcap", path)
	if err != nil {
		t.Fatal(err)
	}
	p.WriteString("new")
	dirHolds(t, dir, map[string]string{"out": "old", filepath.Base(p.Name()): "new"})
	p.discard()
	dirHolds(t, dir, map[string]string{"out": "old"})

	if err := writeOutput("pcap", path, []byte("new")); err != nil {
		t.Fatal(err)
	}
	dirHolds(t, dir, map[string]string{"out": "new"})
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v (%v), want the replaced file's 0600", st.Mode(), err)
	}
	if err := writeOutput("o", "/dev/null", []byte("x")); err != nil {
		t.Errorf("/dev/null: %v", err)
	}
	if st, err := os.Stat("/dev/null"); err != nil || st.Mode()&os.ModeCharDevice == 0 {
		t.Fatalf("/dev/null is no longer a device: %v %v", st.Mode(), err)
	}
}

// TestOutputIsNotAnInput: an output that is an input, or another output,
// is refused before anything is read or written (the sweep: explore
// turned its --config into a pcap, trace its input into a pcap).
func TestOutputIsNotAnInput(t *testing.T) {
	dir := t.TempDir()
	trace, err := os.ReadFile(filepath.Join(docsDir(t), "questions/three-way-handshake.1.trace.json"))
	t.Chdir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runCLI(t, append([]string{"explore", "--shard", "0/1", "--shard-out", "v0"}, smallRun...)...); code != exitOK {
		t.Fatalf("a shard: exit %d, %s", code, stderr)
	}
	shard, err := os.ReadFile("v0")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{"c.json": `{"write_a": 3}`, "t.json": string(trace), "v0": string(shard)}
	makeFiles(t, dir, files)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"explore", "--config", "c.json", "--pcap", "c.json"}, "--pcap c.json: is the same file as --config c.json (writing it would destroy the input"},
		{[]string{"explore", "--config", "c.json", "--pcap", "./sub/../c.json"}, "is the same file as --config c.json"},
		{[]string{"explore", "--shard", "0/1", "--shard-out", "w0", "--pcap", "./w0"}, "--shard-out w0: is the same file as --pcap ./w0 (one output would overwrite the other"},
		{[]string{"merge", "--pcap", "v0", "v0"}, "--pcap v0: is the same file as the shard file v0"},
		{[]string{"trace", "--format", "pcap", "-o", "t.json", "t.json"}, "-o t.json: is the same file as the trace FILE t.json"},
		{[]string{"trace", "--pcap", "t.json", "-o", "t.json"}, "-o t.json: is the same file as --pcap t.json"},
		{[]string{"listen", "--pcap", "x", "--trace", "x", "127.0.0.1:0"}, "--trace x: is the same file as --pcap x"},
	} {
		code, _, stderr := runCLI(t, c.args...)
		if code != exitUsage || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, %q; want exit 2 and %q", c.args, code, stderr, c.want)
		}
		dirHolds(t, dir, files)
	}
}

func docsDir(t *testing.T) string {
	t.Helper()
	d, err := filepath.Abs("../../docs")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestShardOutLeavesOtherFilesAlone: the shard file is written under a
// name of its own, not X.tmp, which another file may hold (the sweep:
// --shard-out X overwrote X.tmp and renamed it away).
func TestShardOutLeavesOtherFilesAlone(t *testing.T) {
	dir := t.TempDir()
	makeFiles(t, dir, map[string]string{"x.tmp": "not tcpcheck's"})
	code, _, stderr := runCLI(t, append([]string{"explore", "--shard", "0/1", "--shard-out", filepath.Join(dir, "x")}, smallRun...)...)
	if code != exitOK {
		t.Fatalf("exit %d, %s", code, stderr)
	}
	dirHolds(t, dir, map[string]string{"x.tmp": "not tcpcheck's", "x": ""})
}

// failingWriter fails every write, as standard output on a full disk.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) {
	return 0, &os.PathError{Op: "write", Path: "/dev/stdout", Err: errors.New("no space left on device")}
}

// TestStdoutWriteError: a command whose output cannot be written exits 2
// and says so (the sweep: conform, trace --pcap, explore and why --list
// exited 0 with their output lost).
func TestStdoutWriteError(t *testing.T) {
	dir := t.TempDir()
	capture := filepath.Join(dir, "c.pcap")
	writeHandshake(t, capture, 0)
	endpoint := filepath.Join(dir, "e.trace")
	makeFiles(t, dir, map[string]string{"e.trace": `{"Time":"2026-01-01T00:00:00Z","Local":"127.0.0.1:9555","Remote":"","From":0,"Event":0,"Row":0,"To":1,"In":null,"Out":null,"Replayed":false}` + "\n"})
	for _, args := range [][]string{
		{"conform", "--pcap", capture},
		{"conform", "--pcap", capture, "--json"},
		{"conform", "--trace", endpoint},
		{"trace", "--pcap", capture},
		{"trace", filepath.Join(docsDir(t), "questions/three-way-handshake.1.trace.json")},
		append([]string{"explore"}, smallRun...),
		{"why", "--list"},
		{"table"},
		{"--version"},
	} {
		var stderr strings.Builder
		code := run(args, failingWriter{}, &stderr)
		if code != exitUsage || !strings.Contains(stderr.String(), "cannot write to standard output: no space left on device") ||
			strings.Count(stderr.String(), "no space left") != 1 {
			t.Errorf("%v: exit %d, %q", args, code, stderr.String())
		}
	}
}

// TestHelpArguments: help for a command that does not exist, and -h with
// a value, are usage errors (the sweep: exit 0, and -h=true printed
// nothing).
func TestHelpArguments(t *testing.T) {
	code, _, stderr := runCLI(t, "help", "nosuch")
	if code != exitUsage || !strings.Contains(stderr, `no command "nosuch"; the commands are browse, conform,`) {
		t.Errorf("help nosuch: exit %d, %q", code, stderr)
	}
	if code, _, stderr := runCLI(t, "help", "explore"); code != exitOK || !strings.Contains(stderr, "usage: tcpcheck explore") {
		t.Errorf("help explore: exit %d, %q", code, stderr)
	}
	for _, a := range []string{"-h=true", "--help=false", "-help=1"} {
		code, stdout, stderr := runCLI(t, "explore", a)
		if code != exitUsage || stdout != "" || !strings.Contains(stderr, a+": -h and --help take no value") {
			t.Errorf("explore %s: exit %d, %q", a, code, stderr)
		}
	}
}

// TestServeFlagMessage: a bad --serve address gets --serve's own message,
// not a boolean flag's.
func TestServeFlagMessage(t *testing.T) {
	code, _, stderr := runCLI(t, "explore", "--serve=nohost")
	if code != exitUsage || strings.Contains(stderr, "true or false") || !strings.Contains(stderr, "--serve=nohost: not a HOST:PORT") {
		t.Errorf("exit %d, %q", code, stderr)
	}
	if code, _, stderr := runCLI(t, "explore", "--reorder=maybe"); code != exitUsage || !strings.Contains(stderr, "--reorder=maybe: want true or false") {
		t.Errorf("--reorder=maybe: exit %d, %q", code, stderr)
	}
}

// TestSavedTraceAdvice: a saved model trace given where a capture or an
// endpoint's trace belongs is sent to 'tcpcheck trace FILE', and an
// endpoint's trace given to trace to 'conform --trace' (the sweep: the
// model trace was sent to conform --trace, which refused it).
func TestSavedTraceAdvice(t *testing.T) {
	q := filepath.Join(docsDir(t), "questions/three-way-handshake.1.trace.json")
	endpoint := writeTemp(t, `{"Time":"2026-01-01T00:00:00Z","Local":"127.0.0.1:9555","Remote":"","From":0,"Event":0,"Row":0,"To":1,"In":null,"Out":null,"Replayed":false}`+"\n")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"conform", "--pcap", q}, "is a saved model trace"},
		{[]string{"trace", "--pcap", q}, "is a saved model trace"},
		{[]string{"conform", "--trace", q}, "is a saved model trace"},
		{[]string{"trace", endpoint}, "check them against the table with 'tcpcheck conform --trace " + endpoint + "'"},
		{[]string{"conform", "--pcap", endpoint}, "check it with 'tcpcheck conform --trace " + endpoint + "'"},
	} {
		code, _, stderr := runCLI(t, c.args...)
		if code != exitUsage || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, %q; want %q", c.args, code, stderr, c.want)
		}
		if c.want == "is a saved model trace" && (!strings.Contains(stderr, "print it with 'tcpcheck trace "+q+"'") || strings.Contains(stderr, "conform --trace "+q)) {
			t.Errorf("%v: %q does not send the file to tcpcheck trace", c.args, stderr)
		}
	}
}

// TestIgnoredFlags: a flag that would be ignored is honoured or refused
// (the sweep: trace --pcap -o wrote nothing, --sweep-budget without
// --sweep, --quiescence=false with --property Quiescence and why --list
// --json were silently ignored).
func TestIgnoredFlags(t *testing.T) {
	dir := t.TempDir()
	capture := filepath.Join(dir, "c.pcap")
	writeHandshake(t, capture, 0)
	out := filepath.Join(dir, "tables")
	code, stdout, stderr := runCLI(t, "trace", "--pcap", capture, "-o", out)
	data, err := os.ReadFile(out)
	if code != exitOK || stdout != "" || err != nil || !strings.Contains(string(data), "connection 1: 192.0.2.1:40000 -> 192.0.2.2:80") {
		t.Errorf("trace --pcap -o: exit %d, stdout %q, stderr %q, file %q (%v)", code, stdout, stderr, data, err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"trace", "--pcap", capture, "--format", "mermaid"}, "--format mermaid does not go with --pcap"},
		{[]string{"coverage", "--sweep-budget", "1m"}, "--sweep-budget goes with --sweep"},
		{[]string{"coverage", "--sweep-sample", "5"}, "--sweep-sample goes with --sweep"},
		{[]string{"coverage", "--row", "CLOSED + PASSIVE-OPEN", "--json"}, "--json does not go with --row"},
		{[]string{"explore", "--quiescence=false", "--property", "Quiescence"}, "--quiescence=false with --property Quiescence"},
		{[]string{"explore", "--quiescence", "--property", "NoBlindReset"}, "add Quiescence to it"},
		{[]string{"explore", "--serve", "--pcap", "x.pcap"}, "--pcap does not go with --serve"},
		{[]string{"why", "--list", "--pcap", "x.pcap"}, "--pcap goes with a mutant NAME"},
	} {
		code, _, stderr := runCLI(t, c.args...)
		if code != exitUsage || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, %q; want %q", c.args, code, stderr, c.want)
		}
	}
	code, stdout, stderr = runCLI(t, "why", "--list", "--json")
	var list []struct{ Name, Question, Property string }
	if err := json.Unmarshal([]byte(stdout), &list); code != exitOK || err != nil || len(list) != len(mutantNames()) || list[0].Property == "" {
		t.Errorf("why --list --json: exit %d, %v, %q %q", code, err, stdout, stderr)
	}
}

// TestShardBounds: --shard takes at most check.MaxShards parts, merge refuses a
// file that names more before reading on, and names missing shards as
// runs (the sweep: N = 10^6 listed a million missing shards in 46 s).
func TestShardBounds(t *testing.T) {
	code, _, stderr := runCLI(t, "explore", "--shard", "0/4097", "--shard-out", filepath.Join(t.TempDir(), "s"))
	if code != exitUsage || !strings.Contains(stderr, "--shard 0/4097: want N from 1 to 4096") {
		t.Errorf("--shard 0/4097: exit %d, %q", code, stderr)
	}
	dir := t.TempDir()
	shard := filepath.Join(dir, "s")
	if code, _, stderr := runCLI(t, append([]string{"explore", "--shard", "0/1", "--shard-out", shard}, smallRun...)...); code != exitOK {
		t.Fatalf("a shard: exit %d, %s", code, stderr)
	}
	data, err := os.ReadFile(shard)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"1000000", "4611686018427387904"} {
		huge := filepath.Join(dir, "huge"+n)
		makeFiles(t, dir, map[string]string{filepath.Base(huge): strings.Replace(string(data), `"shards":1`, `"shards":`+n, 1)})
		t0 := time.Now()
		code, _, stderr := runCLI(t, "merge", huge)
		if code != exitUsage || !strings.Contains(stderr, "a shard of a run split into "+n+" parts; a run is split into at most 4096") || time.Since(t0) > 5*time.Second {
			t.Errorf("merge of a shard of %s: exit %d after %v, %q", n, code, time.Since(t0), stderr)
		}
	}
}

// TestBitstateMemory: a bitstate table larger than the memory available
// is refused before the run, naming the largest that fits (the sweep:
// --bitstate 38 died with "fatal error: runtime: out of memory").
func TestBitstateMemory(t *testing.T) {
	saved := memAvailable
	defer func() { memAvailable = saved }()
	memAvailable = func() (int64, bool) { return 1 << 30, true }
	code, _, stderr := runCLI(t, append([]string{"explore", "--bitstate", "34"}, smallRun...)...)
	if code != exitUsage || !strings.Contains(stderr, "--bitstate 34: a table of 2^34 bits takes 2 GiB, more than the memory available, 1 GiB (the largest that fits is --bitstate 33, 1 GiB)") {
		t.Errorf("exit %d, %q", code, stderr)
	}
	if code, _, stderr := runCLI(t, append([]string{"explore", "--bitstate", "20"}, smallRun...)...); code != exitOK {
		t.Errorf("--bitstate 20: exit %d, %q", code, stderr)
	}
	if n, ok := parseMemAvailable("MemTotal:       24683784 kB\nMemFree: 1 kB\nMemAvailable:   24004884 kB\n"); !ok || n != 24004884<<10 {
		t.Errorf("parseMemAvailable: %d %v", n, ok)
	}
	if _, ok := parseMemAvailable("MemTotal: 1 kB\n"); ok {
		t.Error("parseMemAvailable found MemAvailable where there is none")
	}
}

// TestEndlessInputs: a file that never ends is refused at a limit the
// message names (the sweep: --config /dev/zero and trace /dev/zero read
// until the memory ran out).
func TestEndlessInputs(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"explore", "--config", "/dev/zero"}, "--config /dev/zero: is larger than 4 MiB, the most a configuration file may be"},
		{[]string{"browse", "--config", "/dev/zero"}, "--config /dev/zero: is larger than 4 MiB"},
		{[]string{"trace", "/dev/zero"}, "/dev/zero: larger than 256 MiB, the most trace reads"},
	} {
		t0 := time.Now()
		code, _, stderr := runCLI(t, c.args...)
		if code != exitUsage || !strings.Contains(stderr, c.want) || time.Since(t0) > 20*time.Second {
			t.Errorf("%v: exit %d after %v, %q", c.args, code, time.Since(t0), stderr)
		}
	}
}

// writePcapFrames writes a pcap (raw IP) of the given frames, each cut to
// snap octets.
func writePcapFrames(t *testing.T, path string, snap int, frames ...[]byte) {
	t.Helper()
	b := binary.LittleEndian.AppendUint32(nil, 0xa1b2c3d4)
	b = binary.LittleEndian.AppendUint16(b, 2)
	b = binary.LittleEndian.AppendUint16(b, 4)
	b = binary.LittleEndian.AppendUint64(b, 0)
	b = binary.LittleEndian.AppendUint32(b, uint32(snap))
	b = binary.LittleEndian.AppendUint32(b, 101) // LINKTYPE_RAW
	for _, f := range frames {
		cut := f[:min(len(f), snap)]
		b = binary.LittleEndian.AppendUint32(b, 1700000000)
		b = binary.LittleEndian.AppendUint32(b, 0)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(cut)))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(f)))
		b = append(b, cut...)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// udpFrame and synFrame are an IPv4 UDP datagram and an IPv4 TCP SYN.
var (
	udpFrame = []byte{0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2, 0x03, 0xe8, 0, 53, 0, 8, 0, 0}
	synFrame = []byte{0x45, 0, 0, 40, 0, 0, 0, 0, 64, 6, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2,
		0x9c, 0x40, 0, 80, 0, 0, 0, 100, 0, 0, 0, 0, 0x50, 0x02, 0x03, 0xe8, 0, 0, 0, 0}
)

// TestCaptureWithNothingToCheck: a capture that yields no connection is
// exit 2 with the reason, not a pass (the sweep: conform --pcap exited 0
// when every frame was skipped).
func TestCaptureWithNothingToCheck(t *testing.T) {
	dir := t.TempDir()
	empty, notTCP, cut := filepath.Join(dir, "empty.pcap"), filepath.Join(dir, "udp.pcap"), filepath.Join(dir, "cut.pcap")
	writePcapFrames(t, empty, 65535)
	writePcapFrames(t, notTCP, 65535, udpFrame, udpFrame)
	writePcapFrames(t, cut, 30, synFrame, synFrame, synFrame)
	for _, c := range []struct {
		file, want string
	}{
		{empty, "holds no packets (its header and nothing after it): nothing was checked"},
		{notTCP, "no connection could be checked: none of its 2 frames is a TCP segment the reader can use: 2 not TCP"},
		{cut, "none of its 3 frames is a TCP segment the reader can use: 3 cut by the snap length (capture again with tcpdump -s 0)"},
	} {
		for _, json := range []bool{false, true} {
			args := []string{"conform", "--pcap", c.file}
			if json {
				args = append(args, "--json")
			}
			code, stdout, stderr := runCLI(t, args...)
			if code != exitUsage || !strings.Contains(stderr, c.want) || json && !strings.Contains(stdout, `"connections": 0`) {
				t.Errorf("%v: exit %d, stdout %q, stderr %q; want %q", args, code, stdout, stderr, c.want)
			}
		}
		code, _, stderr := runCLI(t, "trace", "--pcap", c.file)
		if want := strings.ReplaceAll(c.want, "checked", "printed"); code != exitUsage || !strings.Contains(stderr, want) {
			t.Errorf("trace --pcap %s: exit %d, %q; want %q", c.file, code, stderr, want)
		}
	}
}
