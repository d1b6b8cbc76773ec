// Command bench measures tcpcheck's explorer against SPIN on the same
// abstract systems and writes docs/performance.md.
//
// For each configuration of increasing size it writes the configuration as
// JSON, runs `tcpcheck explore --config FILE --json` in exact and
// fingerprint mode with one and two workers, generates the Promela model of
// the same configuration (package bench/promela), compiles SPIN's verifier
// with exact storage and with -DCOLLAPSE, runs it exhaustively, checks that
// every run found the same number of states, and prints one table: states,
// seconds, states per second, bytes per state (each tool's own report and
// peak resident memory), and the ratios against SPIN. The machine and the
// exact commands are part of the report.
//
// Usage:
//
//	go run ./bench [-quick] [-out docs/performance.md] [-work DIR]
//	go run ./bench -gen   # rewrite bench/promela/tcp.pml
//	go run ./bench -from DIR/results.json   # render a kept run again
//
// -quick runs the two smallest configurations (under a minute). It needs
// spin and gcc (Debian packages spin and gcc).
package main
