package model

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzParseConfig: whatever the bytes, ParseConfig returns a
// configuration or an error, never a panic; a configuration it accepts is
// valid, builds a system, and reads back the same after json.Marshal.
func FuzzParseConfig(f *testing.F) {
	for _, s := range []string{
		`{"incarnations": 1}`,
		`{"open": "simultaneous", "closer": "both", "loss": 2, "dup": 0}`,
		`{"also": [{"open": "client-server", "closer": "b", "incarnations": 1, "loss": 1, "dup": 0}]}`,
		`{"iss_a": [0, 80, 160], "iss_b": [60], "attack": ["rst"], "inject": 1}`,
		`{"zero_window": "both", "misuse": "a", "keepalive": 2}`,
		`{"write_a": 1e0, "also": null}`,
		"\xef\xbb\xbf{}",
		`{"abort": "a"} {"abort": "b"}`,
	} {
		f.Add([]byte(s))
	}
	for _, p := range Presets() {
		c, err := Preset(p)
		if err != nil {
			f.Fatal(err)
		}
		data, err := json.Marshal(c)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig(data)
		if err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("ParseConfig accepted an invalid configuration: %v", err)
		}
		if _, err := New(c); err != nil {
			t.Fatalf("ParseConfig accepted a configuration New refuses: %v", err)
		}
		out, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseConfig(out)
		if err != nil {
			t.Fatalf("its own JSON does not read back: %v\n%s", err, out)
		}
		if diff := cmp.Diff(c, back); diff != "" {
			t.Fatalf("read back differently (-first +again):\n%s", diff)
		}
	})
}
