package check

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"maps"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/tcpcheck/tcpcheck/check/engine"
	"github.com/tcpcheck/tcpcheck/model"
)

// The shard file format, version 1. A shard file is what one shard of a
// sharded run leaves for [Merge]; [WriteShard] writes it. In order:
//
//  1. The magic line "tcpcheck-shard 1\n" (format name and version).
//  2. The header: one line of JSON (see shardHeader) with what must be the
//     same in every shard of a run, known before the run: the model
//     configuration, the mutant (if any), a checksum of the table's row
//     names, the properties checked, the storage ("fingerprint" or
//     "exact"), the depth limit, the split width, and the shard's part
//     "shard" of "shards".
//  3. The visited states' 64-bit fingerprints in strictly increasing
//     order, in blocks: a block is a uvarint count n (1..65536) followed by
//     n uvarint deltas, each fingerprint minus the one before it (the first
//     of the file minus 0); deltas are never 0. A uvarint 0 ends the list.
//  4. The shard's result: one line of JSON (see shardResult): verdict,
//     limit, states, transitions, depth, seconds, bytes per state, workers,
//     deadlocks, properties, covered rows, storage, the split (depth,
//     frontier, owned) and the counterexample as a path (the initial state's
//     number and the successor number of each step, which the merge replays
//     through the model).
//  5. The end line "end COUNT CRC\n": the number of fingerprints and the
//     CRC-32C (Castagnoli), in 8 hex digits, of every byte before this line.
//
// A file without its end line was cut short; one whose checksum or count
// does not match was damaged. Merge reads every file once, front to back,
// holding one buffer per file, so shards larger than memory merge.
const (
	shardMagic   = "tcpcheck-shard 1\n"
	shardVersion = 1
	shardBlock   = 1 << 16 // fingerprints per block, at most
	maxLine      = 64 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// shardHeader is the header line of a shard file.
type shardHeader struct {
	Format     string          `json:"format"` // "tcpcheck-shard"
	Version    int             `json:"version"`
	Config     json.RawMessage `json:"config"`
	Mutant     string          `json:"mutant,omitempty"`
	Table      string          `json:"table"` // CRC-32C of the rows' names, one a line, in hex
	Rows       int             `json:"rows"`
	Properties []string        `json:"properties"`
	Storage    string          `json:"storage"`
	MaxDepth   int             `json:"max_depth"`
	SplitWidth int             `json:"split_width"`
	Shard      int             `json:"shard"`
	Shards     int             `json:"shards"`
}

// shardResult is the result line of a shard file.
type shardResult struct {
	Result        Verdict         `json:"result"`
	Limit         string          `json:"limit,omitempty"`
	States        int64           `json:"states"`
	Transitions   int64           `json:"transitions"`
	Depth         int             `json:"depth"`
	Seconds       float64         `json:"seconds"`
	BytesPerState float64         `json:"bytes_per_state"`
	Workers       int             `json:"workers"`
	Deadlocks     int64           `json:"deadlocks"`
	Properties    []propertyJSON  `json:"properties"`
	Covered       []int           `json:"covered"`
	Storage       Storage         `json:"storage"`
	SplitDepth    int             `json:"split_depth"`
	Frontier      int64           `json:"frontier"`
	Owned         int64           `json:"owned"`
	Violation     *shardViolation `json:"violation"`
}

// shardViolation is a counterexample as a path through the model.
type shardViolation struct {
	Property string `json:"property"`
	Note     string `json:"note,omitempty"`
	Path     []int  `json:"path"` // initial state number, then successor numbers
	Next     int    `json:"next"` // successors of the last state shown (Quiescence)
}

// UnmarshalText parses "ok", "violated" or "incomplete".
func (v *Verdict) UnmarshalText(b []byte) error {
	for i, n := range verdictNames {
		if string(b) == n {
			*v = Verdict(i)
			return nil
		}
	}
	return fmt.Errorf("check: unknown verdict %q", b)
}

// tableSum is the checksum of the rows' names that shard files carry, so
// that shards of different tables (versions of tcpcheck) are not merged.
func tableSum(sys *model.System) string {
	var b strings.Builder
	for _, r := range sys.Rows() {
		b.WriteString(r.Name())
		b.WriteByte('\n')
	}
	return fmt.Sprintf("%08x", crc32.Checksum([]byte(b.String()), castagnoli))
}

// checkedProperties lists the properties a run with opt checks, in the
// order Result.Properties has them.
func checkedProperties(sys *model.System, opt Options) []string {
	var names []string
	quiesce := opt.Quiescence
	if len(opt.Properties) > 0 {
		quiesce = slices.Contains(opt.Properties, model.QuiescenceName)
	}
	for _, p := range sys.Invariants() {
		if len(opt.Properties) == 0 || slices.Contains(opt.Properties, p.Name) {
			names = append(names, p.Name)
		}
	}
	if quiesce {
		names = append(names, model.QuiescenceName)
	}
	return names
}

// crcWriter counts what passes through it into a CRC.
type crcWriter struct {
	w   io.Writer
	crc hash.Hash32
}

func (c *crcWriter) Write(p []byte) (int, error) {
	c.crc.Write(p)
	return c.w.Write(p)
}

// WriteShard runs [Explore] on sys with opt and writes the shard file
// (format above) to w: opt.Shard says which part (N of 0 or 1 writes the
// whole run as shard 0 of 1). It uses opt.Visited itself, so that must be
// nil, and refuses Bitstate, which keeps no fingerprints. When it returns an
// error, what was written to w is not a valid shard file.
func WriteShard(w io.Writer, sys *model.System, opt Options) (*Result, error) {
	if sys == nil {
		return nil, errors.New("check: nil system")
	}
	if opt.Bitstate != 0 {
		return nil, errors.New("check: a shard file lists the fingerprints of the visited states, which bitstate storage does not keep; use fingerprint or exact storage")
	}
	if opt.Visited != nil {
		return nil, errors.New("check: WriteShard lists the visited states itself; leave Options.Visited nil")
	}
	cfg, err := json.Marshal(sys.Config())
	if err != nil {
		return nil, err
	}
	h := shardHeader{Format: "tcpcheck-shard", Version: shardVersion, Config: cfg, Mutant: sys.Mutant(),
		Table: tableSum(sys), Rows: len(sys.Rows()), Properties: checkedProperties(sys, opt),
		Storage: "fingerprint", MaxDepth: opt.MaxDepth, Shard: opt.Shard.I, Shards: max(opt.Shard.N, 1)}
	if opt.Exact {
		h.Storage = "exact"
	}
	if opt.Shard.N > 1 {
		h.SplitWidth = opt.Shard.SplitWidth
		if h.SplitWidth == 0 {
			h.SplitWidth = 256
		}
	}
	hdr, err := json.Marshal(h)
	if err != nil {
		return nil, err
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	cw := &crcWriter{w: bw, crc: crc32.New(castagnoli)}
	if _, err := io.WriteString(cw, shardMagic); err != nil {
		return nil, fmt.Errorf("check: writing the shard file: %w", err)
	}
	if _, err := fmt.Fprintf(cw, "%s\n", hdr); err != nil {
		return nil, fmt.Errorf("check: writing the shard file: %w", err)
	}
	var (
		prev  uint64
		count int64
		buf   []byte
	)
	opt.Visited = func(fps []uint64) error {
		for len(fps) > 0 {
			n := min(len(fps), shardBlock)
			buf = binary.AppendUvarint(buf[:0], uint64(n))
			for _, fp := range fps[:n] {
				if fp <= prev && (count > 0 || fp == 0) {
					return fmt.Errorf("check: internal error: visited fingerprints not in increasing order (%#x after %#x)", fp, prev)
				}
				buf = binary.AppendUvarint(buf, fp-prev)
				prev = fp
				count++
			}
			if _, err := cw.Write(buf); err != nil {
				return fmt.Errorf("check: writing the shard file: %w", err)
			}
			fps = fps[n:]
		}
		return nil
	}
	res, err := Explore(sys, opt)
	if err != nil {
		return nil, err
	}
	sr := shardResult{Result: res.Verdict, Limit: res.Limit, States: res.States, Transitions: res.Transitions,
		Depth: res.Depth, Seconds: res.Seconds, BytesPerState: res.BytesPerState, Workers: res.Workers,
		Deadlocks: res.Deadlocks, Properties: []propertyJSON{}, Covered: res.Coverage.Covered, Storage: res.Storage,
		SplitDepth: -1}
	if sr.Covered == nil {
		sr.Covered = []int{}
	}
	for _, p := range res.Properties {
		sr.Properties = append(sr.Properties, propertyJSON{p.Name, p.Verdict})
	}
	if res.Shard != nil {
		sr.SplitDepth, sr.Frontier, sr.Owned = res.Shard.SplitDepth, res.Shard.Frontier, res.Shard.Owned
	}
	if res.Violation != nil {
		path, err := violationPath(sys, res.Violation)
		if err != nil {
			return nil, err
		}
		sr.Violation = &shardViolation{Property: res.Violation.Property, Note: res.Violation.Note, Path: path, Next: len(res.Violation.Next)}
	}
	line, err := json.Marshal(sr)
	if err != nil {
		return nil, err
	}
	if _, err := cw.Write(binary.AppendUvarint(nil, 0)); err != nil {
		return nil, fmt.Errorf("check: writing the shard file: %w", err)
	}
	if _, err := fmt.Fprintf(cw, "%s\n", line); err != nil {
		return nil, fmt.Errorf("check: writing the shard file: %w", err)
	}
	if _, err := fmt.Fprintf(bw, "end %d %08x\n", count, cw.crc.Sum32()); err != nil {
		return nil, fmt.Errorf("check: writing the shard file: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return nil, fmt.Errorf("check: writing the shard file: %w", err)
	}
	return res, nil
}

// violationPath finds the successor numbers of v's steps.
func violationPath(sys *model.System, v *Violation) ([]int, error) {
	path := []int{-1}
	for i, k := range sys.Init() {
		if k == v.Init {
			path[0] = i
			break
		}
	}
	if path[0] < 0 {
		return nil, errors.New("check: internal error: the counterexample does not start at an initial state")
	}
	k := v.Init
	var buf []model.Transition
	for i, t := range v.Trace {
		buf = sys.Next(k, buf[:0])
		j := slices.IndexFunc(buf, func(s model.Transition) bool { return s.To == t.To && reflect.DeepEqual(s.Step, t.Step) })
		if j < 0 {
			return nil, fmt.Errorf("check: internal error: step %d of the counterexample is not a successor", i+1)
		}
		path = append(path, j)
		k = t.To
	}
	return path, nil
}

// violationOf rebuilds a counterexample from its path and checks it.
func violationOf(sys *model.System, sv *shardViolation) (*Violation, error) {
	inits := sys.Init()
	if len(sv.Path) == 0 || sv.Path[0] < 0 || sv.Path[0] >= len(inits) {
		return nil, errors.New("the counterexample's path does not start at an initial state")
	}
	v := &Violation{Property: sv.Property, Note: sv.Note, Init: inits[sv.Path[0]]}
	k := v.Init
	var buf []model.Transition
	for i, j := range sv.Path[1:] {
		buf = sys.Next(k, buf[:0])
		if j < 0 || j >= len(buf) {
			return nil, fmt.Errorf("step %d of the counterexample takes successor %d of %d", i+1, j, len(buf))
		}
		v.Trace = append(v.Trace, buf[j])
		k = buf[j].To
	}
	if sv.Property == model.QuiescenceName {
		buf = sys.Next(k, buf[:0])
		if sv.Next < 0 || sv.Next > len(buf) {
			return nil, fmt.Errorf("the counterexample shows %d successors of a state that has %d", sv.Next, len(buf))
		}
		v.Next = append(v.Next, buf[:sv.Next]...)
		if len(buf) == 0 && sys.Quiescent(k) {
			return nil, errors.New("the Quiescence counterexample ends in a quiescent state")
		}
		return v, nil
	}
	if err := Replay(sys, v); err != nil {
		return nil, err
	}
	return v, nil
}

// ShardPart is one shard file as Merge read it.
type ShardPart struct {
	Name   string  // the file name (or the name given with the reader)
	I      int     // the part it explored
	Count  int64   // fingerprints in the file
	Result *Result // its own result (Result.Shard set when N > 1)
}

// MaxShards is the most parts a run may be split into: far more than
// machines or processes anyone runs it on, and a bound on what a damaged
// shard file's header can make Merge list.
const MaxShards = 4096

// missingShown is how many runs of missing shards MissingRuns names.
const missingShown = 8

// MissingRuns returns the missing shards as runs of consecutive parts
// ("3/64" or "2/64..9/64"), the first few of them, and the number of
// shards in the runs after those.
func (m *Merged) MissingRuns() (runs []string, rest int) {
	for i := 0; i < len(m.Missing); {
		j := i
		for j+1 < len(m.Missing) && m.Missing[j+1] == m.Missing[j]+1 {
			j++
		}
		switch {
		case len(runs) == missingShown:
			rest += j - i + 1
		case i == j:
			runs = append(runs, fmt.Sprintf("%d/%d", m.Missing[i], m.N))
		default:
			runs = append(runs, fmt.Sprintf("%d/%d..%d/%d", m.Missing[i], m.N, m.Missing[j], m.N))
		}
		i = j + 1
	}
	return runs, rest
}

// Merged is the combined result of the shards of one run.
type Merged struct {
	Sys    *model.System // the model the shards explored, rebuilt from their header
	N      int           // the shards the run was split into
	Parts  []ShardPart   // the files read, by part
	Result *Result       // the union: see Merge
	// Missing lists the parts in 0..N-1 no file was given for.
	Missing []int
	// SumStates is the sum of the shards' states and Overlap that divided
	// by the union's (Result.States): 1 when no state was explored by two
	// shards, N when every shard explored everything.
	SumStates int64
	Overlap   float64
	// MaxPeakBytes is the largest peak memory of one shard's tables.
	MaxPeakBytes int64
	// Why says what makes the merged verdict Incomplete, if it is.
	Why []string
}

// Merge combines shard files written by [WriteShard] for the parts of one
// run. See [MergeReaders].
func Merge(files ...string) (*Merged, error) {
	var rs []io.Reader
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			return nil, fmt.Errorf("check: merge: %w", err)
		}
		defer fh.Close()
		rs = append(rs, fh)
	}
	return MergeReaders(files, rs)
}

// shardIn is one shard file being read.
type shardIn struct {
	name  string
	r     *bufio.Reader
	crc   hash.Hash32
	h     shardHeader
	left  uint64 // fingerprints left in the current block
	prev  uint64
	count int64
	done  bool
}

func (s *shardIn) errf(format string, args ...any) error {
	return fmt.Errorf("check: merge: %s: "+format, append([]any{s.name}, args...)...)
}

// corrupt is the error for a file whose content makes no sense.
func (s *shardIn) corrupt(what string, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return s.errf("truncated: the file ends in the middle of %s (was the shard run cut short or the file copied in part?)", what)
	}
	if err != nil {
		return s.errf("reading %s: %v", what, err)
	}
	return s.errf("corrupt %s", what)
}

