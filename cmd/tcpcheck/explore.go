package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math/bits"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tcpcheck/tcpcheck/check"
	"github.com/tcpcheck/tcpcheck/model"
	"github.com/tcpcheck/tcpcheck/spec"
)

func init() {
	register(&command{
		name:    "explore",
		summary: "model-check TCP connection management: every interleaving of a configuration",
		usage: "[flags]\n\n" +
			"With no flags it checks the default configuration with every property,\n" +
			"Quiescence included. Configuration flags override --preset and --config.\n" +
			"Exit status: 0 every property holds (or a limit you set stopped the run,\n" +
			"which the output says), 1 a property is violated, 2 usage or environment error.",
		setup: setupExplore,
	})
}

// runFlags are the flags explore and why share.
type runFlags struct {
	workers    int
	exact      bool
	maxDepth   int
	maxStates  int64
	timeout    time.Duration
	quiescence bool
	json       bool
	pcap       string
	mermaid    bool
	quiet      bool
	rows       bool // list the rows never applied
	properties string
	stop       chan struct{} // closed on Ctrl-C
}

func (r *runFlags) register(fs *flag.FlagSet, limits bool) {
	fs.IntVar(&r.workers, "workers", 0, "worker goroutines (0 = one per CPU)")
	fs.BoolVar(&r.json, "json", false, "print the result as one JSON object")
	fs.StringVar(&r.pcap, "pcap", "", "write the counterexample to `FILE` as a pcap capture")
	fs.BoolVar(&r.mermaid, "mermaid", false, "print the counterexample as a Mermaid sequence diagram too")
	fs.BoolVar(&r.quiet, "quiet", false, "no progress lines on stderr")
	fs.BoolVar(&r.rows, "rows", false, "list the table rows the run never applied (by default a one-line count)")
	r.quiescence = true
	if !limits {
		return
	}
	fs.BoolVar(&r.exact, "exact", false, "store whole states instead of 64-bit fingerprints (slower, more memory, no hash collisions)")
	fs.IntVar(&r.maxDepth, "max-depth", 0, "explore at most `N` steps from the initial states (0 = no limit)")
	fs.Int64Var(&r.maxStates, "max-states", 0, "stop after `N` states (0 = no limit)")
	fs.DurationVar(&r.timeout, "timeout", 0, "stop after this long, e.g. 30s (0 = no limit)")
	fs.BoolVar(&r.quiescence, "quiescence", true, "check Quiescence (keeps the state graph: more memory)")
	fs.StringVar(&r.properties, "property", "", "check only these properties, comma-separated (Quiescence only if listed); default all")
}

func (r *runFlags) validate() error {
	return firstError(
		inRange("workers", r.workers, 0, 255, "0 is one per CPU"),
		atLeast("max-depth", r.maxDepth, 0, "0 is no limit"),
		atLeast("max-states", r.maxStates, 0, "0 is no limit"),
		atLeast("timeout", r.timeout, 0, "0 is no limit; e.g. 30s"),
		outputFile("pcap", r.pcap),
	)
}

func (r *runFlags) options(stderr io.Writer) check.Options {
	o := check.Options{Workers: r.workers, Exact: r.exact, MaxDepth: r.maxDepth, MaxStates: r.maxStates,
		Timeout: r.timeout, Quiescence: r.quiescence}
	if !r.quiet {
		o.Progress = newProgress(stderr, r.maxStates, r.timeout)
	}
	o.Properties = r.propertyList()
	return o
}

// propertyList is --property as a list (nil: every property).
func (r *runFlags) propertyList() []string {
	var list []string
	if r.properties != "" {
		for _, p := range strings.Split(r.properties, ",") {
			list = append(list, strings.TrimSpace(p))
		}
	}
	return list
}

// explore runs check.Explore until it ends or Ctrl-C stops it (then the
// result is Incomplete, Limit "interrupted", with the statistics so far).
func (r *runFlags) explore(sys *model.System, opt check.Options, run func(check.Options) (*check.Result, error)) (*check.Result, error) {
	stop := make(chan struct{})
	opt.Stop = stop
	release := onInterrupt(func() {
		if p, ok := opt.Progress.(*progress); ok {
			p.interrupt()
		}
		close(stop)
	})
	defer release()
	if run == nil {
		run = func(o check.Options) (*check.Result, error) { return check.Explore(sys, o) }
	}
	return run(opt)
}

// interrupted says whether Ctrl-C stopped the run.
func interrupted(res *check.Result) bool { return res.Limit == "interrupted" }

