package tester

import (
	"fmt"

	"github.com/tcpcheck/tcpcheck/spec"
)

// world is what the tester knows of one connection with the DUT: the
// DUT's side as the table predicts it, the tester's own sequence numbers,
// and which sockets the user holds on the DUT.
type world struct {
	dut      side
	tisn     spec.Seq // the tester's ISN
	tnext    spec.Seq // the tester's next sequence number while the DUT holds no IRS
	tack     spec.Seq // where the tester believes the DUT's sequence space is while it holds no ISS
	listener bool     // a listening socket is open
	conn     bool     // the user holds the connection's socket
	opened   bool     // a socket was opened (listen or connect): no second OPEN on a new socket
}

// Tester ISNs: an ordinary one, and one near 2^32 so that the window the
// DUT offers wraps.
const (
	testerISN     spec.Seq = 0x00012345
	testerWrapISN spec.Seq = 0xffffff00
	// genISS is the DUT's ISS while generating; the run learns the real one.
	genISS spec.Seq = 0x10000000
	// unknownAck is the ACK field the tester uses before it has seen any
	// sequence number of the DUT.
	unknownAck spec.Seq = 0x0badcafe
)

func newWorld(wrap bool) world {
	isn := testerISN
	if wrap {
		isn = testerWrapISN
	}
	return world{dut: side{tcb: spec.NewTCB()}, tisn: isn, tnext: isn, tack: unknownAck}
}

// seg builds the segment of a segment move against what the tester knows.
func (w *world) seg(m Move) spec.Segment {
	flags, n := flagsOf(m.Event)
	t := &w.dut.tcb
	base, irs, wnd := w.tnext, w.tisn, uint32(nominalWindow)
	if r, ok := t.IRS(); ok && t.State().HasTCB() {
		base, irs, wnd = t.RcvNxt(), r, w.dut.rcvWnd()
	}
	var seq spec.Seq
	switch m.Seq {
	case SeqNext:
		seq = base
	case SeqNextMinus:
		seq = base - 1
	case SeqWndLast:
		seq = base.Add(wnd) - 1
	case SeqWndEnd:
		seq = base.Add(wnd)
	case SeqNextPlus:
		seq = base + 1
	case SeqIRS:
		seq = irs
	}
	una, nxt, maxw := w.tack, w.tack, uint32(0)
	if _, ok := t.ISS(); ok && t.State().HasTCB() {
		una, nxt, maxw = t.SndUna(), t.SndNxt(), t.MaxSndWnd()
	}
	var ack spec.Seq
	switch m.Ack {
	case AckSndNxt:
		ack = nxt
	case AckSndUna:
		ack = una
	case AckSndUnaPlus:
		ack = una + 1
	case AckSndNxtPlus:
		ack = nxt + 1
	case AckSndUnaMinus:
		ack = una - 1
	case AckWndLow:
		ack = una - spec.Seq(maxw)
	case AckWndLowMinus:
		ack = una - spec.Seq(maxw) - 1
	}
	if !flags.Has(spec.ACK) {
		ack = 0
	}
	s := spec.Segment{Seq: seq, Ack: ack, Flags: flags, Window: testerWindow, Len: n}
	if flags.Has(spec.SYN) {
		s.MSS = testerMSS
	}
	return s
}

// sent records a segment the tester sent after the DUT's side was stepped.
func (w *world) sent(s spec.Segment) {
	t := &w.dut.tcb
	if _, ok := t.IRS(); ok && t.State().HasTCB() {
		w.tnext = t.RcvNxt()
		return
	}
	if s.Seq == w.tnext {
		w.tnext = s.Seq.Add(s.SegLen())
	}
}

// heard records a segment the DUT sent.
func (w *world) heard(s spec.Segment) {
	w.dut.learn(s)
	if !s.Flags.Has(spec.RST) || s.Seq != 0 {
		w.tack = s.Seq.Add(s.SegLen())
	}
}

