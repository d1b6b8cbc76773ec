package model

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/tcpcheck/tcpcheck/internal/testenv"
	"github.com/tcpcheck/tcpcheck/spec"
)

func mustNew(t testing.TB, cfg Config) *System {
	t.Helper()
	sys, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return sys
}

// small configurations whose state counts are pinned. The engine's tests
// cross-check the same numbers. (Issue 19 moved the transitions, not the
// states: the user timeout now also fires in TIME-WAIT, where the table's
// row drops it, a self-loop the model used to leave out by a special case.)
var pinned = []struct {
	name   string
	cfg    func() Config
	states int
	edges  int
}{
	// Moved with the delayed ACK (RFC 1122 §4.2.3.2): a host that accepts
	// text may owe its ACK and fire the delayed-ACK timer later, which
	// adds states where the text has arrived but its ACK is not yet sent
	// (small: 76, 131 before; abort b, reorder: 2840, 8233 before; the
	// configurations without data did not move). Moved again when the ACK
	// of the FIN that takes ESTABLISHED to CLOSE-WAIT could be delayed
	// too (small: 93, 170 before; no faults no data: 29, 46; simultaneous
	// open: 953, 2204; abort b, reorder: 3052, 8943).
	{"small", func() Config { c, _ := Preset("small"); return c }, 108, 200}, // +5: the user timeout's self-loops in TIME-WAIT (coverage)
	{"client-server no faults no data", func() Config {
		c := oneScenario()
		c.Incarnations, c.Loss, c.Dup, c.Reorder, c.WriteA, c.WriteB = 1, 0, 0, false, 0, 0
		return c
	}, 32, 51},
	{"simultaneous open, close both, loss", func() Config {
		c := oneScenario()
		c.Open, c.Closer, c.Incarnations, c.Dup, c.Reorder, c.WriteA, c.WriteB = "simultaneous", "both", 1, 0, false, 0, 0
		return c
	}, 1067, 2446},
	{"abort b, reorder", func() Config {
		c := oneScenario()
		c.Abort, c.Incarnations, c.Loss, c.Dup, c.WriteA = "b", 1, 0, 0, 0
		return c
	}, 3075, 8993},
}

func TestStateCounts(t *testing.T) {
	for _, p := range pinned {
		t.Run(p.name, func(t *testing.T) {
			sys := mustNew(t, p.cfg())
			r := bfs(t, sys, bfsOptions{quiescence: true})
			if r.violation != "" {
				t.Errorf("correct table violates %s:\n%s", r.violation, render(sys, r.init, r.trace))
			}
			if r.states != p.states || r.edges != p.edges {
				t.Errorf("got %d states, %d transitions; want %d, %d", r.states, r.edges, p.states, p.edges)
			}
		})
	}
}

