package tester

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"runtime"
	"sync"
	"time"

	"github.com/tcpcheck/tcpcheck/check/live/dut"
	"github.com/tcpcheck/tcpcheck/impl/wire"
	"github.com/tcpcheck/tcpcheck/spec"
)

// Verdict is the outcome of one case.
type Verdict uint8

// The verdicts.
const (
	Agree       Verdict = iota // the DUT did what the table says at every step
	Deviation                  // a registered, documented difference showed
	NotDrivable                // the socket API of the DUT cannot make one of the case's calls
	Disagree                   // the DUT did something else than the table: a failure
	// NeedsFull: the case waits for a timer the DUT keeps long whatever is
	// asked (Linux's 60 s TIME-WAIT) and was not run; it runs with
	// `tcpcheck conform --full` ([SplitFull]).
	NeedsFull
	numVerdicts
)

var verdictNames = [...]string{"agree", "deviation", "not drivable", "DISAGREE", "needs --full"}

func (v Verdict) String() string { return verdictNames[v] }

// Addresses of the tester and the DUT (RFC 5737 documentation range); the
// DUT is a fresh stack per case, so the ports are fixed too.
var (
	DUTAddr    = netip.MustParseAddr("192.0.2.1")
	TesterAddr = netip.MustParseAddr("192.0.2.2")
)

const (
	dutPort    = 80
	testerPort = 40000
)

// Timer profiles: cases that wait for no timer run with long timers, so
// that no retransmission or expiry comes in their way; the others with
// short ones.
var (
	longTimers  = dut.Timers{TimeWait: 60 * time.Second, RTOMin: 3 * time.Second, RTOMax: 10 * time.Second, SynRetries: 6, SynAckRetries: 5, DataRetries: 15}
	shortTimers = dut.Timers{TimeWait: 2 * time.Second, RTOMin: 200 * time.Millisecond, RTOMax: 2 * time.Second, SynRetries: 1, SynAckRetries: 1, DataRetries: 2}
	// shortKeepAlive is the keep-alive of the cases of the keepalive rows
	// (the others run without): probes after 1 s idle, 1 s apart, and the
	// connection given up after 2 unanswered.
	shortKeepAlive = dut.KeepAlive{Idle: time.Second, Interval: time.Second, Probes: 2}
)

// keepAliveCase reports whether case c waits for the keepalive timer.
func keepAliveCase(c *Case) bool {
	for _, m := range c.Moves {
		if isKeepAlive(m.Event) {
			return true
		}
	}
	return false
}

func isKeepAlive(e spec.Event) bool {
	return e == spec.KeepAliveTimeout || e == spec.KeepAliveExhausted
}

// Options tune a run.
type Options struct {
	// Parallel is the number of cases run at once; default 24 per CPU.
	Parallel int
	// Quiet is how long the tester waits to see that the DUT sends
	// nothing (where the row sends nothing, and after a case's last
	// step); default 150 ms.
	Quiet time.Duration
	// Deadline bounds each case; default 30 s.
	Deadline time.Duration
	// Deviations are the registered deviations of the DUT.
	Deviations []dut.Deviation
	// Reference, when the model run is a mutant, is the model of the
	// correct table: a registered deviation then excuses a step only where
	// the mutant expects what the reference expects, since deviations are
	// registered against the table, not against a mutant.
	Reference *Model
	// Progress, when set, is called after each case (from one goroutine
	// at a time).
	Progress func(done, total int, r *Result)
}

// defaultQuiet is Options.Quiet's default.
const defaultQuiet = 150 * time.Millisecond

func (o *Options) fill() {
	if o.Parallel <= 0 {
		// Cases spend most of their time waiting for the DUT.
		o.Parallel = 24 * runtime.GOMAXPROCS(0)
	}
	if o.Quiet <= 0 {
		o.Quiet = defaultQuiet
	}
	if o.Deadline <= 0 {
		o.Deadline = 30 * time.Second
	}
}

// Step is the record of one move of a case as run.
type Step struct {
	Move      Move
	Row       int            // the row the table selected (-1: none)
	Sent      *Seg           // the tester's segment, for a segment move
	Want      []spec.Segment // what the table says the DUT sends
	Got       []Seg          // what the DUT sent
	Ignored   []Seg          // retransmissions of earlier segments, allowed by the RTO row at any time
	WantState spec.State
	GotState  spec.State
	StateSeen bool // the DUT exposes its state and GotState was read
	// WantSignal is the user signal of the step's row (spec.SignalReset,
	// SignalRefused or SignalTimeout; zero for none), and GotSignal what
	// the user's socket reported, when SignalSeen (the user still holds
	// the socket); SignalErr is the stack's own error.
	WantSignal spec.Action
	GotSignal  dut.Signal
	SignalErr  string
	SignalSeen bool
	Note       string
	At         time.Duration // when the step ended, from the start of the case
}

