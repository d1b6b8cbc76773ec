package main

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/tcpcheck/tcpcheck/impl/wire"
	"github.com/tcpcheck/tcpcheck/spec"
)

// The capture part: 'tcpcheck conform --pcap' against tcptrace -n and
// tshark -q -z conv,tcp on one synthetic capture of at least 1 GB and
// 10,000 connections (issue 18, must-show 3).

// captureSpec sizes the synthetic capture.
type captureSpec struct {
	Conns    int // connections
	Parallel int // connections open at once (their segments interleave)
	Reply    int // octets each server sends
}

// writeBenchCapture writes a pcap (raw IPv4) of spec.Conns HTTP-like
// connections, Parallel of them interleaved at a time: handshake, a
// request, a reply in segments of mixed sizes (64 to 1448 octets, an ACK
// every two), a close from the client. Returns the number of segments.
func writeBenchCapture(path string, cs captureSpec) (int, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	w, err := wire.NewPcapWriter(bw)
	if err != nil {
		return 0, err
	}
	payload := make([]byte, 1448)
	for i := range payload {
		payload[i] = byte(i * 7)
	}
	type conn struct {
		cli, srv       netip.AddrPort
		cliSYN, srvSYN spec.Seq // the sequence numbers of the two SYNs
		step, sent     int
		size           int
	}
	t := time.Unix(1700000000, 0)
	segs := 0
	emit := func(fromCli bool, c *conn, seq, ack spec.Seq, fl spec.Flags, n int) error {
		src, dst := c.cli, c.srv
		if !fromCli {
			src, dst = c.srv, c.cli
		}
		h := wire.Header{SrcPort: src.Port(), DstPort: dst.Port(), Seq: seq, Ack: ack, Flags: fl, Window: 65535}
		if fl.Has(spec.SYN) {
			h.MSS = 1460
		}
		t = t.Add(20 * time.Microsecond)
		segs++
		return w.WriteSegment(t, src, dst, h, payload[:n])
	}
	rnd := uint32(12345)
	next := func() uint32 { rnd = rnd*1664525 + 1013904223; return rnd >> 8 }
	open := make([]*conn, 0, cs.Parallel)
	made := 0
	newConn := func() *conn {
		made++
		a := netip.AddrFrom4([4]byte{192, 0, 2, byte(1 + made%200)})
		return &conn{cli: netip.AddrPortFrom(a, uint16(10000+made/200)), srv: netip.MustParseAddrPort("192.0.2.250:80"),
			cliSYN: spec.Seq(next()), srvSYN: spec.Seq(next()), size: cs.Reply}
	}
	const req = 120
	for made < cs.Conns || len(open) > 0 {
		for len(open) < cs.Parallel && made < cs.Conns {
			open = append(open, newConn())
		}
		for i := 0; i < len(open); i++ {
			c := open[i]
			var err error
			cseq, sseq := c.cliSYN+1+req, c.srvSYN+1+spec.Seq(c.sent)
			switch {
			case c.step == 0:
				err = emit(true, c, c.cliSYN, 0, spec.SYN, 0)
			case c.step == 1:
				err = emit(false, c, c.srvSYN, c.cliSYN+1, spec.SYN|spec.ACK, 0)
			case c.step == 2:
				err = emit(true, c, c.cliSYN+1, c.srvSYN+1, spec.ACK|spec.PSH, req)
			case c.sent < c.size:
				// Two segments of mixed sizes, then the client's ACK.
				for k := 0; k < 2 && c.sent < c.size && err == nil; k++ {
					n := min(64+int(next()%1385), c.size-c.sent)
					err = emit(false, c, c.srvSYN+1+spec.Seq(c.sent), cseq, spec.ACK, n)
					c.sent += n
				}
				if err == nil {
					err = emit(true, c, cseq, c.srvSYN+1+spec.Seq(c.sent), spec.ACK, 0)
				}
				c.step--
			case c.step >= 3:
				err = emit(true, c, cseq, sseq, spec.FIN|spec.ACK, 0)
				if err == nil {
					err = emit(false, c, sseq, cseq+1, spec.FIN|spec.ACK, 0)
				}
				if err == nil {
					err = emit(true, c, cseq+1, sseq+1, spec.ACK, 0)
				}
				open[i] = open[len(open)-1]
				open = open[:len(open)-1]
				i--
			}
			if err != nil {
				return segs, err
			}
			c.step++
		}
	}
	if err := bw.Flush(); err != nil {
		return segs, err
	}
	return segs, f.Close()
}

// toolRun is one tool's run over the capture.
type toolRun struct {
	Name    string
	Wall    time.Duration
	CPU     time.Duration // user and system
	PeakRSS int64         // bytes
	Out     string
}

func runTool(name string, args ...string) (toolRun, error) {
	cmd := exec.Command(name, args...)
	var out limitedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	r := toolRun{Name: filepath.Base(name), Wall: time.Since(start), Out: out.String()}
	if ps := cmd.ProcessState; ps != nil {
		if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
			r.PeakRSS = ru.Maxrss * 1024
			r.CPU = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		}
	}
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 1 && r.Name == "tcpcheck" {
			return r, fmt.Errorf("tcpcheck found a connection that does not conform:\n%s", out.String())
		}
		return r, fmt.Errorf("%s: %v\n%s", name, err, out.String())
	}
	return r, nil
}

