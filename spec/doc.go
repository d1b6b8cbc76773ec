// Package spec is the single source of truth of tcpcheck: the transition
// table of TCP connection management as RFC 9293 §3.10 processes events.
//
// A row of [Table] reads
//
//	From state, Event, Guard → Actions, To state
//
// with the RFC section it comes from and a one-line note. States are the
// eleven of RFC 9293 §3.3.2. Events are user calls (OPEN, SEND, CLOSE, ABORT),
// segment arrivals classified by their control bits ([Classify]) and timer
// expiries. Guards are named predicates over the TCB and the arriving segment
// ([Ctx]); they are written once here and shared by the model and the real
// endpoint. Actions are effects returned as data; the caller carries them out
// in the order they are listed, which is always the order of the [Action]
// constants (segment processing, then transmissions, then timers, then user
// signals, then TCB deletion).
//
// Segment rows see the idealized segment of RFC 9293 §3.10.7.4: "it is
// assumed that the segment is the idealized segment that begins at RCV.NXT
// and does not exceed the window". A caller presents text and FIN in
// sequence order: a segment that is acceptable ([SeqOK]) but begins after
// RCV.NXT is held (the RFC's "held for later processing") until the text
// before it has arrived, and only then stepped. Segments that carry neither
// text nor FIN (ACK, RST, SYN) are stepped on arrival. The model holds such
// segments in its network and the endpoint in its reassembly queue.
//
// Stepping is pure: no clock, no randomness, no I/O. Time arrives as timer
// events and the initial send sequence number arrives with the caller's
// SendSYN. [Machine] interprets any table (the correct one or a mutant); the
// generator (package gen) specialises [Table] into switch code for the model
// and for the endpoint, and a test keeps both equal to the interpretation.
//
// What an action does to a connection is written once, in [TCB]: the
// variables of RFC 9293 §3.3.1 are unexported, and [TCB.Apply] (or
// [TCB.Step], which also finds the row) is the only way to change them. It
// returns what to send and what to tell the user as an [Effect]; the
// caller's choices arrive as [Params] (the ISS, the receive window, the
// MSS, the window scale it offers, what is queued to send). The endpoint
// (package impl), the trace checker (check/live/conform), the tester of
// other stacks and the capture checker all step this type; the model keeps
// a compact copy over byte-sized sequence numbers, held to it by a
// differential test (model/tcb_diff_test.go). Rules per state live here
// too: [State.HoldsOutOfOrder] and [State.HoldsSegment], [State.RetryClass]
// and [State.Runs].
//
// # What the table leaves to the caller
//
// These decisions are made outside the rows. Each is named here with the
// function that makes it and the check that holds it to the table:
//
//   - Holding out-of-order text and FIN until RCV.NXT reaches it: the
//     segments [State.HoldsSegment] names (impl: Conn.segmentArrives,
//     hold, drainHeld), with a duplicate ACK for each held segment
//     (impl: extraACK, RFC 5681 §4.2). Checked by check/live/conform:
//     Checker.received (only acceptable text beyond RCV.NXT in such a
//     state is held) and outOfRow (nothing is stepped ahead of RCV.NXT);
//     the duplicate ACK must be [TCB.ACK] (Checker.Extra).
//   - Rewriting a held segment's ACK to SND.UNA when SND.UNA moved past it
//     while it was held, so that RFC 5961 §5.2 does not drop its text
//     (impl: drainHeld). Checked by conform's outOfRow: only an ACK before
//     SND.UNA is raised, and only to SND.UNA.
//   - Trimming a segment to the receive window before the table sees it
//     ("the idealized segment" of RFC 9293 §3.10.7.4; impl:
//     segmentArrives). Checked by conform's outOfRow.
//   - Window updates after a read (receiver SWS avoidance, RFC 9293
//     §3.8.6.2.2; impl: windowUpdate). Checked by conform's
//     Checker.Extra: an ACK at SND.NXT acknowledging RCV.NXT.
//   - The keepalive timer's durations and its count of unanswered probes
//     (RFC 1122 §4.2.3.6): the caller steps [KeepAliveTimeout] when an
//     idle connection (nothing outstanding, in a state where
//     [State.Runs] says the timer runs) has heard nothing from the peer
//     for its idle time, or for its interval after a probe, and
//     [KeepAliveExhausted] instead once its number of probes went
//     unanswered; an acceptable segment from the peer starts the count
//     again (impl: Options.KeepAlive, KeepAliveInterval, KeepAliveProbes,
//     armKeepAlive, heard, onKeepAlive). Whether to probe or give up, and
//     what the probe is, are the rows' (send keepalive probe; send RST,
//     signal timeout, delete TCB). Checked by conform: the timer fires
//     only with nothing outstanding, and the probe is [TCB.KeepAlive].
//   - Loss recovery: fast retransmit and NewReno resends of holes
//     (RFC 5681, RFC 6582; impl: processACK, resend, [TCB.Resend]).
//     Checked by conform: the resent segment must be what [TCB.Resend]
//     sends from that sequence number.
//   - Rate limits that veto a row's send: challenge ACKs per second
//     (RFC 5961 §7; impl: challengeAllowed) and ACKs to unacceptable empty
//     segments (one per 500 ms, as Linux's tcp_invalid_ratelimit; impl:
//     Conn.do). Checked by conform: Options.ChallengeACKs and rateLimited.
//   - Admission: the connection cap, the listen backlog and SYN cookies
//     (impl: Listener.segmentArrives, cookieSYN, cookieACK). Checked by
//     conform's Checker.received (only a SYN, or a cookie's ACK, for no
//     connection is refused) and by the replayed transitions of a cookie
//     connection, which follow the table.
//   - Segmentation of queued text within the send window and the MSS
//     (sender SWS avoidance, RFC 9293 §3.8.6.2.1) is the table's send text
//     action, in [TCB.Apply]; how much text is queued is the caller's
//     ([Params.Unsent]). Conform checks that new text fits the window.
//   - The delayed ACK's timing (RFC 1122 §4.2.3.2, RFC 9293 §3.8.6.3): the
//     rows' delay ACK owes the ACK and says so ([Effect.DelayACK]); the
//     caller steps DelayedAckTimeout within its delay (impl:
//     Options.AckDelay, default 40 ms, onDelayedACK), acknowledges at once
//     instead ([Params.QuickACK]) when its delay is off or the segment
//     fills a gap before held text (RFC 5681 §4.2; impl: fillsGap), and
//     reports the segments it sends outside rows, which pay the debt
//     ([TCB.AckSent]; impl: Conn.emit). Checked by conform on a live
//     endpoint: an owed ACK within Options.MaxAckDelay (at most 500 ms),
//     and an ACK at least for every second full-sized segment (2*RMSS
//     octets, [Params.MSS]).
//
// Package spec imports nothing of tcpcheck's own.
package spec
