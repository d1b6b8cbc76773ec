package lin

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/tcpcheck/tcpcheck/internal/testenv"
)

// keptDir returns a directory that outlives the test, for HTML pages a
// person should open after a failure.
func keptDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("", "tcpcheck-lin-")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func op(client int, in Input, call int64, out Output, ret int64) porcupine.Operation {
	return porcupine.Operation{ClientId: client, Input: in, Call: call, Output: out, Return: ret}
}

// TestModelSemantics checks the model on small histories written by hand.
func TestModelSemantics(t *testing.T) {
	w := func(side int, data string, call, ret int64) porcupine.Operation {
		return op(side, Input{Kind: Write, Side: side, Data: data}, call, Output{N: len(data)}, ret)
	}
	r := func(side int, data string, e ErrKind, call, ret int64) porcupine.Operation {
		return op(2+side, Input{Kind: Read, Side: side}, call, Output{Data: data, Err: e}, ret)
	}
	fin := func(side int, call, ret int64) porcupine.Operation {
		return op(4+side, Input{Kind: CloseWrite, Side: side}, call, Output{}, ret)
	}
	abort := func(side int, call, ret int64) porcupine.Operation {
		return op(4+side, Input{Kind: Abort, Side: side}, call, Output{}, ret)
	}
	dial := func(listening bool, tuple string, e ErrKind, call, ret int64) porcupine.Operation {
		return op(6, Input{Kind: Dial, Conn: 1, Listening: listening}, call, Output{Tuple: tuple, Err: e}, ret)
	}
	accept := func(tuple string, call, ret int64) porcupine.Operation {
		return op(7, Input{Kind: Accept}, call, Output{Tuple: tuple}, ret)
	}
	census := func(tuple string, at int64) porcupine.Operation {
		return op(8, Input{Kind: Census, Tuple: tuple}, at, Output{}, at+1)
	}
	for _, c := range []struct {
		name string
		ok   bool
		h    []porcupine.Operation
	}{
		{"in order, across writes", true, []porcupine.Operation{w(0, "ab", 0, 1), w(0, "cd", 2, 3), r(1, "abc", ErrNone, 4, 5), r(1, "d", ErrNone, 6, 7)}},
		{"read overlapping its write", true, []porcupine.Operation{r(1, "xy", ErrNone, 0, 10), w(0, "xy", 2, 3)}},
		{"read before the write", false, []porcupine.Operation{r(1, "xy", ErrNone, 0, 1), w(0, "xy", 2, 3)}},
		{"out of order", false, []porcupine.Operation{w(0, "ab", 0, 1), w(0, "cd", 2, 3), r(1, "cd", ErrNone, 4, 5)}},
		{"a chunk twice", false, []porcupine.Operation{w(0, "abcd", 0, 1), r(1, "ab", ErrNone, 2, 3), r(1, "ab", ErrNone, 4, 5)}},
		{"the wrong direction", false, []porcupine.Operation{w(0, "ab", 0, 1), r(0, "ab", ErrNone, 2, 3)}},
		{"EOF after everything", true, []porcupine.Operation{w(0, "ab", 0, 1), fin(0, 2, 3), r(1, "ab", ErrNone, 4, 5), r(1, "", ErrEOF, 6, 7)}},
		{"EOF before the last octet", false, []porcupine.Operation{w(0, "ab", 0, 1), fin(0, 2, 3), r(1, "a", ErrNone, 4, 5), r(1, "", ErrEOF, 6, 7)}},
		{"EOF without close-write", false, []porcupine.Operation{w(0, "ab", 0, 1), r(1, "ab", ErrNone, 4, 5), r(1, "", ErrEOF, 6, 7)}},
		{"write after close-write", false, []porcupine.Operation{fin(0, 0, 1), w(0, "ab", 2, 3)}},
		{"reset after the peer's abort", true, []porcupine.Operation{abort(0, 0, 1), r(1, "", ErrReset, 2, 3)}},
		{"reset without an abort", false, []porcupine.Operation{w(0, "ab", 0, 1), r(1, "", ErrReset, 2, 3)}},
		{"reset after our own abort only", false, []porcupine.Operation{abort(1, 0, 1), r(1, "", ErrReset, 2, 3)}},
		{"dial, accept, census", true, []porcupine.Operation{dial(true, "1>2", ErrNone, 0, 5), accept("1>2", 1, 6), census("1>2", 10)}},
		{"accept without dial", false, []porcupine.Operation{accept("1>2", 1, 6)}},
		{"two accepts", false, []porcupine.Operation{dial(true, "1>2", ErrNone, 0, 5), accept("1>2", 1, 6), accept("1>2", 7, 8)}},
		{"dial never accepted", false, []porcupine.Operation{dial(true, "1>2", ErrNone, 0, 5), census("1>2", 10)}},
		{"no listener: refused", true, []porcupine.Operation{dial(false, "", ErrRefused, 0, 5)}},
		{"no listener, yet connected", false, []porcupine.Operation{dial(false, "1>3", ErrNone, 0, 5)}},
		{"listener, yet refused", false, []porcupine.Operation{dial(true, "", ErrRefused, 0, 5), census("1>2", 10)}},
	} {
		res := porcupine.CheckOperationsTimeout(Model, c.h, 10*time.Second)
		if want := map[bool]porcupine.CheckResult{true: porcupine.Ok, false: porcupine.Illegal}[c.ok]; res != want {
			t.Errorf("%s: %s, want %s", c.name, res, want)
		}
	}
}