// Result is the outcome of one case.
type Result struct {
	Case      *Case
	Verdict   Verdict
	Reason    string // why not drivable, or what disagreed
	Deviation string // the ID of the deviation that showed
	Signature string // what the DUT did at the failing step, in the table's terms
	Expected  string // what the table expected there, rendered alike
	FailStep  int    // the step that decided a verdict other than agree, -1 for none
	Steps     []Step
	Elapsed   time.Duration
}

// Run runs the suite's cases on fresh stacks from newDUT and returns a
// result per case, in the suite's order.
func Run(s *Suite, newDUT dut.New, opt Options) []*Result {
	return RunCases(s.Model, s.Cases, newDUT, opt)
}

// RunCases runs the given cases of model md, opt.Parallel at once; a case
// that disagrees runs once more after the others, and its second result
// stands.
func RunCases(md *Model, cases []*Case, newDUT dut.New, opt Options) []*Result {
	opt.fill()
	out := runAll(md, cases, newDUT, &opt)
	// A case that disagrees runs again once the others are done (with the
	// few others that disagree): the disagreement stands only if it
	// repeats. A loaded machine can delay a segment past a wait of the
	// tester; a stack that does something else than the table does it
	// again.
	var again []int
	var cs []*Case
	for i, r := range out {
		if r.Verdict == Disagree {
			again, cs = append(again, i), append(cs, cases[i])
		}
	}
	if len(again) > 0 {
		o := opt
		o.Progress = nil
		for k, r := range runAll(md, cs, newDUT, &o) {
			out[again[k]] = r
		}
	}
	return out
}

// runAll runs cases, opt.Parallel at once.
func runAll(md *Model, cases []*Case, newDUT dut.New, opt *Options) []*Result {
	out := make([]*Result, len(cases))
	var mu sync.Mutex
	done := 0
	work := make(chan int)
	var wg sync.WaitGroup
	for range min(opt.Parallel, len(cases)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				r := runCase(md, cases[i], newDUT, opt)
				mu.Lock()
				out[i] = r
				done++
				if opt.Progress != nil {
					opt.Progress(done, len(cases), r)
				}
				mu.Unlock()
			}
		}()
	}
	for i := range cases {
		work <- i
	}
	close(work)
	wg.Wait()
	return out
}

// caseRun is the state of one running case.
type caseRun struct {
	md     *Model
	c      *Case
	opt    *Options
	ctx    context.Context
	d      dut.DUT
	p      *Peer
	w      world
	l      dut.Listener
	conn   dut.Conn
	timers dut.Timers
	hist   []Seg // every segment the DUT sent
	twAt   time.Time
	start  time.Time
	// timerStep is set while a move waits for the retransmission timer:
	// a retransmission is then the event itself, not excused.
	timerStep bool
	// ref is the DUT's side as the reference model predicts it, when the
	// run's model is a mutant (Options.Reference).
	ref *world
	// written counts the octets the user wrote; delivered is the text the
	// table hands the user (the tester's text, by sequence number), and
	// eof whether it ends the stream.
	written   uint32
	delivered []byte
	eof       bool
	closed    bool // the user closed or aborted the socket: nothing more to read
	res       *Result
}