// exitInterrupted is the exit status after Ctrl-C, as a shell reports it.
const exitInterrupted = 130

// configFlag is one model.Config field set from the command line; the
// flag's name is the field's JSON name with dashes.
type configFlag struct {
	field int
	name  string
	json  string
	kind  reflect.Kind // reflect.Struct stands for model.Config.Also
	value string
	set   bool
}

func (c *configFlag) String() string   { return c.value }
func (c *configFlag) IsBoolFlag() bool { return c.kind == reflect.Bool }
func (c *configFlag) Set(s string) error {
	switch c.kind {
	case reflect.Int:
		if _, err := strconv.Atoi(s); err != nil {
			if r, ok := configRanges[c.json]; ok {
				return fmt.Errorf("want a whole number from %d to %d", r.lo, r.hi)
			}
			return errors.New("want a whole number")
		}
	case reflect.Bool:
		if _, err := strconv.ParseBool(s); err != nil {
			return errors.New("want true or false")
		}
	case reflect.Slice:
		if _, err := parseInts(s); err != nil {
			return err
		}
	case reflect.Struct:
		if _, err := model.ParseScenarios(s); err != nil {
			return err
		}
	}
	c.value, c.set = s, true
	return nil
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return nil, errors.New("want a comma-separated list of whole numbers such as 30,90")
		}
		out = append(out, n)
	}
	return out, nil
}

// configHelp describes the knobs (TestConfigFlagsHaveHelp: each one).
var configHelp = map[string]string{
	"open":         `"client-server" (A connects, B listens) or "simultaneous" (both connect)`,
	"closer":       `who calls CLOSE first: "a", "b" or "both"`,
	"write_a":      "octets A's user writes per incarnation (0..3)",
	"write_b":      "octets B's user writes per incarnation (0..3)",
	"send_size":    "octets per SEND call (1..3)",
	"abort":        `"none", "a" or "b": that user may ABORT at any point after opening`,
	"incarnations": "connections opened one after another on the same 4-tuple (1..3)",
	"msl":          "maximum segment lifetime in ticks (1..4)",
	"time_wait":    "TIME-WAIT length in ticks, 0..8; 0 means 2*MSL (the correct value)",
	"rto_max":      "ticks time may advance, once what the retransmission timer guards is lost, before it fires (0..1)",
	"spurious_rto": "the retransmission timer may fire while the acknowledgment is still in flight",
	"user_timeout": "a host left with a half-open connection and nothing in flight may time it out (RFC 9293 §3.8.4)",
	"max_retries":  "retransmissions without progress before R2 may fire (0..3)",
	"loss":         "segments the network may drop in a run (0..3)",
	"dup":          "segments the network may duplicate in a run (0..3)",
	"inject":       "RSTs the off-path attacker may inject in a run (0..3)",
	"reorder":      "any in-flight segment may be delivered next (otherwise FIFO per direction)",
	"iss_a":        "A's possible initial sequence numbers, comma-separated (1..3 values, 0..160)",
	"iss_b":        "B's possible initial sequence numbers, comma-separated (1..3 values, 0..160)",
	"iss_stride":   "ISN advance per incarnation (0..32)",
	"keepalive":    "keepalive probes (RFC 1122 §4.2.3.6) an idle connection sends before it gives the peer up (0..3; 0 is off)",
	"misuse": `"none", "a", "b" or "both": that user may make one call outside its program per incarnation ` +
		"(listen, connect, send 1 octet, close or abort), answered by the table",
	"zero_window": `"none", "a", "b" or "both": that user may stop reading, so its window drops to 0 ` +
		"and its peer sends zero-window probes (RFC 9293 §3.8.6.1), and read again later",
	"also": "further scenarios explored in the same run: none, or 'OPEN/CLOSER inc=N loss=N dup=N' " +
		"separated by ';' (each with its own incarnations and budgets; other knobs are shared)",
}

// configRanges are the values each integer knob takes, as model.Config's
// Validate checks them (a test keeps the two in step), with what a value
// means where that helps.
var configRanges = map[string]struct {
	lo, hi int
	note   string
}{
	"write_a":      {0, 3, "octets per incarnation"},
	"write_b":      {0, 3, "octets per incarnation"},
	"send_size":    {1, 3, "octets per SEND"},
	"incarnations": {1, 3, ""},
	"msl":          {1, 4, "ticks"},
	"time_wait":    {0, 8, "ticks; 0 is 2*MSL, the correct value"},
	"rto_max":      {0, 1, "ticks"},
	"max_retries":  {0, 3, ""},
	"loss":         {0, 3, "segments per run"},
	"dup":          {0, 3, "segments per run"},
	"inject":       {0, 3, "RSTs per run"},
	"iss_stride":   {0, 32, ""},
	"keepalive":    {0, 3, "probes; 0 is off"},
}