// TestWorkloadLinearizable runs a workload through a lossy, duplicating,
// reordering relay and requires porcupine to say Ok; the history must show
// every kind of operation, and every transition of both stacks must
// conform to the reference table.
func TestWorkloadLinearizable(t *testing.T) {
	res, err := Run(Options{Conns: 60, Ops: 3000, Faults: Faults{Loss: 0.05, Dup: 0.02, Reorder: 0.05, Delay: 100 * time.Microsecond}, Seed: 7, Timeout: time.Minute, Conform: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %d operations (%s) in %d partitions; workload %v, check %v; relay %+v; %d transitions conform",
		res.Verdict, res.Operations, res.Counts, res.Partitions, res.Workload.Round(time.Millisecond), res.Check.Round(time.Millisecond), res.Relay, res.Transitions)
	if res.Divergence != nil || res.Transitions < 1000 {
		t.Fatalf("trace conformance over the real link: %d transitions, %v", res.Transitions, res.Divergence)
	}
	if res.Verdict != porcupine.Ok {
		path := filepath.Join(keptDir(t), "lin.html")
		if err := res.WriteHTML(path); err != nil {
			t.Fatal(err)
		}
		t.Fatalf("linearizability: %s (Unknown means the check timed out); see %s", res.Verdict, path)
	}
	c := res.Counts
	if res.Connections != 60 || c.EOFs == 0 || c.Resets == 0 || c.Aborts == 0 || c.HalfCloses == 0 || c.Refused == 0 || res.Relay.Dropped == 0 || res.Relay.Duplicated == 0 || res.Relay.Reordered == 0 {
		t.Fatalf("the workload missed something: %d connections, %s, relay %+v", res.Connections, c, res.Relay)
	}
}

// TestBrokenEndpointIsIllegal makes the accepting end hand out every third
// chunk of text twice, as an endpoint that delivered a duplicated
// segment's bytes twice would, and requires porcupine to say Illegal.
func TestBrokenEndpointIsIllegal(t *testing.T) {
	res, err := Run(Options{Conns: 10, Ops: 400, Faults: Faults{Loss: 0.02, Dup: 0.05}, Seed: 3, Timeout: time.Minute, dupRead: 3})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(keptDir(t), "broken.html")
	if err := res.WriteHTML(path); err != nil {
		t.Fatal(err)
	}
	if res.Verdict != porcupine.Illegal {
		t.Fatalf("a broken endpoint gave %s, want Illegal; see %s", res.Verdict, path)
	}
	t.Logf("broken endpoint: %s (%d operations); visualisation in %s", res.Verdict, res.Operations, path)
}

func TestOptionsErrors(t *testing.T) {
	for _, o := range []Options{{Conns: -1}, {Conns: 10, Ops: 5}, {Faults: Faults{Loss: 2}}, {Faults: Faults{Dup: -0.1}}, {Parallel: -1}} {
		if _, err := Run(o); err == nil {
			t.Errorf("Run(%+v) accepted bad options", o)
		}
	}
}

// TestHTMLOpensInChromium writes the visualisation of a small workload and
// takes a screenshot of it in headless Chromium.
func TestHTMLOpensInChromium(t *testing.T) {
	bin := testenv.Chromium(t)
	res, err := Run(Options{Conns: 4, Ops: 80, Seed: 1, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	dir := keptDir(t)
	page, shot := filepath.Join(dir, "lin.html"), filepath.Join(dir, "lin.png")
	if err := res.WriteHTML(page); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
		"--user-data-dir="+t.TempDir(), "--window-size=1280,900", "--screenshot="+shot, "file://"+page)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, out)
	}
	st, err := os.Stat(shot)
	if err != nil || st.Size() < 5000 {
		t.Fatalf("no screenshot of %s (%v)", page, err)
	}
	t.Logf("screenshot of %s: %s (%d bytes)", page, shot, st.Size())
}