// settle applies what the socket layer does around the table: a passive
// connection that reached a synchronized state is accepted (the user
// holds it), and a connection deleted while a listener is open leaves the
// listener as the TCB that receives the next segment on the 4-tuple.
// moved updates the world after a move: the socket call it made, the
// segment the tester sent (when sentSeg), and what the DUT's state now
// implies.
func (w *world) moved(call Call, sentSeg bool, seg spec.Segment) {
	switch call {
	case CallListen:
		w.listener, w.opened = true, true
	case CallConnect:
		w.conn, w.opened = true, true
	case CallCloseListener:
		w.listener = false
	}
	if sentSeg {
		w.sent(seg)
	}
	w.settle()
}

func (w *world) settle() {
	t := &w.dut.tcb
	if t.Passive() && t.State().Synchronized() {
		w.conn = true
	}
	if t.State() == spec.Closed && w.listener {
		w.dut = side{tcb: spec.NewListenTCB()}
	}
}

// notDrivable says why the socket API cannot produce event e in state s,
// or "" when it can (in some node of the search).
func notDrivable(s spec.State, e spec.Event) string {
	switch {
	case e == spec.PassiveOpen && s != spec.Closed, e == spec.ActiveOpen && s != spec.Closed:
		return "a socket API makes each OPEN on a new socket: listen or connect on a socket that already has a connection fails before it reaches TCP"
	case e == spec.Send && s == spec.Listen:
		return "a listening socket cannot be written to; a SEND on a fully specified passive OPEN has no socket call"
	case e == spec.Abort && s == spec.Listen:
		return "a listening socket has no SO_LINGER abort of its own: closing it is LISTEN + CLOSE"
	case e == spec.UserTimeout:
		return "the DUT interface sets no user timeout (TCP_USER_TIMEOUT); the retries-exhausted rows cover giving up"
	case (e == spec.RetransmitTimeout || e == spec.RetriesExhausted) && s == spec.FinWait2:
		return "nothing is unacknowledged in FIN-WAIT-2 (our FIN was acknowledged), so no retransmission timer runs"
	case (e == spec.RetransmitTimeout || e == spec.RetriesExhausted) && !s.Runs(spec.TimerRetransmit):
		return "no retransmission timer runs in this state, so the event cannot be made to happen"
	case e == spec.TimeWaitTimeout && s != spec.TimeWait:
		return "no 2MSL timer runs outside TIME-WAIT, so the event cannot be made to happen"
	case e == spec.DelayedAckTimeout && s.Runs(spec.TimerDelayedAck):
		return "the delayed-ACK timer is not a move of its own: the cases of the rows that owe an ACK (delay ACK) expect it within the move, as this row sends it"
	case e == spec.DelayedAckTimeout:
		return "no delayed-ACK timer runs in this state (an ACK owed is paid by the segment that leaves the states that receive text), so the event cannot be made to happen"
	case (e == spec.KeepAliveTimeout || e == spec.KeepAliveExhausted) && s.Runs(spec.TimerKeepAlive):
		return "" // the cases run with keep-alive on (dut.Config.KeepAlive)
	case e == spec.KeepAliveTimeout || e == spec.KeepAliveExhausted:
		return "no keepalive timer runs in this state (RFC 1122 §4.2.3.6: it probes an idle synchronized connection), so the event cannot be made to happen"
	}
	return ""
}

