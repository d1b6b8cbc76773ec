package conform

import (
	"errors"
	"testing"
	"time"

	"github.com/tcpcheck/tcpcheck/spec"
)

// keepAlivePlan: after the handshake A's connection is idle; its first
// keepalive probe is answered, the next two are lost, and the timer's
// next expiry gives B up: a RST, which B takes.
var keepAlivePlan = plan{Ops: ops(handshake(),
	advance(10*time.Second), deliver, deliver,
	advance(10*time.Second), drop, advance(2*time.Second), drop, advance(2*time.Second), deliver)}

// TestKeepAliveConforms: the endpoint's keepalive is the table's rows
// (ESTABLISHED + KEEPALIVE sends the probe, ESTABLISHED + KEEPALIVE-OUT
// the RST), and the checker holds every step to them.
func TestKeepAliveConforms(t *testing.T) {
	trace, err := recordPlan(keepAlivePlan, config{keepAlive: true})
	if err != nil {
		t.Fatal(err)
	}
	rows := spec.Table()
	count := map[string]int{}
	for _, tr := range trace {
		if tr.Row >= 0 && (tr.Event == spec.KeepAliveTimeout || tr.Event == spec.KeepAliveExhausted) {
			count[rows[tr.Row].Name()]++
		}
	}
	if count["ESTABLISHED + KEEPALIVE"] != 3 || count["ESTABLISHED + KEEPALIVE-OUT"] != 1 {
		t.Errorf("keepalive rows applied: %v; want ESTABLISHED + KEEPALIVE 3 times (one probe answered, two lost) and ESTABLISHED + KEEPALIVE-OUT once", count)
	}
}

// TestKeepAliveTeeth: an endpoint whose table gives the peer up without a
// RST, or probes with the wrong segment, diverges from the table.
func TestKeepAliveTeeth(t *testing.T) {
	for _, tc := range []struct {
		row string
		do  []spec.Action
	}{
		{"ESTABLISHED + KEEPALIVE-OUT", []spec.Action{spec.SignalTimeout, spec.DeleteTCB}},
		{"ESTABLISHED + KEEPALIVE", []spec.Action{spec.SendACK}},
		{"ESTABLISHED + KEEPALIVE", []spec.Action{spec.Drop}},
	} {
		rows := spec.Table()
		i := spec.Find(rows, tc.row)
		if i < 0 {
			t.Fatalf("no row %q", tc.row)
		}
		rows[i].Do = tc.do
		err := runPlan(keepAlivePlan, config{table: rows, keepAlive: true})
		var f *failure
		if !errors.As(err, &f) || f.check != CheckConformance {
			t.Errorf("%s doing %v: %v; want a conformance failure", tc.row, tc.do, err)
		}
	}
}
