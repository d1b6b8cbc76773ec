package evidence

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// Run is one run the pages cite: its name (the record's and the
// fragment's), whether it needs Linux and root (live) or runs over the
// mem link, and the claims the pages make of it.
type Run struct {
	Name string
	Live bool
	// Timing marks a run whose claims are durations: a loaded machine
	// stretches them, so the tests make it up to three times and fail only
	// when no attempt supports the page.
	Timing bool
	// Check fails when the record does not support what the pages say.
	Check func(r *Record) error
}

// makers make the records, by run name (live runs only on Linux).
var makers = map[string]func() (*Record, error){}

// Runs lists every run, sorted by name.
func Runs() []Run {
	out := slices.Clone(runs)
	slices.SortFunc(out, func(a, b Run) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Make runs the named run now. Live runs must be made in a private
// network namespace, as root.
func Make(name string) (*Record, error) {
	f, ok := makers[name]
	if !ok {
		return nil, fmt.Errorf("evidence: no run %q on this system", name)
	}
	return f()
}

// num reads a fact as a number.
func num(r *Record, name string) (float64, error) {
	v := r.Fact(name)
	if v == "" {
		return 0, fmt.Errorf("evidence: %s: no fact %q", r.Name, name)
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return 0, fmt.Errorf("evidence: %s: fact %q is %q, not a number", r.Name, name, v)
	}
	return f, nil
}

// claims checks facts: each entry names a fact and a test of its value.
type claim struct {
	fact string
	ok   func(v string) bool
	want string // what the page says, for the message
}

func check(r *Record, cs ...claim) error {
	var bad []string
	for _, c := range cs {
		v := r.Fact(c.fact)
		if !c.ok(v) {
			bad = append(bad, fmt.Sprintf("%q is %q; the page says %s", c.fact, v, c.want))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("evidence: run %s no longer supports its page: %s", r.Name, strings.Join(bad, "; "))
	}
	return nil
}

func is(want string) func(string) bool { return func(v string) bool { return v == want } }

func between(lo, hi float64) func(string) bool {
	return func(v string) bool {
		f, err := strconv.ParseFloat(v, 64)
		return err == nil && f >= lo && f <= hi
	}
}

func contains(parts ...string) func(string) bool {
	return func(v string) bool {
		for _, p := range parts {
			if !strings.Contains(v, p) {
				return false
			}
		}
		return true
	}
}

func lacks(parts ...string) func(string) bool {
	return func(v string) bool {
		for _, p := range parts {
			if strings.Contains(v, p) {
				return false
			}
		}
		return true
	}
}

// ratio checks that fact a is at least k times fact b.
func ratio(r *Record, a, b string, k float64, want string) error {
	x, err := num(r, a)
	if err != nil {
		return err
	}
	y, err := num(r, b)
	if err != nil {
		return err
	}
	if x < k*y {
		return fmt.Errorf("evidence: run %s no longer supports its page: %q is %v and %q is %v; the page says %s", r.Name, a, x, b, y, want)
	}
	return nil
}

var runs = []Run{
	{Name: "handshake-linux", Live: true, Check: func(r *Record) error {
		return check(r,
			claim{"SYN from client: header octets", is("40"), "40 octets"},
			claim{"SYN from client: options", contains("MSS", "SACK-permitted", "TS", "NOP", "WS"), "MSS, SACK-permitted, timestamps, NOP and window scale"},
			claim{"SYN,ACK from server: header octets", is("40"), "40 octets"},
			claim{"SYN,ACK from server: options", contains("MSS", "SACK-permitted", "TS", "WS"), "MSS, SACK-permitted, timestamps and window scale"},
			claim{"third segment (ACK) from client: header octets", is("32"), "32 octets"},
			claim{"first data segment from client: header octets", is("32"), "32 octets"},
			claim{"first data segment from client: options", is("NOP, NOP, TS"), "two NOPs and the timestamps"},
		)
	}},
	{Name: "handshake-ours", Live: true, Check: func(r *Record) error {
		return check(r,
			claim{"SYN from tcpcheck: options", both2(contains("MSS", "WS"), lacks("TS", "SACK")), "MSS and window scale only"},
			claim{"SYN from tcpcheck: header octets", between(24, 28), "at most 28 octets"},
			claim{"SYN,ACK from Linux: options", both2(contains("MSS"), lacks("TS", "SACK")), "no timestamps and no SACK-permitted"},
			claim{"first data segment from tcpcheck: header octets", is("20"), "20 octets"},
		)
	}},
	{Name: "http-keepalive", Live: true, Check: func(r *Record) error {
		return check(r,
			claim{"connections opened (SYNs from the client)", is("1"), "one connection"},
			claim{"requests (segments starting \"GET \")", is("3"), "three requests"},
			claim{"responses (segments starting \"HTTP/1.1 \")", is("3"), "three responses"},
			claim{"octets of each response (header and body)", is("1104, 3104, 303"), "1104, 3104 and 303 octets: 104, 104 and 103 of header before bodies of 1000, 3000 and 200"},
			claim{"first FIN from", is("client"), "the client closes first"},
			claim{"client sockets in TIME-WAIT at the end (Linux, /proc/net/tcp)", is("1"), "the client ends in TIME-WAIT"},
			claim{"server connections in TIME-WAIT at the end (tcpcheck)", is("0"), "the server does not"},
		)
	}},
	{Name: "http-connection-close", Live: true, Check: func(r *Record) error {
		return check(r,
			claim{"connections opened (SYNs from the client)", is("1"), "one connection"},
			claim{"requests (segments starting \"GET \")", is("1"), "one request"},
			claim{"first FIN from", is("server"), "the server closes first"},
			claim{"server connections in TIME-WAIT at the end (tcpcheck)", is("1"), "the server ends in TIME-WAIT"},
			claim{"client sockets in TIME-WAIT at the end (Linux, /proc/net/tcp)", is("0"), "the client does not"},
		)
	}},
	{Name: "http-idle", Live: true, Timing: true, Check: func(r *Record) error {
		return check(r,
			claim{"connections opened (SYNs from the client)", is("1"), "one connection"},
			claim{"requests (segments starting \"GET \")", is("1"), "one request"},
			claim{"first FIN from", is("server"), "the server closes first"},
			claim{"first FIN after the segment before it (ms)", between(900, 1500), "about the idle timeout, 1 s, after the exchange"},
			claim{"server connections in TIME-WAIT at the end (tcpcheck)", is("1"), "the server ends in TIME-WAIT"},
			claim{"client sockets in TIME-WAIT at the end (Linux, /proc/net/tcp)", is("0"), "the client does not"},
		)
	}},
	{Name: "keepalive-linux", Live: true, Timing: true, Check: func(r *Record) error {
		if err := check(r,
			claim{"probes answered by tcpcheck's ACK", between(2, 4), "two to four probes answered while the link carried them"},
			claim{"the client's read after the link went silent", is("ETIMEDOUT (connection timed out)"), "the read fails with ETIMEDOUT"},
			claim{"time from silence to the error (ms)", between(2500, 5500), "about three probe intervals and an idle time"},
			claim{"RST from Linux when it gave up", is("1"), "Linux sends a RST when it gives up"},
			claim{"Linux's default net.ipv4.tcp_keepalive_time (for sockets that do not set their own)", is("7200"), "7200 s"},
			claim{"Linux's default net.ipv4.tcp_keepalive_intvl (for sockets that do not set their own)", is("75"), "75 s"},
			claim{"Linux's default net.ipv4.tcp_keepalive_probes (for sockets that do not set their own)", is("9"), "9 probes"},
		); err != nil {
			return err
		}
		p, _ := num(r, "keepalive probes from Linux (ACK, no text, SEG.SEQ = SND.NXT-1)")
		a, _ := num(r, "probes answered by tcpcheck's ACK")
		if p-a != 3 {
			return fmt.Errorf("evidence: run %s no longer supports its page: %v probes, %v answered; the page says 3 went unanswered (TCP_KEEPCNT)", r.Name, p, a)
		}
		return nil
	}},
	{Name: "half-close-linux", Live: true, Check: func(r *Record) error {
		return check(r,
			claim{"what the client read after its own FIN", is(`"answer after your FIN\n"`), "the client reads the answer sent after the ACK of its FIN"},
			claim{"tcpcheck conform --pcap: connections", is("1"), "one connection"},
			claim{"tcpcheck conform --pcap: failing", is("0"), "it conforms to the table"},
			claim{"segments from the server between the ACK of the client's FIN and its own FIN, with text", is("1"), "the answer travels after the ACK of the FIN"},
			claim{"the server's states, as the checker tracked them", contains("CLOSE-WAIT > LAST-ACK"), "CLOSE-WAIT, then LAST-ACK"},
		)
	}},
	{Name: "hundred-clients", Live: true, Check: func(r *Record) error {
		return check(r,
			claim{"server sockets ESTABLISHED", is("100"), "100 connections"},
			claim{"server sockets LISTEN", is("1"), "one listening socket"},
			claim{"distinct client ports (so distinct 4-tuples)", is("100"), "100 distinct 4-tuples"},
			claim{"SYNs seen", is("100"), "100 handshakes"},
			claim{"4-tuple of connection 1", contains("192.0.2.1:", "192.0.2.2:80"), "client address and port, server address and port 80"},
		)
	}},
	{Name: "time-wait-reuse", Live: true, Check: func(r *Record) error {
		return check(r,
			claim{"server sockets in TIME-WAIT before the new SYN", is("1"), "the server's side was in TIME-WAIT"},
			claim{"the second connect from the same port", contains("succeeded"), "Linux accepts the new SYN"},
			claim{"server sockets in TIME-WAIT after it", is("0"), "the TIME-WAIT entry gave way to the new connection"},
			claim{"server sockets ESTABLISHED after it", is("1"), "one new connection"},
		)
	}},
	{Name: "states-loopback", Live: true, Timing: true, Check: func(r *Record) error {
		return check(r,
			claim{"server SYN-RECEIVED: polls that saw it", between(0, 2), "at most a poll or two catch SYN-RECEIVED"},
			claim{"client FIN-WAIT-1: polls that saw it", between(0, 2), "at most a poll or two catch FIN-WAIT-1"},
			claim{"client TIME-WAIT: polls that saw it", between(1, 1e9), "TIME-WAIT is seen"},
			claim{"client's TIME-WAIT timer when the run ended (s)", between(55, 60), "about 60 s left"},
		)
	}},
	{Name: "states-50ms", Live: true, Timing: true, Check: func(r *Record) error {
		return check(r,
			claim{"client (Linux) SYN-SENT: lasted (ms), from the capture", between(35, 200), "about one round trip, 50 ms (35 to 200 ms: a loaded machine delays the link's timers)"},
			claim{"client (Linux) FIN-WAIT-1: lasted (ms), from the capture", between(35, 200), "about one round trip, 50 ms (35 to 200 ms: a loaded machine delays the link's timers)"},
			claim{"server (tcpcheck) SYN-RECEIVED: lasted (ms)", between(45, 200), "about one round trip, 50 ms (45 to 200 ms: a loaded machine delays the link's timers)"},
			claim{"server (tcpcheck) LAST-ACK: lasted (ms)", between(45, 200), "about one round trip, 50 ms (45 to 200 ms: a loaded machine delays the link's timers)"},
			claim{"client's TIME-WAIT timer when the run ended (s)", between(55, 60), "about 60 s left"},
		)
	}},
	{Name: "states-held", Live: true, Check: func(r *Record) error {
		return check(r,
			claim{"ss -tan while the third segment is held", contains("SYN-RECV"), "ss shows SYN-RECEIVED while the third segment is held"},
			claim{"ss -tan while the ACK of Linux's FIN is held", contains("FIN-WAIT-1"), "ss shows FIN-WAIT-1 while the ACK of the FIN is held"},
			claim{"ss -tan after tcpcheck's FIN", contains("TIME-WAIT"), "then TIME-WAIT"},
		)
	}},
	{Name: "killed-client-fin", Live: true, Check: func(r *Record) error {
		return check(r,
			claim{"what the killed client's kernel sent", is("FIN,ACK"), "a FIN"},
			claim{"the server's read", is("end of stream"), "end of stream"},
			claim{"the server's connection state after the read", is("CLOSE-WAIT"), "CLOSE-WAIT"},
		)
	}},
	{Name: "killed-client-rst", Live: true, Check: func(r *Record) error {
		return check(r,
			claim{"what the killed client's kernel sent", contains("RST"), "a RST"},
			claim{"the server's read", is("connection reset (impl.ErrConnReset)"), "connection reset"},
			claim{"the server's connection state after the read", is("CLOSED"), "CLOSED"},
		)
	}},
	{Name: "long-short-linux", Live: true, Check: func(r *Record) error {
		if err := check(r,
			claim{"TIME-WAIT entries the short connections added at the client", is("10"), "one TIME-WAIT entry per short connection"},
			claim{"client sockets in TIME-WAIT after the long connection", is("1"), "one for the long connection"},
		); err != nil {
			return err
		}
		return ratio(r, "segments, a connection per request", "segments, one persistent connection", 1.5,
			"a connection per request costs at least 1.5 times the segments")
	}},
	{Name: "keepalive-ours", Check: func(r *Record) error {
		return check(r,
			claim{"probes answered", is("3"), "three probes answered"},
			claim{"probes unanswered before the abort", is("3"), "three unanswered probes (KeepAliveProbes) before the abort"},
			claim{"what the user's read returned", contains("aborted"), "the connection aborted"},
			claim{"first probe after the last segment (s)", is("10"), "the idle time, 10 s"},
			claim{"what the client sent when it gave up", is("RST"), "a RST, as the table's KEEPALIVE-OUT rows send and as Linux does"},
		)
	}},
	{Name: "hundred-ours", Check: func(r *Record) error {
		return check(r,
			claim{"server connections ESTABLISHED (one TCB each)", is("100"), "a hundred connections"},
			claim{"server listeners", is("1"), "one listener"},
			claim{"distinct client ports", is("100"), "a hundred 4-tuples"},
			claim{"SYNs", is("100"), "a hundred handshakes"},
		)
	}},
	{Name: "idle-ours", Check: func(r *Record) error {
		return check(r,
			claim{"segments during the 3 idle hours", is("0"), "nothing is sent"},
			claim{"states after them (client / server)", is("ESTABLISHED / ESTABLISHED"), "both still ESTABLISHED"},
			claim{"the next line arrived", is("yes"), "the connection still works"},
		)
	}},
	{Name: "long-short-ours", Check: func(r *Record) error {
		if err := check(r,
			claim{"TIME-WAIT entries the short connections added at the client", is("10"), "one TIME-WAIT entry per short connection"},
			claim{"TIME-WAIT entries at the client after the long connection", is("1"), "one for the long connection"},
		); err != nil {
			return err
		}
		if err := ratio(r, "segments, a connection per request", "segments, one persistent connection", 1.5,
			"a connection per request costs at least 1.5 times the segments"); err != nil {
			return err
		}
		return ratio(r, "round trips, a connection per request", "round trips, one persistent connection", 1.5,
			"a connection per request costs at least 1.5 times the round trips")
	}},
}

func both2(a, b func(string) bool) func(string) bool {
	return func(v string) bool { return a(v) && b(v) }
}

// The addresses of every live run (RFC 5737's TEST-NET-1, in a private
// network namespace): the client side and the server side.
var (
	clientIP = netip.MustParseAddr("192.0.2.1")
	serverIP = netip.MustParseAddr("192.0.2.2")
)

// count counts the segments that satisfy pred.
func count(segs []Seg, pred func(Seg) bool) int {
	n := 0
	for _, s := range segs {
		if pred(s) {
			n++
		}
	}
	return n
}

// first returns the index of the first segment that satisfies pred, or -1.
func first(segs []Seg, pred func(Seg) bool) int {
	for i, s := range segs {
		if pred(s) {
			return i
		}
	}
	return -1
}

func from(ip netip.Addr) func(Seg) bool { return func(s Seg) bool { return s.Src.Addr() == ip } }

func both(ps ...func(Seg) bool) func(Seg) bool {
	return func(s Seg) bool {
		for _, p := range ps {
			if !p(s) {
				return false
			}
		}
		return true
	}
}

func flags(f string) func(Seg) bool { return func(s Seg) bool { return s.has(f) } }
