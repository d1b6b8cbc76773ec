package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/tcpcheck/tcpcheck/impl"
	"github.com/tcpcheck/tcpcheck/impl/wire"
	"github.com/tcpcheck/tcpcheck/spec"
)

// endpointFlags are the flags listen and dial share.
type endpointFlags struct {
	link               string
	verbose            bool
	msl, rtoMin        time.Duration
	pcap, trace        string
	loss, dup, reorder float64
	seed               uint64
}

func (f *endpointFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.link, "link", "udp", "link carrying the segments: udp (TCP segments in UDP datagrams; no privileges)")
	fs.BoolVar(&f.verbose, "v", false, "print every state transition and segment to stderr")
	fs.DurationVar(&f.msl, "msl", time.Second, "maximum segment lifetime; TIME-WAIT lasts 2*MSL (RFC 9293 says 2m)")
	fs.DurationVar(&f.rtoMin, "rto-min", 200*time.Millisecond, "lower bound of the retransmission timeout (RFC 6298 says 1s)")
	fs.StringVar(&f.pcap, "pcap", "", "write every segment sent and received to this pcap `file`")
	fs.StringVar(&f.trace, "trace", "", "write every transition to this `file`, one JSON object per line; "+
		"'tcpcheck conform --trace FILE' checks it against the table")
	fs.Float64Var(&f.loss, "loss", 0, "probability that a sent segment is lost")
	fs.Float64Var(&f.dup, "dup", 0, "probability that a sent segment is duplicated")
	fs.Float64Var(&f.reorder, "reorder", 0, "probability that a sent segment is held back 1-5ms (reordered)")
	fs.Uint64Var(&f.seed, "seed", 1, "seed of the fault generator")
}

// endpoint is one side of a netcat-like session.
type endpoint struct {
	f      endpointFlags
	stack  *impl.Stack
	pcapF  *os.File
	traceF *os.File
	traceW *bufio.Writer
	traceE *json.Encoder
	logMu  sync.Mutex
	log    *bufio.Writer
	start  time.Time
	stdin  io.Reader
	stdout *bufio.Writer
}

// newEndpoint checks the flags and opens the stack on a UDP socket bound
// to bind.
func newEndpoint(f endpointFlags, bind string, stdout, stderr io.Writer) (*endpoint, error) {
	if f.link != "udp" {
		return nil, usagef("--link %q: only udp is available", f.link)
	}
	for _, p := range []struct {
		name string
		v    float64
	}{{"loss", f.loss}, {"dup", f.dup}, {"reorder", f.reorder}} {
		if !(p.v >= 0 && p.v <= 1) {
			return nil, usagef("--%s %v: want a probability in [0, 1]", p.name, p.v)
		}
	}
	if f.msl <= 0 || f.rtoMin <= 0 {
		return nil, usagef("--msl and --rto-min must be positive durations such as 1s or 50ms")
	}
	e := &endpoint{f: f, log: bufio.NewWriter(stderr), start: time.Now(), stdin: os.Stdin, stdout: bufio.NewWriterSize(stdout, 1<<16)}
	link, err := impl.NewUDPLink(bind, impl.Faults{Loss: f.loss, Dup: f.dup, Reorder: f.reorder}, f.seed)
	if err != nil {
		return nil, err
	}
	opt := impl.Options{MSL: f.msl, RTOMin: f.rtoMin, RTOMax: max(60*time.Second, f.rtoMin)}
	if f.pcap != "" {
		if e.pcapF, err = os.Create(f.pcap); err != nil {
			link.Close()
			return nil, fmt.Errorf("--pcap: %v", err)
		}
		if opt.Pcap, err = wire.NewPcapWriter(bufio.NewWriterSize(e.pcapF, 1<<16)); err != nil {
			link.Close()
			return nil, err
		}
	}
	if f.trace != "" {
		if e.traceF, err = os.Create(f.trace); err != nil {
			link.Close()
			return nil, fmt.Errorf("--trace: %v", err)
		}
		e.traceW = bufio.NewWriterSize(e.traceF, 1<<16)
		e.traceE = json.NewEncoder(e.traceW)
	}
	if f.verbose {
		fmt.Fprintf(e.log, "%10s  %-12s  %s\n", "time", "state", "segment or transition")
		opt.Tracer.Extra = e.traceExtra
	}
	if f.verbose || f.trace != "" {
		opt.Tracer.Transition = e.transition
	}
	if e.stack, err = impl.NewStack(link, opt); err != nil {
		link.Close()
		return nil, err
	}
	return e, nil
}

