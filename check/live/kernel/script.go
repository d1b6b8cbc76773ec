//go:build linux

package kernel

import (
	"crypto/sha256"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net"
	"os"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tcpcheck/tcpcheck/impl"
	"github.com/tcpcheck/tcpcheck/impl/wire"
	"github.com/tcpcheck/tcpcheck/spec"
)

// scenarioFiles holds the scenarios, one file each; testdata/scenarios/
// README.md describes the format and the commands.
//
//go:embed testdata/scenarios/*.txt
var scenarioFiles embed.FS

// ScenarioDir is the directory of the scenario files, relative to this
// package.
const ScenarioDir = "testdata/scenarios"

// shownScenarioDir is ScenarioDir from the repository's root, for errors.
const shownScenarioDir = "check/live/kernel/" + ScenarioDir

// LoadScenarios parses every *.txt file of dir in fsys as a scenario (see
// [ParseScenario]), in the order of their names.
func LoadScenarios(fsys fs.FS, dir string) ([]Scenario, error) {
	return loadScenarioFiles(fsys, dir, dir)
}

// loadScenarioFiles is LoadScenarios, naming the files under shown (the
// directory as a person finds it) in Scenario.File and in errors.
func loadScenarioFiles(fsys fs.FS, dir, shown string) ([]Scenario, error) {
	names, err := fs.Glob(fsys, path.Join(dir, "*.txt"))
	if err != nil {
		return nil, fmt.Errorf("kernel: %w", err)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("kernel: no scenario files in %s", dir)
	}
	slices.Sort(names)
	var out []Scenario
	for _, name := range names {
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("kernel: %w", err)
		}
		sc, err := ParseScenario(path.Join(shown, path.Base(name)), data)
		if err != nil {
			return nil, err
		}
		out = append(out, sc)
	}
	return out, nil
}

// line is one line of a scenario file, with its number.
type line struct {
	n    int
	text string
}

