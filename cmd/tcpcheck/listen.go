package main

import (
	"bufio"
	"bytes"
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
	f       endpointFlags
	opt     impl.Options
	stack   *impl.Stack
	filesMu sync.Mutex // closeFiles may race with Ctrl-C's
	pcapF   *pendingFile
	pcapW   *bufio.Writer
	traceF  *pendingFile
	traceW  *bufio.Writer
	traceE  *json.Encoder
	logMu   sync.Mutex
	held    *bytes.Buffer // -v lines kept back until listen says where it listens (holdLog)
	log     *bufio.Writer // -v lines and progress; flushed line by line
	start   time.Time
	stdin   io.Reader
	stdout  *bufio.Writer
	dial    dialProgress // dial only: the SYNs sent, for the progress line and the error
}

// validate checks the flags listen and dial share.
func (f *endpointFlags) validate() error {
	if f.link != "udp" {
		return flagError("link", fmt.Sprintf("%q", f.link), "want udp, the only link of listen and dial",
			"'tcpcheck serve --link tun' runs the endpoint on a TUN device")
	}
	return firstError(
		probability("loss", f.loss),
		probability("dup", f.dup),
		probability("reorder", f.reorder),
		inRange("msl", f.msl, time.Millisecond, time.Hour, "TIME-WAIT lasts 2*MSL; e.g. 1s"),
		inRange("rto-min", f.rtoMin, time.Millisecond, time.Minute, "the least retransmission timeout; e.g. 200ms"),
		outputFile("pcap", f.pcap),
		outputFile("trace", f.trace),
		distinctFiles(fileArg{flag: "pcap", path: f.pcap, output: true}, fileArg{flag: "trace", path: f.trace, output: true}),
	)
}

// newEndpoint checks the flags, binds a UDP socket to bind, starts the
// output files and opens the stack on the socket. The files are written
// under temporary names and put in place when the endpoint closes (close),
// so that an address refused here leaves the files the paths held.
func newEndpoint(f endpointFlags, bind string, stdout, stderr io.Writer) (*endpoint, error) {
	if err := f.validate(); err != nil {
		return nil, err
	}
	link, err := impl.NewUDPLink(bind, impl.Faults{Loss: f.loss, Dup: f.dup, Reorder: f.reorder}, f.seed)
	if err != nil {
		return nil, err
	}
	e := &endpoint{f: f, log: bufio.NewWriter(stderr), start: time.Now(), stdin: os.Stdin, stdout: bufio.NewWriterSize(stdout, 1<<16)}
	// The RTO schedule is spelled out (these are impl's defaults) so that
	// dial's progress line can say when it will give up.
	e.opt = impl.Options{MSL: f.msl, RTOMin: f.rtoMin, RTOInitial: max(time.Second, f.rtoMin),
		RTOMax: max(60*time.Second, f.rtoMin), SynRetries: 6}
	if e.pcapF, err = createOutput("pcap", f.pcap); err != nil {
		link.Close()
		return nil, err
	}
	if e.traceF, err = createOutput("trace", f.trace); err != nil {
		link.Close()
		return nil, errors.Join(err, e.closeFiles(false))
	}
	if e.pcapF != nil {
		e.pcapW = bufio.NewWriterSize(e.pcapF, 1<<16)
		if e.opt.Pcap, err = wire.NewPcapWriter(e.pcapW); err != nil {
			link.Close()
			return nil, errors.Join(err, e.closeFiles(false))
		}
	}
	if e.traceF != nil {
		e.traceW = bufio.NewWriterSize(e.traceF, 1<<16)
		e.traceE = json.NewEncoder(e.traceW)
	}
	if f.verbose {
		e.opt.Tracer.Extra = e.traceExtra
	}
	e.opt.Tracer.Transition = e.transition
	if e.stack, err = impl.NewStack(link, e.opt); err != nil {
		link.Close()
		return nil, errors.Join(err, e.closeFiles(false))
	}
	return e, nil
}

// exitOnInterrupt makes Ctrl-C end the command the way a finished session
// ends for its files: the connection is aborted (an RST tells the peer),
// --pcap and --trace are put in place, and the process exits with 130.
// Without it they would stay under their temporary names.
func (e *endpoint) exitOnInterrupt(cmd string) (release func()) {
	return onInterrupt(func() {
		err := e.close()
		e.logf("tcpcheck %s: interrupted: any open connection was aborted (RST)\n", cmd)
		if err != nil {
			e.logf("tcpcheck %s: %s\n", cmd, plainMessage(err.Error()))
		}
		os.Exit(exitInterrupted)
	})
}