// reachable returns every state of sys, in BFS order.
func reachable(t testing.TB, sys *System, limit int) []Key {
	t.Helper()
	seen := map[Key]bool{}
	var keys []Key
	for _, k := range sys.Init() {
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	var buf []Transition
	for i := 0; i < len(keys); i++ {
		buf = sys.Next(keys[i], buf[:0])
		for _, tr := range buf {
			if !seen[tr.To] {
				seen[tr.To] = true
				keys = append(keys, tr.To)
				if len(keys) > limit {
					overBudget(t, sys, limit)
				}
			}
		}
	}
	return keys
}

// testConfigs are small configurations that together reach every kind of
// step (loss, duplication, reordering, abort, injection, two incarnations,
// simultaneous open and close).
func testConfigs() map[string]Config {
	out := map[string]Config{}
	for _, m := range Mutants() {
		c, _ := MutantConfig(m.Name)
		out["mutant "+m.Name] = c
	}
	c := oneScenario()
	c.Open, c.Closer, c.Incarnations, c.Dup, c.WriteA, c.WriteB = "simultaneous", "both", 1, 0, 1, 0
	out["simultaneous"] = c
	c = oneScenario()
	c.Abort, c.Incarnations, c.Inject, c.Dup, c.Loss, c.WriteA, c.ISSB = "b", 1, 1, 0, 0, 0, []int{60, 90}
	out["abort, inject, two ISS"] = c
	return out
}

func TestKeyRoundTrip(t *testing.T) {
	for name, cfg := range testConfigs() {
		sys := mustNew(t, cfg)
		for _, k := range reachable(t, sys, 2_000_000) {
			var w world
			w.decode(&k)
			if got := w.encode(); got != k {
				t.Fatalf("%s: decode/encode changed the key\n got %x\nwant %x", name, got, k)
			}
			// Next relies on the network of a reachable state being in
			// canonical order (canonFrom sorts in only what a step sends).
			for j := 1; cfg.Reorder && j < int(w.n); j++ {
				if w.net[j-1] < w.net[j] {
					t.Fatalf("%s: the network of %x is not in canonical order", name, k)
				}
			}
			// Decode must render every field without panicking and agree
			// with the key on what it shows.
			st := sys.Decode(k)
			if len(st.Net) != int(w.n) || st.Incarnation != int(w.round) {
				t.Fatalf("%s: Decode disagrees with the key: %+v", name, st)
			}
		}
	}
}

func TestNextDeterministic(t *testing.T) {
	cfg := testConfigs()["abort, inject, two ISS"]
	sys := mustNew(t, cfg)
	var a, b []Transition
	for _, k := range reachable(t, sys, 2_000_000) {
		a = sys.Next(k, a[:0])
		b = sys.Next(k, b[:0])
		if len(a) != len(b) {
			t.Fatalf("Next gave %d then %d successors", len(a), len(b))
		}
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("Next differs at successor %d: %+v vs %+v", i, a[i], b[i])
			}
		}
	}
}

// TestGeneratedEqualsInterpreted checks that New (generated step) and
// NewWithTable(spec.Table()) (interpreted) give identical successors.
func TestGeneratedEqualsInterpreted(t *testing.T) {
	for name, cfg := range testConfigs() {
		gen := mustNew(t, cfg)
		interp, err := NewWithTable(cfg, spec.Table())
		if err != nil {
			t.Fatal(err)
		}
		var a, b []Transition
		for _, k := range reachable(t, gen, 2_000_000) {
			a = gen.Next(k, a[:0])
			b = interp.Next(k, b[:0])
			if len(a) != len(b) {
				t.Fatalf("%s: %d successors generated, %d interpreted", name, len(a), len(b))
			}
			for i := range a {
				if a[i] != b[i] {
					t.Fatalf("%s: successor %d differs:\n%+v\n%+v", name, i, a[i], b[i])
				}
			}
		}
	}
}

func TestNextDoesNotAllocate(t *testing.T) {
	sys := mustNew(t, oneScenario())
	keys := reachable(t, sys, 2_000_000)[:5000]
	buf := make([]Transition, 0, 256)
	allocs := testing.AllocsPerRun(3, func() {
		for _, k := range keys {
			buf = sys.Next(k, buf[:0])
		}
	})
	if allocs != 0 {
		t.Errorf("Next allocates %.1f times per 5000 states", allocs)
	}
}

