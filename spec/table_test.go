package spec

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// The key rules of RFC 9293, checked by stepping the table with concrete
// TCBs and segments, so that the guards are exercised along with the rows.
// Our ISS is 100 and the peer's 300; the receive window is 1000.

// established returns the TCB of a connection past its handshake, with
// segment fields to fill in.
func established() Ctx {
	return Ctx{SndUna: 101, SndNxt: 101, RcvNxt: 301, RcvWnd: 1000, MaxSndWnd: 1000}
}

// withSeg sets the segment fields of c.
func withSeg(c Ctx, flags Flags, seq, ack Seq, text uint32) Ctx {
	c.SegFlags, c.SegSeq, c.SegAck = flags, seq, ack
	c.SegLen = text
	if flags.Has(SYN) {
		c.SegLen++
	}
	if flags.Has(FIN) {
		c.SegLen++
	}
	return c
}

// afterOurFIN is a TCB whose FIN (sequence number 101) has been sent.
func afterOurFIN() Ctx {
	c := established()
	c.SndNxt, c.FinSent = 102, true
	return c
}

func TestKeyRows(t *testing.T) {
	m, err := NewMachine(Table())
	if err != nil {
		t.Fatal(err)
	}
	synSent := Ctx{SndUna: 100, SndNxt: 101, RcvWnd: 1000}
	listen := Ctx{RcvWnd: 1000}
	synRcvd := Ctx{SndUna: 100, SndNxt: 101, RcvNxt: 301, RcvWnd: 1000, Passive: true}

	tests := []struct {
		name string
		from State
		ctx  Ctx
		on   Event // 0 with a segment: classified from the flags
		to   State
		do   []Action // actions that must be among the row's
		not  []Action // actions that must not
	}{
		{"SYN-SENT + acceptable SYN,ACK -> ESTABLISHED, send ACK", SynSent,
			withSeg(synSent, SYN|ACK, 300, 101, 0), 0, Established, []Action{AcceptSYN, ProcessACK, SendACK, SignalConnected}, nil},
		{"SYN-SENT + SYN,ACK acknowledging the wrong ISS -> reply RST", SynSent,
			withSeg(synSent, SYN|ACK, 300, 999, 0), 0, SynSent, []Action{ReplyRST}, []Action{SignalConnected}},
		{"SYN-SENT + SYN -> SYN-RECEIVED (simultaneous open)", SynSent,
			withSeg(synSent, SYN, 300, 0, 0), 0, SynReceived, []Action{AcceptSYN, SendSYNACK}, nil},
		{"SYN-SENT + RST,ACK of our SYN -> CLOSED, refused", SynSent,
			withSeg(synSent, RST|ACK, 0, 101, 0), 0, Closed, []Action{SignalRefused, DeleteTCB}, nil},
		{"SYN-SENT + RST without acceptable ACK -> dropped", SynSent,
			withSeg(synSent, RST, 0, 0, 0), 0, SynSent, []Action{Drop}, nil},
		{"LISTEN + SYN -> SYN-RECEIVED, send SYN,ACK", Listen,
			withSeg(listen, SYN, 300, 0, 0), 0, SynReceived, []Action{AcceptSYN, SendSYNACK}, nil},
		{"LISTEN + ACK -> reply RST", Listen,
			withSeg(listen, ACK, 300, 55, 0), 0, Listen, []Action{ReplyRST}, nil},
		{"CLOSED + SYN -> reply RST", Closed,
			withSeg(Ctx{}, SYN, 300, 0, 0), 0, Closed, []Action{ReplyRST}, nil},
		{"CLOSED + RST -> drop", Closed,
			withSeg(Ctx{}, RST, 300, 0, 0), 0, Closed, []Action{Drop}, nil},
		{"SYN-RECEIVED + ACK of our SYN -> ESTABLISHED", SynReceived,
			withSeg(synRcvd, ACK, 301, 101, 0), 0, Established, []Action{ProcessACK, SignalConnected}, nil},
		{"SYN-RECEIVED + bad ACK -> reply RST", SynReceived,
			withSeg(synRcvd, ACK, 301, 500, 0), 0, SynReceived, []Action{ReplyRST}, nil},
		{"SYN-RECEIVED (passive) + RST at RCV.NXT -> LISTEN", SynReceived,
			withSeg(synRcvd, RST, 301, 0, 0), 0, Listen, []Action{DeleteTCB}, []Action{SignalRefused}},
		{"SYN-RECEIVED (active) + peer's SYN,ACK -> ESTABLISHED (simultaneous open)", SynReceived,
			func() Ctx { c := synRcvd; c.Passive = false; return withSeg(c, SYN|ACK, 300, 101, 0) }(), 0,
			Established, []Action{ProcessACK, SendACK, SignalConnected}, nil},
		{"ESTABLISHED + in-window text -> deliver and ACK, maybe delayed", Established,
			withSeg(established(), ACK|PSH, 301, 101, 10), 0, Established, []Action{AcceptText, DelayACK}, []Action{SendACK}},
		{"ESTABLISHED + delayed-ACK timer -> send the ACK", Established, established(), DelayedAckTimeout, Established, []Action{SendACK}, nil},
		{"CLOSE-WAIT + delayed-ACK timer -> send the FIN's ACK", CloseWait, established(), DelayedAckTimeout, CloseWait, []Action{SendACK}, nil},
		{"LAST-ACK + delayed-ACK timer -> nothing owed here", LastAck, established(), DelayedAckTimeout, LastAck, []Action{Drop}, nil},
		{"ESTABLISHED + old duplicate text -> send ACK only", Established,
			withSeg(established(), ACK, 250, 101, 10), 0, Established, []Action{SendACK}, []Action{AcceptText}},
		{"ESTABLISHED + ACK beyond SND.NXT -> send ACK, drop", Established,
			withSeg(established(), ACK, 301, 5000, 0), 0, Established, []Action{SendACK}, []Action{ProcessACK}},
		{"ESTABLISHED + FIN -> CLOSE-WAIT, ACK it, maybe delayed", Established,
			withSeg(established(), ACK|FIN, 301, 101, 0), 0, CloseWait, []Action{AcceptFIN, DelayACK}, []Action{SendACK}},
		{"FIN-WAIT-2 + FIN -> TIME-WAIT, ACK it at once", FinWait2,
			withSeg(established(), ACK|FIN, 301, 101, 0), 0, TimeWait, []Action{AcceptFIN, SendACK}, []Action{DelayACK}},
		{"ESTABLISHED + RST at RCV.NXT -> CLOSED, reset", Established,
			withSeg(established(), RST, 301, 0, 0), 0, Closed, []Action{SignalReset, DeleteTCB}, nil},
		{"ESTABLISHED + in-window inexact RST -> challenge ACK", Established,
			withSeg(established(), RST, 700, 0, 0), 0, Established, []Action{SendChallengeACK}, []Action{DeleteTCB}},
		{"ESTABLISHED + out-of-window RST -> drop silently", Established,
			withSeg(established(), RST, 5000, 0, 0), 0, Established, []Action{Drop}, nil},
		{"ESTABLISHED + SYN -> challenge ACK", Established,
			withSeg(established(), SYN, 301, 0, 0), 0, Established, []Action{SendChallengeACK}, nil},
		{"ESTABLISHED + CLOSE -> FIN-WAIT-1, send FIN", Established,
			established(), Close, FinWait1, []Action{SendFIN}, nil},
		{"FIN-WAIT-1 + ACK of our FIN -> FIN-WAIT-2", FinWait1,
			withSeg(afterOurFIN(), ACK, 301, 102, 0), 0, FinWait2, []Action{ProcessACK}, nil},
		{"FIN-WAIT-1 + FIN without ACK of our FIN -> CLOSING", FinWait1,
			withSeg(afterOurFIN(), ACK|FIN, 301, 101, 0), 0, Closing, []Action{AcceptFIN, SendACK}, []Action{StartTimeWait}},
		{"FIN-WAIT-1 + FIN,ACK of our FIN -> TIME-WAIT directly", FinWait1,
			withSeg(afterOurFIN(), ACK|FIN, 301, 102, 0), 0, TimeWait, []Action{AcceptFIN, SendACK, StartTimeWait}, nil},
		{"FIN-WAIT-2 + FIN -> TIME-WAIT", FinWait2,
			withSeg(afterOurFIN(), ACK|FIN, 301, 102, 0), 0, TimeWait, []Action{AcceptFIN, SendACK, StartTimeWait}, nil},
		{"CLOSING + ACK of FIN -> TIME-WAIT", Closing,
			withSeg(func() Ctx { c := afterOurFIN(); c.RcvNxt = 302; return c }(), ACK, 302, 102, 0), 0,
			TimeWait, []Action{ProcessACK, StartTimeWait}, nil},
		{"CLOSE-WAIT + CLOSE -> LAST-ACK, send FIN", CloseWait,
			established(), Close, LastAck, []Action{SendFIN}, nil},
		{"LAST-ACK + ACK of FIN -> CLOSED", LastAck,
			withSeg(func() Ctx { c := afterOurFIN(); c.RcvNxt = 302; return c }(), ACK, 302, 102, 0), 0,
			Closed, []Action{ProcessACK, DeleteTCB}, nil},
		{"LAST-ACK + ACK short of our FIN -> stay", LastAck,
			withSeg(func() Ctx { c := afterOurFIN(); c.RcvNxt = 302; return c }(), ACK, 302, 101, 0), 0,
			LastAck, []Action{ProcessACK}, []Action{DeleteTCB}},
		{"TIME-WAIT + retransmitted FIN -> TIME-WAIT, re-ACK and restart 2MSL", TimeWait,
			withSeg(func() Ctx { c := afterOurFIN(); c.SndUna, c.RcvNxt = 102, 302; return c }(), ACK|FIN, 301, 102, 0), 0,
			TimeWait, []Action{SendACK, StartTimeWait}, nil},
		{"TIME-WAIT + RST -> ignored (RFC 1337)", TimeWait,
			withSeg(func() Ctx { c := afterOurFIN(); c.RcvNxt = 302; return c }(), RST, 302, 0, 0), 0,
			TimeWait, []Action{Drop}, nil},
		{"TIME-WAIT + 2MSL -> CLOSED", TimeWait, established(), TimeWaitTimeout, Closed, []Action{DeleteTCB}, nil},
		{"ESTABLISHED + ABORT -> send RST", Established, established(), Abort, Closed, []Action{SendRST, DeleteTCB}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			on := tc.on
			if on == 0 && tc.ctx.SegFlags != 0 {
				on = Classify(tc.ctx.SegFlags, int(tc.ctx.SegLen))
			}
			i := m.StepCtx(tc.from, on, &tc.ctx)
			if i < 0 {
				t.Fatalf("no row for %s + %s", tc.from, on)
			}
			r := m.Rows()[i]
			if r.To != tc.to {
				t.Errorf("row %q goes to %s, want %s", r.Name(), r.To, tc.to)
			}
			for _, a := range tc.do {
				if !slices.Contains(r.Do, a) {
					t.Errorf("row %q does %s, want %s among them", r.Name(), r.ActionString(), a)
				}
			}
			for _, a := range tc.not {
				if slices.Contains(r.Do, a) {
					t.Errorf("row %q does %s, must not %s", r.Name(), r.ActionString(), a)
				}
			}
		})
	}
}

