package gen

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"

	"github.com/tcpcheck/tcpcheck/spec"
)

// The diagram reads like RFC 9293 §3.3.2 Figure 5: the eleven states and
// the transitions that change state, each edge labelled "event [guard] /
// actions". Rows that stay in their state are left out, and so are the
// aborts (ABORT, a RST, R2, the user timeout, a SYN in the window), which
// lead from nearly every state to CLOSED (or LISTEN) and would bury the
// picture; docs/table.md has them all.

// edgeClass says which path of the classic picture an edge belongs to.
type edgeClass uint8

const (
	classOther  edgeClass = iota
	classClient           // active open and active close: bold
	classServer           // passive open and passive close: dashed
	classSimul            // simultaneous open and close: dotted, blue
)

// The paths of the classic picture, as sequences of states.
var (
	clientPath = []spec.State{spec.Closed, spec.SynSent, spec.Established, spec.FinWait1, spec.FinWait2, spec.TimeWait, spec.Closed}
	serverPath = []spec.State{spec.Closed, spec.Listen, spec.SynReceived, spec.Established, spec.CloseWait, spec.LastAck, spec.Closed}
	simulPath  = []spec.State{spec.SynSent, spec.SynReceived, spec.Established, spec.FinWait1, spec.Closing, spec.TimeWait}
)

// ranks places the states in rows from top to bottom, left to right, as
// the RFC draws them: the passive opener and the active closer on the left.
var ranks = [][]spec.State{
	{spec.Closed},
	{spec.Listen},
	{spec.SynReceived, spec.SynSent},
	{spec.Established},
	{spec.FinWait1, spec.CloseWait},
	{spec.FinWait2, spec.Closing, spec.LastAck},
	{spec.TimeWait},
}

// rankOf returns the rank holding s.
func rankOf(s spec.State) []spec.State {
	for _, r := range ranks {
		if slices.Contains(r, s) {
			return r
		}
	}
	return nil
}

// edge is one arrow of the diagram: the drawn rows from one state to
// another that belong to the same path.
type edge struct {
	from, to spec.State
	class    edgeClass
	lines    []string // "event, event [guard] / action, action", one per group of rows
}

// aborts reports whether r is an abort: a row the diagram leaves out
// because it leads from (almost) anywhere back to CLOSED or LISTEN.
func aborts(r spec.Row) bool {
	switch r.On {
	case spec.Abort, spec.SegRST, spec.RetriesExhausted, spec.UserTimeout, spec.KeepAliveExhausted:
		return true
	case spec.SegSYN, spec.SegSYNACK:
		return r.Actions().Has(spec.DeleteTCB)
	}
	return false
}

func follows(path []spec.State, from, to spec.State) bool {
	for i := 0; i+1 < len(path); i++ {
		if path[i] == from && path[i+1] == to {
			return true
		}
	}
	return false
}

func classify(r spec.Row) edgeClass {
	switch {
	case strings.Contains(strings.ToLower(r.Note), "simultaneous"):
		return classSimul
	case follows(clientPath, r.From, r.To):
		return classClient
	case follows(serverPath, r.From, r.To):
		return classServer
	case follows(simulPath, r.From, r.To):
		return classSimul
	}
	return classOther
}

