//go:build linux

package kernel

import (
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/tcpcheck/tcpcheck/impl"
	"github.com/tcpcheck/tcpcheck/impl/wire"
	"github.com/tcpcheck/tcpcheck/spec"
)

// scenarioFilesOnDisk lists the scenario names of the files in the
// directory, and fails on a file that is neither a scenario nor the README.
func scenarioFilesOnDisk(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(ScenarioDir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		switch {
		case e.Name() == "README.md":
		case strings.HasSuffix(e.Name(), ".txt"):
			out = append(out, strings.TrimSuffix(e.Name(), ".txt"))
		default:
			t.Errorf("%s/%s: the directory holds only NAME.txt scenarios and README.md", ScenarioDir, e.Name())
		}
	}
	return out
}

// TestScenarioFiles checks that every file of testdata/scenarios is a
// scenario the binary holds, so that adding a scenario is adding a file
// (TestSuite checks that the suite runs each of them).
func TestScenarioFiles(t *testing.T) {
	names, err := Names()
	if err != nil {
		t.Fatal(err)
	}
	if files := scenarioFilesOnDisk(t); !slices.Equal(names, files) {
		t.Errorf("the suite holds %v, the directory %v", names, files)
	}
	all, _ := Scenarios()
	for _, sc := range all {
		if sc.File != shownScenarioDir+"/"+sc.Name+".txt" || sc.Summary == "" || len(sc.steps) == 0 {
			t.Errorf("%s: read from %q, summary %q, %d steps", sc.Name, sc.File, sc.Summary, len(sc.steps))
		}
	}
}

// TestVocabularyDocumented checks that the README of the scenario files
// shows every command.
func TestVocabularyDocumented(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(ScenarioDir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range Vocabulary() {
		if !strings.Contains(string(readme), "`"+s+"`") {
			t.Errorf("%s/README.md does not show the command `%s`", ScenarioDir, s)
		}
	}
}

const goodScenario = `# A comment.
summary: a scenario
  that parses
retransmissions: kept
rto-min: 200ms

deviation: some-deviation
rfc: RFC 9293
table: the table
linux: Linux

the kernel connects to us
----
connected: ours ESTABLISHED, kernel ESTABLISHED

we write "hi\n"
the kernel reads "hi\n"
the kernel closes (with a remark)
----
the kernel closed: ours CLOSE-WAIT, kernel FIN-WAIT-2
odd: ours CLOSE-WAIT, kernel CLOSED where the table says FIN-WAIT-2 (deviation some-deviation)

exchange
----
in SYN
out SYN,ACK
in ACK*
`

func TestParseScenario(t *testing.T) {
	sc, err := ParseScenario("x/good.txt", []byte(goodScenario))
	if err != nil {
		t.Fatal(err)
	}
	if sc.Name != "good" || sc.Summary != "a scenario that parses" || !sc.retransmissions || sc.rtoMin.String() != "200ms" ||
		len(sc.Deviations) != 1 || sc.Deviations[0].Linux != "Linux" || len(sc.steps) != 7 || sc.Exchange != "in SYN\nout SYN,ACK\nin ACK*" {
		t.Errorf("parsed %+v", sc)
	}
	if st := sc.steps[5]; st.n != 20 || st.text != "the kernel closed: ours CLOSE-WAIT, kernel FIN-WAIT-2" {
		t.Errorf("step 6: line %d %q", st.n, st.text)
	}
	fsys := fstest.MapFS{"d/b.txt": {Data: []byte(goodScenario)}, "d/a.txt": {Data: []byte(goodScenario)}, "d/README.md": {}}
	all, err := LoadScenarios(fsys, "d")
	if err != nil || len(all) != 2 || all[0].Name != "a" || all[1].Name != "b" {
		t.Errorf("LoadScenarios: %v %+v", err, all)
	}
	fsys["d/b.txt"].Data = []byte("summary: x\n")
	if _, err := LoadScenarios(fsys, "d"); err == nil || !strings.HasPrefix(err.Error(), "kernel: d/b.txt:") {
		t.Errorf("LoadScenarios with a bad file: %v", err)
	}
}

// TestParseScenarioErrors checks that a malformed scenario file gets an
// error naming the file and the line.
func TestParseScenarioErrors(t *testing.T) {
	for _, c := range []struct{ name, old, new, want string }{
		{"unknown command", `we write "hi\n"`, `we shout "hi\n"`, `bad.txt:16: unknown command "we shout \"hi\\n\""`},
		{"unquoted text", `we write "hi\n"`, `we write hi`, `bad.txt:16: unknown command`},
		{"bad state", "kernel FIN-WAIT-2\nodd", "kernel FIN-WAIT-3\nodd", `bad.txt:20: checkpoint "the kernel closed: ours CLOSE-WAIT, kernel FIN-WAIT-3": "FIN-WAIT-3" is not a state`},
		{"bad checkpoint", "connected: ours ESTABLISHED, kernel ESTABLISHED", "connected: ESTABLISHED", `bad.txt:14: checkpoint "connected: ESTABLISHED": want`},
		{"checkpoint before ----", "the kernel connects to us\n----\n", "the kernel connects to us\n", `bad.txt:13: "connected: ours ESTABLISHED, kernel ESTABLISHED" is a checkpoint: put it after a line "----"`},
		{"undeclared deviation", "(deviation some-deviation)", "(deviation other)", `bad.txt:21: deviation "other" is not declared`},
		{"incomplete deviation", "table: the table\n", "", `bad.txt:7: a deviation needs all of`},
		{"unknown deviation key", "table: the table", "tables: the table", `bad.txt:9: unknown deviation key "tables"`},
		{"no summary", "summary: a scenario\n  that parses\n", "", `bad.txt:1: the scenario has no summary`},
		{"unknown header key", "retransmissions: kept", "retransmits: kept", `bad.txt:4: unknown header key "retransmits"`},
		{"bad retransmissions", "retransmissions: kept", "retransmissions: yes", `bad.txt:4: retransmissions: "yes"`},
		{"bad rto-min", "rto-min: 200ms", "rto-min: soon", `bad.txt:5: rto-min: "soon"`},
		{"key twice", "rto-min: 200ms", "rto-min: 200ms\nrto-min: 1s", `bad.txt:6: rto-min is given twice`},
		{"remark on a connect", `the kernel connects to us`, `the kernel connects to us (twice)`, `bad.txt:12: "the kernel connects to us (twice)": a remark in parentheses`},
		{"two separators", "odd: ours", "----\nodd: ours", `bad.txt:21: a second "----"`},
		{"bad segment", "in ACK*", "sideways ACK", `bad.txt:27: segment "sideways ACK"`},
		{"exchange without ----", "exchange\n----\n", "exchange\n", `bad.txt:23: exchange: want a line "----"`},
		{"bad segment class", `we write "hi\n"`, "hold blue segments", `bad.txt:16: "hold blue segments": "blue segments": want`},
		{"bad flag", `we write "hi\n"`, "hold segments with FOO", `bad.txt:16: "hold segments with FOO": "segments with FOO": "FOO" is not a flag`},
		{"bad percentage", `we write "hi\n"`, "drop 500% of the data and ACK segments at random, seed 1 2", `bad.txt:16: "drop 500%`},
	} {
		src := strings.Replace(goodScenario, c.old, c.new, 1)
		if src == goodScenario {
			t.Fatalf("%s: the change %q does not apply", c.name, c.old)
		}
		_, err := ParseScenario("testdata/scenarios/bad.txt", []byte(src))
		if err == nil || !strings.HasPrefix(err.Error(), "kernel: testdata/scenarios/") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v\nwant an error naming the file and containing %s", c.name, err, c.want)
		}
	}
	if _, err := ParseScenario("testdata/scenarios/Bad Name.txt", []byte(goodScenario)); err == nil || !strings.Contains(err.Error(), "Bad Name.txt: the file name") {
		t.Errorf("a bad file name: %v", err)
	}
	if _, err := ParseScenario("testdata/scenarios/empty.txt", []byte("summary: nothing\n\n# no script\n")); err == nil || !strings.Contains(err.Error(), "empty.txt:3: the scenario has no script") {
		t.Errorf("no script: %v", err)
	}
}

