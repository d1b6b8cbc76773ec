//go:build linux

package kernel

import (
	"bytes"
	"flag"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/tcpcheck/tcpcheck/impl"
	"github.com/tcpcheck/tcpcheck/internal/testenv"
)

var (
	scenarioFlag = flag.String("kernel.scenario", "", "run only this scenario of the kernel suite")
	fullFlag     = flag.Bool("kernel.full", false, "print every packet in transcripts")
)

// inNetns re-runs the calling test in a private network namespace and
// reports whether the caller is that child. Without root or /dev/net/tun
// it skips, or fails when CI is "true".
func inNetns(t *testing.T, extra ...string) bool {
	t.Helper()
	if impl.InPrivateNetns() {
		return true
	}
	if err := Available(); err != nil {
		testenv.Missing(t, "the kernel suite: %v", err)
	}
	args := append([]string{"-test.run=^" + t.Name() + "$", "-test.v", "-test.count=1", "-test.timeout=4m"}, extra...)
	var out bytes.Buffer
	code, err := impl.ReexecInPrivateNetns(args, nil, &out, &out)
	if err != nil {
		t.Fatal(err)
	}
	if code != 0 || !strings.Contains(out.String(), "--- PASS: "+t.Name()) {
		t.Fatalf("in a private network namespace (exit %d):\n%s", code, out.String())
	}
	if testing.Verbose() {
		t.Logf("in a private network namespace:\n%s", out.String())
	}
	return false
}

// TestSuite runs every scenario against the kernel.
func TestSuite(t *testing.T) {
	if !inNetns(t, fmt.Sprintf("-kernel.scenario=%s", *scenarioFlag), fmt.Sprintf("-kernel.full=%v", *fullFlag)) {
		return
	}
	var names []string
	if *scenarioFlag != "" {
		names = []string{*scenarioFlag}
	}
	results, err := Run(names, Options{Full: *fullFlag})
	if err != nil {
		t.Fatal(err)
	}
	if *scenarioFlag == "" {
		// Every file of testdata/scenarios is run.
		var ran []string
		for _, r := range results {
			ran = append(ran, r.Name)
		}
		if files := scenarioFilesOnDisk(t); !slices.Equal(ran, files) {
			t.Errorf("the suite ran %v; the scenario files are %v", ran, files)
		}
	}
	for _, r := range results {
		t.Run(r.Name, func(t *testing.T) {
			t.Logf("%s (%v, %d packets)\n%s", r.Summary, r.Elapsed.Round(1e6), r.Packets, r.Transcript)
			for _, d := range r.Deviations {
				t.Logf("deviation %s: %s", d.ID, d.Evidence)
			}
			for _, f := range r.Failures {
				t.Error(f)
			}
		})
	}
}

var bulkMB = flag.Int("kernel.bulk-mb", 5, "megabytes (10^6 octets) each way in TestBulkLossy; 100 for the issue's figure")

// TestBulkLossy moves -kernel.bulk-mb megabytes each way between our
// endpoint and a kernel socket over a TUN link that loses 3% of the
// packets in both directions, and checks the SHA-256 of both streams.
func TestBulkLossy(t *testing.T) {
	if !inNetns(t, fmt.Sprintf("-kernel.bulk-mb=%d", *bulkMB)) {
		return
	}
	for _, from := range []Side{Ours, Kernel} {
		r, err := Bulk(int64(*bulkMB)*1e6, 0.03, 42, from)
		if err != nil {
			t.Fatal(err)
		}
		if !r.Intact() {
			t.Errorf("corrupted: %s", r)
		}
		if r.Link.Lost == 0 {
			t.Errorf("the link lost nothing: %s", r)
		}
		t.Log(r)
	}
}
