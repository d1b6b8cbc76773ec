// Package gen derives code and documents from the transition table of
// package spec, in the manner of golang.org/x/tools/cmd/stringer: it writes
// into a buffer, stamps the standard "Code generated ... DO NOT EDIT."
// header and formats the result with go/format.
//
// From spec.Table() it writes
//   - model/zz_step.go: step(state, event, GuardSet) for the model checker,
//     one switch on state and event, rows matched by guard masks;
//   - impl/zz_step.go: step(state, event, *spec.Ctx) for the endpoint, which
//     evaluates only the guards that decide between rows;
//   - docs/table.md, docs/states.dot, docs/states.mmd and docs/states.svg
//     (the last with Graphviz), and the Mermaid diagram in README.md.
//
// Run it with `go generate ./...`. A test regenerates everything into a
// temporary directory and fails on any difference from the committed files.
// The command line (tcpcheck table, tcpcheck diagram) prints through the
// same functions, so the docs and the CLI never disagree.
package gen