// TestPresetsCorrect explores the small and default presets with the
// correct table: no invariant is violated, the network never comes near its
// capacity (so no transition is ever cut off), and every reachable
// state can reach a quiescent one.
func TestPresetsCorrect(t *testing.T) {
	names := []string{"small", "default"}
	if testing.Short() {
		names = names[:1]
	}
	for _, name := range names {
		cfg, err := Preset(name)
		if err != nil {
			t.Fatal(err)
		}
		sys := mustNew(t, cfg)
		r := bfs(t, sys, bfsOptions{quiescence: true})
		if r.violation != "" {
			t.Fatalf("%s: correct table violates %s:\n%s", name, r.violation, render(sys, r.init, r.trace))
		}
		if r.maxNet > netCap-3 {
			t.Errorf("%s: %d segments in flight, too close to the capacity %d", name, r.maxNet, netCap)
		}
		t.Logf("%s: %d states, %d transitions, at most %d segments in flight", name, r.states, r.edges, r.maxNet)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, p := range Presets() {
		c, err := Preset(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Validate(); err != nil {
			t.Errorf("preset %s: %v", p, err)
		}
	}
	if _, err := Preset("huge"); err == nil || !strings.Contains(err.Error(), "unknown preset") {
		t.Errorf("Preset(huge) = %v", err)
	}
	bad := []struct {
		edit func(*Config)
		want string
	}{
		{func(c *Config) { c.Open = "half" }, `open is "half"`},
		{func(c *Config) { c.Closer = "c" }, `closer is "c"`},
		{func(c *Config) { c.Abort = "both" }, `abort is "both"`},
		{func(c *Config) { c.WriteA = 4 }, "write_a is 4; want 0..3"},
		{func(c *Config) { c.SendSize = 0 }, "send_size is 0; want 1..3"},
		{func(c *Config) { c.Incarnations = 0 }, "incarnations is 0; want 1..3"},
		{func(c *Config) { c.MSL = 9 }, "msl is 9; want 1..4"},
		{func(c *Config) { c.RTOMax = 2 }, "rto_max is 2; want 0..1"},
		{func(c *Config) { c.Loss = -1 }, "loss is -1; want 0..3"},
		{func(c *Config) { c.ISSA = nil }, "iss_a has 0 values; want 1..3"},
		{func(c *Config) { c.ISSB = []int{5, 5} }, "iss_b lists 5 twice"},
		{func(c *Config) { c.ISSB = []int{200} }, "iss_b[0] is 200; want 0..160"},
		{func(c *Config) { c.TimeWait = 20 }, "time_wait is 20; want 1..8"},
	}
	for _, b := range bad {
		c := oneScenario()
		b.edit(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), b.want) || !strings.HasPrefix(err.Error(), "model: ") {
			t.Errorf("Validate() = %v; want an error containing %q", err, b.want)
		}
		if _, err := New(c); err == nil {
			t.Errorf("New accepted an invalid config (%s)", b.want)
		}
	}
}

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string { return testenv.WriteFile(t, dir, name, text) }
	c, err := LoadConfig(write("ok.json", `{"closer": "both", "loss": 2}`))
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultConfig()
	want.Closer, want.Loss = "both", 2
	if fmt.Sprint(c) != fmt.Sprint(want) {
		t.Errorf("LoadConfig = %+v; want %+v", c, want)
	}
	for _, tc := range []struct{ text, want string }{
		{`{"los": 2}`, `unknown field "los"`},
		{`{"loss": "2"}`, `field loss: the string "2"; want a whole number such as 1`},
		{`{"loss": 9}`, "loss is 9"},
		{`{} {}`, "more after the object's closing }"},
		{`{`, "the JSON ends early"},
	} {
		_, err := LoadConfig(write("bad.json", tc.text))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("LoadConfig(%s) = %v; want an error containing %q", tc.text, err, tc.want)
		}
	}
	if _, err := LoadConfig(filepath.Join(dir, "missing.json")); err == nil || !strings.HasPrefix(err.Error(), "model: ") {
		t.Errorf("LoadConfig(missing) = %v", err)
	}
}

