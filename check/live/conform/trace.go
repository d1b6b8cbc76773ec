package conform

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"reflect"
	"strings"
	"time"

	"github.com/tcpcheck/tcpcheck/impl"
	"github.com/tcpcheck/tcpcheck/impl/wire"
	"github.com/tcpcheck/tcpcheck/spec"
)

// WriteTrace writes transitions as JSON Lines, one impl.Transition per
// line, the form [ReadTrace] reads back.
func WriteTrace(w io.Writer, trace []impl.Transition) error {
	enc := json.NewEncoder(w)
	for i := range trace {
		if err := enc.Encode(&trace[i]); err != nil {
			return fmt.Errorf("conform: writing transition %d: %w", i+1, err)
		}
	}
	return nil
}

// MaxTraceLine is the longest line [ReadTrace] reads, in bytes. A
// transition takes a few hundred.
const MaxTraceLine = 16 << 20

// maxSegmentText is the most octets of text a recorded segment may have:
// an IP packet's length field allows no more.
const maxSegmentText = 0xffff

// TraceError is a line of a trace file that cannot be checked because it
// is not what an endpoint records: not one transition as JSON, a field
// missing or null, or a value out of range (a state, event or row the
// table does not have, a segment length no segment has). [ReadTrace] and
// [CheckFile] return it (CheckFile wraps it). It is an error in the input,
// not a verdict about the endpoint, which is a [*Divergence]: a command
// tells the two apart with errors.As and reports a TraceError as bad
// input.
type TraceError struct {
	Line   int    // 1-based line of the file
	Reason string // what is wrong, naming the field
}

// Error names the line and what is wrong with it.
func (e *TraceError) Error() string {
	return fmt.Sprintf("conform: trace line %d: %s", e.Line, e.Reason)
}

// ReadTrace reads transitions written by [WriteTrace]. Blank lines are
// skipped; any other line must be one JSON object with the fields of an
// impl.Transition, Time, Local, Remote, From, Event, Row and To present,
// nothing after it, and every value in range (see [TraceError]). A line
// may hold at most [MaxTraceLine] bytes.
func ReadTrace(r io.Reader) ([]impl.Transition, error) {
	var out []impl.Transition
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), MaxTraceLine)
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		t, why := parseTransition(b)
		if why == "" {
			why = checkTransition(&t)
		}
		if why != "" {
			return nil, &TraceError{Line: line, Reason: why}
		}
		out = append(out, t)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, &TraceError{Line: line + 1, Reason: fmt.Sprintf(
				"longer than %d MiB, the most a line may hold (a transition takes a few hundred bytes; want one impl.Transition as JSON per line)",
				MaxTraceLine>>20)}
		}
		return nil, fmt.Errorf("conform: reading trace after line %d: %w", line, err)
	}
	return out, nil
}

// referenceRows is the correct table: what each row must do, and the
// indices a transition's Row names.
var referenceRows = spec.Table()

// transitionLine is an impl.Transition as a line of a trace file holds it,
// with pointers where a field must be present and not null.
// TestTransitionLineMirrorsTransition keeps its fields those of
// impl.Transition.
type transitionLine struct {
	Time          *time.Time
	Local, Remote *netip.AddrPort
	From          *spec.State
	Event         *spec.Event
	Row           *int
	To            *spec.State
	In            *segmentLine
	Out           []*segmentLine
	Replayed      bool
	Held          bool
}

// segmentLine is an impl.Segment in a trace file.
type segmentLine struct {
	Header *wire.Header
	Len    *int
}

const wantLine = "want one impl.Transition as JSON per line"

// parseTransition decodes one non-blank line; it returns what is wrong
// with it, or "".
func parseTransition(b []byte) (impl.Transition, string) {
	var t impl.Transition
	if b[0] != '{' {
		var v any
		if err := json.NewDecoder(bytes.NewReader(b)).Decode(&v); err == nil {
			kind := "a JSON boolean"
			switch v.(type) {
			case nil:
				return t, "null; " + wantLine
			case []any:
				kind = "a JSON array"
			case string:
				kind = "a JSON string"
			case float64:
				kind = "a JSON number"
			}
			return t, kind + ", not an object; " + wantLine
		}
	}
	var l transitionLine
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&l); err != nil {
		return t, typeError(err)
	}
	if rest := bytes.TrimSpace(b[dec.InputOffset():]); len(rest) > 0 {
		return t, fmt.Sprintf("more after the transition's closing } (from column %d: %.20q); %s, nothing after it",
			len(b)-len(rest)+1, rest, wantLine)
	}
	var missing []string
	for _, f := range []struct {
		name string
		nil  bool
	}{
		{"Time", l.Time == nil}, {"Local", l.Local == nil}, {"Remote", l.Remote == nil},
		{"From", l.From == nil}, {"Event", l.Event == nil}, {"Row", l.Row == nil}, {"To", l.To == nil},
	} {
		if f.nil {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return t, fmt.Sprintf("%s missing or null; every transition has Time, Local, Remote, From, Event, Row and To, as WriteTrace writes them",
			strings.Join(missing, ", "))
	}
	t = impl.Transition{Time: *l.Time, Local: *l.Local, Remote: *l.Remote, From: *l.From, Event: *l.Event, Row: *l.Row, To: *l.To,
		Replayed: l.Replayed, Held: l.Held}
	seg := func(name string, s *segmentLine) (impl.Segment, string) {
		switch {
		case s == nil:
			return impl.Segment{}, name + ` is null; want a segment {"Header": {...}, "Len": n}`
		case s.Header == nil:
			return impl.Segment{}, name + ".Header is missing or null"
		case s.Len == nil:
			return impl.Segment{}, name + ".Len is missing or null"
		}
		return impl.Segment{Header: *s.Header, Len: *s.Len}, ""
	}
	if l.In != nil {
		in, why := seg("In", l.In)
		if why != "" {
			return t, why
		}
		t.In = &in
	}
	if l.Out != nil {
		t.Out = make([]impl.Segment, 0, len(l.Out))
	}
	for i, s := range l.Out {
		o, why := seg(fmt.Sprintf("Out[%d]", i), s)
		if why != "" {
			return t, why
		}
		t.Out = append(t.Out, o)
	}
	return t, ""
}