func runCase(md *Model, c *Case, newDUT dut.New, opt *Options) *Result {
	start := time.Now()
	res := &Result{Case: c, FailStep: -1}
	ctx, cancel := context.WithTimeout(context.Background(), opt.Deadline)
	defer cancel()
	timers := longTimers
	if c.Timers {
		timers = shortTimers
	}
	cfg := dut.Config{Addr: DUTAddr, Tester: TesterAddr, Timers: timers}
	if keepAliveCase(c) {
		cfg.KeepAlive = shortKeepAlive
	}
	d, err := newDUT(cfg)
	if errors.Is(err, dut.ErrNotDrivable) {
		res.Verdict, res.Reason = NotDrivable, err.Error()
		return res
	}
	if err != nil {
		res.Verdict, res.Reason = Disagree, fmt.Sprintf("the DUT could not be built: %v", err)
		return res
	}
	defer d.Close()
	r := &caseRun{md: md, c: c, opt: opt, ctx: ctx, d: d, w: newWorld(c.Wrap), timers: d.Timers(), res: res, start: start,
		p: &Peer{DUT: d, Addr: TesterAddr, DUTAddr: DUTAddr, Port: testerPort, DUTPort: dutPort}}
	if opt.Reference != nil {
		ref := newWorld(c.Wrap)
		r.ref = &ref
	}
	moves := r.expand(c.Moves)
	if moves == nil {
		res.Verdict, res.Reason = NotDrivable, "the DUT reports no retry limit for "+md.rows[c.Row].From.String()+" (dut.Timers), so the tester cannot tell how many retransmissions come before it gives up"
		res.Elapsed = time.Since(start)
		return res
	}
	ok := true
	for i, m := range moves {
		if ok = r.step(i, m, i == len(moves)-1); !ok {
			break
		}
	}
	if ok {
		if msg := r.checkRead(); msg != "" {
			res.Verdict, res.Reason, res.FailStep = Disagree, msg, len(res.Steps)-1
		}
	}
	if res.Verdict == Agree && res.FailStep < 0 {
		res.Reason = ""
	}
	res.Elapsed = time.Since(start)
	return res
}

// expand inserts, before a retries-exhausted target, the retransmissions
// the DUT makes first: as many as its retry limit for the state (plus the
// model's ExtraRetries); before a keepalive-exhausted one, the probes it
// sends first (shortKeepAlive.Probes), which the tester leaves unanswered.
func (r *caseRun) expand(moves []Move) []Move {
	last := moves[len(moves)-1]
	if last.Event == spec.KeepAliveExhausted {
		out := append([]Move(nil), moves[:len(moves)-1]...)
		for range shortKeepAlive.Probes {
			out = append(out, Move{Event: spec.KeepAliveTimeout, Row: -1})
		}
		return append(out, last)
	}
	if last.Event != spec.RetriesExhausted {
		return moves
	}
	st := r.md.rows[last.Row].From
	k := r.timers.DataRetries
	switch st.RetryClass() {
	case spec.RetrySYN:
		k = r.timers.SynRetries
	case spec.RetrySYNACK:
		k = r.timers.SynAckRetries
	}
	if k <= 0 {
		return nil // the stack keeps no retry limit it can report: see step
	}
	k += r.md.ExtraRetries
	out := append([]Move(nil), moves[:len(moves)-1]...)
	for range k {
		out = append(out, Move{Event: spec.RetransmitTimeout, Row: -1})
	}
	return append(out, last)
}

// fail ends the case with verdict v at step i.
func (r *caseRun) fail(i int, v Verdict, reason string) bool {
	r.res.Verdict, r.res.Reason, r.res.FailStep = v, reason, i
	return false
}

