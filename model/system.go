package model

import (
	"fmt"
	"strconv"

	"github.com/tcpcheck/tcpcheck/spec"
)

// rcvWnd is the receive window of both hosts (RCV.WND and MAX.SND.WND): it
// covers all the text a user may write plus the FIN, so flow control never
// holds text back.
const rcvWnd = 4

// System is the model: two hosts running a transition table, their users,
// the network and the clock. It is immutable after construction, so its
// methods are safe for concurrent use.
type System struct {
	cfg     Config
	rows    []spec.Row
	stepRow func(s spec.State, e spec.Event, g spec.GuardSet) int
	to      []spec.State
	do      []spec.Actions
	scen    []scenario // the main scenario, then Config.Also
	iss     [2][]uint8 // ISS choices for incarnation 1
	twTicks uint8
	msl     uint8
	rtoMax  uint8
	retries uint8
	abortBy int // host whose user may abort, or -1
	misuse  [2]bool
	zeroWnd [2]bool // Config.ZeroWindow: the user may close its receive window
	attack  []int   // indices into attackForms of Config.Attack
	mutant  string
	// ackUnbounded drops the delayed ACK's bound: the peer's timers do
	// not wait for an ACK that is owed (the unbounded-delayed-ack mutant).
	ackUnbounded bool
	// ref is the model of the same configuration running the correct
	// table, for a system that runs another table: which guesses the blind
	// attacker makes is a matter of the numbers, judged by the protocol,
	// not by the table under test (see takenForPeer). nil: this system.
	ref  *System
	invs []Property
	// flagProp is the index+1 in invs of the property broken when the
	// key's violation byte holds the flag, 0 for none; called lists the
	// properties Violated must call (see properties).
	flagProp [256]uint8
	called   []int
	// guards[s][e] holds the guards the rows for state s and event e
	// mention: only their outcomes can change the row chosen.
	guards [spec.NumStates][spec.NumEvents]spec.GuardSet
}

// scenario is one way the users open and close, with its own incarnations
// and fault budgets; the world's scen field says which one a state is in.
type scenario struct {
	name         string
	passiveB     bool // B opens passively (client-server)
	prog         [2][]op
	incarnations uint8
	loss, dup    uint8
}

// op is one call of a user's program: the table's event for it (ABORT
// only outside the program, Config.Misuse).
type op struct {
	e       spec.Event
	n       uint8 // octets, for SEND
	needEOF bool  // only after the user has read end of stream
	call    string
}

// opens reports whether o opens a connection (LISTEN or CONNECT).
func (o op) opens() bool { return o.e == spec.PassiveOpen || o.e == spec.ActiveOpen }

// New returns the model of cfg running the correct table, [spec.Table],
// through the step function generated from it (zz_step.go).
func New(cfg Config) (*System, error) {
	m, err := spec.NewMachine(spec.Table())
	if err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	s, err := build(cfg, m, step, "")
	if err != nil {
		return nil, err
	}
	s.to, s.do = tableTo[:], tableDo[:]
	return s, nil
}

