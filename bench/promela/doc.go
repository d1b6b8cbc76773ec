// Package promela translates a tcpcheck model configuration into a Promela
// model for SPIN, so that the same abstract system can be explored by both
// checkers and their speed and memory compared (see docs/performance.md).
//
// [Generate] emits the transition table of package spec as Promela guards
// and actions (one nested lookup per state, event and guard outcome, built
// by asking spec.Machine) and hand-written Promela for the rest of package
// model's semantics: users, the network multiset with ages and budgets,
// ticks and timers, ghost state and violation bits. Every model transition
// is one d_step and the global state holds exactly the fields of a model
// key (sorted network, packed host fields), so SPIN's count of stored
// states equals the explorer's count for the same configuration.
//
// The translation covers configurations with one scenario (no
// Config.Also) and one ISS value per host; [Generate] rejects the others.
package promela
