//go:build linux

package kernel

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tcpcheck/tcpcheck/impl"
	"github.com/tcpcheck/tcpcheck/impl/wire"
	"github.com/tcpcheck/tcpcheck/spec"
)

// Deviation is a difference between what Linux does and what RFC 9293 and
// the table (so the model) prescribe, shown by a scenario.
type Deviation struct {
	ID       string // short name, e.g. "rst-kills-time-wait"
	RFC      string // the section the table follows, e.g. "RFC 1337 §3"
	Table    string // what the table and the model do
	Linux    string // what Linux does instead
	Evidence string // what the run observed (filled in by the run)
}

// Scenario is one scripted exchange with the kernel, read from a file of
// testdata/scenarios (see [ParseScenario]).
type Scenario struct {
	Name    string // the file's name without ".txt"
	File    string // the file it was read from
	Summary string
	// Exchange is the expected segment exchange, one segment a line:
	// "DIR FLAGS[ text][ FATE][ QUANT]" with DIR "out" (ours to the
	// kernel) or "in", FLAGS as spec.Flags prints them without PSH,
	// "text" when the segment carries text, FATE "dropped", "lost" or
	// "injected" (delivered otherwise) and QUANT one of "?", "*", "+".
	Exchange string
	// Deviations lists the deviations the scenario must show; each
	// deviating checkpoint or evidence command of the script fills in one
	// of them.
	Deviations []Deviation
	steps      []scriptStep
	// retransmissions keeps retransmitted segments in the exchange; by
	// default a segment identical to one delivered before (a
	// retransmission a loaded machine provoked, or the duplicate ACK that
	// answers it) is left out before matching.
	retransmissions bool
	// rtoMin is our endpoint's minimum RTO; default 1 s (RFC 6298 §2.4),
	// so that a loaded machine does not make us retransmit a segment the
	// kernel has already acknowledged.
	rtoMin time.Duration
}

// Result is the outcome of one scenario.
type Result struct {
	Name, Summary string
	Failures      []string    // empty when the scenario passed
	Deviations    []Deviation // the expected deviations, with their evidence
	Transcript    string      // the side-by-side transcript
	Packets       int         // TCP packets that crossed the link
	Elapsed       time.Duration
}

// Pass reports whether the scenario passed.
func (r Result) Pass() bool { return len(r.Failures) == 0 }

// Options configure a run of the suite.
type Options struct {
	MSL time.Duration // our endpoint's MSL; TIME-WAIT lasts 2*MSL; default 500ms
	// Full prints every packet in transcripts; by default long runs of
	// data and ACK segments that change no state are summarised.
	Full bool
}

// Addresses of the two sides on the TUN device.
var (
	kernelIP = netip.MustParseAddr("192.0.2.1")
	oursIP   = netip.MustParseAddr("192.0.2.2")
)

// Side names an end of the connection.
type Side uint8

// The two sides.
const (
	Ours Side = iota
	Kernel
)

func (s Side) String() string {
	if s == Ours {
		return "ours"
	}
	return "kernel"
}

type entryKind uint8

const (
	ePacket entryKind = iota
	eTrans
	eUser
	eStep
	eNote
)

// entry is one line of a scenario's log.
type entry struct {
	kind entryKind
	pkt  impl.TUNPacket
	fate impl.Fate
	tr   impl.Transition
	side Side
	text string

	ours, kern   spec.State // observed, after the entry
	mOurs, mKern spec.State // predicted by the model, after the entry
	kernKnown    bool
	dev          bool
	inTuple      bool // a transition of the scenario's connection (or its listener before it)
}

