package model

import (
	"testing"

	"github.com/tcpcheck/tcpcheck/spec"
)

// find returns the successor of k whose step satisfies ok.
func find(t *testing.T, sys *System, k Key, what string, ok func(Step) bool) Transition {
	t.Helper()
	for _, tr := range sys.Next(k, nil) {
		if ok(tr.Step) {
			return tr
		}
	}
	t.Fatalf("no successor %s from\n%+v", what, sys.Decode(k))
	return Transition{}
}

func userCall(call string, host uint8) func(Step) bool {
	return func(s Step) bool { return s.Kind == User && s.Call == call && s.Host == host }
}

func deliverFlags(f spec.Flags, to uint8) func(Step) bool {
	return func(s Step) bool { return s.Kind == Deliver && s.Seg.Flags == f && s.Host == to }
}

// TestReplyRSTForms checks the two RST forms of RFC 9293 §3.10.7.1.
func TestReplyRSTForms(t *testing.T) {
	cfg := oneScenario()
	cfg.Open, cfg.Incarnations, cfg.Loss, cfg.Dup = "simultaneous", 1, 0, 0
	sys := mustNew(t, cfg)
	k := sys.Init()[0]
	k = find(t, sys, k, "A connect", userCall("connect", 0)).To
	// B is CLOSED: a SYN (no ACK) gets <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>.
	tr := find(t, sys, k, "SYN to B", deliverFlags(spec.SYN, 1))
	if tr.Step.NSent != 1 {
		t.Fatalf("CLOSED B sent %d segments", tr.Step.NSent)
	}
	want := Segment{From: 1, Flags: spec.RST | spec.ACK, Seq: 0, Ack: seq(30 + 1), Inc: 1}
	if got := tr.Step.Sent[0]; got != want {
		t.Errorf("reply to SYN: got %v, want %v", got, want)
	}
	if r := sys.Rows()[tr.Step.Row]; r.Name() != "CLOSED + rcv SYN" {
		t.Errorf("row %s", r.Name())
	}
	// A accepts it: the RST acknowledges its SYN, so the connection is refused.
	k = tr.To
	tr = find(t, sys, k, "RST to A", deliverFlags(spec.RST|spec.ACK, 0))
	if h := sys.Decode(tr.To).Hosts[0]; h.State != spec.Closed || h.Signal != "refused" {
		t.Errorf("A after the RST: %s", h)
	}

	// A segment with ACK to a CLOSED host gets <SEQ=SEG.ACK><CTL=RST>.
	// Put a stray ACK (SEG.ACK = 77) on the network by hand.
	var w world
	w.decode(&k)
	w.net, w.n = [netCap]uint32{}, 0
	w.push(mkSeg(0, spec.ACK, 31, 77, 0, 1), false)
	k2 := w.encode()
	tr = find(t, sys, k2, "ACK to B", deliverFlags(spec.ACK, 1))
	want = Segment{From: 1, Flags: spec.RST, Seq: 77, Inc: 1}
	if got := tr.Step.Sent[0]; got != want {
		t.Errorf("reply to ACK: got %v, want %v", got, want)
	}
}

// TestOutOfOrderHeld checks that a FIN beyond missing text is held until the
// text has arrived (RFC 9293 §3.10.7.4, "held for later processing").
func TestOutOfOrderHeld(t *testing.T) {
	cfg := oneScenario()
	cfg.Incarnations, cfg.Loss, cfg.Dup, cfg.WriteB = 1, 0, 0, 0
	sys := mustNew(t, cfg)
	k := sys.Init()[0]
	k = find(t, sys, k, "A connect", userCall("connect", 0)).To
	k = find(t, sys, k, "SYN to B", deliverFlags(spec.SYN, 1)).To
	k = find(t, sys, k, "SYN,ACK to A", deliverFlags(spec.SYN|spec.ACK, 0)).To
	k = find(t, sys, k, "ACK to B", deliverFlags(spec.ACK, 1)).To
	k = find(t, sys, k, "A write", userCall("write 1", 0)).To
	k = find(t, sys, k, "A close", userCall("close", 0)).To
	for _, tr := range sys.Next(k, nil) {
		if tr.Step.Kind == Deliver && tr.Step.Seg.Flags.Has(spec.FIN) {
			t.Fatalf("the FIN at %d is deliverable before the text at %d", tr.Step.Seg.Seq, seq(31))
		}
	}
	k = find(t, sys, k, "text to B", func(s Step) bool { return s.Kind == Deliver && s.Seg.Len == 1 }).To
	tr := find(t, sys, k, "FIN to B", deliverFlags(spec.FIN|spec.ACK, 1))
	if h := sys.Decode(tr.To).Hosts[1]; h.State != spec.CloseWait || h.Delivered != 1 || h.Signal != "eof" {
		t.Errorf("B after the FIN: %s", h)
	}
}

