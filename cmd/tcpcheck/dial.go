package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/netip"
	"strconv"
	"time"

	"github.com/tcpcheck/tcpcheck/impl"
	"github.com/tcpcheck/tcpcheck/spec"
)

func init() {
	register(&command{
		name:    "dial",
		summary: "connect the reference endpoint to ADDR and relay stdin/stdout, like netcat",
		usage: "[flags] ADDR\n\n" +
			"ADDR is the udp address of a 'tcpcheck listen' (or serve). While SYNs go\n" +
			"unanswered a progress line says so and when dial will give up.",
		setup: func(fs *flag.FlagSet) func(args []string, stdout, stderr io.Writer) error {
			var f endpointFlags
			f.register(fs)
			timeout := fs.Duration("timeout", 0, "give up connecting after this long, e.g. 5s (0: after 7 unanswered SYNs, about 2 minutes)")
			return func(args []string, stdout, stderr io.Writer) error {
				if len(args) != 1 {
					return usagef("want one address to dial, such as 127.0.0.1:9000 (where 'tcpcheck listen 127.0.0.1:9000' runs)")
				}
				if err := firstError(
					inRange("timeout", *timeout, 0, 24*time.Hour, "0 waits for the SYN retries; e.g. 5s"),
					dialAddr(args[0]),
				); err != nil {
					return err
				}
				e, err := newEndpoint(f, "127.0.0.1:0", stdout, stderr)
				if err != nil {
					return err
				}
				defer e.exitOnInterrupt("dial")()
				e.dial.enabled, e.dial.timeout, e.dial.addr = true, *timeout, args[0]
				e.header()
				ctx := context.Background()
				if *timeout > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, *timeout)
					defer cancel()
				}
				c, err := e.stack.Dial(ctx, args[0])
				if err != nil {
					return errors.Join(e.dialError(args[0], err), e.close())
				}
				return e.session(c)
			}
		},
	})
}

// dialAddr checks the address dial is given as the endpoint reads it
// (HOST:PORT, the host an IP address or localhost, the port 1..65535)
// before any file is made.
func dialAddr(addr string) error {
	why := ""
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		why = err.Error()
		var ae *net.AddrError
		if errors.As(err, &ae) {
			why = ae.Err
		}
	} else if p, err := strconv.ParseUint(port, 10, 16); err != nil || p == 0 {
		why = fmt.Sprintf("port %q is not a number from 1 to 65535", port)
	} else if _, err := netip.ParseAddr(host); err != nil && host != "" && host != "localhost" {
		why = fmt.Sprintf("host %q is not an IP address (names are not looked up)", host)
	}
	if why == "" {
		return nil
	}
	return usagef("ADDR %q: %s; want IP:PORT, such as 127.0.0.1:9000 (where 'tcpcheck listen 127.0.0.1:9000' runs)", addr, why)
}

// dialProgress follows the connection dial opens through the table: the
// SYN of ACTIVE-OPEN and each retransmission of it (the RTO row in
// SYN-SENT), for the progress line and the final error.
type dialProgress struct {
	enabled  bool
	addr     string
	timeout  time.Duration
	first    time.Time // the first SYN
	syns     int       // SYNs sent
	answered bool      // left SYN-SENT
	refused  bool      // an RST answered the SYN
}

// dialTransition is called with every transition (the stack's lock held).
func (e *endpoint) dialTransition(t impl.Transition) {
	if !e.dial.enabled {
		return
	}
	e.logMu.Lock()
	defer e.logMu.Unlock()
	d := &e.dial
	switch {
	case t.From == spec.Closed && t.To == spec.SynSent:
		d.first, d.syns = t.Time, 1
	case t.From == spec.SynSent && t.Event == spec.RetransmitTimeout:
		d.syns++
		left := e.synGiveUp() - t.Time.Sub(d.first)
		if d.timeout > 0 {
			left = min(left, d.timeout-t.Time.Sub(e.start))
		}
		e.logfLocked("tcpcheck dial: no answer from %s, SYN retransmitted %d time%s, giving up in %s\n",
			d.addr, d.syns-1, plural(d.syns-1), seconds(max(left, 0)))
	case t.From == spec.SynSent && t.To == spec.Closed && t.Event == spec.SegRST:
		d.refused = true
	case t.From == spec.SynSent && t.Event.IsSegment() && t.To != spec.SynSent:
		d.answered = true
	}
}

// synGiveUp is how long after the first SYN the endpoint gives up: each
// SYN waits its RTO, doubled each time (RFC 6298 §5.5) and capped at
// RTOMax; after SynRetries retransmissions the last one's RTO ends it.
func (e *endpoint) synGiveUp() time.Duration {
	var total time.Duration
	rto := e.opt.RTOInitial
	for range e.opt.SynRetries + 1 {
		total += min(max(rto, e.opt.RTOMin), e.opt.RTOMax)
		rto *= 2
	}
	return total
}

// dialError says what went wrong in the user's terms: who did not answer,
// how many SYNs went out over how long, what timed out.
func (e *endpoint) dialError(addr string, err error) error {
	e.logMu.Lock()
	d := e.dial
	e.logMu.Unlock()
	since := seconds(time.Since(d.first))
	switch {
	case d.syns > 0 && d.refused:
		return fmt.Errorf("%s refused the connection (its stack answered the SYN with RST): nothing listens on that port; start 'tcpcheck listen %s'", addr, addr)
	case errors.Is(err, context.DeadlineExceeded) && d.syns > 0 && !d.answered:
		return fmt.Errorf("no answer from %s to %d SYN%s over %s (--timeout %v expired while connecting): is anything listening? (start 'tcpcheck listen %s')",
			addr, d.syns, plural(d.syns), since, d.timeout, addr)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("connecting to %s: --timeout %v expired before the handshake completed (%d SYN%s sent)", addr, d.timeout, d.syns, plural(d.syns))
	case d.syns > 0 && !d.answered:
		return fmt.Errorf("no answer from %s to %d SYN%s over %s: is anything listening? (start 'tcpcheck listen %s')",
			addr, d.syns, plural(d.syns), since, addr)
	}
	return fmt.Errorf("connecting to %s: %w", addr, err)
}

// seconds renders a duration as whole seconds, or tenths below ten.
func seconds(d time.Duration) string {
	s := d.Seconds()
	if s < 10 {
		return fmt.Sprintf("%.1f s", s)
	}
	return fmt.Sprintf("%.0f s", math.Round(s))
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