// checkTransition says which field of t is out of range, or "": the
// states and the event must be ones spec has, the row one of the
// reference table's, and every segment's length 0..65535.
func checkTransition(t *impl.Transition) string {
	rows := len(referenceRows)
	for _, s := range []struct {
		name string
		v    spec.State
	}{{"From", t.From}, {"To", t.To}} {
		if int(s.v) >= spec.NumStates {
			return fmt.Sprintf("%s is %d, not a state; want 0..%d (%s..%s)", s.name, s.v, spec.NumStates-1, spec.State(0), spec.State(spec.NumStates-1))
		}
	}
	if int(t.Event) >= spec.NumEvents {
		return fmt.Sprintf("Event is %d, not an event; want 0..%d (%s..%s)", t.Event, spec.NumEvents-1, spec.Event(0), spec.Event(spec.NumEvents-1))
	}
	if t.Row < 0 || t.Row >= rows {
		return fmt.Sprintf("Row is %d, not a row of the table; want 0..%d (an index into spec.Table())", t.Row, rows-1)
	}
	check := func(name string, s *impl.Segment) string {
		if s.Len < 0 || s.Len > maxSegmentText {
			return fmt.Sprintf("%s.Len is %d; a segment carries 0..%d octets of text", name, s.Len, maxSegmentText)
		}
		return ""
	}
	if t.In != nil {
		if why := check("In", t.In); why != "" {
			return why
		}
	}
	for i := range t.Out {
		if why := check(fmt.Sprintf("Out[%d]", i), &t.Out[i]); why != "" {
			return why
		}
	}
	return ""
}

// typeError rewrites encoding/json's error for a number out of its
// field's range (a sequence number beyond 32 bits, a negative state) as
// "Out.Header.Seq is -1; a sequence number is 0..4294967295"; for any
// other error it adds what the field takes, when it knows.
func typeError(err error) string {
	var te *json.UnmarshalTypeError
	if !errors.As(err, &te) || te.Type == nil {
		return fmt.Sprintf("%v (%s)", err, wantLine)
	}
	takes := ""
	switch te.Type {
	case reflect.TypeFor[spec.State]():
		takes = fmt.Sprintf("a state is a number 0..%d, %s to %s", spec.NumStates-1, spec.State(0), spec.State(spec.NumStates-1))
	case reflect.TypeFor[spec.Event]():
		takes = fmt.Sprintf("an event is a number 0..%d, %s to %s", spec.NumEvents-1, spec.Event(0), spec.Event(spec.NumEvents-1))
	case reflect.TypeFor[spec.Seq]():
		takes = "a sequence number is a whole number 0..4294967295"
	case reflect.TypeFor[spec.Flags]():
		takes = "flags are a number 0..255 (FIN 1, SYN 2, RST 4, PSH 8, ACK 16, ...)"
	default:
		switch te.Type.Kind() {
		case reflect.Uint8:
			takes = "the field takes a whole number 0..255"
		case reflect.Uint16:
			takes = "the field takes a whole number 0..65535"
		case reflect.Uint32:
			takes = "the field takes a whole number 0..4294967295"
		case reflect.Int:
			takes = "the field takes a whole number"
		case reflect.Bool:
			takes = "the field takes true or false"
		}
	}
	if n, ok := strings.CutPrefix(te.Value, "number "); ok && takes != "" {
		return fmt.Sprintf("%s is %s; %s", te.Field, n, takes)
	}
	if takes != "" {
		takes += "; "
	}
	return fmt.Sprintf("%v (%s%s)", err, takes, wantLine)
}

// CheckFile reads a trace file written by [WriteTrace] (one
// impl.Transition as JSON per line, as `listen/dial --trace` would write
// it) and replays it through the reference table. A file that cannot be
// read, or that is not a trace, is an error other than a [*Divergence]
// (a bad line is a [*TraceError]).
func CheckFile(path string, opt Options) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("conform: %w", err)
	}
	defer f.Close()
	trace, err := ReadTrace(f)
	if err != nil {
		return fmt.Errorf("%w (file %s)", err, path)
	}
	if len(trace) == 0 {
		return fmt.Errorf("conform: %s holds no transitions", path)
	}
	return Check(trace, opt)
}
