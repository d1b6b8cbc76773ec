package explain

import (
	"github.com/tcpcheck/tcpcheck/model"
	"github.com/tcpcheck/tcpcheck/spec"
)

// Page is one question and the traces that answer it.
type Page struct {
	Slug     string // file name under docs/questions/, without ".md"
	Question string
	Answer   string // a short plain reading, Markdown
	Scenes   []Scene
	// Linux names the scenarios of the kernel suite (check/live/kernel) that
	// run the same case against Linux; their results are in docs/linux.md.
	Linux []string
	// Related names other pages by slug.
	Related []string
}

// Scene is one trace of a page. Exactly one of Goal and Mutant says how the
// trace is found:
//   - Goal alone: the shortest path of the correct table in Config that
//     reaches Goal;
//   - Mutant alone: the mutant's shortest counterexample in
//     model.MutantConfig(Mutant), found by check.Explore;
//   - Mutant and Goal: the correct table in the mutant's configuration,
//     making the moves of the mutant's counterexample where it can (the
//     same user calls, deliveries, losses, ticks and timers), then the
//     shortest continuation that reaches Goal.
type Scene struct {
	Title   string
	Reading string // Markdown, after the trace
	Config  model.Config
	// ConfigOf names a mutant whose configuration (model.MutantConfig)
	// the scene uses instead of Config.
	ConfigOf string
	Goal     *Goal
	Mutant   string
	Correct  bool // with Mutant: run the correct table (see above)
}

// base is the smallest client-server configuration: one scenario, one
// incarnation, no faults, no data.
func base() model.Config {
	c := model.DefaultConfig()
	c.Incarnations, c.Loss, c.Dup, c.Reorder, c.Also = 1, 0, 0, false, nil
	c.WriteA, c.WriteB = 0, 0
	return c
}

func with(c model.Config, f func(c *model.Config)) model.Config {
	f(&c)
	return c
}

// quiescent is the goal "the run winds down": both sides CLOSED or LISTEN,
// users done, nothing in flight (System.Quiescent).
var quiescent = Goal{Name: "both sides are done and the network is empty", Quiescent: true}

