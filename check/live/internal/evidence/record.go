package evidence

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Record is what one run showed: the segments on the wire in the order
// they were seen, the numbers a page cites, and how to run it again.
type Record struct {
	Name    string `json:"name"`
	Stack   string `json:"stack"`   // which TCP stacks ran, in words
	Repeat  string `json:"repeat"`  // the command that repeats the run
	Kernel  string `json:"kernel"`  // uname -r of a live run, "" over the mem link
	Comment string `json:"comment"` // what the run does, one or two sentences
	// Names labels the hosts of the diagram by IP address.
	Names    map[string]string `json:"names"`
	Segments []Seg             `json:"segments"`
	Notes    []Note            `json:"notes,omitempty"`
	Facts    []Fact            `json:"facts"`
	// Show is how many segments the table and diagram draw (0: all);
	// the numbers count them all.
	Show int `json:"show,omitempty"`
	// Pcap is the capture of a run that keeps one (testdata/NAME.pcap).
	Pcap []byte `json:"-"`
}

// Seg is one TCP segment seen on the wire. Seq and Ack are relative to the
// initial sequence numbers of their directions (the first SYN seen, else
// the first segment), as Wireshark shows them.
type Seg struct {
	T       time.Duration  `json:"t"` // since the run's first segment
	Src     netip.AddrPort `json:"src"`
	Dst     netip.AddrPort `json:"dst"`
	Flags   string         `json:"flags"` // "SYN,ACK"
	Seq     uint32         `json:"seq"`
	Ack     uint32         `json:"ack"`
	Len     int            `json:"len"`
	HdrLen  int            `json:"hdr"` // TCP header length in octets (data offset × 4)
	Win     uint16         `json:"win"`
	Options []Option       `json:"options,omitempty"`
	// Text is the start of the payload when it is printable (an HTTP
	// request line), for the table.
	Text string `json:"text,omitempty"`
	// RawSeq and RawAck are the numbers as sent.
	RawSeq uint32 `json:"raw_seq"`
	RawAck uint32 `json:"raw_ack"`
}

// Option is one TCP option of a segment, in the order sent.
type Option struct {
	Kind  uint8  `json:"kind"`
	Name  string `json:"name"` // MSS, NOP, WS, SACK-permitted, TS, SACK, EOL, or "kind N"
	Len   int    `json:"len"`  // octets it takes, kind and length included
	Value string `json:"value,omitempty"`
}

// Note is a remark placed after segment At (0: before the first).
type Note struct {
	At   int    `json:"at"`
	Text string `json:"text"`
}

// Fact is one number (or short result) a page cites.
type Fact struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Fact returns the value of the named fact, or "".
func (r *Record) Fact(name string) string {
	for _, f := range r.Facts {
		if f.Name == name {
			return f.Value
		}
	}
	return ""
}

func (r *Record) fact(name, format string, args ...any) {
	r.Facts = append(r.Facts, Fact{Name: name, Value: fmt.Sprintf(format, args...)})
}

func (r *Record) note(text string, args ...any) {
	r.Notes = append(r.Notes, Note{At: len(r.Segments), Text: fmt.Sprintf(text, args...)})
}

// OptionText lists a segment's options as "MSS 1460, SACK-permitted, TS, NOP, WS 7".
func (s Seg) OptionText() string {
	var out []string
	for _, o := range s.Options {
		if o.Value != "" && o.Name != "TS" {
			out = append(out, o.Name+" "+o.Value)
		} else {
			out = append(out, o.Name)
		}
	}
	return strings.Join(out, ", ")
}

// has reports whether the segment carries every flag of flags ("FIN",
// "SYN,ACK").
func (s Seg) has(flags string) bool {
	for _, f := range strings.Split(flags, ",") {
		if !strings.Contains(","+s.Flags+",", ","+f+",") {
			return false
		}
	}
	return true
}

// is reports whether the segment's flags are exactly flags, PSH aside.
func (s Seg) is(flags string) bool {
	var kept []string
	for _, f := range strings.Split(s.Flags, ",") {
		if f != "PSH" {
			kept = append(kept, f)
		}
	}
	return strings.Join(kept, ",") == flags
}

func (s Seg) text() string {
	out := fmt.Sprintf("%s seq=%d ack=%d len=%d", s.Flags, s.Seq, s.Ack, s.Len)
	if !s.has("ACK") {
		out = fmt.Sprintf("%s seq=%d len=%d", s.Flags, s.Seq, s.Len)
	}
	return out
}

