package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tcpcheck/tcpcheck/bench/promela"
)

// run is one checker run on one configuration.
type runResult struct {
	Checker string // "SPIN" or "tcpcheck"
	Mode    string // "exact", "collapse", "fingerprint"
	Workers int
	States  int64
	Seconds float64 // wall clock of the checker's process
	Own     float64 // bytes per state by the tool's own report
	RSS     float64 // peak resident set of the process divided by states
	Vector  int     // SPIN's state vector in bytes
	Sink    bool    // SPIN reached the sink state of dropped transitions (bench/promela)
	Command string
	// Rounds holds the seconds of each round when the run was repeated;
	// Seconds is then their median.
	Rounds []float64 `json:",omitempty"`
}

func (r runResult) rate() float64 { return float64(r.States) / r.Seconds }

type configResult struct {
	benchConfig
	JSON string
	Runs []runResult
}

type report struct {
	Quick    bool
	Machine  []string
	Tools    []string
	Setup    []string
	Results  []configResult
	Mismatch bool
	Skipped  []string // configurations where SPIN's COLLAPSE mode was not run

	// Remeasured names the parts measured again over a kept run (-from
	// with -parts); the others come from that run.
	Remeasured []string `json:",omitempty"`

	Endpoint *endpointReport `json:",omitempty"` // the endpoint against Linux TCP
	Lin      *linReport      `json:",omitempty"` // linearizability checking at scale
}

// sections returns the comparisons beside the explorer's that this run
// measured.
func (rep *report) sections() []section {
	var out []section
	if rep.Endpoint != nil {
		out = append(out, rep.Endpoint)
	}
	if rep.Lin != nil {
		out = append(out, rep.Lin)
	}
	return out
}

// saveReport writes rep as JSON, so that -from can render it again.
func saveReport(rep *report, path string) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

func loadReport(path string) (*report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var rep report
	if err := json.Unmarshal(b, &rep); err != nil {
		return nil, fmt.Errorf("%s is not a results.json of the bench: %v", path, err)
	}
	if len(rep.Results) == 0 {
		return nil, fmt.Errorf("%s holds no results", path)
	}
	return &rep, nil
}

// collapseMax is the largest state count on which the bench runs SPIN's
// COLLAPSE mode: it runs at about 0.6x the speed of exact storage here,
// and the exact run is the reference for every ratio.
const collapseMax = 20_000_000

// Compiler flags of pan: -O2 as the issue asks, safety properties only
// (assertions and invalid end states; no cycle detection, no fairness),
// exhaustive search with SPIN's default exact state storage, and a memory
// limit close to the machine's.
var panFlags = []string{"-O2", "-DSAFETY", "-DNOFAIR"}

func measure(dir string, list []benchConfig, quick bool, rounds int, log io.Writer) (*report, error) {
	for _, tool := range []string{"spin", "gcc"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, errMissing
		}
	}
	rep := &report{Quick: quick, Machine: machine()}
	rep.Tools = tools()
	bin := filepath.Join(dir, "tcpcheck")
	build := []string{"go", "build", "-o", bin, "./cmd/tcpcheck"}
	rep.Setup = append(rep.Setup, strings.ReplaceAll(strings.Join(build, " "), dir, "DIR"))
	if out, err := exec.Command(build[0], build[1:]...).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("building tcpcheck: %v\n%s", err, out)
	}
	memMB := memTotalMB() * 8 / 10
	for _, bc := range list {
		cr := configResult{benchConfig: bc}
		cdir := filepath.Join(dir, bc.Name)
		if err := os.MkdirAll(cdir, 0o755); err != nil {
			return nil, err
		}
		js, err := json.Marshal(bc.Cfg)
		if err != nil {
			return nil, err
		}
		cr.JSON = string(js)
		cfgFile := filepath.Join(cdir, "config.json")
		if err := os.WriteFile(cfgFile, js, 0o644); err != nil {
			return nil, err
		}
		pml, err := promela.Generate(bc.Cfg)
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(cdir, "tcp.pml"), pml, 0o644); err != nil {
			return nil, err
		}
		fmt.Fprintf(log, "bench: %s: building SPIN's verifiers\n", bc.Name)
		if err := buildSpin(cdir, memMB); err != nil {
			return nil, fmt.Errorf("%s: %w", bc.Name, err)
		}
		runs, skipped, err := measureRounds(bin, cfgFile, bc.Name, rounds, memMB, log)
		if err != nil {
			return nil, err
		}
		if skipped {
			rep.Skipped = append(rep.Skipped, bc.Name)
		}
		cr.Runs = runs
		states := runs[len(runs)-1].States // tcpcheck's, whose runs come last
		for _, r := range cr.Runs {
			if r.States != states+promela.ExtraStates(r.Sink) {
				rep.Mismatch = true
			}
		}
		rep.Results = append(rep.Results, cr)
	}
	return rep, nil
}