// env is the world of one scenario: our stack on a fresh TUN link, the
// kernel's sockets, the log, and the two predictors.
type env struct {
	changed chan struct{} // kicked at every packet and transition (see await)
	sc      *Scenario
	opt     Options
	link    *impl.TUNLink
	stack   *impl.Stack
	kPort   uint16 // the kernel's port in this scenario
	oPort   uint16 // our listening port in this scenario

	mu           sync.Mutex
	log          []entry
	seen         map[uint64]bool
	tupleKnown   bool
	kEnd, oEnd   netip.AddrPort
	kISS, oISS   spec.Seq
	kISSKnown    bool
	oISSKnown    bool
	oWS, kWS     int8 // window scale shifts offered in each side's SYN, -1 for none
	ours, kern   *predictor
	oListen      bool
	kListen      bool
	pendingSent  []impl.TUNPacket
	failures     []string
	devs         []Deviation
	lastOurs     spec.State
	lastKern     spec.State
	observeState bool
	kaCount      int // the kernel socket's TCP_KEEPCNT once the script turned keepalive on, else 0
	closers      []func()
	sv           scriptVars // the script's sockets
}

var machine = func() *spec.Machine {
	m, err := spec.NewMachine(spec.Table())
	if err != nil {
		panic(err) // the table is validated by spec's tests
	}
	return m
}()

var loadScenarios = sync.OnceValues(func() ([]Scenario, error) { return loadScenarioFiles(scenarioFiles, ScenarioDir, shownScenarioDir) })

// Scenarios returns the suite compiled into the binary (the files of
// check/live/kernel/testdata/scenarios), in the order of their names. The
// error names the file and line of a scenario that does not parse.
func Scenarios() ([]Scenario, error) {
	all, err := loadScenarios()
	return slices.Clone(all), err
}

// Names returns the names of the scenarios, in suite order.
func Names() ([]string, error) {
	all, err := loadScenarios()
	out := make([]string, len(all))
	for i, s := range all {
		out[i] = s.Name
	}
	return out, err
}

// Available returns nil when the suite can run here: root and
// /dev/net/tun. It must run inside a private network namespace (see
// impl.ReexecInPrivateNetns); Run refuses otherwise.
func Available() error { return impl.TUNAvailable() }

// Run runs the named scenarios (all when names is empty) one after the
// other, each on a fresh TUN link and stack, in this process's network
// namespace, which must be private.
func Run(names []string, opt Options) ([]Result, error) {
	if opt.MSL == 0 {
		opt.MSL = 500 * time.Millisecond
	}
	scenarios, err := loadScenarios()
	if err != nil {
		return nil, err
	}
	var todo []int
	if len(names) == 0 {
		for i := range scenarios {
			todo = append(todo, i)
		}
	}
	for _, n := range names {
		i := slices.IndexFunc(scenarios, func(s Scenario) bool { return s.Name == n })
		if i < 0 {
			all, _ := Names()
			return nil, fmt.Errorf("kernel: no scenario %q; the scenarios are %s", n, strings.Join(all, ", "))
		}
		todo = append(todo, i)
	}
	if !impl.InPrivateNetns() {
		return nil, errors.New("kernel: the suite must run in a private network namespace (impl.ReexecInPrivateNetns)")
	}
	// Each scenario starts from the kernel's defaults: it must not inherit
	// RTT or ssthresh the kernel cached for 192.0.2.2 from an earlier one.
	// The namespace is private, so this changes nothing outside it.
	if err := os.WriteFile("/proc/sys/net/ipv4/tcp_no_metrics_save", []byte("1"), 0); err != nil {
		return nil, fmt.Errorf("kernel: turning off the TCP metrics cache in the namespace: %v", err)
	}
	var out []Result
	for _, i := range todo {
		r, err := runOne(&scenarios[i], uint16(i), opt)
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}

func runOne(sc *Scenario, idx uint16, opt Options) (Result, error) {
	start := time.Now()
	link, err := impl.OpenTUN(impl.TUNConfig{})
	if err != nil {
		return Result{}, err
	}
	e := &env{changed: make(chan struct{}, 1), sc: sc, opt: opt, link: link, kPort: 20000 + idx*10, oPort: 30000 + idx*10,
		oWS: -1, kWS: -1, seen: map[uint64]bool{}, ours: newPredictor(machine), kern: newPredictor(machine), observeState: true}
	link.SetTap(e.tap)
	rtoMin := sc.rtoMin
	if rtoMin == 0 {
		rtoMin = time.Second
	}
	stack, err := impl.NewStack(link, impl.Options{
		MSL: opt.MSL, RTOInitial: time.Second, RTOMin: rtoMin, RTOMax: 5 * time.Second,
		Tracer: impl.Tracer{Transition: e.transition, Extra: e.extra},
	})
	if err != nil {
		link.Close()
		return Result{}, err
	}
	e.stack = stack
	runErr := func() (err error) {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("panic: %v", p)
			}
		}()
		return e.runScript()
	}()
	if runErr != nil {
		e.fail("%v", runErr)
	}
	e.mu.Lock()
	closers := e.closers
	e.mu.Unlock()
	for i := len(closers) - 1; i >= 0; i-- {
		closers[i]()
	}
	link.SetFilter(nil)
	stack.Close()
	e.mu.Lock()
	defer e.mu.Unlock()
	e.checkExchange()
	for _, d := range sc.Deviations {
		if !slices.ContainsFunc(e.devs, func(x Deviation) bool { return x.ID == d.ID }) {
			e.failures = append(e.failures, fmt.Sprintf("expected deviation %q (%s) was not shown", d.ID, d.RFC))
		}
	}
	r := Result{Name: sc.Name, Summary: sc.Summary, Failures: e.failures, Deviations: e.devs, Elapsed: time.Since(start)}
	for _, x := range e.log {
		if x.kind == ePacket && x.fate != impl.FateHeld && x.fate != impl.FateSent {
			r.Packets++
		}
	}
	r.Transcript = e.render()
	return r, nil
}

