// Package check is tcpcheck's explicit-state model checker: it explores
// every reachable state of a [model.System] breadth-first, checks the
// model's invariants on each, the Quiescence property on the explored
// graph, and reports the shortest counterexample, rendered as a segment
// table ([WriteTable]), a Mermaid sequence diagram ([WriteMermaid]) and a
// pcap capture ([WritePcap]).
//
// The search itself is package check/engine, which knows nothing of the
// model: [Explore] adapts the system to it (a state is its 64-byte
// model.Key, a transition's label its table row, the invariants
// System.Invariants) and turns the engine's result, whose counterexample
// is a path of successor numbers, into a [Result] whose [Violation] is
// rebuilt by re-running System.Next along that path. [Replay] checks a
// counterexample against the model, exploring from its last state for
// Quiescence. See check/engine for the storage modes, the worker-count
// independent numbering of states and the Quiescence check.
//
// Options.Shard splits a run into parts that separate processes explore;
// see [Shard], [WriteShard] and [Merge].
//
// Options.Properties narrows the check to named properties; `tcpcheck why`
// uses it to show the counterexample a mutant is about even when the
// mutant also breaks a restatement of the same rule a step earlier.
//
// A depth limit explores the states up to MaxDepth steps and then only
// probes for states beyond it; a state limit or a timeout abandons the
// level in progress. In each case the Result is Incomplete and names the
// limit; the counts are those of the levels finished.
package check
