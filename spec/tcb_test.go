package spec

import (
	"testing"
)

// pair steps two TCBs against each other through the correct table,
// delivering every segment one sends to the other at once.
type pair struct {
	t    *testing.T
	m    *Machine
	a, b TCB
	pa   Params
	pb   Params
	eff  Effect
}

func newPair(t *testing.T, issA, issB Seq) *pair {
	m, err := NewMachine(Table())
	if err != nil {
		t.Fatal(err)
	}
	p := &pair{t: t, m: m, a: NewTCB(), b: NewTCB(),
		pa: Params{ISS: issA, RcvWnd: 65535, MSS: 1460, WScale: true, Shift: 2},
		pb: Params{ISS: issB, RcvWnd: 65535, MSS: 1000, WScale: true, Shift: 3}}
	return p
}

// step steps host 0 (a) or 1 (b) and returns what it sent.
func (p *pair) step(host int, e Event, in *Segment) []Segment {
	p.t.Helper()
	tcb, prm := &p.a, p.pa
	if host == 1 {
		tcb, prm = &p.b, p.pb
	}
	p.eff.Reset()
	if row := tcb.Step(p.m, e, in, prm, &p.eff); row < 0 {
		p.t.Fatalf("host %d: no row for %s + %s", host, tcb.State(), e)
	}
	out := append([]Segment(nil), p.eff.Out...)
	for i := range out {
		out[i].Window = 65535 // the caller's part: an unscaled window of 65535 (shift 0 until scaling is on)
	}
	return out
}

func (p *pair) deliver(host int, s Segment) []Segment {
	p.t.Helper()
	return p.step(host, Classify(s.Flags, int(s.Len)), &s)
}

func one(t *testing.T, segs []Segment) Segment {
	t.Helper()
	if len(segs) != 1 {
		t.Fatalf("sent %d segments, want 1: %+v", len(segs), segs)
	}
	return segs[0]
}

func TestTCBHandshakeAcrossWrap(t *testing.T) {
	issA, issB := Seq(0xffffffff), Seq(0xfffffffe)
	p := newPair(t, issA, issB)
	p.step(1, PassiveOpen, nil)
	syn := one(t, p.step(0, ActiveOpen, nil))
	if syn.Flags != SYN || syn.Seq != issA || syn.MSS != 1460 || !syn.HasWScale || syn.WScale != 2 {
		t.Fatalf("SYN = %+v", syn)
	}
	synack := one(t, p.deliver(1, syn))
	if synack.Flags != SYN|ACK || synack.Seq != issB || synack.Ack != issA+1 || synack.Ack != 0 || !synack.HasWScale {
		t.Fatalf("SYN,ACK = %+v", synack)
	}
	if p.b.State() != SynReceived || p.b.RcvNxt() != 0 || p.b.SndShift() != 2 || p.b.RcvShift() != 3 {
		t.Fatalf("B after SYN: %s RCV.NXT=%d shifts %d/%d", p.b.State(), p.b.RcvNxt(), p.b.SndShift(), p.b.RcvShift())
	}
	ack := one(t, p.deliver(0, synack))
	if ack.Flags != ACK || ack.Seq != 0 || ack.Ack != issB+1 || p.eff.Signal != SignalConnected {
		t.Fatalf("ACK = %+v, signal %s", ack, p.eff.Signal)
	}
	if p.a.State() != Established || p.a.SndUna() != 0 || p.a.SendMSS(1460) != 1000 {
		t.Fatalf("A: %s SND.UNA=%d MSS %d", p.a.State(), p.a.SndUna(), p.a.SendMSS(1460))
	}
	if out := p.deliver(1, ack); len(out) != 0 || p.b.State() != Established || p.eff.Acked != 1 {
		t.Fatalf("B on ACK: sent %+v, %s, acked %d", out, p.b.State(), p.eff.Acked)
	}
	if iss, ok := p.a.ISS(); !ok || iss != issA {
		t.Fatalf("A's ISS = %d, %v", iss, ok)
	}
}