func (e *env) fail(format string, args ...any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.failures = append(e.failures, fmt.Sprintf(format, args...))
	e.log = append(e.log, entry{kind: eNote, text: "FAIL: " + fmt.Sprintf(format, args...)})
}

func (e *env) note(format string, args ...any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.log = append(e.log, entry{kind: eNote, text: fmt.Sprintf(format, args...)})
}

// belongs reports whether a packet or transition is of the scenario's
// connection, learning the 4-tuple from the first SYN.
func (e *env) belongs(ours, kern netip.AddrPort, syn bool) bool {
	if !e.tupleKnown {
		if !syn {
			return false
		}
		e.tupleKnown, e.oEnd, e.kEnd = true, ours, kern
	}
	return ours == e.oEnd && kern == e.kEnd
}

// tap is the link's tap: it logs every packet and feeds the predictors.
// A packet is "sent" when it reaches the link: that is when its sender's
// model learns of it. An outbound packet delivered has been processed by
// the kernel when the write returns, so the kernel's model steps then and
// the kernel's state is read at once.
func (e *env) tap(p impl.TUNPacket, f impl.Fate) {
	defer e.kick()
	e.mu.Lock()
	defer e.mu.Unlock()
	syn := p.Header.Flags.Has(spec.SYN)
	x := entry{kind: ePacket, pkt: p, fate: f}
	if p.Dir == impl.Outbound {
		in := e.belongs(p.Src, p.Dst, syn && !p.Header.Flags.Has(spec.ACK) && !p.Injected)
		if in && syn && !e.oISSKnown && !p.Injected {
			e.oISS, e.oISSKnown, e.oWS = p.Header.Seq, true, p.WScale
		}
		if f == impl.FateSent && in && !p.Injected {
			e.pendingSent = append(e.pendingSent, p)
		}
		if f == impl.FateDelivered && in {
			e.applyPendingSent()
			if _, err := e.kern.step(spec.Classify(p.Header.Flags, p.Len), &p.Header, p.Len); err != nil {
				e.failures = append(e.failures, err.Error())
			}
			if e.kListen {
				e.kern.relisten()
			}
			e.observeKernel(&x)
		}
	} else {
		in := e.belongs(p.Dst, p.Src, syn && !p.Header.Flags.Has(spec.ACK))
		if in && syn && !e.kISSKnown {
			e.kISS, e.kISSKnown, e.kWS = p.Header.Seq, true, p.WScale
		}
		if f == impl.FateSent && in {
			from := e.kern.state()
			if ok, err := e.kern.keepAlive(p.Header, p.Len, e.kaCount); err != nil {
				e.failures = append(e.failures, err.Error())
			} else if ok {
				what := fmt.Sprintf("KEEPALIVE, probe %d of %d", e.kern.probes, e.kaCount)
				if !e.kern.state().HasTCB() {
					what = fmt.Sprintf("KEEPALIVE-OUT, %d probes unanswered", e.kaCount)
				}
				e.log = append(e.log, entry{kind: eNote, text: fmt.Sprintf("kernel model: %s: %s -> %s", what, from, e.kern.state())})
			}
			e.kern.sent(p.Header, p.Len, e.window(Kernel, p.Header))
			e.observeKernel(&x)
		}
	}
	x.ours, x.mOurs, x.mKern = e.lastOurs, e.ours.state(), e.kern.state()
	e.log = append(e.log, x)
}

