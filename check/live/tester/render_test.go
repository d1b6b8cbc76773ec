package tester

import (
	"testing"

	"github.com/tcpcheck/tcpcheck/check/live/dut"
	"github.com/tcpcheck/tcpcheck/spec"
)

func TestMatch(t *testing.T) {
	for _, c := range []struct {
		p, s string
		want bool
	}{
		{"nothing → *", "nothing → CLOSE-WAIT", true},
		{"nothing → *", "ACK seq=SND.NXT ack=RCV.NXT → CLOSE-WAIT", false},
		{"* + rcv ACK [!SeqOK]|* + rcv FIN [!SeqOK]", "LAST-ACK + rcv FIN [!SeqOK]", true},
		{"* + rcv ACK [!SeqOK]", "LAST-ACK + rcv ACK [SeqOK & !AckInRange]", false},
		{"RST,ACK * SYN seq=other → SYN-RECEIVED", "RST,ACK seq=0 ack=SEG.SEQ+SEG.LEN; SYN seq=other → SYN-RECEIVED", true},
		{"exact", "exact", true},
		{"exact", "exact!", false},
	} {
		if got := match(c.p, c.s); got != c.want {
			t.Errorf("match(%q, %q) = %v; want %v", c.p, c.s, got, c.want)
		}
	}
	d := dut.Deviation{Row: "* + ABORT", Case: "seq=A |seq=B ", Got: "RST*", Want: "nothing*"}
	if !Matches(d, "ESTABLISHED + ABORT", spec.Established, "x / seq=B ack=C ", "RST,ACK seq=SND.NXT", "nothing → CLOSED") {
		t.Error("Matches: want a match")
	}
	if Matches(d, "ESTABLISHED + ABORT", spec.Established, "x / seq=B ack=C ", "RST,ACK seq=SND.NXT", "RST seq=SND.NXT → CLOSED") {
		t.Error("Matches: a different expectation matched")
	}
	if Matches(d, "ESTABLISHED + ABORT", spec.Established, "x / seq=D ack=C ", "RST,ACK seq=SND.NXT", "nothing → CLOSED") {
		t.Error("Matches: a case outside the filter matched")
	}
	pinned := dut.Deviation{Row: "*", Got: "nothing → FROM"}
	if !Matches(pinned, "CLOSING + ABORT", spec.Closing, "", "nothing → CLOSING", "") || Matches(pinned, "CLOSING + ABORT", spec.Closing, "", "nothing → CLOSED", "") {
		t.Error("Matches: FROM does not stand for the row's state")
	}
}

// TestHeld: the tester holds an acceptable segment with text beyond
// RCV.NXT and answers it with a duplicate ACK instead of stepping a row.
func TestHeld(t *testing.T) {
	md, err := NewModel(spec.Table())
	if err != nil {
		t.Fatal(err)
	}
	w := newWorld(false)
	var eff spec.Effect
	for _, m := range []Move{{Event: spec.PassiveOpen, Call: CallListen}, {Event: spec.SegSYN}, {Event: spec.SegACK}} {
		if md.apply(&w, m, &eff) < 0 {
			t.Fatalf("%v: no row", m)
		}
	}
	if w.dut.tcb.State() != spec.Established {
		t.Fatalf("state %v", w.dut.tcb.State())
	}
	rcvNxt := w.dut.tcb.RcvNxt()
	if row := md.apply(&w, Move{Event: spec.SegData, Seq: SeqNextPlus}, &eff); row != RowHeld {
		t.Fatalf("text at RCV.NXT+1: row %d; want held", row)
	}
	if len(eff.Out) != 1 || eff.Out[0].Ack != rcvNxt || eff.Out[0].Flags != spec.ACK || w.dut.tcb.RcvNxt() != rcvNxt {
		t.Errorf("held text: sent %+v, RCV.NXT %d; want a duplicate ACK of %d", eff.Out, w.dut.tcb.RcvNxt(), rcvNxt)
	}
	if row := md.apply(&w, Move{Event: spec.SegData}, &eff); row < 0 || w.dut.tcb.RcvNxt() != rcvNxt+textLen {
		t.Errorf("text at RCV.NXT: row %d, RCV.NXT %d; want it taken", row, w.dut.tcb.RcvNxt())
	}
}