// ParseScenario reads one scenario file; name is the file's path, whose
// base name without ".txt" is the scenario's name. Errors name the file
// and the line. The format (testdata/scenarios/README.md) is paragraphs
// separated by blank lines, "#" starting a comment line:
//
//   - the header: "summary: TEXT", and optionally "retransmissions: kept"
//     and "rto-min: DURATION";
//   - one paragraph per deviation: "deviation: ID", "rfc: TEXT",
//     "table: TEXT", "linux: TEXT";
//   - script blocks, run in order: commands, one a line, then optionally a
//     line "----" and checkpoints, one a line, "LABEL: ours STATE, kernel
//     STATE" or, where Linux deviates, "LABEL: ours STATE, kernel STATE
//     where the table says STATE (deviation ID)";
//   - optionally "exchange", "----" and the expected segments (see
//     [Scenario.Exchange]).
//
// In the header and deviation paragraphs a line that starts with a space
// continues the value of the line before it.
func ParseScenario(name string, data []byte) (Scenario, error) {
	sc := Scenario{File: name, Name: strings.TrimSuffix(path.Base(name), ".txt")}
	errf := func(n int, format string, args ...any) error {
		return fmt.Errorf("kernel: %s:%d: %s", name, n, fmt.Sprintf(format, args...))
	}
	if !regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`).MatchString(sc.Name) {
		return Scenario{}, fmt.Errorf("kernel: %s: the file name must be NAME.txt with a name of lower-case letters, digits and dashes", name)
	}
	// Paragraphs, without comment lines.
	var paras [][]line
	var cur []line
	lines := strings.Split(strings.TrimSuffix(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n"), "\n")
	for i, raw := range lines {
		switch {
		case strings.HasPrefix(strings.TrimSpace(raw), "#"):
		case strings.TrimSpace(raw) == "":
			if len(cur) > 0 {
				paras = append(paras, cur)
				cur = nil
			}
		default:
			cur = append(cur, line{i + 1, strings.TrimRight(raw, " \t")})
		}
	}
	if len(cur) > 0 {
		paras = append(paras, cur)
	}
	hasSummary := false
	var checks []func() error // run once the whole file is read
	for _, p := range paras {
		first := p[0]
		key, _, _ := strings.Cut(first.text, ":")
		switch {
		case key == "summary" || key == "retransmissions" || key == "rto-min":
			kv, err := keyValues(p, errf)
			if err != nil {
				return Scenario{}, err
			}
			for _, f := range kv {
				switch f.key {
				case "summary":
					sc.Summary, hasSummary = f.value, true
				case "retransmissions":
					if f.value != "kept" {
						return Scenario{}, errf(f.n, "retransmissions: %q; the only value is \"kept\" (by default a segment identical to one delivered before is left out of the exchange)", f.value)
					}
					sc.retransmissions = true
				case "rto-min":
					d, err := time.ParseDuration(f.value)
					if err != nil || d <= 0 {
						return Scenario{}, errf(f.n, "rto-min: %q: want a duration such as 200ms", f.value)
					}
					sc.rtoMin = d
				default:
					return Scenario{}, errf(f.n, "unknown header key %q; want summary, retransmissions or rto-min", f.key)
				}
			}
		case key == "deviation":
			kv, err := keyValues(p, errf)
			if err != nil {
				return Scenario{}, err
			}
			var d Deviation
			for _, f := range kv {
				switch f.key {
				case "deviation":
					d.ID = f.value
				case "rfc":
					d.RFC = f.value
				case "table":
					d.Table = f.value
				case "linux":
					d.Linux = f.value
				default:
					return Scenario{}, errf(f.n, "unknown deviation key %q; want deviation, rfc, table and linux", f.key)
				}
			}
			if d.ID == "" || d.RFC == "" || d.Table == "" || d.Linux == "" {
				return Scenario{}, errf(first.n, "a deviation needs all of deviation: ID, rfc:, table: and linux:")
			}
			if slices.ContainsFunc(sc.Deviations, func(x Deviation) bool { return x.ID == d.ID }) {
				return Scenario{}, errf(first.n, "deviation %q is declared twice", d.ID)
			}
			sc.Deviations = append(sc.Deviations, d)
		case first.text == "exchange":
			if sc.Exchange != "" {
				return Scenario{}, errf(first.n, "a second exchange; a scenario has one")
			}
			if len(p) < 3 || p[1].text != "----" {
				return Scenario{}, errf(first.n, "exchange: want a line \"----\" and then the expected segments, one a line")
			}
			var segs []string
			for _, l := range p[2:] {
				if _, err := exchangeRegexp(l.text); err != nil {
					return Scenario{}, errf(l.n, "segment %q: want DIR FLAGS [text] [FATE] [QUANT], e.g. \"in SYN,ACK\" or \"out ACK dropped\"", l.text)
				}
				segs = append(segs, strings.TrimSpace(l.text))
			}
			sc.Exchange = strings.Join(segs, "\n")
		default:
			afterSep := false
			for _, l := range p {
				if l.text == "----" {
					if afterSep {
						return Scenario{}, errf(l.n, "a second \"----\" in one block; start a new block after a blank line")
					}
					afterSep = true
					continue
				}
				var st scriptStep
				var err error
				if afterSep {
					st, err = parseCheckpoint(l, &sc, &checks, errf)
				} else {
					st, err = parseCommand(l, &sc, &checks, errf)
				}
				if err != nil {
					return Scenario{}, err
				}
				sc.steps = append(sc.steps, st)
			}
		}
	}
	if !hasSummary {
		return Scenario{}, errf(1, "the scenario has no summary: line (a first paragraph \"summary: WHAT IT SHOWS\")")
	}
	if len(sc.steps) == 0 {
		return Scenario{}, errf(len(lines), "the scenario has no script (commands, and checkpoints after \"----\")")
	}
	for _, c := range checks {
		if err := c(); err != nil {
			return Scenario{}, err
		}
	}
	return sc, nil
}

type keyValue struct {
	n          int
	key, value string
}

// keyValues reads "key: value" lines; a line that starts with a space
// continues the one before.
func keyValues(p []line, errf func(int, string, ...any) error) ([]keyValue, error) {
	var out []keyValue
	for _, l := range p {
		if strings.HasPrefix(l.text, " ") || strings.HasPrefix(l.text, "\t") {
			if len(out) == 0 {
				return nil, errf(l.n, "an indented line continues a KEY: VALUE line, and there is none before it")
			}
			out[len(out)-1].value += " " + strings.TrimSpace(l.text)
			continue
		}
		k, v, ok := strings.Cut(l.text, ":")
		if !ok || strings.TrimSpace(v) == "" || strings.Contains(k, " ") {
			return nil, errf(l.n, "%q: want KEY: VALUE (a blank line ends the paragraph before a script block)", l.text)
		}
		for _, o := range out {
			if o.key == k {
				return nil, errf(l.n, "%s is given twice in one paragraph (first on line %d)", k, o.n)
			}
		}
		out = append(out, keyValue{l.n, k, strings.TrimSpace(v)})
	}
	return out, nil
}

// scriptStep is one command or checkpoint of a script.
type scriptStep struct {
	n    int    // line number in the file
	text string // as written
	do   func(e *env) error
}

// checkpointRE matches "LABEL: ours STATE, kernel STATE[ where the table
// says STATE (deviation ID)]".
var checkpointRE = regexp.MustCompile(`^(.+): ours ([A-Z0-9-]+), kernel ([A-Z0-9-]+)(?: where the table says ([A-Z0-9-]+) \(deviation ([a-z0-9-]+)\))?$`)

func parseCheckpoint(l line, sc *Scenario, checks *[]func() error, errf func(int, string, ...any) error) (scriptStep, error) {
	m := checkpointRE.FindStringSubmatch(l.text)
	if m == nil {
		return scriptStep{}, errf(l.n, "checkpoint %q: want \"LABEL: ours STATE, kernel STATE\", or \"LABEL: ours STATE, kernel STATE where the table says STATE (deviation ID)\"", l.text)
	}
	var st [3]spec.State
	for i, s := range []string{m[2], m[3], m[4]} {
		if s == "" {
			continue
		}
		var ok bool
		if st[i], ok = spec.ParseState(s); !ok {
			return scriptStep{}, errf(l.n, "checkpoint %q: %q is not a state; the states are %s", l.text, s, stateNames())
		}
	}
	label, id := m[1], m[5]
	if id == "" {
		return scriptStep{l.n, l.text, func(e *env) error { e.step(label, st[0], st[1]); return nil }}, nil
	}
	*checks = append(*checks, declared(sc, id, l.n, errf))
	return scriptStep{l.n, l.text, func(e *env) error { e.deviate(label, st[0], st[1], st[2], id); return nil }}, nil
}

// declared returns a check that the scenario declares deviation id.
func declared(sc *Scenario, id string, n int, errf func(int, string, ...any) error) func() error {
	return func() error {
		if !slices.ContainsFunc(sc.Deviations, func(d Deviation) bool { return d.ID == id }) {
			return errf(n, "deviation %q is not declared: add a paragraph \"deviation: %s\" with rfc:, table: and linux:", id, id)
		}
		return nil
	}
}

func stateNames() string {
	var out []string
	for _, s := range spec.States() {
		out = append(out, s.String())
	}
	return strings.Join(out, ", ")
}

// A command is one entry of the vocabulary: its syntax as the README shows
// it, a pattern, and what builds its action from the pattern's groups.
type command struct {
	syntax string
	re     *regexp.Regexp
	build  func(m []string, c *cmdContext) (func(e *env) error, error)
}

// cmdContext is what a command's build sees besides its own groups.
type cmdContext struct {
	remark     string // " REMARK" from "(REMARK)" at the end of a kernel call
	remarkUsed bool
	sc         *Scenario
	n          int
	checks     *[]func() error
	errf       func(int, string, ...any) error
}

// placeholders are the words of a command's syntax that stand for a
// value, and their patterns.
var placeholders = map[string]string{
	"TEXT":     `("(?:[^"\\]|\\.)*")`,
	"N":        `([0-9]+)`,
	"SEGMENTS": `(.+?)`,
	"SEGMENT":  `(.+?)`,
	"DURATION": `([0-9.]+[a-zµ]+)`,
	"ID":       `([a-z0-9-]+)`,
	"NAME":     `([a-z0-9_.]+)`,
	"SIDE":     `(our|the kernel's)`,
	"VALUE":    `(our SND\.NXT|the kernel's RCV\.NXT)(?:\+([0-9]+))?`,
}

