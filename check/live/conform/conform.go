package conform

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tcpcheck/tcpcheck/impl"
	"github.com/tcpcheck/tcpcheck/impl/wire"
	"github.com/tcpcheck/tcpcheck/spec"
)

// Options describe the endpoint whose trace is checked.
type Options struct {
	// RecvBuffer is the endpoint's receive buffer (impl.Options.RecvBuffer),
	// the largest RCV.WND; default 65535.
	RecvBuffer int
	// MSL is the endpoint's maximum segment lifetime; TimeWaitHeld is
	// checked only when it is set.
	MSL time.Duration
	// Context is how many steps a divergence shows before the one that
	// diverged; default 16.
	Context int
	// ChallengeACKs is the endpoint's limit of challenge ACKs per second
	// per connection (impl.Options.ChallengeACKs, RFC 5961 §7). When set,
	// a row that sends a challenge ACK must send one unless the
	// connection's limit is reached; when 0, a missing challenge ACK is
	// accepted.
	ChallengeACKs int
	// MaxAckDelay bounds how long accepted text may wait for its ACK
	// (the table's delay ACK): default, and at most, 500 ms, the bound
	// of RFC 1122 §4.2.3.2. An ACK owed longer is reported at the
	// connection's next step. Checked only on a live endpoint
	// ([Checker.Tracer]): a trace file does not show the window updates
	// and duplicate ACKs that pay an owed ACK too.
	MaxAckDelay time.Duration
}

// rfcMaxAckDelay is the delayed ACK's bound: "the delay MUST be less than
// 0.5 seconds" (RFC 1122 §4.2.3.2).
const rfcMaxAckDelay = 500 * time.Millisecond

// Checks named in a [Divergence].
const (
	CheckConformance = "conformance"  // the transition is not the table's
	CheckTimeWait    = "TimeWaitHeld" // the model's property, on one endpoint
)

// Divergence is the first recorded step that the reference table does not
// allow (or that breaks TimeWaitHeld).
type Divergence struct {
	Check  string   // CheckConformance or CheckTimeWait
	Step   int      // 1-based number of the transition in the trace
	Reason string   // what is wrong, naming the rows
	Table  []string // the steps leading to it, segment-table style, the divergent one last
}

// Error renders the divergence with its segment table.
func (d *Divergence) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "conform: %s: step %d: %s\n", d.Check, d.Step, d.Reason)
	for _, l := range d.Table {
		b.WriteString("    ")
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return strings.TrimRight(b.String(), "\n")
}

type pair struct{ local, remote netip.AddrPort }

// shadow is the checker's copy of one connection: spec's TCB, stepped by
// the reference table from the recorded segments, and what the comparison
// needs beside it.
type shadow struct {
	tcb spec.TCB
	eff spec.Effect
	// finFirst: a row sent our FIN (send FIN, at the user's CLOSE) before
	// the peer's FIN was accepted. The FIN itself may reach the wire
	// later, behind text the send window holds back; the active closer
	// is the side that closed first.
	finFirst       bool
	advEdge        spec.Seq
	advSet         bool
	twSince        time.Time
	held           map[spec.Seq][]spec.Seq // SEG.SEQ -> SEG.ACKs of segments the endpoint holds out of order
	lastInvalidACK time.Time               // when an ACK answering an unacceptable empty segment last went out
	chalStart      time.Time               // start of the challenge ACK interval (RFC 5961 §7)
	chalCount      int                     // challenge ACKs the endpoint could send in it
	owed           bool                    // accepted text waits for its delayed ACK
	owedSince      time.Time               // when that ACK became owed
	owedFrom       spec.Seq                // RCV.NXT when it became owed: what the last ACK acknowledged
	mss            uint16                  // the MSS option of the endpoint's SYN: the RMSS of its delayed ACK
}

// paidAt notes a segment with ACK sent when the owed ACK was for RCV.NXT
// = nxt: one carrying RCV.NXT pays the owed ACK, and so does a segment a
// row sends before the row accepts its text (a resend of loss recovery,
// from process-ACK), for the text before.
func (sh *shadow) paidAt(h *wire.Header, nxt spec.Seq) {
	if h.Flags.Has(spec.ACK) && !h.Flags.Has(spec.RST) && (h.Ack == nxt || h.Ack == sh.tcb.RcvNxt()) {
		sh.owed = false
	}
}

