package check

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tcpcheck/tcpcheck/internal/testenv"
	"github.com/tcpcheck/tcpcheck/model"
)

// presetSystem builds the model's preset name, failing tb if it cannot.
func presetSystem(tb testing.TB, name string) *model.System {
	tb.Helper()
	cfg, err := model.Preset(name)
	if err != nil {
		tb.Fatal(err)
	}
	sys, err := model.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return sys
}

// smallConfigs are three small configurations of the correct model.
func smallConfigs(t *testing.T) map[string]model.Config {
	t.Helper()
	small, err := model.Preset("small")
	if err != nil {
		t.Fatal(err)
	}
	loss, err := model.MutantConfig("no-time-wait") // one incarnation, one loss
	if err != nil {
		t.Fatal(err)
	}
	abort, err := model.MutantConfig("two-way-handshake") // A may abort
	if err != nil {
		t.Fatal(err)
	}
	return map[string]model.Config{"small": small, "loss": loss, "abort": abort}
}

// testStateBudget bounds every exploration of the package's tests that
// sets no limit of its own: the largest configuration they explore has
// about 2.1 million states, so a table change that blows the state space
// up fails with the configuration and the count instead of driving the
// tests past 4 GiB and 10 minutes (issue 19).
const testStateBudget = 4_000_000

func explore(t *testing.T, sys *model.System, opt Options) *Result {
	t.Helper()
	budgeted := opt.MaxStates == 0
	if budgeted {
		opt.MaxStates = testStateBudget
	}
	res, err := Explore(sys, opt)
	if err != nil {
		t.Fatal(err)
	}
	if budgeted && res.Limit == "max-states" {
		t.Fatalf("check: the state budget ran out: more than %d states in configuration %+v (mutant %q); "+
			"the correct table needs far fewer, so the table or the model has changed the state space",
			testStateBudget, sys.Config(), sys.Mutant())
	}
	return res
}

func TestModelCountsPinned(t *testing.T) {
	// Pinned like stateright's examples: any change to the model's
	// semantics or to the engine's bookkeeping shows up here. Update the
	// numbers only after reading why they moved.
	want := map[string]struct {
		states, transitions int64
		depth               int
	}{
		"small": {pinSmall[0], pinSmall[1], int(pinSmall[2])},
		"loss":  {pinLoss[0], pinLoss[1], int(pinLoss[2])},
		"abort": {pinAbort[0], pinAbort[1], int(pinAbort[2])},
	}
	for _, name := range []string{"small", "loss", "abort"} {
		cfg := smallConfigs(t)[name]
		sys, err := model.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		for _, exact := range []bool{false, true} {
			for _, workers := range []int{1, 2} {
				res := explore(t, sys, Options{Workers: workers, Exact: exact, Quiescence: true})
				w := want[name]
				if res.Verdict != Ok || res.States != w.states || res.Transitions != w.transitions || res.Depth != w.depth {
					t.Errorf("%s exact=%v workers=%d: %v, %d states, %d transitions, depth %d; want ok, %d, %d, %d",
						name, exact, workers, res.Verdict, res.States, res.Transitions, res.Depth, w.states, w.transitions, w.depth)
				}
				if res.Violation != nil {
					var b bytes.Buffer
					_ = WriteTable(&b, sys, res.Violation)
					t.Errorf("%s: unexpected counterexample:\n%s", name, b.String())
				}
				for _, p := range res.Properties {
					if p.Verdict != Ok {
						t.Errorf("%s: property %s is %v", name, p.Name, p.Verdict)
					}
				}
				if len(res.Coverage.Covered)+len(res.Coverage.Dead) != len(sys.Rows()) || len(res.Coverage.Covered) == 0 {
					t.Errorf("%s: coverage %d covered + %d dead of %d rows", name, len(res.Coverage.Covered), len(res.Coverage.Dead), len(sys.Rows()))
				}
			}
		}
	}
}

