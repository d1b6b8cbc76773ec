package check

import (
	"bufio"
	"bytes"
	"fmt"
	"hash/crc32"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/tcpcheck/tcpcheck/check/engine"
	"github.com/tcpcheck/tcpcheck/model"
)

// shardTestConfig is the default configuration without further scenarios
// and without faults other than reordering: about 9,000 states, wide
// enough levels to split.
func shardTestConfig(t *testing.T) model.Config {
	t.Helper()
	c := model.DefaultConfig()
	c.Also, c.Loss, c.Dup = nil, 0, 0
	return c
}

// singleRun explores sys whole and returns the result and the sorted
// fingerprints of its visited states.
func singleRun(t *testing.T, sys *model.System, opt Options) (*Result, []uint64) {
	t.Helper()
	var fps []uint64
	opt.Visited = func(b []uint64) error { fps = append(fps, b...); return nil }
	res := explore(t, sys, opt)
	if !slices.IsSorted(fps) || int64(len(fps)) != res.States {
		t.Fatalf("Visited gave %d fingerprints (sorted %v) for %d states", len(fps), slices.IsSorted(fps), res.States)
	}
	return res, fps
}

// runShards writes the shard files of parts 0..n-1 of sys.
func runShards(t *testing.T, sys *model.System, opt Options, n, width int) ([][]byte, []*Result) {
	t.Helper()
	var files [][]byte
	var results []*Result
	for i := 0; i < n; i++ {
		o := opt
		o.Shard = Shard{I: i, N: n, SplitWidth: width}
		var buf bytes.Buffer
		res, err := WriteShard(&buf, sys, o)
		if err != nil {
			t.Fatalf("shard %d/%d: %v", i, n, err)
		}
		files = append(files, buf.Bytes())
		results = append(results, res)
	}
	return files, results
}

// shardFPs reads back the fingerprints of a shard file.
func shardFPs(t *testing.T, file []byte) []uint64 {
	t.Helper()
	s := &shardIn{name: "f", r: bufio.NewReader(bytes.NewReader(file)), crc: crc32.New(castagnoli)}
	if err := s.readHeader(); err != nil {
		t.Fatal(err)
	}
	var fps []uint64
	for {
		fp, ok, err := s.nextFP()
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		fps = append(fps, fp)
	}
	if _, err := s.readTrailer(); err != nil {
		t.Fatal(err)
	}
	return fps
}

func mergeBytes(files ...[]byte) (*Merged, error) {
	var names []string
	var rs []io.Reader
	for i, f := range files {
		names = append(names, fmt.Sprintf("shard%d", i))
		rs = append(rs, bytes.NewReader(f))
	}
	return MergeReaders(names, rs)
}

func verdicts(r *Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s:", r.Verdict)
	for _, p := range r.Properties {
		fmt.Fprintf(&b, " %s=%s", p.Name, p.Verdict)
	}
	return b.String()
}