func establishedPair(t *testing.T) *pair {
	p := newPair(t, 1000, 5000)
	p.step(1, PassiveOpen, nil)
	syn := one(t, p.step(0, ActiveOpen, nil))
	synack := one(t, p.deliver(1, syn))
	ack := one(t, p.deliver(0, synack))
	p.deliver(1, ack)
	return p
}

func TestTCBSegmentizesWithinWindowAndMSS(t *testing.T) {
	p := establishedPair(t)
	// B offered 65535 << 3: plenty. A's segments hold at most B's MSS, 1000.
	p.pa.Unsent = 2500
	out := p.step(0, Send, nil)
	if len(out) != 3 || out[0].Len != 1000 || out[1].Len != 1000 || out[2].Len != 500 {
		t.Fatalf("segments %+v", out)
	}
	if out[0].Seq != 1001 || out[1].Seq != 2001 || out[2].Seq != 3001 || p.a.SndNxt() != 3501 || p.a.TextSent() != 2500 {
		t.Fatalf("seqs %d %d %d, SND.NXT %d", out[0].Seq, out[1].Seq, out[2].Seq, p.a.SndNxt())
	}
	// A window that ends inside the queue: full segments only while
	// anything is in flight (RFC 9293 §3.8.6.2.1).
	q := establishedPair(t)
	w := Segment{Seq: 5001, Ack: 1001, Flags: ACK, Window: 300} // 300<<3 = 2400
	q.deliver(0, w)
	if q.a.SndWnd() != 2400 || !q.eff.WindowUpdated {
		t.Fatalf("SND.WND = %d", q.a.SndWnd())
	}
	q.pa.Unsent = 3000
	if out := q.step(0, Send, nil); len(out) != 2 || out[1].Len != 1000 {
		t.Fatalf("with SND.WND 2400: %+v", out)
	}
}

func TestTCBCloseSendsFINAfterText(t *testing.T) {
	p := establishedPair(t)
	p.pa.Unsent = 10
	fin := one(t, p.step(0, Close, nil))
	if fin.Flags != ACK|PSH|FIN || fin.Len != 10 || fin.Seq != 1001 || p.a.SndNxt() != 1012 || !p.a.FinSent() {
		t.Fatalf("FIN = %+v, SND.NXT %d", fin, p.a.SndNxt())
	}
	p.pa.Unsent = 0
	if got := p.deliver(1, fin); len(got) != 0 || p.b.State() != CloseWait || !p.b.AckOwed() || p.eff.Deliver != 10 || !p.eff.EOF {
		t.Fatalf("B: sent %+v, %s, owed %v, deliver %d eof %v; want CLOSE-WAIT with the ACK delayed", got, p.b.State(), p.b.AckOwed(), p.eff.Deliver, p.eff.EOF)
	}
	ack := one(t, p.step(1, DelayedAckTimeout, nil))
	if ack.Ack != 1012 || p.b.AckOwed() {
		t.Fatalf("B's delayed ACK of text and FIN: %+v, owed %v", ack, p.b.AckOwed())
	}
	// The retransmission of text with the FIN behind it.
	r := one(t, p.step(0, RetransmitTimeout, nil))
	if r.Seq != 1001 || r.Len != 10 || !r.Flags.Has(FIN) {
		t.Fatalf("retransmission %+v", r)
	}
	p.deliver(0, ack)
	if p.a.State() != FinWait2 || p.eff.Acked != 11 {
		t.Fatalf("A: %s acked %d", p.a.State(), p.eff.Acked)
	}
	fin2 := one(t, p.step(1, Close, nil))
	last := one(t, p.deliver(0, fin2))
	if p.a.State() != TimeWait || !p.eff.TimeWait || last.Ack != fin2.Seq+1 {
		t.Fatalf("A: %s timewait %v ack %d", p.a.State(), p.eff.TimeWait, last.Ack)
	}
	if out := p.deliver(1, last); len(out) != 0 || p.b.State() != Closed || !p.eff.Deleted {
		t.Fatalf("B: %s deleted %v", p.b.State(), p.eff.Deleted)
	}
	if p.b.SndNxt() != 0 || p.b.Passive() {
		t.Fatalf("a deleted TCB keeps variables: %+v", p.b)
	}
}