var placeholderRE = regexp.MustCompile(`\b(TEXT|N|SEGMENTS|SEGMENT|DURATION|ID|NAME|SIDE|VALUE)\b`)

func cmd(syntax string, build func(m []string, c *cmdContext) (func(e *env) error, error)) command {
	re := regexp.MustCompile("^" + placeholderRE.ReplaceAllStringFunc(regexp.QuoteMeta(syntax), func(w string) string { return placeholders[w] }) + "$")
	return command{syntax, re, build}
}

// do wraps an action that needs no groups.
func do(f func(e *env) error) func([]string, *cmdContext) (func(e *env) error, error) {
	return func([]string, *cmdContext) (func(e *env) error, error) { return f, nil }
}

// Vocabulary returns the syntax of the script commands, in the order the
// README lists them.
func Vocabulary() []string {
	out := make([]string, len(vocabulary))
	for i, c := range vocabulary {
		out[i] = c.syntax
	}
	return out
}

var vocabulary []command

func init() {
	vocabulary = []command{
		// Opening.
		cmd("the kernel connects to us", do(func(e *env) error {
			return e.do("we listen", "the kernel connects", "we accept")
		})),
		cmd("we connect to the kernel", do(func(e *env) error {
			return e.do("the kernel listens", "we connect", "the kernel accepts")
		})),
		cmd("we listen", do(func(e *env) error {
			l, err := e.ourListen()
			e.sv.ourL = l
			return err
		})),
		cmd("we accept", do(func(e *env) error {
			if e.sv.ourL == nil {
				return errors.New("we accept: we do not listen (we listen)")
			}
			c, err := e.ourAccept(e.sv.ourL)
			if err != nil {
				return err
			}
			e.sv.ourL.Close()
			e.sv.our = c
			return nil
		})),
		cmd("we connect", do(func(e *env) error {
			c, err := e.ourDial()
			e.sv.our = c
			return err
		})),
		cmd("we connect: refused", do(func(e *env) error {
			if _, err := e.ourDial(); !errors.Is(err, impl.ErrConnRefused) {
				return fmt.Errorf("our dial: %v, want %v", err, impl.ErrConnRefused)
			}
			return nil
		})),
		cmd("we connect in the background", do(func(e *env) error {
			ch := make(chan dialResult, 1)
			go func() { c, err := e.ourDial(); ch <- dialResult{c, err} }()
			e.sv.ourDial = ch
			return nil
		})),
		cmd("our connect returns", do(func(e *env) error {
			if e.sv.ourDial == nil {
				return errors.New("no connect of ours in the background (we connect in the background)")
			}
			r := <-e.sv.ourDial
			if r.err != nil {
				return fmt.Errorf("our dial: %v", r.err)
			}
			e.sv.our = r.c
			return nil
		})),
		cmd("the kernel listens", do(func(e *env) error {
			l, err := e.kernelListen()
			e.sv.kernL = l
			return err
		})),
		cmd("the kernel accepts", do(func(e *env) error {
			if e.sv.kernL == nil {
				return errors.New("the kernel accepts: it does not listen (the kernel listens)")
			}
			k, err := e.kernelAccept(e.sv.kernL)
			e.sv.kern = k
			return err
		})),
		cmd("the kernel connects", do(func(e *env) error {
			k, err := e.kernelDial()
			e.sv.kern = k
			return err
		})),
		cmd("the kernel connects: refused", do(func(e *env) error {
			if _, err := e.kernelDial(); !errors.Is(err, syscall.ECONNREFUSED) {
				return fmt.Errorf("kernel connect: %v, want ECONNREFUSED", err)
			}
			return nil
		})),
		cmd("the kernel connects from its port to the first held segment's source, in the background", do(func(e *env) error {
			held := e.link.Held()
			if len(held) == 0 {
				return errors.New("no held segment to connect to")
			}
			to := held[0].Src
			e.kernelCall(spec.ActiveOpen, "connect() from a bound port")
			ch := make(chan error, 1)
			go func() {
				d := net.Dialer{LocalAddr: net.TCPAddrFromAddrPort(e.kernelAddr()), Timeout: ioWait()}
				k, err := d.Dial("tcp4", to.String())
				if err == nil {
					e.onClose(func() { k.Close() })
				}
				ch <- err
			}()
			e.sv.kernDial = ch
			return nil
		})),
		cmd("the kernel's connect returns", do(func(e *env) error {
			if e.sv.kernDial == nil {
				return errors.New("no kernel connect in the background")
			}
			if err := <-e.sv.kernDial; err != nil {
				return fmt.Errorf("kernel connect: %v", err)
			}
			return nil
		})),

		// Data.
		cmd("we write TEXT", func(m []string, c *cmdContext) (func(e *env) error, error) {
			p, err := text(m[1])
			return func(e *env) error {
				c, err := e.ourConn()
				if err != nil {
					return err
				}
				_, err = c.Write(p)
				return err
			}, err
		}),
		cmd("we read TEXT", func(m []string, c *cmdContext) (func(e *env) error, error) {
			p, err := text(m[1])
			return func(e *env) error {
				c, err := e.ourConn()
				if err != nil {
					return err
				}
				return ourRead(c, p)
			}, err
		}),
		cmd("we read end of stream", do(func(e *env) error {
			return readOne(e.ourConn, "our", io.EOF)
		})),
		cmd("we read: connection reset", do(func(e *env) error {
			return readOne(e.ourConn, "our", impl.ErrConnReset)
		})),
		cmd("the kernel writes TEXT", func(m []string, c *cmdContext) (func(e *env) error, error) {
			p, err := text(m[1])
			return func(e *env) error {
				k, err := e.kernelConn()
				if err != nil {
					return err
				}
				return e.kernelWrite(k, p)
			}, err
		}),
		cmd("the kernel reads TEXT", func(m []string, c *cmdContext) (func(e *env) error, error) {
			p, err := text(m[1])
			return func(e *env) error {
				k, err := e.kernelConn()
				if err != nil {
					return err
				}
				return kernelRead(k, p)
			}, err
		}),
		cmd("the kernel reads end of stream", do(func(e *env) error {
			return readOne(e.kernelConn, "kernel", io.EOF)
		})),
		cmd("the kernel reads: connection reset", do(func(e *env) error {
			return readOne(e.kernelConn, "kernel", syscall.ECONNRESET)
		})),
		cmd("the kernel reads: connection timed out", do(func(e *env) error {
			return readOne(e.kernelConn, "kernel", syscall.ETIMEDOUT)
		})),
		cmd("we and the kernel each send N KiB at once", func(m []string, _ *cmdContext) (func(e *env) error, error) {
			kib, err := strconv.Atoi(m[1])
			if err != nil || kib < 1 || kib > 1<<14 {
				return nil, fmt.Errorf("%s KiB: want 1 to 16384", m[1])
			}
			return func(e *env) error {
				c, err := e.ourConn()
				if err != nil {
					return err
				}
				k, err := e.kernelConn()
				if err != nil {
					return err
				}
				n := kib << 10
				up, down := pattern(1, n), pattern(2, n)
				errs := make(chan error, 4)
				go func() { _, err := c.Write(up); errs <- err }()
				go func() { errs <- e.kernelWrite(k, down) }()
				go func() { errs <- kernelRead(k, up) }()
				go func() { errs <- ourRead(c, down) }()
				for range 4 {
					if err := <-errs; err != nil {
						return err
					}
				}
				e.sv.sums = fmt.Sprintf("sha256 %x and %x", sha256.Sum256(up), sha256.Sum256(down))
				return nil
			}, nil
		}),

		// Closing.
		cmd("we close", do(func(e *env) error {
			c, err := e.ourConn()
			if err == nil {
				c.Close()
			}
			return err
		})),
		cmd("we shut down writing", do(func(e *env) error {
			c, err := e.ourConn()
			if err == nil {
				c.CloseWrite()
			}
			return err
		})),
		cmd("we abort", do(func(e *env) error {
			c, err := e.ourConn()
			if err == nil {
				c.Abort()
			}
			return err
		})),
		cmd("the kernel closes", func(_ []string, cx *cmdContext) (func(e *env) error, error) {
			call := "close()" + cx.remark
			cx.remarkUsed = true
			return func(e *env) error {
				k, err := e.kernelConn()
				if err != nil {
					return err
				}
				e.kernelCall(spec.Close, call)
				k.Close()
				return nil
			}, nil
		}),
		cmd("the kernel shuts down writing", func(_ []string, cx *cmdContext) (func(e *env) error, error) {
			call := "shutdown(SHUT_WR)" + cx.remark
			cx.remarkUsed = true
			return func(e *env) error {
				k, err := e.kernelConn()
				if err != nil {
					return err
				}
				e.kernelCall(spec.Close, call)
				k.CloseWrite()
				return nil
			}, nil
		}),
		cmd("the kernel aborts", func(_ []string, cx *cmdContext) (func(e *env) error, error) {
			call := "close() with SO_LINGER 0" + cx.remark
			cx.remarkUsed = true
			return func(e *env) error {
				k, err := e.kernelConn()
				if err != nil {
					return err
				}
				k.SetLinger(0)
				e.kernelCall(spec.Abort, call)
				k.Close()
				return nil
			}, nil
		}),

		cmd("the kernel turns on keepalive: idle N s, interval N s, N probes", func(m []string, _ *cmdContext) (func(e *env) error, error) {
			var v [3]int
			for i := range v {
				n, err := strconv.Atoi(m[i+1])
				if err != nil || n < 1 || n > 60 {
					return nil, fmt.Errorf("%s: want 1 to 60", m[i+1])
				}
				v[i] = n
			}
			return func(e *env) error {
				k, err := e.kernelConn()
				if err != nil {
					return err
				}
				// SO_KEEPALIVE with TCP_KEEPIDLE, TCP_KEEPINTVL and TCP_KEEPCNT.
				if err := k.SetKeepAliveConfig(net.KeepAliveConfig{Enable: true, Idle: time.Duration(v[0]) * time.Second,
					Interval: time.Duration(v[1]) * time.Second, Count: v[2]}); err != nil {
					return fmt.Errorf("setting the kernel socket's keepalive: %v", err)
				}
				e.mu.Lock()
				e.kaCount = v[2]
				e.log = append(e.log, entry{kind: eUser, side: Kernel,
					text:  fmt.Sprintf("setsockopt SO_KEEPALIVE, TCP_KEEPIDLE %d, TCP_KEEPINTVL %d, TCP_KEEPCNT %d", v[0], v[1], v[2]),
					mOurs: e.ours.state(), mKern: e.kern.state()})
				e.mu.Unlock()
				return nil
			}, nil
		}),

		// The link.
		cmd("hold SEGMENTS", func(m []string, _ *cmdContext) (func(e *env) error, error) {
			match, err := parseSegments(m[1])
			return func(e *env) error {
				e.link.SetFilter(func(p impl.TUNPacket) impl.Verdict { return impl.Verdict{Hold: match(p)} })
				return nil
			}, err
		}),
		cmd("drop the first SEGMENT", func(m []string, _ *cmdContext) (func(e *env) error, error) {
			match, err := parseSegments(m[1])
			return func(e *env) error { e.link.SetFilter(dropFirst(match)); return nil }, err
		}),
		cmd("drop all SEGMENTS", func(m []string, _ *cmdContext) (func(e *env) error, error) {
			match, err := parseSegments(m[1])
			return func(e *env) error {
				e.link.SetFilter(func(p impl.TUNPacket) impl.Verdict { return impl.Verdict{Drop: match(p)} })
				return nil
			}, err
		}),
		cmd("drop N% of the data and ACK segments at random, seed N N", func(m []string, _ *cmdContext) (func(e *env) error, error) {
			pct, err1 := strconv.Atoi(m[1])
			s1, err2 := strconv.ParseUint(m[2], 10, 64)
			s2, err3 := strconv.ParseUint(m[3], 10, 64)
			if err := errors.Join(err1, err2, err3); err != nil || pct < 1 || pct > 100 {
				return nil, fmt.Errorf("want a percentage from 1 to 100 and two seeds")
			}
			return func(e *env) error {
				rng := rand.New(rand.NewPCG(s1, s2))
				p := float64(pct) / 100
				e.link.SetFilter(func(pkt impl.TUNPacket) impl.Verdict {
					if pkt.Header.Flags&(spec.SYN|spec.FIN|spec.RST) == 0 && rng.Float64() < p {
						return impl.Verdict{Drop: true}
					}
					return impl.Pass
				})
				return nil
			}, nil
		}),
		cmd("drop SIDE first SEGMENT", func(m []string, _ *cmdContext) (func(e *env) error, error) {
			match, err := parseSegments(m[1] + " " + m[2])
			return func(e *env) error { e.link.SetFilter(dropFirst(match)); return nil }, err
		}),
		cmd("stop filtering", do(func(e *env) error { e.link.SetFilter(nil); return nil })),
		cmd("release the held SEGMENTS", func(m []string, _ *cmdContext) (func(e *env) error, error) {
			match, err := parseSegments(m[1])
			return func(e *env) error { e.link.Release(match); return nil }, err
		}),
		cmd("release every held segment", do(func(e *env) error { e.link.Release(nil); return nil })),
		cmd("wait until N segments are held", func(m []string, _ *cmdContext) (func(e *env) error, error) {
			n, err := strconv.Atoi(m[1])
			return func(e *env) error { return e.waitHeld(n) }, err
		}),
		cmd("wait until 1 segment is held", do(func(e *env) error { return e.waitHeld(1) })),
		cmd("wait for the kernel's ACK of our text", do(func(e *env) error { return e.waitKernelACK() })),
		cmd("wait for the kernel's ACK of our text, if it comes", do(func(e *env) error {
			if err := e.waitKernelACK(); err != nil {
				// A delayed ACK may be merged into a later segment: go on.
				e.note("no separate ACK of our text from the kernel")
			}
			return nil
		})),
		cmd("wait for SEGMENT after packet N", func(m []string, _ *cmdContext) (func(e *env) error, error) {
			match, err := parseSegments(m[1])
			if err != nil {
				return nil, err
			}
			after, err := strconv.ParseUint(m[2], 10, 64)
			what := m[1] + " after packet " + m[2]
			return func(e *env) error {
				return e.waitPacket(what, func(p impl.TUNPacket) bool { return p.ID > after && match(p) })
			}, err
		}),
		cmd("inject a RST to the kernel at VALUE", func(m []string, _ *cmdContext) (func(e *env) error, error) {
			var plus spec.Seq
			if m[2] != "" {
				n, err := strconv.ParseUint(m[2], 10, 32)
				if err != nil {
					return nil, err
				}
				plus = spec.Seq(n)
			}
			ours := m[1] == "our SND.NXT"
			return func(e *env) error {
				seq := e.kernelRcvNxt()
				if ours {
					seq = e.sndNxt()
				}
				h := wire.Header{SrcPort: e.ourAddr().Port(), DstPort: e.kernelEnd().Port(), Seq: seq + plus, Flags: spec.RST}
				return e.link.Inject(kernelIP, h, nil)
			}, nil
		}),

		// Notes and named checks.
		cmd("note the sysctl NAME", func(m []string, _ *cmdContext) (func(e *env) error, error) {
			name := m[1]
			return func(e *env) error {
				v, err := os.ReadFile("/proc/sys/" + strings.ReplaceAll(name, ".", "/"))
				if err != nil {
					return fmt.Errorf("reading the sysctl %s: %v", name, err)
				}
				e.note("%s = %s", name, strings.TrimSpace(string(v)))
				return nil
			}, nil
		}),
		cmd("expect the link to have dropped segments", do(func(e *env) error {
			st := e.link.Stats()
			if st.Dropped == 0 {
				return errors.New("the filter dropped nothing: the scenario tested no loss")
			}
			if e.sv.sums != "" {
				e.note("both ways intact: %s; the link dropped %d segments", e.sv.sums, st.Dropped)
			} else {
				e.note("the link dropped %d segments", st.Dropped)
			}
			return nil
		})),
		cmd("expect the kernel's TIME-WAIT timer to have more than DURATION and at most DURATION left, evidence of ID",
			func(m []string, cx *cmdContext) (func(e *env) error, error) {
				lo, err1 := time.ParseDuration(m[1])
				hi, err2 := time.ParseDuration(m[2])
				if err := errors.Join(err1, err2); err != nil || lo >= hi {
					return nil, fmt.Errorf("want two durations, the first shorter: %v", err)
				}
				id := m[3]
				*cx.checks = append(*cx.checks, declared(cx.sc, id, cx.n, cx.errf))
				return func(e *env) error {
					_, s := e.kernelState()
					if s == nil || s.Timer != 3 {
						return fmt.Errorf("the kernel's TIME-WAIT socket has no TIME-WAIT timer: %+v", s)
					}
					if s.When <= lo || s.When > hi {
						return fmt.Errorf("the kernel's TIME-WAIT timer has %v left, want more than %v and at most %v", s.When, lo, hi)
					}
					e.evidence(id, fmt.Sprintf("/proc/net/tcp shows the kernel's TIME-WAIT timer (tr=3) with %v left just after it began; 2MSL would be 4m0s", s.When))
					return nil
				}, nil
			}),
		cmd("if the kernel's RST carries an ACK, evidence of ID", func(m []string, cx *cmdContext) (func(e *env) error, error) {
			id := m[1]
			*cx.checks = append(*cx.checks, declared(cx.sc, id, cx.n, cx.errf))
			return func(e *env) error {
				if rst, ok := e.packet(func(p impl.TUNPacket) bool { return p.Dir == impl.Inbound && p.Header.Flags.Has(spec.RST) }); ok &&
					rst.Header.Flags.Has(spec.ACK) {
					e.evidence(id, fmt.Sprintf("the kernel's reset was %s seq=%d ack=%d", rst.Header.Flags,
						uint32(rst.Header.Seq), uint32(rst.Header.Ack)))
				}
				return nil
			}, nil
		}),
	}
}