// TestShardUnionIsSingleRun is must-show 3: the union of the shards'
// visited sets is exactly the visited set of one run, and the merge
// reports the single run's verdicts and coverage.
func TestShardUnionIsSingleRun(t *testing.T) {
	small, _ := model.Preset("small")
	cases := []struct {
		name  string
		cfg   model.Config
		width int
	}{
		{"default-no-faults", shardTestConfig(t), 16},
		{"small", small, 2},
	}
	for _, c := range cases {
		sys, err := model.New(c.cfg)
		if err != nil {
			t.Fatal(err)
		}
		opt := Options{Workers: 2, Quiescence: true}
		single, want := singleRun(t, sys, opt)
		if single.Verdict != Ok {
			t.Fatalf("%s: single run %s", c.name, single.Verdict)
		}
		for _, n := range []int{2, 3} {
			files, results := runShards(t, sys, opt, n, c.width)
			var union []uint64
			var sum int64
			for i, f := range files {
				fps := shardFPs(t, f)
				if int64(len(fps)) != results[i].States {
					t.Errorf("%s %d/%d: %d fingerprints in the file, %d states", c.name, i, n, len(fps), results[i].States)
				}
				if sd := results[i].Shard.SplitDepth; sd < 0 {
					t.Fatalf("%s %d/%d: no split (width %d too large for the test)", c.name, i, n, c.width)
				}
				sum += int64(len(fps))
				union = append(union, fps...)
			}
			slices.Sort(union)
			union = slices.Compact(union)
			if !slices.Equal(union, want) {
				t.Errorf("%s N=%d: union of the shards has %d states, single run %d; the sets differ", c.name, n, len(union), len(want))
			}
			if sum == int64(len(want))*int64(n) {
				t.Errorf("%s N=%d: every shard explored everything (sum %d): the split did nothing", c.name, n, sum)
			}
			m, err := mergeBytes(files...)
			if err != nil {
				t.Fatal(err)
			}
			r := m.Result
			if r.States != single.States {
				t.Errorf("%s N=%d: merge counts %d states, single run %d", c.name, n, r.States, single.States)
			}
			if got, want := verdicts(r), verdicts(single); got != want {
				t.Errorf("%s N=%d: merged verdicts %s, single run %s", c.name, n, got, want)
			}
			if !slices.Equal(r.Coverage.Covered, single.Coverage.Covered) || !slices.Equal(r.Coverage.Dead, single.Coverage.Dead) {
				t.Errorf("%s N=%d: merged coverage %v, single run %v", c.name, n, r.Coverage.Covered, single.Coverage.Covered)
			}
			if m.SumStates != sum || m.Overlap < 1 || m.Overlap > float64(n) || len(m.Missing) != 0 || len(m.Why) != 0 {
				t.Errorf("%s N=%d: sum %d (want %d), overlap %.3f, missing %v, why %v", c.name, n, m.SumStates, sum, m.Overlap, m.Missing, m.Why)
			}
		}
	}
}