func TestTCBAcceptTextSkipsOldAndTrimsToWindow(t *testing.T) {
	p := establishedPair(t)
	p.pb.RcvWnd = 4
	// 3 octets already received, 6 new, window 4.
	p.deliver(1, Segment{Seq: 1001, Ack: 5001, Flags: ACK, Len: 3})
	if p.b.RcvNxt() != 1004 {
		t.Fatalf("RCV.NXT %d", p.b.RcvNxt())
	}
	p.deliver(1, Segment{Seq: 1001, Ack: 5001, Flags: ACK, Len: 7})
	if p.eff.Skip != 3 || p.eff.Deliver != 4 || p.b.RcvNxt() != 1008 {
		t.Fatalf("skip %d deliver %d RCV.NXT %d", p.eff.Skip, p.eff.Deliver, p.b.RcvNxt())
	}
	// Acceptable (it starts in the window) but longer than the window.
	p.deliver(1, Segment{Seq: 1008, Ack: 5001, Flags: ACK, Len: 9})
	if p.eff.Skip != 0 || p.eff.Deliver != 4 || p.b.RcvNxt() != 1012 {
		t.Fatalf("skip %d deliver %d RCV.NXT %d", p.eff.Skip, p.eff.Deliver, p.b.RcvNxt())
	}
}

func TestTCBReplyRST(t *testing.T) {
	m, err := NewMachine(Table())
	if err != nil {
		t.Fatal(err)
	}
	var eff Effect
	c := NewTCB()
	c.Step(m, SegACK, &Segment{Seq: 7, Ack: 0xfffffff0, Flags: ACK}, Params{}, &eff)
	if len(eff.Out) != 1 || eff.Out[0] != (Segment{Seq: 0xfffffff0, Flags: RST}) {
		t.Fatalf("reply to an ACK: %+v", eff.Out)
	}
	eff.Reset()
	c.Step(m, SegData, &Segment{Seq: 0xfffffffe, Flags: FIN | PSH, Len: 5}, Params{}, &eff)
	if len(eff.Out) != 1 || eff.Out[0] != (Segment{Seq: 0, Ack: 4, Flags: RST | ACK}) {
		t.Fatalf("reply to a segment without ACK: %+v", eff.Out)
	}
}

func TestTCBRetransmitsSYNACKFromFinWait1(t *testing.T) {
	// CLOSE in SYN-RECEIVED sends FIN (RFC 9293 §3.10.4); the SYN,ACK is
	// still unacknowledged, and it is what a retransmission resends.
	p := newPair(t, 100, 300)
	p.step(1, PassiveOpen, nil)
	syn := one(t, p.step(0, ActiveOpen, nil))
	p.deliver(1, syn)
	p.step(1, Close, nil)
	if p.b.State() != FinWait1 {
		t.Fatalf("B: %s", p.b.State())
	}
	r := one(t, p.step(1, RetransmitTimeout, nil))
	if r.Flags != SYN|ACK || r.Seq != 300 || r.Ack != 101 {
		t.Fatalf("retransmission %+v", r)
	}
	if s, ok := p.b.Resend(300, p.pb); !ok || s.Flags != SYN|ACK {
		t.Fatalf("Resend(ISS) = %+v %v", s, ok)
	}
	if _, ok := p.b.Resend(302, p.pb); ok {
		t.Fatal("Resend beyond SND.NXT succeeded")
	}
}

