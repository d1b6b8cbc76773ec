// Package tester holds the transition table against TCP stacks nobody here
// wrote: it generates conformance cases from the table's state space and
// runs them against a device under test (package check/live/dut), playing
// the DUT's peer at the segment level.
//
// # The expectation
//
// Every expected segment and state comes from the table: spec.TCB stepped
// through a spec.Machine for the DUT's side ([Model]). What the DUT
// chooses (its ISS, its receive window) is learned from what it sends: a
// step that sends a SYN takes SEG.SEQ of the DUT's SYN as its ISS, and the
// window the DUT advertised gives RCV.WND. No code of the reference
// endpoint (package impl) takes part. Around the table the tester follows
// the rules package spec documents: an acceptable segment with text or FIN
// that begins after RCV.NXT is held for later processing (spec.State
// HoldsOutOfOrder), answered at once by a duplicate ACK (RFC 5681 §4.2);
// a retransmission of an earlier segment is allowed at any time in a
// state whose retransmission timer runs (the table's RTO row); and a
// connection deleted while its listener is open leaves the listener's
// LISTEN as the TCB for the 4-tuple.
//
// # Cases
//
// [Generate] searches breadth-first over the DUT's side: each node is
// what the tester knows (the DUT's predicted TCB, the tester's sequence
// numbers, the sockets the user holds), each edge a move: a socket call
// (listen, connect, write, shutdown-write, abort, close of the listener;
// a CLOSE row is also run with close() in place of shutdown-write),
// a segment the tester builds, or a timer it waits for. A segment move
// names its SEG.SEQ and SEG.ACK by the TCB variables they are taken from
// ([SeqRef], [AckRef]): RCV.NXT, RCV.NXT-1, RCV.NXT+RCV.WND-1,
// RCV.NXT+RCV.WND, RCV.NXT+1, IRS; SND.NXT, SND.UNA, SND.UNA+1, SND.NXT+1,
// SND.UNA-1, SND.UNA-MAX.SND.WND and one less. For every row the first
// node (shortest path) at which some move selects it gives the row's main
// case; the other moves there that select it, one number changed at a
// time, are its boundary cases; again from the first node with text of the
// DUT in flight (where SND.UNA < SND.NXT separates the ACK edges); and,
// with the tester's ISN near 2^32, the wrap variants. A timer ends a case:
// the retransmission timer (before giving up, as many retransmissions as
// the DUT's retry limit), 2MSL, and on an idle connection the keepalive
// timer, for whose cases the DUT runs with keep-alive on
// (dut.Config.KeepAlive: 1 s idle, 1 s apart, 2 probes; before giving up
// the tester waits for the 2 probes and leaves them unanswered). Rows no move
// reaches are listed with the reason: not drivable through a socket API,
// or unreachable. The cases take the model as a parameter, so a mutated
// table, mutated guards ([Model.Guards]) or mutated timing give another
// suite.
//
// [GenerateAll] adds the coverage family's cases ([Suite.AddFamily]): for
// every row a member of check's coverage family (`tcpcheck coverage`)
// applies, the member's shortest trace to the row, translated for the
// host that applies it last: its user's calls become socket calls, each
// segment delivered or injected to it becomes the tester's segment that
// selects the same row (preferring the one that stands where the trace's
// segment stands against RCV.NXT, SND.UNA and SND.NXT), its timers become
// waits, and the other host, the network and the attacker are the
// tester's to play. The model only chooses the path: the expectation is
// still spec.TCB's. A trace that needs a call no socket API makes leaves
// the row not drivable, with the reason ([Suite.Family]).
//
// # Verdicts
//
// A case agrees when, at every move, the DUT sent exactly the segments
// the table says (control bits SYN, FIN, RST and ACK, SEG.SEQ, SEG.ACK
// where ACK is set, text length, and text that is what the user wrote at
// that offset of the stream; nothing where the row sends nothing, within
// [Options.Quiet]) and, where the DUT exposes its state, moved to the
// row's state; where the row signals the user that the connection
// failed (spec.SignalReset, SignalRefused, SignalTimeout) and the user
// still holds the socket, the socket reports that signal (dut.Conn's
// Signal: ECONNRESET, ECONNREFUSED, ETIMEDOUT), compared once the
// segments and the state agree; and, at the end of a case whose connection is still
// synchronized, the user reads exactly the text the table delivered (the
// tester's text is a function of its sequence number, so misplaced text
// shows) and the end of stream when the peer's FIN was accepted. Otherwise the behaviour, rendered in the table's terms
// (signature), is looked up among the DUT's registered deviations
// (dut.Deviation): a match is a deviation, anything else a disagreement,
// printed as a segment table ([Result.Table]). A call the DUT's API cannot
// make is not drivable, with the reason; a case that waits for a timer the
// DUT keeps long whatever is asked (Linux's 60 s TIME-WAIT) needs --full
// ([SplitFull]). Every wait is bounded, so a DUT
// that stops answering or answers garbage ends its case with a verdict.
package tester