// step runs move i and reports whether the case goes on.
func (r *caseRun) step(i int, m Move, last bool) bool {
	st := Step{Move: m, Row: -1}
	pre := r.w
	var in *spec.Segment
	var seg spec.Segment
	defer func() { st.At = time.Since(r.start); r.res.Steps = append(r.res.Steps, st) }()

	// What the table says, stepped on a copy with a provisional ISS: the
	// real ISS is the DUT's, read from its SYN.
	dry := r.w
	var eff spec.Effect
	if m.Event.IsSegment() {
		seg = dry.seg(m)
		in = &seg
	}
	write := uint32(0)
	if m.Event == spec.Send {
		write = textLen
	}
	if r.md.step(&dry.dut, m.Event, in, 0, write, &eff) == -1 {
		st.Note = "the table has no row for this event"
		return r.fail(i, Disagree, "the table has no row for "+m.String())
	}
	wantN := len(eff.Out)
	needISS := false
	if _, ok := pre.dut.tcb.ISS(); !ok {
		for _, o := range eff.Out {
			needISS = needISS || o.Flags.Has(spec.SYN)
		}
	}

	// Make the move.
	if isKeepAlive(m.Event) && r.w.conn && r.conn == nil {
		// A stack that does not pass keep-alive on from a listening
		// socket (gVisor) has it from the accepted one.
		if err := r.accept(); err != nil {
			return r.fail(i, NotDrivable, fmt.Sprintf("%s: %v", m, err))
		}
	}
	switch {
	case m.Event.IsUser():
		if err := r.call(m.Call); err != nil {
			st.Note = err.Error()
			if errors.Is(err, errHung) {
				return r.fail(i, Disagree, err.Error())
			}
			if errors.Is(err, dut.ErrNotDrivable) {
				return r.fail(i, NotDrivable, fmt.Sprintf("%s: %v", m.Call, err))
			}
			if !isErrSignal(eff.Signal) {
				return r.fail(i, NotDrivable, fmt.Sprintf("%s failed where the table makes the call succeed: %v", m.Call, err))
			}
		}
	case m.Event.IsSegment():
		h := wire.Header{Seq: seg.Seq, Ack: seg.Ack, Flags: seg.Flags, Window: seg.Window, MSS: seg.MSS}
		payload := textAt(seg.Seq, seg.Len)
		sent := Seg{H: h, Payload: payload}
		st.Sent = &sent
		if err := r.p.Send(h, payload); err != nil {
			return r.fail(i, Disagree, fmt.Sprintf("the DUT refused an injected packet: %v", err))
		}
	}

	// Collect what the DUT sends: the segments the table expects, within
	// a deadline that covers the timer the move waits for.
	wait := 2 * time.Second
	switch {
	case isKeepAlive(m.Event):
		// The first probe comes Idle after the last segment, the next
		// ones (and the giving up) Interval apart.
		wait = shortKeepAlive.Idle + shortKeepAlive.Interval + 2*time.Second
	case m.Event.IsTimer():
		wait = r.timerWait(i)
	}
	if m.Event == spec.RetriesExhausted || m.Event == spec.TimeWaitTimeout {
		wantN = 0 // the wait is for the state, below
	}
	var got, ignored []Seg
	r.timerStep = m.Event == spec.RetransmitTimeout
	err := r.collect(&got, &ignored, wantN, eff.Out, wait)
	r.timerStep = false
	if err != nil {
		st.Got, st.Ignored = got, ignored
		return r.fail(i, Disagree, err.Error())
	}

	// Step the expectation for real, with the DUT's ISS.
	iss := spec.Seq(0)
	if needISS {
		for _, g := range got {
			if g.H.Flags.Has(spec.SYN) {
				iss = g.H.Seq
				break
			}
		}
	}
	st.Row = r.md.step(&r.w.dut, m.Event, in, iss, write, &eff)
	st.Want = append([]spec.Segment(nil), eff.Out...)
	if in != nil && eff.Deliver > 0 {
		r.delivered = append(r.delivered, textAt(in.Seq.Add(eff.Skip), eff.Deliver)...)
	}
	r.eof = r.eof || eff.EOF
	r.w.moved(m.Call, in != nil, seg)
	if m.Row >= 0 && st.Row != m.Row {
		st.Note = fmt.Sprintf("generation predicted row %d (%s)", m.Row, r.md.rows[m.Row].Name())
	}

	// Timed states: TIME-WAIT's 2MSL and giving up after the retries.
	if m.Event == spec.TimeWaitTimeout {
		if msg := r.checkTimeWait(); msg != "" {
			st.WantState, st.GotState, st.StateSeen = spec.Closed, spec.TimeWait, true
			st.Got = got
			return r.fail(i, Disagree, msg)
		}
	}

	// Anything more the DUT sends within the quiet time is extra, where
	// the row sends nothing and after the case's last move.
	switch {
	case m.Event == spec.RetransmitTimeout && len(st.Want) == 0:
		// The table says the timer sends nothing here: wait as long as
		// it takes to fire, and count any retransmission.
		r.timerStep = true
		r.quiet(&got, &ignored, wait)
		r.timerStep = false
	case isKeepAlive(m.Event) && len(st.Want) == 0:
		// Likewise for the keepalive timer (a mutant's row that sends
		// no probe or no RST).
		r.quiet(&got, &ignored, wait)
	case last || len(st.Want) == 0:
		r.quiet(&got, &ignored, r.opt.Quiet)
	}
	st.Got, st.Ignored = got, ignored
	for _, g := range got {
		r.w.heard(g.Spec())
	}
	refWant, refSignal := r.stepRef(m, in, seg, iss, write, got)

	// The DUT's state.
	st.WantState = r.w.dut.tcb.State()
	if m.Event == spec.RetriesExhausted {
		// Wait for the DUT to give up, whatever the model expects then.
		st.GotState, st.StateSeen = r.stateLeaves(pre.dut.tcb.State(), wait)
	} else {
		st.GotState, st.StateSeen = r.state(st.WantState, time.Second)
	}
	if st.WantState == spec.TimeWait && r.twAt.IsZero() {
		r.twAt = time.Now()
	}

	if msg := r.checkText(got); msg != "" {
		return r.fail(i, Disagree, msg)
	}
	// The user's signal (RFC 9293 §3.10.7), where the row gives one and
	// the user still holds the socket: compared once the segments and
	// the state agree.
	if _, ok := signalOf(eff.Signal); ok {
		st.WantSignal = eff.Signal
		r.signal(&st)
	}
	msg := compare(st.Want, got)
	badState := st.StateSeen && st.GotState != st.WantState
	badSignal := msg == "" && !badState && st.SignalSeen && st.GotSignal != signalWant(st.WantSignal)
	if msg != "" || badState || badSignal {
		switch {
		case badState && msg == "":
			msg = fmt.Sprintf("the DUT is in %v, the table says %v", st.GotState, st.WantState)
		case badSignal:
			msg = fmt.Sprintf("the user's socket reports %s, the table signals %s", renderSignal(st.GotSignal, st.SignalErr), st.WantSignal)
		}
		r.res.Signature = signature(&pre, &r.w, in, got, st)
		rowName := "?"
		switch {
		case st.Row >= 0:
			rowName = r.md.rows[st.Row].Name()
		case st.Row == RowHeld:
			rowName = "held out-of-order segment"
		}
		r.res.Expected = wantSignature(&pre, &r.w, in, st)
		if badSignal {
			r.res.Signature += ", signal " + renderSignal(st.GotSignal, st.SignalErr)
			r.res.Expected += ", " + wantSignalText(st.WantSignal)
			refWant += ", " + wantSignalText(refSignal)
		}
		from := pre.dut.tcb.State()
		devs := r.opt.Deviations
		if r.ref != nil && refWant != r.res.Expected {
			devs = nil // the mutant's expectation here is not the table's
		}
		for _, d := range devs {
			if Matches(d, rowName, from, r.c.Name+" ", r.res.Signature, r.res.Expected) {
				r.res.Deviation = d.ID
				return r.fail(i, Deviation, fmt.Sprintf("%s: %s", d.ID, msg))
			}
		}
		return r.fail(i, Disagree, fmt.Sprintf("at %s (row %s): %s", m, rowName, msg))
	}
	if m.Row >= 0 && st.Row != m.Row {
		return r.fail(i, Disagree, "the run took another row than the case was generated for: "+st.Note)
	}
	return true
}