// Checker replays an endpoint's transitions through the reference table.
// Feed it with [Checker.Tracer] (or [Checker.Transition] and
// [Checker.Extra]); it is safe for use by several stacks at once.
type Checker struct {
	opt  Options
	ref  *spec.Machine
	rows []spec.Row

	mu    sync.Mutex
	conns map[pair]*shadow
	ring  []string // the last Context rendered steps
	steps int
	div   *Divergence
	// live: the checker is an endpoint's tracer (Tracer), so it sees the
	// segments sent outside rows too. A trace file holds no such
	// records, and a window update or duplicate ACK pays an owed ACK,
	// so the delayed ACK's bounds are checked only live.
	live bool
}

// New returns a checker whose reference is spec.NewMachine(spec.Table()).
func New(opt Options) (*Checker, error) {
	if opt.RecvBuffer == 0 {
		opt.RecvBuffer = 65535
	}
	if opt.Context == 0 {
		opt.Context = 16
	}
	if opt.MaxAckDelay <= 0 || opt.MaxAckDelay > rfcMaxAckDelay {
		opt.MaxAckDelay = rfcMaxAckDelay
	}
	if opt.RecvBuffer < 0 || opt.MSL < 0 || opt.Context < 0 || opt.ChallengeACKs < 0 {
		return nil, fmt.Errorf("conform: options must not be negative")
	}
	m, err := spec.NewMachine(spec.Table())
	if err != nil {
		return nil, fmt.Errorf("conform: %w", err)
	}
	return &Checker{opt: opt, ref: m, rows: m.Rows(), conns: map[pair]*shadow{}}, nil
}

// Tracer returns the hooks to put in impl.Options.Tracer. next, when its
// hooks are set, is called too (after the checker).
func (c *Checker) Tracer(next impl.Tracer) impl.Tracer {
	c.mu.Lock()
	c.live = true
	c.mu.Unlock()
	return impl.Tracer{
		Transition: func(t impl.Transition) {
			c.Transition(t)
			if next.Transition != nil {
				next.Transition(t)
			}
		},
		Extra: func(tm time.Time, local, remote netip.AddrPort, sent bool, s impl.Segment, why string) {
			c.Extra(tm, local, remote, sent, s, why)
			if next.Extra != nil {
				next.Extra(tm, local, remote, sent, s, why)
			}
		},
	}
}

// Err returns the first divergence (a *Divergence), or nil.
func (c *Checker) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.div == nil {
		return nil
	}
	return c.div
}

// Steps returns how many transitions the checker has seen.
func (c *Checker) Steps() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.steps
}

// TCB returns the checker's copy of the connection from local to remote:
// spec's TCB as the reference table stepped it.
func (c *Checker) TCB(local, remote netip.AddrPort) (spec.TCB, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	sh := c.conns[pair{local, remote}]
	if sh == nil {
		return spec.TCB{}, false
	}
	return sh.tcb, true
}

// Recent returns the last rendered steps (at most Options.Context).
func (c *Checker) Recent() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.ring...)
}

func (c *Checker) remember(line string) {
	if c.opt.Context == 0 {
		return
	}
	if len(c.ring) == c.opt.Context {
		copy(c.ring, c.ring[1:])
		c.ring = c.ring[:len(c.ring)-1]
	}
	c.ring = append(c.ring, line)
}

// Transition checks one recorded transition.
func (c *Checker) Transition(t impl.Transition) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.steps++
	row := "?"
	if t.Row >= 0 && t.Row < len(c.rows) {
		row = c.rows[t.Row].Name()
	}
	line := fmt.Sprintf("%4d %s %s>%s  %s --%s--> %s  [%s]", c.steps, t.Time.Format("15:04:05.000"),
		addr(t.Local), addr(t.Remote), t.From, t.Event, t.To, row)
	if t.In != nil {
		line += "  in: " + t.In.String()
	}
	for _, s := range t.Out {
		line += "  out: " + s.String()
	}
	c.remember(line)
	if c.div != nil {
		return
	}
	if check, why := c.step(&t); why != "" {
		c.div = &Divergence{Check: check, Step: c.steps, Reason: why, Table: append([]string(nil), c.ring...)}
	}
}

// Extra checks a segment sent outside any row: a window update or a
// duplicate ACK must be an ACK at the shadow SND.NXT carrying the shadow
// RCV.NXT; a retransmission of loss recovery must lie within
// [SND.UNA, SND.NXT) and carry RCV.NXT.
func (c *Checker) Extra(tm time.Time, local, remote netip.AddrPort, sent bool, s impl.Segment, why string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	dir := "in"
	if sent {
		dir = "out"
	}
	c.remember(fmt.Sprintf("     %s %s>%s  (%s, %s: %s)", tm.Format("15:04:05.000"), addr(local), addr(remote), why, dir, s))
	if c.div != nil {
		return
	}
	var reason string
	if sent {
		reason = c.sent(local, remote, s, why)
	} else {
		reason = c.received(local, remote, s, why)
	}
	if reason != "" {
		c.div = &Divergence{Check: CheckConformance, Step: c.steps, Reason: reason, Table: append([]string(nil), c.ring...)}
	}
}