func TestTCBWindowProbe(t *testing.T) {
	p := establishedPair(t)
	p.deliver(0, Segment{Seq: 5001, Ack: 1001, Flags: ACK, Window: 0})
	if p.a.SndWnd() != 0 {
		t.Fatalf("SND.WND %d", p.a.SndWnd())
	}
	p.pa.Unsent = 5
	if out := p.step(0, Send, nil); len(out) != 0 {
		t.Fatalf("sent into a closed window: %+v", out)
	}
	probe := one(t, p.step(0, RetransmitTimeout, nil))
	if probe.Seq != 1000 || probe.Len != 0 || probe.Flags != ACK {
		t.Fatalf("probe %+v", probe)
	}
}

func TestStateRules(t *testing.T) {
	for _, s := range States() {
		if s.Runs(TimerTimeWait) != (s == TimeWait) {
			t.Errorf("%s: 2MSL runs = %v", s, s.Runs(TimerTimeWait))
		}
		if s.Runs(TimerRetransmit) && !s.HasTCB() {
			t.Errorf("%s: retransmission timer without a TCB", s)
		}
		if s.HoldsOutOfOrder() && !(s == SynReceived || s.Synchronized()) {
			t.Errorf("%s holds text out of order", s)
		}
	}
	if SynSent.RetryClass() != RetrySYN || SynReceived.RetryClass() != RetrySYNACK ||
		Established.RetryClass() != RetryData || Listen.RetryClass() != RetryNone || TimeWait.RetryClass() != RetryNone {
		t.Error("retry classes")
	}
}

// TestHoldsSegment: only an acceptable segment with an ACK and text or
// FIN, no SYN or RST, beginning beyond RCV.NXT, in a state that holds
// out-of-order segments, is held for later (RFC 9293 §3.10.7.4).
func TestHoldsSegment(t *testing.T) {
	for _, c := range []struct {
		name  string
		st    State
		f     Flags
		seq   Seq
		len   uint32
		holds bool
	}{
		{"text beyond RCV.NXT", Established, ACK, 1010, 5, true},
		{"FIN beyond RCV.NXT", FinWait1, ACK | FIN, 1010, 1, true},
		{"text at RCV.NXT", Established, ACK, 1000, 5, false},
		{"no ACK", Established, PSH, 1010, 5, false},
		{"RST with text", Established, RST | ACK, 1010, 5, false},
		{"SYN,ACK", Established, SYN | ACK, 1010, 1, false},
		{"beyond the window", Established, ACK, 1100, 5, false},
		{"an ACK without text", Established, ACK, 1010, 0, false},
		{"a state that does not hold", SynSent, ACK, 1010, 5, false},
	} {
		x := Ctx{RcvNxt: 1000, RcvWnd: 100, SegSeq: c.seq, SegLen: c.len, SegFlags: c.f}
		if got := c.st.HoldsSegment(&x); got != c.holds {
			t.Errorf("%s: HoldsSegment = %v, want %v", c.name, got, c.holds)
		}
	}
}

