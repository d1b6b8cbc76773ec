// Package check is tcpcheck's explicit-state model checker: it explores
// every reachable state of a [model.System] breadth-first, checks the
// model's invariants on each, the Quiescence property on the explored
// graph, and reports the shortest counterexample, rendered as a segment
// table ([WriteTable]), a Mermaid sequence diagram ([WriteMermaid]) and a
// pcap capture ([WritePcap]).
//
// # Engine
//
// The search runs level by level on Options.Workers goroutines. The
// visited set is split into 256 shards by the top bits of a 64-bit
// fingerprint (a fixed-seed multiply-mix hash, so counts are
// reproducible); it is read without locks while a level is expanded and
// written, one shard per worker, between levels. It takes one of three
// forms:
//
//   - fingerprint mode keeps each shard's fingerprints sorted, cut into
//     buckets by their next bits and packed to the bits the bucket does
//     not imply: every fingerprint in about 6 bytes, looked up by
//     interpolation within its bucket. With Quiescence, which records the
//     graph by state index, an open-addressing table of fingerprints and
//     indices is used instead.
//   - Exact mode also stores every key and compares keys on a fingerprint
//     match, so hash collisions cannot merge states.
//   - Bitstate mode (SPIN's supertrace) sets k bits of a 2^m-bit table per
//     state; Result.Storage gives the expected number of states missed.
//
// How each state was reached (its parent and successor number) takes
// about 1.3 bytes: per level, a bit vector of the children of each state
// of the level before, and a byte per state. Outside exact mode the keys
// of the two levels in flight are delta-coded, each against the key
// stored before it.
//
// Options.Shard splits a run into parts that separate processes explore;
// see [Shard] and [Merge].
//
// States found in the level being expanded go to a level table that keeps,
// per state, the smallest claim (parent index, successor number). Between
// levels the new states are numbered in claim order, which is the order a
// one-worker breadth-first search discovers them; so the state numbering,
// the parent of each state, the counts and the reported counterexample
// are the same for any number of workers. A counterexample is the first
// violating state of the shallowest violating level in that order; its
// trace is rebuilt by re-running Next from the initial state along the
// recorded successor numbers, so fingerprint mode does not keep keys
// beyond the two levels in flight.
//
// Deadlocks (states with no successor that are not Quiescent) are counted
// in Result.Deadlocks. With Options.Quiescence a deadlock is a Quiescence
// violation, reported as soon as its level is expanded; after a complete
// search the engine builds the reverse graph of the recorded edges and
// marks backwards from the quiescent states: the first unmarked state is a
// Quiescence violation (no quiescent state is reachable from it).
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
