package capture

import (
	"fmt"
	"io"
	"strings"
)

// WriteText writes the report on one connection for a person: a heading
// with the verdict, the state line of each host, the named deviations,
// and for a connection that does not conform the finding with a segment
// table around it and the rows that could have applied.
func (rep *ConnReport) WriteText(w io.Writer) error {
	var b strings.Builder
	verdict := "conforms"
	switch {
	case rep.Finding != nil:
		verdict = fmt.Sprintf("DOES NOT CONFORM: frame %d", rep.Finding.Frame)
	case !rep.Conforms:
		verdict = "DOES NOT CONFORM (--strict: named deviations)"
	case len(rep.Deviations) > 0:
		verdict = "conforms, with named deviations"
	}
	fmt.Fprintf(&b, "connection %d: %s -> %s, frames %d-%d (%d segments): %s\n", rep.ID, rep.Client, rep.Server,
		rep.FirstFrame, rep.LastFrame, rep.Segments, verdict)
	if rep.MidStart {
		fmt.Fprintf(&b, "  the capture starts after the connection opened: states inferred from the first segments\n")
	}
	if rep.Older {
		fmt.Fprintf(&b, "  the server answers the client's SYN for a connection it had before (half-open): its first state inferred from that answer\n")
	}
	for _, h := range []struct {
		name   string
		states []string
	}{{"client", rep.ClientStates}, {"server", rep.ServerStates}} {
		if len(h.states) == 0 {
			// A capture that starts after the connection opened infers a
			// host's states from its segments: this host sent none.
			fmt.Fprintf(&b, "  %s: (not known: the capture shows no segment from it)\n", h.name)
			continue
		}
		fmt.Fprintf(&b, "  %s: %s\n", h.name, strings.Join(h.states, " "))
	}
	for _, d := range rep.Deviations {
		fmt.Fprintf(&b, "  named deviation %s (%s): %d times, first at frame %d\n", d.Name, d.Where, d.Count, d.FirstFrame)
		if d.Detail != "" {
			fmt.Fprintf(&b, "    first: %s\n", d.Detail)
		}
	}
	if rep.BadChecksums > 0 {
		fmt.Fprintf(&b, "  %d segments with a wrong TCP checksum (checked anyway: loopback and checksum offload capture them so)\n", rep.BadChecksums)
	}
	if rep.OldCopies > 0 {
		fmt.Fprintf(&b, "  %d segments are copies from the 4-tuple's earlier incarnation\n", rep.OldCopies)
	}
	if rep.CapturedTwice > 0 {
		fmt.Fprintf(&b, "  %d segments were captured twice (the same segment again within a millisecond)\n", rep.CapturedTwice)
	}
	if f := rep.Finding; f != nil {
		fmt.Fprintf(&b, "  frame %d: the %s sent %s, which no delivery of the captured segments explains:\n", f.Frame, f.Host, f.Segment)
		for _, r := range f.Reasons {
			fmt.Fprintf(&b, "    - %s\n", r)
		}
		fmt.Fprintf(&b, "  %6s  %-15s  %-6s  %-44s  %6s\n", "frame", "time", "from", "segment", "window")
		for _, r := range rep.Table {
			fmt.Fprintf(&b, "  %6d  %-15s  %-6s  %-44s  %6d  %s\n", r.Frame, r.Time, r.From, r.Segment, r.Window, r.Note)
		}
		if len(f.Rows) > 0 {
			fmt.Fprintf(&b, "  rows that could have applied:\n")
			for _, r := range f.Rows {
				fmt.Fprintf(&b, "    %s\n", r)
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