// TestMergeVerdicts checks what the merge makes of missing shards and of
// a shard that was stopped by a limit.
func TestMergeVerdicts(t *testing.T) {
	sys, err := model.New(shardTestConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	files, _ := runShards(t, sys, Options{Workers: 2}, 3, 16)
	m, err := mergeBytes(files[0], files[2])
	if err != nil {
		t.Fatal(err)
	}
	if m.Result.Verdict != Incomplete || !slices.Equal(m.Missing, []int{1}) || len(m.Why) != 1 || !strings.Contains(m.Why[0], "1/3") {
		t.Errorf("shard 1 of 3 missing: verdict %s, missing %v, why %q", m.Result.Verdict, m.Missing, m.Why)
	}
	for _, p := range m.Result.Properties {
		if p.Verdict != Incomplete {
			t.Errorf("shard missing: %s is %s", p.Name, p.Verdict)
		}
	}
	var limited bytes.Buffer
	if _, err := WriteShard(&limited, sys, Options{Workers: 2, MaxStates: 100, Shard: Shard{I: 1, N: 3, SplitWidth: 16}}); err != nil {
		t.Fatal(err)
	}
	m, err = mergeBytes(files[0], limited.Bytes(), files[2])
	if err != nil {
		t.Fatal(err)
	}
	if m.Result.Verdict != Incomplete || m.Result.Limit != engine.LimitStates || len(m.Why) == 0 {
		t.Errorf("a shard stopped by max-states: verdict %s, limit %q, why %q", m.Result.Verdict, m.Result.Limit, m.Why)
	}
}

// TestMergeRefuses checks the errors: duplicate part, other run, bad
// files, and that every truncation and every damaged byte is an error,
// never a panic or a result.
func TestMergeRefuses(t *testing.T) {
	small, _ := model.Preset("small")
	sys, err := model.New(small)
	if err != nil {
		t.Fatal(err)
	}
	files, _ := runShards(t, sys, Options{Workers: 1}, 2, 2)
	other := small
	other.WriteA = 2
	osys, err := model.New(other)
	if err != nil {
		t.Fatal(err)
	}
	ofiles, _ := runShards(t, osys, Options{Workers: 1}, 2, 2)
	three, _ := runShards(t, sys, Options{Workers: 1}, 3, 2)
	var quiesce bytes.Buffer
	if _, err := WriteShard(&quiesce, sys, Options{Workers: 1, Quiescence: true, Shard: Shard{I: 1, N: 2, SplitWidth: 2}}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		files [][]byte
		want  string
	}{
		{"duplicate", [][]byte{files[0], files[0]}, "both shard 0/2"},
		{"other config", [][]byte{files[0], ofiles[1]}, "another configuration"},
		{"other N", [][]byte{files[0], three[1]}, "split into 3 shards, not 2"},
		{"other properties", [][]byte{files[0], quiesce.Bytes()}, "other properties"},
		{"not a shard", [][]byte{[]byte("{\"result\":\"ok\"}\n")}, "not a shard file"},
		{"other version", [][]byte{[]byte("tcpcheck-shard 2\n{}\n")}, "another format version"},
		{"empty", [][]byte{nil}, "not a shard file"},
	}
	for _, c := range cases {
		_, err := mergeBytes(c.files...)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "check: merge: ") {
			t.Errorf("%s: err %v, want one containing %q", c.name, err, c.want)
		}
	}
	if _, err := mergeBytes(); err == nil {
		t.Error("merge of nothing: no error")
	}
	f := files[1]
	for cut := 0; cut < len(f); cut++ {
		_, err := mergeBytes(files[0], f[:cut])
		if err == nil {
			t.Fatalf("cut at %d of %d: no error", cut, len(f))
		}
		if cut > len(shardMagic) && !strings.Contains(err.Error(), "truncated") {
			t.Errorf("cut at %d of %d: %v, want truncated", cut, len(f), err)
		}
	}
	for pos := 0; pos < len(f); pos++ {
		for _, x := range []byte{0x01, 0x80} {
			g := slices.Clone(f)
			g[pos] ^= x
			if _, err := mergeBytes(files[0], g); err == nil {
				t.Fatalf("byte %d of %d flipped by %#x: no error", pos, len(f), x)
			}
		}
	}
	if _, err := mergeBytes(files[0], append(slices.Clone(f), 'x')); err == nil || !strings.Contains(err.Error(), "after the end") {
		t.Errorf("trailing data: %v", err)
	}
}

// TestWriteShardRefusesBitstate: a bitstate run has no fingerprints to
// list.
func TestWriteShardRefusesBitstate(t *testing.T) {
	sys := presetSystem(t, "small")
	if _, err := WriteShard(io.Discard, sys, Options{Bitstate: 20}); err == nil || !strings.Contains(err.Error(), "bitstate") {
		t.Errorf("bitstate: %v", err)
	}
	if _, err := WriteShard(io.Discard, sys, Options{Visited: func([]uint64) error { return nil }}); err == nil {
		t.Error("Visited set: no error")
	}
}

// mutantRun runs mutant name, checking the property it is about, with opt.
func mutantRun(t *testing.T, name string, opt Options) (*model.System, *Result) {
	t.Helper()
	var mut model.Mutant
	for _, m := range model.Mutants() {
		if m.Name == name {
			mut = m
		}
	}
	cfg, err := model.MutantConfig(name)
	if err != nil {
		t.Fatal(err)
	}
	sys, err := model.NewMutant(cfg, name)
	if err != nil {
		t.Fatal(err)
	}
	if len(opt.Properties) == 0 {
		opt.Properties = []string{mut.Property}
	}
	return sys, explore(t, sys, opt)
}