// TestCorruptedHistoryIsIllegal records a good history, then checks that
// every corruption of it, at several places, is found Illegal, and that
// the good history (left as it was) is still Ok.
func TestCorruptedHistoryIsIllegal(t *testing.T) {
	res, err := Run(Options{Conns: 16, Ops: 800, Faults: Faults{Loss: 0.02, Dup: 0.02, Reorder: 0.02}, Seed: 5, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if res.Verdict != porcupine.Ok {
		t.Fatalf("the recorded history is %s, want Ok", res.Verdict)
	}
	for _, c := range Corruptions {
		for seed := range uint64(4) {
			bad, what, err := Corrupt(res.History, c, seed)
			if err != nil {
				t.Fatal(err)
			}
			if v := Check(bad, time.Minute); v != porcupine.Illegal {
				t.Errorf("%s (seed %d: %s): %s, want Illegal", c, seed, what, v)
			}
		}
	}
	if v := Check(res.History, time.Minute); v != porcupine.Ok {
		t.Fatalf("Corrupt changed the original history: %s", v)
	}
	if _, _, err := Corrupt(res.History, "no-such", 1); err == nil {
		t.Error("Corrupt accepted an unknown corruption")
	}
	if _, _, err := Corrupt(nil, ForgedOctet, 1); err == nil {
		t.Error("Corrupt of an empty history gave no error")
	}
}

// TestStreams checks the chunked byte streams the model keeps: reads
// against chunk boundaries, and equality by content whatever the chunks.
func TestStreams(t *testing.T) {
	var a *chunk
	for _, s := range []string{"ab", "cde", "f"} {
		a = a.push(s)
	}
	b := (*chunk)(nil).push("a").push("bcd").push("").push("ef")
	for _, c := range []struct {
		off  int
		data string
		want bool
	}{
		{0, "abcdef", true}, {1, "bcd", true}, {2, "cdef", true}, {5, "f", true}, {0, "a", true},
		{0, "abcdefg", false}, {1, "bce", false}, {6, "x", false}, {-1, "a", false}, {3, "dex", false},
	} {
		if got := a.holds(c.off, c.data); got != c.want {
			t.Errorf("holds(%d, %q) = %v, want %v", c.off, c.data, got, c.want)
		}
	}
	if !sameStream(a, b) || a.hash() != b.hash() {
		t.Error(`"ab"+"cde"+"f" and "a"+"bcd"+"ef" differ`)
	}
	if sameStream(a, b.push("g")) || sameStream(a, (*chunk)(nil).push("abcdeg")) || sameStream(a, nil) || !sameStream(nil, nil) {
		t.Error("different streams compare equal")
	}
	// Same length and the same hash but other octets: built by hand,
	// since FNV collisions are hard to find.
	forged := &chunk{data: "abcdeg", end: 6, sum: a.sum}
	if sameStream(a, forged) {
		t.Error("sameStream trusted the hash")
	}
}

// TestStacksKeepEveryTimeWait: at the largest workload lincheck accepts,
// neither stack's TIME-WAIT cap can end a wait early (which the
// conformance check reports, rightly, as the endpoint leaving the table:
// issue 22's false alarm at --conns 10000), nor its connection cap refuse
// a connection.
func TestStacksKeepEveryTimeWait(t *testing.T) {
	for _, conns := range []int{1, 20, 4096, 10000} {
		o := Options{Conns: conns}
		if err := o.fill(); err != nil {
			t.Fatal(err)
		}
		so := stackOptions(o)
		if n := o.Conns + o.Refused; so.MaxTimeWait < n || so.MaxConns < 2*n {
			t.Errorf("%d connections (%d refused dials): TIME-WAIT cap %d, connection cap %d; want at least %d and %d",
				conns, o.Refused, so.MaxTimeWait, so.MaxConns, n, 2*n)
		}
	}
}