func (s *shardIn) readByte() (byte, error) {
	b, err := s.r.ReadByte()
	if err == nil {
		s.crc.Write([]byte{b})
	}
	return b, err
}

func (s *shardIn) uvarint() (uint64, error) {
	var x uint64
	var sh uint
	for i := 0; ; i++ {
		b, err := s.readByte()
		if err != nil {
			return 0, err
		}
		if i == binary.MaxVarintLen64-1 && b > 1 {
			return 0, errors.New("varint overflows 64 bits")
		}
		if b < 0x80 {
			return x | uint64(b)<<sh, nil
		}
		x |= uint64(b&0x7f) << sh
		sh += 7
	}
}

// line reads one line (without the newline), at most maxLine bytes.
func (s *shardIn) line(what string, sum bool) ([]byte, error) {
	var out []byte
	for {
		chunk, err := s.r.ReadSlice('\n')
		if sum {
			s.crc.Write(chunk)
		}
		out = append(out, chunk...)
		if err == nil {
			return out[:len(out)-1], nil
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return nil, s.corrupt(what, err)
		}
		if len(out) > maxLine {
			return nil, s.corrupt(what, nil)
		}
	}
}

func (s *shardIn) readHeader() error {
	magic := make([]byte, len(shardMagic))
	if _, err := io.ReadFull(s.r, magic); err != nil || string(magic) != shardMagic {
		if strings.HasPrefix(string(magic), "tcpcheck-shard ") {
			return s.errf("shard file of another format version (%q); this tcpcheck reads version %d", strings.TrimSpace(string(magic)), shardVersion)
		}
		return s.errf("not a shard file (it does not start with %q; write one with tcpcheck explore --shard I/N --shard-out FILE)", strings.TrimSpace(shardMagic))
	}
	s.crc.Write(magic)
	line, err := s.line("the header", true)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s.h); err != nil {
		return s.errf("corrupt header: %v", err)
	}
	if s.h.Format != "tcpcheck-shard" || s.h.Version != shardVersion {
		return s.errf("corrupt header: format %q version %d", s.h.Format, s.h.Version)
	}
	if s.h.Shards > MaxShards {
		return s.errf("a shard of a run split into %d parts; a run is split into at most %d (is the file damaged?)", s.h.Shards, MaxShards)
	}
	if s.h.Shards < 1 || s.h.Shard < 0 || s.h.Shard >= s.h.Shards {
		return s.errf("corrupt header: shard %d of %d", s.h.Shard, s.h.Shards)
	}
	return nil
}

