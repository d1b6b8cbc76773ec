package model

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// Config holds every knob of the model. The zero value is not valid; start
// from [DefaultConfig] (or [Preset]) and change what you need.
type Config struct {
	// Open is "client-server" (A opens actively, B listens) or
	// "simultaneous" (both open actively, RFC 9293 §3.5 Figure 8).
	Open string `json:"open"`
	// Closer says who calls CLOSE first: "a", "b", or "both" (each closes
	// as soon as it has written, so a simultaneous close can happen). The
	// other side closes only after it has read end of stream.
	Closer string `json:"closer"`
	// WriteA and WriteB are the octets each user writes per incarnation
	// (0..3). The first closer writes before it closes; the other side
	// writes after it has read end of stream (a half-close).
	WriteA int `json:"write_a"`
	WriteB int `json:"write_b"`
	// SendSize is the number of octets per SEND call (1..3).
	SendSize int `json:"send_size"`
	// Abort is "none", "a" or "b": that user may ABORT at any point of its
	// program after opening, instead of its next call.
	Abort string `json:"abort"`
	// Incarnations is how many times the users open the connection on the
	// same 4-tuple, one after the other (1..3).
	Incarnations int `json:"incarnations"`
	// MSL is the maximum segment lifetime in ticks (1..4): a segment is
	// delivered or lost before it has been in flight MSL ticks.
	MSL int `json:"msl"`
	// TimeWait is the length of TIME-WAIT in ticks; 0 means 2*MSL, the
	// correct value (the short-time-wait mutant sets MSL).
	TimeWait int `json:"time_wait"`
	// RTOMax bounds the retransmission timer from above (0..1): once what
	// the timer guards is lost, time advances at most RTOMax ticks before it
	// fires. More would let a retransmitted FIN outlive the peer's
	// TIME-WAIT (see docs/findings.md).
	RTOMax int `json:"rto_max"`
	// SpuriousRTO lets the retransmission timer fire while the
	// acknowledgment is still in flight (an RTO shorter than the round
	// trip), making spurious retransmissions. Without it the timer fires
	// only once neither the segment nor its acknowledgment is in flight.
	SpuriousRTO bool `json:"spurious_rto"`
	// UserTimeout lets a host whose peer has no TCB any more, with nothing
	// in flight and nothing left to retransmit, time the half-open
	// connection out (RFC 9293 §3.8.4). Without it such a connection stays
	// open for ever.
	UserTimeout bool `json:"user_timeout"`
	// MaxRetries is how many retransmissions without progress a host makes
	// before RetriesExhausted (R2) can fire (0..3).
	MaxRetries int `json:"max_retries"`
	// Loss, Dup and Inject are budgets for the whole run: segments the
	// network may drop, segments it may duplicate, and RSTs the off-path
	// attacker may inject (each 0..3).
	Loss   int `json:"loss"`
	Dup    int `json:"dup"`
	Inject int `json:"inject"`
	// Attack names the forms of segment the off-path attacker injects,
	// within the Inject budget (see [AttackForms]): "rst" (RSTs into a
	// synchronized or SYN-RECEIVED host, the default) and forms that reach
	// every state, CLOSED, LISTEN and SYN-SENT included: RSTs and RST,ACKs
	// at every window edge, SYNs, SYN,ACKs, ACKs, text and FINs around the
	// window with acknowledgments too old, current or beyond SND.NXT.
	// Empty means "rst".
	Attack []string `json:"attack,omitempty"`
	// Misuse is "none", "a", "b" or "both": that user may, once per
	// incarnation and at any point while it has a program left or a TCB,
	// make one call outside its program (listen, connect, send 1 octet,
	// close or abort), which the table answers as it answers any call; a
	// call that deletes the TCB ends the user's program for the
	// incarnation, as ABORT does. Empty means "none".
	Misuse string `json:"misuse,omitempty"`
	// Reorder lets any in-flight segment be delivered next; without it each
	// direction is FIFO.
	Reorder bool `json:"reorder"`
	// ISSA and ISSB are the initial send sequence numbers each host may pick
	// for incarnation 1 (1..3 values, each 0..160, in the model's abstract
	// sequence space); incarnation k adds (k-1)*ISSStride, modelling the ISN
	// clock of RFC 9293 §3.4.1.
	ISSA      []int `json:"iss_a"`
	ISSB      []int `json:"iss_b"`
	ISSStride int   `json:"iss_stride"`
	// Also lists further scenarios explored in the same run beside the one
	// the knobs above describe (0..3 of them). Each starts from its own
	// initial state with its own way of opening and closing, number of
	// incarnations and fault budgets; every other knob is shared. The
	// default uses them to cover simultaneous open and simultaneous close
	// at a cost the one-minute default run can afford.
	Also []Scenario `json:"also"`

	// KeepAlive turns on the keepalive timer of RFC 1122 §4.2.3.6 in both
	// hosts with this many probes (0..3; 0, the default, is off as the RFC
	// wants): an idle connection (nothing outstanding, nothing in flight,
	// the peer with nothing to retransmit or acknowledge) may be probed;
	// after KeepAlive probes the peer has not answered, the timer's next
	// expiry gives the peer up (see [System.Next]).
	KeepAlive int `json:"keepalive,omitempty"`

	// ZeroWindow is "none", "a", "b" or "both": that user may stop reading
	// while its host has a TCB, so the receive buffer fills and RCV.WND
	// drops to 0, and read again later, reopening the window (RFC 9293
	// §3.8.6). While a host's window is closed every segment it receives is
	// held to the acceptability test with RCV.WND = 0 (§3.10.7.4: a segment
	// without text is acceptable only at RCV.NXT, one with text or a FIN
	// never), and its peer's retransmissions are zero-window probes (RFC
	// 9293 §3.8.6.1, RFC 1122 §4.2.2.17): they do not count toward R2,
	// which waits while the window is closed, since the receiver keeps
	// acknowledging them. Empty means "none".
	ZeroWindow string `json:"zero_window,omitempty"`
}