// configWords are the values each word knob takes, as model.Config's
// Validate checks them (a test keeps the two in step).
var configWords = map[string][]string{
	"open":        {"client-server", "simultaneous"},
	"closer":      {"a", "b", "both"},
	"abort":       {"none", "a", "b"},
	"misuse":      {"none", "a", "b", "both"},
	"zero_window": {"none", "a", "b", "both"},
}

// configFlags registers one flag per model.Config field, plus --config and
// --preset.
type configFlags struct {
	file   string
	preset string
	flags  []*configFlag
}

func (cf *configFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&cf.file, "config", "", "read the configuration from JSON `FILE` (fields as in the flags below, with underscores)")
	fs.StringVar(&cf.preset, "preset", "", "start from a named configuration: "+strings.Join(model.Presets(), ", "))
	def := reflect.ValueOf(model.DefaultConfig())
	t := def.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if tag == "" || tag == "-" || !f.IsExported() {
			continue
		}
		kind := f.Type.Kind()
		if f.Type == reflect.TypeOf([]model.Scenario(nil)) {
			kind = reflect.Struct
		} else if kind == reflect.Slice && f.Type.Elem().Kind() != reflect.Int {
			continue
		}
		if kind != reflect.Int && kind != reflect.String && kind != reflect.Bool && kind != reflect.Slice && kind != reflect.Struct {
			continue
		}
		c := &configFlag{field: i, name: strings.ReplaceAll(tag, "_", "-"), json: tag, kind: kind, value: formatValue(def.Field(i))}
		fs.Var(c, c.name, configHelp[tag])
		cf.flags = append(cf.flags, c)
	}
}

func formatValue(v reflect.Value) string {
	if v.Kind() == reflect.Slice {
		if list, ok := v.Interface().([]model.Scenario); ok {
			return model.FormatScenarios(list)
		}
		if v.Type().Elem().Kind() != reflect.Int {
			return fmt.Sprint(v.Interface())
		}
		var parts []string
		for i := 0; i < v.Len(); i++ {
			parts = append(parts, strconv.Itoa(int(v.Index(i).Int())))
		}
		return strings.Join(parts, ",")
	}
	return fmt.Sprint(v.Interface())
}

// config builds the configuration: the default or preset, then the file,
// then the flags that were given.
func (cf *configFlags) config() (model.Config, error) {
	cfg := model.DefaultConfig()
	if cf.preset != "" {
		if err := oneOf("preset", cf.preset, model.Presets()...); err != nil {
			return cfg, err
		}
		c, err := model.Preset(cf.preset)
		if err != nil {
			return cfg, usagef("--preset: %v", err)
		}
		cfg = c
	}
	if cf.file != "" {
		if cf.preset != "" {
			return cfg, usagef("--preset and --config both given; use one (a config file starts from the default configuration)")
		}
		if err := inputFile("config", cf.file); err != nil {
			return cfg, err
		}
		data, err := readFileLimited(cf.file, maxConfigFile)
		switch {
		case errors.Is(err, errTooLarge):
			return cfg, flagError("config", cf.file, fmt.Sprintf("is larger than %s, the most a configuration file may be", byteSize(maxConfigFile)),
				"a configuration is a few hundred octets of JSON; is it the right file?")
		case err != nil:
			return cfg, flagError("config", cf.file, "cannot be read: "+unwrapPath(err), "")
		}
		c, err := model.ParseConfig(data)
		if err != nil {
			return cfg, usagef("--config %s: %v", cf.file, err)
		}
		cfg = c
	}
	v := reflect.ValueOf(&cfg).Elem()
	for _, c := range cf.flags {
		if !c.set {
			continue
		}
		if r, ok := configRanges[c.json]; ok && c.kind == reflect.Int {
			n, _ := strconv.Atoi(c.value)
			if err := inRange(c.name, n, r.lo, r.hi, r.note); err != nil {
				return cfg, err
			}
		}
		if words, ok := configWords[c.json]; ok && c.kind == reflect.String {
			if err := oneOf(c.name, c.value, words...); err != nil {
				return cfg, err
			}
		}
		f := v.Field(c.field)
		switch c.kind {
		case reflect.Int:
			n, _ := strconv.Atoi(c.value)
			f.SetInt(int64(n))
		case reflect.String:
			f.SetString(c.value)
		case reflect.Bool:
			b, _ := strconv.ParseBool(c.value)
			f.SetBool(b)
		case reflect.Slice:
			ns, _ := parseInts(c.value)
			f.Set(reflect.ValueOf(ns))
		case reflect.Struct:
			list, _ := model.ParseScenarios(c.value)
			f.Set(reflect.ValueOf(list))
		}
	}
	if err := cfg.Validate(); err != nil {
		return cfg, usagef("%v\n(a JSON field such as write_a is set by the flag --write-a)", err)
	}
	return cfg, nil
}

