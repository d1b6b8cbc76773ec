// Package model is the abstract system that tcpcheck explores: hosts A and
// B running a transition table of package spec over one 4-tuple, their
// users following a scenario, a network with budgeted faults, and a
// discrete clock. [System.Next] is the successor function the explorer
// (package check) calls; [Key] is the compact canonical encoding of a global
// state.
//
// # Hosts
//
// To handle an event a host fills a [spec.Ctx] from its TCB, evaluates every
// guard ([spec.EvalAll]), looks up the row and carries out the row's actions
// in order, then moves to the row's To state. The model never decides TCP
// behaviour that belongs to the table; the actions mean:
//
//   - AcceptSYN: IRS = SEG.SEQ, RCV.NXT = IRS+1.
//   - ProcessACK: SND.UNA = SEG.ACK when SND.UNA < SEG.ACK =< SND.NXT; that
//     progress resets the retransmission count.
//   - AcceptText: the octets from RCV.NXT to the end of the segment are
//     delivered to the user (counted), RCV.NXT moves past them.
//   - AcceptFIN: if the FIN is at RCV.NXT, RCV.NXT moves past it and the user
//     reads end of stream.
//   - QueueText (and SendText for a SEND call): the SEND's octets enter the
//     send buffer.
//   - SendSYN / SendSYNACK: when the host has no TCB yet, the ISS is chosen
//     here; every choice in the configured set is explored. SendText sends
//     the unsent text as one segment; SendFIN sends unsent text and the FIN
//     as one segment; SendACK and SendChallengeACK send <SEQ=SND.NXT>
//     <ACK=RCV.NXT><CTL=ACK>; SendRST sends <SEQ=SND.NXT><CTL=RST>; ReplyRST
//     sends the RST of RFC 9293 §3.10.7.1 (<SEQ=SEG.ACK><CTL=RST> if the
//     segment had ACK, else <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>);
//     Retransmit resends the SYN (or SYN,ACK) while it is unacknowledged,
//     else all unacknowledged text with the FIN if it was sent.
//   - StartTimeWait: arms (or restarts) the 2MSL timer, Config.TimeWait
//     ticks (2*MSL) from now. The timer is part of the host's state, and
//     fires in whatever state it is armed in.
//   - Signals set the user's sticky outcome for the incarnation; errors of
//     calls change nothing; DeleteTCB clears the TCB.
//
// Text and FIN are processed in sequence order (RFC 9293 §3.10.7.4:
// "segments with higher beginning sequence numbers may be held for later
// processing"): an acceptable segment with text or FIN that starts after
// RCV.NXT is held in the network, not delivered, until it is in order; it
// can still be lost, and it leaves the network when it gets too old.
// Sequence numbers are small abstract integers compared with spec.Seq's
// modular rules. RCV.WND is 4 octets, enough for all text plus the FIN.
//
// # Network and time
//
// The network is a bounded multiset of in-flight segments, each with an age
// in ticks and a ghost incarnation tag. With Config.Reorder any segment may
// be delivered next; without it each direction is FIFO. Budgets for the
// whole run bound losses (any segment may be dropped) and duplications. If
// a transition would put more than 10 segments in flight it does not exist
// (tests check that the preset configurations never come near).
//
// A Tick ages every segment, counts TIME-WAIT down and ages enabled
// retransmission timers. Fairness, so that liveness means something:
//   - a segment lives less than MSL ticks: time cannot advance while a
//     deliverable segment has age MSL-1, so it must be delivered or lost
//     (spending loss budget) first; a held segment is removed then;
//   - the 2MSL timer lasts exactly Config.TimeWait ticks: the 2MSL event is
//     generated once it has run out (in any state it is armed in), and
//     time cannot advance until it has
//     fired;
//   - the retransmission timer fires only when neither what it guards nor an
//     acknowledgment of new data for it is in flight (RTO > round trip, the
//     aim of RFC 6298; Config.SpuriousRTO drops the second condition), and
//     then within RTOMax ticks (time cannot advance further); every firing
//     counts, up to MaxRetries, and progress resets the count;
//   - RetriesExhausted (R2) fires only when the retries are used up, nothing
//     is in flight and the peer has no retransmission left either: R2 is far
//     longer than a round trip;
//   - with Config.UserTimeout, the user timeout fires only for a half-open
//     connection: this host has a TCB (TIME-WAIT included, whose row drops
//     it) and nothing left to retransmit, the peer has no TCB and nothing
//     is in flight;
//   - with Config.KeepAlive, the keepalive timer fires only on an idle
//     connection (RFC 1122 §4.2.3.6): synchronized, not in TIME-WAIT,
//     nothing unacknowledged, nothing in flight, and the peer with nothing
//     to retransmit and no ACK owed; its idle time and interval are far
//     longer than a round trip. It is KEEPALIVE while fewer than
//     Config.KeepAlive probes went unanswered (a segment the peer's rows
//     accept, one that processes its ACK, starts the count again), then
//     KEEPALIVE-OUT; giving up counts as retries running out for
//     GracefulCloseCompletes, which excuses it only when the network
//     lost a segment;
//   - a timer fires only while it is armed: the retransmission timer and R2
//     while something is unacknowledged, 2MSL once StartTimeWait armed it,
//     the user timeout while there is a TCB. Which states a timer cannot be
//     armed in is not assumed but verified: the coverage check's exclusion
//     invariants ([Exclusions]) hold on every state of its family.
//
// # The off-path attacker
//
// Within the Config.Inject budget the attacker injects segments into a
// host, pretending to be its peer, in the forms Config.Attack names (see
// [AttackForms]): the default "rst" (RSTs in and beyond the window of a
// host past SYN-SENT) and forms that reach every state, CLOSED, LISTEN and
// SYN-SENT included: RST and RST,ACK, SYN, SYN,ACK, ACK, text, FIN and a
// segment without ACK, with sequence numbers below, at, inside, at the last
// octet of and beyond the receive window, and acknowledgments too old for
// RFC 5961 §5.2, duplicate, current and beyond SND.NXT. The target
// processes an injected segment at once. The attacker is blind: it makes no
// guess that the target would hold for later or take for its peer's next
// segment (one that advances its SND.UNA, or past SYN-SENT its RCV.NXT,
// while it keeps a TCB); a RST at exactly RCV.NXT it does make.
//
// # Users
//
// Each user runs a program per incarnation: open (A connects; B listens in
// client-server mode, connects in simultaneous mode), then SENDs of
// Config.SendSize octets up to its Write count, then CLOSE. The first closer
// (Config.Closer) writes and closes as soon as it is connected; the other
// waits for end of stream first, then writes and closes (a half-close).
// The user named by Config.Abort may ABORT instead of any call after its
// open. A user named by Config.Misuse may, once per incarnation and at any
// point while it has a program left or a TCB, make one call outside its
// program (listen, connect, write 1, close or abort); a stray write counts
// as written only if the table takes it, and a stray close or abort (or any
// call whose row deletes the TCB) ends the user's program. A program ends early when the user sees reset, refused or timeout.
// A user named by Config.ZeroWindow may, once per incarnation while its host
// has a TCB, stop reading, which closes its receive window (RCV.WND = 0:
// every segment it receives is held to the acceptability test of RFC 9293
// §3.10.7.4 with a zero window), and read again later, which reopens it.
// While a host's window is closed its peer's retransmissions are
// zero-window probes: they do not count toward R2, and R2 waits (RFC 1122
// §4.2.2.17: a sender whose probes are acknowledged keeps the connection).
// When both hosts have no TCB and both users are done (a server waiting in
// LISTEN counts as done), the next incarnation may start: its first open
// opens it. A server still in LISTEN keeps listening. A host's ISS in
// incarnation k is one of its configured values plus (k-1)*ISSStride.
// The incarnation number (Host.Inc) is 1 from the start.
//
// # Properties
//
// Ghost state (never read by the hosts' rules) records per incarnation
// which user aborted, whether a synchronized connection was deleted by the
// peer's RST or by a timeout, whether each side was synchronized, sent its
// FIN before receiving the peer's, and read end of stream; segments carry
// the incarnation they were sent in. A sticky violation code is set at the
// moment a bad transition happens. The invariants:
//
//   - HandshakeAgreement: when both sides are ESTABLISHED, each side's IRS is
//     the other's ISS and SND.UNA(peer) =< RCV.NXT =< SND.NXT(peer): each
//     expects exactly the next octet the other has sent or will send.
//   - EstablishedOnlyWithLivePeer: when a side becomes synchronized, the
//     peer is in the same incarnation and either holds a TCB whose ISS is
//     this side's IRS (and whose IRS is this side's ISS, once it has one),
//     or has no TCB any more but was synchronized in this incarnation or
//     its user aborted (a user may abort while the segment that
//     synchronizes us is in flight; no handshake can prevent that). A side
//     that trusts a duplicate SYN whose sender was refused, timed out or is
//     in another incarnation violates it.
//   - IncarnationIsolation: every octet of text and every FIN a host accepts
//     was sent in the current incarnation (an old duplicate accepted as data
//     or as end of stream violates it).
//   - GracefulCloseCompletes: unless a user aborted in this incarnation,
//     some host's retries ran out (R2 fired, or the user timeout gave up on
//     something unacknowledged) after the network lost a segment, or the
//     attacker's guess landed, no side's
//     synchronized TCB is deleted by a RST from the peer or by a timeout. RFC 9293 deletes the TCB on a RST in CLOSING and LAST-ACK
//     without telling the user, so this is ghost state, not the user's
//     signal. Injected RSTs are NoBlindReset's business.
//   - HalfCloseDelivers: a user that has read end of stream has received
//     every octet the peer's user wrote in this incarnation (the peer
//     writes only before it closes, so the FIN must follow all of it).
//   - TimeWaitHeld: a side leaves TIME-WAIT, other than by its user's ABORT,
//     only when 2*MSL ticks have passed since it last entered or restarted
//     it, and a side enters TIME-WAIT only if it sent its FIN before it had
//     received the peer's (the active closer, or both after a simultaneous
//     close).
//   - NoBlindReset: no TCB is deleted by an injected RST whose sequence
//     number was not exactly RCV.NXT (in SYN-SENT: whose ACK did not
//     acknowledge the SYN).
//   - UnknownConnectionReset: a host answers a segment for a connection it
//     does not have (any but a RST in CLOSED; one carrying an ACK in LISTEN)
//     with a RST (RFC 9293 §3.10.7.1 and §3.10.7.2).
//   - SynSentResetNeedsAck: a host in SYN-SENT leaves it on a RST only when
//     the RST's ACK acknowledges its SYN (RFC 9293 §3.10.7.3, RFC 5961 §3.2).
//   - TimeWaitRestarts: a retransmission of the peer's FIN in TIME-WAIT
//     leaves the host in TIME-WAIT with its 2MSL timer restarted, and
//     nothing else restarts it (RFC 9293 §3.10.7.4: "the only thing that
//     can arrive in this state is a retransmission of the remote FIN").
//   - SignalsMatchState: a user is told "connection reset", "refused" or
//     "timeout" only by a step that ends its connection (no TCB after it),
//     and "connected" only by one that leaves it synchronized (RFC 9293
//     §3.10.7, §3.10.8).
//
// The mutation sweep of issue 19 (check.Sweep) found mutants that change
// what a host does and break none of the invariants above; these judge
// one step by what it did (RFC 9293 §3.10), each checked at the step:
//
//   - UnacceptableSegmentIgnored: in a synchronized state, a segment that
//     fails the acceptability test (§3.10.7.4, first check: the four cases
//     over SEG.SEQ, SEG.LEN, RCV.NXT and RCV.WND, a closed window
//     included), a RST in the window but not at RCV.NXT (RFC 5961 §3.2), a
//     SYN (RFC 5961 §4.2), an ACK out of SND.UNA-MAX.SND.WND..SND.NXT (RFC
//     5961 §5.2) or a segment without ACK (fifth check) leaves the state,
//     RCV.NXT, SND.UNA, SND.NXT and the user's signal as they were and
//     draws exactly one bare ACK, and nothing for an unacceptable RST or a
//     segment without ACK ("an acknowledgment should be sent in reply
//     (unless the RST bit is set, if so drop the segment and return)"), nor
//     in TIME-WAIT for anything but the peer's FIN; likewise in SYN-RECEIVED
//     (but for a SYN at IRS, the peer's half of a simultaneous open), where
//     a SYN in the window of an active open draws a challenge ACK and an
//     unacceptable ACK exactly one RST; in SYN-SENT a segment with neither
//     SYN nor RST draws nothing, and one with a bad ACK (a SYN,ACK too)
//     exactly one RST (§3.10.7.3).
//   - SegmentWithoutConnectionIgnored: in CLOSED, and in LISTEN for
//     anything but a SYN without ACK or RST, a segment changes nothing and
//     draws at most a RST, none for a RST (§3.10.7.1, §3.10.7.2).
//   - RetransmissionResendsEarliest: when the retransmission timer fires
//     the host stays in its state and sends one segment, not a RST, that
//     starts at SND.UNA (RFC 6298 §5.4).
//   - TimeoutEndsConnection: when R2 or the user timeout fires the host
//     sends nothing and ends in CLOSED with its user told timeout; a
//     passive SYN-RECEIVED goes back to LISTEN, and TIME-WAIT lets its
//     2MSL timer end it (§3.10.8, RFC 1122 §4.2.3.5). When keepalive gives
//     the peer up the host ends in CLOSED with its user told timeout,
//     having sent at most <SEQ=SND.NXT><CTL=RST> (RFC 1122 §4.2.3.6).
//   - AbortEndsConnection: ABORT leaves the host CLOSED, having sent
//     <SEQ=SND.NXT><CTL=RST> from SYN-RECEIVED, ESTABLISHED, FIN-WAIT-1,
//     FIN-WAIT-2 and CLOSE-WAIT and nothing from LISTEN, SYN-SENT, CLOSING,
//     LAST-ACK and TIME-WAIT; its user is told at most "connection reset",
//     and nothing in CLOSING, LAST-ACK and TIME-WAIT, where the RFC says
//     "respond with ok" (§3.10.5).
//   - RefusedCallChangesNothing: a user call the table answers with an
//     error is not serviced: nothing changes and nothing is sent (§3.10.1
//     to §3.10.5).
//   - AcceptableResetCloses: an acceptable RST (at RCV.NXT; in SYN-SENT,
//     acknowledging the SYN) deletes the TCB (a passive SYN-RECEIVED goes
//     back to LISTEN) and draws nothing, telling the user "refused" in
//     SYN-SENT and an active SYN-RECEIVED, "connection reset" in
//     ESTABLISHED, FIN-WAIT-1, FIN-WAIT-2 and CLOSE-WAIT, and nothing in a
//     passive SYN-RECEIVED ("the user need not be informed"), CLOSING and
//     LAST-ACK; SYN-SENT drops any other RST silently; TIME-WAIT ignores
//     every RST (§3.10.7.3, §3.10.7.4; RFC 1337 §3, docs/decisions.md).
//   - SignalsHaveCause: a user is told "connected" only by a segment that
//     makes its connection synchronized, and of a failure only when a TCB
//     it had ends: "connection reset" only on a RST or its own ABORT,
//     "refused" only on a RST before the connection is synchronized,
//     "timeout" only on R2, the user timeout or keepalive giving up on a
//     silent peer (§3.10.7, §3.10.8; RFC 1122 §4.2.3.6).
//
// The second sweep found mutants that send what nothing asked for, leave a
// host in a state that contradicts its sequence variables, or drop an
// obligation of an acceptable segment. These judge a step by what its
// event causes in RFC 9293, independently of the rows (model/cause.go):
//
//   - SegmentsHaveCause: every segment a step sends has its cause in the
//     step's event: a SYN an OPEN, or a SEND in LISTEN (§3.10.1,
//     §3.10.2), and its retransmission; a SYN,ACK a SYN received in LISTEN
//     or SYN-SENT, and its retransmission while unacknowledged; new text a
//     SEND, a CLOSE or an acceptable segment once synchronized; a FIN the
//     CLOSE (§3.10.4); a segment from below SND.NXT the retransmission
//     timer (RFC 6298 §5.4); a keepalive probe <SEQ=SND.NXT-1> the
//     keepalive timer of an idle connection (RFC 1122 §4.2.3.6); a bare
//     ACK a segment whose SYN, text or FIN RCV.NXT passed over, an
//     unacceptable segment (not a silent one), a duplicate of the peer's
//     SYN, the peer's FIN in TIME-WAIT, or an owed delayed ACK (RFC 1122
//     §4.2.3.2), one per step and none beside a SYN,ACK (an acceptable
//     segment that brings nothing new is not acknowledged; a second ACK is
//     a duplicate ACK to the peer, RFC 5681 §2); a RST an ABORT where
//     §3.10.5 sends one, keepalive giving up, or a segment (not a RST)
//     with no connection or with an unacceptable ACK before
//     synchronization, in the form §3.10.7.1 gives. Only RSTs come from a
//     host that ends the step in CLOSED or LISTEN.
//   - StateMatchesSequence: a host's state agrees with what it has sent,
//     received and had acknowledged (§3.3.2): SYN-SENT and SYN-RECEIVED
//     wait for the ACK of our SYN and ESTABLISHED, CLOSE-WAIT, FIN-WAIT-2,
//     LAST-ACK and TIME-WAIT have it; FIN-WAIT-1, FIN-WAIT-2, CLOSING,
//     LAST-ACK and TIME-WAIT are exactly the states with our FIN sent, with
//     it acknowledged exactly in FIN-WAIT-2 and TIME-WAIT; LAST-ACK is the
//     passive closer's, the others the active closer's; CLOSE-WAIT,
//     LAST-ACK, CLOSING and TIME-WAIT are entered by accepting the peer's
//     FIN and never left for a state with a TCB; SYN-SENT is entered only
//     by an open, SYN-RECEIVED only on a SYN; a synchronized connection
//     stays synchronized; and a TCB ends only for a cause (ABORT, CLOSE in
//     SYN-SENT, a RST, a timeout, 2MSL in TIME-WAIT, the ACK of our FIN in
//     LAST-ACK; only a passive SYN-RECEIVED goes back to LISTEN).
//   - AcceptableSegmentProcessed: an acceptable segment's new ACK sets
//     SND.UNA to SEG.ACK, and its text and FIN at RCV.NXT advance RCV.NXT
//     in SYN-RECEIVED, ESTABLISHED, FIN-WAIT-1 and FIN-WAIT-2 (§3.10.7.4,
//     fifth, seventh and eighth checks); IRS is set only from a SYN in
//     LISTEN or SYN-SENT; SND.UNA, RCV.NXT and the text delivered to the
//     user move for no other reason; what RCV.NXT passed over is
//     acknowledged at once, text possibly by the delayed ACK but never
//     two segments late (RFC 1122 §4.2.3.2), and a duplicate of the peer's
//     SYN in SYN-RECEIVED is acknowledged; text queued before
//     synchronization goes out when the connection is synchronized
//     (§3.10.2); an acceptable segment restarts the keepalive count (RFC
//     1122 §4.2.3.6); a SEND that is not refused takes the text.
//   - DelayedAckAndProbeSent: the delayed-ACK timer sends the owed ACK,
//     one <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, and the keepalive timer of
//     an idle connection one probe <SEQ=SND.NXT-1><ACK=RCV.NXT><CTL=ACK>;
//     neither changes the state, SND.UNA, SND.NXT, RCV.NXT or the user's
//     signal (RFC 1122 §4.2.3.2, §4.2.3.6).
//
// "The attacker's guess landed" means that an injected segment changed a
// host's state, SND.UNA or RCV.NXT, or drew a RST from it, in this
// incarnation: HandshakeAgreement, EstablishedOnlyWithLivePeer,
// GracefulCloseCompletes and HalfCloseDelivers speak of the runs where it
// did not (an attacker with an exact guess can do what the peer can), and
// text or a FIN the attacker got accepted does not count against
// IncarnationIsolation; NoBlindReset and SynSentResetNeedsAck judge the
// attack itself.
//
// Quiescence ([QuiescenceName]) is checked by the explorer on the state
// graph: from every reachable state a [System.Quiescent] state (both hosts
// CLOSED or LISTEN, both users done with the incarnation, nothing in flight)
// is reachable.
//
// # Mutants
//
// [Mutants] lists one-row (or one-knob) changes of the correct system, each
// answering a "why" question of TCP's design by breaking one property;
// [NewMutant] builds one and [MutantConfig] gives a small configuration
// where its counterexample is reachable.
package model