// NewWithTable returns the model of cfg running rows, which must pass
// [spec.Validate]; the table is interpreted by [spec.Machine].
func NewWithTable(cfg Config, rows []spec.Row) (*System, error) {
	m, err := spec.NewMachine(rows)
	if err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	s, err := build(cfg, m, m.Step, "")
	if err != nil {
		return nil, err
	}
	if len(cfg.Attack) > 0 || cfg.Inject > 0 {
		if s.ref, err = New(cfg); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// build makes the system for cfg running the table of m, choosing rows with
// stepRow (m.Step or the generated step).
func build(cfg Config, m *spec.Machine, stepRow func(spec.State, spec.Event, spec.GuardSet) int, mutant string) (*System, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	rows := m.Rows()
	s := &System{
		cfg:     cfg,
		rows:    rows,
		stepRow: stepRow,
		to:      make([]spec.State, len(rows)),
		do:      make([]spec.Actions, len(rows)),
		twTicks: uint8(cfg.timeWait()),
		msl:     uint8(cfg.MSL),
		rtoMax:  uint8(cfg.RTOMax),
		retries: uint8(cfg.MaxRetries),
		abortBy: -1,
		mutant:  mutant,
	}
	for i, r := range rows {
		s.to[i], s.do[i] = r.To, r.Actions()
	}
	for st := range spec.NumStates {
		for e := range spec.NumEvents {
			s.guards[st][e] = m.Guards(spec.State(st), spec.Event(e))
		}
	}
	switch cfg.Abort {
	case "a":
		s.abortBy = 0
	case "b":
		s.abortBy = 1
	}
	s.misuse = [2]bool{cfg.Misuse == "a" || cfg.Misuse == "both", cfg.Misuse == "b" || cfg.Misuse == "both"}
	s.zeroWnd = [2]bool{cfg.ZeroWindow == "a" || cfg.ZeroWindow == "both", cfg.ZeroWindow == "b" || cfg.ZeroWindow == "both"}
	forms := cfg.Attack
	if len(forms) == 0 {
		forms = []string{"rst"}
	}
	for _, a := range forms {
		fi, _ := findAttack(a) // checked by Validate
		s.attack = append(s.attack, fi)
	}
	for i, l := range [2][]int{cfg.ISSA, cfg.ISSB} {
		for _, v := range l {
			s.iss[i] = append(s.iss[i], uint8(v))
		}
	}
	for _, sc := range cfg.scenarios() {
		x := scenario{name: sc.String(), passiveB: sc.Open == "client-server",
			incarnations: uint8(sc.Incarnations), loss: uint8(sc.Loss), dup: uint8(sc.Dup)}
		for h := range 2 {
			x.prog[h] = s.program(sc, x.passiveB, h)
		}
		s.scen = append(s.scen, x)
	}
	s.properties()
	return s, nil
}

// program builds the calls user h makes in each incarnation of scenario sc.
func (s *System) program(sc Scenario, passiveB bool, h int) []op {
	c := s.cfg
	var p []op
	if h == 1 && passiveB {
		p = append(p, op{e: spec.PassiveOpen, call: "listen"})
	} else {
		p = append(p, op{e: spec.ActiveOpen, call: "connect"})
	}
	first := sc.Closer == "both" || (sc.Closer == "a") == (h == 0)
	n := c.WriteA
	if h == 1 {
		n = c.WriteB
	}
	for n > 0 {
		k := min(n, c.SendSize)
		p = append(p, op{e: spec.Send, n: uint8(k), needEOF: !first, call: "write " + strconv.Itoa(k)})
		n -= k
	}
	p = append(p, op{e: spec.Close, needEOF: !first, call: "close"})
	return p
}

// Config returns the configuration of the model.
func (s *System) Config() Config { return s.cfg }

// Rows returns the table the hosts run (for coverage names). It must not be
// modified.
func (s *System) Rows() []spec.Row { return s.rows }

// Mutant returns the name of the mutant the system runs, or "" for the
// correct table.
func (s *System) Mutant() string { return s.mutant }

// Init returns the initial states, one per scenario (the main one, then
// Config.Also): both hosts CLOSED except a passive B, which is already
// LISTENing; the scenario's budgets full; incarnation 1.
func (s *System) Init() []Key {
	keys := make([]Key, 0, len(s.scen))
	for i, sc := range s.scen {
		var w world
		w.scen = uint8(i)
		w.round = 1
		w.loss, w.dup, w.inject = sc.loss, sc.dup, uint8(s.cfg.Inject)
		if sc.passiveB {
			w.h[1].st = spec.Listen
			w.h[1].passive = true
			w.h[1].pc = 1
		}
		keys = append(keys, w.encode())
	}
	return keys
}

// terminal reports whether the user has seen its connection fail, which
// ends its program for the incarnation.
func terminal(h *host) bool { return h.sig >= sigReset }

// finished reports whether host i is done with the current incarnation: no
// TCB, and its user has run its program to the end, seen the connection
// fail, or is a server still waiting in LISTEN for a connection.
func (s *System) finished(w *world, i int) bool {
	h := &w.h[i]
	if h.st != spec.Closed && h.st != spec.Listen {
		return false
	}
	return int(h.pc) >= len(s.scen[w.scen].prog[i]) || terminal(h) ||
		(h.st == spec.Listen && h.passive && h.pc == 1 && h.sig == sigNone)
}

// Quiescent reports whether both hosts are CLOSED or LISTEN with their
// users done with the incarnation, and the network is empty.
func (s *System) Quiescent(k Key) bool {
	var w world
	w.decode(&k)
	return w.n == 0 && s.finished(&w, 0) && s.finished(&w, 1)
}

// armed reports whether h's retransmission timer runs: something is
// unacknowledged and retries are left. (A host without a TCB has
// SND.UNA = SND.NXT = 0; the exclusions of the coverage check verify it.)
func (s *System) armed(h *host) bool {
	return h.una != h.nxt && h.retries < s.retries
}

// rtoEnabled reports whether host i's retransmission timer may fire now:
// it runs, and neither one of the host's
// unacknowledged segments nor an acknowledgment of new data for it is in
// flight. The last condition is the timing assumption RTO > round-trip time
// that RFC 6298 aims at: the timer fires only once what it guards is lost
// (or held by the receiver). Config.SpuriousRTO drops the condition on the
// acknowledgment, allowing spurious retransmissions.
func (s *System) rtoEnabled(w *world, i int) bool {
	h := &w.h[i]
	if !s.armed(h) {
		return false
	}
	if w.h[1-i].owed && !s.cfg.SpuriousRTO && !s.ackUnbounded {
		// The peer owes an ACK of text it accepted: the delayed ACK is
		// shorter than any RTO (RFC 1122 §4.2.3.2: less than 0.5 s;
		// RFC 6298 §2.4: RTO at least 1 s), so it is on its way.
		return false
	}
	for j := range int(w.n) {
		sg := w.net[j]
		if segInc(sg) != w.round {
			continue
		}
		if int(segFrom(sg)) == i {
			if segSpaceLen(sg) > 0 && seq(h.una).LessThan(seq(segSeq(sg)).Add(segSpaceLen(sg))) {
				return false
			}
		} else if !s.cfg.SpuriousRTO && segFlags(sg).Has(spec.ACK) && seq(h.una).LessThan(seq(segAck(sg))) && seq(segAck(sg)).LessEq(seq(h.nxt)) {
			return false
		}
	}
	return true
}

// Next appends every successor of k to buf in a deterministic order and
// returns it: user calls (A, then B), deliveries, drops, duplications (in
// network order), timers (A, then B), injections, then a tick. k is a
// state of the model (from Init or Next): its network is in canonical
// order, which the successors of a host step keep (see canonFrom).
func (s *System) Next(k Key, buf []Transition) []Transition {
	var w world
	w.decode(&k)
	for i := range 2 {
		buf = s.userSteps(&w, i, buf)
	}
	buf = s.networkSteps(&w, buf)
	for i := range 2 {
		buf = s.timerSteps(&w, i, buf)
	}
	buf = s.injectSteps(&w, buf)
	return s.tick(&w, buf)
}

// hostEvent is an event a host step processes, with what the step's
// record says about it.
type hostEvent struct {
	kind     StepKind   // User, Deliver, Timer or Inject
	e        spec.Event // the table's event
	sg       uint32     // the segment, for a segment event
	injected bool       // sg comes from the off-path attacker
	sendN    uint8      // the octet count of a SEND
	call     string     // what the user did, for a User step
}

// hostSteps lets host i take a step on w, a copy the caller hands over:
// it calls the host step (selectRowCtx, then apply), which leaves the
// world after the step in w and the step's record in the transition, and
// appends the successor; when the row selects an initial sequence number,
// one successor per ISS choice, in the order of the configuration's list.
// The transition is built in place in buf, and taken back when apply says
// it does not exist.
func (s *System) hostSteps(w *world, i int, ev hostEvent, buf []Transition) []Transition {
	h := &w.h[i]
	var c spec.Ctx
	fillCtx(&c, h, ev.e, ev.sg)
	row, choose := s.selectRowCtx(h, ev.e, &c)
	n := len(buf)
	sorted := int(w.n) // the network is in canonical order but for what the step sends
	if !choose {
		buf = append(buf, Transition{})
		t := &buf[n]
		t.Step.Kind, t.Step.Host, t.Step.Event, t.Step.Row, t.Step.Call = ev.kind, uint8(i), ev.e, int16(row), ev.call
		if ev.kind == Deliver || ev.kind == Inject {
			setSegment(&t.Step.Seg, ev.sg, ev.injected)
		}
		if !s.apply(w, i, row, ev.e, ev.sg, &c, ev.injected, ev.sendN, 0, &t.Step) {
			return buf[:n]
		}
		s.finish(w, &t.To, sorted)
		return buf
	}
	base := uint8(int(w.round-1) * s.cfg.ISSStride)
	for _, iss := range s.iss[i] {
		w2 := *w
		buf = append(buf, Transition{})
		t := &buf[n]
		t.Step.Kind, t.Step.Host, t.Step.Event, t.Step.Row, t.Step.Call = ev.kind, uint8(i), ev.e, int16(row), ev.call
		if ev.kind == Deliver || ev.kind == Inject {
			setSegment(&t.Step.Seg, ev.sg, ev.injected)
		}
		if s.apply(&w2, i, row, ev.e, ev.sg, &c, ev.injected, ev.sendN, base+iss, &t.Step) {
			s.finish(&w2, &t.To, sorted)
			n++
		} else {
			buf = buf[:n]
		}
	}
	return buf
}

// emit appends the successor w, reached by step st, to buf.
func (s *System) emit(w *world, st *Step, buf []Transition) []Transition {
	buf = append(buf, Transition{})
	t := &buf[len(buf)-1]
	t.Step = *st
	s.finish(w, &t.To, 0)
	return buf
}

// finish writes the key of the successor w into k, which must be zero:
// the world in canonical form (network order, retransmission timers that
// may not run reset), encoded. The segments before index sorted are in
// canonical order already (see canonFrom).
func (s *System) finish(w *world, k *Key, sorted int) {
	w.canonFrom(s.cfg.Reorder, sorted)
	for i := range 2 {
		if w.h[i].rto != 0 && !s.rtoEnabled(w, i) {
			w.h[i].rto = 0
		}
	}
	w.encodeInto(k)
}

// resetRound starts incarnation w.round+1: per-incarnation user and ghost
// state is cleared; a server still in LISTEN keeps listening.
func (s *System) resetRound(w *world) {
	w.round++
	w.ghost = 0
	for i := range 2 {
		h := &w.h[i]
		h.pc, h.sig, h.written, h.delivered = 0, sigNone, 0, 0
		h.sawEOF, h.gsync, h.aborted, h.endRST, h.endTimeout, h.activeCloser = false, false, false, false, false, false
		h.stopped = false
		if h.st == spec.Listen && s.scen[w.scen].prog[i][0].e == spec.PassiveOpen {
			h.pc = 1
		}
	}
}

// userSteps appends user i's next call of its program (or the next
// incarnation's first), its ABORT (Config.Abort) and its calls outside
// the program (Config.Misuse).
func (s *System) userSteps(w *world, i int, buf []Transition) []Transition {
	buf = s.programSteps(w, i, buf)
	h := &w.h[i]
	done := int(h.pc) >= len(s.scen[w.scen].prog[i]) || terminal(h)
	if s.misuse[i] && w.ghost&misusedBit(i) == 0 && (!done || h.st.HasTCB()) {
		buf = s.strayCalls(w, i, buf)
	}
	if s.zeroWnd[i] && h.st.HasTCB() && (h.rcvClosed || !h.stopped) {
		// The user stops reading (the buffer fills: RCV.WND = 0), once an
		// incarnation, and reads again (the window reopens): no call of
		// the table, a change of RCV.WND only.
		w2 := *w
		w2.h[i].rcvClosed, w2.h[i].stopped = !h.rcvClosed, true
		st := Step{Kind: User, Host: uint8(i), Row: -1, Call: "stop reading"}
		if h.rcvClosed {
			st.Call = "read again"
		}
		buf = s.emit(&w2, &st, buf)
	}
	return buf
}

// rcvWndOf is host h's RCV.WND: 0 while its user has stopped reading
// (Config.ZeroWindow), else the constant window.
func rcvWndOf(h *host) uint32 {
	if h.rcvClosed {
		return 0
	}
	return rcvWnd
}

func (s *System) programSteps(w *world, i int, buf []Transition) []Transition {
	h := &w.h[i]
	sc := &s.scen[w.scen]
	prog := sc.prog[i]
	if int(h.pc) >= len(prog) || terminal(h) {
		// Done with this incarnation; open the next one when both are.
		if w.round < sc.incarnations && s.finished(w, 0) && s.finished(w, 1) {
			w2 := *w
			s.resetRound(&w2)
			if w2.h[i].pc == 0 {
				buf = s.call(&w2, i, prog[0], buf)
			}
		}
		return buf
	}
	o := prog[h.pc]
	enabled := o.opens() ||
		(h.sig == sigConnected && (!o.needEOF || h.sawEOF))
	if enabled {
		w2 := *w
		buf = s.call(&w2, i, o, buf)
	}
	if s.abortBy == i && h.pc >= 1 && !h.aborted {
		w2 := *w
		w2.h[i].aborted = true
		w2.h[i].pc = uint8(len(prog))
		buf = s.hostSteps(&w2, i, hostEvent{kind: User, e: spec.Abort, call: "abort"}, buf)
	}
	return buf
}

// strayOps are the calls a user may make outside its program
// (Config.Misuse), in the order they are tried.
var strayOps = []op{
	{e: spec.PassiveOpen, call: "listen (stray)"},
	{e: spec.ActiveOpen, call: "connect (stray)"},
	{e: spec.Send, n: 1, call: "write 1 (stray)"},
	{e: spec.Close, call: "close (stray)"},
	{e: spec.Abort, call: "abort (stray)"},
}

// strayCalls appends the successors of user i's calls outside its program.
func (s *System) strayCalls(w *world, i int, buf []Transition) []Transition {
	for _, o := range strayOps {
		w2 := *w
		w2.ghost |= misusedBit(i)
		if o.e == spec.Close || o.e == spec.Abort {
			// The user closes or aborts instead of going on: its program
			// ends here.
			w2.h[i].pc = uint8(len(s.scen[w.scen].prog[i]))
			w2.h[i].aborted = w2.h[i].aborted || o.e == spec.Abort
		}
		if o.e == spec.Send {
			// A stray write counts as written only when the table takes
			// the text (a program's writes count as attempted: a write
			// the table refuses is text the user wanted to send).
			if row, _ := s.selectRow(&w2, i, o.e, 0); s.do[row].Has(spec.QueueText) || s.do[row].Has(spec.SendText) {
				w2.h[i].written += o.n
			}
		}
		buf = s.hostSteps(&w2, i, hostEvent{kind: User, e: o.e, sendN: o.n, call: o.call}, buf)
	}
	return buf
}

// call makes user i's call o on w (a copy owned by the caller).
func (s *System) call(w *world, i int, o op, buf []Transition) []Transition {
	h := &w.h[i]
	h.pc++
	if o.e == spec.Send {
		h.written += o.n
	}
	return s.hostSteps(w, i, hostEvent{kind: User, e: o.e, sendN: o.n, call: o.call}, buf)
}

// held reports whether segment sg may not be processed yet by its
// receiver: RFC 9293 §3.10.7.4 processes text and FIN in sequence order,
// and "segments with higher beginning sequence numbers may be held for
// later processing" (spec.State.HoldsSegment, the rule impl follows too).
// The model holds such a segment in the network until it is in order,
// lost, or too old.
func (s *System) held(w *world, sg uint32) bool {
	h := &w.h[1-segFrom(sg)]
	c := spec.Ctx{RcvNxt: seq(h.rcv), RcvWnd: rcvWndOf(h), SegSeq: seq(segSeq(sg)), SegLen: segSpaceLen(sg), SegFlags: segFlags(sg)}
	return h.st.HoldsSegment(&c)
}

// deliverable reports whether the segment at index j may be delivered now:
// with reordering any segment may, without it only the oldest of its
// direction; and it must not be held.
func (s *System) deliverable(w *world, j int) bool {
	sg := w.net[j]
	if !s.cfg.Reorder && j > 0 && segFrom(w.net[j-1]) == segFrom(sg) {
		return false
	}
	return !s.held(w, sg)
}

func (s *System) networkSteps(w *world, buf []Transition) []Transition {
	n := int(w.n)
	for j := range n {
		if j > 0 && w.net[j] == w.net[j-1] && s.cfg.Reorder {
			continue // the same segment twice: one successor is enough
		}
		if !s.deliverable(w, j) {
			continue
		}
		sg := w.net[j]
		w2 := *w
		w2.remove(j)
		to := int(1 - segFrom(sg))
		buf = s.hostSteps(&w2, to, hostEvent{kind: Deliver, e: segEvent(sg), sg: sg}, buf)
	}
	if w.loss > 0 {
		for j := range n {
			if j > 0 && w.net[j] == w.net[j-1] {
				continue
			}
			w2 := *w
			w2.remove(j)
			w2.loss--
			st := Step{Kind: Drop, Host: 1 - segFrom(w.net[j]), Row: -1, Seg: segmentOf(w.net[j], false)}
			buf = s.emit(&w2, &st, buf)
		}
	}
	if w.dup > 0 && n < netCap {
		for j := range n {
			if j > 0 && w.net[j] == w.net[j-1] {
				continue
			}
			w2 := *w
			w2.dupAt(j)
			w2.dup--
			st := Step{Kind: Duplicate, Host: 1 - segFrom(w.net[j]), Row: -1, Seg: segmentOf(w.net[j], false)}
			buf = s.emit(&w2, &st, buf)
		}
	}
	return buf
}

// timerSteps generates the timer expiries of host i that mean something in
// its state (the table has explicit drop rows for the others):
//   - RTO whenever the retransmission timer runs (RTO is bounded below by
//     nothing and above by RTOMax ticks);
//   - R2 once retries are used up, nothing is in flight and the peer has no
//     retransmission left either (R2 is far longer than a round trip);
//   - 2MSL once TIME-WAIT has lasted its ticks;
//   - the delayed ACK whenever one is owed (at any moment: its delay is
//     bounded only by the peer's timers, see rtoEnabled);
//   - the user timeout once nothing is in flight, the peer has no TCB and
//     this host has nothing left to retransmit (a half-open connection).
//   - the keepalive timer (Config.KeepAlive) when keepAliveDue says so:
//     KEEPALIVE while probes are left, KEEPALIVE-OUT once Config.KeepAlive
//     probes went unanswered.
func (s *System) timerSteps(w *world, i int, buf []Transition) []Transition {
	h := &w.h[i]
	p := &w.h[1-i]
	if s.rtoEnabled(w, i) {
		w2 := *w
		if !p.rcvClosed {
			// With the peer's window closed the retransmission is a
			// zero-window probe, which the peer acknowledges: it does not
			// count toward R2 (RFC 1122 §4.2.2.17).
			w2.h[i].retries++
		}
		buf = s.hostSteps(&w2, i, hostEvent{kind: Timer, e: spec.RetransmitTimeout}, buf)
	}
	if h.una != h.nxt && h.retries >= s.retries && w.n == 0 && !s.armed(p) && (!p.owed || s.ackUnbounded) && !p.rcvClosed {
		w2 := *w
		w2.ghost |= ghostRetriesOut
		buf = s.hostSteps(&w2, i, hostEvent{kind: Timer, e: spec.RetriesExhausted}, buf)
	}
	if h.tw == 1 {
		w2 := *w
		buf = s.hostSteps(&w2, i, hostEvent{kind: Timer, e: spec.TimeWaitTimeout}, buf)
	}
	if h.owed {
		w2 := *w
		buf = s.hostSteps(&w2, i, hostEvent{kind: Timer, e: spec.DelayedAckTimeout}, buf)
	}
	if s.keepAliveDue(w, i) {
		w2 := *w
		e := spec.KeepAliveTimeout
		if h.probes >= uint8(s.cfg.KeepAlive) {
			e = spec.KeepAliveExhausted
			w2.ghost |= ghostRetriesOut // it gives up on a peer it no longer hears
		}
		buf = s.hostSteps(&w2, i, hostEvent{kind: Timer, e: e}, buf)
	}
	if s.cfg.UserTimeout && h.st.HasTCB() && w.n == 0 && !p.st.HasTCB() && !s.armed(h) {
		w2 := *w
		if h.una != h.nxt {
			w2.ghost |= ghostRetriesOut // it gives up on what it could not retransmit
		}
		buf = s.hostSteps(&w2, i, hostEvent{kind: Timer, e: spec.UserTimeout}, buf)
	}
	return buf
}

// keepAliveDue reports whether host i's keepalive timer may fire: keepalive
// is on, the host is synchronized and not in TIME-WAIT with nothing
// unacknowledged (the conditions impl's armKeepAlive arms it on; in
// FIN-WAIT-1, CLOSING and LAST-ACK our FIN is never acknowledged, see the
// exclusion FinUnackedWhileClosing), and the connection is idle: nothing
// in flight, and the peer has nothing to retransmit and owes no ACK. The
// idle time and the interval between probes (RFC 1122 §4.2.3.6: at least
// two hours by default, 75 s on Linux) are longer than any round trip,
// so a probe's answer, unless lost, arrives before the next expiry.
func (s *System) keepAliveDue(w *world, i int) bool {
	h, p := &w.h[i], &w.h[1-i]
	return s.cfg.KeepAlive > 0 && h.st.Synchronized() && h.st != spec.TimeWait && h.una == h.nxt &&
		w.n == 0 && !s.armed(p) && !p.owed
}

// tick advances time by one tick, if it can and anything changes: every
// segment ages (a held segment that would reach age MSL leaves the network),
// TIME-WAIT counts down and enabled retransmission timers age. Time cannot
// advance while a deliverable segment has age MSL-1 (it must be delivered or
// lost first: a segment lives less than MSL ticks), while an enabled
// retransmission timer has waited RTOMax ticks, or while a TIME-WAIT has run
// out (its 2MSL timer fires first: TIME-WAIT lasts exactly its length).
func (s *System) tick(w *world, buf []Transition) []Transition {
	changes := false
	for j := range int(w.n) {
		if segAge(w.net[j])+1 >= s.msl && s.deliverable(w, j) {
			return buf
		}
		changes = true
	}
	var fire [2]bool
	for i := range 2 {
		h := &w.h[i]
		if s.rtoEnabled(w, i) {
			if h.rto >= s.rtoMax {
				return buf
			}
			fire[i] = true
			changes = true
		}
		if h.tw == 1 {
			return buf // the 2MSL timer fires now, not later
		}
		if h.tw > 1 {
			changes = true
		}
	}
	if !changes {
		return buf
	}
	w2 := *w
	n := 0
	for j := range int(w2.n) {
		sg := w2.net[j]
		if segAge(sg)+1 >= s.msl {
			continue // held and too old: the network's lifetime guarantee
		}
		w2.net[n] = sg + segAgeOne
		n++
	}
	for j := n; j < int(w2.n); j++ {
		w2.net[j] = 0
	}
	w2.n = uint8(n)
	for i := range 2 {
		h := &w2.h[i]
		if fire[i] {
			h.rto++
		}
		if h.tw > 1 {
			h.tw--
		}
	}
	st := Step{Kind: Tick, Host: 0, Row: -1}
	return s.emit(&w2, &st, buf)
}
