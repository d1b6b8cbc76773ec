package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tcpcheck/tcpcheck/impl"
	"github.com/tcpcheck/tcpcheck/spec"
)

// buildTcpcheck builds the command once per test binary (into a
// directory TestMain removes): listen and dial run as two processes, as a
// user would run them.
func buildTcpcheck(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		built.bin = filepath.Join(testDir, "tcpcheck")
		out, err := exec.Command("go", "build", "-o", built.bin, ".").CombinedOutput()
		if err != nil {
			built.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.bin
}

var built struct {
	once sync.Once
	bin  string
	err  error
}

type proc struct {
	cmd    *exec.Cmd
	stdout bytes.Buffer
	stderr bytes.Buffer
	mu     sync.Mutex
}

func randomFile(t *testing.T, seed uint64, n int) (string, [32]byte) {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := 0; i+8 <= n; i += 8 {
		binary.LittleEndian.PutUint64(b[i:], r.Uint64())
	}
	p := filepath.Join(t.TempDir(), "in.bin")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p, sha256.Sum256(b)
}

// TestListenDialTransfer runs listen and dial as two processes over the
// udp link on loopback, 2 MB each way at once, with loss, duplication and
// reordering on both sides, and checks the bytes, the exit codes, and the
// -v trace: the handshake, and a close in which the side that closed first
// passes TIME-WAIT. (The same with 100 MB: see the README of impl.)
func TestListenDialTransfer(t *testing.T) {
	bin := buildTcpcheck(t)
	const size = 2 << 20
	inL, sumL := randomFile(t, 1, size)
	inD, sumD := randomFile(t, 2, size)
	faults := []string{"-v", "--loss", "0.05", "--dup", "0.02", "--reorder", "0.05", "--msl", "250ms", "--rto-min", "50ms"}

	listen := exec.Command(bin, append(append([]string{"listen"}, faults...), "127.0.0.1:0")...)
	fL, _ := os.Open(inL)
	defer fL.Close()
	listen.Stdin = fL
	var outL bytes.Buffer
	listen.Stdout = &outL
	errPipe, err := listen.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := listen.Start(); err != nil {
		t.Fatal(err)
	}
	defer listen.Process.Kill()
	errR := bufio.NewReader(errPipe)
	first, err := errR.ReadString('\n')
	if err != nil || !strings.HasPrefix(first, "listening on ") {
		t.Fatalf("listen's first line %q, %v", first, err)
	}
	addr := strings.Fields(first)[2]
	var errL bytes.Buffer
	copied := make(chan struct{})
	go func() { io.Copy(&errL, errR); close(copied) }()

	pcap := filepath.Join(t.TempDir(), "dial.pcap")
	traceFile := filepath.Join(t.TempDir(), "dial.trace")
	dial := exec.Command(bin, append(append([]string{"dial", "--pcap", pcap, "--trace", traceFile}, faults...), addr)...)
	fD, _ := os.Open(inD)
	defer fD.Close()
	dial.Stdin = fD
	var outD, errD bytes.Buffer
	dial.Stdout, dial.Stderr = &outD, &errD
	timer := time.AfterFunc(2*time.Minute, func() { listen.Process.Kill(); dial.Process.Kill() })
	defer timer.Stop()
	dialErr := dial.Run()
	<-copied
	listenErr := listen.Wait()
	if dialErr != nil || listenErr != nil {
		t.Fatalf("dial: %v\n%s\nlisten: %v\n%s", dialErr, tail(errD.String()), listenErr, tail(errL.String()))
	}
	if sha256.Sum256(outD.Bytes()) != sumL || sha256.Sum256(outL.Bytes()) != sumD {
		t.Fatalf("dial received %d bytes, listen %d; SHA-256 differs from what the other side sent", outD.Len(), outL.Len())
	}

	// The dialer's trace of the whole lossy transfer conforms to the table.
	if code, out, stderr := runCLI(t, "conform", "--trace", traceFile, "--msl", "250ms"); code != exitOK || !strings.Contains(out, "every one allowed by the table") {
		t.Errorf("conform --trace: exit %d\n%s%s", code, out, stderr)
	}
	// A trace whose first transition went somewhere the table does not
	// send it is caught.
	if lines, err := os.ReadFile(traceFile); err == nil {
		first, rest, _ := bytes.Cut(lines, []byte("\n"))
		var tr impl.Transition
		if err := json.Unmarshal(first, &tr); err != nil {
			t.Fatalf("first line of the trace: %v", err)
		}
		tr.To = spec.TimeWait
		bad, _ := json.Marshal(tr)
		tampered := filepath.Join(t.TempDir(), "tampered.trace")
		if err := os.WriteFile(tampered, append(append(bad, '\n'), rest...), 0o644); err != nil {
			t.Fatal(err)
		}
		if code, out, stderr := runCLI(t, "conform", "--trace", tampered); code != exitViolated {
			t.Errorf("conform --trace on a tampered trace: exit %d, want %d\n%s%s", code, exitViolated, out, stderr)
		}
	}
	if b, err := os.ReadFile(pcap); err != nil || len(b) < 24+1000*40 || binary.LittleEndian.Uint32(b) != 0xa1b2c3d4 {
		t.Errorf("--pcap wrote %d bytes (%v), want a pcap file with the exchange", len(b), err)
	}

	vD, vL := errD.String(), errL.String()
	for _, want := range []string{"CLOSED --ACTIVE-OPEN--> SYN-SENT", "--> SYN seq=", "SYN-SENT --rcv SYN,ACK--> ESTABLISHED"} {
		if !strings.Contains(vD, want) {
			t.Errorf("dial -v lacks %q", want)
		}
	}
	for _, want := range []string{"LISTEN --rcv SYN--> SYN-RECEIVED", "--> SYN,ACK seq=", "SYN-RECEIVED --rcv"} {
		if !strings.Contains(vL, want) {
			t.Errorf("listen -v lacks %q", want)
		}
	}
	activeD := strings.Contains(vD, "ESTABLISHED --CLOSE--> FIN-WAIT-1")
	activeL := strings.Contains(vL, "ESTABLISHED --CLOSE--> FIN-WAIT-1")
	if !activeD && !activeL {
		t.Fatal("neither side closed from ESTABLISHED")
	}
	for _, side := range []struct {
		name   string
		v      string
		active bool
	}{{"dial", vD, activeD}, {"listen", vL, activeL}} {
		if side.active {
			// The side that closed first: FIN-WAIT-1, then TIME-WAIT for 2MSL.
			if !strings.Contains(side.v, "--> TIME-WAIT") || !strings.Contains(side.v, "TIME-WAIT --2MSL--> CLOSED") {
				t.Errorf("%s closed first but its -v shows no TIME-WAIT ending in CLOSED", side.name)
			}
			continue
		}
		// The side that closed second: CLOSE-WAIT, LAST-ACK, CLOSED, no TIME-WAIT.
		for _, want := range []string{"--rcv FIN--> CLOSE-WAIT", "CLOSE-WAIT --CLOSE--> LAST-ACK", "LAST-ACK --rcv ACK--> CLOSED"} {
			if !strings.Contains(side.v, want) {
				t.Errorf("%s closed second but its -v lacks %q", side.name, want)
			}
		}
		if strings.Contains(side.v, "TIME-WAIT") {
			t.Errorf("%s closed second but entered TIME-WAIT", side.name)
		}
	}
	if strings.Count(vD, "\n")+strings.Count(vL, "\n") < 1000 {
		t.Errorf("-v printed too little for a 2 MB exchange")
	}
}

func tail(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-15):], "\n")
}

func TestEndpointUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"listen"},
		{"dial"},
		{"dial", "a", "b"},
		{"listen", "--loss", "2", "127.0.0.1:0"},
		{"listen", "--link", "tun", "127.0.0.1:0"},
		{"dial", "--msl", "0s", "127.0.0.1:9"},
		{"listen", "0.0.0.0:0"},
		{"dial", "nohost"},
	} {
		code, _, stderr := runCLI(t, args...)
		if code != exitUsage || !strings.Contains(stderr, "tcpcheck "+args[0]+":") {
			t.Errorf("%v: code %d, stderr %q", args, code, stderr)
		}
	}
}

// TestListenDialPcapOfAShortSession: a session of a few segments (far
// less than the pcap writer's buffer) still leaves both captures whole
// (issue 22: listen and dial --pcap wrote 0 bytes and exited 0).
func TestListenDialPcapOfAShortSession(t *testing.T) {
	bin := buildTcpcheck(t)
	dir := t.TempDir()
	pcapL, pcapD := filepath.Join(dir, "listen.pcap"), filepath.Join(dir, "dial.pcap")
	fast := []string{"--msl", "50ms", "--rto-min", "20ms"}
	listen := exec.Command(bin, append(append([]string{"listen", "--pcap", pcapL}, fast...), "127.0.0.1:0")...)
	listen.Stdin = strings.NewReader("from listen\n")
	var outL bytes.Buffer
	listen.Stdout = &outL
	errPipe, err := listen.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := listen.Start(); err != nil {
		t.Fatal(err)
	}
	defer listen.Process.Kill()
	errR := bufio.NewReader(errPipe)
	first, err := errR.ReadString('\n')
	if err != nil || !strings.HasPrefix(first, "listening on ") || !strings.Contains(first, "tcpcheck dial ") {
		t.Fatalf("listen's first line %q, %v: want the address and the dial command", first, err)
	}
	addr := strings.Fields(first)[2]
	go io.Copy(io.Discard, errR)
	dial := exec.Command(bin, append(append([]string{"dial", "--pcap", pcapD}, fast...), addr)...)
	dial.Stdin = strings.NewReader("from dial\n")
	timer := time.AfterFunc(30*time.Second, func() { listen.Process.Kill(); dial.Process.Kill() })
	defer timer.Stop()
	outD, err := dial.CombinedOutput()
	if err != nil {
		t.Fatalf("dial: %v\n%s", err, outD)
	}
	if err := listen.Wait(); err != nil {
		t.Fatalf("listen: %v", err)
	}
	if !strings.Contains(string(outD), "from listen") || outL.String() != "from dial\n" {
		t.Fatalf("dial printed %q, listen %q", outD, outL.String())
	}
	for _, p := range []string{pcapL, pcapD} {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		// The global header, then at least the handshake, two data
		// segments and the four segments of the close.
		if n := pcapRecords(t, b); n < 8 {
			t.Errorf("%s: %d bytes, %d segments; want the whole short session (8 or more)", filepath.Base(p), len(b), n)
		}
	}
}