func TestMutantsViolateTheirProperty(t *testing.T) {
	for _, m := range model.Mutants() {
		t.Run(m.Name, func(t *testing.T) {
			cfg, err := model.MutantConfig(m.Name)
			if err != nil {
				t.Fatal(err)
			}
			sys, err := model.NewMutant(cfg, m.Name)
			if err != nil {
				t.Fatal(err)
			}
			// Every property: the mutant breaks one (perhaps another
			// property first, a step earlier).
			if res := explore(t, sys, Options{Quiescence: true}); res.Verdict != Violated || Replay(sys, res.Violation) != nil {
				t.Fatalf("all properties: verdict %v", res.Verdict)
			}
			// The mutant's property alone: its shortest counterexample.
			var first *Violation
			for _, workers := range []int{1, 2} {
				res := explore(t, sys, Options{Workers: workers, Properties: []string{m.Property}})
				if res.Verdict != Violated || res.Violation == nil {
					t.Fatalf("workers %d: verdict %v, want violated", workers, res.Verdict)
				}
				v := res.Violation
				if v.Property != m.Property {
					var b bytes.Buffer
					_ = WriteTable(&b, sys, v)
					t.Fatalf("workers %d: violated %s, want %s:\n%s", workers, v.Property, m.Property, b.String())
				}
				if err := Replay(sys, v); err != nil {
					t.Fatalf("workers %d: %v", workers, err)
				}
				if first == nil {
					first = v
				} else if len(first.Trace) != len(v.Trace) || first.Init != v.Init || first.Last() != v.Last() {
					t.Fatalf("1 and 2 workers report different counterexamples")
				} else {
					for i := range v.Trace {
						if v.Trace[i].To != first.Trace[i].To {
							t.Fatalf("1 and 2 workers differ at step %d", i+1)
						}
					}
				}
			}
			correct, err := model.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if res := explore(t, correct, Options{Quiescence: true}); res.Verdict != Ok {
				t.Fatalf("the correct table on the mutant's configuration: %v (%v)", res.Verdict, res.Violation != nil)
			}
		})
	}
}

func mutantViolation(t *testing.T, name string) (*model.System, *Violation) {
	t.Helper()
	cfg, err := model.MutantConfig(name)
	if err != nil {
		t.Fatal(err)
	}
	sys, err := model.NewMutant(cfg, name)
	if err != nil {
		t.Fatal(err)
	}
	m := model.Mutants()[0]
	for _, mm := range model.Mutants() {
		if mm.Name == name {
			m = mm
		}
	}
	res := explore(t, sys, Options{Properties: []string{m.Property}})
	if res.Violation == nil {
		t.Fatalf("%s: no violation", name)
	}
	return sys, res.Violation
}

func TestReplayRejectsBrokenTraces(t *testing.T) {
	sys, v := mutantViolation(t, "two-way-handshake")
	if len(v.Trace) < 2 {
		t.Fatalf("trace too short to tamper with: %d steps", len(v.Trace))
	}
	skipped := *v
	skipped.Trace = append([]model.Transition(nil), v.Trace[1:]...)
	if err := Replay(sys, &skipped); err == nil {
		t.Error("a trace missing its first step replays")
	}
	short := *v
	short.Trace = v.Trace[:len(v.Trace)-1]
	if err := Replay(sys, &short); err == nil {
		t.Error("a trace that stops before the violation replays")
	}
	wrong := *v
	wrong.Property = "HandshakeAgreement"
	if err := Replay(sys, &wrong); err == nil {
		t.Error("a trace replays against a property it does not break")
	}
	unknown := *v
	unknown.Property = "NoSuchProperty"
	if err := Replay(sys, &unknown); err == nil || !strings.Contains(err.Error(), "unknown property") {
		t.Errorf("unknown property: %v", err)
	}
	quiet := *v
	quiet.Property = model.QuiescenceName
	if err := Replay(sys, &quiet); err == nil {
		t.Error("a state from which the run can still wind down replays as a Quiescence violation")
	}
}