// Scenario is one further scenario of [Config.Also]. Its fields mean what
// the Config fields of the same names mean.
type Scenario struct {
	Open         string `json:"open"`
	Closer       string `json:"closer"`
	Incarnations int    `json:"incarnations"`
	Loss         int    `json:"loss"`
	Dup          int    `json:"dup"`
}

// String renders the scenario the way `tcpcheck explore` prints it:
// "simultaneous/a inc=1 loss=1 dup=0".
func (sc Scenario) String() string {
	return fmt.Sprintf("%s/%s inc=%d loss=%d dup=%d", sc.Open, sc.Closer, sc.Incarnations, sc.Loss, sc.Dup)
}

// FormatScenarios renders further scenarios the way the --also flag of
// `tcpcheck explore` takes them: "none", or scenarios in the form of
// [Scenario.String] separated by "; ".
func FormatScenarios(list []Scenario) string {
	if len(list) == 0 {
		return "none"
	}
	parts := make([]string, len(list))
	for i, sc := range list {
		parts[i] = sc.String()
	}
	return strings.Join(parts, "; ")
}

// ParseScenarios reads what [FormatScenarios] writes: "none" (or nothing)
// for no further scenario, else scenarios separated by ";", each
// "OPEN/CLOSER" followed by any of inc=N, loss=N and dup=N (inc defaults to
// 1, the budgets to 0). The values are checked by [Config.Validate].
func ParseScenarios(s string) ([]Scenario, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "none" {
		return nil, nil
	}
	var out []Scenario
	for _, part := range strings.Split(s, ";") {
		fields := strings.Fields(part)
		if len(fields) == 0 {
			return nil, fmt.Errorf("model: scenario list %q has an empty scenario", s)
		}
		open, closer, ok := strings.Cut(fields[0], "/")
		if !ok {
			return nil, fmt.Errorf("model: scenario %q: want OPEN/CLOSER first, e.g. simultaneous/a", strings.TrimSpace(part))
		}
		sc := Scenario{Open: open, Closer: closer, Incarnations: 1}
		for _, f := range fields[1:] {
			k, v, ok := strings.Cut(f, "=")
			n, err := strconv.Atoi(v)
			if !ok || err != nil {
				return nil, fmt.Errorf("model: scenario %q: %q is not KEY=NUMBER (keys inc, loss, dup)", strings.TrimSpace(part), f)
			}
			switch k {
			case "inc":
				sc.Incarnations = n
			case "loss":
				sc.Loss = n
			case "dup":
				sc.Dup = n
			default:
				return nil, fmt.Errorf("model: scenario %q: unknown key %q; want inc, loss or dup", strings.TrimSpace(part), k)
			}
		}
		out = append(out, sc)
	}
	return out, nil
}