// sent checks a segment the endpoint sent outside any row and notes it.
// It returns why that was wrong, or "".
func (c *Checker) sent(local, remote netip.AddrPort, s impl.Segment, why string) string {
	sh := c.conns[pair{local, remote}]
	if sh == nil || !sh.tcb.State().HasTCB() {
		return ""
	}
	h, t := s.Header, &sh.tcb
	if view(&s).SegLen() > 0 && h.Flags&^(spec.PSH|spec.FIN) == spec.ACK {
		// A retransmission outside any row (loss recovery, RFC 5681 and
		// RFC 6582).
		if r := resent(t, &s, t.RcvNxt()); r != "" {
			return fmt.Sprintf("retransmission outside a row (%s) %s: %s", why, s, r)
		}
	} else if h.Flags != spec.ACK || s.Len != 0 {
		return fmt.Sprintf("segment sent outside a row (%s) is %s, neither a bare ACK nor a retransmission", why, s)
	} else if a := t.ACK(); !same(a, &s, a.Ack) {
		return fmt.Sprintf("ACK sent outside a row (%s) is seq=%d ack=%d; SND.NXT=%d RCV.NXT=%d",
			why, uint32(h.Seq), uint32(h.Ack), uint32(a.Seq), uint32(a.Ack))
	}
	sh.advertise(h)
	sh.paidAt(&h, t.RcvNxt())
	return ""
}

// received checks a segment the endpoint took outside any row: held for
// later processing, or not admitted. It returns why that was wrong, or "".
func (c *Checker) received(local, remote netip.AddrPort, s impl.Segment, why string) string {
	sh := c.conns[pair{local, remote}]
	f := s.Header.Flags
	switch why {
	case impl.ExtraHeld, impl.ExtraHeldDup, impl.ExtraHeldDropped:
		// RFC 9293 §3.10.7.4: an acceptable segment with text or FIN that
		// begins beyond RCV.NXT, in a state that holds such segments
		// (spec.State.HoldsSegment).
		if sh == nil || !sh.tcb.State().HoldsOutOfOrder() {
			st := spec.Closed
			if sh != nil {
				st = sh.tcb.State()
			}
			return fmt.Sprintf("segment %s %s in %s, a state that does not hold segments out of order", s, why, st)
		}
		_, hi := sh.window(c.opt.RecvBuffer)
		v := view(&s)
		x := sh.tcb.Ctx(v, hi)
		if !sh.tcb.State().HoldsSegment(&x) {
			return fmt.Sprintf("segment %s %s, but only an acceptable segment with an ACK and text or FIN beyond RCV.NXT=%d is held",
				s, why, uint32(sh.tcb.RcvNxt()))
		}
		if why == impl.ExtraHeld {
			if sh.held == nil {
				sh.held = map[spec.Seq][]spec.Seq{}
			}
			sh.held[v.Seq] = append(sh.held[v.Seq], v.Ack)
		}
	case impl.ExtraCapReached, impl.ExtraBacklogFull:
		// Admission: a connection request the listener does not take,
		// as if it had been lost (the peer retransmits it).
		if f&(spec.SYN|spec.ACK|spec.RST) != spec.SYN || sh != nil && sh.tcb.State().HasTCB() {
			return fmt.Sprintf("segment %s not admitted (%s), but only a SYN for no connection is refused admission", s, why)
		}
	case impl.ExtraCookieFull:
		if !f.Has(spec.ACK) || f.Has(spec.SYN) || f.Has(spec.RST) || sh != nil && sh.tcb.State().HasTCB() {
			return fmt.Sprintf("segment %s not admitted (%s), but only an ACK for no connection carries a cookie", s, why)
		}
	default:
		return fmt.Sprintf("segment %s taken outside any row for a reason the checker does not know: %q", s, why)
	}
	return ""
}

