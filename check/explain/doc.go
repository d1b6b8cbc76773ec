// Package explain answers the questions people ask about TCP connection
// management with traces the model checker produces: it finds the shortest
// path of the model to a situation (a [Goal] such as "both sides in
// CLOSING"), follows a mutant's counterexample on the correct table, and
// writes one Markdown page per question into docs/ (see [Pages] and
// [Generate]), each with the configuration, the segment table, a Mermaid
// sequence diagram, a saved trace file and a short reading.
//
// Each page is a Markdown file of check/explain/pages, compiled into the
// binary: a small header (its place in the index, what Linux does in the
// same case: cases of the generated conformance suite or kernel scenarios,
// and related pages), the question, the answer, and one section per scene whose
// first lines name a registered goal or a mutant (see [ParsePage]; pages/README.md
// describes the format and lists the goals). Adding
// a page is adding a file there and running go generate ./...; a new kind
// of goal is one entry of the goal registry in pages.go ([GoalNames]).
//
// The pages about connections in use also show runs of the endpoint and of
// Linux (a scene "run: NAME", [RunScene]): fragments rendered by go
// generate from the records of package check/live/internal/evidence, whose
// tests make the runs again and check what the pages say of them; this
// package only embeds the rendered text ([RunFragment]).
//
// It also defines the saved trace file format ([Trace]) that `tcpcheck
// trace` renders and `tcpcheck browse` exports.
//
// The pages are kept current by a test that regenerates them into a
// temporary directory and compares them with the committed ones, and by a
// test that replays every page's trace through the model step by step.
package explain