// candidates returns the moves the tester can make in w, each with the
// row the model selects and the world after it. Segment moves with the
// same concrete segment are given once.
func (md *Model) candidates(w *world, eff *spec.Effect) []cand {
	var out []cand
	st := w.dut.tcb.State()
	try := func(m Move) {
		if notDrivable(st, m.Event) != "" {
			return
		}
		nw := *w
		row := md.apply(&nw, m, eff)
		if row < 0 {
			return
		}
		m.Row = row
		out = append(out, cand{m: m, w: nw})
	}
	// Segments, then socket calls, then a SYN: among paths of one length
	// the search prefers the ordinary handshake to a simultaneous open,
	// and acting on an established connection to acting on one still
	// opening, which few socket APIs let the user do.
	for _, e := range segOrder {
		if e == spec.SegSYN {
			// Socket calls.
			switch {
			case st == spec.Closed && !w.opened:
				try(Move{Event: spec.PassiveOpen, Call: CallListen})
				try(Move{Event: spec.ActiveOpen, Call: CallConnect})
			case st == spec.Listen && w.listener && !w.conn:
				try(Move{Event: spec.Close, Call: CallCloseListener})
			case w.conn:
				try(Move{Event: spec.Send, Call: CallWrite})
				try(Move{Event: spec.Close, Call: CallCloseWrite})
				try(Move{Event: spec.Abort, Call: CallAbort})
			}
		}
		seen := map[[2]spec.Seq]bool{}
		for sr := SeqRef(0); sr < numSeqRefs; sr++ {
			for ar := AckRef(0); ar < numAckRefs; ar++ {
				m := Move{Event: e, Seq: sr, Ack: ar}
				s := w.seg(m)
				k := [2]spec.Seq{s.Seq, s.Ack}
				if seen[k] {
					continue
				}
				seen[k] = true
				try(m)
			}
		}
	}
	// Timers.
	t := &w.dut.tcb
	if st.Runs(spec.TimerRetransmit) && t.SndUna() != t.SndNxt() {
		try(Move{Event: spec.RetransmitTimeout})
		try(Move{Event: spec.RetriesExhausted})
	}
	if st == spec.TimeWait {
		try(Move{Event: spec.TimeWaitTimeout})
	}
	if st.Runs(spec.TimerKeepAlive) && t.SndUna() == t.SndNxt() && w.dut.unsent == 0 {
		// An idle connection: the keepalive timer probes it (RFC 1122
		// §4.2.3.6), and gives it up after the probes went unanswered.
		try(Move{Event: spec.KeepAliveTimeout})
		try(Move{Event: spec.KeepAliveExhausted})
	}
	return out
}

var segOrder = []spec.Event{spec.SegSYNACK, spec.SegACK, spec.SegData, spec.SegFIN, spec.SegRST, spec.SegNoACK, spec.SegSYN}

type cand struct {
	m Move
	w world
}

// apply makes move m in w with the model's expectation (the DUT answering
// with its generation-time ISS and a nominal window) and returns the row,
// RowHeld for a segment held for later, or -1 when the table has none.
func (md *Model) apply(w *world, m Move, eff *spec.Effect) int {
	var in *spec.Segment
	var s spec.Segment
	if m.Event.IsSegment() {
		s = w.seg(m)
		in = &s
	}
	var write uint32
	if m.Event == spec.Send {
		write = textLen
	}
	row := md.step(&w.dut, m.Event, in, genISS, write, eff)
	if row == -1 {
		return -1
	}
	switch m.Call {
	case CallListen:
		w.listener, w.opened = true, true
	case CallConnect:
		w.conn, w.opened = true, true
	case CallCloseListener:
		w.listener = false
	}
	if in != nil {
		w.sent(s)
	}
	for _, o := range eff.Out {
		o.Window = nominalWindow
		w.heard(o)
	}
	w.settle()
	return row
}

// nodeKey is what distinguishes search nodes: the state and the facts
// about the TCB that change which rows apply and which moves are possible.
type nodeKey struct {
	state                      spec.State
	passive, finSent, finRcvd  bool
	outstanding, unsent, finQd bool
	listener, conn, opened     bool
}

func (w *world) key() nodeKey {
	t := &w.dut.tcb
	return nodeKey{state: t.State(), passive: t.Passive(), finSent: t.FinSent(), finRcvd: t.FinReceived(),
		outstanding: t.SndUna() != t.SndNxt(), unsent: w.dut.unsent > 0, finQd: w.dut.finQueued,
		listener: w.listener, conn: w.conn, opened: w.opened}
}