// scenarios returns the main scenario followed by Also.
func (c Config) scenarios() []Scenario {
	main := Scenario{Open: c.Open, Closer: c.Closer, Incarnations: c.Incarnations, Loss: c.Loss, Dup: c.Dup}
	return append([]Scenario{main}, c.Also...)
}

// maxAlso is how many further scenarios a configuration may list.
const maxAlso = 3

// Limits of the knobs.
const (
	maxWrite       = 3
	maxIncarnation = 3
	maxMSL         = 4
	maxBudget      = 3
	maxRetries     = 3
	maxISS         = 160
	maxKeepAlive   = 3 // two bits of the key per host
)

// DefaultConfig returns the configuration `tcpcheck explore` uses with no
// flags: client-server, A closes first, A writes 1 octet and B 1 octet, two
// incarnations whose ISNs differ by 8 (more than an incarnation can use),
// one loss, one duplication, reordering, MSL 2, one retry; and beside it,
// in the same run, simultaneous open with A closing first and client-server
// with a simultaneous close, each with one incarnation, one loss and no
// duplication, so that the default run exercises the rows of simultaneous
// open and of CLOSING too.
func DefaultConfig() Config {
	return Config{
		Open:         "client-server",
		Closer:       "a",
		WriteA:       1,
		WriteB:       1,
		SendSize:     3,
		Abort:        "none",
		Incarnations: 2,
		MSL:          2,
		RTOMax:       0,
		MaxRetries:   1,
		UserTimeout:  true,
		Loss:         1,
		Dup:          1,
		Reorder:      true,
		ISSA:         []int{30},
		ISSB:         []int{60},
		ISSStride:    8,
		Also: []Scenario{
			{Open: "simultaneous", Closer: "a", Incarnations: 1, Loss: 1, Dup: 0},
			{Open: "client-server", Closer: "both", Incarnations: 1, Loss: 1, Dup: 0},
		},
	}
}

// Presets returns the named configurations: "small" (one incarnation, no
// faults, FIFO: 76 states), "default" ([DefaultConfig]) and "large" (the
// default with a duplication budget of 2 in its main scenario, its further
// scenarios kept so that it applies every row the default does, for
// benchmarks: 12,856,148 states).
func Presets() []string { return []string{"small", "default", "large"} }

// Preset returns a named configuration (see [Presets]).
func Preset(name string) (Config, error) {
	c := DefaultConfig()
	switch name {
	case "default":
	case "small":
		c.Incarnations, c.Loss, c.Dup, c.Reorder, c.Also = 1, 0, 0, false, nil
	case "large":
		// A superset of the default: its further scenarios stay (issue 19).
		c.Dup = 2
	default:
		return Config{}, fmt.Errorf("model: unknown preset %q; known presets: %v", name, Presets())
	}
	return c, nil
}

func (c Config) timeWait() int {
	if c.TimeWait == 0 {
		return 2 * c.MSL
	}
	return c.TimeWait
}