// nextFP returns the next fingerprint, or ok false at the end of the list.
func (s *shardIn) nextFP() (fp uint64, ok bool, err error) {
	if s.done {
		return 0, false, nil
	}
	if s.left == 0 {
		n, err := s.uvarint()
		if err != nil {
			return 0, false, s.corrupt("the fingerprints", err)
		}
		if n == 0 {
			s.done = true
			return 0, false, nil
		}
		if n > shardBlock {
			return 0, false, s.errf("corrupt fingerprint block of %d entries (at most %d)", n, shardBlock)
		}
		s.left = n
	}
	d, err := s.uvarint()
	if err != nil {
		return 0, false, s.corrupt("the fingerprints", err)
	}
	if d == 0 || s.prev+d < s.prev {
		return 0, false, s.errf("corrupt fingerprints: not in increasing order after %d of them", s.count)
	}
	s.left--
	s.prev += d
	s.count++
	return s.prev, true, nil
}

// readTrailer reads the result line and the end line, and checks them.
func (s *shardIn) readTrailer() (*shardResult, error) {
	line, err := s.line("the result", true)
	if err != nil {
		return nil, err
	}
	var sr shardResult
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sr); err != nil {
		return nil, s.errf("corrupt result: %v", err)
	}
	sum := s.crc.Sum32()
	end, err := s.line("the end line", false)
	if err != nil {
		return nil, err
	}
	f := strings.Fields(string(end))
	if len(f) != 3 || f[0] != "end" {
		return nil, s.errf("corrupt end line %q", end)
	}
	n, err1 := strconv.ParseInt(f[1], 10, 64)
	c, err2 := strconv.ParseUint(f[2], 16, 32)
	if err1 != nil || err2 != nil {
		return nil, s.errf("corrupt end line %q", end)
	}
	if uint32(c) != sum {
		return nil, s.errf("checksum mismatch (file %08x, content %08x): the file was damaged", c, sum)
	}
	if n != s.count {
		return nil, s.errf("the end line counts %d fingerprints, the file holds %d", n, s.count)
	}
	if _, err := s.r.ReadByte(); err != io.EOF {
		return nil, s.errf("data after the end line")
	}
	if sr.States < s.count {
		return nil, s.errf("corrupt result: %d states but %d fingerprints", sr.States, s.count)
	}
	return &sr, nil
}

