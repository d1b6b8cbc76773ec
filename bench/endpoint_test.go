package main

import (
	"bytes"
	"testing"
	"time"
)

var _ section = (*endpointReport)(nil)

// epSample is a report with made-up figures, for the rendering tests only.
func epSample() *endpointReport {
	return &endpointReport{Rounds: 3, CycleSeconds: 1, Pings: 100, MsgSize: 64, BulkSeconds: 1, BulkChunk: 256 << 10,
		Machine: []string{"CPU: test"},
		Conc1:   epPair{Ours: []float64{12000, 9000, 11000}, Linux: []float64{10000, 12000, 10000}},
		Conc4:   epPair{Ours: []float64{20000, 20000, 20000}, Linux: []float64{10000, 10000, 10000}},
		P50:     epPair{Ours: []float64{15, 16, 14}, Linux: []float64{12, 12, 12}},
		P99:     epPair{Ours: []float64{40, 40, 40}, Linux: []float64{20, 20, 20}},
		UDPP50:  []float64{10, 11, 9},
		UDPP99:  []float64{30, 30, 30},
		Goodput: epPair{Ours: []float64{200e6, 300e6, 250e6}, Linux: []float64{2e9, 2e9, 2e9}},
	}
}

func TestEndpointRatiosAndTargets(t *testing.T) {
	r := epSample()
	var b bytes.Buffer
	r.write(&b)
	doc := b.String()
	reportHas(t, doc,
		"## Endpoint against Linux TCP",
		"| handshake+close, concurrency 1 (cycles/s) | 11,000 | 10,000 | 1.10x | 9,000–12,000 | 10,000–12,000 |",
		"| request/response p50 (µs) | 15.0 | 12.0 | 1.25x | 14.0–16.0 | 12.0–12.0 |",
		"| ours p50 1.50x the floor | 9.0–11.0 / 30.0–30.0 | |",
		"| bulk goodput, one connection (Gbit/s) | 2.00 | 16.00 | 0.12x | 1.60–2.40 | 16.00–16.00 |",
		"| handshake+close, concurrency 4 (cycles/s) | 20,000 | 10,000 | 2.00x |",
		"| request/response p50 (µs) | 15.0 | 12.0 | 1.25x |",
		"| request/response p99 (µs) | 40.0 | 20.0 | 2.00x |",
		"| 10.0 / 30.0 over UDP | | ours p50 1.50x the floor |",
		"| bulk goodput, one connection (Gbit/s) | 2.00 | 16.00 | 0.12x |",
		"at least 1.0x the kernel's | 1.10x (11,000/s vs 10,000/s) | met |",
		"raw UDP round trip | 1.50x (15.0 µs vs 10.0 µs) | met |",
		"at least 2 Gbit/s on loopback | 2.00 Gbit/s (the kernel: 16.00 Gbit/s) | met |",
		"concurrency 4 at least 1.0x the kernel's | 2.00x (20,000/s vs 10,000/s) | met |",
		"p99 at most 2x the kernel's p99 | 2.00x (40.0 µs vs 20.0 µs) | met |",
		"bulk goodput at least 1.0x the kernel's | 0.12x (2.00 vs 16.00 Gbit/s) | NOT met |",
	)
	// Just short of each target.
	r.Conc1.Ours = []float64{9999, 9999, 9999}
	r.P50.Ours = []float64{15.1, 15.1, 15.1}
	r.Goodput.Ours = []float64{249e6, 249e6, 249e6}
	r.Conc4.Ours = []float64{9999, 9999, 9999}
	r.P99.Ours = []float64{40.1, 40.1, 40.1}
	for _, tg := range r.targets() {
		if tg.Met {
			t.Errorf("target %q met by %s", tg.What, tg.Measured)
		}
	}
}

func TestEpPercentile(t *testing.T) {
	xs := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for p, want := range map[float64]float64{50: 5, 99: 10, 10: 1, 100: 10, 1: 1} {
		if got := epPercentile(xs, p); got != want {
			t.Errorf("p%v = %v, want %v", p, got, want)
		}
	}
	if got := epMedian([]float64{3, 1, 2, 10}); got != 2.5 {
		t.Errorf("median = %v, want 2.5", got)
	}
}

// TestEndpointHarness runs each measurement of the harness briefly over
// tcpcheck's endpoint and the kernel's TCP: the runs complete and return
// figures (their size is the bench's business, not the test's).
func TestEndpointHarness(t *testing.T) {
	for _, mk := range []func() (*epNet, error){
		func() (*epNet, error) { return epOurNet(epCycleOptions()) },
		func() (*epNet, error) { return epOurNet(epBulkOptions()) },
		epLinuxNet,
	} {
		run := func(what string, f func(n *epNet) error) {
			n, err := mk()
			if err != nil {
				t.Fatal(err)
			}
			defer n.close()
			if err := f(n); err != nil {
				t.Errorf("%s: %v", what, err)
			}
		}
		run("cycles", func(n *epNet) error {
			rate, err := epCycles(n, 2, 50*time.Millisecond)
			if err == nil && !(rate > 0) {
				t.Errorf("cycles/s = %v", rate)
			}
			return err
		})
		run("ping-pong", func(n *epNet) error {
			rtts, err := epPingPong(n, 50, 64)
			if err == nil && len(rtts) != 50 {
				t.Errorf("%d round trips timed, want 50", len(rtts))
			}
			return err
		})
		run("bulk", func(n *epNet) error {
			rate, err := epBulk(n, 50*time.Millisecond, 64<<10)
			if err == nil && !(rate > 0) {
				t.Errorf("goodput = %v", rate)
			}
			return err
		})
	}
	rtts, err := epUDPPingPong(50, 64)
	if err != nil || len(rtts) != 50 {
		t.Errorf("raw UDP: %d round trips, %v", len(rtts), err)
	}
}