// stepRef steps the reference model's world with the move just made and
// returns its expectation rendered as wantSignature does and its signal to
// the user, or "" without a reference.
func (r *caseRun) stepRef(m Move, in *spec.Segment, seg spec.Segment, iss spec.Seq, write uint32, got []Seg) (string, spec.Action) {
	if r.ref == nil {
		return "", 0
	}
	pre := *r.ref
	var eff spec.Effect
	row := r.opt.Reference.step(&r.ref.dut, m.Event, in, iss, write, &eff)
	r.ref.moved(m.Call, in != nil, seg)
	for _, g := range got {
		r.ref.heard(g.Spec())
	}
	st := Step{Row: row, Want: append([]spec.Segment(nil), eff.Out...), WantState: r.ref.dut.tcb.State()}
	return wantSignature(&pre, r.ref, in, st), eff.Signal
}

// textAt is the tester's text at sequence numbers seq..seq+n-1: a
// function of the sequence number alone, so that text the DUT delivers
// shows where in the stream it came from.
func textAt(seq spec.Seq, n uint32) []byte {
	b := make([]byte, n)
	for k := range b {
		b[k] = byte((uint32(seq) + uint32(k)) * 2654435761 >> 24)
	}
	return b
}

// userText returns the next n octets the user writes: a function of the
// offset in the stream.
func (r *caseRun) userText(n uint32) []byte {
	b := make([]byte, n)
	for k := range b {
		b[k] = byte((r.written+uint32(k))*40503 + 17)
	}
	r.written += n
	return b
}

// checkText checks the text of the DUT's segments against what the user
// wrote: the octet at SEG.SEQ+k is the user's octet number
// SEG.SEQ+k-ISS-1.
func (r *caseRun) checkText(got []Seg) string {
	iss, ok := r.w.dut.tcb.ISS()
	if !ok {
		return ""
	}
	for _, g := range got {
		off := g.H.Seq.Sub(iss + 1)
		if g.H.Flags.Has(spec.SYN) || len(g.Payload) == 0 || off >= 1<<30 {
			continue
		}
		for k, c := range g.Payload {
			if want := byte((off+uint32(k))*40503 + 17); c != want || off+uint32(k) >= r.written {
				return fmt.Sprintf("the DUT sent text %v, which is not what the user wrote at stream offset %d", g, off+uint32(k))
			}
		}
	}
	return ""
}