// TestConfigDecodingErrors: every error of a config file names the field
// by its JSON name, says what the file gave and what the field takes;
// none speaks of Go types or passes encoding/json's text through.
func TestConfigDecodingErrors(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{``, `model: config: the file is empty: want a JSON object such as {"incarnations": 1}`},
		{" \n\t", `the file is empty`},
		{`[]`, `model: config: the file holds a list; want a JSON object such as {"incarnations": 1}`},
		{`"msl"`, `the file holds the string "msl"; want a JSON object`},
		{`{"attack":"rst"}`, `model: config: field attack: the string "rst"; want a list of strings such as ["rst"], or [] for none`},
		{`{"attack":[1]}`, `field attack[0]: the number 1; want a string such as "rst"`},
		{`{"also":"none"}`, `model: config: field also: the string "none"; want a list of scenarios such as [{"open":"simultaneous",`},
		{`{"also":[[]]}`, `field also[0]: a list; want a scenario such as {"open":"simultaneous"`},
		{`{"also":[{"loss":"1"}]}`, `field also[0].loss: the string "1"; want a whole number such as 1`},
		{`{"also":[{"bogus":1}]}`, `unknown field "also[0].bogus"; the fields of a scenario of also are open, closer, incarnations, loss, dup`},
		{`{"msl":"2"}`, `model: config: field msl: the string "2"; want a whole number such as 2`},
		{`{"msl":2.5}`, `model: config: field msl: 2.5 is not a whole number`},
		{`{"msl":1e300}`, `field msl: 1e300 is far out of range`},
		{`{"msl":9999999999999999999}`, `field msl: 9999999999999999999 is far out of range`},
		{`{"msl":[2]}`, `field msl: a list; want a whole number such as 2`},
		{`{"reorder":1}`, `field reorder: the number 1; want true or false`},
		{`{"open":{}}`, `field open: an object; want a string such as "client-server"`},
		{`{"iss_a":30}`, `field iss_a: the number 30; want a list of whole numbers such as [30]`},
		{`{"frob":1}`, `model: config: unknown field "frob"; the fields of a configuration are open, closer,`},
		{`{"msl":2,"msl":3}`, `field msl is given twice`},
		{`{"msl" 2}`, `model: config: line 1, column 8: not JSON: invalid character '2'`},
		{`  x`, `line 1, column 3: not JSON: invalid character 'x'`},
		{"{\n\"msl\":\n  x}", `line 3, column 3: not JSON: invalid character 'x'`},
		{"{\n  \"msl\": 2,\n}", `line 3, column 1: not JSON`},
		{`{"msl":2} x`, `line 1, column 11: more after the object's closing }`},
		{`{"msl":`, `the JSON ends early`},
		{`{"also":[` + strings.Repeat("[", 100000), `field also[0]: a list`},
	} {
		_, err := ParseConfig([]byte(tc.text))
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "model: config: ") {
			t.Errorf("ParseConfig(%.40s) = %v; want an error containing %q", tc.text, err, tc.want)
			continue
		}
		for _, leak := range []string{"json:", "Go ", "model.", "int ", "Scenario belongs", "EOF"} {
			if strings.Contains(err.Error(), leak) {
				t.Errorf("ParseConfig(%.40s) = %v: %q leaks from the decoder", tc.text, err, leak)
			}
		}
	}
}

// TestConfigRefusesNull: a null does not quietly keep a default (or make a
// zero): the file, a field and a list element are refused by name. Only
// "also": null is read, as no further scenario, the way json.Marshal
// writes a Config without them.
func TestConfigRefusesNull(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{`null`, `model: config: the file holds null; want a JSON object such as {"incarnations": 1}`},
		{`{"also":[null]}`, `model: config: field also[0]: null; want a scenario such as {"open":"simultaneous"`},
		{`{"iss_a":[30,null]}`, `model: config: field iss_a[1]: null; want a whole number such as 30`},
		{`{"iss_a":null}`, `field iss_a: null; want a list of whole numbers such as [30] (leave the field out to keep its default)`},
		{`{"msl":null}`, `field msl: null; want a whole number such as 2 (leave the field out`},
		{`{"attack":null}`, `field attack: null`},
		{`{"also":[{"open":null}]}`, `field also[0].open: null; want a string such as "simultaneous"`},
	} {
		_, err := ParseConfig([]byte(tc.text))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseConfig(%s) = %v; want an error containing %q", tc.text, err, tc.want)
		}
	}
	c, err := ParseConfig([]byte(`{"also":null}`))
	if err != nil || len(c.Also) != 0 {
		t.Errorf(`ParseConfig({"also":null}) = %v, %v; want no further scenario`, c.Also, err)
	}
	// What json.Marshal writes reads back as it was, nulls and all.
	for _, name := range Presets() {
		p, err := Preset(name)
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseConfig(b)
		if err != nil || fmt.Sprint(back) != fmt.Sprint(p) {
			t.Errorf("preset %s: %s read back as %+v, %v", name, b, back, err)
		}
	}
}

