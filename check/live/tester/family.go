package tester

import (
	"fmt"
	"slices"
	"sync"

	"github.com/tcpcheck/tcpcheck/check"
	"github.com/tcpcheck/tcpcheck/model"
	"github.com/tcpcheck/tcpcheck/spec"
)

// FamilyRow says what the coverage family (check.Cover, `tcpcheck
// coverage`) gave the suite for one row it applies.
type FamilyRow struct {
	Member string // the family's member whose shortest trace applies the row
	// Case is the case that follows the member's trace, nil when the trace
	// does not translate into moves of the tester (Why says why) or when
	// it is a case the suite already has (Same).
	Case *Case
	Same bool
	Why  string // "not drivable: ..." or "not translated: ..."
}

var familyOnce struct {
	sync.Once
	rep *check.CoverageReport
	err error
}

// familyTraces returns the coverage family's shortest trace to every row
// it applies, for the correct table, computed once per process (a few
// seconds).
func familyTraces() (*check.CoverageReport, error) {
	familyOnce.Do(func() {
		familyOnce.rep, familyOnce.err = check.Cover(check.CoverOptions{Traces: true, NoQuiescence: true})
	})
	return familyOnce.rep, familyOnce.err
}

// GenerateAll is [Generate] followed by [Suite.AddFamily] with the
// coverage family of the correct table: the suite `tcpcheck conform` and
// the conformance test run. md must run the correct table (the family's
// traces are explored on it).
func GenerateAll(md *Model) (*Suite, error) {
	s := Generate(md)
	rep, err := familyTraces()
	if err != nil {
		return nil, fmt.Errorf("tester: the coverage family: %w", err)
	}
	if err := s.AddFamily(rep); err != nil {
		return nil, err
	}
	return s, nil
}

// AddFamily adds to the suite, for every row the coverage family applies
// (rep, made with traces), a case whose moves follow the family's
// shortest trace to the row: the trace's steps taken by the host that
// applies the row last become the DUT's moves (its user's calls become
// socket calls, the segments delivered or injected to it become tester
// segments that select the same rows, its timers become waits), and the
// other host's steps are the tester's to play. A trace that needs what
// the tester cannot do leaves the row's reason in s.Family. A row the
// search of [Generate] did not reach and the family's case reaches is
// exercised from then on.
func (s *Suite) AddFamily(rep *check.CoverageReport) error {
	md := s.Model
	s.Family = map[int]*FamilyRow{}
	s.searchMissed = map[int]bool{}
	for r := range s.Unexercised {
		s.searchMissed[r] = true
	}
	systems := map[string]*model.System{}
	have := map[string]bool{}
	for _, c := range s.Cases {
		have[movesKey(c.Row, c.Moves)] = true
	}
	for _, rc := range rep.Rows {
		if rc.Member == "" || rc.Trace == nil {
			continue
		}
		if rc.Row >= len(md.rows) || md.rows[rc.Row].Name() != rc.Name {
			return fmt.Errorf("tester: the coverage family's row %d is %q, the model's %q: the family explored another table", rc.Row, rc.Name, md.rows[min(rc.Row, len(md.rows)-1)].Name())
		}
		sys := systems[rc.Member]
		if sys == nil {
			m, err := check.FindMember(rc.Member)
			if err != nil {
				return fmt.Errorf("tester: %w", err)
			}
			if sys, err = model.New(m.Config); err != nil {
				return fmt.Errorf("tester: the coverage family's member %s: %w", rc.Member, err)
			}
			systems[rc.Member] = sys
		}
		fr := &FamilyRow{Member: rc.Member}
		s.Family[rc.Row] = fr
		c, why := md.translate(sys, rc)
		if c == nil {
			fr.Why = why
			if r, ok := s.Unexercised[rc.Row]; ok {
				s.Unexercised[rc.Row] = r + "; the coverage family reaches it (tcpcheck coverage --row '" + rc.Name + "')"
			}
			continue
		}
		if have[movesKey(c.Row, c.Moves)] {
			fr.Same = true
			continue
		}
		have[movesKey(c.Row, c.Moves)] = true
		fr.Case = c
		s.Cases = append(s.Cases, c)
		delete(s.Unexercised, rc.Row)
	}
	return nil
}