// checkRead reads, at the end of a case whose connection is still
// synchronized, the text the table delivered to the user, and the end of
// the stream when the peer's FIN was accepted.
func (r *caseRun) checkRead() string {
	st := r.w.dut.tcb.State()
	if len(r.delivered) == 0 && !r.eof || !st.Synchronized() || !r.w.conn || r.closed {
		return ""
	}
	if err := r.accept(); err != nil {
		return ""
	}
	ctx, cancel := context.WithTimeout(r.ctx, 2*time.Second)
	defer cancel()
	var got []byte
	buf := make([]byte, 256)
	for len(got) < len(r.delivered) {
		n, err := r.conn.Read(ctx, buf)
		got = append(got, buf[:n]...)
		if err != nil {
			break
		}
	}
	if string(got) != string(r.delivered) {
		return fmt.Sprintf("the user read %d octets %x; the table delivers %d octets %x", len(got), got, len(r.delivered), r.delivered)
	}
	if r.eof {
		ctx, cancel := context.WithTimeout(r.ctx, time.Second)
		defer cancel()
		if n, err := r.conn.Read(ctx, buf); !errors.Is(err, io.EOF) {
			return fmt.Sprintf("after the text the user read %d more octets and %v; the table ends the stream (the peer's FIN)", n, err)
		}
	}
	return ""
}

// signalOf returns the socket's report of a table's signal to the user
// that ends a connection, and whether a is one.
func signalOf(a spec.Action) (dut.Signal, bool) {
	switch a {
	case spec.SignalReset:
		return dut.SignalReset, true
	case spec.SignalRefused:
		return dut.SignalRefused, true
	case spec.SignalTimeout:
		return dut.SignalTimeout, true
	}
	return dut.SignalNone, false
}

// signalWant is signalOf's signal, SignalNone for an action that is none.
func signalWant(a spec.Action) dut.Signal {
	s, _ := signalOf(a)
	return s
}

// renderSignal renders what a socket reported: "reset", or "other
// (broken pipe)" with the stack's error.
func renderSignal(s dut.Signal, err string) string {
	if s == dut.SignalOther {
		return fmt.Sprintf("%s (%s)", s, err)
	}
	return s.String()
}

// wantSignalText renders the table's signal at a step: "signal reset",
// or "signal none" where the row gives none that ends the connection.
func wantSignalText(a spec.Action) string {
	if _, ok := signalOf(a); ok {
		return a.String()
	}
	return "signal none"
}

// signalWait bounds how long the tester waits for the socket to report
// the connection's failure: the state already says the connection ended.
const signalWait = time.Second

// signal asks the user's socket what it reports and records it in st. A user who closed the
// socket, or whose listener never handed out the connection, is told
// nothing: st.SignalSeen stays false, with a note.
func (r *caseRun) signal(st *Step) {
	if r.closed || r.conn == nil && r.l == nil {
		st.addNote("the user holds no socket of the connection: the table's " + st.WantSignal.String() + " reaches nobody")
		return
	}
	if err := r.accept(); err != nil {
		st.addNote("the listener did not hand out the connection, so no socket reports the table's " + st.WantSignal.String())
		return
	}
	ctx, cancel := context.WithTimeout(r.ctx, signalWait)
	defer cancel()
	type res struct {
		s   dut.Signal
		err error
	}
	ch := make(chan res, 1)
	go func() {
		s, err := r.conn.Signal(ctx)
		ch <- res{s, err}
	}()
	select {
	case x := <-ch:
		st.GotSignal, st.SignalSeen = x.s, true
		if x.err != nil {
			st.SignalErr = x.err.Error()
		}
	case <-time.After(signalWait + callTimeout):
		st.GotSignal, st.SignalSeen, st.SignalErr = dut.SignalOther, true, "the DUT did not return from Signal"
	}
}

// addNote adds a note to the step's.
func (st *Step) addNote(n string) {
	if st.Note != "" {
		st.Note += "; "
	}
	st.Note += n
}

func isErrSignal(a spec.Action) bool {
	return a == spec.ErrNotExist || a == spec.ErrExists || a == spec.ErrClosing
}