// pcapRecords counts the records of a little-endian pcap file.
func pcapRecords(t *testing.T, b []byte) int {
	t.Helper()
	if len(b) < 24 || binary.LittleEndian.Uint32(b) != 0xa1b2c3d4 {
		t.Fatalf("not a pcap file: %d bytes", len(b))
	}
	n := 0
	for off := 24; off+16 <= len(b); n++ {
		off += 16 + int(binary.LittleEndian.Uint32(b[off+8:]))
	}
	return n
}

// timedWriter records when each line was written, from its creation.
type timedWriter struct {
	mu    sync.Mutex
	start time.Time
	buf   bytes.Buffer
	at    []time.Duration
	lines []string
}

func (w *timedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	for {
		line, err := w.buf.ReadString('\n')
		if err != nil {
			w.buf.WriteString(line) // keep the partial line
			break
		}
		w.at = append(w.at, time.Since(w.start))
		w.lines = append(w.lines, line)
	}
	return len(p), nil
}

// freeUDPPort returns a loopback UDP address nobody listens on.
func freeUDPPort(t *testing.T) string {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := c.LocalAddr().String()
	c.Close()
	return addr
}

// TestDialNobodyListening: dial to a port where nobody listens prints a
// progress line within 3 s and ends with an error naming the address and
// the SYNs sent (issue 22: silent for 123 s, then "context deadline
// exceeded" or "retransmissions exhausted").
func TestDialNobodyListening(t *testing.T) {
	addr := freeUDPPort(t)
	w := &timedWriter{start: time.Now()}
	var out bytes.Buffer
	code := run([]string{"dial", "-v", "--timeout", "3500ms", addr}, &out, w)
	if code != exitUsage {
		t.Fatalf("exit %d, want %d", code, exitUsage)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	progress := -1
	for i, l := range w.lines {
		if strings.Contains(l, "no answer from "+addr+", SYN retransmitted 1 time, giving up in ") {
			progress = i
			break
		}
	}
	if progress < 0 || w.at[progress] > 3*time.Second {
		t.Fatalf("no progress line within 3 s; lines %q at %v", w.lines, w.at)
	}
	// -v lines as they happen, not when dial ends.
	for i, l := range w.lines {
		if strings.Contains(l, "CLOSED --ACTIVE-OPEN--> SYN-SENT") {
			if w.at[i] > time.Second {
				t.Errorf("-v printed the ACTIVE-OPEN %v after the start", w.at[i])
			}
			break
		}
		if i == len(w.lines)-1 {
			t.Errorf("-v printed no ACTIVE-OPEN: %q", w.lines)
		}
	}
	last := w.lines[len(w.lines)-1]
	for _, want := range []string{"no answer from " + addr + " to 3 SYNs over 3.5 s", "--timeout 3.5s expired while connecting", "is anything listening?"} {
		if !strings.Contains(last, want) {
			t.Errorf("final error %q lacks %q", last, want)
		}
	}
	if strings.Contains(last, "deadline exceeded") {
		t.Errorf("final error %q speaks of a context", last)
	}
}

// TestDialGiveUpEstimate: the SYN schedule dial reports is impl's: seven
// SYNs 1, 2, 4, ... s apart, capped at 60 s, 123 s in all.
func TestDialGiveUpEstimate(t *testing.T) {
	var f endpointFlags
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	f.register(fs)
	e, err := newEndpoint(f, "127.0.0.1:0", io.Discard, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer e.close()
	if got := e.synGiveUp(); got != 123*time.Second {
		t.Fatalf("give up after %v, want 123s", got)
	}
	// When the retries run out (no --timeout), the error says how many
	// SYNs went unanswered over how long, not what the stack calls it.
	e.dial = dialProgress{enabled: true, addr: "127.0.0.1:9998", first: time.Now().Add(-123 * time.Second), syns: 7}
	err = e.dialError("127.0.0.1:9998", errors.New("impl: connection aborted due to user timeout or retransmissions exhausted"))
	if want := "no answer from 127.0.0.1:9998 to 7 SYNs over 123 s: is anything listening?"; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error %v, want %q", err, want)
	}
}