// movesKey identifies a case by its row and the moves it makes.
func movesKey(row int, moves []Move) string {
	k := fmt.Sprint(row)
	for _, m := range moves {
		k += fmt.Sprintf("|%s:%d", m, m.Row)
	}
	return k
}

// translate turns the family's trace to a row into a case of the tester,
// or says why it cannot.
func (md *Model) translate(sys *model.System, rc check.RowCoverage) (*Case, string) {
	tr := rc.Trace
	h := tr[len(tr)-1].Step.Host
	target := int(tr[len(tr)-1].Step.Row)
	// Before a retries-exhausted row the DUT retransmits: the run makes
	// those retransmissions itself (as many as the DUT's own retry limit),
	// so the trace's retransmission timers of the DUT are dropped.
	last := len(tr) - 1
	var steps []int
	for i, t := range tr {
		if t.Step.Host == h && t.Step.Row >= 0 {
			steps = append(steps, i)
		}
	}
	if why := notDrivable(md.rows[target].From, md.rows[target].On); why != "" && md.rows[target].On != spec.DelayedAckTimeout {
		return nil, "not drivable: " + why
	}
	if md.rows[target].On == spec.RetriesExhausted {
		steps = slices.DeleteFunc(steps, func(i int) bool {
			return tr[i].Step.Kind == model.Timer && tr[i].Step.Event == spec.RetransmitTimeout
		})
	}
	if md.rows[target].On == spec.KeepAliveExhausted {
		// Likewise the probes before giving up: the run waits for them.
		steps = slices.DeleteFunc(steps, func(i int) bool {
			return tr[i].Step.Kind == model.Timer && tr[i].Step.Event == spec.KeepAliveTimeout
		})
	}
	w := newWorld(false)
	var eff spec.Effect
	var moves []Move
	if sys.Decode(rc.Init).Hosts[h].State == spec.Listen {
		// The model's passive host starts LISTENing: the tester listens first.
		m := Move{Event: spec.PassiveOpen, Call: CallListen}
		m.Row = md.apply(&w, m, &eff)
		moves = append(moves, m)
	}
	folded := -1 // the delayed-ACK row the last move applied after its own
	name := md.rows[target].Name()
	for _, i := range steps {
		st := tr[i].Step
		at := fmt.Sprintf("step %d (%s)", i+1, md.rows[st.Row].Name())
		state := w.dut.tcb.State()
		switch st.Kind {
		case model.User:
			if why := notDrivable(state, st.Event); why != "" {
				return nil, "not drivable: " + why
			}
			m := Move{Event: st.Event}
			switch st.Event {
			case spec.PassiveOpen:
				m.Call = CallListen
			case spec.ActiveOpen:
				m.Call = CallConnect
			case spec.Send:
				m.Call = CallWrite
			case spec.Close:
				m.Call = CallCloseWrite
				if state == spec.Listen {
					m.Call = CallCloseListener
				}
			case spec.Abort:
				m.Call = CallAbort
			}
			switch {
			case (m.Call == CallListen || m.Call == CallConnect) && w.opened:
				return nil, "not drivable: the trace opens a second connection on the 4-tuple (an incarnation), and the tester's cases open one socket each"
			case m.Call == CallCloseListener && !w.listener:
				return nil, "not translated: the trace closes a listener the tester's world has not"
			case m.Call == CallListen || m.Call == CallConnect || m.Call == CallCloseListener:
			case state == spec.Closed && !w.opened:
				return nil, "not drivable: the trace's user makes " + st.Event.String() + " before any OPEN, and a socket API has no connection's socket to make it on (the suite's own case makes it after a connection ended)"
			case !w.conn:
				return nil, "not drivable: at " + at + " the user calls on a connection the socket API has not handed out yet (accept returns it once established)"
			}
			m.Row = md.apply(&w, m, &eff)
			if m.Row != int(st.Row) {
				return nil, fmt.Sprintf("not translated: at %s the tester's model selects %s", at, rowName(md, m.Row))
			}
			moves, folded = append(moves, m), w.dut.delack
		case model.Deliver, model.Inject:
			m, ok := md.segmentFor(&w, sys, tr, rc.Init, i, &eff)
			if !ok {
				return nil, fmt.Sprintf("not translated: at %s no segment of the tester selects the row", at)
			}
			moves, folded = append(moves, m), w.dut.delack
		case model.Timer:
			switch {
			case st.Event == spec.DelayedAckTimeout && folded == int(st.Row):
				// The ACK the last move owed: the move expects it already.
				folded = -1
				if i == last {
					c := &Case{Name: name + " / family " + rc.Member, Row: target, Moves: moves, DelayedAck: true}
					return c, ""
				}
				continue
			case st.Event == spec.UserTimeout || st.Event == spec.DelayedAckTimeout:
				return nil, "not drivable: " + notDrivable(state, st.Event)
			case i != last:
				return nil, "not translated: the trace waits for the DUT's " + st.Event.String() + " timer on the way, and the tester's cases cross no timer before their last move"
			}
			m := Move{Event: st.Event}
			if st.Event == spec.RetriesExhausted {
				return md.retriesCase(name+" / family "+rc.Member, target, moves, Move{Row: target}), ""
			}
			nw := w
			m.Row = md.apply(&nw, m, &eff)
			if m.Row != target {
				return nil, fmt.Sprintf("not translated: at %s the tester's model selects %s", at, rowName(md, m.Row))
			}
			moves = append(moves, m)
			return &Case{Name: name + " / family " + rc.Member, Row: target, Moves: moves, Timers: true}, ""
		default:
			return nil, fmt.Sprintf("not translated: a step of kind %s", st.Kind)
		}
	}
	if len(moves) == 0 || moves[len(moves)-1].Row != target {
		return nil, "not translated: the trace's last step is not the DUT's"
	}
	return &Case{Name: name + " / family " + rc.Member, Row: target, Moves: moves}, ""
}