// shownGuard renders the guard of a drawn row without the literals SeqOK
// and AckInRange, which every accepted segment in a synchronized state
// needs and which would repeat on every segment edge.
func shownGuard(c spec.Cond) string {
	var parts []string
	for _, l := range c.Lits() {
		if !l.Neg && (l.G == spec.SeqOK || l.G == spec.AckInRange) {
			continue
		}
		p := l.G.String()
		if l.Neg {
			p = "!" + p
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, " & ")
}

// shownActions lists what a drawn row sends, and its timer and TCB
// actions; segment bookkeeping and user signals are in the table.
func shownActions(r spec.Row) []string {
	var out []string
	for _, a := range r.Do {
		if a.Sends() || a == spec.StartTimeWait || a == spec.DeleteTCB {
			out = append(out, a.String())
		}
	}
	return out
}

// edges returns the drawn edges in order of their first row, and the
// events of the rows left out as aborts, in order of first appearance.
func edges(rows []spec.Row) ([]edge, []spec.Event) {
	type group struct {
		guard, actions string
		events         []string
	}
	var out []edge
	var groups [][]group // per edge, in order of first row
	var omitted []spec.Event
	for _, r := range rows {
		if r.From == r.To {
			continue
		}
		if aborts(r) {
			if !slices.Contains(omitted, r.On) {
				omitted = append(omitted, r.On)
			}
			continue
		}
		c := classify(r)
		i := slices.IndexFunc(out, func(e edge) bool { return e.from == r.From && e.to == r.To && e.class == c })
		if i < 0 {
			i = len(out)
			out = append(out, edge{from: r.From, to: r.To, class: c})
			groups = append(groups, nil)
		}
		g := group{guard: shownGuard(r.When), actions: strings.Join(shownActions(r), ", ")}
		j := slices.IndexFunc(groups[i], func(h group) bool { return h.guard == g.guard && h.actions == g.actions })
		if j < 0 {
			j = len(groups[i])
			groups[i] = append(groups[i], g)
		}
		groups[i][j].events = append(groups[i][j].events, r.On.String())
	}
	for i := range out {
		for _, g := range groups[i] {
			line := strings.Join(g.events, ", ")
			if g.guard != "" {
				line += " [" + g.guard + "]"
			}
			if g.actions != "" {
				line += " / " + g.actions
			}
			out[i].lines = append(out[i].lines, line)
		}
	}
	return out, omitted
}

func eventList(es []spec.Event) string {
	var s []string
	for _, e := range es {
		s = append(s, e.String())
	}
	return strings.Join(s, ", ")
}

func nodeID(s spec.State) string { return strings.ReplaceAll(s.String(), "-", "_") }

// dotQuote quotes s for DOT, turning newlines into centred line breaks.
func dotQuote(s string) string {
	s = strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s)
	return `"` + strings.ReplaceAll(s, "\n", `\n`) + `"`
}

// dotLeft quotes s for DOT with every line left-justified.
func dotLeft(s string) string {
	q := dotQuote(s)
	return strings.ReplaceAll(q[:len(q)-1], `\n`, `\l`) + `\l"`
}

// DOT writes the state diagram of spec.Table() in Graphviz's language.
func DOT(w io.Writer) error {
	b := bufio.NewWriter(w)
	es, omitted := edges(spec.Table())
	fmt.Fprintln(b, "// Code generated by \"go run ./gen/cmd/tcpgen\"; DO NOT EDIT.")
	fmt.Fprintln(b, "// The TCP connection state diagram (RFC 9293 §3.3.2), drawn from spec.Table().")
	fmt.Fprintln(b, "digraph tcp {")
	fmt.Fprintln(b, "\tgraph [rankdir=TB, nodesep=0.8, ranksep=1.0, fontname=\"Helvetica\", labelloc=t, fontsize=18,")
	fmt.Fprintln(b, "\t\tlabel=\"TCP connection states (RFC 9293 §3.3.2), generated from spec.Table()\"];")
	fmt.Fprintln(b, "\tnode [shape=box, style=\"rounded,filled\", fillcolor=\"#f4f4f4\", fontname=\"Helvetica-Bold\", fontsize=14, width=1.8, height=0.5];")
	fmt.Fprintln(b, "\tedge [fontname=\"Helvetica\", fontsize=10, arrowsize=0.8];")
	for _, rank := range ranks {
		fmt.Fprint(b, "\t{ rank=same;")
		for _, s := range rank {
			fmt.Fprintf(b, " %s [label=%s];", nodeID(s), dotQuote(s.String()))
		}
		fmt.Fprintln(b, " }")
		for i := 0; i+1 < len(rank); i++ { // keep the left-to-right order
			fmt.Fprintf(b, "\t%s -> %s [style=invis];\n", nodeID(rank[i]), nodeID(rank[i+1]))
		}
	}
	for _, e := range es {
		attrs := []string{"label=" + dotQuote(strings.Join(e.lines, "\n"))}
		switch e.class {
		case classClient:
			attrs = append(attrs, "style=bold", "penwidth=2.5")
		case classServer:
			attrs = append(attrs, "style=dashed", "penwidth=1.5")
		case classSimul:
			attrs = append(attrs, "style=dotted", "penwidth=2", `color="#1f5fbf"`, `fontcolor="#1f5fbf"`)
		default:
			attrs = append(attrs, `color="#555555"`, `fontcolor="#333333"`)
		}
		fmt.Fprintf(b, "\t%s -> %s [%s];\n", nodeID(e.from), nodeID(e.to), strings.Join(attrs, ", "))
	}
	legend := "bold: active open and active close (client)\n" +
		"dashed: passive open and passive close (server)\n" +
		"dotted blue: simultaneous open and simultaneous close\n" +
		"[guards] omit SeqOK and AckInRange; actions omit bookkeeping and user signals\n" +
		"not drawn: rows that keep the state, and aborts (" + eventList(omitted) + ")\n" +
		"that lead to CLOSED, or back to LISTEN after a passive open: see docs/table.md"
	fmt.Fprintf(b, "\tlegend [shape=note, style=filled, fillcolor=\"#fffbe6\", fontname=\"Helvetica\", fontsize=10, label=%s];\n",
		dotLeft(legend))
	fmt.Fprintf(b, "\t%s -> legend [style=invis];\n", nodeID(ranks[len(ranks)-1][0]))
	fmt.Fprintln(b, "}")
	if err := b.Flush(); err != nil {
		return fmt.Errorf("gen: writing DOT: %w", err)
	}
	return nil
}