// outOfRow checks what the endpoint did to an arriving segment before the
// table saw it (spec's package documentation): a segment held out of
// order is stepped once RCV.NXT reaches it, with its ACK rewritten to
// SND.UNA only if SND.UNA moved past it meanwhile; a segment the state
// would hold is not stepped ahead of RCV.NXT; text is trimmed to the
// receive window.
func (sh *shadow) outOfRow(t *impl.Transition, v *spec.Segment, lo, hi uint32) string {
	if v == nil {
		return ""
	}
	una, nxt := sh.tcb.SndUna(), sh.tcb.RcvNxt()
	if acks, ok := sh.held[v.Seq]; ok && t.Held {
		// A trace file holds no Extra records: only a hold that was seen
		// is checked.
		if !slices.ContainsFunc(acks, func(ack spec.Seq) bool {
			return ack == v.Ack || ack.LessThan(una) && v.Ack == una
		}) {
			return fmt.Sprintf("a held segment at seq=%d came back with ack=%d, not its own (%v); only an ACK before SND.UNA=%d is raised to SND.UNA",
				uint32(v.Seq), uint32(v.Ack), acks, uint32(una))
		}
	}
	if (t.Event == spec.SegData || t.Event == spec.SegFIN) && sh.tcb.State().HoldsOutOfOrder() {
		// RCV.WND lies between what was advertised (lo) and the buffer
		// (hi): a segment acceptable even in lo must be held, one that
		// ends beyond hi was not trimmed.
		xlo, x := sh.tcb.Ctx(v, lo), sh.tcb.Ctx(v, hi)
		if spec.IsSeqOK(&xlo) && nxt.LessThan(v.Seq) {
			return fmt.Sprintf("segment at seq=%d stepped ahead of RCV.NXT=%d in %s, which holds it for later processing",
				uint32(v.Seq), uint32(nxt), sh.tcb.State())
		}
		if spec.IsSeqOK(&x) && nxt.Add(hi).LessThan(v.Seq.Add(v.Len)) {
			return fmt.Sprintf("segment at seq=%d with %d octets ends beyond the receive window (RCV.NXT=%d, RCV.WND at most %d): it was not trimmed",
				uint32(v.Seq), v.Len, uint32(nxt), hi)
		}
	}
	return ""
}

// forgetHeld drops the held segments RCV.NXT has passed.
func (sh *shadow) forgetHeld() {
	for sq := range sh.held {
		if sq.LessThan(sh.tcb.RcvNxt()) || !sh.tcb.State().HasTCB() {
			delete(sh.held, sq)
		}
	}
}

func addr(a netip.AddrPort) string {
	if !a.IsValid() || !a.Addr().IsValid() {
		return "*"
	}
	return a.String()
}

// view returns what spec's TCB reads of a recorded segment.
func view(s *impl.Segment) *spec.Segment {
	if s == nil {
		return nil
	}
	v := s.Header.Spec(s.Len)
	return &v
}

// window returns the bounds of RCV.WND: what was last advertised, and the
// most the receive buffer allows.
func (sh *shadow) window(buf int) (lo, hi uint32) {
	if nxt := sh.tcb.RcvNxt(); sh.advSet && nxt.LessThan(sh.advEdge) {
		lo = sh.advEdge.Sub(nxt)
	}
	limit := uint32(65535) << sh.tcb.RcvShift()
	hi = min(max(uint32(buf), lo), limit)
	return min(lo, limit), hi
}

// advertise notes the window a segment we sent advertises.
func (sh *shadow) advertise(h wire.Header) {
	if !h.Flags.Has(spec.ACK) || h.Flags.Has(spec.RST) {
		return
	}
	w := uint32(h.Window)
	if !h.Flags.Has(spec.SYN) {
		w <<= sh.tcb.RcvShift()
	}
	sh.advEdge, sh.advSet = h.Ack.Add(w), true
}