// configDiff lists the fields in which configuration b (JSON) differs
// from a: "loss=2, not 1; dup=0, not 1".
func configDiff(a, b []byte) string {
	var ma, mb map[string]json.RawMessage
	if json.Unmarshal(a, &ma) != nil || json.Unmarshal(b, &mb) != nil {
		return fmt.Sprintf("%s, not %s", b, a)
	}
	keys := slices.Sorted(maps.Keys(ma))
	for k := range mb {
		if _, ok := ma[k]; !ok {
			keys = append(keys, k)
		}
	}
	var d []string
	for _, k := range keys {
		if !bytes.Equal(ma[k], mb[k]) {
			d = append(d, fmt.Sprintf("%s=%s, not %s", k, mb[k], ma[k]))
		}
	}
	return strings.Join(d, "; ")
}

// sameRun says how two headers differ in what must be the same in every
// shard of a run, or "" if they do not.
func sameRun(a, b shardHeader) string {
	switch {
	case a.Shards != b.Shards:
		return fmt.Sprintf("a run split into %d shards, not %d", b.Shards, a.Shards)
	case a.Table != b.Table || a.Rows != b.Rows:
		return "another transition table (another version of tcpcheck)"
	case a.Mutant != b.Mutant:
		return fmt.Sprintf("mutant %q, not %q", b.Mutant, a.Mutant)
	case !bytes.Equal(a.Config, b.Config):
		return "another configuration: " + configDiff(a.Config, b.Config)
	case !slices.Equal(a.Properties, b.Properties):
		return fmt.Sprintf("other properties (%s, not %s)", strings.Join(b.Properties, ","), strings.Join(a.Properties, ","))
	case a.Storage != b.Storage:
		return fmt.Sprintf("%s storage, not %s", b.Storage, a.Storage)
	case a.MaxDepth != b.MaxDepth:
		return fmt.Sprintf("max depth %d, not %d", b.MaxDepth, a.MaxDepth)
	case a.SplitWidth != b.SplitWidth:
		return fmt.Sprintf("split width %d, not %d", b.SplitWidth, a.SplitWidth)
	}
	return ""
}