// configLine renders a configuration as field=value pairs in two lines.
func configLine(cfg model.Config) string {
	v := reflect.ValueOf(cfg)
	t := v.Type()
	var parts []string
	for i := 0; i < t.NumField(); i++ {
		tag, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if tag == "" || tag == "-" {
			continue
		}
		val := formatValue(v.Field(i))
		switch {
		case tag == "attack":
			// Empty means "rst" (model.Config.Attack).
			val = strings.Join(cfg.Attack, ",")
			if val == "" {
				val = "rst"
			}
		case val == "" && v.Field(i).Kind() == reflect.String:
			val = "none" // misuse, zero_window: empty is none
		}
		parts = append(parts, tag+"="+val)
	}
	half := (len(parts) + 1) / 2
	return "config: " + strings.Join(parts[:half], " ") + "\n        " + strings.Join(parts[half:], " ")
}

func setupExplore(fs *flag.FlagSet) func(args []string, stdout, stderr io.Writer) error {
	var rf runFlags
	var cf configFlags
	var serve serveFlag
	var sf storageFlags
	rf.register(fs, true)
	sf.register(fs)
	cf.register(fs)
	fs.Var(&serve, "serve", "instead of checking, serve a web page to walk the state space by hand: "+
		"--serve (127.0.0.1, a free port) or --serve=ADDR")
	return func(args []string, stdout, stderr io.Writer) error {
		if len(args) > 0 {
			return usagef("unexpected argument %q; explore takes only flags", args[0])
		}
		if err := rf.validate(); err != nil {
			return err
		}
		if serve.set {
			// The explorer checks nothing: the flags of a run would be
			// ignored.
			var ignored []string
			fs.Visit(func(f *flag.Flag) {
				if f.Name != "serve" && f.Name != "config" && f.Name != "preset" && !slices.ContainsFunc(cf.flags, func(c *configFlag) bool { return c.name == f.Name }) {
					ignored = append(ignored, "--"+f.Name)
				}
			})
			if len(ignored) > 0 {
				return usagef("%s does not go with --serve, which serves the explorer instead of checking; give --serve with configuration flags only", orList(ignored))
			}
		}
		if err := sf.validate(fs, &rf, stderr); err != nil {
			return err
		}
		if err := distinctFiles(fileArg{flag: "config", path: cf.file}, fileArg{flag: "pcap", path: rf.pcap, output: true},
			fileArg{flag: "shard-out", path: sf.out, output: true}); err != nil {
			return err
		}
		cfg, err := cf.config()
		if err != nil {
			return err
		}
		sys, err := model.New(cfg)
		if err != nil {
			return err
		}
		if serve.set {
			return serveExplorer(sys, serve.addr, stdout)
		}
		if n := maxLoss(cfg); n > cfg.MaxRetries {
			fmt.Fprintf(stderr, "tcpcheck explore: note: a loss budget of %d exceeds max_retries %d, so a host can run out of "+
				"retransmissions (R2) and time out; GracefulCloseCompletes reports that (docs/findings.md, finding 6)\n", n, cfg.MaxRetries)
		}
		opt := rf.options(stderr)
		sf.apply(&opt)
		var shard func(check.Options) (*check.Result, error)
		if sf.out != "" {
			shard = func(o check.Options) (*check.Result, error) { return writeShardFile(sf.out, sys, o) }
		}
		res, err := rf.explore(sys, opt, shard)
		if err != nil {
			if strings.Contains(err.Error(), "unknown property") {
				return usagef("--property: %v", err)
			}
			return err
		}
		if err := report(stdout, stderr, sys, res, &rf, nil); err != nil {
			return err
		}
		return verdictExit(res)
	}
}

// verdictExit is the exit status of a result: 1 violated, 130 stopped by
// Ctrl-C, 0 otherwise.
func verdictExit(res *check.Result) error {
	switch {
	case res.Verdict == check.Violated:
		return &exitError{code: exitViolated}
	case interrupted(res):
		return &exitError{code: exitInterrupted}
	}
	return nil
}

