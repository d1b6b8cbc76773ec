package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// shardArgs is a configuration of about 9,000 states whose levels are wide
// enough to split at --split-width 16.
var shardArgs = []string{"--quiet", "--also", "none", "--loss", "0", "--dup", "0"}

func writeShards(t *testing.T, dir string, n int, extra ...string) []string {
	t.Helper()
	var files []string
	for i := 0; i < n; i++ {
		f := filepath.Join(dir, fmt.Sprintf("shard%d", i))
		args := append([]string{"explore"}, shardArgs...)
		args = append(args, extra...)
		args = append(args, "--shard", fmt.Sprintf("%d/%d", i, n), "--split-width", "16", "--shard-out", f)
		code, stdout, stderr := runCLI(t, args...)
		if code != exitOK && code != exitViolated {
			t.Fatalf("shard %d/%d: exit %d, stderr %s", i, n, code, stderr)
		}
		if !strings.Contains(stdout, fmt.Sprintf("shard %d/%d: split at depth", i, n)) {
			t.Errorf("shard %d/%d: no shard line:\n%s", i, n, stdout)
		}
		files = append(files, f)
	}
	return files
}

func TestMergeCLI(t *testing.T) {
	code, stdout, stderr := runCLI(t, append([]string{"explore", "--json"}, shardArgs...)...)
	if code != exitOK {
		t.Fatalf("single run: exit %d, %s", code, stderr)
	}
	single := parseOne(t, stdout)
	files := writeShards(t, t.TempDir(), 3)

	code, stdout, stderr = runCLI(t, append([]string{"merge", "--json"}, files...)...)
	if code != exitOK {
		t.Fatalf("merge: exit %d, stderr %s", code, stderr)
	}
	merged := parseOne(t, stdout)
	if merged.Result != "ok" || merged.States != single.States || len(merged.Properties) != len(single.Properties) ||
		merged.Coverage.Covered != single.Coverage.Covered {
		t.Errorf("merged %+v\nsingle %+v", merged, single)
	}
	var extra struct {
		Merge struct {
			Shards    int     `json:"shards"`
			SumStates int64   `json:"sum_states"`
			Overlap   float64 `json:"overlap"`
			Parts     []struct {
				Shard  int `json:"shard"`
				States int `json:"states"`
			} `json:"parts"`
		} `json:"merge"`
		Storage struct {
			Mode string `json:"mode"`
		} `json:"storage"`
	}
	if err := json.Unmarshal([]byte(stdout), &extra); err != nil {
		t.Fatal(err)
	}
	if m := extra.Merge; m.Shards != 3 || len(m.Parts) != 3 || m.Overlap < 1 || m.SumStates < single.States || extra.Storage.Mode != "fingerprint" {
		t.Errorf("merge object %+v, storage %+v", m, extra.Storage)
	}

	code, stdout, _ = runCLI(t, append([]string{"merge"}, files...)...)
	for _, want := range []string{"config: open=client-server", "result: ok", fmt.Sprintf("states %d (the union)", single.States),
		"overlap: ", "storage: 64-bit fingerprints", "0/3", "2/3", "properties:", "Quiescence", "rows: "} {
		if !strings.Contains(stdout, want) {
			t.Errorf("merge output lacks %q:\n%s", want, stdout)
		}
	}
	if code != exitOK {
		t.Errorf("merge: exit %d", code)
	}

	// A missing shard: the output says which, and the exit status is 2.
	code, stdout, stderr = runCLI(t, "merge", files[0], files[2])
	if code != exitUsage || !strings.Contains(stdout, "result: incomplete (shards missing: 1/3)") || !strings.Contains(stderr, "1/3") {
		t.Errorf("missing shard: exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	// Duplicate, damaged and unrelated files are refused with exit 2.
	data, err := os.ReadFile(files[1])
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(t.TempDir(), "cut")
	if err := os.WriteFile(cut, data[:len(data)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	// A shard of another configuration: the message names the knob that
	// differs, not two whole configurations (issue 22), and no package
	// prefix.
	other := filepath.Join(t.TempDir(), "other")
	if code, _, stderr := runCLI(t, append(append([]string{"explore"}, shardArgs...), "--write-b", "0",
		"--shard", "1/3", "--split-width", "16", "--shard-out", other)...); code != exitOK {
		t.Fatalf("other shard: exit %d, %s", code, stderr)
	}
	code, _, stderr = runCLI(t, "merge", files[0], other, files[2])
	if want := "tcpcheck merge: " + other + " is not a shard of the same run as " + files[0] + ": it has another configuration: write_b=0, not 1\n"; code != exitUsage || stderr != want {
		t.Errorf("mismatched shards: exit %d, stderr %q; want %q", code, stderr, want)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{files[0], files[0], files[1]}, "both shard 0/3"},
		{[]string{files[0], cut, files[2]}, "truncated"},
		{[]string{files[0], "/nonexistent/shard"}, "no such file"},
		{[]string{"merge.go"}, "not a shard file"},
		{nil, "shard FILE"},
	} {
		code, _, stderr := runCLI(t, append([]string{"merge"}, tc.args...)...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("merge %v: exit %d, stderr %q; want 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
}

func TestMergeCLIViolation(t *testing.T) {
	// short-time-wait's configuration, checking only the property it
	// breaks: some shard finds the violation and merge prints it.
	m := "short-time-wait"
	code, stdout, _ := runCLI(t, "why", "--json", "--quiet", m)
	if code != exitViolated {
		t.Fatalf("why: exit %d", code)
	}
	single := parseOne(t, stdout)
	// why runs the mutant; explore cannot, so the shards here are of the
	// correct table's config with the mutant's knob set by hand
	// (short-time-wait is the time_wait knob).
	dir := t.TempDir()
	args := []string{"--incarnations", "2", "--loss", "0", "--dup", "0", "--reorder", "--write-a", "0", "--write-b", "0",
		"--iss-stride", "0", "--spurious-rto", "--rto-max", "1", "--time-wait", "2", "--property", "IncarnationIsolation"}
	var files []string
	for i := 0; i < 3; i++ {
		f := filepath.Join(dir, fmt.Sprint(i))
		a := append([]string{"explore", "--quiet", "--also", "none", "--shard", fmt.Sprintf("%d/3", i), "--split-width", "4", "--shard-out", f}, args...)
		code, _, stderr := runCLI(t, a...)
		if code != exitOK && code != exitViolated {
			t.Fatalf("shard %d: exit %d, %s", i, code, stderr)
		}
		files = append(files, f)
	}
	code, stdout, stderr := runCLI(t, append([]string{"merge", "--json"}, files...)...)
	if code != exitViolated {
		t.Fatalf("merge: exit %d, want 1; stderr %s", code, stderr)
	}
	merged := parseOne(t, stdout)
	if merged.Violation == nil || merged.Violation.Property != "IncarnationIsolation" || len(merged.Violation.Trace) != len(single.Violation.Trace) {
		t.Errorf("merged violation %+v; why's has %d steps", merged.Violation, len(single.Violation.Trace))
	}
	code, stdout, _ = runCLI(t, append([]string{"merge"}, files...)...)
	if code != exitViolated || !strings.Contains(stdout, "counterexample (") || !strings.Contains(stdout, "-->") {
		t.Errorf("merge: exit %d\n%s", code, stdout)
	}
}
