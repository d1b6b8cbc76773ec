// Package kernel is tcpcheck's kernel conformance suite: scripted
// scenarios in which the Linux TCP stack is the peer of our endpoint, and
// in which what happens (the segments on the wire and both sides' states)
// is compared with what the model predicts.
//
// Each scenario is a text file of testdata/scenarios, compiled into the
// binary and parsed by [ParseScenario]: commands for both sides and the
// link, one a line, then after "----" the checkpoints they must reach, and
// the expected segment exchange (testdata/scenarios/README.md describes
// the format and every command). The suite runs every file there, in the
// order of their names; adding a scenario is adding a file.
//
// Each scenario gets a fresh stack on a fresh TUN link (package impl's
// TUNLink; our endpoint is 192.0.2.2, the kernel 192.0.2.1). The script
// drives both sides: our endpoint through its Go API, the kernel through
// ordinary sockets of package net, and the link's filter holds, drops or
// releases chosen packets to force an ordering (simultaneous open and
// close, lost ACKs). At every packet the kernel's state is read from
// /proc/net/tcp (mapped to RFC 9293 names by [ParseProcNetTCP]) and ours
// from the stack's tracer. Two predictors step spec.Machine over the same
// inputs, one per side: our side over the events our stack processed
// (whose row must be the one our stack applied), the kernel's over the
// segments written to it and the calls made on its sockets; they track
// SND.UNA, SND.NXT, RCV.NXT and the windows from the segments seen.
// Checkpoints of the script wait until the observed and predicted states
// agree with what the script expects, and the whole exchange is matched
// against the scenario's expected segment list: a partial order where the
// two sides send at once (chains of segments that may interleave), since
// the network gives no order between them.
//
// Every wait is for an event (a packet on the link and a transition of our
// endpoint wake the checkpoints; kernel timers are seen by reading
// /proc/net/tcp again at least every 20 ms), bounded by a budget that
// grows with the machine's load per GOMAXPROCS, so that busy CPUs beside
// the suite change how long it takes, not its verdicts.
//
// The generated conformance cases (check/live/tester with the Linux DUT
// check/live/dut/linuxdut) hold Linux against every row the socket API can
// drive; these scenarios keep what those cases cannot say: our endpoint
// and the kernel together (bulk text with loss, a kernel client of our
// listener), close() with unread data, TIME-WAIT's 60 s measured without
// waiting it out, and the errors the kernel's socket calls return on a
// reset or a refused connect (the cases read its state, not its errors).
// The scenarios those cases cover were dropped; docs/linux.md maps each to
// the cases that took its place.
//
// Where Linux differs from RFC 9293 and the table, the scenario says so: a
// Deviation (a "deviation:" paragraph of its file) names the RFC section,
// what the table does and what Linux does, and the run must show it (a checkpoint where the kernel is in one
// state and the model predicts another, or a measured value); a deviation
// that does not show is a failure, so docs/linux.md stays true.
//
// # Namespaces
//
// The suite creates a TUN device, an address and a route, which must never
// touch the host. It therefore runs in a network namespace of its own: the
// test binary (or the tcpcheck command) re-executes itself with
// impl.ReexecInPrivateNetns, which creates the child with CLONE_NEWNET as
// `unshare -n` does, so that every thread, socket and /proc/net/tcp read
// of the child is in the namespace; [Run] refuses to run elsewhere. The
// namespace disappears with the child. Moving the running process instead
// (unshare or setns on a locked thread) would leave the Go runtime free to
// create the kernel sockets on other threads, outside the namespace.
//
// The suite needs root and /dev/net/tun. Its tests skip without them,
// and fail instead when CI is "true".
//
// # Running
//
//	tcpcheck conform --peer kernel [--scenario NAME] [--list] [--full]
//	go test ./check/live/kernel -run TestSuite -kernel.scenario=NAME -v
//
// [Bulk] moves a stream between our endpoint and a kernel socket over a
// link that loses packets at random. TestBulkLossy does 5 MB each way with
// 3% loss; for the 100 MB figure run
//
//	go test ./check/live/kernel -run TestBulkLossy -kernel.bulk-mb=100 -v
//
// (on a 2-core VM with Linux 6.18: 1.8 s from us to the kernel, 47 s from
// the kernel to us, where the kernel, without SACK, waits out its 200 ms
// minimum RTO for most holes).
package kernel
