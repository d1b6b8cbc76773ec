package conform

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tcpcheck/tcpcheck/impl"
	"github.com/tcpcheck/tcpcheck/internal/testenv"
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
	_, err := ReadTrace(strings.NewReader("\n" + goodLine + "\n{\"Bogus\":1}\n"))
	if err == nil || !strings.Contains(err.Error(), "line 3") || !strings.HasPrefix(err.Error(), "conform: ") {
		t.Fatalf("err = %v, want a conform error naming line 3", err)
	}
}

// goodLine is a transition as WriteTrace writes it: A's SYN.
const goodLine = `{"Time":"2023-11-14T22:13:20Z","Local":"10.0.0.1:49152","Remote":"10.0.0.2:80","From":0,"Event":1,"Row":11,"To":2,"In":null,` +
	`"Out":[{"Header":{"SrcPort":49152,"DstPort":80,"Seq":4294967280,"Ack":0,"Flags":2,"Window":65535,"Checksum":0,"Urgent":0,"MSS":1400,"HasWScale":true,"WScale":0},"Len":0}],"Replayed":false}`

// TestReadTraceRefusesBadLines: a line that is not a transition an
// endpoint records is a *TraceError naming the line and the field, not a
// transition the checker then reports as the endpoint leaving the table,
// nor one it accepts (a length of 2^32 wrapped to 0 and passed).
func TestReadTraceRefusesBadLines(t *testing.T) {
	if tr, err := ReadTrace(strings.NewReader(goodLine + "\r\n")); err != nil || len(tr) != 1 || tr[0].Out[0].Header.Seq != 4294967280 {
		t.Fatalf("the good line: %v, %v", tr, err)
	}
	edit := func(old, new string) string {
		if !strings.Contains(goodLine, old) {
			t.Fatalf("%q is not in the good line", old)
		}
		return strings.Replace(goodLine, old, new, 1)
	}
	for _, tc := range []struct {
		name, line, want string
	}{
		{"null", "null", "null; want one impl.Transition"},
		{"array", "[]", "a JSON array, not an object"},
		{"number", "7", "a JSON number, not an object"},
		{"From 99", edit(`"From":0`, `"From":99`), "From is 99, not a state; want 0..10"},
		{"To -1", edit(`"To":2`, `"To":-1`), "To is -1; a state is a number 0..10"},
		{"To 256", edit(`"To":2`, `"To":256`), "To is 256; a state is a number 0..10"},
		{"Event 99", edit(`"Event":1`, `"Event":99`), "Event is 99, not an event; want 0..18"},
		{"Row 99999", edit(`"Row":11`, `"Row":99999`), "Row is 99999, not a row of the table"},
		{"Row -1", edit(`"Row":11`, `"Row":-1`), "Row is -1, not a row of the table"},
		{"Len 2^32", edit(`"Len":0`, `"Len":4294967296`), "Out[0].Len is 4294967296; a segment carries 0..65535 octets of text"},
		{"Len -1", edit(`"Len":0`, `"Len":-1`), "Out[0].Len is -1"},
		{"Len 65536", edit(`"Len":0`, `"Len":65536`), "Out[0].Len is 65536"},
		{"In Len", edit(`"In":null`, `"In":{"Header":{"Flags":2},"Len":-7}`), "In.Len is -7"},
		{"Seq 2^40", edit(`"Seq":4294967280`, `"Seq":1099511627776`), "Out.Header.Seq is 1099511627776; a sequence number is a whole number 0..4294967295"},
		{"Seq -1", edit(`"Seq":4294967280`, `"Seq":-1`), "Out.Header.Seq is -1"},
		{"Window -1", edit(`"Window":65535`, `"Window":-1`), "Out.Header.Window is -1; the field takes a whole number 0..65535"},
		{"missing", `{"Time":"2023-11-14T22:13:20Z","Local":"10.0.0.1:49152","Remote":"10.0.0.2:80","To":2}`, "From, Event, Row missing or null"},
		{"null field", edit(`"Row":11`, `"Row":null`), "Row missing or null"},
		{"null segment", edit(`"Out":[{`, `"Out":[null,{`), "Out[0] is null"},
		{"null header", edit(`"In":null`, `"In":{"Header":null,"Len":0}`), "In.Header is missing or null"},
		{"no Len", edit(`"In":null`, `"In":{"Header":{"Flags":2}}`), "In.Len is missing or null"},
		{"two objects", goodLine + goodLine, "more after the transition's closing } (from column"},
		{"trailing junk", goodLine + " x", "more after the transition's closing }"},
		{"unknown field", edit(`"Replayed":false`, `"Replayed":false,"Extra":1`), `unknown field "Extra"`},
	} {
		_, err := ReadTrace(strings.NewReader(goodLine + "\n\n" + tc.line + "\n" + goodLine + "\n"))
		var te *TraceError
		if !errors.As(err, &te) || te.Line != 3 || !strings.HasPrefix(err.Error(), "conform: trace line 3: ") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v; want a *TraceError for line 3 saying %q", tc.name, err, tc.want)
		}
	}
}

// TestReadTraceLongLine: a line beyond the limit is an error naming the
// line and the limit, not "bufio.Scanner: token too long".
func TestReadTraceLongLine(t *testing.T) {
	long := `{"Time":"` + strings.Repeat("x", MaxTraceLine) + `"}`
	_, err := ReadTrace(strings.NewReader(goodLine + "\n" + goodLine + "\n" + long + "\n"))
	var te *TraceError
	if !errors.As(err, &te) || te.Line != 3 || !strings.Contains(err.Error(), "longer than 16 MiB") || strings.Contains(err.Error(), "token too long") {
		t.Errorf("a line of %d bytes: %v; want a *TraceError for line 3 naming the limit", len(long), err)
	}
}

