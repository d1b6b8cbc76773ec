// Package lin checks the real endpoint for linearizability with porcupine.
//
// [Run] starts two impl stacks on the udp link (loopback only) and joins
// them through a relay that loses, duplicates, reorders and delays
// datagrams. Many goroutines per connection dial, accept, write, read,
// half-close and abort; every call is recorded with its call and return
// times from one monotonic clock. The history is checked against [Model],
// derived from the user-visible semantics of RFC 9293 §3.10:
//
//   - each connection is a pair of byte streams: a read returns the
//     peer's octets in order and never octets not yet written; end of
//     stream comes only after the peer's half-close and after every octet
//     before it; "connection reset" only after the peer's abort;
//   - establishment: a successful Dial is matched by exactly one Accept of
//     the same 4-tuple (a census entry after the workload demands it), and
//     a Dial to a port without a listener is refused.
//
// The model is partitioned by connection and by 4-tuple, so the check
// stays fast. A check that times out is Unknown, reported as such.
//
// At scale: [Record] runs the workload and returns the history unchecked,
// [Check] checks it (porcupine checks the partitions in parallel and stops
// at the first one that is not linearizable), [Run] does both. Recording
// takes no lock: each client appends to a log of its own. The model's
// state keeps each byte stream as a chain of shared, immutable chunks, so a
// write adds one chunk and copies nothing, and two states are equal when
// their streams hold the same octets whatever the chunks. A history of
// about 110,000 operations over 1,000 connections checks in about 0.1 s on
// two cores (BenchmarkCheck100k; `go run ./bench` reports it).
//
// [Corrupt] changes a recorded history in one place no correct endpoint
// could produce (a forged octet, two reads swapped, a read before any
// write, a lost accept); the check must then say Illegal, which the tests,
// the bench and `tcpcheck lincheck --corrupt` show.
package lin
