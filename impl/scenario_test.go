package impl

import (
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tcpcheck/tcpcheck/impl/wire"
	"github.com/tcpcheck/tcpcheck/spec"
)

var rewrite = flag.Bool("rewrite", false, "rewrite the expected output of impl/testdata/*.txt scenarios")

// The scenario harness: two stacks, A (10.0.0.1, ISN 100) and B
// (10.0.0.2, ISN 300), on a MemNet in manual mode under a FakeClock. Each
// segment goes on the wire only when a command delivers it, so a scenario
// reads segment by segment, the way RFC 9293 §3.5 and §3.6 draw them.
//
// A scenario file is a sequence of blocks:
//
//	command args
//	----
//	expected output
//
// separated by blank lines; lines starting with # are comments. Commands:
//
//	listen H PORT          passive OPEN on host H
//	connect H PEER:PORT    active OPEN from H (returns at once)
//	accept H               take an established connection from H's listener
//	deliver [N|all]        deliver the oldest segment in flight (N times, or until none)
//	drop [N|all]           lose the oldest segment in flight
//	swap                   exchange the two oldest segments in flight
//	advance DURATION       move the clock (timers fire)
//	write H TEXT           SEND on H's connection
//	writen H N             SEND of N octets on H's connection
//	close H                CLOSE on H's connection (half-close: reading goes on)
//	abort H                ABORT on H's connection
//	read H                 what a read on H's connection returns now (the text, or its length past 64 octets)
//	inject H FLAGS seq=N [ack=N] [len=N]   a segment from H's peer to H's connection
//	state                  both hosts' connections, as ss prints them
//	inflight               the segments in flight
//
// Output lists, in order, every transition ("B  LISTEN --rcv SYN--> SYN-RECEIVED  [LISTEN + rcv SYN]")
// and every segment delivered, dropped or sent ("A>B  SYN seq=100 ...").
type harness struct {
	t     *testing.T
	clock *FakeClock
	net   *MemNet
	hosts map[string]*hostState
	names map[netip.Addr]string
	out   strings.Builder
	rows  []spec.Row
}

type hostState struct {
	name string
	s    *Stack
	ip   netip.Addr
	l    *Listener
	c    *Conn
}

// harnessMSL is the MSL of the scenario stacks: TIME-WAIT lasts 10 s.
const harnessMSL = 5 * time.Second