// rowName names row i of md, or what a negative row means.
func rowName(md *Model, i int) string {
	switch {
	case i == RowHeld:
		return "no row (the segment is held for later processing)"
	case i < 0:
		return "no row"
	}
	return "row " + md.rows[i].Name()
}

// segmentFor picks the tester's segment for step i of trace tr (a segment
// delivered or injected to the DUT's host): among the tester's sequence
// and acknowledgment numbers, one that selects the row the trace applies,
// preferring the one that stands where the trace's segment stands
// relative to the host's variables (RCV.NXT, SND.UNA, SND.NXT). It makes
// the move in w.
func (md *Model) segmentFor(w *world, sys *model.System, tr []model.Transition, init model.Key, i int, eff *spec.Effect) (Move, bool) {
	st := tr[i].Step
	prev := init
	if i > 0 {
		prev = tr[i-1].To
	}
	host := sys.Decode(prev).Hosts[st.Host]
	wantSeq, wantAck := SeqRef(numSeqRefs), AckRef(numAckRefs)
	if host.State.HasTCB() && host.State != spec.SynSent && host.State != spec.Listen {
		switch st.Seg.Seq {
		case host.RcvNxt:
			wantSeq = SeqNext
		case host.RcvNxt - 1:
			wantSeq = SeqNextMinus
		case host.RcvNxt + 1:
			wantSeq = SeqNextPlus
		case host.IRS:
			wantSeq = SeqIRS
		}
	}
	if host.State.HasTCB() && host.State != spec.Listen && st.Seg.Flags.Has(spec.ACK) {
		switch st.Seg.Ack {
		case host.SndNxt:
			wantAck = AckSndNxt
		case host.SndUna:
			wantAck = AckSndUna
		case host.SndUna + 1:
			wantAck = AckSndUnaPlus
		case host.SndNxt + 1:
			wantAck = AckSndNxtPlus
		case host.SndUna - 1:
			wantAck = AckSndUnaMinus
		}
	}
	best, bestScore := Move{}, -1
	var bestW world
	for sr := SeqRef(0); sr < numSeqRefs; sr++ {
		for ar := AckRef(0); ar < numAckRefs; ar++ {
			m := Move{Event: st.Event, Seq: sr, Ack: ar}
			nw := *w
			m.Row = md.apply(&nw, m, eff)
			if m.Row != int(st.Row) {
				continue
			}
			score := 0
			if sr == wantSeq {
				score += 2
			}
			if ar == wantAck {
				score++
			}
			if score > bestScore {
				best, bestScore, bestW = m, score, nw
			}
		}
	}
	if bestScore < 0 {
		return Move{}, false
	}
	*w = bestW
	return best, true
}