// maxDepth bounds the search: every drivable row is reached in fewer moves.
const maxDepth = 10

// Suite is the generated suite of a model.
type Suite struct {
	Model *Model
	Cases []*Case
	// Unexercised says, for each row no case targets, why: not drivable
	// through the socket API, or not reached by the search.
	Unexercised map[int]string
	Nodes       int // search nodes visited
	// Family says, for each row the coverage family applies, what its
	// shortest trace gave the suite (nil before [Suite.AddFamily]).
	Family map[int]*FamilyRow
	// searchMissed are the rows the search of Generate left without a
	// case (set by AddFamily).
	searchMissed map[int]bool
}

// Generate builds the suite of md: for every row, the shortest sequence of
// moves (socket calls and tester segments) that reaches the row's state
// with its guard premise true, then the row's event; for a segment row,
// also every boundary segment (sequence and acknowledgment numbers at the
// edges of the guards) that selects the same row, from the first search
// node that allows the row and from the first one with unacknowledged data
// of the DUT in flight; for those, also with the tester's ISN near 2^32.
func Generate(md *Model) *Suite {
	s := &Suite{Model: md, Unexercised: map[int]string{}}
	var eff spec.Effect
	type node struct {
		w     world
		moves []Move
	}
	type found struct {
		n     *node
		cands []cand
	}
	first := map[int]*found{}    // row -> first node allowing it
	firstOut := map[int]*found{} // row -> first node with data in flight allowing it
	seen := map[nodeKey]bool{}
	root := &node{w: newWorld(false)}
	queue := []*node{root}
	seen[root.w.key()] = true
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		s.Nodes++
		cs := md.candidates(&n.w, &eff)
		byRow := map[int][]cand{}
		var order []int
		for _, c := range cs {
			if _, ok := byRow[c.m.Row]; !ok {
				order = append(order, c.m.Row)
			}
			byRow[c.m.Row] = append(byRow[c.m.Row], c)
		}
		t := &n.w.dut.tcb
		withData := t.State().Synchronized() && t.SndUna().Add(1) != t.SndNxt() && t.SndUna() != t.SndNxt()
		for _, r := range order {
			if first[r] == nil {
				first[r] = &found{n: n, cands: byRow[r]}
			} else if withData && firstOut[r] == nil && first[r].n != n {
				firstOut[r] = &found{n: n, cands: byRow[r]}
			}
		}
		if len(n.moves) >= maxDepth {
			continue
		}
		for _, c := range cs {
			if c.m.Event.IsTimer() {
				continue // timers end a case; they are not crossed on the way
			}
			k := c.w.key()
			if seen[k] {
				continue
			}
			seen[k] = true
			queue = append(queue, &node{w: c.w, moves: append(append([]Move(nil), n.moves...), c.m)})
		}
	}

	for r := range md.rows {
		f := first[r]
		if f == nil {
			s.Unexercised[r] = unexercisedReason(md.rows[r])
			continue
		}
		row := md.rows[r]
		name := row.Name()
		c0 := f.cands[0]
		switch {
		case row.On == spec.RetriesExhausted:
			s.Cases = append(s.Cases, md.retriesCase(name, r, f.n.moves, c0.m))
			continue
		case row.On.IsTimer():
			s.Cases = append(s.Cases, &Case{Name: name, Row: r, Moves: append(append([]Move(nil), f.n.moves...), c0.m), Timers: true})
			continue
		}
		s.Cases = append(s.Cases, &Case{Name: name, Row: r, Moves: append(append([]Move(nil), f.n.moves...), c0.m)})
		if c0.m.Call == CallCloseWrite {
			// CLOSE by close() as well as by shutdown(SHUT_WR).
			m := c0.m
			m.Call = CallClose
			s.Cases = append(s.Cases, &Case{Name: name + " / close()", Row: r, Moves: append(append([]Move(nil), f.n.moves...), m)})
		}
		if !row.On.IsSegment() {
			continue
		}
		add := func(f *found, tag string) {
			for _, c := range boundary(f.cands) {
				if f == first[r] && c.m == c0.m {
					continue
				}
				nm := fmt.Sprintf("%s / seq=%s ack=%s%s", name, c.m.Seq, c.m.Ack, tag)
				s.Cases = append(s.Cases, &Case{Name: nm, Row: r, Moves: append(append([]Move(nil), f.n.moves...), c.m)})
			}
		}
		add(f, "")
		if fo := firstOut[r]; fo != nil {
			add(fo, " / data in flight")
		}
		// The wrap variants: the same moves with the tester's ISN near 2^32,
		// where the DUT has accepted the tester's SYN (else no window wraps).
		if _, ok := f.n.w.dut.tcb.IRS(); ok {
			for _, c := range boundary(f.cands) {
				if c.m.Ack != c0.m.Ack {
					continue // the ISN moves the sequence numbers only
				}
				moves, ok := md.rowsOf(append(append([]Move(nil), f.n.moves...), c.m), true)
				if !ok {
					continue
				}
				last := moves[len(moves)-1].Row
				nm := fmt.Sprintf("%s / seq=%s ack=%s / wrap", md.rows[last].Name(), c.m.Seq, c.m.Ack)
				s.Cases = append(s.Cases, &Case{Name: nm, Row: last, Moves: moves, Wrap: true})
			}
		}
	}
	return s
}