// counterexampleMermaid draws the counterexample as Mermaid when asked for.
func counterexampleMermaid(sys *model.System, res *check.Result, rf *runFlags) (string, error) {
	var mermaid bytes.Buffer
	if rf.mermaid && res.Violation != nil {
		if err := check.WriteMermaid(&mermaid, sys, res.Violation); err != nil {
			return "", err
		}
	}
	return mermaid.String(), nil
}

// writeFiles writes the counterexample's pcap, after the report is out
// (its directory was checked before the run).
func writeFiles(res *check.Result, rf *runFlags, msl int, stderr io.Writer) error {
	if rf.pcap == "" {
		return nil
	}
	if res.Violation == nil {
		fmt.Fprintf(stderr, "tcpcheck: no counterexample, so %s was not written\n", rf.pcap)
		return nil
	}
	return writePcap(rf.pcap, res.Violation, msl)
}

// report prints a result (human or JSON), then writes the pcap. extra adds
// fields to the JSON object (why's mutant description).
func report(w, stderr io.Writer, sys *model.System, res *check.Result, rf *runFlags, extra map[string]any) error {
	mermaid, err := counterexampleMermaid(sys, res, rf)
	if err != nil {
		return err
	}
	if rf.json {
		data, err := res.JSON(sys)
		if err != nil {
			return err
		}
		extra = maps.Clone(extra)
		if extra == nil {
			extra = map[string]any{}
		}
		extra["storage"] = storageJSON(res.Storage)
		if res.Shard != nil {
			extra["shard"] = shardJSON(res.Shard)
		}
		if len(extra) > 0 || mermaid != "" {
			var obj map[string]json.RawMessage
			if err := json.Unmarshal(data, &obj); err != nil {
				return err
			}
			for k, v := range extra {
				b, err := json.Marshal(v)
				if err != nil {
					return err
				}
				obj[k] = b
			}
			if mermaid != "" {
				b, _ := json.Marshal(mermaid)
				obj["mermaid"] = b
			}
			if data, err = json.Marshal(obj); err != nil {
				return err
			}
		}
		if _, err = fmt.Fprintf(w, "%s\n", data); err != nil {
			return err
		}
		return writeFiles(res, rf, sys.Config().MSL, stderr)
	}
	why := ""
	if res.Limit != "" {
		why = "stopped by " + res.Limit + ": not every state was explored"
	}
	fmt.Fprintf(w, "result: %s\n", verdictLine(res, why))
	if err := reportCounterexample(w, sys, res, mermaid); err != nil {
		return err
	}
	fmt.Fprintln(w, configLine(sys.Config()))
	rate := 0.0
	if res.Seconds > 0 {
		rate = float64(res.States) / res.Seconds
	}
	fmt.Fprintf(w, "states %d, transitions %d, depth %d, %.2f s, %.0f states/s, %.1f bytes/state, %d workers\n",
		res.States, res.Transitions, res.Depth, res.Seconds, rate, res.BytesPerState, res.Workers)
	fmt.Fprintln(w, storageLine(res.Storage))
	if sh := res.Shard; sh != nil {
		fmt.Fprintln(w, shardLine(sh))
	}
	reportProperties(w, sys, res, rf)
	return writeFiles(res, rf, sys.Config().MSL, stderr)
}

// verdictLine is the result line's text: the verdict, what stopped a run
// early (a limit; for merge, why it is incomplete), and after Ctrl-C the
// partial verdict.
func verdictLine(res *check.Result, why string) string {
	v := res.Verdict.String()
	switch {
	case res.Violation != nil:
		v += ": " + res.Violation.Property
	case interrupted(res):
		v += fmt.Sprintf(" (interrupted: no violation in the %d states explored, to depth %d; not exhaustive)", res.States, res.Depth)
	case why != "":
		v += " (" + why + ")"
	}
	return v
}

// reportCounterexample prints the counterexample, if any, right after the
// verdict: it is what a failing run is read for.
func reportCounterexample(w io.Writer, sys *model.System, res *check.Result, mermaid string) error {
	if res.Violation == nil {
		return nil
	}
	fmt.Fprintf(w, "\ncounterexample (%d steps) to %s:\n", len(res.Violation.Trace), res.Violation.Property)
	if err := check.WriteTable(w, sys, res.Violation); err != nil {
		return err
	}
	if mermaid != "" {
		fmt.Fprintf(w, "\n```mermaid\n%s```\n", mermaid)
	}
	fmt.Fprintln(w)
	return nil
}

