package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/tcpcheck/tcpcheck/check/explain"
)

// The files a command reads and writes: an output is written to a
// temporary file beside it and renamed onto its path only when the command
// has something to put there, so that a run that fails (a bad address, an
// error halfway) leaves whatever the path held before; an output may not
// be the same file as an input or as another output; and an input is read
// with a limit, so that a device or a wrong file that never ends is
// refused instead of filling the memory.

// pendingFile is an output being written: a temporary file in the
// directory of path (so that the rename is atomic), made with the mode
// os.Create would give, named path.tmp-RANDOM so that it never overwrites
// another file. commit renames it onto path; discard removes it. A path
// that is a device or a pipe (/dev/stdout, /dev/null) is written in place.
type pendingFile struct {
	*os.File
	flag   string // the flag that names it, for messages ("pcap", "o")
	path   string // where it goes (a symbolic link's target)
	direct bool   // written in place: path is not a regular file
	done   bool
}

// createOutput starts the file --name names ("" for none: nil, nil),
// after the checks of outputFile.
func createOutput(name, path string) (*pendingFile, error) {
	if path == "" {
		return nil, nil
	}
	if err := outputFile(name, path); err != nil {
		return nil, err
	}
	p := &pendingFile{flag: name, path: path}
	if target, err := filepath.EvalSymlinks(path); err == nil {
		p.path = target
	}
	if st, err := os.Stat(p.path); err == nil && !st.Mode().IsRegular() {
		f, err := os.OpenFile(p.path, os.O_WRONLY, 0)
		if err != nil {
			return nil, flagError(name, path, "cannot be written: "+unwrapPath(err), "give a writable path")
		}
		p.File, p.direct = f, true
		return p, nil
	}
	dir, base := filepath.Split(p.path)
	for try := 0; ; try++ {
		tmp := filepath.Join(dir, base+".tmp-"+strconv.FormatUint(uint64(rand.Uint32()), 36))
		f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		if err == nil {
			p.File = f
			return p, nil
		}
		if !errors.Is(err, os.ErrExist) || try == 100 {
			return nil, flagError(name, path, "cannot be written: "+unwrapPath(err), "give a writable path")
		}
	}
}

// commit closes the file and puts it in place of path, with the mode of
// the file it replaces. A nil file commits nothing.
func (p *pendingFile) commit() error {
	if p == nil || p.done {
		return nil
	}
	p.done = true
	err := p.File.Close()
	if p.direct {
		return p.fail(err)
	}
	if err == nil {
		if st, serr := os.Stat(p.path); serr == nil {
			err = os.Chmod(p.File.Name(), st.Mode().Perm())
		}
	}
	if err == nil {
		err = os.Rename(p.File.Name(), p.path)
	}
	if err != nil {
		os.Remove(p.File.Name())
	}
	return p.fail(err)
}

// finish ends the file written through w (nil: unbuffered): with keep,
// it flushes w and commits the file, or discards it if the flush fails,
// so that path never holds a file cut short; without keep it discards it.
// A nil file, or one already finished, finishes nothing.
func (p *pendingFile) finish(w *bufio.Writer, keep bool) error {
	if p == nil || p.done {
		return nil
	}
	if !keep {
		p.discard()
		return nil
	}
	if w != nil {
		if err := w.Flush(); err != nil {
			p.discard()
			return p.fail(err)
		}
	}
	return p.commit()
}

// discard closes and removes the file: path keeps what it held.
func (p *pendingFile) discard() {
	if p == nil || p.done {
		return
	}
	p.done = true
	p.File.Close()
	if !p.direct {
		os.Remove(p.File.Name())
	}
}

func (p *pendingFile) fail(err error) error {
	if err == nil {
		return nil
	}
	dash := "--"
	if len(p.flag) == 1 {
		dash = "-"
	}
	return fmt.Errorf("%s%s %s: %s", dash, p.flag, p.path, unwrapPath(err))
}

// writeOutput writes data to the file --name names, through a pendingFile.
func writeOutput(name, path string, data []byte) error {
	p, err := createOutput(name, path)
	if err != nil {
		return err
	}
	if _, err := p.Write(data); err != nil {
		p.discard()
		return p.fail(err)
	}
	return p.commit()
}

// fileArg is a file the command line names: by a flag, or as an
// argument (flag "", what says what it is: "the trace FILE").
type fileArg struct {
	flag, path string
	output     bool
	what       string
}