// Render writes the record as the Markdown fragment a page shows: what
// ran and how to repeat it, the numbers, the segment table and a Mermaid
// sequence diagram.
func (r *Record) Render(w io.Writer) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s\n\n", r.Comment)
	fmt.Fprintf(&b, "Stacks: %s", r.Stack)
	if r.Kernel != "" {
		fmt.Fprintf(&b, " (Linux %s)", r.Kernel)
	}
	how := "deterministic: the same segments and numbers every time"
	if r.Kernel != "" {
		how = "as root: the test makes a private network namespace, prints the fresh run and checks it against the page; -update stores it"
	}
	fmt.Fprintf(&b, ".  \nRepeat: `%s` (%s)\n\n", r.Repeat, how)
	if len(r.Facts) > 0 {
		b.WriteString("| measured | value |\n|---|---|\n")
		for _, f := range r.Facts {
			fmt.Fprintf(&b, "| %s | %s |\n", f.Name, strings.ReplaceAll(f.Value, "|", "\\|"))
		}
		b.WriteString("\n")
	}
	show := len(r.Segments)
	if r.Show > 0 && r.Show < show {
		show = r.Show
	}
	notesAt := func(i int, emit func(string)) {
		for _, n := range r.Notes {
			if n.At == i {
				emit(n.Text)
			}
		}
	}
	// The fence is not "text": in docs/ a text block is a model trace that
	// `tcpcheck trace` reproduces (cmd/tcpcheck's docs test runs it).
	b.WriteString("```capture\n")
	fmt.Fprintf(&b, "%4s  %8s  %-21s    %-21s  %s\n", "#", "time", "from", "to", "segment")
	notesAt(0, func(s string) { fmt.Fprintf(&b, "%4s  %8s  -- %s\n", "", "", s) })
	for i, s := range r.Segments[:show] {
		line := fmt.Sprintf("%4d  %8.3f  %-21s -> %-21s  %s hdr=%d win=%d", i+1, s.T.Seconds(), s.Src, s.Dst, s.text(), s.HdrLen, s.Win)
		if len(s.Options) > 0 {
			line += " <" + s.OptionText() + ">"
		}
		if s.Text != "" {
			line += fmt.Sprintf(" %q", s.Text)
		}
		b.WriteString(line + "\n")
		notesAt(i+1, func(s string) { fmt.Fprintf(&b, "%4s  %8s  -- %s\n", "", "", s) })
	}
	if show < len(r.Segments) {
		fmt.Fprintf(&b, "      ... %d more segments, counted above\n", len(r.Segments)-show)
	}
	b.WriteString("```\n\n```mermaid\nsequenceDiagram\n")
	var order []string
	seen := map[string]bool{}
	for _, s := range r.Segments[:show] {
		for _, a := range []string{s.Src.Addr().String(), s.Dst.Addr().String()} {
			if !seen[a] {
				seen[a] = true
				order = append(order, a)
			}
		}
	}
	id := map[string]string{}
	for i, a := range order {
		id[a] = fmt.Sprintf("H%d", i+1)
		name := r.Names[a]
		if name == "" {
			name = a
		} else {
			name += " " + a
		}
		fmt.Fprintf(&b, "    participant %s as %s\n", id[a], name)
	}
	all := strings.Join(func() []string {
		var ids []string
		for _, a := range order {
			ids = append(ids, id[a])
		}
		return ids
	}(), ",")
	if len(order) == 1 {
		all = id[order[0]]
	}
	clean := strings.NewReplacer(";", ",", "#", "", "\n", " ").Replace
	mnote := func(s string) {
		if all != "" {
			fmt.Fprintf(&b, "    Note over %s: %s\n", all, clean(s))
		}
	}
	notesAt(0, mnote)
	for i, s := range r.Segments[:show] {
		label := s.text()
		if len(s.Options) > 0 {
			label += " hdr " + fmt.Sprint(s.HdrLen) + " (" + s.OptionText() + ")"
		}
		fmt.Fprintf(&b, "    %s->>%s: %s\n", id[s.Src.Addr().String()], id[s.Dst.Addr().String()], clean(label))
		notesAt(i+1, mnote)
	}
	b.WriteString("```\n")
	_, err := w.Write(b.Bytes())
	return err
}

// Fragment renders the record into a byte slice.
func (r *Record) Fragment() []byte {
	var b bytes.Buffer
	_ = r.Render(&b)
	return b.Bytes()
}

// Save writes the record as JSON to dir/NAME.json.
func (r *Record) Save(dir string) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("evidence: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, r.Name+".json"), append(data, '\n'), 0o644); err != nil {
		return fmt.Errorf("evidence: %v", err)
	}
	return nil
}

// Load reads a record saved by Save.
func Load(dir, name string) (*Record, error) {
	data, err := os.ReadFile(filepath.Join(dir, name+".json"))
	if err != nil {
		return nil, fmt.Errorf("evidence: no stored record of run %s (%v); make it as root with go test ./check/live/internal/evidence -run TestLive -update", name, err)
	}
	var r Record
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("evidence: %s.json: %v", name, err)
	}
	return &r, nil
}

// relativize rewrites Seq and Ack relative to each direction's initial
// sequence number and T relative to the first segment.
func relativize(segs []Seg, t0 time.Time, at []time.Time) {
	isn := map[[2]netip.AddrPort]uint32{}
	for _, s := range segs {
		k := [2]netip.AddrPort{s.Src, s.Dst}
		if s.has("SYN") {
			if _, ok := isn[k]; !ok {
				isn[k] = s.RawSeq
			}
		}
	}
	for _, s := range segs {
		k := [2]netip.AddrPort{s.Src, s.Dst}
		if _, ok := isn[k]; !ok {
			isn[k] = s.RawSeq
		}
	}
	for i := range segs {
		s := &segs[i]
		s.Seq = s.RawSeq - isn[[2]netip.AddrPort{s.Src, s.Dst}]
		if s.has("ACK") {
			if base, ok := isn[[2]netip.AddrPort{s.Dst, s.Src}]; ok {
				s.Ack = s.RawAck - base
			}
		}
		if at != nil {
			s.T = at[i].Sub(t0).Round(time.Microsecond)
		}
	}
}