// window returns the window a segment from side s offers: its window
// field, shifted by s's scale once both SYNs offered scaling (RFC 7323
// §2.2); a SYN's window is never scaled.
func (e *env) window(s Side, h wire.Header) uint32 {
	w := uint32(h.Window)
	if h.Flags.Has(spec.SYN) || e.oWS < 0 || e.kWS < 0 {
		return w
	}
	if s == Ours {
		return w << e.oWS
	}
	return w << e.kWS
}

// observeKernel reads the kernel's state of the connection into x.
func (e *env) observeKernel(x *entry) {
	if !e.observeState {
		return
	}
	socks, err := ReadSockets()
	if err != nil {
		return
	}
	st, _ := connState(socks, e.kEnd, e.oEnd, e.kListen)
	x.kern, x.kernKnown = st, true
	e.lastKern = st
}

func (e *env) applyPendingSent() {
	for _, p := range e.pendingSent {
		e.ours.sent(p.Header, p.Len, e.window(Ours, p.Header))
	}
	e.pendingSent = e.pendingSent[:0]
}

// transition is our stack's tracer: our side's model steps over the same
// events and must choose the same row.
func (e *env) transition(t impl.Transition) {
	defer e.kick()
	e.mu.Lock()
	defer e.mu.Unlock()
	listenerLevel := !t.Remote.IsValid()
	var in bool
	switch {
	case listenerLevel:
		in = !e.tupleKnown && t.Local.Port() == e.oPort
		if t.Event == spec.PassiveOpen {
			e.oListen = true
		}
		if t.To == spec.Closed {
			e.oListen = false
		}
	default:
		syn := t.In != nil && t.In.Header.Flags == spec.SYN || t.Event == spec.ActiveOpen
		in = e.belongs(t.Local, t.Remote, syn)
	}
	if in {
		var h *wire.Header
		n := 0
		if t.In != nil {
			h, n = &t.In.Header, t.In.Len
		}
		row, err := e.ours.step(t.Event, h, n)
		switch {
		case err != nil:
			e.failures = append(e.failures, err.Error())
		case row != t.Row || e.ours.state() != t.To:
			e.failures = append(e.failures, fmt.Sprintf("our endpoint applied row %d (%s -> %s) where the model applies row %d (-> %s)",
				t.Row, t.From, t.To, row, e.ours.state()))
		}
		if e.oListen {
			e.ours.relisten()
		}
		e.applyPendingSent()
	}
	if in {
		e.lastOurs = t.To
	}
	e.log = append(e.log, entry{kind: eTrans, tr: t, ours: t.To, mOurs: e.ours.state(), mKern: e.kern.state(), inTuple: in})
}

// extra is our stack's tracer for segments outside any row.
func (e *env) extra(_ time.Time, _, _ netip.AddrPort, sent bool, s impl.Segment, why string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if sent {
		e.applyPendingSent()
	}
	e.log = append(e.log, entry{kind: eNote, text: fmt.Sprintf("ours: %s %s (%s)", map[bool]string{true: "sent", false: "got"}[sent], s, why)})
}

