package conform

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tcpcheck/tcpcheck/impl"
	"github.com/tcpcheck/tcpcheck/spec"
)

// transfer is a plan with a handshake, text both ways, a close from each
// side and time for TIME-WAIT.
var transfer = plan{ISN: [2]spec.Seq{0xfffffff0, 5000}, Ops: []op{
	{Kind: opListen, Host: 1}, {Kind: opDial},
	{Kind: opDeliver}, {Kind: opDeliver}, {Kind: opDeliver},
	{Kind: opWrite, Host: 0, N: 100}, {Kind: opDeliver}, {Kind: opDeliver},
	{Kind: opWrite, Host: 1, N: 30}, {Kind: opDeliver}, {Kind: opRead, Host: 0}, {Kind: opRead, Host: 1},
	{Kind: opClose, Host: 0}, {Kind: opDeliver}, {Kind: opDeliver},
	{Kind: opClose, Host: 1}, {Kind: opDeliver}, {Kind: opDeliver},
	{Kind: opAdvance, D: 5 * time.Second},
}}

func TestTransferConformsAndRoundTrips(t *testing.T) {
	trace, err := recordPlan(transfer, config{})
	if err != nil {
		t.Fatal(err)
	}
	if len(trace) < 12 {
		t.Fatalf("only %d transitions recorded", len(trace))
	}
	var buf bytes.Buffer
	if err := WriteTrace(&buf, trace); err != nil {
		t.Fatal(err)
	}
	back, err := ReadTrace(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(back) != len(trace) {
		t.Fatalf("read back %d transitions of %d", len(back), len(trace))
	}
	if err := Check(back, Options{MSL: harnessMSL}); err != nil {
		t.Fatalf("the recorded trace does not conform: %v", err)
	}
	path := filepath.Join(t.TempDir(), "trace.jsonl")
	if err := WriteTrace(&buf, trace); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := CheckFile(path, Options{MSL: harnessMSL}); err != nil {
		t.Fatalf("CheckFile: %v", err)
	}
	if err := CheckFile(filepath.Join(t.TempDir(), "none"), Options{}); err == nil || !strings.HasPrefix(err.Error(), "conform: ") {
		t.Fatalf("CheckFile of a missing file: %v", err)
	}
}

// TestTamperedTraceDiverges edits one recorded transition at a time and
// requires the checker to stop at exactly that step.
func TestTamperedTraceDiverges(t *testing.T) {
	trace, err := recordPlan(transfer, config{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range trace {
		for _, edit := range []struct {
			name string
			f    func(i int) bool
		}{
			{"next state", func(i int) bool { trace[i].To = (trace[i].To + 1) % spec.State(spec.NumStates); return true }},
			{"drop a sent segment", func(i int) bool {
				if len(trace[i].Out) == 0 {
					return false
				}
				trace[i].Out = trace[i].Out[1:]
				return true
			}},
			{"ack field", func(i int) bool {
				if len(trace[i].Out) == 0 || !trace[i].Out[0].Header.Flags.Has(spec.ACK) {
					return false
				}
				trace[i].Out[0].Header.Ack++
				return true
			}},
		} {
			tampered := append(trace[:0:0], trace...)
			tampered[i].Out = append(tampered[i].Out[:0:0], trace[i].Out...)
			saved := trace
			trace = tampered
			ok := edit.f(i)
			trace = saved
			if !ok {
				continue
			}
			err := Check(tampered, Options{MSL: harnessMSL})
			var d *Divergence
			if !errors.As(err, &d) {
				t.Errorf("step %d, %s edited: no divergence (%v)", i+1, edit.name, err)
				continue
			}
			// A SEND or CLOSE need not put its text or FIN on the wire at once (the window,
			// sender SWS avoidance), so a lost data segment of a SEND shows
			// only when the peer's answer does not fit; every other edit
			// diverges at the edited step.
			late := edit.name == "drop a sent segment" && (trace[i].Event == spec.Send || trace[i].Event == spec.Close)
			if d.Check != CheckConformance || d.Step < i+1 || !late && d.Step != i+1 {
				t.Errorf("step %d, %s edited: divergence %s at step %d", i+1, edit.name, d.Check, d.Step)
			}
			if len(d.Table) == 0 || !strings.Contains(d.Error(), "-->") {
				t.Errorf("step %d: the divergence has no segment table:\n%v", i+1, d)
			}
		}
	}
}

func TestReadTraceRejectsJunk(t *testing.T) {
	_, err := ReadTrace(strings.NewReader("\n{\"Time\":\"2026-01-01T00:00:00Z\"}\n{\"Bogus\":1}\n"))
	if err == nil || !strings.Contains(err.Error(), "line 3") || !strings.HasPrefix(err.Error(), "conform: ") {
		t.Fatalf("err = %v, want a conform error naming line 3", err)
	}
}

// eofAfterFlush: A writes two octets and half-closes; B receives them and
// the FIN but does not read; the network then holds everything while the
// clock runs until both sides give up (R2). B's unread octets are flushed,
// and its next read must return the timeout, not io.EOF.
var eofAfterFlush = plan{Ops: []op{
	{Kind: opListen, Host: 1}, {Kind: opDial}, {Kind: opDeliver}, {Kind: opDeliver},
	{Kind: opWrite, Host: 0, N: 1}, {Kind: opWrite, Host: 0, N: 1}, {Kind: opDeliver},
	{Kind: opWrite, Host: 1, N: 1}, {Kind: opCloseWrite, Host: 0},
	{Kind: opDeliver}, {Kind: opDeliver, Index: 2}, {Kind: opDeliver},
	{Kind: opAdvance, D: 30 * time.Second},
}}

// TestEOFAfterFlush is the regression test of an endpoint defect the rapid
// suite found: impl.Conn.Read tested end of stream before the connection's
// error, so after R2 flushed unread text the user read io.EOF having lost
// text, which breaks HalfCloseDelivers (the harness checks it on every
// read of end of stream).
func TestEOFAfterFlush(t *testing.T) {
	if err := runPlan(eofAfterFlush, config{}); err != nil {
		t.Fatal(err)
	}
}

// TestOutOfRowDecisionsAreChecked: what the endpoint does to a segment
// outside the rows (spec's package documentation) is checked too: a
// segment stepped ahead of RCV.NXT where it should have been held, a
// segment held that is not beyond RCV.NXT, a segment held in a state that
// holds nothing, and a reason the checker does not know.
func TestOutOfRowDecisionsAreChecked(t *testing.T) {
	trace, err := recordPlan(transfer, config{})
	if err != nil {
		t.Fatal(err)
	}
	data := -1
	for i, tr := range trace {
		if tr.Event == spec.SegData && tr.From == spec.Established && tr.In != nil && tr.In.Len > 1 {
			data = i
			break
		}
	}
	if data < 0 {
		t.Fatal("the transfer has no data segment in ESTABLISHED")
	}
	ahead := append(trace[:0:0], trace[:data+1]...)
	in := *ahead[data].In
	in.Header.Seq++
	ahead[data].In = &in
	err = Check(ahead, Options{MSL: harnessMSL})
	var d *Divergence
	if !errors.As(err, &d) || d.Step != data+1 || !strings.Contains(d.Reason, "ahead of RCV.NXT") {
		t.Errorf("a segment stepped ahead of RCV.NXT: %v", err)
	}

	// Feed the handshake and the data step, then report held segments.
	held := func(seqOff int32, why string, upTo int) error {
		c, err := New(Options{MSL: harnessMSL})
		if err != nil {
			t.Fatal(err)
		}
		for _, tr := range trace[:upTo] {
			c.Transition(tr)
		}
		tr := trace[data]
		x, _ := c.TCB(tr.Local, tr.Remote)
		s := *tr.In
		s.Header.Seq = x.RcvNxt() + spec.Seq(seqOff)
		c.Extra(tr.Time, tr.Local, tr.Remote, false, s, why)
		return c.Err()
	}
	if err := held(3, impl.ExtraHeld, data); err != nil {
		t.Errorf("a segment beyond RCV.NXT held: %v", err)
	}
	if err := held(0, impl.ExtraHeld, data); err == nil || !strings.Contains(err.Error(), "beyond RCV.NXT") {
		t.Errorf("a segment at RCV.NXT held: %v", err)
	}
	if err := held(3, "held for no reason", data); err == nil || !strings.Contains(err.Error(), "does not know") {
		t.Errorf("an unknown reason: %v", err)
	}
	if err := held(3, impl.ExtraBacklogFull, data); err == nil || !strings.Contains(err.Error(), "admission") {
		t.Errorf("a data segment refused admission: %v", err)
	}
}

// TestHeldACKRewriteIsChecked: a segment stepped from the hold queue keeps
// its own ACK, or has it raised to SND.UNA when SND.UNA passed it while it
// was held; any other ACK is a divergence.
func TestHeldACKRewriteIsChecked(t *testing.T) {
	trace, err := recordPlan(transfer, config{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(Options{MSL: harnessMSL})
	if err != nil {
		t.Fatal(err)
	}
	data := -1
	for i, tr := range trace {
		if tr.Event == spec.SegData && tr.From == spec.Established && tr.In != nil {
			data = i
			break
		}
		c.Transition(tr)
	}
	if data < 0 {
		t.Fatal("the transfer has no data segment in ESTABLISHED")
	}
	tr := trace[data]
	tr.Held = true
	sh := c.conns[pair{tr.Local, tr.Remote}]
	v := view(tr.In)
	una := sh.tcb.SndUna()
	for _, tc := range []struct {
		held []spec.Seq
		ack  spec.Seq
		ok   bool
	}{
		{[]spec.Seq{v.Ack}, v.Ack, true},          // its own ACK
		{[]spec.Seq{una - 5}, una, true},          // raised to SND.UNA
		{[]spec.Seq{una - 5}, una - 4, false},     // raised, but not to SND.UNA
		{[]spec.Seq{una + 1}, una, false},         // lowered
		{[]spec.Seq{una + 2, v.Ack}, v.Ack, true}, // two copies held
	} {
		sh.held = map[spec.Seq][]spec.Seq{v.Seq: tc.held}
		w := *v
		w.Ack = tc.ack
		if got := sh.outOfRow(&tr, &w, 65535, 65535); (got == "") != tc.ok {
			t.Errorf("held with ACKs %v, stepped with ACK %d (SND.UNA %d): %q", tc.held, tc.ack, una, got)
		}
	}
}

// TestDelayedACKBound records a write whose ACK the receiver delays until
// its delayed-ACK timer fires (40 ms, the endpoint's default), then checks
// the trace against bounds on either side of that delay: within the
// bound it conforms, beyond it the checker reports the late ACK.
func TestDelayedACKBound(t *testing.T) {
	p := plan{ISN: [2]spec.Seq{100, 5000}, Ops: []op{
		{Kind: opListen, Host: 1}, {Kind: opDial},
		{Kind: opDeliver}, {Kind: opDeliver}, {Kind: opDeliver},
		{Kind: opWrite, Host: 0, N: 10}, {Kind: opDeliver},
		{Kind: opAdvance, D: 100 * time.Millisecond}, {Kind: opDeliver},
	}}
	trace, err := recordPlan(p, config{})
	if err != nil {
		t.Fatal(err)
	}
	delayed := false
	for _, tr := range trace {
		delayed = delayed || tr.Event == spec.DelayedAckTimeout && len(tr.Out) == 1
	}
	if !delayed {
		t.Fatal("the trace has no delayed ACK sent by its timer")
	}
	// The checker as the endpoint's tracer (the plan has no segments
	// outside rows, so the recorded transitions are all it would see).
	live := func(max time.Duration) error {
		c, err := New(Options{MSL: harnessMSL, MaxAckDelay: max})
		if err != nil {
			t.Fatal(err)
		}
		tr := c.Tracer(impl.Tracer{})
		for _, x := range trace {
			tr.Transition(x)
		}
		return c.Err()
	}
	if err := live(0); err != nil {
		t.Fatalf("a delayed ACK within 500 ms: %v", err)
	}
	err = live(20 * time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "beyond the bound of 20ms") {
		t.Fatalf("a delayed ACK of 40 ms against a bound of 20 ms: %v", err)
	}
	// A trace file does not show what else pays an owed ACK: the bound
	// is not checked from one.
	if err := Check(trace, Options{MSL: harnessMSL, MaxAckDelay: 20 * time.Millisecond}); err != nil {
		t.Fatalf("from a trace file: %v", err)
	}
}