// TestCheckFileTellsInputFromDivergence: a bad line is a *TraceError, a
// transition the table does not allow a *Divergence.
func TestCheckFileTellsInputFromDivergence(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string { return testenv.WriteFile(t, dir, name, text) }
	var te *TraceError
	var d *Divergence
	err := CheckFile(write("bad", "null\n"), Options{})
	if !errors.As(err, &te) || errors.As(err, &d) || !strings.Contains(err.Error(), "(file ") {
		t.Errorf("a null line: %v; want a *TraceError naming the file", err)
	}
	// A SYN with one octet of text: the row sends a bare SYN.
	err = CheckFile(write("diverges", strings.Replace(goodLine, `"Len":0`, `"Len":1`, 1)+"\n"), Options{})
	if !errors.As(err, &d) || errors.As(err, &te) {
		t.Errorf("a SYN with text: %v; want a *Divergence", err)
	}
}

// TestTransitionLineMirrorsTransition: the form ReadTrace decodes has the
// fields of impl.Transition (and impl.Segment), so that every field
// WriteTrace writes is read back.
func TestTransitionLineMirrorsTransition(t *testing.T) {
	same := func(line, real reflect.Type) {
		if line.NumField() != real.NumField() {
			t.Fatalf("%v has %d fields, %v %d", line, line.NumField(), real, real.NumField())
		}
		for i := range real.NumField() {
			l, r := line.Field(i), real.Field(i)
			lt := l.Type
			if lt.Kind() == reflect.Pointer {
				lt = lt.Elem()
			}
			if l.Name != r.Name {
				t.Errorf("%v field %d is %s, %v's %s", line, i, l.Name, real, r.Name)
			}
			if lt != r.Type && !(l.Name == "In" || l.Name == "Out") {
				t.Errorf("%v.%s is %v, %v's %v", line, l.Name, l.Type, real, r.Type)
			}
		}
	}
	same(reflect.TypeFor[transitionLine](), reflect.TypeFor[impl.Transition]())
	same(reflect.TypeFor[segmentLine](), reflect.TypeFor[impl.Segment]())
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
	live := func(max time.Duration) error {
		return checkLive(t, trace, Options{MSL: harnessMSL, MaxAckDelay: max})
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

// TestDelayedACKEverySecondFullSized records two writes to a receiver
// whose MSS is the endpoint's default: two full-sized segments, the second
// acknowledged at once, and two small ones, acknowledged together by the
// delayed-ACK timer (RFC 9293 §3.8.6.3: an ACK for at least every second
// full-sized segment or 2*RMSS octets). Both traces conform; with the
// ACK of the second full-sized segment taken out, the checker reports it.
func TestDelayedACKEverySecondFullSized(t *testing.T) {
	record := func(n int) []impl.Transition {
		p := plan{ISN: [2]spec.Seq{100, 5000}, Ops: []op{
			{Kind: opListen, Host: 1}, {Kind: opDial},
			{Kind: opDeliver}, {Kind: opDeliver}, {Kind: opDeliver},
			{Kind: opWrite, Host: 0, N: n}, {Kind: opDeliver}, {Kind: opWrite, Host: 0, N: n}, {Kind: opDeliver},
			{Kind: opAdvance, D: 100 * time.Millisecond}, {Kind: opDeliver},
		}}
		trace, err := recordPlan(p, config{})
		if err != nil {
			t.Fatal(err)
		}
		return trace
	}
	live := func(trace []impl.Transition) error { return checkLive(t, trace, Options{MSL: harnessMSL}) }
	// textSteps returns the indexes of the receiver's steps that took text.
	textSteps := func(trace []impl.Transition) []int {
		var at []int
		for i, x := range trace {
			if x.In != nil && x.In.Len > 0 {
				at = append(at, i)
			}
		}
		return at
	}

	small := record(10)
	if at := textSteps(small); len(at) != 2 || len(small[at[0]].Out) != 0 || len(small[at[1]].Out) != 0 {
		t.Fatalf("two small segments: want both ACKs owed to the timer, got steps %v of\n%v", at, small)
	}
	if err := live(small); err != nil {
		t.Fatalf("two small segments, one delayed ACK: %v", err)
	}

	full := record(1400) // the endpoint's default MSS (impl.Options.MSS)
	at := textSteps(full)
	if len(at) != 2 || len(full[at[1]].Out) != 1 {
		t.Fatalf("two full-sized segments: want the second acknowledged at once, got steps %v of\n%v", at, full)
	}
	if err := live(full); err != nil {
		t.Fatalf("two full-sized segments: %v", err)
	}
	full[at[1]].Out = nil
	if err := live(full); err == nil || !strings.Contains(err.Error(), "every second full-sized segment") {
		t.Fatalf("the second full-sized segment without its ACK: %v", err)
	}
}

// checkLive runs trace through a checker as the endpoint's tracer would
// (the plans have no segments outside rows, so the recorded transitions
// are all it would see) and returns its verdict.
func checkLive(t *testing.T, trace []impl.Transition, opt Options) error {
	t.Helper()
	c, err := New(opt)
	if err != nil {
		t.Fatal(err)
	}
	tr := c.Tracer(impl.Tracer{})
	for _, x := range trace {
		tr.Transition(x)
	}
	return c.Err()
}