// MergeReaders combines the shard files rs (named by names in errors) of
// one run: the shards must share configuration, mutant, table, properties,
// storage, depth limit, split width and N, and no part may come twice.
//
// The merged Result has the states of the union of the shards' visited
// sets (a k-way merge of their sorted fingerprints), the sum of their
// transitions, deadlocks and seconds, the union of their coverage, and the
// largest depth a shard reached (which can exceed a single run's: a shard
// reaches some states only by paths longer than the shortest, whose
// frontier state another shard owns). Its verdict is Violated if any shard found a violation (the
// counterexample is the shortest of theirs, each a trace from an initial
// state, replayed through the model here), Ok only if every part 0..N-1 is
// present and Ok, and Incomplete otherwise, with Merged.Why saying what is
// missing. A property is Violated if a shard violated it, Ok if every part
// is present and has it Ok, Incomplete otherwise.
func MergeReaders(names []string, rs []io.Reader) (*Merged, error) {
	if len(rs) == 0 {
		return nil, errors.New("check: merge: no shard files given")
	}
	if len(names) != len(rs) {
		return nil, errors.New("check: merge: one name per reader needed")
	}
	ins := make([]*shardIn, len(rs))
	for i, r := range rs {
		ins[i] = &shardIn{name: names[i], r: bufio.NewReaderSize(r, 1<<16), crc: crc32.New(castagnoli)}
		if err := ins[i].readHeader(); err != nil {
			return nil, err
		}
	}
	first := ins[0]
	byPart := map[int]*shardIn{}
	for _, s := range ins {
		if d := sameRun(first.h, s.h); d != "" {
			return nil, fmt.Errorf("check: merge: %s is not a shard of the same run as %s: it has %s", s.name, first.name, d)
		}
		if o := byPart[s.h.Shard]; o != nil {
			return nil, fmt.Errorf("check: merge: %s and %s are both shard %d/%d; give each part once", o.name, s.name, s.h.Shard, s.h.Shards)
		}
		byPart[s.h.Shard] = s
	}
	cfg, err := model.ParseConfig(first.h.Config)
	if err != nil {
		return nil, fmt.Errorf("check: merge: %s: %v", first.name, err)
	}
	var sys *model.System
	if first.h.Mutant != "" {
		sys, err = model.NewMutant(cfg, first.h.Mutant)
	} else {
		sys, err = model.New(cfg)
	}
	if err != nil {
		return nil, fmt.Errorf("check: merge: %s: %v", first.name, err)
	}
	if tableSum(sys) != first.h.Table || len(sys.Rows()) != first.h.Rows {
		return nil, fmt.Errorf("check: merge: %s was written by a tcpcheck with another transition table; merge with the version that ran the shards", first.name)
	}
	union, err := mergeFingerprints(ins)
	if err != nil {
		return nil, err
	}
	m := &Merged{Sys: sys, N: first.h.Shards}
	for _, s := range ins {
		sr, err := s.readTrailer()
		if err != nil {
			return nil, err
		}
		part, err := s.part(sys, sr)
		if err != nil {
			return nil, err
		}
		m.Parts = append(m.Parts, part)
	}
	slices.SortFunc(m.Parts, func(a, b ShardPart) int { return a.I - b.I })
	for i := 0; i < m.N; i++ {
		if byPart[i] == nil {
			m.Missing = append(m.Missing, i)
		}
	}
	m.combine(first.h, union)
	return m, nil
}