// tcpcheckModes are the explorer's runs on each configuration.
var tcpcheckModes = []struct {
	mode    string
	workers int
}{{"fingerprint", 2}, {"fingerprint", 1}, {"exact", 2}, {"exact", 1}}

// measureRounds runs every mode of tcpcheckModes and then every mode of
// panModes on one configuration, in each of rounds rounds, in reverse order
// in every second round, so that a drift of the machine's speed during the
// run weighs on no checker and no mode more than another. It returns one
// result per mode, SPIN's first, whose Seconds is the median of its rounds,
// and whether SPIN's COLLAPSE mode was left out (more than collapseMax
// states). The first round starts with tcpcheck, which gives the state
// count SPIN's hash table is sized for.
func measureRounds(bin, cfgFile, name string, rounds, memMB int, log io.Writer) ([]runResult, bool, error) {
	n := len(tcpcheckModes) + len(panModes)
	out := make([]runResult, n)
	done := make([]bool, n)
	var states int64
	skipped := false
	for round := range rounds {
		for j := range n {
			if round%2 == 1 {
				j = n - 1 - j
			}
			var r runResult
			var err error
			if j < len(tcpcheckModes) {
				m := tcpcheckModes[j]
				fmt.Fprintf(log, "bench: %s: tcpcheck %s, %d worker(s), round %d of %d\n", name, m.mode, m.workers, round+1, rounds)
				r, err = runTcpcheck(bin, cfgFile, m.mode == "exact", m.workers)
				states = r.States
			} else {
				mode := panModes[j-len(tcpcheckModes)]
				if mode == "collapse" && states > collapseMax {
					skipped = true
					continue
				}
				fmt.Fprintf(log, "bench: %s: SPIN %s, round %d of %d\n", name, mode, round+1, rounds)
				r, err = runSpin(filepath.Dir(cfgFile), mode, states, memMB)
			}
			if err != nil {
				return nil, false, fmt.Errorf("%s: %w", name, err)
			}
			if done[j] && r.States != out[j].States {
				return nil, false, fmt.Errorf("%s: %s %s with %d worker(s) found %d states in round %d and %d before: a search must give the same count every time",
					name, r.Checker, r.Mode, r.Workers, r.States, round+1, out[j].States)
			}
			r.Rounds = append(out[j].Rounds, r.Seconds)
			r.RSS = max(r.RSS, out[j].RSS)
			out[j], done[j] = r, true
		}
	}
	// Whether the sink is reachable is the model's, not the search's: the
	// multi-core verifier's list of unreached statements is not reliable
	// (on inc1-dup0, 1 run of 12 listed none at all, not even its "-end-"),
	// so its runs take the single-core verifier's verdict.
	for j := len(tcpcheckModes); j < n; j++ {
		if done[j] && out[j].Workers == panCores && done[len(tcpcheckModes)] {
			out[j].Sink = out[len(tcpcheckModes)].Sink // panModes[0] is "exact"
		}
	}
	// SPIN's runs first, then tcpcheck's, as the report lists them.
	var runs []runResult
	for k := range n {
		j := (k + len(tcpcheckModes)) % n
		if !done[j] {
			continue
		}
		r := out[j]
		r.Seconds = epMedian(r.Rounds)
		if rounds == 1 {
			r.Rounds = nil
		}
		runs = append(runs, r)
	}
	return runs, skipped, nil
}