// reportProperties prints the deadlocks, the properties and the row
// coverage (one line; with --rows the rows never applied) of a result
// (explore, why and merge).
func reportProperties(w io.Writer, sys *model.System, res *check.Result, rf *runFlags) {
	if res.Deadlocks > 0 {
		if res.Deadlocks == 1 {
			fmt.Fprintln(w, "deadlocks: 1 state has no successor and is not quiescent")
		} else {
			fmt.Fprintf(w, "deadlocks: %d states have no successor and are not quiescent\n", res.Deadlocks)
		}
	}
	fmt.Fprintln(w, "properties:")
	// Two to a line, so that the answer stays in a screen; a property with
	// a note has a line of its own.
	cell := func(p check.PropertyResult) (string, bool) {
		if p.Name == model.QuiescenceName && p.Verdict == check.Incomplete && res.Storage.Mode == "bitstate" && res.Limit == "" {
			return fmt.Sprintf("%-31s %s (bitstate storage checks it for deadlocks only: none found)", p.Name, p.Verdict), true
		}
		return fmt.Sprintf("%-31s %s", p.Name, p.Verdict), false
	}
	ps := res.Properties
	for i := 0; i < len(ps); i++ {
		a, long := cell(ps[i])
		if i+1 < len(ps) && !long {
			if b, blong := cell(ps[i+1]); !blong {
				fmt.Fprintf(w, "  %-44s %s\n", a, b)
				i++
				continue
			}
		}
		fmt.Fprintf(w, "  %s\n", a)
	}
	cov := res.Coverage
	if !rf.rows || len(cov.Dead) == 0 {
		hint := ""
		if len(cov.Dead) > 0 {
			hint = "; --rows lists the other " + strconv.Itoa(len(cov.Dead))
		}
		fmt.Fprintf(w, "rows: %d of %d applied%s\n", len(cov.Covered), cov.Rows, hint)
		familyLine(w, sys, cov)
		return
	}
	rows := sys.Rows()
	fmt.Fprintf(w, "rows: %d of %d applied; %d never applied in this configuration:\n", len(cov.Covered), cov.Rows, len(cov.Dead))
	for _, d := range cov.Dead {
		fmt.Fprintf(w, "  %s\n", rows[d].Name())
	}
	familyLine(w, sys, cov)
}

// familyLine says how many of the rows this run did not apply the coverage
// family applies, and how many it proves unreachable (correct table only).
func familyLine(w io.Writer, sys *model.System, cov check.Coverage) {
	if sys.Mutant() != "" || len(cov.Dead) == 0 || len(sys.Rows()) != spec.NumRows() {
		return
	}
	fam, err := check.FamilyCoverage()
	if err != nil {
		return
	}
	more, excluded := 0, 0
	for _, d := range cov.Dead {
		switch r := fam.Rows[d]; {
		case r.Member != "":
			more++
		case r.Excluded != "":
			excluded++
		}
	}
	fmt.Fprintf(w, "      the coverage family applies %d more and proves %d unreachable ('tcpcheck coverage')\n", more, excluded)
}

func writePcap(path string, v *check.Violation, msl int) error {
	var buf bytes.Buffer
	if err := check.WritePcap(&buf, v, msl); err != nil {
		return err
	}
	return writeOutput("pcap", path, buf.Bytes())
}

// maxLoss is the largest loss budget of the configuration's scenarios.
func maxLoss(cfg model.Config) int {
	n := cfg.Loss
	for _, sc := range cfg.Also {
		n = max(n, sc.Loss)
	}
	return n
}

// storageFlags are explore's flags for bitstate storage and shards.
type storageFlags struct {
	bitstate   int
	hashes     int
	shard      string // "I/N"
	splitWidth int
	out        string
	i, n       int
}

func (sf *storageFlags) register(fs *flag.FlagSet) {
	fs.IntVar(&sf.bitstate, "bitstate", 0, "bitstate (supertrace) storage: a table of 2^`N` bits, as SPIN's -w (10..40; 30 is 128 MiB). "+
		"Far less memory; a few states may be missed (the storage line says how many to expect). Quiescence is not checked")
	fs.IntVar(&sf.hashes, "hashes", 0, "with --bitstate: bits set per state, `K` in 1..8 (default 3, as SPIN)")
	fs.StringVar(&sf.shard, "shard", "", "explore part `I/N` of the state space (0 <= I < N), for N machines; "+
		"write it with --shard-out and combine the parts with 'tcpcheck merge' (docs/sharding.md)")
	fs.IntVar(&sf.splitWidth, "split-width", 0, "with --shard: split the search at the first level of at least `W`*N states (default 256)")
	fs.StringVar(&sf.out, "shard-out", "", "write the shard file (the visited states' fingerprints and the result) to `FILE` for 'tcpcheck merge'")
}