// remarkRE matches a remark at the end of a kernel call: "(REMARK)".
var remarkRE = regexp.MustCompile(`^(the kernel [^"(]*?) \(([^()"]+)\)$`)

func parseCommand(l line, sc *Scenario, checks *[]func() error, errf func(int, string, ...any) error) (scriptStep, error) {
	text, remark := l.text, ""
	if m := remarkRE.FindStringSubmatch(text); m != nil {
		text, remark = m[1], " "+m[2]
	}
	cx := &cmdContext{remark: remark, sc: sc, n: l.n, checks: checks, errf: errf}
	for _, c := range vocabulary {
		m := c.re.FindStringSubmatch(text)
		if m == nil {
			continue
		}
		f, err := c.build(m, cx)
		if err != nil {
			return scriptStep{}, errf(l.n, "%q: %v", l.text, err)
		}
		if remark != "" && !cx.remarkUsed {
			return scriptStep{}, errf(l.n, "%q: a remark in parentheses is for the kernel's closing calls only (closes, shuts down writing, aborts)", l.text)
		}
		return scriptStep{l.n, l.text, f}, nil
	}
	if checkpointRE.MatchString(l.text) {
		return scriptStep{}, errf(l.n, "%q is a checkpoint: put it after a line \"----\"", l.text)
	}
	return scriptStep{}, errf(l.n, "unknown command %q; the commands are listed in %s/README.md", l.text, ScenarioDir)
}

