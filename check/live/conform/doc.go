// Package conform checks the real endpoint (package impl) against the
// table of package spec, the way the model reads it.
//
// [Checker] is trace conformance: it takes the transitions an impl.Stack
// reports to its Tracer (or reads them back from a file, [ReadTrace]) and
// replays them through spec.NewMachine(spec.Table()), the model's step,
// never the endpoint's own. For each connection it keeps a shadow TCB of
// the variables the guards read (RFC 9293 §3.3.1: ISS, IRS, SND.UNA,
// SND.NXT, RCV.NXT, the advertised window, MAX.SND.WND, the FIN sent, the
// passive flag), computed from the recorded segments alone: the event is
// re-derived with spec.Classify, the guards are evaluated over the shadow
// TCB and the recorded segment, and the row the reference table chooses
// decides the next state and how the shadow moves. A recorded transition
// conforms when the endpoint applied that row (same index, same next
// state) and what it sent is what the row's actions send: a SYN for send
// SYN, an ACK carrying the shadow RCV.NXT for send ACK, a RST for send RST
// or reply RST (with the fields of RFC 9293 §3.10.7.1), new text at the
// shadow SND.NXT, retransmissions inside [SND.UNA-1, SND.NXT), and nothing
// a row did not ask for. The first transition that does not conform is
// reported as a [*Divergence], rendered as a segment table of the steps
// leading to it.
//
// RCV.WND is the one guard input the trace does not determine (it depends
// on how much the user has read): the checker knows it lies between the
// window last advertised and the receive buffer, and accepts a row that one
// of the two bounds selects (the acceptability test is monotone in the
// window).
//
// Beside conformance the checker holds two of the model's properties that
// a single endpoint's trace can show: TimeWaitHeld (a connection leaves
// TIME-WAIT by the 2MSL timer only 2*MSL after it last entered or
// restarted it, and only a side that sent its FIN before it received the
// peer's enters TIME-WAIT).
//
// The tests of this package drive two real stacks on an in-process link
// with a fake clock from plans that rapid draws (user calls, listening and
// closing the listener, delivery in any order, loss, duplication, time)
// and check after every step: trace conformance; the model's properties
// as far as two endpoints show them (HandshakeAgreement on the shadow
// TCBs, EstablishedOnlyWithLivePeer on the ISNs each side chose,
// IncarnationIsolation, HalfCloseDelivers, TimeWaitHeld); that what
// each side reads is a prefix of what the other wrote; that the user is
// told why a connection ended and gets "connection closing" after its own
// CLOSE; that no TCB outlives the row that deletes it; and that each
// connection's send and receive queues (impl.ConnInfo) hold exactly what
// the shadow TCB and the user's calls say. At the end, with the network
// delivering in order, every user half-closes, reads to the end and
// closes: both sides must end CLOSED or LISTEN with every octet of a
// connection nobody aborted read. The mutation tests run the endpoint
// with mutant tables (Options.Table) while these checks keep the correct
// one, and require each mutation to be caught or argued equivalent.
package conform