// validate checks the storage flags against each other and the run flags;
// with --bitstate it turns the Quiescence check off unless it was asked
// for (--quiescence or by name), which then checks deadlocks only.
func (sf *storageFlags) validate(fs *flag.FlagSet, rf *runFlags, stderr io.Writer) error {
	set := flagsGiven(fs)
	if set["quiescence"] && rf.properties != "" {
		// --property decides: Quiescence is checked if and only if listed.
		listed := slices.Contains(rf.propertyList(), model.QuiescenceName)
		switch {
		case listed && !rf.quiescence:
			return usagef("--quiescence=false with --property %s: the list asks for Quiescence and the flag turns it off; give one of them", rf.properties)
		case !listed && rf.quiescence:
			return usagef("--quiescence with --property %s: --property names every property checked; add %s to it instead", rf.properties, model.QuiescenceName)
		}
	}
	if sf.bitstate != 0 {
		switch {
		case sf.bitstate < 10 || sf.bitstate > 40:
			return inRange("bitstate", sf.bitstate, 10, 40, "the log2 of the table's bits; 30 is 128 MiB")
		case rf.exact:
			return usagef("--bitstate and --exact both given; bitstate storage keeps no states, so choose one")
		case sf.out != "":
			return usagef("--shard-out lists the visited states' fingerprints, which --bitstate does not keep; use fingerprint storage for shards")
		}
		if err := bitstateTooLarge(sf.bitstate); err != nil {
			return err
		}
		// Under bitstate storage Quiescence can only be checked for
		// deadlocks (the rest needs the state graph), which leaves it
		// Incomplete unless one is found: only when asked for.
		if rf.quiescence && !set["quiescence"] && !strings.Contains(rf.properties, model.QuiescenceName) {
			rf.quiescence = false
			if !rf.quiet && !rf.json {
				fmt.Fprintln(stderr, "tcpcheck explore: note: with --bitstate, Quiescence is off; --quiescence checks it for deadlocks only (the rest needs the state graph); deadlocks are still counted")
			}
		}
	}
	if sf.hashes != 0 && (sf.bitstate == 0 || sf.hashes < 1 || sf.hashes > 8) {
		return flagError("hashes", strconv.Itoa(sf.hashes), "want 1 to 8", "bits set per state, with --bitstate")
	}
	sf.i, sf.n = 0, 0
	if sf.shard != "" {
		a, b, ok := strings.Cut(sf.shard, "/")
		i, err1 := strconv.Atoi(a)
		n, err2 := strconv.Atoi(b)
		if !ok || err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
			return flagError("shard", sf.shard, "want I/N with 0 <= I < N", "e.g. 0/4 for the first of four shards")
		}
		if n > check.MaxShards {
			return flagError("shard", sf.shard, fmt.Sprintf("want N from 1 to %d", check.MaxShards), "the shards of a run, one per machine or process; 'tcpcheck merge' reads them all")
		}
		sf.i, sf.n = i, n
		if n > 1 && sf.bitstate != 0 {
			return usagef("--shard with --bitstate: a shard's visited states are merged by fingerprint, which bitstate storage does not keep")
		}
		if n > 1 && sf.out == "" {
			return usagef("--shard %s needs --shard-out FILE: one shard alone decides nothing; 'tcpcheck merge' combines the files of all %d", sf.shard, n)
		}
	}
	if sf.splitWidth < 0 || (set["split-width"] && sf.n < 2) {
		return flagError("split-width", strconv.Itoa(sf.splitWidth), "want 1 or more states per shard", "with --shard I/N, N > 1")
	}
	if sf.out != "" && sf.shard == "" {
		return usagef("--shard-out %s without --shard I/N: a shard file is one part of a split run; add --shard 0/1 to write the whole run as one", sf.out)
	}
	return outputFile("shard-out", sf.out)
}

func (sf *storageFlags) apply(o *check.Options) {
	o.Bitstate, o.BitstateHashes = sf.bitstate, sf.hashes
	if sf.n > 1 {
		o.Shard = check.Shard{I: sf.i, N: sf.n, SplitWidth: sf.splitWidth}
	}
}