// logf writes to stderr at once: -v lines and progress are read as they
// happen, not when the command ends.
func (e *endpoint) logf(format string, args ...any) {
	e.logMu.Lock()
	defer e.logMu.Unlock()
	e.logfLocked(format, args...)
}

func (e *endpoint) logfLocked(format string, args ...any) {
	fmt.Fprintf(e.sink(), format, args...)
	e.log.Flush()
}

// sink is where -v lines go: stderr, or the buffer that holds them while
// listen has not yet said where it listens (holdLog).
func (e *endpoint) sink() io.Writer {
	if e.held != nil {
		return e.held
	}
	return e.log
}

// holdLog keeps -v lines back until announce, so that the first line of
// listen says where it listens even though the PASSIVE-OPEN it reports
// comes first.
func (e *endpoint) holdLog() {
	e.logMu.Lock()
	defer e.logMu.Unlock()
	e.held = new(bytes.Buffer)
}

// announce writes line first, then the -v header and the lines held back.
func (e *endpoint) announce(line string) {
	e.logMu.Lock()
	defer e.logMu.Unlock()
	held := e.held
	e.held = nil
	io.WriteString(e.log, line)
	if e.f.verbose {
		fmt.Fprintf(e.log, "%10s  %-12s  %s\n", "time", "state", "segment or transition")
	}
	if held != nil {
		e.log.Write(held.Bytes())
	}
	e.log.Flush()
}

// header heads the -v lines.
func (e *endpoint) header() {
	if e.f.verbose {
		e.logf("%10s  %-12s  %s\n", "time", "state", "segment or transition")
	}
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
	e.dialTransition(t)
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
	defer e.log.Flush()
	w := e.sink()
	ts := e.stamp(t.Time)
	if t.In != nil {
		fmt.Fprintf(w, "%s  %-12s  <-- %s\n", ts, t.From, t.In)
	}
	if t.From != t.To || !t.Event.IsSegment() {
		fmt.Fprintf(w, "%s  %-12s  %s --%s--> %s  [row %d]\n", ts, t.To, t.From, t.Event, t.To, t.Row)
	}
	for _, s := range t.Out {
		fmt.Fprintf(w, "%s  %-12s  --> %s\n", ts, t.To, s)
	}
}

func (e *endpoint) traceExtra(t time.Time, _, _ netip.AddrPort, sent bool, s impl.Segment, why string) {
	e.logMu.Lock()
	defer e.logMu.Unlock()
	dir := "<--"
	if sent {
		dir = "-->"
	}
	e.logfLocked("%s  %-12s  %s %s (%s)\n", e.stamp(t), "", dir, s, why)
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
	return errors.Join(err, e.closeFiles(true))
}

// closeFiles flushes the --pcap and --trace files and puts them in place
// (keep) or removes them (the endpoint never ran: the paths keep what they
// held), reporting every error (a full disk shows here, not as a short
// file found later).
func (e *endpoint) closeFiles(keep bool) error {
	e.filesMu.Lock()
	defer e.filesMu.Unlock()
	var errs []error
	for _, f := range []struct {
		w *bufio.Writer
		f *pendingFile
	}{{e.pcapW, e.pcapF}, {e.traceW, e.traceF}} {
		if err := f.f.finish(f.w, keep); err != nil {
			errs = append(errs, err)
		}
	}
	e.pcapF, e.traceF = nil, nil
	return errors.Join(errs...)
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
				defer e.exitOnInterrupt("listen")()
				// Listen before saying so: whoever reads the line may dial
				// at once. The -v line of the PASSIVE-OPEN waits for it.
				e.holdLog()
				l, err := e.stack.Listen(e.stack.Addr().String())
				if err != nil {
					e.announce("")
					return errors.Join(err, e.close())
				}
				e.announce(fmt.Sprintf("listening on %v (udp link: TCP segments in UDP datagrams); connect with 'tcpcheck dial %v'\n",
					e.stack.Addr(), e.stack.Addr()))
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
