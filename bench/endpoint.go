package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tcpcheck/tcpcheck/impl"
)

// endpointReport is the endpoint (package impl over the udp link) against
// the Linux kernel's TCP on loopback, measured in one process by the same
// harness, ours and the kernel's runs alternating (issue 8). It is
// JSON-serialisable: results.json keeps it and -from renders it again.
type endpointReport struct {
	Quick   bool
	Machine []string // CPU, cores, GOMAXPROCS, kernel, Go, load average at the start
	Rounds  int      // rounds; each runs every figure once for us and once for the kernel

	CycleSeconds float64 // length of one handshake+close run
	Pings        int     // round trips timed per latency run (after EPWarmup untimed ones)
	MsgSize      int     // octets of the request and of the reply
	BulkSeconds  float64 // length of one bulk run (the writer stops, then the reader drains)
	BulkChunk    int     // octets per Write in the bulk runs

	CycleOptions string // our stack's options for the handshake and latency runs
	BulkOptions  string // and for the bulk runs

	Conc1, Conc4 epPair    // handshake+close cycles per second
	P50, P99     epPair    // request/response round trip, microseconds
	UDPP50       []float64 // raw UDP round trip, microseconds, per round
	UDPP99       []float64
	Goodput      epPair // bulk goodput, octets per second
	Retransmits  uint64 // segments our bulk senders retransmitted, all rounds
	Seconds      float64
}

// epPair holds one figure per round for us and for the kernel.
type epPair struct {
	Ours, Linux []float64
}

func (p epPair) ours() float64  { return epMedian(p.Ours) }
func (p epPair) linux() float64 { return epMedian(p.Linux) }

// ratio is ours over the kernel's (medians).
func (p epPair) ratio() float64 { return p.ours() / p.linux() }

// epWarmup round trips precede the timed ones of a latency run.
const epWarmup = 200

// epTimeout bounds every single operation of the harness (a dial, a
// round trip, a whole bulk run's drain): a stuck run fails, never hangs.
const epTimeout = 20 * time.Second