// writeShardFile runs the shard and writes its file, through a temporary
// file of a name of its own renamed at the end, so a run that fails
// leaves no half a shard and whatever the path held.
func writeShardFile(path string, sys *model.System, opt check.Options) (*check.Result, error) {
	f, err := createOutput("shard-out", path)
	if err != nil {
		return nil, err
	}
	res, err := check.WriteShard(f, sys, opt)
	if err != nil {
		f.discard()
		return nil, err
	}
	if err := f.commit(); err != nil {
		return nil, err
	}
	return res, nil
}

// memAvailable returns the memory available for a new table, in octets,
// and whether it is known (Linux: MemAvailable in /proc/meminfo); tests
// replace it.
var memAvailable = func() (int64, bool) {
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, false
	}
	return parseMemAvailable(string(data))
}

// parseMemAvailable reads the MemAvailable line of /proc/meminfo.
func parseMemAvailable(meminfo string) (int64, bool) {
	for _, l := range strings.Split(meminfo, "\n") {
		if rest, ok := strings.CutPrefix(l, "MemAvailable:"); ok {
			f := strings.Fields(rest)
			if len(f) != 2 || f[1] != "kB" {
				return 0, false
			}
			kb, err := strconv.ParseInt(f[0], 10, 64)
			return kb << 10, err == nil && kb >= 0
		}
	}
	return 0, false
}

// bitstateTooLarge refuses a --bitstate table larger than the memory
// available, before the run allocates it (and the runtime dies of it),
// naming the largest that fits.
func bitstateTooLarge(n int) error {
	avail, ok := memAvailable()
	if !ok || int64(1)<<n/8 <= avail {
		return nil
	}
	fits := "no table fits"
	for m := n - 1; m >= 10; m-- {
		if int64(1)<<m/8 <= avail {
			fits = fmt.Sprintf("the largest that fits is --bitstate %d, %s", m, byteSize(float64(int64(1)<<m/8)))
			break
		}
	}
	return flagError("bitstate", strconv.Itoa(n), fmt.Sprintf("a table of 2^%d bits takes %s, more than the memory available, %s",
		n, byteSize(float64(int64(1)<<n/8)), byteSize(float64(avail))), fits)
}

// byteSize renders a size in bytes as KiB, MiB or GiB.
func byteSize(b float64) string {
	switch {
	case b >= 1<<30:
		return fmt.Sprintf("%.4g GiB", b/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%.4g MiB", b/(1<<20))
	}
	return fmt.Sprintf("%.4g KiB", b/(1<<10))
}

// storageLine says how the visited states were stored and what that
// risks, the way SPIN does.
func storageLine(st check.Storage) string {
	switch st.Mode {
	case "bitstate":
		return fmt.Sprintf("storage: bitstate, 2^%d bits (%s), %d hashes, hash factor %.1f (best if > 100), expected states missed %.2g",
			bits.TrailingZeros64(uint64(st.Bits)), byteSize(float64(st.Bits)/8), st.Hashes, st.HashFactor, st.ExpectedMissed)
	case "fingerprint":
		return fmt.Sprintf("storage: %d-bit fingerprints, expected states missed %.2g", st.Bits, st.ExpectedMissed)
	case "exact":
		return "storage: exact (whole states), no states missed"
	}
	return "storage: " + st.Mode
}

// shardLine says where a sharded run split.
func shardLine(sh *check.ShardInfo) string {
	if sh.SplitDepth < 0 {
		return fmt.Sprintf("shard %d/%d: no level was wide enough to split, so this shard explored everything (as every shard does; lower --split-width)", sh.I, sh.N)
	}
	return fmt.Sprintf("shard %d/%d: split at depth %d (%d states), %d of them this shard's, explored further", sh.I, sh.N, sh.SplitDepth, sh.Frontier, sh.Owned)
}

type storageJSONValue struct {
	Mode           string  `json:"mode"`
	Bits           int64   `json:"bits,omitempty"`
	Hashes         int     `json:"hashes,omitempty"`
	HashFactor     float64 `json:"hash_factor,omitempty"`
	ExpectedMissed float64 `json:"expected_missed"`
}

func storageJSON(st check.Storage) storageJSONValue {
	return storageJSONValue{st.Mode, st.Bits, st.Hashes, st.HashFactor, st.ExpectedMissed}
}

type shardJSONValue struct {
	I          int   `json:"i"`
	N          int   `json:"n"`
	SplitDepth int   `json:"split_depth"`
	Frontier   int64 `json:"frontier"`
	Owned      int64 `json:"owned"`
}

func shardJSON(sh *check.ShardInfo) shardJSONValue {
	return shardJSONValue{sh.I, sh.N, sh.SplitDepth, sh.Frontier, sh.Owned}
}