// text reads a Go-quoted string: "hello\n".
func text(q string) ([]byte, error) {
	s, err := strconv.Unquote(q)
	if err != nil {
		return nil, fmt.Errorf("%s is not a quoted string such as \"hello\\n\"", q)
	}
	if s == "" {
		return nil, errors.New("empty text")
	}
	return []byte(s), nil
}

// parseSegments reads a class of segments: "[our |the kernel's ]KIND",
// KIND one of "pure ACK" (ACK alone, no text), "segment with FLAG" (FLAG
// among its flags) or FLAGS (exactly these flags, PSH aside), each
// possibly plural ("pure ACKs", "SYNs", "segments with FIN").
func parseSegments(s string) (func(impl.TUNPacket) bool, error) {
	dir, either := impl.Outbound, true
	kind := s
	switch {
	case strings.HasPrefix(s, "our "):
		dir, either, kind = impl.Outbound, false, strings.TrimPrefix(s, "our ")
	case strings.HasPrefix(s, "the kernel's "):
		dir, either, kind = impl.Inbound, false, strings.TrimPrefix(s, "the kernel's ")
	}
	var match func(impl.TUNPacket) bool
	switch k := strings.TrimSuffix(kind, "s"); {
	case k == "pure ACK":
		match = isPureACK
	case strings.HasPrefix(k, "segment with "), strings.HasPrefix(kind, "segments with "):
		name := strings.TrimPrefix(strings.TrimPrefix(kind, "segments with "), "segment with ")
		f, ok := flagNamed(name)
		if !ok {
			return nil, fmt.Errorf("%q: %q is not a flag (SYN, ACK, FIN, RST, PSH, URG)", s, name)
		}
		match = func(p impl.TUNPacket) bool { return p.Header.Flags.Has(f) }
	default:
		var fs spec.Flags
		for _, name := range strings.Split(k, ",") {
			f, ok := flagNamed(name)
			if !ok {
				return nil, fmt.Errorf("%q: want [our |the kernel's ](pure ACK|segment with FLAG|FLAGS), e.g. \"our pure ACKs\", \"segments with FIN\", \"SYN,ACKs\"", s)
			}
			fs |= f
		}
		match = func(p impl.TUNPacket) bool { return p.Header.Flags&^spec.PSH == fs }
	}
	if either {
		return match, nil
	}
	return func(p impl.TUNPacket) bool { return p.Dir == dir && match(p) }, nil
}