// TestBitstateFindsEveryMutant is must-show 3: bitstate storage finds the
// violation of every mutant that a normal run finds, with the same
// property and a counterexample as short. Under bitstate storage
// Quiescence is checked for deadlocks only; the Quiescence mutant's
// counterexample is a deadlock, so it is found too.
func TestBitstateFindsEveryMutant(t *testing.T) {
	for _, mut := range model.Mutants() {
		sys, normal := mutantRun(t, mut.Name, Options{Workers: 2})
		if normal.Violation == nil || normal.Violation.Property != mut.Property {
			t.Fatalf("%s: the normal run does not break %s: %s", mut.Name, mut.Property, verdicts(normal))
		}
		opt := Options{Workers: 2, Bitstate: 24}
		if mut.Property == model.QuiescenceName {
			if !strings.HasPrefix(normal.Violation.Note, "deadlock") {
				t.Fatalf("%s: the counterexample is not a deadlock: %q", mut.Name, normal.Violation.Note)
			}
		}
		_, bs := mutantRun(t, mut.Name, opt)
		if bs.Storage.Mode != "bitstate" || bs.Storage.Bits != 1<<24 || bs.Storage.Hashes != 3 {
			t.Errorf("%s: storage %+v", mut.Name, bs.Storage)
		}
		if bs.Violation == nil || bs.Violation.Property != mut.Property {
			t.Errorf("%s: bitstate run: %s", mut.Name, verdicts(bs))
			continue
		}
		if len(bs.Violation.Trace) != len(normal.Violation.Trace) {
			t.Errorf("%s: bitstate counterexample of %d steps, normal %d", mut.Name, len(bs.Violation.Trace), len(normal.Violation.Trace))
		}
		if err := Replay(sys, bs.Violation); err != nil {
			t.Errorf("%s: %v", mut.Name, err)
		}
	}
}

// TestShardedMutant: split into shards, a mutant's violation is found by
// some shard and the merge reports it, as short as a single run's.
func TestShardedMutant(t *testing.T) {
	for _, name := range []string{"two-way-handshake", "short-time-wait"} {
		sys, single := mutantRun(t, name, Options{Workers: 2})
		if single.Violation == nil {
			t.Fatalf("%s: no violation", name)
		}
		opt := Options{Workers: 2, Properties: []string{single.Violation.Property}}
		files, results := runShards(t, sys, opt, 3, 4)
		found := 0
		for _, r := range results {
			if r.Violation != nil {
				found++
			}
			if r.Shard.SplitDepth < 0 && r.Verdict != Violated {
				t.Errorf("%s: shard %d did not split", name, r.Shard.I)
			}
		}
		if found == 0 {
			t.Errorf("%s: no shard found the violation", name)
		}
		m, err := mergeBytes(files...)
		if err != nil {
			t.Fatal(err)
		}
		v := m.Result.Violation
		if m.Result.Verdict != Violated || v == nil || v.Property != single.Violation.Property {
			t.Fatalf("%s: merged %s", name, verdicts(m.Result))
		}
		if len(v.Trace) != len(single.Violation.Trace) {
			t.Errorf("%s: merged counterexample of %d steps, single run %d", name, len(v.Trace), len(single.Violation.Trace))
		}
		if err := Replay(sys, v); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestMissingRuns: missing shards are named as runs of consecutive parts,
// the first few of them, and a count of the rest, however many there are.
func TestMissingRuns(t *testing.T) {
	for _, c := range []struct {
		missing []int
		n       int
		want    string
	}{
		{[]int{1}, 3, "1/3"},
		{[]int{0, 1, 2, 4, 6, 7}, 9, "0/9..2/9, 4/9, 6/9..7/9"},
		{[]int{0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 19, 20}, 21, "0/21, 2/21, 4/21, 6/21, 8/21, 10/21, 12/21, 14/21 +4"},
	} {
		runs, rest := (&Merged{Missing: c.missing, N: c.n}).MissingRuns()
		got := strings.Join(runs, ", ")
		if rest > 0 {
			got += fmt.Sprintf(" +%d", rest)
		}
		if got != c.want {
			t.Errorf("MissingRuns(%v) = %q, want %q", c.missing, got, c.want)
		}
	}
}
