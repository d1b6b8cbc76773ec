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
package lin