func (a fileArg) String() string {
	if a.flag == "" {
		return a.what + " " + a.path
	}
	if len(a.flag) == 1 {
		return "-" + a.flag + " " + a.path
	}
	return "--" + a.flag + " " + a.path
}

// distinctFiles refuses an output that is the same file as an input or
// as another output (os.SameFile when both exist, else the same absolute
// path): writing it would destroy what is read, or one output the other.
// Two inputs may be one file; "" and "-" (standard input) are skipped, and
// so are devices and pipes (--pcap /dev/null twice is fine).
func distinctFiles(files ...fileArg) error {
	for i, a := range files {
		for _, b := range files[:i] {
			if !a.output && !b.output || !sameFile(a.path, b.path) {
				continue
			}
			out, other := a, b
			if !a.output {
				out, other = b, a
			}
			why := "writing it would destroy the input"
			if other.output {
				why = "one output would overwrite the other"
			}
			if out.flag == "" {
				return usagef("%s is the same file as %s: %s; give another path", out, other, why)
			}
			return flagError(out.flag, out.path, "is the same file as "+other.String(), why+"; give another path")
		}
	}
	return nil
}

// sameFile reports whether two paths name one regular file (or one path
// that does not exist yet).
func sameFile(a, b string) bool {
	if a == "" || b == "" || a == "-" || b == "-" {
		return false
	}
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	if errA == nil && errB == nil {
		return sa.Mode().IsRegular() && os.SameFile(sa, sb)
	}
	if errA == nil && !sa.Mode().IsRegular() || errB == nil && !sb.Mode().IsRegular() {
		return false
	}
	absA, err1 := filepath.Abs(a)
	absB, err2 := filepath.Abs(b)
	return err1 == nil && err2 == nil && absA == absB
}

// Limits of the files read whole.
const (
	maxConfigFile = 4 << 20   // a configuration is a few hundred octets
	maxTraceFile  = 256 << 20 // a saved trace is kilobytes; explore --json of a long counterexample megabytes
)

// errTooLarge is readLimited's error for a file longer than its limit.
var errTooLarge = errors.New("too large")

// readLimited reads at most limit octets of r; more is errTooLarge.
func readLimited(r io.Reader, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, errTooLarge
	}
	return data, nil
}

// readFileLimited is readLimited for a file.
func readFileLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readLimited(f, limit)
}

// jsonKind says which of tcpcheck's JSON files the first JSON value of
// the file at path is: "model" for a saved model trace (one object,
// "format": "tcpcheck-trace") or the output of explore or why --json,
// which 'tcpcheck trace' reads; "endpoint" for the transition trace of
// listen/dial --trace (JSON lines with From, Event and To), which
// 'conform --trace' reads; "" for anything else, and for a file that is
// not regular (a pipe would lose what is read here).
func jsonKind(path string) string {
	f, err := openRegular(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	return jsonKindOf(io.LimitReader(f, maxTraceFile))
}

func jsonKindOf(r io.Reader) string {
	var obj map[string]json.RawMessage
	if err := json.NewDecoder(r).Decode(&obj); err != nil {
		return ""
	}
	var format string
	_ = json.Unmarshal(obj["format"], &format)
	switch {
	case format == explain.TraceFormat, obj["result"] != nil && obj["violation"] != nil:
		return "model"
	case obj["From"] != nil && obj["Event"] != nil && obj["To"] != nil:
		return "endpoint"
	}
	return ""
}

// openRegular opens path for a look at its start, if it is a regular
// file: reading a pipe or a device would take what the command reads next.
func openRegular(path string) (*os.File, error) {
	if st, err := os.Stat(path); err != nil || !st.Mode().IsRegular() {
		return nil, errors.New("not a regular file")
	}
	return os.Open(path)
}

// errWriter remembers the first write error. run wraps standard output in
// one, so that a failed write (a full disk, a closed pipe) is reported in
// one place whatever the command, instead of the output being lost
// without a word.
type errWriter struct {
	mu  sync.Mutex
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	e.err = err
	return n, err
}

// failed returns the first write error.
func (e *errWriter) failed() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.err
}

// fileOf returns the file under w (through errWriters), if there is one.
func fileOf(w io.Writer) (*os.File, bool) {
	for {
		switch x := w.(type) {
		case *os.File:
			return x, true
		case *errWriter:
			w = x.w
		default:
			return nil, false
		}
	}
}

// flagsGiven returns the names of the flags given on the command line.
func flagsGiven(fs *flag.FlagSet) map[string]bool {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return set
}