func TestParseSegments(t *testing.T) {
	pkt := func(d impl.Direction, f spec.Flags, n int) impl.TUNPacket {
		return impl.TUNPacket{Dir: d, Header: wire.Header{Flags: f}, Len: n}
	}
	out, in := impl.Outbound, impl.Inbound
	for _, c := range []struct {
		class string
		p     impl.TUNPacket
		want  bool
	}{
		{"pure ACKs", pkt(in, spec.ACK|spec.PSH, 0), true},
		{"pure ACKs", pkt(in, spec.ACK, 3), false},
		{"our pure ACKs", pkt(in, spec.ACK, 0), false},
		{"our pure ACKs", pkt(out, spec.ACK, 0), true},
		{"the kernel's pure ACK", pkt(in, spec.ACK, 0), true},
		{"segments with FIN", pkt(out, spec.FIN|spec.ACK, 0), true},
		{"segments with FIN", pkt(out, spec.ACK, 0), false},
		{"SYNs", pkt(out, spec.SYN, 0), true},
		{"SYNs", pkt(out, spec.SYN|spec.ACK, 0), false},
		{"SYN,ACKs", pkt(out, spec.SYN|spec.ACK, 0), true},
		{"the kernel's SYN,ACK", pkt(out, spec.SYN|spec.ACK, 0), false},
	} {
		match, err := parseSegments(c.class)
		if err != nil {
			t.Fatal(err)
		}
		if got := match(c.p); got != c.want {
			t.Errorf("%q matches %v %s len %d: %v, want %v", c.class, c.p.Dir, c.p.Header.Flags, c.p.Len, got, c.want)
		}
	}
}

// TestLinuxDoc checks docs/linux.md against the scenario files: it has a
// section "### `ID`" naming its scenario for every deviation a file
// declares, and no other, and it names every scenario.
func TestLinuxDoc(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "..", "docs", "linux.md"))
	if err != nil {
		t.Fatal(err)
	}
	all, err := Scenarios()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, sc := range all {
		for _, d := range sc.Deviations {
			want[d.ID] = sc.Name
		}
		if !strings.Contains(string(doc), "`"+sc.Name+"`") {
			t.Errorf("docs/linux.md does not name the scenario %s", sc.Name)
		}
	}
	have := map[string]string{}
	for _, m := range regexp.MustCompile("(?m)^### `([^`]+)`[^\n]*\n\n- Scenario: `([^`]+)`").FindAllStringSubmatch(string(doc), -1) {
		have[m[1]] = m[2]
	}
	if !maps.Equal(have, want) {
		t.Errorf("docs/linux.md lists the deviations (ID: scenario) %v; the scenario files declare %v", have, want)
	}
}