// limitedBuffer keeps the last 4 KiB written.
type limitedBuffer struct{ b []byte }

func (l *limitedBuffer) Write(p []byte) (int, error) {
	l.b = append(l.b, p...)
	if len(l.b) > 4096 {
		l.b = append(l.b[:0], l.b[len(l.b)-4096:]...)
	}
	return len(p), nil
}
func (l *limitedBuffer) String() string { return string(l.b) }

// runCaptureIn is 'go run ./bench -parts capture [-quick] [-work DIR]': it
// builds the capture in DIR (a temporary directory, removed after, by
// default), runs the three tools on it, and prints a Markdown table.
func runCaptureIn(work string, quick bool, stdout, stderr io.Writer) int {
	dir := work
	if dir == "" {
		d, err := os.MkdirTemp("", "tcpcheck-bench-capture-")
		if err != nil {
			fmt.Fprintln(stderr, "bench:", err)
			return 2
		}
		defer os.RemoveAll(d)
		dir = d
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 2
	}
	return runCapture(quick, dir, stdout, stderr)
}

func runCapture(quick bool, dir string, stdout, stderr io.Writer) int {
	cs := captureSpec{Conns: 12000, Parallel: 200, Reply: 90000}
	if quick {
		cs = captureSpec{Conns: 1000, Parallel: 50, Reply: 20000}
	}
	fail := func(err error) int { fmt.Fprintln(stderr, "bench: capture:", err); return 2 }
	for _, tool := range []string{"tcptrace", "tshark"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fail(fmt.Errorf("%s not found: apt-get install tcptrace tshark", tool))
		}
	}
	bin := filepath.Join(dir, "tcpcheck")
	if out, err := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", bin, "./cmd/tcpcheck").CombinedOutput(); err != nil {
		return fail(fmt.Errorf("go build: %v\n%s", err, out))
	}
	pcap := filepath.Join(dir, "bench.pcap")
	start := time.Now()
	segs, err := writeBenchCapture(pcap, cs)
	if err != nil {
		return fail(err)
	}
	st, err := os.Stat(pcap)
	if err != nil {
		return fail(err)
	}
	fmt.Fprintf(stderr, "bench: capture: wrote %s: %d MB, %d connections, %d segments in %v\n", pcap, st.Size()>>20, cs.Conns, segs, time.Since(start).Round(time.Millisecond))
	// Read the file once so that every tool finds it in the page cache.
	if f, err := os.Open(pcap); err == nil {
		io.Copy(io.Discard, f)
		f.Close()
	}
	// Each tool runs three times, in turn; the fastest run of each counts
	// (the machine may be shared: the fastest run is the least disturbed).
	loadStart := loadAverage()
	var ours, tt, ts toolRun
	for round := 0; round < 3; round++ {
		for _, t := range []struct {
			best *toolRun
			name string
			args []string
		}{
			{&ours, bin, []string{"conform", "--pcap", pcap}},
			{&tt, "tcptrace", []string{"-n", pcap}},
			{&ts, "tshark", []string{"-q", "-z", "conv,tcp", "-r", pcap}},
		} {
			r, err := runTool(t.name, t.args...)
			if err != nil {
				return fail(err)
			}
			if round == 0 || r.Wall < t.best.Wall {
				*t.best = r
			}
		}
	}
	fmt.Fprintf(stdout, "capture: %d MB, %d connections (%d open at once), %d segments of 64 to 1448 octets; %d CPUs; fastest of three runs each; load average %s at the start, %s at the end\n\n",
		st.Size()>>20, cs.Conns, cs.Parallel, segs, runtime.NumCPU(), loadStart, loadAverage())
	fmt.Fprintf(stdout, "| tool | wall | CPU (user+sys) | peak RSS | wall / tcpcheck |\n|---|---:|---:|---:|---:|\n")
	for _, r := range []toolRun{ours, tt, ts} {
		fmt.Fprintf(stdout, "| %s | %.2f s | %.2f s | %d MiB | %.2fx |\n", r.Name, r.Wall.Seconds(), r.CPU.Seconds(), r.PeakRSS>>20, r.Wall.Seconds()/ours.Wall.Seconds())
	}
	fmt.Fprintf(stdout, "\ntcpcheck / tcptrace = %.2f (target <= 1.5); tshark / tcpcheck = %.1f (target >= 10); tcpcheck peak RSS %d MiB (target < 256)\n",
		ours.Wall.Seconds()/tt.Wall.Seconds(), ts.Wall.Seconds()/ours.Wall.Seconds(), ours.PeakRSS>>20)
	return 0
}

// loadAverage is the machine's load average over the last minute, from
// /proc/loadavg ("?" where there is none): the tools share the machine
// with whatever else runs, and the figures mean little without it.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) > 0 {
		return f[0]
	}
	return "?"
}