// kernelCall records a user call the script is about to make on a kernel
// socket, for the kernel side's model.
func (e *env) kernelCall(ev spec.Event, what string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if ev == spec.PassiveOpen {
		e.kListen = true
	}
	if e.tupleKnown || ev == spec.PassiveOpen || ev == spec.ActiveOpen {
		if _, err := e.kern.step(ev, nil, 0); err != nil {
			e.failures = append(e.failures, err.Error())
		}
	}
	e.log = append(e.log, entry{kind: eUser, side: Kernel, text: what, mOurs: e.ours.state(), mKern: e.kern.state()})
}

// kernelListenerClosed records that the kernel's listener was closed after
// it accepted the connection: later segments of the tuple find no listener.
func (e *env) kernelListenerClosed() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.kListen = false
	e.log = append(e.log, entry{kind: eUser, side: Kernel, text: "close the listener", mOurs: e.ours.state(), mKern: e.kern.state()})
}

// ourState returns our side's state of the connection.
func (e *env) ourState() spec.State {
	conns := e.stack.Connections()
	e.mu.Lock()
	known, oEnd, kEnd, listening := e.tupleKnown, e.oEnd, e.kEnd, e.oListen
	e.mu.Unlock()
	if known {
		for _, c := range conns {
			if c.Local == oEnd && c.Remote == kEnd {
				return c.State
			}
		}
	}
	if listening {
		return spec.Listen
	}
	return spec.Closed
}

// kernelState returns the kernel's state of the connection, and its
// socket line when it has one.
func (e *env) kernelState() (spec.State, *Socket) {
	socks, err := ReadSockets()
	if err != nil {
		return spec.Closed, nil
	}
	e.mu.Lock()
	known, oEnd, kEnd, listening := e.tupleKnown, e.oEnd, e.kEnd, e.kListen
	e.mu.Unlock()
	if !known {
		kEnd = netip.AddrPortFrom(kernelIP, e.kPort)
	}
	return connState(socks, kEnd, oEnd, listening)
}

// step is a checkpoint: it waits until our endpoint is in ours and the
// kernel in kern, and the model predicts the same for both, then logs the
// four states. A mismatch that lasts is a failure.
func (e *env) step(label string, ours, kern spec.State) {
	e.checkpoint(label, ours, kern, kern, nil)
}

// deviate is a checkpoint where Linux is known to differ from the table:
// the kernel must be in linux while the model predicts model, which shows
// the deviation d (one of the scenario's Deviations, by ID).
func (e *env) deviate(label string, ours, linux, model spec.State, id string) {
	i := slices.IndexFunc(e.sc.Deviations, func(d Deviation) bool { return d.ID == id })
	if i < 0 {
		e.fail("deviate: the scenario declares no deviation %q", id)
		return
	}
	d := e.sc.Deviations[i]
	e.checkpoint(label, ours, linux, model, &d)
}

func (e *env) checkpoint(label string, ours, kern, modelKern spec.State, d *Deviation) {
	deadline := time.Now().Add(stepWait())
	var o, k, mo, mk spec.State
	for {
		o = e.ourState()
		k, _ = e.kernelState()
		e.mu.Lock()
		mo, mk = e.ours.state(), e.kern.state()
		e.mu.Unlock()
		if o == ours && k == kern && mo == o && mk == modelKern {
			break
		}
		if time.Now().After(deadline) {
			e.mu.Lock()
			e.log = append(e.log, entry{kind: eStep, text: label, ours: o, kern: k, mOurs: mo, mKern: mk, kernKnown: true})
			e.mu.Unlock()
			e.fail("step %q: want ours %s, kernel %s, model %s/%s; have ours %s, kernel %s, model %s/%s",
				label, ours, kern, ours, modelKern, o, k, mo, mk)
			return
		}
		e.await()
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	x := entry{kind: eStep, text: label, ours: o, kern: k, mOurs: mo, mKern: mk, kernKnown: true}
	if d != nil {
		x.dev = true
		d.Evidence = fmt.Sprintf("scenario %s, step %q: the kernel is in %s where the model predicts %s", e.sc.Name, label, k, mk)
		e.devs = append(e.devs, *d)
	}
	e.log = append(e.log, x)
}

// evidence adds what a run measured to the deviation with the given ID,
// for deviations that are not about states (e.g. a timer's length).
func (e *env) evidence(id, what string) {
	i := slices.IndexFunc(e.sc.Deviations, func(d Deviation) bool { return d.ID == id })
	if i < 0 {
		e.fail("evidence: the scenario declares no deviation %q", id)
		return
	}
	d := e.sc.Deviations[i]
	d.Evidence = fmt.Sprintf("scenario %s: %s", e.sc.Name, what)
	e.mu.Lock()
	e.devs = append(e.devs, d)
	e.log = append(e.log, entry{kind: eNote, text: "DEVIATION " + id + ": " + what})
	e.mu.Unlock()
}

// waitFor waits until cond holds, looking again at every event, for at
// most stepWait.
func (e *env) waitFor(what string, cond func() bool) error {
	wait := stepWait()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out waiting for %s (%v)", what, wait.Round(time.Millisecond))
		}
		e.await()
	}
	return nil
}