func epMedian(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// epPercentile is the p-th percentile (0 < p <= 100) of sorted xs, the
// nearest-rank definition.
func epPercentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// epNet is what the harness needs of a TCP: a listener and a dialer, made
// afresh for every run and closed after it.
type epNet struct {
	listener net.Listener
	addr     string
	dial     func(ctx context.Context, addr string) (net.Conn, error)
	retx     func() uint64 // segments the client side retransmitted; nil for the kernel
	close    func()
}

// epCycleOptions are our stack's options for the handshake and latency
// runs: the defaults (MSS 1400, 64 KiB window, MSL 2 min) and a backlog
// as deep as the kernel's default somaxconn.
func epCycleOptions() impl.Options { return impl.Options{Backlog: 4096} }

// epBulkOptions are those of the bulk runs: segments as large as one UDP
// datagram carries (the kernel's loopback MSS is about as large) and
// window-scaled buffers of the size the kernel autotunes loopback to.
func epBulkOptions() impl.Options {
	return impl.Options{MSS: 65495, RecvBuffer: 4 << 20, SendBuffer: 4 << 20}
}

func epDescribe(o impl.Options) string {
	if o.MSS == 0 && o.RecvBuffer == 0 && o.SendBuffer == 0 {
		return fmt.Sprintf("impl.Options{Backlog: %d}, the rest default (MSS 1400, receive buffer 65535, send buffer 256 KiB, MSL 2 min)", o.Backlog)
	}
	return fmt.Sprintf("impl.Options{MSS: %d (the stack lowers it to 65487, what one UDP datagram carries), RecvBuffer: %d MiB, SendBuffer: %d MiB} (window scaling), the rest default",
		o.MSS, o.RecvBuffer>>20, o.SendBuffer>>20)
}

// epOurNet is two stacks, a server and a client, each on its own udp link
// on 127.0.0.1.
func epOurNet(opt impl.Options) (*epNet, error) {
	var stacks []*impl.Stack
	closeAll := func() {
		for _, s := range stacks {
			s.Close()
		}
	}
	for range 2 {
		l, err := impl.NewUDPLink("127.0.0.1:0", impl.Faults{}, 1)
		if err != nil {
			closeAll()
			return nil, err
		}
		s, err := impl.NewStack(l, opt)
		if err != nil {
			l.Close()
			closeAll()
			return nil, err
		}
		stacks = append(stacks, s)
	}
	srv, cli := stacks[0], stacks[1]
	ln, err := srv.Listen(srv.Addr().String())
	if err != nil {
		closeAll()
		return nil, err
	}
	return &epNet{listener: ln, addr: srv.Addr().String(),
		dial:  func(ctx context.Context, addr string) (net.Conn, error) { return cli.Dial(ctx, addr) },
		retx:  func() uint64 { return cli.Stats().Retransmits },
		close: func() { ln.Close(); closeAll() }}, nil
}

// epLinuxNet is the kernel's TCP on 127.0.0.1 through package net.
func epLinuxNet() (*epNet, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	return &epNet{listener: ln, addr: ln.Addr().String(), dial: func(ctx context.Context, addr string) (net.Conn, error) {
		return d.DialContext(ctx, "tcp", addr)
	}, close: func() { ln.Close() }}, nil
}

// epCycles runs handshake+close cycles for d with conc clients: dial (the
// three-way handshake), the server closes at once, the client reads EOF
// and closes (the four-way close, TIME-WAIT on the server side). It
// returns cycles per second.
func epCycles(n *epNet, conc int, d time.Duration) (float64, error) {
	var srv sync.WaitGroup
	srv.Go(func() {
		for {
			c, err := n.listener.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	})
	defer srv.Wait()
	defer n.listener.Close()
	var count atomic.Int64
	var firstErr error
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	stop := start.Add(d)
	for range conc {
		wg.Go(func() {
			buf := make([]byte, 1)
			for time.Now().Before(stop) {
				ctx, cancel := context.WithTimeout(context.Background(), epTimeout)
				c, err := n.dial(ctx, n.addr)
				cancel()
				if err == nil {
					c.SetReadDeadline(time.Now().Add(epTimeout))
					if _, rerr := c.Read(buf); rerr != io.EOF {
						err = fmt.Errorf("read: %v, want EOF", rerr)
					}
					c.Close()
				}
				if err != nil {
					mu.Lock()
					firstErr = epFirstErr(firstErr, err)
					mu.Unlock()
					return
				}
				count.Add(1)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if firstErr != nil {
		return 0, firstErr
	}
	return float64(count.Load()) / elapsed.Seconds(), nil
}

func epFirstErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// epPingPong times pings request/response round trips of size octets
// each way over one established connection (the server reads the whole
// request, then writes the reply) and returns them in microseconds,
// sorted.
func epPingPong(n *epNet, pings, size int) ([]float64, error) {
	srvErr := make(chan error, 1)
	go func() {
		c, err := n.listener.Accept()
		if err != nil {
			srvErr <- err
			return
		}
		defer c.Close()
		buf := make([]byte, size)
		for {
			if _, err := io.ReadFull(c, buf); err != nil {
				if err == io.EOF {
					err = nil
				}
				srvErr <- err
				return
			}
			if _, err := c.Write(buf); err != nil {
				srvErr <- err
				return
			}
		}
	}()
	defer n.listener.Close()
	ctx, cancel := context.WithTimeout(context.Background(), epTimeout)
	defer cancel()
	c, err := n.dial(ctx, n.addr)
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(epTimeout))
	req, resp := make([]byte, size), make([]byte, size)
	for i := range req {
		req[i] = byte(i)
	}
	rtts := make([]float64, 0, pings)
	for i := range epWarmup + pings {
		t0 := time.Now()
		if _, err := c.Write(req); err != nil {
			c.Close()
			return nil, err
		}
		if _, err := io.ReadFull(c, resp); err != nil {
			c.Close()
			return nil, err
		}
		if i >= epWarmup {
			rtts = append(rtts, float64(time.Since(t0).Nanoseconds())/1e3)
		}
		if resp[size-1] != req[size-1] {
			c.Close()
			return nil, errors.New("the reply is not the request echoed")
		}
	}
	c.(interface{ CloseWrite() error }).CloseWrite()
	if err := <-srvErr; err != nil {
		c.Close()
		return nil, fmt.Errorf("server: %v", err)
	}
	c.Close()
	slices.Sort(rtts)
	return rtts, nil
}

// epUDPPingPong is the floor: the same round trips as raw datagrams
// between two UDP sockets on 127.0.0.1, one goroutine echoing.
func epUDPPingPong(pings, size int) ([]float64, error) {
	a, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:0")))
	if err != nil {
		return nil, err
	}
	defer a.Close()
	b, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:0")))
	if err != nil {
		return nil, err
	}
	go func() {
		buf := make([]byte, 65536)
		for {
			n, from, err := b.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			b.WriteToUDPAddrPort(buf[:n], from)
		}
	}()
	defer b.Close()
	to := b.LocalAddr().(*net.UDPAddr).AddrPort()
	a.SetDeadline(time.Now().Add(epTimeout))
	req, resp := make([]byte, size), make([]byte, 65536)
	rtts := make([]float64, 0, pings)
	for i := range epWarmup + pings {
		t0 := time.Now()
		if _, err := a.WriteToUDPAddrPort(req, to); err != nil {
			return nil, err
		}
		n, _, err := a.ReadFromUDPAddrPort(resp)
		if err != nil {
			return nil, fmt.Errorf("raw UDP round trip: %v (a datagram lost?)", err)
		}
		if n != size {
			return nil, fmt.Errorf("raw UDP reply of %d octets, want %d", n, size)
		}
		if i >= epWarmup {
			rtts = append(rtts, float64(time.Since(t0).Nanoseconds())/1e3)
		}
	}
	slices.Sort(rtts)
	return rtts, nil
}

// epBulk writes chunk-octet Writes on one connection for d, then
// half-closes; the server reads and discards until EOF. It returns the
// goodput in octets per second: what the server read over the time from
// the first Write to the server's EOF.
func epBulk(n *epNet, d time.Duration, chunk int) (float64, error) {
	type result struct {
		n   int64
		end time.Time
		err error
	}
	done := make(chan result, 1)
	go func() {
		c, err := n.listener.Accept()
		if err != nil {
			done <- result{err: err}
			return
		}
		c.SetReadDeadline(time.Now().Add(d + epTimeout))
		got, err := io.Copy(io.Discard, c)
		done <- result{got, time.Now(), err}
		c.Close()
	}()
	defer n.listener.Close()
	ctx, cancel := context.WithTimeout(context.Background(), epTimeout)
	defer cancel()
	c, err := n.dial(ctx, n.addr)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	c.SetWriteDeadline(time.Now().Add(d + epTimeout))
	buf := make([]byte, chunk)
	for i := range buf {
		buf[i] = byte(i * 7)
	}
	start := time.Now()
	var sent int64
	for time.Since(start) < d {
		m, err := c.Write(buf)
		sent += int64(m)
		if err != nil {
			return 0, err
		}
	}
	if err := c.(interface{ CloseWrite() error }).CloseWrite(); err != nil {
		return 0, err
	}
	r := <-done
	if r.err != nil {
		return 0, fmt.Errorf("server: %v", r.err)
	}
	if r.n != sent {
		return 0, fmt.Errorf("server read %d octets, the client wrote %d", r.n, sent)
	}
	return float64(r.n) / r.end.Sub(start).Seconds(), nil
}

// measureEndpoint runs every figure for us and for the kernel, alternating
// within each round (ours first in odd rounds, the kernel's first in even
// ones), and keeps each run's figure; the report gives the medians.
func measureEndpoint(quick bool, log io.Writer) (*endpointReport, error) {
	r := &endpointReport{Quick: quick, Machine: epMachine(), Rounds: 3, CycleSeconds: 1, Pings: 5000, MsgSize: 64,
		BulkSeconds: 1.5, BulkChunk: 256 << 10,
		CycleOptions: epDescribe(epCycleOptions()), BulkOptions: epDescribe(epBulkOptions())}
	if quick {
		r.CycleSeconds, r.Pings, r.BulkSeconds = 0.25, 1000, 0.3
	}
	start := time.Now()
	type side struct {
		name string
		mk   func(bulk bool) (*epNet, error)
	}
	ours := side{"tcpcheck", func(bulk bool) (*epNet, error) {
		if bulk {
			return epOurNet(epBulkOptions())
		}
		return epOurNet(epCycleOptions())
	}}
	linux := side{"linux", func(bool) (*epNet, error) { return epLinuxNet() }}
	for round := range r.Rounds {
		order := []side{ours, linux}
		if round%2 == 1 {
			order = []side{linux, ours}
		}
		for _, sd := range order {
			isOurs := sd.name == "tcpcheck"
			add := func(p *epPair, v float64) {
				if isOurs {
					p.Ours = append(p.Ours, v)
				} else {
					p.Linux = append(p.Linux, v)
				}
			}
			for _, conc := range []int{1, 4} {
				n, err := sd.mk(false)
				if err != nil {
					return nil, fmt.Errorf("endpoint: %s: %v", sd.name, err)
				}
				rate, err := epCycles(n, conc, time.Duration(r.CycleSeconds*float64(time.Second)))
				n.close()
				if err != nil {
					return nil, fmt.Errorf("endpoint: %s handshake+close at concurrency %d: %v", sd.name, conc, err)
				}
				if conc == 1 {
					add(&r.Conc1, rate)
				} else {
					add(&r.Conc4, rate)
				}
				fmt.Fprintf(log, "endpoint: round %d: %s handshake+close, concurrency %d: %.0f cycles/s\n", round+1, sd.name, conc, rate)
			}
			n, err := sd.mk(false)
			if err != nil {
				return nil, fmt.Errorf("endpoint: %s: %v", sd.name, err)
			}
			rtts, err := epPingPong(n, r.Pings, r.MsgSize)
			n.close()
			if err != nil {
				return nil, fmt.Errorf("endpoint: %s request/response: %v", sd.name, err)
			}
			add(&r.P50, epPercentile(rtts, 50))
			add(&r.P99, epPercentile(rtts, 99))
			fmt.Fprintf(log, "endpoint: round %d: %s request/response: p50 %.1f µs, p99 %.1f µs\n", round+1, sd.name, epPercentile(rtts, 50), epPercentile(rtts, 99))
			if n, err = sd.mk(true); err != nil {
				return nil, fmt.Errorf("endpoint: %s: %v", sd.name, err)
			}
			var before uint64
			if n.retx != nil {
				before = n.retx()
			}
			rate, err := epBulk(n, time.Duration(r.BulkSeconds*float64(time.Second)), r.BulkChunk)
			if n.retx != nil {
				r.Retransmits += n.retx() - before
			}
			n.close()
			if err != nil {
				return nil, fmt.Errorf("endpoint: %s bulk: %v", sd.name, err)
			}
			add(&r.Goodput, rate)
			fmt.Fprintf(log, "endpoint: round %d: %s bulk: %.0f MB/s (%.2f Gbit/s)\n", round+1, sd.name, rate/1e6, rate*8/1e9)
		}
		rtts, err := epUDPPingPong(r.Pings, r.MsgSize)
		if err != nil {
			return nil, fmt.Errorf("endpoint: %v", err)
		}
		r.UDPP50 = append(r.UDPP50, epPercentile(rtts, 50))
		r.UDPP99 = append(r.UDPP99, epPercentile(rtts, 99))
		fmt.Fprintf(log, "endpoint: round %d: raw UDP round trip: p50 %.1f µs, p99 %.1f µs\n", round+1, epPercentile(rtts, 50), epPercentile(rtts, 99))
	}
	r.Seconds = time.Since(start).Seconds()
	return r, nil
}

// epMachine describes the machine and its load when the run starts.
func epMachine() []string {
	m := machine()
	m = append(m, fmt.Sprintf("GOMAXPROCS: %d; Go %s", runtime.GOMAXPROCS(0), runtime.Version()))
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		f := strings.Fields(string(b))
		if len(f) >= 3 {
			m = append(m, "load average at the start: "+strings.Join(f[:3], " "))
		}
	}
	return m
}

// Targets of issues 8 and 20 for the endpoint.
const (
	epCycleTarget   = 1.0 // handshake+close rate at concurrency 1 and (issue 20) 4, over the kernel's
	epLatencyTarget = 1.5 // request/response p50, over the raw UDP round trip
	epGoodputTarget = 2e9 // bits per second
	epTailTarget    = 2.0 // issue 20: request/response p99, over the kernel's p99
	epBulkTarget    = 1.0 // issue 20: bulk goodput, over the kernel's
)

func (r *endpointReport) targets() []target {
	udp50 := epMedian(r.UDPP50)
	lat := r.P50.ours() / udp50
	gbit := r.Goodput.ours() * 8
	return []target{
		{What: "endpoint: handshake+close cycles/s at concurrency 1 at least 1.0x the kernel's",
			Measured: fmt.Sprintf("%.2fx (%s/s vs %s/s)", r.Conc1.ratio(), commas(int64(r.Conc1.ours())), commas(int64(r.Conc1.linux()))),
			Met:      r.Conc1.ratio() >= epCycleTarget},
		{What: "endpoint: request/response p50 latency within 1.5x of a raw UDP round trip",
			Measured: fmt.Sprintf("%.2fx (%.1f µs vs %.1f µs)", lat, r.P50.ours(), udp50),
			Met:      lat <= epLatencyTarget},
		{What: "endpoint: bulk goodput at least 2 Gbit/s on loopback",
			Measured: fmt.Sprintf("%.2f Gbit/s (the kernel: %.2f Gbit/s)", gbit/1e9, r.Goodput.linux()*8/1e9),
			Met:      gbit >= epGoodputTarget},
		{What: "endpoint (issue 20): handshake+close cycles/s at concurrency 4 at least 1.0x the kernel's",
			Measured: fmt.Sprintf("%.2fx (%s/s vs %s/s)", r.Conc4.ratio(), commas(int64(r.Conc4.ours())), commas(int64(r.Conc4.linux()))),
			Met:      r.Conc4.ratio() >= epCycleTarget},
		{What: "endpoint (issue 20): request/response p99 at most 2x the kernel's p99",
			Measured: fmt.Sprintf("%.2fx (%.1f µs vs %.1f µs)", r.P99.ratio(), r.P99.ours(), r.P99.linux()),
			Met:      r.P99.ratio() <= epTailTarget},
		{What: "endpoint (issue 20): bulk goodput at least 1.0x the kernel's",
			Measured: fmt.Sprintf("%.2fx (%.2f vs %.2f Gbit/s)", r.Goodput.ratio(), gbit/1e9, r.Goodput.linux()*8/1e9),
			Met:      r.Goodput.ratio() >= epBulkTarget},
	}
}

func epRuns(xs []float64, f string) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprintf(f, x)
	}
	return strings.Join(s, ", ")
}

func (r *endpointReport) write(w io.Writer) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	p("## Endpoint against Linux TCP\n\n")
	p("tcpcheck's endpoint (package impl, its TCP carried in UDP datagrams on 127.0.0.1) and the Linux kernel's TCP on 127.0.0.1, ")
	p("measured by the same harness in the same process (bench/endpoint.go), ours and the kernel's runs alternating. ")
	p("Each figure is the median of %d rounds, with its spread over the rounds (min–max); the runs are listed below the table. Ratio = tcpcheck / Linux ", r.Rounds)
	p("(above 1 is better for rates, below 1 for latencies).\n\n")
	p("| figure | tcpcheck | Linux (same run) | ratio | tcpcheck min–max | Linux min–max |\n|---|---:|---:|---:|---:|---:|\n")
	p("| handshake+close, concurrency 1 (cycles/s) | %s | %s | %.2fx | %s | %s |\n", commas(int64(r.Conc1.ours())), commas(int64(r.Conc1.linux())), r.Conc1.ratio(),
		epSpread(r.Conc1.Ours, "", 1), epSpread(r.Conc1.Linux, "", 1))
	p("| handshake+close, concurrency 4 (cycles/s) | %s | %s | %.2fx | %s | %s |\n", commas(int64(r.Conc4.ours())), commas(int64(r.Conc4.linux())), r.Conc4.ratio(),
		epSpread(r.Conc4.Ours, "", 1), epSpread(r.Conc4.Linux, "", 1))
	p("| request/response p50 (µs) | %.1f | %.1f | %.2fx | %s | %s |\n", r.P50.ours(), r.P50.linux(), r.P50.ratio(), epSpread(r.P50.Ours, "%.1f", 1), epSpread(r.P50.Linux, "%.1f", 1))
	p("| request/response p99 (µs) | %.1f | %.1f | %.2fx | %s | %s |\n", r.P99.ours(), r.P99.linux(), r.P99.ratio(), epSpread(r.P99.Ours, "%.1f", 1), epSpread(r.P99.Linux, "%.1f", 1))
	udp50, udp99 := epMedian(r.UDPP50), epMedian(r.UDPP99)
	p("| raw UDP round trip p50 / p99 (µs), the floor | %.1f / %.1f over UDP | | ours p50 %.2fx the floor | %s / %s | |\n", udp50, udp99, r.P50.ours()/udp50,
		epSpread(r.UDPP50, "%.1f", 1), epSpread(r.UDPP99, "%.1f", 1))
	p("| bulk goodput, one connection (Gbit/s) | %.2f | %.2f | %.2fx | %s | %s |\n", r.Goodput.ours()*8/1e9, r.Goodput.linux()*8/1e9, r.Goodput.ratio(),
		epSpread(r.Goodput.Ours, "%.2f", 8e-9), epSpread(r.Goodput.Linux, "%.2f", 8e-9))
	p("\nTargets (issue 8):\n\n| target | measured | |\n|---|---|---|\n")
	for _, t := range r.targets() {
		met := "met"
		if !t.Met {
			met = "NOT met"
		}
		p("| %s | %s | %s |\n", strings.TrimPrefix(t.What, "endpoint: "), t.Measured, met)
	}
	p("\nRuns (tcpcheck; Linux), in round order:\n\n")
	p("- handshake+close, concurrency 1: %s; %s cycles/s\n", epRuns(r.Conc1.Ours, "%.0f"), epRuns(r.Conc1.Linux, "%.0f"))
	p("- handshake+close, concurrency 4: %s; %s cycles/s\n", epRuns(r.Conc4.Ours, "%.0f"), epRuns(r.Conc4.Linux, "%.0f"))
	p("- request/response p50: %s; %s µs; p99: %s; %s µs\n", epRuns(r.P50.Ours, "%.1f"), epRuns(r.P50.Linux, "%.1f"), epRuns(r.P99.Ours, "%.1f"), epRuns(r.P99.Linux, "%.1f"))
	p("- raw UDP round trip p50: %s µs; p99: %s µs\n", epRuns(r.UDPP50, "%.1f"), epRuns(r.UDPP99, "%.1f"))
	p("- bulk goodput: %s; %s Gbit/s; our sender retransmitted %d segments in all\n",
		epRuns(epScale(r.Goodput.Ours, 8e-9), "%.2f"), epRuns(epScale(r.Goodput.Linux, 8e-9), "%.2f"), r.Retransmits)
	p("\nMachine:\n\n")
	for _, m := range r.Machine {
		p("- %s\n", m)
	}
	p("\nMethod (`go run ./bench")
	if r.Quick {
		p(" -quick")
	}
	p("`, %.0f s for this section):\n\n", r.Seconds)
	p("- Each round runs, for tcpcheck and then Linux (Linux first in even rounds): handshake+close at concurrency 1 and 4, ")
	p("request/response, bulk; then the raw UDP round trip. Every run gets a fresh listener (and, for tcpcheck, two fresh stacks, ")
	p("a server and a client, each on its own UDP socket).\n")
	p("- handshake+close: for %.2f s, each of the concurrent clients dials, reads EOF (the server's accept loop closes every ", r.CycleSeconds)
	p("connection at once) and closes; cycles/s is the cycles completed over the run's wall time. ")
	p("Seven segments a cycle for tcpcheck (three for the handshake, four for the close; TIME-WAIT on the server side).\n")
	p("- request/response: one connection, %d-octet request, the server reads it whole and writes %d octets back; ", r.MsgSize, r.MsgSize)
	p("%d round trips timed after %d untimed, nearest-rank p50 and p99. The raw UDP floor is the same exchange as single ", r.Pings, epWarmup)
	p("datagrams between two UDP sockets (a goroutine echoes).\n")
	p("- bulk: one connection, the client writes %d KiB at a time for %.2f s, then half-closes; goodput is the octets the ", r.BulkChunk>>10, r.BulkSeconds)
	p("server read (all of them, checked) over the time from the first write to the server's EOF.\n")
	p("- tcpcheck's options: handshake+close and request/response: %s. Bulk: %s. ", r.CycleOptions, r.BulkOptions)
	p("Linux: the kernel's defaults through package net (Nagle off, as Go sets it).\n")
}

// epSpread renders the least and the greatest of xs, scaled by scale, as
// "min–max" in format f ("" for whole numbers with commas).
func epSpread(xs []float64, f string, scale float64) string {
	if len(xs) == 0 {
		return "-"
	}
	lo, hi := xs[0], xs[0]
	for _, x := range xs {
		lo, hi = min(lo, x), max(hi, x)
	}
	show := func(x float64) string {
		if f == "" {
			return commas(int64(x * scale))
		}
		return fmt.Sprintf(f, x*scale)
	}
	return show(lo) + "–" + show(hi)
}

func epScale(xs []float64, f float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = x * f
	}
	return out
}
