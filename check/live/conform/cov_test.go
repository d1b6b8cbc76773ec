package conform

import (
	"testing"

	"github.com/tcpcheck/tcpcheck/spec"
)

// TestPlansReachTheTable guards the plan generator: plans drawn from fixed
// seeds must take the endpoints through the rows of every phase of a
// connection (a generator that stopped delivering segments or advancing
// the clock would make the conformance suite vacuous).
func TestPlansReachTheTable(t *testing.T) {
	covered := map[int]int{}
	rowsSeen = func(r int) { covered[r]++ }
	defer func() { rowsSeen = nil }()
	for seed := range 300 {
		if err := runPlan(planGen.Example(seed), config{}); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
	}
	rows := spec.Table()
	for _, name := range []string{
		"CLOSED + ACTIVE-OPEN", "LISTEN + rcv SYN", "SYN-SENT + rcv SYN,ACK [AckOK]",
		"SYN-RECEIVED + rcv ACK [SeqOK & AckOK]", "ESTABLISHED + SEND", "ESTABLISHED + rcv data [SeqOK & AckInRange]",
		"ESTABLISHED + CLOSE", "ESTABLISHED + rcv FIN [SeqOK & AckInRange]", "CLOSE-WAIT + CLOSE",
		"FIN-WAIT-1 + rcv ACK [SeqOK & AckInRange & FinAcked]", "FIN-WAIT-2 + rcv FIN [SeqOK & AckInRange]",
		"LAST-ACK + rcv ACK [SeqOK & AckInRange & FinAcked]", "TIME-WAIT + 2MSL", "SYN-SENT + RTO",
		"FIN-WAIT-1 + RTO", "ESTABLISHED + ABORT", "ESTABLISHED + rcv RST [RstExact]", "SYN-SENT + rcv RST [AckOK]",
		"TIME-WAIT + rcv FIN", "FIN-WAIT-1 + rcv FIN [SeqOK & AckInRange & !FinAcked]",
	} {
		i := spec.Find(rows, name)
		if i < 0 {
			t.Fatalf("no row %q in the table", name)
		}
		if covered[i] == 0 {
			t.Errorf("no plan applied row %q", name)
		}
	}
	t.Logf("plans of seeds 0-299 applied %d of the %d rows", len(covered), len(rows))
}