// waitHeld waits until the link holds n packets.
func (e *env) waitHeld(n int) error {
	return e.waitFor(fmt.Sprintf("%d held packets", n), func() bool { return len(e.link.Held()) >= n })
}

// waitPacket waits until a packet matching pred has been delivered.
func (e *env) waitPacket(what string, pred func(impl.TUNPacket) bool) error {
	return e.waitFor(what, func() bool {
		e.mu.Lock()
		defer e.mu.Unlock()
		for _, x := range e.log {
			if x.kind == ePacket && x.fate == impl.FateDelivered && pred(x.pkt) {
				return true
			}
		}
		return false
	})
}

// packet returns the first packet delivered that matches pred.
func (e *env) packet(pred func(impl.TUNPacket) bool) (impl.TUNPacket, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, x := range e.log {
		if x.kind == ePacket && x.fate == impl.FateDelivered && pred(x.pkt) {
			return x.pkt, true
		}
	}
	return impl.TUNPacket{}, false
}

// sndNxt returns the highest sequence number our side has sent.
func (e *env) sndNxt() spec.Seq {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.ours.tcb.SndNxt()
}

// kernelRcvNxt returns the model's RCV.NXT of the kernel side.
func (e *env) kernelRcvNxt() spec.Seq {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.kern.tcb.RcvNxt()
}

// onClose registers cleanup for the end of the scenario.
func (e *env) onClose(f func()) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.closers = append(e.closers, f)
}

// closeQuietly closes c, ignoring errors (cleanup only).
func closeQuietly(c io.Closer) { c.Close() }

// kernelAddr is the kernel's end of the scenario.
func (e *env) kernelAddr() netip.AddrPort { return netip.AddrPortFrom(kernelIP, e.kPort) }

// ourAddr is our listening end of the scenario.
func (e *env) ourAddr() netip.AddrPort { return netip.AddrPortFrom(oursIP, e.oPort) }

// kernelListen opens a kernel listener on the scenario's kernel port.
func (e *env) kernelListen() (*net.TCPListener, error) {
	e.kernelCall(spec.PassiveOpen, "listen()")
	l, err := net.ListenTCP("tcp4", net.TCPAddrFromAddrPort(e.kernelAddr()))
	if err != nil {
		return nil, err
	}
	e.onClose(func() { l.Close() })
	return l, nil
}

// osEnv is os.Getenv, for the test's knobs.
var osEnv = os.Getenv

// exchangeLine renders a packet for Exchange matching.
func exchangeLine(p impl.TUNPacket, f impl.Fate) string {
	s := p.Dir.String() + " " + (p.Header.Flags &^ spec.PSH).String()
	if p.Len > 0 {
		s += " text"
	}
	switch {
	case p.Injected:
		s += " injected"
	case f == impl.FateDropped:
		s += " dropped"
	case f == impl.FateLost:
		s += " lost"
	}
	return s
}

