package conform

import (
	"testing"
	"time"

	"github.com/tcpcheck/tcpcheck/spec"
)

// Targeted plans: each drives the endpoints into a corner that random
// plans reach only now and then, so that the mutation tests see it every
// time. Segments are delivered or dropped oldest first (index 0) unless
// said otherwise; after a handshake nothing is in flight.

func handshake() []op {
	return []op{{Kind: opListen, Host: 1}, {Kind: opDial}, {Kind: opDeliver}, {Kind: opDeliver}, {Kind: opDeliver}}
}

func ops(base []op, more ...op) []op { return append(append([]op(nil), base...), more...) }

var (
	deliver = op{Kind: opDeliver}
	drop    = op{Kind: opDrop}
)

func write(host, n int) op       { return op{Kind: opWrite, Host: host, N: n} }
func closeWrite(host int) op     { return op{Kind: opCloseWrite, Host: host} }
func read(host int) op           { return op{Kind: opRead, Host: host} }
func advance(d time.Duration) op { return op{Kind: opAdvance, D: d} }

var targeted = []struct {
	name string
	row  string // a row the plan must apply
	text bool   // to a segment that carries text
	plan plan
}{
	{"text and FIN in one retransmission, to ESTABLISHED", "ESTABLISHED + rcv FIN [SeqOK & AckInRange]", true, plan{Ops: ops(handshake(),
		write(0, 10), closeWrite(0), drop, drop, advance(250*time.Millisecond), deliver)}},
	{"text and FIN in one retransmission, to SYN-RECEIVED", "SYN-RECEIVED + rcv FIN [SeqOK & AckOK]", true, plan{Ops: []op{{Kind: opListen, Host: 1}, {Kind: opDial},
		deliver, deliver, write(0, 10), closeWrite(0), drop, drop, drop, advance(250 * time.Millisecond), deliver}}},
	{"text and FIN acknowledging our FIN, to FIN-WAIT-1", "FIN-WAIT-1 + rcv FIN [SeqOK & AckInRange & FinAcked]", true, plan{Ops: ops(handshake(),
		closeWrite(0), write(1, 10), closeWrite(1), deliver, drop, drop, drop, advance(250*time.Millisecond),
		op{Kind: opDeliver, Index: 1})}},
	{"FIN acknowledging text and FIN at once, to FIN-WAIT-1", "FIN-WAIT-1 + rcv FIN [SeqOK & AckInRange & FinAcked]", false, plan{Ops: ops(handshake(),
		write(0, 10), closeWrite(0), deliver, deliver, drop, drop, closeWrite(1), deliver)}},
	{"text acknowledging new text, to ESTABLISHED", "ESTABLISHED + rcv data [SeqOK & AckInRange]", false, plan{Ops: ops(handshake(),
		write(0, 10), write(1, 10), deliver, op{Kind: opDrop, Index: 1}, write(1, 10), deliver, deliver)}},
	{"text acknowledging our FIN, then time", "FIN-WAIT-1 + rcv data [SeqOK & AckInRange & FinAcked]", false, plan{Ops: ops(handshake(),
		closeWrite(0), deliver, drop, write(1, 10), deliver, advance(time.Second))}},
	// B delays the ACK of A's FIN (RFC 9293 §3.8.6.3): time passes before
	// it is sent, and A reaches FIN-WAIT-2 when it is delivered.
	{"RST in FIN-WAIT-2 while the user reads", "FIN-WAIT-2 + rcv RST [RstExact]", false, plan{Ops: ops(handshake(),
		closeWrite(0), deliver, advance(100*time.Millisecond), deliver, op{Kind: opAbort, Host: 1}, deliver, read(0))}},
	{"CLOSE again in FIN-WAIT-2", "FIN-WAIT-2 + CLOSE", false, plan{Ops: ops(handshake(),
		closeWrite(0), deliver, advance(100*time.Millisecond), deliver, closeWrite(0))}},
	{"retransmissions exhausted in CLOSE-WAIT while the user writes", "CLOSE-WAIT + R2", false, plan{Ops: ops(handshake(),
		closeWrite(1), deliver, deliver, write(0, 10),
		drop, advance(8*time.Second), drop, advance(8*time.Second), drop, advance(8*time.Second),
		drop, advance(8*time.Second), drop, advance(8*time.Second), drop, advance(8*time.Second),
		drop, advance(8*time.Second), write(0, 5))}},
	{"a retransmitted FIN restarts TIME-WAIT", "TIME-WAIT + rcv FIN", false, plan{Ops: ops(handshake(),
		closeWrite(0), deliver, deliver, closeWrite(1), deliver, drop, advance(250*time.Millisecond), deliver, deliver,
		advance(3900*time.Millisecond))}},

	// A window of 4 octets holds text back: A writes 10, sends 4, and the
	// rest waits until a segment from B opens the window again. Only the
	// row's send text moves it (the rows that process an ACK in a state
	// that may send).
	{"an ACK opens the window in ESTABLISHED", "ESTABLISHED + rcv ACK [SeqOK & AckInRange]", false, plan{RecvBuffer: 4, Ops: ops(handshake(),
		write(0, 10), deliver, deliver, read(1), deliver)}},
	{"text opens the window in ESTABLISHED", "ESTABLISHED + rcv data [SeqOK & AckInRange]", true, plan{RecvBuffer: 4, Ops: ops(handshake(),
		write(0, 10), deliver, deliver, read(1), write(1, 2), drop, deliver)}},
	{"a FIN opens the window in ESTABLISHED", "ESTABLISHED + rcv FIN [SeqOK & AckInRange]", false, plan{RecvBuffer: 4, Ops: ops(handshake(),
		write(0, 10), deliver, deliver, read(1), closeWrite(1), drop, deliver)}},
	{"an ACK opens the window in CLOSE-WAIT", "CLOSE-WAIT + rcv ACK [SeqOK & AckInRange]", false, plan{RecvBuffer: 4, Ops: ops(handshake(),
		closeWrite(1), deliver, deliver, write(0, 10), deliver, deliver, read(1), deliver)}},
	{"an ACK opens the window in FIN-WAIT-1", "FIN-WAIT-1 + rcv ACK [SeqOK & AckInRange & !FinAcked]", false, plan{RecvBuffer: 4, Ops: ops(handshake(),
		write(0, 10), closeWrite(0), deliver, deliver, read(1), deliver)}},
	{"text opens the window in FIN-WAIT-1", "FIN-WAIT-1 + rcv data [SeqOK & AckInRange & !FinAcked]", true, plan{RecvBuffer: 4, Ops: ops(handshake(),
		write(0, 10), closeWrite(0), deliver, deliver, read(1), write(1, 2), drop, deliver)}},
	{"a FIN opens the window in FIN-WAIT-1", "FIN-WAIT-1 + rcv FIN [SeqOK & AckInRange & !FinAcked]", false, plan{RecvBuffer: 4, Ops: ops(handshake(),
		write(0, 10), closeWrite(0), deliver, deliver, read(1), closeWrite(1), drop, deliver)}},
	{"an ACK opens the window in CLOSING", "CLOSING + rcv ACK [SeqOK & AckInRange & !FinAcked]", false, plan{RecvBuffer: 4, Ops: ops(handshake(),
		write(0, 10), closeWrite(0), deliver, deliver, read(1), closeWrite(1), drop, deliver,
		deliver, deliver, read(1), deliver)}},
	{"an ACK opens the window in LAST-ACK", "LAST-ACK + rcv ACK [SeqOK & AckInRange & !FinAcked]", false, plan{RecvBuffer: 4, Ops: ops(handshake(),
		closeWrite(1), deliver, deliver, write(0, 10), closeWrite(0), deliver, deliver, read(1), deliver)}},
}

// TestTargetedPlans runs the targeted plans on the correct endpoint.
func TestTargetedPlans(t *testing.T) {
	for _, p := range targeted {
		trace, err := recordPlan(p.plan, config{})
		if err != nil {
			t.Errorf("%s: %v", p.name, err)
			continue
		}
		want := spec.Find(spec.Table(), p.row)
		if want < 0 {
			t.Fatalf("%s: no row %q", p.name, p.row)
		}
		hit := false
		for _, tr := range trace {
			if tr.Row == want && (!p.text || tr.In != nil && tr.In.Len > 0) {
				hit = true
			}
		}
		if !hit {
			t.Errorf("%s: the plan never applies %q (to a segment with text)", p.name, p.row)
		}
	}
}
