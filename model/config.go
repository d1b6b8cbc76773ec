package model

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
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
}

// Limits of the knobs.
const (
	maxWrite       = 3
	maxIncarnation = 3
	maxMSL         = 4
	maxBudget      = 3
	maxRetries     = 3
	maxISS         = 160
)

// DefaultConfig returns the configuration `tcpcheck explore` uses with no
// flags: client-server, A closes first, A writes 1 octet and B 1 octet, two
// incarnations whose ISNs differ by 8 (more than an incarnation can use),
// one loss, one duplication, reordering, MSL 2, one retry. It has 1,491,273
// states.
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
	}
}

// Presets returns the named configurations: "small" (one incarnation, no
// faults, FIFO: 76 states), "default" ([DefaultConfig]: 1,491,273 states)
// and "large" (the default with a duplication budget of 2, for benchmarks:
// 12,263,643 states).
func Presets() []string { return []string{"small", "default", "large"} }

// Preset returns a named configuration (see [Presets]).
func Preset(name string) (Config, error) {
	c := DefaultConfig()
	switch name {
	case "default":
	case "small":
		c.Incarnations, c.Loss, c.Dup, c.Reorder = 1, 0, 0, false
	case "large":
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
	if c.Open != "client-server" && c.Open != "simultaneous" {
		bad("open is %q; want \"client-server\" or \"simultaneous\"", c.Open)
	}
	if c.Closer != "a" && c.Closer != "b" && c.Closer != "both" {
		bad("closer is %q; want \"a\", \"b\" or \"both\"", c.Closer)
	}
	if c.Abort != "none" && c.Abort != "a" && c.Abort != "b" {
		bad("abort is %q; want \"none\", \"a\" or \"b\"", c.Abort)
	}
	rng := func(name string, v, lo, hi int) {
		if v < lo || v > hi {
			bad("%s is %d; want %d..%d", name, v, lo, hi)
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
	if top := maxISS + 32*(maxIncarnation-1) + 8; top > 255 {
		// The abstract sequence space is a byte; this guards the limits above.
		bad("internal: ISS limits exceed the sequence space (%d)", top)
	}
	return errors.Join(errs...)
}

// LoadConfig reads a JSON configuration file. Fields not given keep the
// values of [DefaultConfig]; unknown fields are errors.
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("model: reading config: %w", err)
	}
	return ParseConfig(data)
}

// ParseConfig is [LoadConfig] for JSON already in memory.
func ParseConfig(data []byte) (Config, error) {
	c := DefaultConfig()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Config{}, fmt.Errorf("model: config JSON: %w", err)
	}
	if dec.More() {
		return Config{}, errors.New("model: config JSON: trailing data after the object")
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}