// mergeFingerprints counts the distinct fingerprints of all files: a k-way
// merge over a binary heap of each file's next fingerprint.
func mergeFingerprints(ins []*shardIn) (int64, error) {
	type head struct {
		fp uint64
		s  *shardIn
	}
	var h []head
	less := func(i, j int) bool { return h[i].fp < h[j].fp }
	down := func(i int) {
		for {
			l := 2*i + 1
			if l >= len(h) {
				return
			}
			if r := l + 1; r < len(h) && less(r, l) {
				l = r
			}
			if !less(l, i) {
				return
			}
			h[i], h[l] = h[l], h[i]
			i = l
		}
	}
	for _, s := range ins {
		fp, ok, err := s.nextFP()
		if err != nil {
			return 0, err
		}
		if ok {
			h = append(h, head{fp, s})
		}
	}
	for i := len(h)/2 - 1; i >= 0; i-- {
		down(i)
	}
	var union int64
	last, seen := uint64(0), false
	for len(h) > 0 {
		top := &h[0]
		if !seen || top.fp != last {
			union++
			last, seen = top.fp, true
		}
		fp, ok, err := top.s.nextFP()
		if err != nil {
			return 0, err
		}
		if ok {
			top.fp = fp
		} else {
			h[0] = h[len(h)-1]
			h = h[:len(h)-1]
		}
		down(0)
	}
	return union, nil
}

