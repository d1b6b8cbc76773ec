// Package engine is tcpcheck's explicit-state search: a parallel
// breadth-first exploration of a transition system whose states are byte
// strings of a fixed size. It knows nothing of TCP or of the model; the
// explorer (package check) adapts a model.System to it, and check/explain
// uses it to find the shortest path to a page's goal.
//
// A caller describes its system with a [Space] (the key size, the initial
// states, the number of transition labels) and an [Expander] per worker
// (successors in a fixed order, the first invariant a state breaks, and
// whether a state is quiescent), and calls [Run] with [Options]. The
// [Result] says how many states and transitions were explored, which labels
// were applied, and, when a property is broken, the shortest
// counterexample as a path: the initial state's number and, for each step,
// the successor's position in Next's list. The caller rebuilds the trace
// by re-running its own successor function along that path, so the engine
// need not keep keys beyond the two levels in flight.
//
// # Search
//
// The search runs level by level on Options.Workers goroutines. States
// found in the level being expanded go to a level table that keeps, per
// state, the smallest claim (parent index, successor number). Between
// levels the new states are numbered in claim order, which is the order a
// one-worker breadth-first search discovers them; so the state numbering,
// the parent of each state, the counts and the reported counterexample are
// the same for any number of workers. Each worker expands first the
// states it found itself, in the order it found them, and then takes what
// is left of the others' from the end: neighbouring states share many
// successors, and one worker meeting them answers most from its own cache
// (below) instead of both looking them up in the level table. A
// counterexample is the first
// violating state of the shallowest violating level in that order. A goal
// "some state satisfies X" is checked as the invariant "no state satisfies
// X": its counterexample is the shortest witness, the first in that order.
//
// # Storage
//
// The visited set is split into 256 shards by the top bits of a 64-bit
// fingerprint (a fixed-seed multiply-mix hash, so counts are
// reproducible); it is read without locks while a level is expanded and
// written, one shard per worker, between levels. It takes one of three
// forms:
//
//   - fingerprint mode keeps each shard's fingerprints sorted, cut into
//     buckets by their next bits and packed to the whole bytes that hold
//     the bits the bucket does not imply: every fingerprint in about 6
//     bytes, looked up by interpolation within its bucket. A level is
//     merged into a shard by copying the runs of old entries between the
//     new ones. With Quiescence, which records the graph by state index,
//     an open-addressing table of fingerprints and indices is used
//     instead.
//   - Exact mode also stores every key (long keys collapsed into interned
//     16-byte chunks, as SPIN's COLLAPSE mode does) in a table whose slot
//     is one word, 32 bits of the fingerprint and the state's index, and
//     compares keys whenever those bits match, so hash collisions cannot
//     merge states.
//   - Bitstate mode (SPIN's supertrace) sets k bits of a 2^m-bit table per
//     state; Result.Storage gives the expected number of states missed.
//
// Between levels the workers place the new states together: they number
// them in claim order (each asking for the candidates a few states ahead,
// so that the misses overlap), intern their chunks (a chunk already
// interned is found without a lock; only a new one takes its position's
// lock) and add them to the visited set's shards. Every hash table but
// bitstate's (which may stay sparse) is written page by page when it is
// made, before it is probed: a probe of a page the kernel has not yet
// given would map the shared zero page, and the write after it would cost
// an interrupt to every other processor.
//
// Each worker keeps a small cache (at most about 2 MiB) of the states it
// met lately, with their keys in exact mode: successors of states expanded
// one after another are often the same states, and those it holds need no
// lookup in the visited set or the level table (a state found in the level
// being expanded is skipped only when the worker found it with a claim no
// larger, so the smallest claim still wins). The cache is not used when
// the Quiescence check records the graph, which needs every edge's target
// by index. A worker expands states in batches of 16 and looks their
// successors up in passes over the whole batch, each pass prefetching
// (PREFETCHT0 on amd64) what the next one reads: the cache, the visited
// set's first and second places, the level table's slot. So the cache
// misses of a batch's lookups are in flight together instead of one after
// another, which is where the search spends its time once the visited set
// outgrows the processor's caches.
//
// How each state was reached (its parent and successor number) takes
// about 1.3 bytes: per level, a bit vector of the children of each state
// of the level before, and a byte per state. Outside exact mode the keys
// of the two levels in flight are delta-coded, each against the key
// stored before it.
//
// # Quiescence, deadlocks and limits
//
// Deadlocks (states with no successor that are not Quiescent) are counted
// in Result.Deadlocks. With Options.Quiescence a deadlock is a Quiescence
// violation, reported as soon as its level is expanded; after a complete
// search the engine builds the reverse graph of the recorded edges and
// marks backwards from the quiescent states: the first unmarked state is a
// Quiescence violation (no quiescent state is reachable from it).
//
// A depth limit explores the states up to MaxDepth steps and then only
// probes for states beyond it; a state limit or a timeout abandons the
// level in progress. In each case the Result is not Complete and names the
// limit; the counts are those of the levels finished.
//
// Options.ShardN splits a run into parts that separate processes explore:
// every part explores breadth-first to the first level wide enough, keeps
// the states of it whose fingerprint falls in its part, and explores what
// they lead to; Options.Visited lists the fingerprints for a merge.
package engine