// call makes a socket call on the DUT, bounded in time.
func (r *caseRun) call(c Call) error {
	type res struct{ err error }
	ch := make(chan res, 1)
	go func() {
		var err error
		switch c {
		case CallListen:
			r.l, err = r.d.Listen(dutPort)
		case CallConnect:
			r.conn, err = r.d.Connect(netip.AddrPortFrom(TesterAddr, testerPort))
			r.p.DUTPort = 0 // learned from the SYN
		case CallCloseListener:
			err = r.l.Close()
		default:
			if err = r.accept(); err != nil {
				break
			}
			switch c {
			case CallWrite:
				_, err = r.conn.Write(r.userText(textLen))
			case CallCloseWrite:
				err = r.conn.CloseWrite()
			case CallAbort:
				err, r.closed = r.conn.Abort(), true
			case CallClose:
				err, r.closed = r.conn.Close(), true
			}
		}
		ch <- res{err}
	}()
	select {
	case x := <-ch:
		return x.err
	case <-time.After(callTimeout):
		return fmt.Errorf("%w: the DUT did not return from %s within %v", errHung, c, callTimeout)
	case <-r.ctx.Done():
		return fmt.Errorf("%w: the case's deadline passed during %s", errHung, c)
	}
}

// callTimeout bounds a socket call on the DUT.
const callTimeout = 5 * time.Second

// errHung marks a socket call the DUT did not return from.
var errHung = errors.New("tester: the DUT hung")

// accept takes the passive connection from the listener the first time the
// user needs it.
func (r *caseRun) accept() error {
	if r.conn != nil {
		return nil
	}
	if r.l == nil {
		return fmt.Errorf("%w: no socket for the connection", dut.ErrNotDrivable)
	}
	ctx, cancel := context.WithTimeout(r.ctx, 2*time.Second)
	defer cancel()
	c, err := r.l.Accept(ctx)
	if err != nil {
		return fmt.Errorf("%w: the stack did not hand out the connection: %v", dut.ErrNotDrivable, err)
	}
	r.conn = c
	return nil
}

// timerWait bounds how long move i waits for its timer.
func (r *caseRun) timerWait(i int) time.Duration {
	n := 0 // retransmissions before this one in the case
	for _, s := range r.res.Steps {
		if s.Move.Event == spec.RetransmitTimeout {
			n++
		}
	}
	rto := max(time.Second, r.timers.RTOMin) // the handshake's initial RTO is 1 s (RFC 6298 §2.1)
	w := rto<<(n+1) + 2*time.Second
	return min(w, 20*time.Second)
}

// collect receives segments until n are collected that are not
// retransmissions, or wait passes. It returns an error only for garbage
// or a passed case deadline; missing segments show in the comparison.
func (r *caseRun) collect(got, ignored *[]Seg, n int, want []spec.Segment, wait time.Duration) error {
	if n == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(r.ctx, wait)
	defer cancel()
	for len(*got) < n {
		s, err := r.p.Recv(ctx)
		if err != nil {
			if errors.Is(err, ErrGarbage) {
				return err
			}
			if r.ctx.Err() != nil {
				return fmt.Errorf("the case's deadline of %v passed waiting for the DUT", r.opt.Deadline)
			}
			return nil
		}
		r.sort(s, got, ignored, want)
	}
	return nil
}

// quiet collects what the DUT sends within the quiet time.
func (r *caseRun) quiet(got, ignored *[]Seg, d time.Duration) {
	ctx, cancel := context.WithTimeout(r.ctx, d)
	defer cancel()
	for {
		s, err := r.p.Recv(ctx)
		if err != nil {
			if errors.Is(err, ErrGarbage) {
				*got = append(*got, Seg{})
			}
			return
		}
		r.sort(s, got, ignored, nil)
	}
}

// sort files a segment from the DUT: expected next, a retransmission of
// an earlier one that the table still counts as unacknowledged (which its
// RTO row allows at any time in a state whose retransmission timer runs),
// or something else.
func (r *caseRun) sort(s Seg, got, ignored *[]Seg, want []spec.Segment) {
	k := len(*got)
	if k < len(want) && same(want[k], s) {
		*got = append(*got, s)
		r.hist = append(r.hist, s)
		return
	}
	t := &r.w.dut.tcb
	if !r.timerStep && t.State().Runs(spec.TimerRetransmit) && s.H.Seq.InRange(t.SndUna(), t.SndNxt()) {
		for _, h := range r.hist {
			if h.H.Flags == s.H.Flags && h.H.Seq == s.H.Seq && len(h.Payload) == len(s.Payload) {
				*ignored = append(*ignored, s)
				return
			}
		}
	}
	*got = append(*got, s)
	r.hist = append(r.hist, s)
}

// compareMask are the control bits compared: PSH, URG and the ECN bits
// are the stack's business.
const compareMask = spec.SYN | spec.FIN | spec.RST | spec.ACK

