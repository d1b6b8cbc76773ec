// Package explain answers the questions people ask about TCP connection
// management with traces the model checker produces: it finds the shortest
// path of the model to a situation (a [Goal] such as "both sides in
// CLOSING"), follows a mutant's counterexample on the correct table, and
// writes one Markdown page per question into docs/ (see [Pages] and
// [Generate]), each with the configuration, the segment table, a Mermaid
// sequence diagram, a saved trace file and a short reading.
//
// It also defines the saved trace file format ([Trace]) that `tcpcheck
// trace` renders and `tcpcheck browse` exports.
//
// The pages are kept current by a test that regenerates them into a
// temporary directory and compares them with the committed ones, and by a
// test that replays every page's trace through the model step by step.
package explain