// exchangeRegexp turns an Exchange pattern into a regular expression over
// exchange lines. A line of the pattern is one expected segment, or
// several chains of them that the network may interleave in any order:
// chains separated by " & ", the segments of a chain by ", " in their
// order (the kernel's ACK and our RST, sent by the two sides at once,
// arrive in either order: "out ACK, out RST & in ACK?").
func exchangeRegexp(pattern string) (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString(`^`)
	for _, line := range strings.Split(pattern, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		var chains [][]string
		n := 0
		for _, ch := range strings.Split(line, " & ") {
			var chain []string
			for _, seg := range strings.Split(ch, ", ") {
				re, err := segmentRegexp(strings.TrimSpace(seg))
				if err != nil {
					return nil, err
				}
				chain = append(chain, re)
			}
			chains = append(chains, chain)
			n += len(chain)
		}
		if len(chains) > 1 && n > maxInterleaved {
			return nil, fmt.Errorf("kernel: exchange line %q: %d segments in chains that interleave; at most %d", line, n, maxInterleaved)
		}
		b.WriteString("(?:" + strings.Join(interleavings(chains), "|") + ")")
	}
	b.WriteString(`$`)
	return regexp.Compile(b.String())
}

// maxInterleaved bounds the segments of one line of interleaved chains
// (the alternatives grow as their multinomial coefficient).
const maxInterleaved = 6

// segmentRegexp is the expression of one expected segment:
// "DIR FLAGS [text] [FATE] [QUANT]".
func segmentRegexp(seg string) (string, error) {
	quant := ""
	if n := len(seg); n > 0 && strings.ContainsAny(seg[n-1:], "?*+") {
		quant, seg = seg[n-1:], strings.TrimSpace(seg[:n-1])
	}
	f := strings.Fields(seg)
	if len(f) < 2 || (f[0] != "in" && f[0] != "out") || f[0] == "&" {
		return "", fmt.Errorf("kernel: exchange line %q: want DIR FLAGS [text] [FATE] [QUANT], or chains of them joined by \", \" and \" & \"", seg)
	}
	return fmt.Sprintf("(?:%s\n)%s", regexp.QuoteMeta(seg), quant), nil
}

// interleavings returns every merge of the chains that keeps the order
// within each, each as the concatenation of its segments' expressions.
func interleavings(chains [][]string) []string {
	var out []string
	var rec func(prefix string, rest [][]string)
	rec = func(prefix string, rest [][]string) {
		empty := true
		for i, ch := range rest {
			if len(ch) == 0 {
				continue
			}
			empty = false
			next := append([][]string(nil), rest...)
			next[i] = ch[1:]
			rec(prefix+ch[0], next)
		}
		if empty {
			out = append(out, prefix)
		}
	}
	rec("", chains)
	return out
}

// checkExchange compares the packets that crossed the link (in the order
// they reached their destination, or were lost) with the scenario's
// Exchange. Called with e.mu held.
func (e *env) checkExchange() {
	if e.sc.Exchange == "" {
		return
	}
	re, err := exchangeRegexp(e.sc.Exchange)
	if err != nil {
		e.failures = append(e.failures, err.Error())
		return
	}
	type key struct {
		dir      impl.Direction
		flags    spec.Flags
		seq, ack spec.Seq
		n        int
	}
	delivered := map[key]bool{}
	var b strings.Builder
	for _, x := range e.log {
		if x.kind != ePacket || x.fate == impl.FateHeld || x.fate == impl.FateSent {
			continue
		}
		k := key{x.pkt.Dir, x.pkt.Header.Flags, x.pkt.Header.Seq, x.pkt.Header.Ack, x.pkt.Len}
		if !e.sc.retransmissions && !x.pkt.Injected && delivered[k] {
			continue
		}
		if x.fate == impl.FateDelivered {
			delivered[k] = true
		}
		b.WriteString(exchangeLine(x.pkt, x.fate) + "\n")
	}
	if !re.MatchString(b.String()) {
		e.failures = append(e.failures, fmt.Sprintf("segment exchange differs from the expected one:\nwant:\n%s\nhave:\n%s",
			indent(strings.TrimSpace(e.sc.Exchange)), indent(strings.TrimSpace(b.String()))))
	}
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(s, "\n", "\n    ")
}