// boundary picks the candidates of one row that differ from the row's
// first candidate in one number: for each way of choosing SEG.SEQ the
// first candidate with it, and for each way of choosing SEG.ACK the first
// with it.
func boundary(cs []cand) []cand {
	var out []cand
	var seqs [numSeqRefs]bool
	var acks [numAckRefs]bool
	for _, c := range cs {
		if !seqs[c.m.Seq] || !acks[c.m.Ack] {
			out = append(out, c)
		}
		seqs[c.m.Seq], acks[c.m.Ack] = true, true
	}
	return out
}

// rowsOf returns moves with the rows they select from a fresh world (with
// the tester's ISN near 2^32 when wrap), and false when some move selects
// none.
func (md *Model) rowsOf(moves []Move, wrap bool) ([]Move, bool) {
	w := newWorld(wrap)
	var eff spec.Effect
	out := make([]Move, len(moves))
	for i, m := range moves {
		m.Row = md.apply(&w, m, &eff)
		if m.Row < 0 {
			return nil, false
		}
		out[i] = m
	}
	return out, true
}

// replays reports whether moves select the same rows from a world whose
// tester ISN is near 2^32.
func (md *Model) replays(moves []Move, wrap bool) bool {
	w := newWorld(wrap)
	var eff spec.Effect
	for _, m := range moves {
		if md.apply(&w, m, &eff) != m.Row {
			return false
		}
	}
	return true
}

// retriesCase builds the case of a retries-exhausted row: the
// retransmissions the DUT makes before it gives up (as many as its retry
// limit, which the run fills in), then the row's event.
func (md *Model) retriesCase(name string, r int, prefix []Move, m Move) *Case {
	moves := append([]Move(nil), prefix...)
	moves = append(moves, Move{Event: spec.RetriesExhausted, Row: m.Row})
	return &Case{Name: name, Row: r, Moves: moves, Timers: true}
}

// unexercisedReason says why no case targets row r.
func unexercisedReason(r spec.Row) string {
	if why := notDrivable(r.From, r.On); why != "" {
		return "not drivable: " + why
	}
	return "unreachable: no sequence of socket calls and tester segments reaches " + r.From.String() +
		" with this guard outcome (search of the table's state space for the DUT's side)"
}
