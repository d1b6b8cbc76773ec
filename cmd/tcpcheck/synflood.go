package main

import (
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/tcpcheck/tcpcheck/check/live/attack"
	"github.com/tcpcheck/tcpcheck/spec"
)

func init() {
	var (
		count uint64
		rate  int
		from  string
		wait  time.Duration
		seed  uint64
	)
	register(&command{
		name:    "synflood",
		summary: "send spoofed SYNs (random TCP source ports) over the udp link to a listening stack, such as 'tcpcheck listen', and count the SYN,ACKs (RFC 4987)",
		usage:   "[flags] ADDR",
		setup: func(fs *flag.FlagSet) func([]string, io.Writer, io.Writer) error {
			fs.Uint64Var(&count, "count", 10000, "number of SYNs to send, at most 10000000")
			fs.IntVar(&rate, "rate", 50000, "SYNs per second, at most 1000000")
			fs.StringVar(&from, "from", "127.0.0.1:0", "UDP `address` to send from (a specific IP)")
			fs.DurationVar(&wait, "wait", time.Second, "how long to count SYN,ACKs after the last SYN, at most 1m")
			fs.Uint64Var(&seed, "seed", 1, "seed of the source ports and sequence numbers")
			return func(args []string, stdout, _ io.Writer) error {
				if len(args) != 1 {
					return usagef("want one ADDR (the listener's udp address, host:port), got %d arguments", len(args))
				}
				dst, err := netip.ParseAddrPort(args[0])
				if err != nil {
					return usagef("ADDR %q: not an ip:port (e.g. 127.0.0.1:9701, where 'tcpcheck listen 127.0.0.1:9701' runs)", args[0])
				}
				err = firstError(
					inRange("count", count, 1, 10_000_000, "SYNs to send"),
					inRange("rate", rate, 1, 1_000_000, "SYNs per second"),
					inRange("wait", wait, 0, time.Minute, "how long to count SYN,ACKs after the last SYN"),
				)
				if err != nil {
					return err
				}
				var synacks atomic.Uint64
				p, err := attack.NewUDP(from, func(r attack.Reply) bool {
					if r.Header.Flags == spec.SYN|spec.ACK {
						synacks.Add(1)
					}
					return false
				})
				if err != nil {
					return err
				}
				defer p.Close()
				rng := rand.New(rand.NewPCG(seed, seed^0x5bd1e995))
				start := time.Now()
				const burst = 100 // SYNs between pauses
				for i := range count {
					seg := attack.Segment{Src: netip.AddrPortFrom(p.Addr().Addr(), uint16(1024+rng.IntN(64511))), Dst: dst,
						Flags: spec.SYN, Seq: spec.Seq(rng.Uint32()), Window: 65535, MSS: 1460}
					if err := p.Send(seg); err != nil {
						return &exitError{code: exitUsage, msg: err.Error()}
					}
					if i%burst == burst-1 {
						if ahead := time.Duration(i+1)*time.Second/time.Duration(rate) - time.Since(start); ahead > 0 {
							time.Sleep(ahead)
						}
					}
				}
				sent := time.Since(start)
				time.Sleep(wait)
				fmt.Fprintf(stdout, "sent %d spoofed SYNs to %v in %v (%.0f/s); %d SYN,ACKs came back\n",
					count, dst, sent.Round(time.Millisecond), float64(count)/sent.Seconds(), synacks.Load())
				return nil
			}
		},
	})
}
