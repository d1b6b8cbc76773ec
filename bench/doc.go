// Command bench measures tcpcheck beside its peers and writes
// docs/performance.md: the explorer against SPIN on the same abstract
// systems (below), the endpoint against the Linux kernel's TCP on loopback
// (endpoint.go: handshake+close cycles at concurrency 1 and 4,
// request/response latency with a raw UDP round trip as the floor, bulk
// goodput; ours and the kernel's runs alternate), and porcupine checking a
// history of 100,000 operations over 1,000 connections recorded from the
// endpoint (lin.go). Every target of issue 8 is in one table at the top,
// with the figure it was judged on.
//
// For each configuration of increasing size it writes the configuration as
// JSON, generates the Promela model of the same configuration (package
// bench/promela), compiles SPIN's verifiers (exact storage, -DCOLLAPSE and
// -DNCORE=2), then runs `tcpcheck explore --config FILE --json` in exact
// and fingerprint mode with one and two workers and each verifier
// exhaustively, all of them in -rounds rounds (3 by default, the median
// kept with its spread: a shared machine's speed drifts by several percent
// from one minute to the next), checks that every run found the same
// number of states, and prints one table: states,
// seconds, states per second, bytes per state (each tool's own report and
// peak resident memory), and the ratios against SPIN. The machine and the
// exact commands are part of the report.
//
// Usage:
//
//	go run ./bench [-quick] [-rounds N] [-parts explorer,endpoint,lin] [-out docs/performance.md] [-work DIR]
//	go run ./bench -gen   # rewrite bench/promela/tcp.pml
//	go run ./bench -from DIR/results.json   # render a kept run again
//
// The report is printed; it is written to a file only when -out names
// one, and -out docs/performance.md (the committed report) is refused with
// -quick, whose figures are not the docs'.
//
// -quick runs the two smallest configurations and shorter endpoint and
// porcupine runs (under a minute). The explorer comparison needs spin and
// gcc (Debian packages spin and gcc).
package main