// Validate reports the first knob that is out of range, saying which values
// are allowed.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("model: config: "+format, args...)) }
	rng := func(name string, v, lo, hi int) {
		if v < lo || v > hi {
			bad("%s is %d; want %d..%d", name, v, lo, hi)
		}
	}
	if len(c.Also) > maxAlso {
		bad("also lists %d scenarios; want at most %d", len(c.Also), maxAlso)
	}
	for i, sc := range c.scenarios() {
		where := ""
		if i > 0 {
			where = fmt.Sprintf("also[%d].", i-1)
		}
		if sc.Open != "client-server" && sc.Open != "simultaneous" {
			bad("%sopen is %q; want \"client-server\" or \"simultaneous\"", where, sc.Open)
		}
		if sc.Closer != "a" && sc.Closer != "b" && sc.Closer != "both" {
			bad("%scloser is %q; want \"a\", \"b\" or \"both\"", where, sc.Closer)
		}
		if i > 0 {
			rng(where+"incarnations", sc.Incarnations, 1, maxIncarnation)
			rng(where+"loss", sc.Loss, 0, maxBudget)
			rng(where+"dup", sc.Dup, 0, maxBudget)
		}
	}
	if c.Abort != "none" && c.Abort != "a" && c.Abort != "b" {
		bad("abort is %q; want \"none\", \"a\" or \"b\"", c.Abort)
	}
	for _, k := range [][2]string{{"misuse", c.Misuse}, {"zero_window", c.ZeroWindow}} {
		if !slices.Contains([]string{"", "none", "a", "b", "both"}, k[1]) {
			bad("%s is %q; want \"none\", \"a\", \"b\" or \"both\"", k[0], k[1])
		}
	}
	for i, a := range c.Attack {
		if _, err := findAttack(a); err != nil {
			bad("attack[%d]: %v", i, err)
		}
		for _, b := range c.Attack[:i] {
			if a == b {
				bad("attack lists %q twice", a)
			}
		}
	}
	rng("write_a", c.WriteA, 0, maxWrite)
	rng("write_b", c.WriteB, 0, maxWrite)
	rng("send_size", c.SendSize, 1, maxWrite)
	rng("incarnations", c.Incarnations, 1, maxIncarnation)
	rng("msl", c.MSL, 1, maxMSL)
	if c.TimeWait != 0 {
		rng("time_wait", c.TimeWait, 1, 2*maxMSL)
	}
	rng("rto_max", c.RTOMax, 0, 1)
	rng("max_retries", c.MaxRetries, 0, maxRetries)
	rng("loss", c.Loss, 0, maxBudget)
	rng("dup", c.Dup, 0, maxBudget)
	rng("inject", c.Inject, 0, maxBudget)
	rng("iss_stride", c.ISSStride, 0, 32)
	for _, f := range []struct {
		name string
		v    []int
	}{{"iss_a", c.ISSA}, {"iss_b", c.ISSB}} {
		if len(f.v) < 1 || len(f.v) > 3 {
			bad("%s has %d values; want 1..3", f.name, len(f.v))
		}
		for i, v := range f.v {
			rng(fmt.Sprintf("%s[%d]", f.name, i), v, 0, maxISS)
			for _, w := range f.v[:i] {
				if v == w {
					bad("%s lists %d twice", f.name, v)
				}
			}
		}
	}
	rng("keepalive", c.KeepAlive, 0, maxKeepAlive)
	if top := maxISS + 32*(maxIncarnation-1) + 8; top > 255 {
		// The abstract sequence space is a byte; this guards the limits above.
		bad("internal: ISS limits exceed the sequence space (%d)", top)
	}
	return errors.Join(errs...)
}

// LoadConfig reads a JSON configuration file. Fields not given keep the
// values of [DefaultConfig]; see [ParseConfig] for what is refused.
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("model: reading config: %w", err)
	}
	return ParseConfig(data)
}