// TestTCBDelayedACK holds delay ACK to RFC 1122 §4.2.3.2: the first
// segment owes its ACK and starts the timer, the second full-sized one is
// acknowledged at once (small ones once 2*RMSS octets are owed), the
// timer's expiry sends an owed ACK, a response carries it, and
// QuickACK acknowledges every segment at once.
func TestTCBDelayedACK(t *testing.T) {
	p := establishedPair(t)
	p.pa.Unsent = 2000
	out := p.step(0, Send, nil)
	if len(out) != 2 {
		t.Fatalf("A sent %+v", out)
	}
	if got := p.deliver(1, out[0]); len(got) != 0 || !p.eff.DelayACK || !p.b.AckOwed() {
		t.Fatalf("first segment: sent %+v, DelayACK %v, owed %v; want the ACK owed", got, p.eff.DelayACK, p.b.AckOwed())
	}
	ack := one(t, p.deliver(1, out[1]))
	if ack.Ack != 3001 || p.eff.DelayACK || p.b.AckOwed() {
		t.Fatalf("second segment: ACK %+v, DelayACK %v, owed %v; want an ACK of both at once", ack, p.eff.DelayACK, p.b.AckOwed())
	}

	// Small segments: the ACK waits for two full-sized segments' worth
	// (2*RMSS octets, RFC 9293 §3.8.6.3) or the timer, which the first
	// started and the later ones do not restart.
	q := establishedPair(t)
	for i, n := range []uint32{600, 600, 600, 300} {
		q.pa.Unsent = n
		seg := one(t, q.step(0, Send, nil))
		got := q.deliver(1, seg)
		switch {
		case i < 3 && (len(got) != 0 || q.eff.DelayACK != (i == 0) || !q.b.AckOwed()):
			t.Fatalf("small segment %d: sent %+v, DelayACK %v, owed %v; want the ACK owed, the timer started by the first only",
				i, got, q.eff.DelayACK, q.b.AckOwed())
		case i == 3 && (len(got) != 1 || got[0].Ack != 3101 || q.b.AckOwed()):
			t.Fatalf("small segment %d (2100 octets owed, RMSS 1000): sent %+v, owed %v; want an ACK of all at once", i, got, q.b.AckOwed())
		}
	}

	// One segment, then the timer.
	p.pa.Unsent = 10
	seg := one(t, p.step(0, Send, nil))
	if got := p.deliver(1, seg); len(got) != 0 || !p.b.AckOwed() {
		t.Fatalf("third segment: sent %+v, owed %v", got, p.b.AckOwed())
	}
	ack = one(t, p.step(1, DelayedAckTimeout, nil))
	if ack.Ack != 3011 || ack.Flags != ACK || p.b.AckOwed() {
		t.Fatalf("delayed ACK %+v, owed %v", ack, p.b.AckOwed())
	}
	if got := p.step(1, DelayedAckTimeout, nil); len(got) != 1 {
		// The caller fires the timer only while an ACK is owed; the row
		// itself acknowledges again, which is harmless.
		t.Fatalf("timer without debt: %+v", got)
	}

	// A segment, then a response from B: the response carries the ACK.
	p.pa.Unsent = 10
	seg = one(t, p.step(0, Send, nil))
	p.deliver(1, seg)
	p.pb.Unsent = 5
	resp := one(t, p.step(1, Send, nil))
	if resp.Ack != 3021 || resp.Len != 5 || p.b.AckOwed() {
		t.Fatalf("response %+v, owed %v: want it to carry the ACK", resp, p.b.AckOwed())
	}

	// QuickACK: every segment is acknowledged at once.
	p.pb.QuickACK = true
	p.pa.Unsent = 10
	seg = one(t, p.step(0, Send, nil))
	if ack := one(t, p.deliver(1, seg)); ack.Ack != 3031 || p.b.AckOwed() {
		t.Fatalf("quick ACK %+v, owed %v", ack, p.b.AckOwed())
	}
	// The peer's FIN, ESTABLISHED to CLOSE-WAIT, owes its ACK too, and
	// the FIN of B's CLOSE carries it: the passive close in three
	// segments (RFC 9293 §3.8.6.3), as Linux closes.
	p.pa.Unsent, p.pb.Unsent, p.pb.QuickACK = 0, 0, false
	fin := one(t, p.step(0, Close, nil))
	if got := p.deliver(1, fin); len(got) != 0 || p.b.State() != CloseWait || !p.b.AckOwed() {
		t.Fatalf("FIN: sent %+v, %s, owed %v; want CLOSE-WAIT with the ACK owed", got, p.b.State(), p.b.AckOwed())
	}
	if fb := one(t, p.step(1, Close, nil)); !fb.Flags.Has(FIN) || fb.Ack != fin.Seq.Add(1) || p.b.AckOwed() {
		t.Fatalf("B's FIN %+v, owed %v: want it to carry the ACK of A's FIN", fb, p.b.AckOwed())
	}
	p = establishedPair(t)

	// Outside a row: an ACK the caller sends pays the debt.
	p.pb.QuickACK = false
	p.pa.Unsent = 10
	seg = one(t, p.step(0, Send, nil))
	p.deliver(1, seg)
	p.b.AckSent(p.b.ACK().Ack)
	if p.b.AckOwed() {
		t.Fatal("an ACK sent outside a row did not pay the debt")
	}
}