// step checks t against the reference and moves the shadow TCB. It
// returns the name of the failed check and why, or "", "".
func (c *Checker) step(t *impl.Transition) (string, string) {
	k := pair{t.Local, t.Remote}
	sh := c.conns[k]
	if sh == nil || !sh.tcb.State().HasTCB() {
		if t.From.HasTCB() {
			return CheckConformance, fmt.Sprintf("the connection is in %s, but the model saw no OPEN for it", t.From)
		}
		sh = &shadow{tcb: spec.NewTCB()}
		if t.From == spec.Listen {
			sh.tcb = spec.NewListenTCB()
		}
		c.conns[k] = sh
	}
	if t.From != sh.tcb.State() {
		return CheckConformance, fmt.Sprintf("the endpoint stepped from %s, the model is in %s", t.From, sh.tcb.State())
	}
	if c.live && sh.owed && t.Time.Sub(sh.owedSince) > c.opt.MaxAckDelay {
		return CheckConformance, fmt.Sprintf("an ACK owed since %s (delay ACK) was still not sent %v later, beyond the bound of %v (RFC 1122 §4.2.3.2)",
			sh.owedSince.Format("15:04:05.000"), t.Time.Sub(sh.owedSince), c.opt.MaxAckDelay)
	}
	if t.Event == spec.DelayedAckTimeout && !sh.owed {
		return CheckConformance, "the delayed-ACK timer fired with no ACK owed"
	}
	in := t.In
	switch {
	case t.Event.IsSegment() && in == nil:
		return CheckConformance, fmt.Sprintf("segment event %s without a recorded segment", t.Event)
	case t.Event.IsSegment():
		if e := spec.Classify(in.Header.Flags, in.Len); e != t.Event {
			return CheckConformance, fmt.Sprintf("segment %s is %s (spec.Classify), the endpoint stepped %s", in, e, t.Event)
		}
	case in != nil:
		return CheckConformance, fmt.Sprintf("event %s with a segment", t.Event)
	case int(t.Event) >= spec.NumEvents:
		return CheckConformance, fmt.Sprintf("unknown event %d", t.Event)
	}

	if (t.Event == spec.RetransmitTimeout || t.Event == spec.RetriesExhausted) && sh.tcb.State().HasTCB() &&
		sh.tcb.SndUna() == sh.tcb.SndNxt() && sh.tcb.SndWnd() != 0 {
		// RFC 6298 §5.2: when all outstanding data has been acknowledged
		// the retransmission timer is turned off (a zero window keeps it
		// for the probe of §3.8.6.1).
		return CheckConformance, fmt.Sprintf("the retransmission timer fired with nothing unacknowledged (SND.UNA = SND.NXT = %d)", uint32(sh.tcb.SndNxt()))
	}
	if (t.Event == spec.KeepAliveTimeout || t.Event == spec.KeepAliveExhausted) && sh.tcb.State().Runs(spec.TimerKeepAlive) &&
		sh.tcb.SndUna() != sh.tcb.SndNxt() {
		// RFC 1122 §4.2.3.6: keepalive probes an idle connection; with
		// something unacknowledged the retransmission timer watches the peer.
		return CheckConformance, fmt.Sprintf("the keepalive timer fired with something unacknowledged (SND.UNA=%d, SND.NXT=%d)",
			uint32(sh.tcb.SndUna()), uint32(sh.tcb.SndNxt()))
	}
	lo, hi := sh.window(c.opt.RecvBuffer)
	v := view(in)
	xlo, xhi := sh.tcb.Ctx(v, lo), sh.tcb.Ctx(v, hi)
	cands := []int{c.ref.StepCtx(sh.tcb.State(), t.Event, &xlo)}
	if r := c.ref.StepCtx(sh.tcb.State(), t.Event, &xhi); r != cands[0] {
		cands = append(cands, r)
	}
	r := -1
	for _, ri := range cands {
		if ri >= 0 && ri == t.Row && c.rows[ri].To == t.To {
			r = ri
		}
	}
	if r < 0 {
		got := fmt.Sprintf("row %d", t.Row)
		if t.Row >= 0 && t.Row < len(c.rows) {
			got = fmt.Sprintf("%q", c.rows[t.Row].Name())
		}
		var want []string
		for _, ri := range cands {
			if ri < 0 {
				want = append(want, "no row")
				continue
			}
			want = append(want, fmt.Sprintf("%q to %s", c.rows[ri].Name(), c.rows[ri].To))
		}
		return CheckConformance, fmt.Sprintf("the endpoint applied %s and went to %s; the table applies %s (guards %s; %s)",
			got, t.To, strings.Join(want, " or "), spec.Cond{Mask: 1<<spec.NumGuards - 1, Want: spec.EvalAll(&xlo)}, sh.describe())
	}
	row := c.rows[r]
	if why := sh.outOfRow(t, v, lo, hi); why != "" {
		return CheckConformance, why
	}
	if why := c.apply(sh, row, t, &xlo, &xhi); why != "" {
		return CheckConformance, fmt.Sprintf("row %q: %s", row.Name(), why)
	}

	// TimeWaitHeld, as far as one endpoint shows it.
	acts := row.Actions()
	if t.To == spec.TimeWait && t.From != spec.TimeWait && !sh.finFirst {
		return CheckTimeWait, fmt.Sprintf("%s entered TIME-WAIT without having sent its FIN before the peer's arrived", addr(t.Local))
	}
	if t.From == spec.TimeWait && t.Event == spec.TimeWaitTimeout && c.opt.MSL > 0 {
		if held := t.Time.Sub(sh.twSince); held < 2*c.opt.MSL {
			return CheckTimeWait, fmt.Sprintf("%s left TIME-WAIT after %v, less than 2*MSL = %v", addr(t.Local), held, 2*c.opt.MSL)
		}
	}
	if acts.Has(spec.StartTimeWait) {
		sh.twSince = t.Time
	}
	if acts.Has(spec.DeleteTCB) {
		*sh = shadow{tcb: sh.tcb}
	}
	sh.tcb.Enter(row.To)
	sh.forgetHeld()
	return "", ""
}