// ParseConfig is [LoadConfig] for JSON already in memory: one JSON object
// whose fields are those of [Config] by their JSON names. Fields not given
// keep the values of [DefaultConfig]; a scenario of "also" starts from
// inc=1 and budgets 0, as the --also flag's do. Refused, with the field
// named: unknown fields, a field given twice, a value of the wrong type,
// a number that is not whole, and null, except "also": null, which is no
// further scenario (json.Marshal writes a Config without them so). The
// values are then checked by [Config.Validate].
func ParseConfig(data []byte) (Config, error) {
	c := DefaultConfig()
	if err := decodeConfig(data, &c); err != nil {
		return Config{}, err
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// configExample is the configuration error messages show as an example.
const configExample = `{"incarnations": 1}`

// decodeConfig reads one JSON object into c, field by field.
func decodeConfig(data []byte, c *Config) error {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // a byte-order mark some editors write
	if len(bytes.TrimSpace(data)) == 0 {
		return fmt.Errorf("model: config: the file is empty: want a JSON object such as %s", configExample)
	}
	d := &configDecoder{dec: json.NewDecoder(bytes.NewReader(data)), data: data}
	d.dec.UseNumber()
	tok, err := d.token()
	if err != nil {
		return err
	}
	if tok != json.Delim('{') {
		return fmt.Errorf("model: config: the file holds %s; want a JSON object such as %s", given(tok), configExample)
	}
	if err := d.object("", reflect.ValueOf(c).Elem()); err != nil {
		return err
	}
	if off := d.dec.InputOffset(); len(bytes.TrimSpace(data[off:])) > 0 {
		off += int64(len(data[off:]) - len(bytes.TrimLeft(data[off:], " \t\r\n")))
		return fmt.Errorf("model: config: %s: more after the object's closing }; the file must hold one JSON object", d.where(off))
	}
	return nil
}

// configDecoder reads a configuration token by token, so that every error
// can name the field (by its JSON name: "msl", "also[0].open") and say what
// was given and what the field takes.
type configDecoder struct {
	dec  *json.Decoder
	data []byte
}

// where renders the position of the byte at offset off as "line 2, column 7".
func (d *configDecoder) where(off int64) string {
	off = min(max(off, 0), int64(len(d.data)))
	before := d.data[:off]
	line := 1 + bytes.Count(before, []byte("\n"))
	col := len(before) - bytes.LastIndexByte(before, '\n')
	return fmt.Sprintf("line %d, column %d", line, col)
}

func (d *configDecoder) token() (json.Token, error) {
	tok, err := d.dec.Token()
	if err == nil {
		return tok, nil
	}
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		// The decoder's offsets count from its buffer; a scan of the
		// whole input finds the byte.
		var raw json.RawMessage
		if err := json.Unmarshal(d.data, &raw); errors.As(err, &se) {
			return nil, fmt.Errorf("model: config: %s: not JSON: %s", d.where(se.Offset-1), se)
		}
		return nil, fmt.Errorf("model: config: not JSON: %s", se)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return nil, errors.New("model: config: the JSON ends early: a value, a closing } or a closing ] is missing")
	}
	return nil, fmt.Errorf("model: config: %v", err)
}

// object reads the fields of the struct v up to the closing brace (the
// opening one read); prefix names v ("" or "also[0].").
func (d *configDecoder) object(prefix string, v reflect.Value) error {
	seen := map[int]bool{}
	for d.dec.More() {
		tok, err := d.token()
		if err != nil {
			return err
		}
		name, _ := tok.(string)
		i, ok := fieldIndex(v.Type(), name)
		if !ok {
			what := "a configuration"
			if prefix != "" {
				what = "a scenario of also"
			}
			return fmt.Errorf("model: config: unknown field %q; the fields of %s are %s", prefix+name, what, strings.Join(jsonNames(v.Type()), ", "))
		}
		path := prefix + jsonName(v.Type().Field(i))
		if seen[i] {
			return fmt.Errorf("model: config: field %s is given twice; give it once", path)
		}
		seen[i] = true
		if err := d.value(path, v.Field(i)); err != nil {
			return err
		}
	}
	_, err := d.token() // the closing brace
	return err
}

// value reads one JSON value into v, the field path names.
func (d *configDecoder) value(path string, v reflect.Value) error {
	tok, err := d.token()
	if err != nil {
		return err
	}
	want := func() string { return wantOf(path, v) } // for errors only: it builds examples
	if tok == nil {
		if path == "also" {
			v.SetZero() // no further scenario, as json.Marshal writes it
			return nil
		}
		hint := " (leave the field out to keep its default)"
		if strings.Contains(path, "[") {
			hint = ""
		}
		return fmt.Errorf("model: config: field %s: null; want %s%s", path, want(), hint)
	}
	mismatch := func() error {
		return fmt.Errorf("model: config: field %s: %s; want %s", path, given(tok), want())
	}
	switch v.Kind() {
	case reflect.String:
		s, ok := tok.(string)
		if !ok {
			return mismatch()
		}
		v.SetString(s)
	case reflect.Bool:
		b, ok := tok.(bool)
		if !ok {
			return mismatch()
		}
		v.SetBool(b)
	case reflect.Int:
		n, ok := tok.(json.Number)
		if !ok {
			return mismatch()
		}
		i, err := wholeNumber(n)
		if err != "" {
			return fmt.Errorf("model: config: field %s: %s %s; want %s", path, n, err, want())
		}
		v.SetInt(i)
	case reflect.Slice:
		if tok != json.Delim('[') {
			return mismatch()
		}
		list := reflect.MakeSlice(v.Type(), 0, 0)
		for i := 0; d.dec.More(); i++ {
			e := reflect.New(v.Type().Elem()).Elem()
			if sc, ok := e.Addr().Interface().(*Scenario); ok {
				*sc = Scenario{Incarnations: 1} // as ParseScenarios starts one
			}
			if err := d.value(fmt.Sprintf("%s[%d]", path, i), e); err != nil {
				return err
			}
			list = reflect.Append(list, e)
		}
		if _, err := d.token(); err != nil { // the closing bracket
			return err
		}
		v.Set(list)
	case reflect.Struct:
		if tok != json.Delim('{') {
			return mismatch()
		}
		return d.object(path+".", v)
	default:
		return fmt.Errorf("model: config: internal: field %s has a type the decoder does not know (%v)", path, v.Type())
	}
	return nil
}

// wholeNumber reads a JSON number as an int: "2", or "2.0" and "2e0"
// too; it says what is wrong otherwise.
func wholeNumber(n json.Number) (int64, string) {
	if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
		return i, ""
	}
	f, err := strconv.ParseFloat(string(n), 64)
	switch {
	case err == nil && f != math.Trunc(f):
		return 0, "is not a whole number"
	case err != nil || math.Abs(f) > 1<<53:
		return 0, "is far out of range"
	}
	return int64(f), ""
}