// part turns a shard's result line into a Result.
func (s *shardIn) part(sys *model.System, sr *shardResult) (ShardPart, error) {
	rows := len(sys.Rows())
	r := &Result{Verdict: sr.Result, Limit: sr.Limit, States: sr.States, Transitions: sr.Transitions, Depth: sr.Depth,
		Seconds: sr.Seconds, BytesPerState: sr.BytesPerState, Workers: sr.Workers, Deadlocks: sr.Deadlocks,
		Storage: sr.Storage, Coverage: Coverage{Rows: rows}}
	if sr.Result > Incomplete {
		return ShardPart{}, s.errf("corrupt result: verdict %d", sr.Result)
	}
	names := make([]string, 0, len(sr.Properties))
	for _, p := range sr.Properties {
		r.Properties = append(r.Properties, PropertyResult{p.Name, p.Result})
		names = append(names, p.Name)
	}
	if !slices.Equal(names, s.h.Properties) {
		return ShardPart{}, s.errf("corrupt result: properties %v, header %v", names, s.h.Properties)
	}
	covered := make([]bool, rows)
	for _, c := range sr.Covered {
		if c < 0 || c >= rows {
			return ShardPart{}, s.errf("corrupt result: covered row %d of %d", c, rows)
		}
		covered[c] = true
	}
	for i, c := range covered {
		if c {
			r.Coverage.Covered = append(r.Coverage.Covered, i)
		} else {
			r.Coverage.Dead = append(r.Coverage.Dead, i)
		}
	}
	if s.h.Shards > 1 {
		r.Shard = &ShardInfo{I: s.h.Shard, N: s.h.Shards, SplitDepth: sr.SplitDepth, Frontier: sr.Frontier, Owned: sr.Owned}
	}
	if (sr.Violation != nil) != (sr.Result == Violated) {
		return ShardPart{}, s.errf("corrupt result: verdict %s with violation %v", sr.Result, sr.Violation != nil)
	}
	if sr.Violation != nil {
		if !slices.Contains(s.h.Properties, sr.Violation.Property) {
			return ShardPart{}, s.errf("corrupt result: violation of %q, which was not checked", sr.Violation.Property)
		}
		v, err := violationOf(sys, sr.Violation)
		if err != nil {
			return ShardPart{}, s.errf("the counterexample does not replay through the model: %v", err)
		}
		r.Violation = v
	}
	return ShardPart{Name: s.name, I: s.h.Shard, Count: s.count, Result: r}, nil
}