func flagNamed(name string) (spec.Flags, bool) {
	for _, f := range []spec.Flags{spec.SYN, spec.ACK, spec.FIN, spec.RST, spec.PSH, spec.URG} {
		if f.String() == name {
			return f, true
		}
	}
	return 0, false
}

// dialResult is what a connect in the background returns.
type dialResult struct {
	c   *impl.Conn
	err error
}

// scriptVars are the sockets and results a script's commands share.
type scriptVars struct {
	our      *impl.Conn
	kern     *net.TCPConn
	ourL     *impl.Listener
	kernL    *net.TCPListener
	ourDial  chan dialResult
	kernDial chan error
	sums     string // the transfer's digests, for the note
}

// ourConn returns our connection of the script.
// readOne reads one octet from the connection conn gives, within the
// scripts' I/O bound, and wants the read to end with want (io.EOF: end of
// stream and no text; else the error of a reset).
func readOne[C interface {
	SetReadDeadline(time.Time) error
	Read([]byte) (int, error)
}](conn func() (C, error), who string, want error) error {
	c, err := conn()
	if err != nil {
		return err
	}
	c.SetReadDeadline(time.Now().Add(ioWait()))
	n, err := c.Read(make([]byte, 1))
	if want == io.EOF && (n != 0 || err != io.EOF) {
		return fmt.Errorf("%s read: %d, %v; want end of stream (EOF)", who, n, err)
	}
	if want != io.EOF && !errors.Is(err, want) {
		return fmt.Errorf("%s read: %v, want %v", who, err, want)
	}
	return nil
}