func TestRenderings(t *testing.T) {
	sys, v := mutantViolation(t, "two-way-handshake")
	var tab bytes.Buffer
	if err := WriteTable(&tab, sys, v); err != nil {
		t.Fatal(err)
	}
	text := tab.String()
	for _, want := range []string{"#  A", "segment", "--SYN seq=", "-->", "<--SYN,ACK seq=", "ESTABLISHED", "violates " + v.Property} {
		if !strings.Contains(text, want) {
			t.Errorf("table lacks %q:\n%s", want, text)
		}
	}
	if lines := strings.Count(text, "\n"); lines < len(v.Trace)+2 {
		t.Errorf("table has %d lines for %d steps:\n%s", lines, len(v.Trace), text)
	}
	var mm bytes.Buffer
	if err := WriteMermaid(&mm, sys, v); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(mm.String(), "sequenceDiagram\n") || !strings.Contains(mm.String(), "N->>B: SYN seq=") {
		t.Errorf("mermaid:\n%s", mm.String())
	}
	js, err := json.Marshal(ViolationJSON(sys, v))
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		Property string
		Trace    []struct {
			Step    int
			Kind    string
			Host    string
			Row     string
			Segment *struct {
				Flags string
				Seq   uint32
			}
			A, B string
		}
	}
	if err := json.Unmarshal(js, &back); err != nil {
		t.Fatal(err)
	}
	if back.Property != v.Property || len(back.Trace) != len(v.Trace) || back.Trace[0].Step != 1 || back.Trace[0].Kind != "user" {
		t.Errorf("json: %s", js)
	}
	last := back.Trace[len(back.Trace)-1]
	if last.Kind != "deliver" || last.Segment == nil || last.Segment.Flags != "SYN" || last.Row != "LISTEN + rcv SYN" || last.B != "ESTABLISHED" {
		t.Errorf("last step in json: %+v", last)
	}
}

// TestPcapReadsCleanly has tshark dissect the pcap of every mutant's
// counterexample with checksum validation on.
func TestPcapReadsCleanly(t *testing.T) {
	tshark := testenv.Tool(t, "tshark", "tshark")
	dir := t.TempDir()
	for _, m := range model.Mutants() {
		_, v := mutantViolation(t, m.Name)
		var buf bytes.Buffer
		if err := WritePcap(&buf, v, model.DefaultConfig().MSL); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, m.Name+".pcap")
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(tshark, "-r", path, "-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE", "-V").CombinedOutput()
		if err != nil {
			t.Fatalf("%s: tshark: %v\n%s", m.Name, err, out)
		}
		text := string(out)
		for _, bad := range []string{"Malformed", "incorrect", "Bad"} {
			if strings.Contains(text, bad) {
				t.Errorf("%s: tshark reports %q:\n%s", m.Name, bad, text)
			}
		}
		packets := 0
		for _, st := range v.Trace {
			packets += len(sent(st.Step))
			if st.Step.Kind == model.Duplicate || st.Step.Kind == model.Inject {
				packets++
			}
		}
		if got := strings.Count(text, "Transmission Control Protocol, Src Port"); got != packets {
			t.Errorf("%s: %d TCP packets in the capture, want %d", m.Name, got, packets)
		}
	}
}

func TestUnknownPropertyIsAnError(t *testing.T) {
	sys, err := model.New(smallConfigs(t)["small"])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Explore(sys, Options{Properties: []string{"NoSuchThing"}}); err == nil || !strings.Contains(err.Error(), "NoSuchThing") {
		t.Fatalf("err = %v", err)
	}
	res := explore(t, sys, Options{Properties: []string{model.QuiescenceName}})
	if len(res.Properties) != 1 || res.Properties[0].Name != model.QuiescenceName || res.Properties[0].Verdict != Ok {
		t.Fatalf("properties: %+v", res.Properties)
	}
}