// given describes a token as an error message shows what the file gave:
// `the string "rst"`, "the number 2.5", "true", "a list", "an object".
func given(tok json.Token) string {
	switch t := tok.(type) {
	case nil:
		return "null"
	case string:
		return fmt.Sprintf("the string %q", t)
	case json.Number:
		return "the number " + t.String()
	case bool:
		return fmt.Sprint(t)
	case json.Delim:
		if t == '[' {
			return "a list"
		}
		return "an object"
	}
	return fmt.Sprint(tok)
}

// wantOf says what the field at path (of kind v) takes, with an example
// drawn from the default configuration: "a whole number such as 2".
func wantOf(path string, v reflect.Value) string {
	js := func(x any) string {
		b, _ := json.Marshal(x)
		return string(b)
	}
	scenario := DefaultConfig().Also[0]
	field, _, _ := strings.Cut(path, "[")
	element := strings.HasSuffix(path, "]")
	var ex string // an example value, as JSON
	switch {
	case field == "also" && strings.Contains(path, "."):
		sv := reflect.ValueOf(scenario)
		i, _ := fieldIndex(sv.Type(), path[strings.LastIndexByte(path, '.')+1:])
		ex = js(sv.Field(i).Interface())
	case field == "also" && element:
		ex = js(scenario)
	case field == "also":
		ex = "[" + js(scenario) + "]"
	case field == "attack" && element:
		ex = `"rst"`
	case field == "attack":
		ex = `["rst"]`
	default:
		dv := reflect.ValueOf(DefaultConfig())
		i, _ := fieldIndex(dv.Type(), field)
		f := dv.Field(i)
		if element && f.Kind() == reflect.Slice && f.Len() > 0 {
			f = f.Index(0)
		}
		ex = js(f.Interface())
	}
	if ex == `""` {
		ex = `"none"`
	}
	switch v.Kind() {
	case reflect.String:
		return "a string such as " + ex
	case reflect.Int:
		return "a whole number such as " + ex
	case reflect.Bool:
		return "true or false"
	case reflect.Struct:
		return "a scenario such as " + ex
	case reflect.Slice:
		switch v.Type().Elem().Kind() {
		case reflect.String:
			return "a list of strings such as " + ex + ", or [] for none"
		case reflect.Int:
			return "a list of whole numbers such as " + ex
		case reflect.Struct:
			return "a list of scenarios such as " + ex + ", or [] for none"
		}
	}
	return v.Type().String()
}

// jsonName is the name of a field in JSON.
func jsonName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	if name == "" {
		return f.Name
	}
	return name
}

// jsonNames lists the JSON names of t's fields.
func jsonNames(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		out = append(out, jsonName(t.Field(i)))
	}
	return out
}

// fieldIndex finds the field of t named name in JSON, matching case as
// encoding/json does: exactly, else ignoring case.
func fieldIndex(t reflect.Type, name string) (int, bool) {
	fold := -1
	for i := range t.NumField() {
		n := jsonName(t.Field(i))
		if n == name {
			return i, true
		}
		if fold < 0 && strings.EqualFold(n, name) {
			fold = i
		}
	}
	return fold, fold >= 0
}