// same reports whether got is the segment want: control bits, SEG.SEQ,
// SEG.ACK (when ACK is set) and the text length.
func same(want spec.Segment, got Seg) bool {
	if want.Flags&compareMask != got.H.Flags&compareMask || want.Seq != got.H.Seq || want.Len != uint32(len(got.Payload)) {
		return false
	}
	return !want.Flags.Has(spec.ACK) || want.Ack == got.H.Ack
}

// compare returns what differs between the expected and the received
// segments, or "".
func compare(want []spec.Segment, got []Seg) string {
	for k := range max(len(want), len(got)) {
		switch {
		case k >= len(got):
			return fmt.Sprintf("the table sends %s; the DUT sent nothing more", fmtSpec(want[k]))
		case k >= len(want):
			return fmt.Sprintf("the DUT sent %v, where the table sends nothing more", got[k])
		case !same(want[k], got[k]):
			return fmt.Sprintf("the table sends %s; the DUT sent %v", fmtSpec(want[k]), got[k])
		}
	}
	return ""
}

func fmtSpec(s spec.Segment) string {
	if s.Flags.Has(spec.ACK) {
		return fmt.Sprintf("%s seq=%d ack=%d len=%d", s.Flags&^spec.PSH, uint32(s.Seq), uint32(s.Ack), s.Len)
	}
	return fmt.Sprintf("%s seq=%d len=%d", s.Flags&^spec.PSH, uint32(s.Seq), s.Len)
}

// state reads the DUT's state of the connection, waiting up to wait for it
// to become want (the DUT processes segments in its own time).
func (r *caseRun) state(want spec.State, wait time.Duration) (spec.State, bool) {
	if r.p.DUTPort == 0 {
		return 0, false
	}
	rem := netip.AddrPortFrom(TesterAddr, testerPort)
	deadline := time.Now().Add(wait)
	for {
		s, ok := r.d.State(r.p.DUTPort, rem)
		if !ok || s == want || time.Now().After(deadline) || r.ctx.Err() != nil {
			return s, ok
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// stateLeaves waits up to wait for the DUT's state of the connection to
// be another than from, and returns the state then.
func (r *caseRun) stateLeaves(from spec.State, wait time.Duration) (spec.State, bool) {
	if r.p.DUTPort == 0 {
		return 0, false
	}
	rem := netip.AddrPortFrom(TesterAddr, testerPort)
	deadline := time.Now().Add(wait)
	for {
		s, ok := r.d.State(r.p.DUTPort, rem)
		if !ok || s != from || time.Now().After(deadline) || r.ctx.Err() != nil {
			return s, ok
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// checkTimeWait checks that TIME-WAIT lasts as the model says: still held
// a little before the expected end, gone a little after it. The expected
// end is the DUT's TIME-WAIT (2MSL) times the model's factor.
func (r *caseRun) checkTimeWait() string {
	f := r.md.TimeWaitFactor
	if f == 0 {
		f = 1
	}
	tw := r.timers.TimeWait
	end := r.twAt.Add(time.Duration(f * float64(tw)))
	early, late := end.Add(-3*tw/10), end.Add(4*tw/10)
	time.Sleep(time.Until(early))
	rem := netip.AddrPortFrom(TesterAddr, testerPort)
	if s, ok := r.d.State(r.p.DUTPort, rem); ok && s != spec.TimeWait {
		return fmt.Sprintf("the DUT left TIME-WAIT (to %v) before %v of the expected %v", s, time.Until(end).Round(time.Millisecond), time.Duration(f*float64(tw)))
	}
	for time.Now().Before(late) && r.ctx.Err() == nil {
		if s, ok := r.d.State(r.p.DUTPort, rem); !ok || s != spec.TimeWait {
			return ""
		}
		time.Sleep(5 * time.Millisecond)
	}
	return fmt.Sprintf("the DUT still holds TIME-WAIT %v after the table's 2MSL of %v ended", time.Since(end).Round(time.Millisecond), time.Duration(f*float64(tw)))
}

// SplitFull separates the cases that wait for a timer the DUT keeps long
// whatever is asked (waits reports it from a case's events; for Linux,
// linuxdut.WaitsFixedTimer) from the others, and gives each of them a
// NeedsFull result with the reason, so that a run without --full says
// which cases it left out and why.
func SplitFull(cases []*Case, waits func([]spec.Event) bool, reason string) (run []*Case, held []*Result) {
	for _, c := range cases {
		events := make([]spec.Event, len(c.Moves))
		for i, m := range c.Moves {
			events[i] = m.Event
		}
		if waits(events) {
			held = append(held, &Result{Case: c, Verdict: NeedsFull, Reason: reason, FailStep: -1})
			continue
		}
		run = append(run, c)
	}
	return run, held
}