// TestConfigScenarioDefaults: a scenario of "also" starts as the --also
// flag's do (inc=1, no loss or duplication), not from whichever default
// scenario happened to sit at its index.
func TestConfigScenarioDefaults(t *testing.T) {
	c, err := ParseConfig([]byte(`{"also":[{"open":"simultaneous","closer":"both"},{"open":"client-server","closer":"b","loss":2}]}`))
	if err != nil {
		t.Fatal(err)
	}
	want := []Scenario{{Open: "simultaneous", Closer: "both", Incarnations: 1}, {Open: "client-server", Closer: "b", Incarnations: 1, Loss: 2}}
	if fmt.Sprint(c.Also) != fmt.Sprint(want) {
		t.Errorf("also = %v; want %v", c.Also, want)
	}
	if c, err := ParseConfig([]byte("\xef\xbb\xbf{\"MSL\": 3}")); err != nil || c.MSL != 3 {
		t.Errorf("a byte-order mark and a field name in other case: %v, %v", c.MSL, err)
	}
}

func TestMutantErrors(t *testing.T) {
	if _, err := NewMutant(DefaultConfig(), "no-such"); err == nil || !strings.Contains(err.Error(), "unknown mutant") {
		t.Errorf("NewMutant(no-such) = %v", err)
	}
	if _, err := MutantConfig("no-such"); err == nil {
		t.Error("MutantConfig(no-such) succeeded")
	}
	names := map[string]bool{}
	for _, p := range PropertyNames() {
		names[p] = true
	}
	for _, m := range Mutants() {
		if !names[m.Property] || m.Question == "" || m.Change == "" || m.Explain == "" {
			t.Errorf("mutant %s is incomplete or names an unknown property %q", m.Name, m.Property)
		}
	}
}

func TestInvariantNames(t *testing.T) {
	sys := mustNew(t, oneScenario())
	var got []string
	for _, p := range sys.Invariants() {
		got = append(got, p.Name)
		if p.Doc == "" || p.Holds == nil {
			t.Errorf("property %s has no doc or no predicate", p.Name)
		}
		if !p.Holds(sys.Init()[0]) {
			t.Errorf("property %s fails in the initial state", p.Name)
		}
	}
	want := PropertyNames()
	if strings.Join(got, ",")+","+QuiescenceName != strings.Join(want, ",") {
		t.Errorf("invariants %v, names %v", got, want)
	}
}

func BenchmarkNext(b *testing.B) {
	sys := mustNew(b, oneScenario())
	keys := reachable(b, sys, 2_000_000)
	buf := make([]Transition, 0, 256)
	b.ResetTimer()
	n := 0
	for b.Loop() {
		buf = sys.Next(keys[n%len(keys)], buf[:0])
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "states/s")
}

