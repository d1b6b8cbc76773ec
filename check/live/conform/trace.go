package conform

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/tcpcheck/tcpcheck/impl"
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

// ReadTrace reads transitions written by [WriteTrace]. Blank lines are
// skipped; any other line must be one JSON object with known fields.
func ReadTrace(r io.Reader) ([]impl.Transition, error) {
	var out []impl.Transition
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	line := 0
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if len(b) == 0 {
			continue
		}
		var t impl.Transition
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&t); err != nil {
			return nil, fmt.Errorf("conform: trace line %d: %v (want one impl.Transition as JSON per line)", line, err)
		}
		out = append(out, t)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("conform: reading trace: %w", err)
	}
	return out, nil
}

// CheckFile reads a trace file written by [WriteTrace] (one
// impl.Transition as JSON per line, as `listen/dial --trace` would write
// it) and replays it through the reference table.
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
