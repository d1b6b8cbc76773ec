// Package impl is the reference TCP endpoint of tcpcheck: a small but real
// TCP on real sockets whose every state change is decided by the step
// function generated from package spec's table (zz_step.go).
//
// # Layers
//
//   - Wire format ([Header], [Decode], [Header.Encode]): the header of
//     RFC 9293 §3.1 with the MSS option, the checksum over the pseudo-header,
//     and an honest decoder that returns a specific error (never panics).
//     [PcapWriter] writes segments as a classic pcap file that Wireshark
//     dissects as TCP.
//   - Links ([Link]): [UDPLink] carries segments in UDP datagrams (one
//     socket per stack, connections multiplexed by TCP port, no privileges),
//     and [MemNet] is an in-process network for deterministic tests, with
//     seeded loss, duplication, reordering and delay on a [FakeClock]. A TUN
//     link would implement the same interface. On the udp link, a user
//     blocked in Read, Write, Dial or Accept receives the stack's datagrams
//     itself, one such goroutine at a time, and is woken by the socket as
//     with the kernel's TCP; while other users wait for it, it polls the
//     empty socket a while before it waits, and a background goroutine
//     receives when no user has for a moment (direct.go).
//   - The shell ([Stack], [Conn], [Listener]): TCBs, buffers and timers.
//     The API is Go's own: Listen returns a net.Listener, Dial a *Conn that
//     implements net.Conn and adds CloseWrite (half-close), Abort (RST) and
//     State; Stack.Connections lists connections as ss does.
//
// # The shell
//
// For every event (a user call, a segment that arrives, a timer that
// fires) the shell fills a spec.Ctx from the TCB and the segment
// (spec.Classify names the segment event), calls the generated step, and
// carries out the row's actions in their listed order, which is always
//
//  1. processing of the arriving segment (accept SYN, process ACK, accept
//     text, accept FIN, queue text),
//  2. transmissions (SYN, SYN,ACK, text, FIN, ACK, challenge ACK,
//     keepalive probe, RST, reply RST, retransmission),
//  3. timers (start or restart 2MSL),
//  4. signals to the user (connected, reset, refused, timeout, errors),
//  5. deletion of the TCB,
//
// (transmissions are encoded at once and queued; the goroutine that
// releases the stack's lock hands the queue to the link, in order, so no
// system call is made with the lock held: flush.go),
// then moves the connection to the row's state, reports the transition to
// the [Tracer], and arms or stops the retransmission and user timers
// (RFC 6298 §5.1-5.3). A timer that fires becomes the event
// RetransmitTimeout, or RetriesExhausted once the state's retry limit is
// reached, TimeWaitTimeout, UserTimeout, or, for the keepalive timer of an
// idle connection (Options.KeepAlive), KeepAliveTimeout, or
// KeepAliveExhausted once Options.KeepAliveProbes probes went unanswered.
//
// What an action means for the byte stream is the shell's: send text
// segmentizes the send buffer within the peer's window (sender SWS
// avoidance), retransmit resends the earliest unacknowledged segment with
// RFC 6298 backoff and Karn's rule, process ACK frees acknowledged text,
// takes RTT samples and updates the send window (sending what the window
// then allows is the row's send text, which every ACK-processing row of a
// state that may still send lists), with fast retransmit on the third duplicate ACK and NewReno partial-ACK
// recovery (RFC 5681, RFC 6582), and resends a hole again when more
// duplicate ACKs arrive than the segments in flight when it was resent
// could explain; accept text appends in-order text to the receive buffer,
// whose free space is the advertised window (scaled by RFC 7323's option
// when both SYNs carry it). There is no congestion control.
//
// A few things happen outside any row, because the table has no event for
// them; none changes a state:
//
//   - An acceptable segment whose text begins beyond RCV.NXT is held and
//     stepped through the table when RCV.NXT reaches it (RFC 9293 §3.10.7.4
//     allows holding such segments), with an immediate duplicate ACK
//     (RFC 5681 §4.2). A segment reaching past the window is first trimmed
//     to it, losing a FIN beyond it ("the idealized segment" of §3.10.7.4).
//   - After the user reads, an ACK announces the reopened window when it
//     grew by min(MSS, buffer/2) (receiver SWS avoidance, §3.8.6.2.2): the
//     table has no RECEIVE event.
//   - With nothing unacknowledged and the peer's window zero, the
//     retransmission timer's Retransmit action probes the window
//     (§3.8.6.1) with an old sequence number and no text.
//   - A "send ACK" that answers an unacceptable segment of zero length is
//     rate-limited to one per 500 ms per connection, as Linux does, so two
//     endpoints that disagree on sequence numbers cannot answer each
//     other's ACKs for ever; the row's state change is unaffected.
//   - The "send challenge-ACK" action is rate-limited per connection
//     (Options.ChallengeACKs a second, RFC 5961 §7), never per stack: a
//     budget shared by all connections is the side channel of
//     CVE-2016-5696, through which an off-path attacker counts challenge
//     ACKs to learn whether a spoofed segment fell in another connection's
//     window.
//   - Segments that fail to decode are counted and dropped.
//
// # Resource policy
//
// What the table leaves to the implementation, and how this shell
// bounds the memory an attacker can make it hold:
//
//   - Backlog (RFC 4987 §3.2): Options.Backlog bounds a listener's
//     half-open connections plus its accept queue.
//   - SYN cookies (RFC 4987 §3.6): when the backlog is full, a SYN still
//     gets the LISTEN + rcv SYN row (accept SYN, send SYN,ACK, to
//     SYN-RECEIVED), but its ISS is a cookie (cookie.go: 5 bits of a 64 s
//     clock, 3 bits of MSS index, 24 bits of HMAC-SHA256 over the 4-tuple,
//     IRS and time) and the TCB is deleted at once by the table's
//     SYN-RECEIVED + user timeout [Passive] row, back to LISTEN: no
//     timer, so no SYN,ACK retransmission. An ACK for the listener's port
//     that matches no connection and returns a valid cookie (SEG.ACK - 1)
//     re-creates the TCB: the LISTEN + rcv SYN row is stepped again with
//     the SYN the cookie describes (Transition.Replayed; nothing is sent),
//     and the ACK then follows the table from SYN-RECEIVED to ESTABLISHED.
//     Any other such segment meets LISTEN's rows (a RST for an ACK).
//     Cookie connections do without window scaling. Options.NoSynCookies
//     drops a SYN for a full backlog instead, as if lost.
//   - Options.MaxConns caps the connections of a stack: beyond it a SYN
//     is dropped as if lost and Dial fails.
//   - Options.MaxTimeWait caps the connections in TIME-WAIT: beyond it the
//     oldest ends its wait early through the table's TIME-WAIT + 2MSL
//     timeout row (as Linux's tcp_max_tw_buckets; RFC 9293 §3.4.2's
//     protection against old duplicates is given up for those).
//   - A peer that vanishes without FIN or RST: with text outstanding the
//     user timeout (RFC 9293 §3.8.4) or the retry limit R2 (RFC 1122
//     §4.2.3.5) aborts the connection; an idle one is found by keepalive
//     when it is on (RFC 1122 §4.2.3.6: off by default): the keepalive
//     timer, armed when the connection falls idle (Options.KeepAlive,
//     then every KeepAliveInterval), is the table's keepalive event; its
//     rows send the probe (an ACK with SEG.SEQ = SND.NXT-1) or, after
//     KeepAliveProbes unanswered probes, reset the connection and tell
//     the user it timed out. The shell counts the unanswered probes; an
//     acceptable segment from the peer starts the count again.
//   - Out-of-order segments are held up to 256 segments and the receive
//     buffer's size per connection; the receive and send buffers are
//     bounded by Options.RecvBuffer and Options.SendBuffer.
//
// ISNs follow RFC 6528: a 4 µs clock plus HMAC-SHA256 of the 4-tuple under
// a per-stack secret from crypto/rand. Time comes from a [Clock], which
// tests replace with a [FakeClock].
//
// Package check/live/attack attacks this endpoint (blind injection, SYN
// floods, RST storms, vanished peers, a soak under faults) while package
// check/live/conform replays every transition through the table;
// FuzzSegmentInState fuzzes the segment handling in every state.
package impl