// TestFairnessRules checks the timing rules of the package documentation on
// every transition of small configurations.
func TestFairnessRules(t *testing.T) {
	for name, cfg := range testConfigs() {
		sys := mustNew(t, cfg)
		msl := uint8(cfg.MSL)
		var buf []Transition
		for _, k := range reachable(t, sys, 2_000_000) {
			var w world
			w.decode(&k)
			for j := range int(w.n) {
				if segAge(w.net[j]) >= msl {
					t.Fatalf("%s: a segment of age %d >= MSL is in flight", name, segAge(w.net[j]))
				}
			}
			buf = sys.Next(k, buf[:0])
			for _, tr := range buf {
				var after world
				after.decode(&tr.To)
				switch {
				case tr.Step.Kind == Tick:
					for j := range int(w.n) {
						if segAge(w.net[j])+1 >= msl && sys.deliverable(&w, j) {
							t.Fatalf("%s: time advanced past a deliverable segment of age MSL-1", name)
						}
					}
				case tr.Step.Kind == Timer && tr.Step.Event == spec.TimeWaitTimeout:
					if h := w.h[tr.Step.Host]; h.st != spec.TimeWait || h.tw != 1 {
						t.Fatalf("%s: 2MSL fired with timer %d (1 is expired, 0 not armed)", name, h.tw)
					}
				case tr.Step.Kind == Timer && tr.Step.Event == spec.RetriesExhausted:
					if w.n != 0 || w.h[tr.Step.Host].retries < uint8(cfg.MaxRetries) {
						t.Fatalf("%s: R2 fired with %d segments in flight, %d retries", name, w.n, w.h[tr.Step.Host].retries)
					}
				case tr.Step.Kind == Timer && tr.Step.Event == spec.RetransmitTimeout:
					if after.h[tr.Step.Host].retries > uint8(cfg.MaxRetries) {
						t.Fatalf("%s: more than %d retransmissions", name, cfg.MaxRetries)
					}
				case tr.Step.Kind == Drop:
					if w.loss == 0 || after.loss != w.loss-1 {
						t.Fatalf("%s: drop without loss budget", name)
					}
				case tr.Step.Kind == Duplicate:
					if w.dup == 0 || after.dup != w.dup-1 || after.n != w.n+1 {
						t.Fatalf("%s: duplicate without budget", name)
					}
				}
				if tr.Step.Kind != Tick && tr.Step.Kind != Drop && tr.Step.Kind != Duplicate && tr.Step.Row < 0 {
					t.Fatalf("%s: %s step without a row", name, tr.Step.Kind)
				}
			}
		}
	}
}

// TestGuardMask checks the reasoning behind evaluating only the guards a
// state and event's rows mention: the other guards never change the row.
func TestGuardMask(t *testing.T) {
	sys := mustNew(t, oneScenario())
	for st := range spec.NumStates {
		for e := range spec.NumEvents {
			mask := sys.guards[st][e]
			for g := range spec.GuardSet(1 << spec.NumGuards) {
				if a, b := step(spec.State(st), spec.Event(e), g), step(spec.State(st), spec.Event(e), g&mask); a != b {
					t.Fatalf("%s + %s: guards %07b choose row %d, masked %07b row %d", spec.State(st), spec.Event(e), g, a, g&mask, b)
				}
			}
		}
	}
}