// TestNextConcurrent calls Next from several goroutines on one System and
// compares with sequential results (run with -race to check for sharing).
func TestNextConcurrent(t *testing.T) {
	sys := mustNew(t, testConfigs()["simultaneous"])
	keys := reachable(t, sys, 2_000_000)
	want := make([][]Transition, len(keys))
	for i, k := range keys {
		want[i] = sys.Next(k, nil)
	}
	const workers = 4
	errs := make(chan string, workers)
	var wg sync.WaitGroup
	for g := range workers {
		wg.Go(func() {
			var buf []Transition
			for i := g; i < len(keys); i += workers {
				buf = sys.Next(keys[i], buf[:0])
				if len(buf) != len(want[i]) {
					errs <- fmt.Sprintf("state %d: %d successors, want %d", i, len(buf), len(want[i]))
					return
				}
				for j := range buf {
					if buf[j] != want[i][j] {
						errs <- fmt.Sprintf("state %d successor %d differs", i, j)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// propertySystems are the systems the property tests run over: the test
// configurations with the correct table, and the mutants whose broken
// tables stay small in their configurations (short-time-wait's does not),
// where properties do fail.
func propertySystems(t *testing.T) map[string]*System {
	systems := map[string]*System{}
	for name, cfg := range testConfigs() {
		systems[name] = mustNew(t, cfg)
	}
	for _, m := range []string{"two-way-handshake", "no-time-wait", "three-way-close", "no-fin-retransmit", "accept-any-rst", "unbounded-delayed-ack"} {
		cfg, err := MutantConfig(m)
		if err != nil {
			t.Fatal(err)
		}
		sys, err := NewMutant(cfg, m)
		if err != nil {
			t.Fatal(err)
		}
		systems["mutant "+m] = sys
	}
	return systems
}

// TestPropertyFastPaths compares the properties' byte-level fast paths with
// their definitions over decoded hosts.
func TestPropertyFastPaths(t *testing.T) {
	failed := map[string]int{}
	for name, sys := range propertySystems(t) {
		keys := reachable(t, sys, 2_000_000)
		// HandshakeAgreement fails in no system here: its variants, where
		// both sides are ESTABLISHED, are keys whose sequence bytes are
		// moved by one.
		for _, k := range keys {
			if k[hostA+stByte]&15 == uint8(spec.Established) && k[hostB+stByte]&15 == uint8(spec.Established) {
				for _, off := range []int{hostA, hostB} {
					for i := issByte; i <= rcvByte; i++ {
						v := k
						v[off+i]++
						keys = append(keys, v)
					}
				}
			}
		}
		for _, k := range keys {
			a, b := decodeHosts(&k)
			agree := func(h, p *host) bool {
				return h.irs == p.iss && seq(p.una).LessEq(seq(h.rcv)) && seq(h.rcv).LessEq(seq(p.nxt))
			}
			slow := map[string]bool{
				HandshakeAgreement: attacked(&k) || a.st != spec.Established || b.st != spec.Established || (agree(&a, &b) && agree(&b, &a)),
				// The premises in the ghost byte are read as the property
				// reads them; the hosts' fields are decoded.
				GracefulCloseCompletes: a.aborted || b.aborted || attacked(&k) || (k[ghostOff]&ghostRetriesOut != 0 && sys.lossUsed(k)) ||
					(!a.endRST && !a.endTimeout && !b.endRST && !b.endTimeout),
				HalfCloseDelivers: attacked(&k) || (!a.sawEOF || a.delivered == b.written) && (!b.sawEOF || b.delivered == a.written),
			}
			for _, p := range sys.Invariants() {
				if want, ok := slow[p.Name]; ok && p.Holds(k) != want {
					t.Fatalf("%s: %s fast path says %v, definition %v", name, p.Name, p.Holds(k), want)
				}
				if !p.Holds(k) {
					failed[p.Name]++
				}
			}
		}
	}
	for _, p := range []string{HandshakeAgreement, GracefulCloseCompletes, HalfCloseDelivers} {
		if failed[p] == 0 {
			t.Errorf("%s never fails in these systems: the comparison proves nothing", p)
		}
	}
}

// TestViolatedIsFirstFailing holds System.Violated to its definition, the
// index of the first invariant whose Holds is false: over the reachable
// states of the test configurations and of every mutant (where properties
// fail), and over random keys, whose violation byte takes every value.
func TestViolatedIsFirstFailing(t *testing.T) {
	firstFailing := func(sys *System, k Key) int {
		for i, p := range sys.Invariants() {
			if !p.Holds(k) {
				return i
			}
		}
		return -1
	}
	broken := map[int]bool{}
	r := rand.New(rand.NewPCG(1, 2))
	for name, sys := range propertySystems(t) {
		keys := reachable(t, sys, 300_000)
		for range 20000 {
			var k Key
			for i := range k {
				k[i] = byte(r.Uint32())
			}
			keys = append(keys, k)
		}
		for _, k := range keys {
			want := firstFailing(sys, k)
			if got := sys.Violated(&k); got != want {
				t.Fatalf("%s: Violated(%x) = %d, the first failing invariant is %d", name, k, got, want)
			}
			broken[want] = true
		}
	}
	if len(broken) < 4 {
		t.Errorf("only %d outcomes seen: the comparison proves little", len(broken))
	}
}

// decodeHosts decodes both hosts of a key.
func decodeHosts(k *Key) (a, b host) {
	a.decode(k[2 : 2+hostBytes])
	b.decode(k[2+hostBytes : 2+2*hostBytes])
	return a, b
}