// combine fills m.Result from the parts.
func (m *Merged) combine(h shardHeader, union int64) {
	rows := h.Rows
	r := &Result{States: union, Coverage: Coverage{Rows: rows}}
	covered := make([]bool, rows)
	var limits []string
	splits := map[int]bool{}
	for _, p := range m.Parts {
		pr := p.Result
		m.SumStates += pr.States
		r.Transitions += pr.Transitions
		r.Deadlocks += pr.Deadlocks
		r.Seconds += pr.Seconds
		r.Depth = max(r.Depth, pr.Depth)
		r.Workers = max(r.Workers, pr.Workers)
		m.MaxPeakBytes = max(m.MaxPeakBytes, int64(pr.BytesPerState*float64(pr.States)))
		for _, c := range pr.Coverage.Covered {
			covered[c] = true
		}
		if pr.Limit != "" && !slices.Contains(limits, pr.Limit) {
			limits = append(limits, pr.Limit)
		}
		if pr.Shard != nil && pr.Shard.SplitDepth >= 0 {
			splits[pr.Shard.SplitDepth] = true
		}
		if v := pr.Violation; v != nil && (r.Violation == nil || len(v.Trace) < len(r.Violation.Trace)) {
			r.Violation = v
		}
	}
	for i, c := range covered {
		if c {
			r.Coverage.Covered = append(r.Coverage.Covered, i)
		} else {
			r.Coverage.Dead = append(r.Coverage.Dead, i)
		}
	}
	r.Limit = strings.Join(limits, ",")
	if union > 0 {
		r.BytesPerState = float64(m.MaxPeakBytes) / float64(union)
		m.Overlap = float64(m.SumStates) / float64(union)
	}
	r.Storage = Storage{Mode: h.Storage, ExpectedMissed: engine.FingerprintMissed(union)}
	if h.Storage == "fingerprint" {
		r.Storage.Bits = 64
	}
	if len(m.Missing) > 0 {
		runs, rest := m.MissingRuns()
		why := "shards missing: " + strings.Join(runs, ", ")
		if rest > 0 {
			why += fmt.Sprintf(" and %d more (%d in all)", rest, len(m.Missing))
		}
		m.Why = append(m.Why, why)
	}
	for _, p := range m.Parts {
		if p.Result.Verdict == Incomplete {
			why := fmt.Sprintf("shard %d/%d is incomplete", p.I, m.N)
			if p.Result.Limit != "" {
				why += " (stopped by " + p.Result.Limit + ")"
			}
			m.Why = append(m.Why, why)
		}
	}
	if len(splits) > 1 {
		m.Why = append(m.Why, "the shards split at different depths, which one run cannot do")
	}
	for i, name := range h.Properties {
		pr := PropertyResult{Name: name, Verdict: Ok}
		if len(m.Missing) > 0 || len(splits) > 1 {
			pr.Verdict = Incomplete
		}
		for _, p := range m.Parts {
			switch v := p.Result.Properties[i].Verdict; {
			case v == Violated:
				pr.Verdict = Violated
			case v == Incomplete && pr.Verdict == Ok:
				pr.Verdict = Incomplete
			}
		}
		r.Properties = append(r.Properties, pr)
	}
	switch {
	case r.Violation != nil:
		r.Verdict = Violated
	case len(m.Why) > 0:
		r.Verdict = Incomplete
	default:
		r.Verdict = Ok
	}
	m.Result = r
}
