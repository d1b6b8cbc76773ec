package linuxdut

import "github.com/tcpcheck/tcpcheck/check/live/dut"

// Deviations are the registered differences between the Linux kernel's TCP
// (with the namespace defaults linuxdut keeps: net.ipv4.tcp_rfc1337 = 0)
// and the table, as the conformance tester observes them. docs/linux.md
// lists them with the rows where each showed; a run of the whole suite
// fails on one that no longer shows. The IDs the kernel scenarios share
// (abort-rst-carries-ack, rst-kills-time-wait) name the same behaviour.
var Deviations = []dut.Deviation{
	{
		ID:    "abort-rst-carries-ack",
		Row:   "* + ABORT",
		Got:   "RST,ACK seq=SND.NXT ack=RCV.NXT → *",
		RFC:   "RFC 9293 §3.10.5",
		Table: "ABORT in a synchronized state sends <SEQ=SND.NXT><CTL=RST>",
		Stack: "close() with SO_LINGER 0 sends RST,ACK, the ACK field at RCV.NXT (the receiver checks a RST by its sequence number only, RFC 5961 §3.2, so the outcome is the same)",
	},
	{
		ID:    "window-edge-accepted",
		Row:   "* + rcv ACK [!SeqOK]|* + rcv FIN [!SeqOK]|* + rcv no-ACK [!SeqOK]",
		Case:  "seq=RCV.NXT+WND ",
		Got:   "nothing → *",
		RFC:   "RFC 9293 §3.10.7.4 (first check, the four-case acceptability test)",
		Table: "a segment without text is acceptable only when RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND; one at SEG.SEQ = RCV.NXT+RCV.WND is answered with <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> and dropped",
		Stack: "tcp_sequence() rejects a segment only when SEG.SEQ is after RCV.NXT+RCV.WND, so one exactly at the window's end is acceptable: no ACK, and its ACK field is processed (a FIN-WAIT-1, CLOSING or LAST-ACK whose FIN it acknowledges moves on)",
	},
	{
		ID:    "rst-at-window-edge",
		Row:   "* + rcv RST [!SeqOK & !RstExact]",
		Case:  "seq=RCV.NXT+WND ",
		Got:   "ACK seq=SND.NXT ack=RCV.NXT → *",
		RFC:   "RFC 9293 §3.10.7.4 (second check) and RFC 5961 §3.2",
		Table: "a RST outside the window is dropped without an answer",
		Stack: "takes a RST at RCV.NXT+RCV.WND as inside the window (the same edge as window-edge-accepted) and answers it with a challenge ACK",
	},
	{
		ID:    "no-ack-bit-dropped-silently",
		Row:   "* + rcv no-ACK [!SeqOK]",
		Got:   "nothing → *",
		RFC:   "RFC 9293 §3.10.7.4 (first check, before the fifth: \"if the ACK bit is off, drop the segment\")",
		Table: "an unacceptable segment is answered with an ACK whatever its control bits (unless RST); the ACK bit is looked at later",
		Stack: "tcp_rcv_state_process() drops a segment with none of ACK, RST and SYN before the sequence check, without an answer",
	},
	{
		ID:    "rst-below-rcv-nxt-after-fin",
		Row:   "CLOSE-WAIT + rcv RST [!SeqOK & !RstExact]|LAST-ACK + rcv RST [!SeqOK & !RstExact]|CLOSING + rcv RST [!SeqOK & !RstExact]",
		Got:   "nothing → LISTEN|nothing → CLOSED",
		RFC:   "RFC 9293 §3.10.7.4 (second check) and RFC 5961 §3.2",
		Table: "a RST outside the window (here at SEG.SEQ = RCV.NXT-1) is dropped",
		Stack: "tcp_reset_check() accepts a RST at RCV.NXT-1 once the peer's FIN is in (CLOSE-WAIT, CLOSING, LAST-ACK), for peers that reset with the sequence number of their FIN, and deletes the connection",
	},
	{
		ID:    "old-segment-ack-processed",
		Row:   "* + rcv FIN [!SeqOK]|* + rcv data [!SeqOK]",
		Got:   "ACK seq=SND.NXT ack=RCV.NXT → FIN-WAIT-2|nothing → TIME-WAIT|nothing → LISTEN|nothing → CLOSED",
		RFC:   "RFC 9293 §3.10.7.4 (first check)",
		Table: "a segment that begins before RCV.NXT and has no new octet in the window is unacceptable: it is answered with an ACK and dropped, its ACK field unread",
		Stack: "tcp_sequence() accepts a segment whose end (SEG.SEQ+SEG.LEN) reaches RCV.NXT: it is answered as a duplicate but its ACK field is processed, so an acknowledgment of our FIN takes FIN-WAIT-1 to FIN-WAIT-2, CLOSING to TIME-WAIT and LAST-ACK to CLOSED",
	},
	{
		ID:    "old-ack-challenged",
		Row:   "CLOSE-WAIT + rcv * [SeqOK & AckInRange*|LAST-ACK + rcv * [SeqOK & AckInRange*|CLOSING + rcv * [SeqOK & AckInRange*|FIN-WAIT-1 + rcv * [SeqOK & AckInRange*|FIN-WAIT-2 + rcv * [SeqOK & AckInRange*|ESTABLISHED + rcv * [SeqOK & AckInRange*",
		Case:  "ack=SND.UNA-1 |ack=SND.UNA-MAX.SND.WND ",
		Got:   "ACK seq=SND.NXT ack=RCV.NXT → *",
		RFC:   "RFC 9293 §3.10.7.4 (fifth check: \"If the ACK is a duplicate (SEG.ACK =< SND.UNA), it can be ignored\") and RFC 5961 §5.2",
		Table: "an ACK in SND.UNA-MAX.SND.WND =< SEG.ACK < SND.UNA is a duplicate: ignored, the segment's text and FIN processed",
		Stack: "outside ESTABLISHED, tcp_rcv_state_process() answers an ACK below SND.UNA with a challenge ACK and drops the segment; in ESTABLISHED too at SEG.ACK = SND.UNA-MAX.SND.WND exactly, which Linux's window (max_window) counts as too old",
	},
	{
		ID:    "bad-ack-text-accepted",
		Row:   "ESTABLISHED + rcv data [SeqOK & !AckInRange]",
		Case:  "ack=SND.UNA-MAX.SND.WND-1 ",
		Got:   "ACK seq=SND.NXT ack=SEG.SEQ+SEG.LEN → ESTABLISHED",
		RFC:   "RFC 9293 §3.10.7.4 (fifth check) and RFC 5961 §5.2",
		Table: "a segment whose ACK is older than SND.UNA-MAX.SND.WND is dropped with an ACK of the old RCV.NXT",
		Stack: "with text of its own in flight, takes the text (and acknowledges it) of a segment whose ACK is one below SND.UNA-MAX.SND.WND as the tester reckons MAX.SND.WND: Linux's max_window is larger there",
	},
	{
		ID:    "text-after-fin-resets",
		Row:   "CLOSE-WAIT + rcv data *|CLOSING + rcv data *|LAST-ACK + rcv data *",
		Got:   "RST seq=SND.NXT → *|RST seq=SND.UNA → *",
		RFC:   "RFC 9293 §3.10.7.4 (seventh, text: \"This should not occur, since a FIN has been received from the remote side. Ignore the segment text.\")",
		Table: "text that reaches past the peer's FIN is ignored (the segment's ACK is processed)",
		Stack: "tcp_rcv_state_process() resets the connection (RST, then CLOSED) when new text arrives after the peer's FIN",
	},
	{
		ID:    "syn-received-ack-checked-first",
		Row:   "SYN-RECEIVED + rcv *",
		Got:   "RST seq=SEG.ACK → SYN-RECEIVED|RST seq=SND.UNA → SYN-RECEIVED",
		RFC:   "RFC 9293 §3.10.7.4 (first check before the fifth)",
		Table: "in SYN-RECEIVED an unacceptable SEG.SEQ is answered with an ACK before SEG.ACK is looked at",
		Stack: "a half-open connection is a request socket (tcp_check_req()), which checks SEG.ACK = ISS+1 first and answers any other ACK with <SEQ=SEG.ACK><CTL=RST> from the listener, whatever SEG.SEQ; the request stays",
	},
	{
		ID:    "syn-received-syn-resets",
		Row:   "SYN-RECEIVED + rcv SYN [SeqOK & Passive]|SYN-RECEIVED + rcv SYN,ACK [SeqOK & Passive]",
		Got:   "RST seq=SND.NXT → LISTEN|RST,ACK seq=0 ack=SEG.SEQ+SEG.LEN → LISTEN",
		RFC:   "RFC 9293 §3.10.7.4 (fourth check) and RFC 5961 §4.2",
		Table: "a SYN in the window of a passive SYN-RECEIVED returns the connection to LISTEN (RFC 9293) without a reset",
		Stack: "tcp_check_req() answers a SYN in the window (not the retransmitted one) with a RST (\"embryonic reset\") and drops the request: back to LISTEN",
	},
	{
		ID:    "syn-received-old-syn-ignored",
		Row:   "SYN-RECEIVED + rcv SYN [!SeqOK]",
		Got:   "nothing → SYN-RECEIVED",
		RFC:   "RFC 9293 §3.10.7.4 (first check)",
		Table: "an unacceptable SYN is answered with <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>",
		Stack: "a request socket sends nothing new for a SYN outside its window: a retransmitted SYN (at IRS) only makes it retransmit its SYN,ACK, which the tester counts as a retransmission",
	},
	{
		ID:    "syn-received-shutdown-deferred",
		Row:   "SYN-RECEIVED + CLOSE",
		Got:   "nothing → SYN-RECEIVED",
		RFC:   "RFC 9293 §3.10.4 (CLOSE in SYN-RECEIVED: \"form a FIN segment and send it, and enter FIN-WAIT-1 state\")",
		Table: "shutdown of the write side in SYN-RECEIVED sends FIN and enters FIN-WAIT-1",
		Stack: "shutdown(SHUT_WR) on a socket in SYN-RECEIVED (after a simultaneous open) sends nothing and the state stays until the handshake completes",
	},
	{
		ID:    "rst-kills-time-wait",
		Row:   "TIME-WAIT + rcv RST",
		Got:   "nothing → CLOSED",
		RFC:   "RFC 1337 §3 (the table; RFC 9293 §3.10.7.4 itself would close)",
		Table: "a RST in TIME-WAIT is ignored, so that an old duplicate cannot assassinate TIME-WAIT",
		Stack: "with the default net.ipv4.tcp_rfc1337 = 0, an acceptable RST deletes the TIME-WAIT socket at once",
	},
	{
		ID:    "time-wait-acks-segments",
		Row:   "TIME-WAIT + rcv data [SeqOK]|TIME-WAIT + rcv ACK [SeqOK]|TIME-WAIT + rcv no-ACK [SeqOK]",
		Got:   "ACK seq=SND.NXT ack=RCV.NXT → TIME-WAIT",
		RFC:   "RFC 9293 §3.10.7.4 (TIME-WAIT: only a retransmitted FIN is acknowledged)",
		Table: "an acceptable segment in TIME-WAIT other than the peer's FIN again is dropped without an answer",
		Stack: "tcp_timewait_state_process() answers text, and a segment at the window's far end, with an ACK of RCV.NXT",
	},
	{
		ID:    "time-wait-outlives-abort",
		Row:   "TIME-WAIT + ABORT",
		Got:   "nothing → TIME-WAIT",
		RFC:   "RFC 9293 §3.10.5 (ABORT in TIME-WAIT: delete the TCB)",
		Table: "ABORT in TIME-WAIT deletes the connection",
		Stack: "entering TIME-WAIT detaches the connection from its socket (a timewait socket takes its place), so close() with SO_LINGER 0 on the socket no longer reaches it: TIME-WAIT runs its 60 s",
	},
}
