package promela

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/tcpcheck/tcpcheck/check"
	"github.com/tcpcheck/tcpcheck/model"
)

// TestCommittedModelIsCurrent regenerates the committed model and compares:
// the generator is deterministic and tcp.pml follows spec.Table().
func TestCommittedModelIsCurrent(t *testing.T) {
	a, err := Generate(RefConfig())
	if err != nil {
		t.Fatal(err)
	}
	b, err := Generate(RefConfig())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Fatal("two runs of Generate on the same configuration differ")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "tcp.pml"), a, 0o644); err != nil {
		t.Fatal(err)
	}
	fresh, err := os.ReadFile(filepath.Join(dir, "tcp.pml"))
	if err != nil {
		t.Fatal(err)
	}
	committed, err := os.ReadFile("tcp.pml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(fresh, committed) {
		t.Fatal("bench/promela/tcp.pml is stale: run `go run ./bench -gen` from the repository root and commit it")
	}
}

func TestGenerateRejects(t *testing.T) {
	c := model.DefaultConfig() // has Also
	if _, err := Generate(c); err == nil || !strings.Contains(err.Error(), "also") {
		t.Errorf("Generate with Also: err = %v, want one naming also", err)
	}
	c.Also = nil
	c.ISSA = []int{30, 40}
	if _, err := Generate(c); err == nil || !strings.Contains(err.Error(), "iss_a") {
		t.Errorf("Generate with two ISS values: err = %v, want one naming iss_a", err)
	}
	c.ISSA = []int{30}
	c.MSL = 9
	if _, err := Generate(c); err == nil || !strings.HasPrefix(err.Error(), "promela: ") {
		t.Errorf("Generate with MSL 9: err = %v, want a promela: error", err)
	}
}

func TestIdent(t *testing.T) {
	for in, want := range map[string]string{"SYN-SENT": "ST_SYN_SENT", "rcv SYN,ACK": "ST_RCV_SYN_ACK", "2MSL": "ST_2MSL"} {
		if got := ident("ST", in); got != want {
			t.Errorf("ident(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSinkReached(t *testing.T) {
	notReached := "unreached in proctype system\n\ttcp.pml:2112, state 3937, \"lost = 1\"\n\ttcp.pml:2114, state 3941, \"-end-\"\n"
	reached := "unreached in proctype system\n\ttcp.pml:2114, state 3941, \"-end-\"\n"
	if SinkReached(notReached) || !SinkReached(reached) || SinkReached("no report") {
		t.Error("SinkReached misreads pan's report of unreached code")
	}
}

var reStored = regexp.MustCompile(`(?m)^\s*(\d+) states, stored`)

// TestSpinCountsMatch runs SPIN on the generated model of small
// configurations that together use every part of the translation (FIFO and
// reordering, budgets, incarnations, abort, injection, simultaneous open
// and close, the sink of overflowing transitions) and compares the number
// of stored states with the explorer's.
func TestSpinCountsMatch(t *testing.T) {
	for _, tool := range []string{"spin", "gcc"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s not found; CI must install the Debian packages spin and gcc", tool)
			}
			t.Skipf("%s not found: install the Debian packages spin and gcc", tool)
		}
	}
	mk := func(f func(c *model.Config)) model.Config {
		c := model.DefaultConfig()
		c.Also = nil
		f(&c)
		return c
	}
	cases := []struct {
		name string
		cfg  model.Config
		sink bool
	}{
		{"small", mk(func(c *model.Config) { c.Incarnations, c.Loss, c.Dup, c.Reorder = 1, 0, 0, false }), false},
		{"reorder-loss", mk(func(c *model.Config) { c.Incarnations, c.Dup = 1, 0 }), false},
		{"simultaneous-abort-inject", mk(func(c *model.Config) {
			c.Open, c.Closer, c.Abort, c.Incarnations, c.Loss, c.Dup, c.Inject, c.Reorder = "simultaneous", "both", "a", 1, 0, 0, 1, false
		}), false},
		{"simultaneous-abort-incarnations", mk(func(c *model.Config) {
			c.Open, c.Closer, c.Abort, c.Loss, c.Dup, c.Reorder = "simultaneous", "both", "b", 0, 0, false
		}), false},
		{"fifo-overflow", mk(func(c *model.Config) {
			c.Closer, c.Incarnations, c.Loss, c.Dup, c.Reorder = "b", 1, 0, 0, false
			c.SpuriousRTO, c.RTOMax, c.MaxRetries, c.UserTimeout = true, 1, 3, false
			c.WriteA, c.WriteB, c.SendSize = 2, 3, 1
		}), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sys, err := model.New(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			res, err := check.Explore(sys, check.Options{Workers: 2})
			if err != nil {
				t.Fatal(err)
			}
			if res.Violation != nil || res.Limit != "" {
				t.Fatalf("explorer: violation %v, limit %q; the comparison needs a complete, clean search", res.Violation, res.Limit)
			}
			pml, err := Generate(tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "tcp.pml"), pml, 0o644); err != nil {
				t.Fatal(err)
			}
			runIn := func(name string, args ...string) string {
				cmd := exec.Command(name, args...)
				cmd.Dir = dir
				out, err := cmd.CombinedOutput()
				if err != nil {
					t.Fatalf("%s %v: %v\n%s", name, args, err, out)
				}
				return string(out)
			}
			runIn("spin", "-a", "tcp.pml")
			runIn("gcc", "-O1", "-DSAFETY", "-DNOFAIR", "-w", "-o", "pan", "pan.c")
			out := runIn("./pan", "-m100000", "-w22")
			m := reStored.FindStringSubmatch(out)
			if m == nil || !strings.Contains(out, "errors: 0") {
				t.Fatalf("pan did not finish cleanly:\n%s", out)
			}
			spin, _ := strconv.ParseInt(m[1], 10, 64)
			sink := SinkReached(out)
			if sink != tc.sink {
				t.Errorf("sink reached = %v, want %v", sink, tc.sink)
			}
			if want := res.States + ExtraStates(sink); spin != want {
				t.Errorf("SPIN stored %d states, the explorer found %d (want %d with the sink)", spin, res.States, want)
			}
			if tc.name != "small" && tc.name != "fifo-overflow" {
				return
			}
			// SPIN's multi-core mode: the model without hidden
			// variables, on two cores, stores the same states.
			runIn("spin", "-DMULTICORE", "-a", "tcp.pml")
			runIn("gcc", "-O1", "-DSAFETY", "-DNOFAIR", "-DNCORE=2", "-DMEMLIM=1024", "-w", "-o", "pan2", "pan.c")
			out = runIn("./pan2", "-m100000", "-w22")
			total := int64(0)
			for _, m := range reStored.FindAllStringSubmatch(out, -1) {
				n, _ := strconv.ParseInt(m[1], 10, 64)
				total += n
			}
			if !strings.Contains(out, "errors: 0") {
				t.Fatalf("pan -DNCORE=2 did not finish cleanly:\n%s", out)
			}
			if want := res.States + ExtraStates(sink); total != want {
				t.Errorf("SPIN on 2 cores stored %d states, the explorer found %d (want %d with the sink):\n%s", total, res.States, want, out)
			}
		})
	}
}