// mermaidText makes a label safe for Mermaid, where ";" ends a statement
// and ":" separates the label.
func mermaidText(s string) string {
	return strings.NewReplacer(";", ",", ":", " -", "#", "", "\n", "<br>").Replace(s)
}

// Mermaid writes the state diagram of spec.Table() as a Mermaid
// stateDiagram-v2, for Markdown renderers such as GitHub's.
func Mermaid(w io.Writer) error {
	b := bufio.NewWriter(w)
	es, _ := edges(spec.Table())
	fmt.Fprintln(b, "stateDiagram-v2")
	fmt.Fprintln(b, "    %% Generated from spec.Table() by go run ./gen/cmd/tcpgen, do not edit.")
	for _, s := range spec.States() {
		fmt.Fprintf(b, "    state %q as %s\n", s.String(), nodeID(s))
	}
	fmt.Fprintf(b, "    [*] --> %s\n", nodeID(spec.Closed))
	for _, e := range es {
		label := strings.Join(e.lines, "\n")
		if e.class == classSimul {
			label = "(simultaneous) " + label
		}
		fmt.Fprintf(b, "    %s --> %s : %s\n", nodeID(e.from), nodeID(e.to), mermaidText(label))
	}
	// Transitions cannot be styled in Mermaid; the states are, by path.
	fmt.Fprintln(b, "    classDef client stroke-width:3px")
	fmt.Fprintln(b, "    classDef server stroke-dasharray:5 5")
	fmt.Fprintln(b, "    classDef simul stroke:#1f5fbf,stroke-dasharray:2 2")
	for _, c := range []struct {
		name string
		on   func(spec.State) bool
	}{
		{"client", func(s spec.State) bool { return onPath(clientPath, s) && !onPath(serverPath, s) }},
		{"server", func(s spec.State) bool { return onPath(serverPath, s) && !onPath(clientPath, s) }},
		{"simul", func(s spec.State) bool { return !onPath(serverPath, s) && !onPath(clientPath, s) }},
	} {
		var ids []string
		for _, s := range spec.States() {
			if c.on(s) {
				ids = append(ids, nodeID(s))
			}
		}
		if len(ids) > 0 {
			fmt.Fprintf(b, "    class %s %s\n", strings.Join(ids, ", "), c.name)
		}
	}
	if err := b.Flush(); err != nil {
		return fmt.Errorf("gen: writing Mermaid: %w", err)
	}
	return nil
}

func onPath(path []spec.State, s spec.State) bool {
	for _, p := range path {
		if p == s {
			return true
		}
	}
	return false
}

// SVG renders the DOT diagram with Graphviz's dot. The error wraps ErrNoDot
// when dot is not installed.
func SVG(w io.Writer) error {
	dot, err := exec.LookPath("dot")
	if err != nil {
		return ErrNoDot
	}
	var src, out, stderr bytes.Buffer
	if err := DOT(&src); err != nil {
		return err
	}
	cmd := exec.Command(dot, "-Tsvg")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = &src, &out, &stderr
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return fmt.Errorf("gen: dot -Tsvg failed: %v: %s", err, strings.TrimSpace(stderr.String()))
		}
		return fmt.Errorf("gen: running dot: %w", err)
	}
	if _, err := w.Write(out.Bytes()); err != nil {
		return fmt.Errorf("gen: writing SVG: %w", err)
	}
	return nil
}