// Pages returns the question pages, in the order of the index.
func Pages() []Page {
	return []Page{
		{
			Slug:     "three-way-handshake",
			Question: "Why does TCP open with three segments, not two?",
			Answer: "Each side has to learn the other's initial sequence number *and* see its own acknowledged. " +
				"The SYN carries A's ISN, the SYN,ACK acknowledges it and carries B's, and the third segment " +
				"acknowledges B's. The third segment is also the client's word that the SYN it answers is a live " +
				"request: without it a server that receives an old duplicate SYN opens a connection nobody asked for " +
				"(RFC 9293 §3.5, Figure 9).",
			Scenes: []Scene{
				{
					Title:  "The three-way handshake",
					Config: base(),
					Goal: &Goal{Name: "both sides ESTABLISHED", Done: func(st model.State, _ uint8) bool {
						return both(st, spec.Established) && settled(st)
					}},
					Reading: "A's SYN takes B from LISTEN to SYN-RECEIVED; B's SYN,ACK takes A to ESTABLISHED, and A's " +
						"ACK takes B there too. Each ACK number is the peer's ISN plus one: the SYN occupies one " +
						"sequence number.",
				},
				{
					Title:  "Two segments are not enough: the two-way-handshake mutant",
					Mutant: "two-way-handshake",
					Reading: "In this mutant B becomes ESTABLISHED as soon as a SYN arrives. In the second incarnation A's " +
						"SYN reaches B before B listens again, so A is refused, but the network has a duplicate of that " +
						"SYN; it reaches B once B listens, and B is ESTABLISHED with a peer that has no connection.",
				},
				{
					Title:   "The correct table, same moves",
					Mutant:  "two-way-handshake",
					Correct: true,
					Goal:    &quiescent,
					Reading: "With the real table the duplicate SYN only takes B to SYN-RECEIVED. B's SYN,ACK reaches A, " +
						"which has no connection and answers with a RST; B goes back to LISTEN and no one was told " +
						"\"connected\".",
				},
			},
			Linux:   []string{"kernel-client", "refused-by-kernel", "refused-by-us"},
			Related: []string{"lost-third-segment", "synack-retransmit", "simultaneous-open"},
		},
		{
			Slug:     "four-way-close",
			Question: "Why does TCP close with four segments, not three? (half-close and CLOSE-WAIT)",
			Answer: "A FIN closes one direction only: it says \"I have nothing more to send\", not \"stop sending\". " +
				"The side that receives it acknowledges it at once and goes to CLOSE-WAIT, where its user may still " +
				"write; only when that user closes too does its own FIN go out. Two directions, each closed by a FIN " +
				"and its ACK: four segments (RFC 9293 §3.6).",
			Scenes: []Scene{
				{
					Title:  "The four-way close",
					Config: base(),
					Goal: &Goal{Name: "A in TIME-WAIT, B CLOSED, nothing in flight",
						Marks: entered(0, spec.FinWait2, 1),
						Done: func(st model.State, m uint8) bool {
							return m&1 != 0 && st.Hosts[0].State == spec.TimeWait && closedPair(st)
						}},
					Reading: "A's FIN takes it to FIN-WAIT-1 and B to CLOSE-WAIT; B's ACK takes A to FIN-WAIT-2. " +
						"When B's user closes, B's FIN takes it to LAST-ACK, A answers with the last ACK from TIME-WAIT " +
						"and B is CLOSED.",
				},
				{
					Title:  "Half-close: data still flowing in CLOSE-WAIT",
					Config: with(base(), func(c *model.Config) { c.WriteB = 1 }),
					Goal: &Goal{Name: "A has read B's octet after its own close, A in TIME-WAIT, B CLOSED",
						Marks: stepMark(1, func(before, after model.State, st model.Step) bool {
							return st.Kind == model.User && st.Host == 1 && before.Hosts[1].State == spec.CloseWait &&
								before.Hosts[1].Written < after.Hosts[1].Written
						}),
						Done: func(st model.State, m uint8) bool {
							return m&1 != 0 && st.Hosts[0].Delivered == 1 && st.Hosts[0].State == spec.TimeWait && closedPair(st)
						}},
					Reading: "B's user writes after it has read end of stream: B is in CLOSE-WAIT and its data flows to A, " +
						"which is in FIN-WAIT-2 and still receives. A's FIN closed only the direction from A to B.",
				},
				{
					Title:  "Three segments are not enough: the three-way-close mutant",
					Mutant: "three-way-close",
					Reading: "In this mutant B answers A's FIN with its own FIN at once. B's user still had an octet to " +
						"write; it never gets to A.",
				},
				{
					Title:   "The correct table, same moves",
					Mutant:  "three-way-close",
					Correct: true,
					Goal: &Goal{Name: "A has read B's octet, both sides done", Quiescent: true,
						Done: func(st model.State, _ uint8) bool { return st.Hosts[0].Delivered == 1 }},
					Reading: "With the real table B stays in CLOSE-WAIT, its user writes the octet, A reads it in " +
						"FIN-WAIT-2, and only then does B close.",
				},
			},
			Linux:   []string{"our-client-half-close", "active-close-by-us", "active-close-by-kernel"},
			Related: []string{"fin-ack-close", "time-wait-lost-ack", "simultaneous-close"},
		},
		{
			Slug:     "time-wait-lost-ack",
			Question: "Why does the side that closes first wait in TIME-WAIT? (the lost last ACK)",
			Answer: "The last ACK of a close is the one segment nobody acknowledges, so nobody can tell it was lost. " +
				"If it is, the peer in LAST-ACK retransmits its FIN, and someone must still be there to acknowledge it " +
				"again. TIME-WAIT keeps the connection's state for 2*MSL for that (RFC 9293 §3.6, RFC 1122 §4.2.2.13).",
			Scenes: []Scene{
				{
					Title:  "Without TIME-WAIT: the no-time-wait mutant",
					Mutant: "no-time-wait",
					Reading: "A forgets the connection as soon as it has sent the last ACK. That ACK is lost, B " +
						"retransmits its FIN, and A, with no connection any more, answers with a RST: B's connection " +
						"ends in a reset although both users closed it.",
				},
				{
					Title:   "The correct table, same moves",
					Mutant:  "no-time-wait",
					Correct: true,
					Goal:    &quiescent,
					Reading: "With the real table A is in TIME-WAIT when the retransmitted FIN arrives: it acknowledges " +
						"it again, B closes normally, and A leaves TIME-WAIT when the 2MSL timer fires.",
				},
			},
			Linux:   []string{"time-wait-reack", "rst-in-time-wait"},
			Related: []string{"time-wait-2msl", "four-way-close"},
		},
		{
			Slug:     "time-wait-2msl",
			Question: "Why does TIME-WAIT last 2*MSL? (old duplicates meeting a new incarnation)",
			Answer: "The second reason for TIME-WAIT: segments of the old connection may still be in the network. " +
				"Once both sides have forgotten the connection, a new one on the same four-tuple (a new incarnation) " +
				"could take an old segment for its own. A segment lives at most MSL; the last one the peer can send " +
				"(a retransmitted FIN) may be sent just before the active closer's last ACK arrives, so the closer " +
				"waits MSL for its ACK to arrive plus MSL for any answer to die out: 2*MSL (RFC 9293 §3.6.1, RFC 1122).",
			Scenes: []Scene{
				{
					Title:  "TIME-WAIT of one MSL: the short-time-wait mutant",
					Mutant: "short-time-wait",
					Reading: "With TIME-WAIT of only one MSL, A reconnects while a FIN of the old incarnation is still " +
						"in flight, and the new connection takes it as its own.",
				},
				{
					Title:   "The correct table, same moves",
					Mutant:  "short-time-wait",
					Correct: true,
					Goal:    &quiescent,
					Reading: "With 2*MSL A cannot leave TIME-WAIT that early: the old FIN is delivered to A in " +
						"TIME-WAIT or dies in the network before the new incarnation begins.",
				},
			},
			Linux:   []string{"time-wait-reack"},
			Related: []string{"time-wait-lost-ack", "three-way-handshake"},
		},
		{
			Slug:     "simultaneous-open",
			Question: "What happens when both sides open at once (simultaneous open)?",
			Answer: "Each side sends a SYN and receives the other's while in SYN-SENT. It answers with a SYN,ACK " +
				"and goes to SYN-RECEIVED; each SYN,ACK then completes the other side's open. Four segments and no " +
				"server: RFC 9293 §3.5, Figure 8.",
			Scenes: []Scene{
				{
					Title:  "Simultaneous open",
					Config: with(base(), func(c *model.Config) { c.Open = "simultaneous" }),
					Goal: &Goal{Name: "both sides ESTABLISHED, both having been in SYN-RECEIVED",
						Marks: anyMark(entered(0, spec.SynReceived, 1), entered(1, spec.SynReceived, 2)),
						Done: func(st model.State, m uint8) bool {
							return m == 3 && both(st, spec.Established) && settled(st)
						}},
					Reading: "Both SYNs cross in the network. Each side is in SYN-SENT when the other's SYN arrives, " +
						"so both go to SYN-RECEIVED and send a SYN,ACK; each SYN,ACK acknowledges the receiver's SYN " +
						"and both sides are ESTABLISHED.",
				},
			},
			Linux:   []string{"simultaneous-open"},
			Related: []string{"three-way-handshake", "simultaneous-close"},
		},
		{
			Slug:     "simultaneous-close",
			Question: "What is CLOSING? (simultaneous close)",
			Answer: "When both sides close at once, each is in FIN-WAIT-1 when the other's FIN arrives. It " +
				"acknowledges the FIN and goes to CLOSING: it has received the peer's FIN but its own is not yet " +
				"acknowledged. The ACK of its FIN takes it to TIME-WAIT, so both sides end in TIME-WAIT " +
				"(RFC 9293 §3.6, Figure 13).",
			Scenes: []Scene{
				{
					Title:  "Simultaneous close",
					Config: with(base(), func(c *model.Config) { c.Closer = "both" }),
					Goal: &Goal{Name: "both sides were in CLOSING together, and both are in TIME-WAIT",
						Marks: stepMark(1, func(_, after model.State, _ model.Step) bool { return both(after, spec.Closing) }),
						Done: func(st model.State, m uint8) bool {
							return m&1 != 0 && both(st, spec.TimeWait) && settled(st)
						}},
					Reading: "Both FINs cross. Each side receives the other's FIN in FIN-WAIT-1 and goes to CLOSING; the " +
						"ACKs cross too and each side goes from CLOSING to TIME-WAIT.",
				},
			},
			Linux:   []string{"simultaneous-close"},
			Related: []string{"four-way-close", "fin-ack-close"},
		},
		{
			Slug:     "fin-ack-close",
			Question: "Why does a capture sometimes show only three closing segments? (FIN-WAIT-1 straight to TIME-WAIT)",
			Answer: "When the peer's FIN arrives in FIN-WAIT-1 carrying the acknowledgment of our FIN, both happen " +
				"in one segment: the table goes from FIN-WAIT-1 straight to TIME-WAIT (RFC 9293 §3.10.7.4, FIN bit " +
				"processing). Real stacks often delay the ACK of a FIN and send it with their own FIN when the " +
				"application closes at once, so the capture shows FIN, FIN+ACK, ACK. In the model the receiver of a FIN " +
				"always acknowledges it at once, so the combined case shows when that ACK is overtaken by the FIN " +
				"(reordering) or lost.",
			Scenes: []Scene{
				{
					Title:  "FIN+ACK overtakes the ACK",
					Config: with(base(), func(c *model.Config) { c.Reorder = true }),
					Goal: &Goal{Name: "A went from FIN-WAIT-1 straight to TIME-WAIT, B CLOSED",
						Marks: stepMark(1, func(before, after model.State, _ model.Step) bool {
							return before.Hosts[0].State == spec.FinWait1 && after.Hosts[0].State == spec.TimeWait
						}),
						Done: func(st model.State, m uint8) bool {
							return m&1 != 0 && st.Hosts[0].State == spec.TimeWait && st.Hosts[1].State == spec.Closed
						}},
					Reading: "B acknowledges A's FIN and its user closes at once, so B's ACK and B's FIN,ACK are in " +
						"flight together. The FIN,ACK arrives first: it acknowledges A's FIN and carries B's, and A goes " +
						"from FIN-WAIT-1 to TIME-WAIT in one step. The bare ACK, still in flight at the end, is now an " +
						"old duplicate.",
				},
				{
					Title:  "The ACK is lost",
					Config: with(base(), func(c *model.Config) { c.Loss = 1 }),
					Goal: &Goal{Name: "B's ACK of A's FIN was lost, A went from FIN-WAIT-1 straight to TIME-WAIT",
						Marks: anyMark(
							stepMark(1, func(before, _ model.State, st model.Step) bool {
								return st.Kind == model.Drop && st.Seg.From == 1 && st.Seg.Flags == spec.ACK && before.Hosts[0].State == spec.FinWait1
							}),
							stepMark(2, func(before, after model.State, _ model.Step) bool {
								return before.Hosts[0].State == spec.FinWait1 && after.Hosts[0].State == spec.TimeWait
							})),
						Done: func(st model.State, m uint8) bool {
							return m == 3 && st.Hosts[0].State == spec.TimeWait && st.Hosts[1].State == spec.Closed && settled(st)
						}},
					Reading: "On the wire A saw three closing segments: its FIN, B's FIN,ACK and its own last ACK, as " +
						"in a capture of a stack that delays the ACK of a FIN.",
				},
			},
			Linux:   []string{"active-close-by-us", "active-close-by-kernel"},
			Related: []string{"four-way-close", "simultaneous-close"},
		},
		{
			Slug:     "synack-retransmit",
			Question: "What happens when a SYN,ACK is lost, and when the retries run out?",
			Answer: "A side in SYN-RECEIVED has sent a SYN,ACK and waits for its acknowledgment. Like data, the " +
				"SYN,ACK is retransmitted when the retransmission timer fires (RFC 9293 §3.8.1, RFC 6298). After " +
				"too many retransmissions without progress (R2, RFC 1122 §4.2.3.5) the attempt is given up.",
			Scenes: []Scene{
				{
					Title:  "The SYN,ACK is lost and retransmitted",
					Config: with(base(), func(c *model.Config) { c.Loss = 1 }),
					Goal: &Goal{Name: "B retransmitted its SYN,ACK and both sides are ESTABLISHED",
						Marks: stepMark(1, func(before, _ model.State, st model.Step) bool {
							return st.Kind == model.Timer && st.Host == 1 && st.Event == spec.RetransmitTimeout && before.Hosts[1].State == spec.SynReceived
						}),
						Done: func(st model.State, m uint8) bool {
							return m&1 != 0 && both(st, spec.Established) && settled(st)
						}},
					Reading: "The first SYN,ACK is lost; B's retransmission timer fires in SYN-RECEIVED and B sends the " +
						"SYN,ACK again, which completes the handshake.",
				},
				{
					Title:  "The retries run out",
					Config: with(base(), func(c *model.Config) { c.Loss = 2 }),
					Goal: &Goal{Name: "B gave up in SYN-RECEIVED (R2)",
						Marks: stepMark(1, func(before, _ model.State, st model.Step) bool {
							return st.Kind == model.Timer && st.Host == 1 && st.Event == spec.RetriesExhausted && before.Hosts[1].State == spec.SynReceived
						}),
						Done: func(st model.State, m uint8) bool { return m&1 != 0 }},
					Reading: "Here the third segment is lost, and so is B's retransmitted SYN,ACK. B has used its " +
						"retransmissions (max_retries=1) and gives up (R2): a passive open goes back to LISTEN instead " +
						"of failing. A, which got the first SYN,ACK, is left ESTABLISHED with a peer that has no " +
						"connection: a half-open connection, which A learns about when it next sends and B, in LISTEN, " +
						"answers with a RST.",
				},
			},
			Linux:   []string{"synack-retransmit"},
			Related: []string{"lost-third-segment", "three-way-handshake"},
		},
		{
			Slug:     "lost-third-segment",
			Question: "What happens when the third segment of the handshake is lost?",
			Answer: "The client is ESTABLISHED as soon as it has sent the third segment; the server is still in " +
				"SYN-RECEIVED. Nothing is retransmitted by the client (a bare ACK is never retransmitted): the server's " +
				"retransmission of the SYN,ACK makes the client acknowledge again, and any data segment from the " +
				"client carries the acknowledgment too (RFC 9293 §3.5, §3.10.7.4).",
			Scenes: []Scene{
				{
					Title:  "The server retransmits its SYN,ACK",
					Config: with(base(), func(c *model.Config) { c.Loss = 1 }),
					Goal: &Goal{Name: "the third segment was lost and both sides are ESTABLISHED",
						Marks: stepMark(1, func(before, _ model.State, st model.Step) bool {
							return st.Kind == model.Drop && st.Seg.From == 0 && st.Seg.Flags == spec.ACK && before.Hosts[1].State == spec.SynReceived
						}),
						Done: func(st model.State, m uint8) bool {
							return m&1 != 0 && both(st, spec.Established) && settled(st)
						}},
					Reading: "A's ACK is lost. B's retransmission timer fires in SYN-RECEIVED, A (already ESTABLISHED) " +
						"answers the duplicate SYN,ACK with an ACK, and B is ESTABLISHED.",
				},
				{
					Title:  "The client's data acknowledges instead",
					Config: with(base(), func(c *model.Config) { c.Loss = 1; c.WriteA = 1 }),
					Goal: &Goal{Name: "the third segment was lost and A's data took B to ESTABLISHED",
						Marks: anyMark(
							stepMark(1, func(before, _ model.State, st model.Step) bool {
								return st.Kind == model.Drop && st.Seg.From == 0 && st.Seg.Flags == spec.ACK && before.Hosts[1].State == spec.SynReceived
							}),
							stepMark(2, func(before, after model.State, st model.Step) bool {
								return st.Kind == model.Deliver && st.Host == 1 && st.Seg.Len > 0 &&
									before.Hosts[1].State == spec.SynReceived && after.Hosts[1].State == spec.Established
							})),
						Done: func(st model.State, m uint8) bool { return m == 3 && settled(st) }},
					Reading: "A's ACK is lost, but A's user writes at once: the data segment carries the same " +
						"acknowledgment, and B goes to ESTABLISHED on it and delivers the octet.",
				},
			},
			Related: []string{"synack-retransmit", "three-way-handshake"},
		},
		{
			Slug:     "abort-rst",
			Question: "What does an abort look like?",
			Answer: "ABORT throws the connection away: the side that aborts sends a RST and forgets the connection " +
				"at once, without waiting for anything; the peer, on an acceptable RST, signals \"connection reset\" " +
				"to its user and deletes the connection too (RFC 9293 §3.10.5, §3.10.7.4). Unlike a close, data in " +
				"flight is thrown away.",
			Scenes: []Scene{
				{
					Title:  "A aborts an established connection",
					Config: with(base(), func(c *model.Config) { c.Abort = "a" }),
					Goal: &Goal{Name: "A aborted and B's user was told \"connection reset\"",
						Marks: stepMark(1, func(before, _ model.State, st model.Step) bool {
							return st.Kind == model.User && st.Host == 0 && st.Call == "abort" && before.Hosts[0].State == spec.Established
						}),
						Done: func(st model.State, m uint8) bool {
							return m&1 != 0 && st.Hosts[1].Signal == "reset" && settled(st)
						}},
					Reading: "A's user aborts in ESTABLISHED: A sends a RST and is CLOSED at once. The RST carries " +
						"exactly the sequence number B expects, so B accepts it, tells its user the connection was " +
						"reset, and is CLOSED too.",
				},
			},
			Linux:   []string{"abort-by-us", "abort-by-kernel", "close-with-unread-data"},
			Related: []string{"challenge-ack"},
		},
		{
			Slug:     "challenge-ack",
			Question: "What does a host do with an in-window RST it did not expect? (challenge ACK, RFC 5961)",
			Answer: "RFC 793 accepted any RST whose sequence number was in the receive window. An off-path attacker " +
				"who guesses a number in the window could then kill the connection. RFC 5961 §3.2 accepts a RST only " +
				"when its sequence number is exactly RCV.NXT; for any other in-window RST the host sends a " +
				"\"challenge ACK\" and keeps the connection. A genuine peer that really reset answers that ACK with a " +
				"RST at exactly the right number; the attacker never sees it.",
			Scenes: []Scene{
				{
					Title:    "A forged in-window RST gets a challenge ACK",
					ConfigOf: "accept-any-rst",
					Goal: &Goal{Name: "an injected in-window RST drew a challenge ACK and the connection survived",
						Marks: stepMark(1, func(before, after model.State, st model.Step) bool {
							return st.Kind == model.Inject && before.Hosts[st.Host].State == spec.Established &&
								after.Hosts[st.Host].State == spec.Established && st.NSent > 0 && st.Sent[0].Flags == spec.ACK
						}),
						Done: func(st model.State, m uint8) bool { return m&1 != 0 }},
					Reading: "The attacker injects into A a RST one past A's RCV.NXT, inside the window. A does not " +
						"reset: it stays ESTABLISHED and sends an ACK with the sequence numbers it expects.",
				},
				{
					Title:  "Accepting any in-window RST: the accept-any-rst mutant",
					Mutant: "accept-any-rst",
					Reading: "In this mutant the same forged RST resets the connection: A's user is told \"connection " +
						"reset\" although B never sent a RST.",
				},
				{
					Title:   "The correct table, same moves",
					Mutant:  "accept-any-rst",
					Correct: true,
					Goal:    &quiescent,
					Reading: "With the real table the forged RST draws a challenge ACK, which B (whose connection is " +
						"fine) takes as one more acknowledgment; the connection closes normally.",
				},
			},
			Linux:   []string{"challenge-ack"},
			Related: []string{"abort-rst"},
		},
		{
			Slug:     "fin-retransmit",
			Question: "Why must a FIN be retransmitted like data?",
			Answer: "A FIN occupies a sequence number and is acknowledged like data, so it can be lost like data. " +
				"If it is not retransmitted, the peer never learns that the stream ended (RFC 9293 §3.8.1, §3.10.8).",
			Scenes: []Scene{
				{
					Title:  "Without FIN retransmission: the no-fin-retransmit mutant",
					Mutant: "no-fin-retransmit",
					Reading: "A's FIN is lost. A's retransmission timer fires but, in this mutant, sends nothing; after " +
						"its retries A gives up. B is still ESTABLISHED, waiting for end of stream, with nothing in " +
						"flight: no step can ever take the two back to a quiet state.",
				},
				{
					Title:   "The correct table, same moves",
					Mutant:  "no-fin-retransmit",
					Correct: true,
					Goal:    &quiescent,
					Reading: "With the real table the retransmission timer sends the FIN again, B reads end of stream, " +
						"and the close completes.",
				},
			},
			Linux:   []string{"fin-retransmit"},
			Related: []string{"four-way-close", "time-wait-lost-ack"},
		},
	}
}
