package evidence

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tcpcheck/tcpcheck/impl"
	"github.com/tcpcheck/tcpcheck/internal/testenv"
)

var (
	update  = flag.Bool("update", false, "store the records of the live runs in testdata/ (needs root)")
	outFlag = flag.String("evidence.out", "", "in the private namespace: write the record here")
)

// fragments is where go generate writes the rendered records.
const fragments = "../../../explain/runs"

// TestLive makes every live run again in a private network namespace and
// fails when the fresh record does not support what the pages say; with
// -update it stores the record.
func TestLive(t *testing.T) {
	for _, run := range Runs() {
		if !run.Live {
			continue
		}
		t.Run(run.Name, func(t *testing.T) {
			if impl.InPrivateNetns() {
				r, err := Make(run.Name)
				if err != nil {
					t.Fatal(err)
				}
				data, err := json.Marshal(r)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(*outFlag, data, 0o644); err != nil {
					t.Fatal(err)
				}
				if r.Pcap != nil {
					if err := os.WriteFile(*outFlag+".pcap", r.Pcap, 0o644); err != nil {
						t.Fatal(err)
					}
				}
				return
			}
			if err := impl.TUNAvailable(); err != nil {
				testenv.Missing(t, "the live runs: %v", err)
			}
			switch {
			case run.Name == "http-keepalive":
				testenv.Tool(t, "curl", "curl")
			case strings.HasPrefix(run.Name, "killed-client"):
				testenv.Tool(t, "bash", "bash")
			case run.Name == "states-held":
				testenv.Tool(t, "iproute2", "ss")
			}
			attempts := 1
			if run.Timing {
				attempts = 3
			}
			var r Record
			var failed error
			for try := 1; try <= attempts; try++ {
				out := filepath.Join(t.TempDir(), "record.json")
				var log bytes.Buffer
				code, err := impl.ReexecInPrivateNetns([]string{"-test.run=^TestLive$/^" + run.Name + "$", "-test.count=1", "-test.v",
					"-test.timeout=2m", "-evidence.out=" + out}, nil, &log, &log)
				if err != nil {
					t.Fatal(err)
				}
				data, rerr := os.ReadFile(out)
				if code != 0 || rerr != nil {
					t.Fatalf("in a private network namespace (exit %d):\n%s", code, log.String())
				}
				r = Record{}
				if err := json.Unmarshal(data, &r); err != nil {
					t.Fatal(err)
				}
				r.Pcap, _ = os.ReadFile(out + ".pcap")
				if failed = run.Check(&r); failed == nil {
					break
				}
				t.Logf("attempt %d of %d: %v", try, attempts, failed)
			}
			if failed != nil {
				t.Fatalf("%v\nthe fresh run:\n%s", failed, r.Fragment())
			}
			if testing.Verbose() {
				t.Logf("the fresh run:\n%s", r.Fragment())
			}
			if *update {
				if err := r.Save("testdata"); err != nil {
					t.Fatal(err)
				}
				if r.Pcap != nil {
					if err := os.WriteFile(filepath.Join("testdata", PcapFile(run.Name)), r.Pcap, 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
		})
	}
}

// TestRecords checks the stored records of the live runs and fresh runs
// over the mem link against the pages' claims, and the fragments in
// check/explain/runs against the records (go generate ./... renders
// them).
func TestRecords(t *testing.T) {
	for _, run := range Runs() {
		t.Run(run.Name, func(t *testing.T) {
			var r *Record
			var err error
			if run.Live {
				r, err = Load("testdata", run.Name)
			} else {
				r, err = Make(run.Name)
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := run.Check(r); err != nil {
				t.Fatalf("%v\n%s", err, r.Fragment())
			}
			// A kept capture must still give the verdict the record
			// cites when the checker reads it again.
			if pcap, err := os.ReadFile(filepath.Join("testdata", PcapFile(run.Name))); err == nil {
				facts, err := conformFacts(pcap)
				if err != nil {
					t.Fatal(err)
				}
				for _, f := range facts {
					if got := r.Fact(f.Name); got != f.Value {
						t.Errorf("tcpcheck conform --pcap on testdata/%s now gives %s = %q; the record says %q", PcapFile(run.Name), f.Name, f.Value, got)
					}
				}
			}
			got, err := os.ReadFile(filepath.Join(fragments, run.Name+".md"))
			if err != nil {
				t.Fatalf("%v: run go generate ./...", err)
			}
			if !bytes.Equal(got, r.Fragment()) {
				// The diff shows whether the record moved (a run that is
				// not the same every time) or the file is stale.
				t.Errorf("check/explain/runs/%s.md is not the record's rendering: run go generate ./...; (-file +record):\n%s",
					run.Name, cmp.Diff(string(got), string(r.Fragment())))
			}
		})
	}
}

// TestMemDeterministic makes each mem run twice: the two records must be
// the same, or the pages would change at every go generate.
func TestMemDeterministic(t *testing.T) {
	for _, run := range Runs() {
		if run.Live {
			continue
		}
		a, err := Make(run.Name)
		if err != nil {
			t.Fatal(err)
		}
		b, err := Make(run.Name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a.Fragment(), b.Fragment()) {
			t.Errorf("run %s differs between two runs:\n%s\n---\n%s", run.Name, a.Fragment(), b.Fragment())
		}
	}
}

// TestChecksFail shows that the checks can fail: each run's check refuses
// a record whose numbers are all changed.
func TestChecksFail(t *testing.T) {
	for _, run := range Runs() {
		r, err := Load("testdata", run.Name)
		if !run.Live {
			r, err = Make(run.Name)
		}
		if err != nil {
			t.Fatal(err)
		}
		for i := range r.Facts {
			r.Facts[i].Value = "garbled"
		}
		if run.Check(r) == nil {
			t.Errorf("run %s: the check accepts a record whose facts are all garbled", run.Name)
		}
	}
}
