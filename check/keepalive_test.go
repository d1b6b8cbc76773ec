package check

import (
	"testing"

	"github.com/tcpcheck/tcpcheck/model"
	"github.com/tcpcheck/tcpcheck/spec"
)

// keepAliveConfig is the small preset with keepalive on (RFC 1122
// §4.2.3.6): probes probes per idle connection and a loss budget of loss.
func keepAliveConfig(probes, loss int) model.Config {
	c, _ := model.Preset("small")
	c.KeepAlive, c.Loss = probes, loss
	return c
}

// TestKeepAliveExplored: with keepalive on, every property holds (the
// Quiescence too); the keepalive rows of ESTABLISHED, FIN-WAIT-2 and
// CLOSE-WAIT all apply once the network may lose as many segments as
// there are probes, and a peer is given up (KEEPALIVE-OUT) only then:
// with fewer losses some probe or its answer gets through, and the count
// starts again.
func TestKeepAliveExplored(t *testing.T) {
	rows := spec.Table()
	for _, tc := range []struct {
		probes, loss int
		out          bool // the KEEPALIVE-OUT rows apply
	}{{2, 0, false}, {2, 1, false}, {2, 2, true}, {1, 1, true}} {
		sys, err := model.New(keepAliveConfig(tc.probes, tc.loss))
		if err != nil {
			t.Fatal(err)
		}
		res, err := Explore(sys, Options{Quiescence: true})
		if err != nil {
			t.Fatal(err)
		}
		if res.Verdict != Ok {
			t.Fatalf("keepalive %d, loss %d: %s: %+v", tc.probes, tc.loss, res.Verdict, res.Violation)
		}
		applied := map[string]bool{}
		for _, r := range res.Coverage.Covered {
			applied[rows[r].Name()] = true
		}
		for _, st := range []spec.State{spec.Established, spec.FinWait2, spec.CloseWait} {
			if name := st.String() + " + " + spec.KeepAliveTimeout.String(); !applied[name] {
				t.Errorf("keepalive %d, loss %d: %s does not apply", tc.probes, tc.loss, name)
			}
			if name := st.String() + " + " + spec.KeepAliveExhausted.String(); applied[name] != tc.out {
				t.Errorf("keepalive %d, loss %d: %s applies: %v, want %v", tc.probes, tc.loss, name, applied[name], tc.out)
			}
		}
	}
}

// TestKeepAliveTeeth: a table that gives the peer up at the keepalive
// timer's first expiry, instead of probing, aborts connections whose peer
// is alive, with no segment lost: SignalsHaveCause says so (its user is
// told timeout with probes left), and so would GracefulCloseCompletes.
func TestKeepAliveTeeth(t *testing.T) {
	rows := spec.Table()
	i := spec.Find(rows, "ESTABLISHED + KEEPALIVE")
	if i < 0 {
		t.Fatal("no row ESTABLISHED + KEEPALIVE")
	}
	rows[i].Do, rows[i].To = []spec.Action{spec.SendRST, spec.SignalTimeout, spec.DeleteTCB}, spec.Closed
	sys, err := model.NewWithTable(keepAliveConfig(2, 0), rows)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Explore(sys, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if v := res.Violation; v == nil || v.Property != model.SignalsHaveCause && v.Property != model.GracefulCloseCompletes {
		t.Fatalf("a keepalive that gives a live peer up at once: %s, violation %+v; want SignalsHaveCause or GracefulCloseCompletes violated", res.Verdict, res.Violation)
	}
}