func (sh *shadow) describe() string {
	return fmt.Sprintf("SND.UNA=%d SND.NXT=%d RCV.NXT=%d", uint32(sh.tcb.SndUna()), uint32(sh.tcb.SndNxt()), uint32(sh.tcb.RcvNxt()))
}

// apply moves the shadow TCB through row's actions with spec's TCB,
// checking the segments the endpoint sent against what they make it send.
// The endpoint's choices are inputs taken from what it sent: the ISS of
// its SYN, the options of its SYN, how much new text it sent in the step.
func (c *Checker) apply(sh *shadow, row spec.Row, t *impl.Transition, xlo, xhi *spec.Ctx) string {
	acts := row.Actions()
	in := t.In
	v := view(in)
	tcb := &sh.tcb
	p := spec.Params{RcvWnd: xhi.RcvWnd, MSS: sh.mss, WScale: true, Shift: impl.WindowShift(c.opt.RecvBuffer)}
	if acts.Has(spec.SendFIN) {
		sh.finFirst = !tcb.FinReceived()
	}
	// Processing of the arriving segment, in action order. A segment that
	// process-ACK makes the endpoint resend (loss recovery) acknowledges
	// RCV.NXT as it was before the text: mid.
	var mid spec.Seq
	for _, a := range [...]spec.Action{spec.AcceptSYN, spec.ProcessACK, spec.AcceptText, spec.AcceptFIN} {
		if a == spec.AcceptText {
			mid = tcb.RcvNxt()
		}
		if acts.Has(a) {
			sh.eff.Reset()
			tcb.Apply(a, v, p, &sh.eff)
		}
	}

	// What was sent.
	var sentSYN, sentSYNACK, sentRST, sentACK, carried bool
	for i := range t.Out {
		s := &t.Out[i]
		h := s.Header
		f := h.Flags
		bad := func(format string, args ...any) string {
			return fmt.Sprintf("sent %s: ", s) + fmt.Sprintf(format, args...)
		}
		iss, _ := tcb.ISS()
		switch {
		case f.Has(spec.RST):
			sentRST = true
			switch {
			case acts.Has(spec.ReplyRST) && in != nil:
				sh.eff.Reset()
				tcb.Apply(spec.ReplyRST, v, p, &sh.eff)
				if !same(sh.eff.Out[0], s, 0) {
					if in.Header.Flags.Has(spec.ACK) {
						return bad("the reply to a segment with ACK is <SEQ=SEG.ACK><CTL=RST> (RFC 9293 §3.10.7.1)")
					}
					return bad("the reply to a segment without ACK is <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK> (RFC 9293 §3.10.7.1)")
				}
			case acts.Has(spec.SendRST):
				if h.Seq != tcb.SndNxt() {
					return bad("the RST of ABORT carries SND.NXT=%d", uint32(tcb.SndNxt()))
				}
			default:
				return bad("the row sends no RST")
			}
		case f.Has(spec.SYN):
			// Our SYN or SYN,ACK: the one the row's send SYN or send
			// SYN,ACK makes with the ISS the endpoint chose, or the one
			// spec's TCB resends (<SEQ=ISS>, acknowledging RCV.NXT).
			fresh, name := spec.SendSYN, "SYN"
			if f.Has(spec.ACK) {
				fresh, name = spec.SendSYNACK, "SYN,ACK"
			}
			sentSYN, sentSYNACK = sentSYN || fresh == spec.SendSYN, sentSYNACK || fresh == spec.SendSYNACK
			var want spec.Segment
			ok := true
			if h.MSS != 0 {
				sh.mss = h.MSS
			}
			switch {
			case acts.Has(fresh):
				q := p
				q.ISS = h.Seq
				sh.eff.Reset()
				tcb.Apply(fresh, v, q, &sh.eff)
				want = sh.eff.Out[0]
			case acts.Has(spec.Retransmit):
				want, ok = tcb.Resend(h.Seq, p)
			default:
				return bad("the row sends no %s", name)
			}
			if !ok || !same(want, s, tcb.RcvNxt()) {
				return bad("the %s must be <SEQ=ISS><ACK=RCV.NXT>, unacknowledged (ISS=%d SND.UNA=%d RCV.NXT=%d)",
					name, uint32(iss), uint32(tcb.SndUna()), uint32(tcb.RcvNxt()))
			}
		default:
			if !f.Has(spec.ACK) {
				return bad("a segment without ACK, SYN or RST")
			}
			sentACK = true
			n := view(s).SegLen()
			switch {
			case n > 0 && h.Seq == tcb.SndNxt() && !tcb.FinSent():
				if !(acts.Has(spec.SendText) || acts.Has(spec.SendFIN)) {
					return bad("new text or FIN at SND.NXT, but the row sends neither text nor FIN")
				}
				if h.Ack != mid && h.Ack != tcb.RcvNxt() {
					return bad("must acknowledge RCV.NXT=%d", uint32(tcb.RcvNxt()))
				}
				// A FIN from a row without send FIN: one that sends queued
				// text, or retransmits, after CLOSE was called earlier and
				// left the FIN waiting behind the text.
				if f.Has(spec.FIN) && !acts.Has(spec.SendFIN) && !acts.Has(spec.SendText) && !acts.Has(spec.Retransmit) {
					return bad("a FIN from a row that does not send one")
				}
				// The segment as spec's TCB sends this much text (and FIN)
				// from SND.NXT: within the send window.
				q := p
				q.Unsent, q.SendMSS, q.FinQueued = uint32(s.Len), max(uint32(s.Len), 1), f.Has(spec.FIN)
				sh.eff.Reset()
				tcb.Apply(spec.SendText, v, q, &sh.eff)
				if len(sh.eff.Out) != 1 || sh.eff.Out[0].SegLen() != n {
					return bad("%d octets of new text from SND.NXT=%d do not fit the send window (SND.UNA=%d SND.WND=%d)",
						s.Len, uint32(h.Seq), uint32(tcb.SndUna()), tcb.SndWnd())
				}
			case n > 0:
				if !(acts.Has(spec.Retransmit) || acts.Has(spec.ProcessACK)) {
					return bad("a retransmission from a row that neither retransmits nor processes an ACK")
				}
				if why := resent(tcb, s, mid); why != "" {
					return bad("%s", why)
				}
			case acts.Has(spec.SendKeepAlive):
				if k := tcb.KeepAlive(); !same(k, s, k.Ack) {
					return bad("the keepalive probe must be <SEQ=SND.NXT-1=%d><ACK=RCV.NXT=%d> (RFC 1122 §4.2.3.6)", uint32(k.Seq), uint32(k.Ack))
				}
			case acts.Has(spec.SendACK) || acts.Has(spec.SendChallengeACK) || acts.Has(spec.DelayACK):
				if a := tcb.ACK(); !same(a, s, a.Ack) {
					return bad("the ACK must be <SEQ=SND.NXT=%d><ACK=RCV.NXT=%d>", uint32(a.Seq), uint32(a.Ack))
				}
			case acts.Has(spec.Retransmit):
				// A window probe (RFC 9293 §3.8.6.1) or an empty resend.
				if !tcb.SndUna().Add(^uint32(0)).LessEq(h.Seq) || !h.Seq.LessEq(tcb.SndNxt()) || h.Ack != tcb.RcvNxt() {
					return bad("a window probe outside [SND.UNA-1, SND.NXT] or not acknowledging RCV.NXT=%d", uint32(tcb.RcvNxt()))
				}
			default:
				return bad("the row sends no ACK")
			}
		}
		sh.advertise(h)
		sh.paidAt(&h, mid)
		carried = carried || f.Has(spec.ACK) && !f.Has(spec.RST) && h.Ack == tcb.RcvNxt()
	}
	if acts.Has(spec.SendACK) || acts.Has(spec.SendChallengeACK) {
		// The row's ACK pays an owed one, as spec's TCB records, also
		// when a rate limit kept it off the wire.
		sh.owed = false
	}
	if acts.Has(spec.DelayACK) && tcb.RcvNxt() != mid && !carried {
		// RFC 1122 §4.2.3.2: the ACK of new text may wait, but at least
		// every second full-sized segment is acknowledged at once
		// (RFC 9293 §3.8.6.3: "or 2*RMSS bytes of new data"), and the
		// delay counts from the first segment that owes it.
		rmss := p.RMSS() // the endpoint's MSS, from its SYN
		switch {
		case !sh.owed:
			sh.owed, sh.owedSince, sh.owedFrom = true, t.Time, mid
		case c.live && tcb.RcvNxt().Sub(sh.owedFrom) >= 2*rmss:
			return fmt.Sprintf("%d octets of text unacknowledged, and no ACK: at least every second full-sized segment (2*RMSS = %d octets) is acknowledged at once (RFC 1122 §4.2.3.2, RFC 9293 §3.8.6.3)",
				tcb.RcvNxt().Sub(sh.owedFrom), 2*rmss)
		}
	}
	switch {
	case acts.Has(spec.SendSYN) && !sentSYN:
		return "the row sends a SYN; the endpoint sent none"
	case acts.Has(spec.SendSYNACK) && !sentSYNACK:
		return "the row sends a SYN,ACK; the endpoint sent none"
	case acts.Has(spec.SendRST) && !sentRST, acts.Has(spec.ReplyRST) && in != nil && !sentRST:
		return "the row sends a RST; the endpoint sent none"
	case acts.Has(spec.Retransmit) && len(t.Out) == 0:
		return "the row retransmits; the endpoint sent nothing"
	case acts.Has(spec.SendKeepAlive) && !sentACK:
		return "the row sends a keepalive probe; the endpoint sent none"
	}
	if acts.Has(spec.SendACK) && rateLimited(in, xlo, xhi) {
		// impl sends at most one ACK per 500 ms to unacceptable empty
		// segments; the shadow notes every such ACK sent, so it allows
		// a missing one whenever the endpoint may have limited it.
		switch {
		case sentACK:
			sh.lastInvalidACK = t.Time
		case sh.lastInvalidACK.IsZero() || t.Time.Sub(sh.lastInvalidACK) >= impl.InvalidACKInterval:
			return fmt.Sprintf("the row sends an ACK; the endpoint sent none, and its last ACK to an unacceptable segment was not within %v", impl.InvalidACKInterval)
		}
	} else if acts.Has(spec.SendACK) && !sentACK {
		return "the row sends an ACK; the endpoint sent none"
	}
	if acts.Has(spec.SendChallengeACK) && c.opt.ChallengeACKs > 0 {
		if t.Time.Sub(sh.chalStart) >= time.Second {
			sh.chalStart, sh.chalCount = t.Time, 0
		}
		allowed := sh.chalCount < c.opt.ChallengeACKs
		if allowed {
			sh.chalCount++
		}
		switch {
		case allowed && !sentACK:
			return fmt.Sprintf("the row sends a challenge ACK (RFC 5961); the endpoint sent none with %d of %d this second", sh.chalCount-1, c.opt.ChallengeACKs)
		case !allowed && sentACK:
			return fmt.Sprintf("a challenge ACK beyond the limit of %d per second (RFC 5961 §7)", c.opt.ChallengeACKs)
		}
	}
	return ""
}