func (e *endpoint) stamp(t time.Time) string {
	return fmt.Sprintf("%10.6f", t.Sub(e.start).Seconds())
}

// transition reports a transition to -v and to --trace. The stack calls it
// with its lock held, so calls do not overlap.
func (e *endpoint) transition(t impl.Transition) {
	if e.f.verbose {
		e.trace(t)
	}
	if e.traceE != nil {
		// An error (a full disk) is reported when the file is closed.
		_ = e.traceE.Encode(&t)
	}
}

// trace prints a transition in a segment-table style: the segment that
// came in, the state change, and the segments that went out.
func (e *endpoint) trace(t impl.Transition) {
	e.logMu.Lock()
	defer e.logMu.Unlock()
	ts := e.stamp(t.Time)
	if t.In != nil {
		fmt.Fprintf(e.log, "%s  %-12s  <-- %s\n", ts, t.From, t.In)
	}
	if t.From != t.To || !t.Event.IsSegment() {
		fmt.Fprintf(e.log, "%s  %-12s  %s --%s--> %s  [row %d]\n", ts, t.To, t.From, t.Event, t.To, t.Row)
	}
	for _, s := range t.Out {
		fmt.Fprintf(e.log, "%s  %-12s  --> %s\n", ts, t.To, s)
	}
}

func (e *endpoint) traceExtra(t time.Time, _, _ netip.AddrPort, sent bool, s impl.Segment, why string) {
	e.logMu.Lock()
	defer e.logMu.Unlock()
	dir := "<--"
	if sent {
		dir = "-->"
	}
	fmt.Fprintf(e.log, "%s  %-12s  %s %s (%s)\n", e.stamp(t), "", dir, s, why)
}

// session copies stdin to c (then half-closes) and c to stdout, until both
// directions are done; then it waits for the connection to be CLOSED
// (TIME-WAIT included, so -v shows it) and closes the stack.
func (e *endpoint) session(c *impl.Conn) error {
	var wg sync.WaitGroup
	var sendErr, recvErr error
	wg.Go(func() {
		_, sendErr = io.Copy(c, e.stdin)
		if sendErr == nil {
			sendErr = c.CloseWrite()
		}
	})
	wg.Go(func() {
		_, recvErr = io.Copy(e.stdout, c)
		if ferr := e.stdout.Flush(); recvErr == nil {
			recvErr = ferr
		}
	})
	wg.Wait()
	err := errors.Join(sendErr, recvErr)
	if err == nil {
		// Both FINs are out and in: wait for CLOSED, at most 2MSL plus
		// time for the last FIN to be retransmitted.
		deadline := time.Now().Add(2*e.f.msl + 30*time.Second)
		for c.State() != spec.Closed && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if st := c.State(); st != spec.Closed {
			err = fmt.Errorf("connection still in %s after both directions closed", st)
		}
	}
	return errors.Join(err, e.close())
}

func (e *endpoint) close() error {
	err := e.stack.Close()
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	e.logMu.Lock()
	e.log.Flush()
	e.logMu.Unlock()
	if e.pcapF != nil {
		if cerr := e.pcapF.Close(); cerr != nil {
			err = errors.Join(err, cerr)
		}
	}
	if e.traceF != nil {
		if ferr := e.traceW.Flush(); ferr != nil {
			err = errors.Join(err, fmt.Errorf("--trace: %v", ferr))
		}
		if cerr := e.traceF.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("--trace: %v", cerr))
		}
	}
	return err
}

func init() {
	register(&command{
		name:    "listen",
		summary: "accept one connection on the reference endpoint and relay it to stdin/stdout, like netcat",
		usage:   "[flags] ADDR",
		setup: func(fs *flag.FlagSet) func(args []string, stdout, stderr io.Writer) error {
			var f endpointFlags
			f.register(fs)
			return func(args []string, stdout, stderr io.Writer) error {
				if len(args) != 1 {
					return usagef("want one address to listen on, such as 127.0.0.1:9000")
				}
				e, err := newEndpoint(f, args[0], stdout, stderr)
				if err != nil {
					return err
				}
				l, err := e.stack.Listen(e.stack.Addr().String())
				if err != nil {
					return errors.Join(err, e.close())
				}
				if f.verbose {
					fmt.Fprintf(stderr, "listening on %v (udp)\n", e.stack.Addr())
				}
				c, err := l.AcceptConn()
				if err != nil {
					return errors.Join(err, e.close())
				}
				l.Close()
				return e.session(c)
			}
		},
	})
}