// TestTCBKeepAlive holds the keepalive rows to RFC 1122 §4.2.3.6: where
// the timer runs ([State.Runs]), KEEPALIVE sends <SEQ=SND.NXT-1>
// <ACK=RCV.NXT><CTL=ACK>, which the peer's table answers with an ACK at
// its SND.NXT without changing anything, and KEEPALIVE-OUT resets the
// connection, tells the user it timed out and deletes the TCB; elsewhere
// both events are dropped.
func TestTCBKeepAlive(t *testing.T) {
	p := establishedPair(t)
	una, nxt, rcv := p.a.SndUna(), p.a.SndNxt(), p.a.RcvNxt()
	probe := one(t, p.step(0, KeepAliveTimeout, nil))
	if probe.Seq != nxt-1 || probe.Ack != rcv || probe.Flags != ACK || probe.Len != 0 || p.a.State() != Established {
		t.Fatalf("probe %+v in %s; want seq=%d ack=%d ACK", probe, p.a.State(), uint32(nxt-1), uint32(rcv))
	}
	ans := one(t, p.deliver(1, probe))
	if ans.Seq != p.b.SndNxt() || ans.Ack != p.b.RcvNxt() || ans.Flags != ACK || p.b.RcvNxt() != nxt {
		t.Fatalf("the peer answers the probe with %+v (its RCV.NXT %d)", ans, uint32(p.b.RcvNxt()))
	}
	if out := p.deliver(0, ans); len(out) != 0 || p.a.SndUna() != una || p.a.SndNxt() != nxt || p.a.RcvNxt() != rcv {
		t.Fatalf("the answer changed the prober: sent %+v, SND.UNA %d SND.NXT %d RCV.NXT %d", out, uint32(p.a.SndUna()), uint32(p.a.SndNxt()), uint32(p.a.RcvNxt()))
	}
	rst := one(t, p.step(0, KeepAliveExhausted, nil))
	if rst.Flags != RST || rst.Seq != nxt || p.a.State() != Closed || p.eff.Signal != SignalTimeout || !p.eff.Deleted {
		t.Fatalf("giving up: sent %+v, %s, signal %s, deleted %v", rst, p.a.State(), p.eff.Signal, p.eff.Deleted)
	}
	for _, r := range Table() {
		if r.On != KeepAliveTimeout && r.On != KeepAliveExhausted {
			continue
		}
		runs := r.From.Runs(TimerKeepAlive)
		switch {
		case !runs && (len(r.Do) != 1 || r.Do[0] != Drop || r.To != r.From):
			t.Errorf("%s: no keepalive timer runs in %s, but the row does %s", r.Name(), r.From, r.ActionString())
		case runs && r.On == KeepAliveTimeout && (!r.Actions().Has(SendKeepAlive) || r.To != r.From):
			t.Errorf("%s: does %s to %s, want send keepalive probe", r.Name(), r.ActionString(), r.To)
		case runs && r.On == KeepAliveExhausted && (!r.Actions().Has(SendRST) || !r.Actions().Has(SignalTimeout) || r.To != Closed):
			t.Errorf("%s: does %s to %s, want send RST, signal timeout, delete TCB", r.Name(), r.ActionString(), r.To)
		}
	}
	for _, s := range States() {
		if s.Runs(TimerKeepAlive) && (!s.Synchronized() || s.RetryClass() != RetryData || s == FinWait1 || s == Closing || s == LastAck) {
			t.Errorf("keepalive runs in %s, where our FIN is outstanding or the connection is not synchronized", s)
		}
	}
}