// same reports whether the endpoint sent want as s: the same SEQ, control
// bits (PSH aside) and text, and, when it carries an ACK, want's or alt.
func same(want spec.Segment, s *impl.Segment, alt spec.Seq) bool {
	h := &s.Header
	return h.Seq == want.Seq && h.Flags&^spec.PSH == want.Flags&^spec.PSH && uint32(s.Len) == want.Len &&
		(!h.Flags.Has(spec.ACK) || h.Ack == want.Ack || h.Ack == alt)
}

// resent returns why s is not what spec's TCB resends from its SEG.SEQ
// (acknowledging RCV.NXT, or alt), or "".
func resent(t *spec.TCB, s *impl.Segment, alt spec.Seq) string {
	if want, ok := t.Resend(s.Header.Seq, spec.Params{SendMSS: uint32(s.Len)}); !ok || !same(want, s, alt) {
		return fmt.Sprintf("not what spec's TCB resends from there (SND.UNA=%d SND.NXT=%d RCV.NXT=%d)",
			uint32(t.SndUna()), uint32(t.SndNxt()), uint32(t.RcvNxt()))
	}
	return ""
}

// rateLimited reports whether the endpoint may leave out the ACK of a row:
// impl rate-limits ACKs to unacceptable segments of zero length.
func rateLimited(in *impl.Segment, xlo, xhi *spec.Ctx) bool {
	if in == nil || view(in).SegLen() != 0 {
		return false
	}
	for _, x := range []*spec.Ctx{xlo, xhi} {
		if !spec.IsAcceptable(x) {
			return true
		}
	}
	return false
}

// Check replays a whole recorded trace and returns the first divergence.
func Check(trace []impl.Transition, opt Options) error {
	c, err := New(opt)
	if err != nil {
		return err
	}
	for _, t := range trace {
		c.Transition(t)
	}
	return c.Err()
}