// TestStepCtxEvaluatesOnlyWhatRowsRead: StepCtx evaluates only the guards
// the rows for the state and event mention; over random contexts near the
// sequence variables and the window edges, it picks the row that Step over
// every guard's outcome picks.
func TestStepCtxEvaluatesOnlyWhatRowsRead(t *testing.T) {
	m, err := NewMachine(Table())
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(9, 10))
	for range 20000 {
		base := Seq(rng.Uint32())
		near := func() Seq { return base + Seq(rng.IntN(9)) - 4 }
		x := Ctx{SndUna: near(), SndNxt: near(), RcvNxt: near(), RcvWnd: uint32(rng.IntN(4)),
			MaxSndWnd: uint32(rng.IntN(4)), FinSent: rng.IntN(2) == 0, Passive: rng.IntN(2) == 0,
			SegSeq: near(), SegAck: near(), SegLen: uint32(rng.IntN(3)), SegFlags: Flags(rng.IntN(64))}
		s, e := State(rng.IntN(NumStates)), Event(rng.IntN(NumEvents))
		if got, want := m.StepCtx(s, e, &x), m.Step(s, e, EvalAll(&x)); got != want {
			t.Fatalf("%s + %s with %+v: StepCtx row %d, Step over all guards row %d", s, e, x, got, want)
		}
	}
}