// timed runs cmd in dir and returns its output, wall-clock seconds and peak
// resident set in bytes.
func timed(dir string, name string, args ...string) ([]byte, float64, float64, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	var out strings.Builder
	cmd.Stdout = &out
	cmd.Stderr = &out
	start := time.Now()
	err := cmd.Run()
	secs := time.Since(start).Seconds()
	var rss float64
	if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			rss = float64(ru.Maxrss) * 1024 // Linux reports KiB
		}
	}
	return []byte(out.String()), secs, rss, err
}

func runTcpcheck(bin, cfgFile string, exact bool, workers int) (runResult, error) {
	args := []string{"explore", "--config", filepath.Base(cfgFile), "--quiescence=false", "--quiet", "--json", "--workers", strconv.Itoa(workers)}
	mode := "fingerprint"
	if exact {
		args = append(args, "--exact")
		mode = "exact"
	}
	out, secs, rss, err := timed(filepath.Dir(cfgFile), bin, args...)
	if err != nil {
		return runResult{}, fmt.Errorf("tcpcheck %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	var j struct {
		Result        string  `json:"result"`
		States        int64   `json:"states"`
		BytesPerState float64 `json:"bytes_per_state"`
	}
	if err := json.Unmarshal(out, &j); err != nil {
		return runResult{}, fmt.Errorf("tcpcheck output is not the JSON expected: %v\n%s", err, out)
	}
	if j.Result != "ok" {
		return runResult{}, fmt.Errorf("tcpcheck result %q, want ok: the comparison needs a complete search", j.Result)
	}
	return runResult{Checker: "tcpcheck", Mode: mode, Workers: workers, States: j.States, Seconds: secs,
		Own: j.BytesPerState, RSS: rss / float64(j.States),
		Command: "DIR/tcpcheck " + strings.Join(args, " ")}, nil
}

var (
	reStored = regexp.MustCompile(`(?m)^\s*(\d+) states, stored`)
	reVector = regexp.MustCompile(`State-vector (\d+) byte, depth reached (\d+), errors: (\d+)`)
	reTotal  = regexp.MustCompile(`(?m)^\s*([0-9.]+)\s+total actual memory usage`)
)

// panDepth is pan's DFS stack limit (-m); the models here are far shallower.
const panDepth = 100000

// panModes are the storage modes of SPIN the bench compares with:
// exact storage on one core, COLLAPSE, and exact storage on two cores
// (pan's multi-core mode, -DNCORE=2, on the model generated without
// hidden variables).
var panModes = []string{"exact", "collapse", "ncore2"}

// panCores is the number of cores of the multi-core verifier.
const panCores = 2

// ccArgs are gcc's arguments for the verifier of mode.
func ccArgs(mode string, memMB int) []string {
	cc := append([]string{}, panFlags...)
	src := "pan.c"
	switch mode {
	case "collapse":
		cc = append(cc, "-DCOLLAPSE")
	case "ncore2":
		cc = append(cc, fmt.Sprintf("-DNCORE=%d", panCores))
		src = "mc/pan.c"
	}
	return append(cc, fmt.Sprintf("-DMEMLIM=%d", memMB), "-w", "-o", "pan-"+mode, src)
}

// buildSpin generates the verifier's C source from dir/tcp.pml and
// compiles one verifier per mode, concurrently (before any measurement).
func buildSpin(dir string, memMB int) error {
	if out, _, _, err := timed(dir, "spin", "-a", "tcp.pml"); err != nil {
		return fmt.Errorf("spin -a: %v\n%s", err, out)
	}
	mc := filepath.Join(dir, "mc")
	if err := os.MkdirAll(mc, 0o755); err != nil {
		return err
	}
	if err := copyFile(filepath.Join(dir, "tcp.pml"), filepath.Join(mc, "tcp.pml")); err != nil {
		return err
	}
	if out, _, _, err := timed(mc, "spin", "-DMULTICORE", "-a", "tcp.pml"); err != nil {
		return fmt.Errorf("spin -DMULTICORE -a: %v\n%s", err, out)
	}
	errs := make(chan error, len(panModes))
	for _, mode := range panModes {
		go func() {
			out, _, _, err := timed(dir, "gcc", ccArgs(mode, memMB)...)
			if err != nil {
				err = fmt.Errorf("gcc: %v\n%s", err, out)
			}
			errs <- err
		}()
	}
	var first error
	for range panModes {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

func runSpin(dir, mode string, expect int64, memMB int) (runResult, error) {
	exe := "pan-" + mode
	cc := ccArgs(mode, memMB)
	// A hash table of about twice as many slots as states: SPIN's own
	// advice (-w), so that SPIN is not slowed by long hash chains.
	w := int(math.Ceil(math.Log2(float64(expect)))) + 1
	w = min(max(w, 18), 30)
	args := []string{fmt.Sprintf("-m%d", panDepth), fmt.Sprintf("-w%d", w)}
	workers := 1
	if mode == "ncore2" {
		workers = panCores
	}
	out, secs, rss, err := timed(dir, "./"+exe, args...)
	text := string(out)
	if err != nil {
		return runResult{}, fmt.Errorf("pan: %v\n%s", err, text)
	}
	if strings.Contains(text, "max search depth too small") {
		return runResult{}, fmt.Errorf("pan: depth limit %d reached", panDepth)
	}
	st := reStored.FindStringSubmatch(text)
	vec := reVector.FindStringSubmatch(text)
	tot := reTotal.FindStringSubmatch(text)
	if st == nil || vec == nil || tot == nil && workers == 1 {
		return runResult{}, fmt.Errorf("pan output not understood:\n%s", text)
	}
	if vec[3] != "0" {
		return runResult{}, fmt.Errorf("pan found %s error(s); the comparison needs a complete search:\n%s", vec[3], text)
	}
	sink := promela.SinkReached(text)
	states, _ := strconv.ParseInt(st[1], 10, 64)
	vector, _ := strconv.Atoi(vec[1])
	var mb float64
	if tot != nil {
		mb, _ = strconv.ParseFloat(tot[1], 64)
	}
	spinA := "spin -a tcp.pml"
	if mode == "ncore2" {
		mode = "exact" // exact storage, on panCores cores
		spinA = "spin -DMULTICORE -a tcp.pml (in mc/)"
	}
	return runResult{Checker: "SPIN", Mode: mode, Workers: workers, States: states, Seconds: secs,
		Own: mb * (1 << 20) / float64(states), RSS: rss / float64(states), Vector: vector, Sink: sink,
		Command: fmt.Sprintf("%s && gcc %s && ./%s %s", spinA, strings.Join(cc, " "), exe, strings.Join(args, " "))}, nil
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o644)
}

func machine() []string {
	var cpu string
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	return []string{
		"CPU: " + cpu,
		fmt.Sprintf("cores available: %d (runtime.NumCPU)", runtime.NumCPU()),
		fmt.Sprintf("memory: %.1f GiB", float64(memTotalMB())/1024),
		"OS: " + runtime.GOOS + "/" + runtime.GOARCH + ", " + firstLine("uname", "-r"),
	}
}

func tools() []string {
	return []string{
		"Go: " + runtime.Version(),
		"SPIN: " + firstLine("spin", "-V"),
		"gcc: " + firstLine("gcc", "--version"),
	}
}

func firstLine(name string, args ...string) string {
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return line
}

func memTotalMB() int {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 4096
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "MemTotal:" {
			kb, _ := strconv.Atoi(f[1])
			return kb / 1024
		}
	}
	return 4096
}