func newHarness(t *testing.T) *harness {
	h := &harness{t: t, clock: NewFakeClock(time.Unix(1700000000, 0)), hosts: map[string]*hostState{},
		names: map[netip.Addr]string{}, rows: spec.Table()}
	var err error
	h.net, err = NewMemNet(h.clock, 0, Faults{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	h.net.SetManual(true)
	for i, name := range []string{"A", "B"} {
		ip := netip.AddrFrom4([4]byte{10, 0, 0, byte(i + 1)})
		link, err := h.net.Link(ip)
		if err != nil {
			t.Fatal(err)
		}
		isn := spec.Seq(100 + 200*i)
		s, err := NewStack(link, Options{
			Clock: h.clock, MSL: harnessMSL, RTOInitial: time.Second, RTOMin: time.Second, RecvBuffer: 65535,
			SynRetries: 3, SynAckRetries: 2, DataRetries: 4, UserTimeout: time.Hour,
			ISN: func(local, remote netip.AddrPort) spec.Seq { return isn },
			Tracer: Tracer{
				Transition: h.transition,
				Extra: func(_ time.Time, local, _ netip.AddrPort, sent bool, s Segment, why string) {
					dir := "in"
					if sent {
						dir = "out"
					}
					fmt.Fprintf(&h.out, "%s  (%s, %s: %s)\n", h.names[local.Addr()], why, dir, s)
				},
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		h.hosts[name] = &hostState{name: name, s: s, ip: ip}
		h.names[ip] = name
	}
	t.Cleanup(func() {
		for _, name := range []string{"A", "B"} {
			h.hosts[name].s.Close()
		}
	})
	return h
}

func (h *harness) transition(tr Transition) {
	name := h.names[tr.Local.Addr()]
	fmt.Fprintf(&h.out, "%s  %s --%s--> %s  [%s]\n", name, tr.From, tr.Event, tr.To, h.rows[tr.Row].Name())
	peer := h.names[tr.Remote.Addr()]
	for _, s := range tr.Out {
		fmt.Fprintf(&h.out, "%s>%s  %s\n", name, peer, s)
	}
}

func (h *harness) host(name string) (*hostState, error) {
	hs := h.hosts[name]
	if hs == nil {
		return nil, fmt.Errorf("no host %q (want A or B)", name)
	}
	return hs, nil
}

func (h *harness) conn(name string) (*hostState, error) {
	hs, err := h.host(name)
	if err == nil && hs.c == nil {
		err = fmt.Errorf("host %s has no connection", name)
	}
	return hs, err
}

// describe renders an in-flight segment.
func (h *harness) describe(p MemPacket) string {
	hdr, payload, err := wire.Decode(p.Seg, p.From.Addr(), p.To.Addr())
	if err != nil {
		return fmt.Sprintf("%s>%s  malformed: %v", h.names[p.From.Addr()], h.names[p.To.Addr()], err)
	}
	return fmt.Sprintf("%s>%s  %s", h.names[p.From.Addr()], h.names[p.To.Addr()], Segment{Header: hdr, Len: len(payload)})
}

func count(args []string, inflight int) (int, error) {
	if len(args) == 0 {
		return 1, nil
	}
	if args[0] == "all" {
		return inflight, nil
	}
	return strconv.Atoi(args[0])
}

// run executes one command and returns its output.
func (h *harness) run(cmd string, args []string) (string, error) {
	h.out.Reset()
	arg := func(i int) string {
		if i < len(args) {
			return args[i]
		}
		return ""
	}
	switch cmd {
	case "listen":
		hs, err := h.host(arg(0))
		if err != nil {
			return "", err
		}
		hs.l, err = hs.s.Listen(":" + arg(1))
		if err != nil {
			return "", err
		}
	case "connect":
		hs, err := h.host(arg(0))
		if err != nil {
			return "", err
		}
		peer, port, _ := strings.Cut(arg(1), ":")
		ps, err := h.host(peer)
		if err != nil {
			return "", err
		}
		p, err := strconv.ParseUint(port, 10, 16)
		if err != nil {
			return "", err
		}
		hs.c, err = hs.s.connect(netip.AddrPortFrom(ps.ip, uint16(p)))
		if err != nil {
			return "", err
		}
	case "accept":
		hs, err := h.host(arg(0))
		if err != nil {
			return "", err
		}
		if hs.l == nil {
			return "", errors.New("no listener")
		}
		hs.s.mu.Lock()
		if len(hs.l.queue) == 0 {
			hs.s.mu.Unlock()
			fmt.Fprintf(&h.out, "%s  nothing to accept\n", hs.name)
			break
		}
		hs.s.mu.Unlock()
		hs.c, err = hs.l.AcceptConn()
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&h.out, "%s  accepted %v from %v in %s\n", hs.name, hs.c.local, hs.c.remote, hs.c.State())
	case "deliver", "drop":
		n, err := count(args, len(h.net.InFlight()))
		if err != nil {
			return "", err
		}
		for i := 0; i < n || (arg(0) == "all" && len(h.net.InFlight()) > 0 && i < 1000); i++ {
			fl := h.net.InFlight()
			if len(fl) == 0 {
				fmt.Fprintf(&h.out, "nothing in flight\n")
				break
			}
			if cmd == "drop" {
				fmt.Fprintf(&h.out, "%s  (lost)\n", h.describe(fl[0]))
				h.net.Discard(0)
				continue
			}
			fmt.Fprintf(&h.out, "%s  (delivered)\n", h.describe(fl[0]))
			h.net.Deliver(0)
		}
	case "swap":
		fl := h.net.InFlight()
		if len(fl) < 2 {
			return "", errors.New("fewer than two segments in flight")
		}
		h.net.mu.Lock()
		h.net.held[0], h.net.held[1] = h.net.held[1], h.net.held[0]
		h.net.mu.Unlock()
	case "advance":
		d, err := time.ParseDuration(arg(0))
		if err != nil {
			return "", err
		}
		h.clock.Advance(d)
	case "write":
		hs, err := h.conn(arg(0))
		if err != nil {
			return "", err
		}
		if _, err := hs.c.Write([]byte(strings.Join(args[1:], " "))); err != nil {
			fmt.Fprintf(&h.out, "%s  write: %v\n", hs.name, err)
		}
	case "writen":
		hs, err := h.conn(arg(0))
		if err != nil {
			return "", err
		}
		n, err := strconv.Atoi(arg(1))
		if err != nil {
			return "", err
		}
		if _, err := hs.c.Write([]byte(strings.Repeat("x", n))); err != nil {
			fmt.Fprintf(&h.out, "%s  write: %v\n", hs.name, err)
		}
	case "close":
		hs, err := h.conn(arg(0))
		if err != nil {
			return "", err
		}
		if err := hs.c.CloseWrite(); err != nil {
			fmt.Fprintf(&h.out, "%s  close: %v\n", hs.name, err)
		}
	case "abort":
		hs, err := h.conn(arg(0))
		if err != nil {
			return "", err
		}
		if err := hs.c.Abort(); err != nil {
			fmt.Fprintf(&h.out, "%s  abort: %v\n", hs.name, err)
		}
	case "read":
		hs, err := h.conn(arg(0))
		if err != nil {
			return "", err
		}
		hs.c.SetReadDeadline(h.clock.Now())
		buf := make([]byte, 1<<16)
		n, err := hs.c.Read(buf)
		hs.c.SetReadDeadline(time.Time{})
		if n > 64 {
			fmt.Fprintf(&h.out, "%s  read %d octets, %v\n", hs.name, n, err)
		} else {
			fmt.Fprintf(&h.out, "%s  read %q, %v\n", hs.name, buf[:n], err)
		}
	case "inject":
		hs, err := h.conn(arg(0))
		if err != nil {
			return "", err
		}
		if err := h.inject(hs, args[1:]); err != nil {
			return "", err
		}
	case "state":
		for _, name := range []string{"A", "B"} {
			for _, ci := range h.hosts[name].s.Connections() {
				fmt.Fprintf(&h.out, "%s  %s\n", name, ci)
			}
		}
	case "inflight":
		for _, p := range h.net.InFlight() {
			fmt.Fprintf(&h.out, "%s\n", h.describe(p))
		}
	default:
		return "", fmt.Errorf("unknown command %q", cmd)
	}
	return h.out.String(), nil
}

// inject delivers to hs's connection a segment crafted as if its peer had
// sent it: "inject A RST seq=311".
func (h *harness) inject(hs *hostState, args []string) error {
	if len(args) == 0 {
		return errors.New("inject needs flags")
	}
	var hdr wire.Header
	for _, f := range strings.Split(args[0], ",") {
		found := false
		for b := spec.Flags(1); b != 0; b <<= 1 {
			if b.String() == f {
				hdr.Flags |= b
				found = true
			}
		}
		if !found {
			return fmt.Errorf("unknown flag %q", f)
		}
	}
	var payload []byte
	for _, kv := range args[1:] {
		k, v, _ := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return fmt.Errorf("%s: %v", kv, err)
		}
		switch k {
		case "seq":
			hdr.Seq = spec.Seq(n)
		case "ack":
			hdr.Ack = spec.Seq(n)
		case "len":
			payload = make([]byte, n)
		case "win":
			hdr.Window = uint16(n)
		default:
			return fmt.Errorf("unknown field %q", k)
		}
	}
	c := hs.c
	hdr.SrcPort, hdr.DstPort = c.key.peerPort, c.key.port
	b, err := hdr.Encode(nil, c.key.peer.Addr(), hs.ip, payload)
	if err != nil {
		return err
	}
	fmt.Fprintf(&h.out, "%s>%s  %s  (injected)\n", h.names[c.key.peer.Addr()], hs.name, Segment{Header: hdr, Len: len(payload)})
	hs.s.input(c.key.peer, b)
	return nil
}

func TestScenarios(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenarios in testdata: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txt"), func(t *testing.T) {
			runScenario(t, file)
		})
	}
}

func runScenario(t *testing.T, file string) {
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t)
	lines := strings.Split(string(data), "\n")
	var rewritten strings.Builder
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			rewritten.WriteString(line + "\n")
			continue
		}
		cmdLine := line
		if i+1 >= len(lines) || lines[i+1] != "----" {
			t.Fatalf("%s:%d: command %q is not followed by ----", file, i+1, cmdLine)
		}
		i += 2
		var want []string
		for ; i < len(lines) && lines[i] != ""; i++ {
			want = append(want, lines[i])
		}
		f := strings.Fields(cmdLine)
		got, err := h.run(f[0], f[1:])
		if err != nil {
			t.Fatalf("%s:%d: %s: %v", file, i, cmdLine, err)
		}
		fmt.Fprintf(&rewritten, "%s\n----\n%s", cmdLine, got)
		if i < len(lines) {
			rewritten.WriteString("\n")
		}
		if w := strings.Join(want, "\n"); strings.TrimRight(got, "\n") != w && !*rewrite {
			t.Errorf("%s: after %q\n--- got:\n%s--- want:\n%s\n", file, cmdLine, got, w)
		}
	}
	if *rewrite {
		if err := os.WriteFile(file, []byte(strings.TrimRight(rewritten.String(), "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