func (e *env) ourConn() (*impl.Conn, error) {
	if e.sv.our == nil {
		return nil, errors.New("we have no connection yet (we connect to the kernel, the kernel connects to us, we accept, ...)")
	}
	return e.sv.our, nil
}

// kernelConn returns the kernel's socket of the script.
func (e *env) kernelConn() (*net.TCPConn, error) {
	if e.sv.kern == nil {
		return nil, errors.New("the kernel has no connection yet (the kernel connects to us, we connect to the kernel, the kernel accepts, ...)")
	}
	return e.sv.kern, nil
}

// do runs commands given by their text, for the commands made of others.
func (e *env) do(cmds ...string) error {
	for _, c := range cmds {
		st, err := parseCommand(line{0, c}, e.sc, new([]func() error), func(_ int, f string, a ...any) error { return fmt.Errorf(f, a...) })
		if err != nil {
			return err
		}
		if err := st.do(e); err != nil {
			return err
		}
	}
	return nil
}

// runScript runs the scenario's steps in order; the first command that
// fails ends the script, with its line.
func (e *env) runScript() error {
	for _, st := range e.sc.steps {
		if err := st.do(e); err != nil {
			return fmt.Errorf("%s:%d: %s: %v", e.sc.File, st.n, st.text, err)
		}
	}
	return nil
}
