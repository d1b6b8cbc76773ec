package gen

import "github.com/tcpcheck/tcpcheck/spec"

// actionDoc says what each action does, for the legend of the table. It is
// the comment of the constant in spec/action.go; TestLegendMatchesSpec keeps
// the two equal.
var actionDoc = [spec.NumActions]string{
	spec.Drop:             "Drop does nothing: the event is discarded. It marks rows that deliberately ignore an event.",
	spec.AcceptSYN:        "IRS = SEG.SEQ, RCV.NXT = SEG.SEQ+1; record the peer's window and MSS",
	spec.ProcessACK:       "SND.UNA = SEG.ACK when it is new; free acknowledged data; update SND.WND",
	spec.AcceptText:       "deliver in-order text to the user; RCV.NXT advances over it",
	spec.AcceptFIN:        "RCV.NXT advances over the FIN; the user sees end of stream after the text",
	spec.QueueText:        "SEND before the connection is established: keep the text for later",
	spec.SendSYN:          "choose ISS (an input), SND.UNA = ISS, SND.NXT = ISS+1; send <SEQ=ISS><CTL=SYN>",
	spec.SendSYNACK:       "send <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>",
	spec.SendText:         "send queued text, and a FIN queued behind it, as far as the send window allows",
	spec.SendFIN:          "after all queued text, send <SEQ=SND.NXT><ACK=RCV.NXT><CTL=FIN,ACK>; SND.NXT+1",
	spec.SendACK:          "send <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>",
	spec.DelayACK:         "acknowledge accepted text: nothing if this step's segment carried the ACK, send ACK if one was owed already and two full-sized segments (2*MSS octets) are unacknowledged, else owe it (the delayed-ACK timer starts with the first segment that owes it)",
	spec.SendChallengeACK: "send the challenge ACK of RFC 5961 (the same segment as SendACK, rate-limited)",
	spec.SendKeepAlive:    "send the keepalive probe of RFC 1122 §4.2.3.6: <SEQ=SND.NXT-1><ACK=RCV.NXT><CTL=ACK>",
	spec.SendRST:          "abort: send <SEQ=SND.NXT><CTL=RST>",
	spec.ReplyRST:         "reply to the segment with the RST of RFC 9293 §3.10.7.1",
	spec.Retransmit:       "resend the earliest unacknowledged segment (SYN, SYN,ACK, text or FIN)",
	spec.StartTimeWait:    "start, or restart, the 2MSL timer",
	spec.SignalConnected:  "OPEN completed: the connection is established",
	spec.SignalReset:      "\"connection reset\"",
	spec.SignalRefused:    "\"connection refused\"",
	spec.SignalTimeout:    "\"connection aborted due to user timeout\"",
	spec.ErrNotExist:      "\"connection does not exist\"",
	spec.ErrExists:        "\"connection already exists\"",
	spec.ErrClosing:       "\"connection closing\"",
	spec.DeleteTCB:        "DeleteTCB discards the connection's TCB and cancels its timers. A connection that came from LISTEN and goes back there keeps listening.",
}

// eventDoc says what each event is: the comment of the constant in
// spec/event.go (kept equal by TestLegendMatchesSpec).
var eventDoc = [spec.NumEvents]string{
	spec.PassiveOpen:        "OPEN with the passive flag (listen)",
	spec.ActiveOpen:         "OPEN with a foreign socket (connect)",
	spec.Send:               "SEND",
	spec.Close:              "CLOSE: \"I have no more data to send\"",
	spec.Abort:              "ABORT",
	spec.SegSYN:             "SYN without ACK (no RST)",
	spec.SegSYNACK:          "SYN with ACK (no RST)",
	spec.SegACK:             "ACK without SYN, FIN, RST and without text",
	spec.SegData:            "ACK with text, without SYN, FIN, RST",
	spec.SegFIN:             "FIN with ACK, text or not, without SYN and RST",
	spec.SegRST:             "RST, whatever else is set",
	spec.SegNoACK:           "none of SYN, RST, ACK (a bare or FIN-only segment)",
	spec.RetransmitTimeout:  "the retransmission timer (RFC 6298) fired",
	spec.RetriesExhausted:   "the retransmission limit R2 (RFC 1122 §4.2.3.5) was reached",
	spec.TimeWaitTimeout:    "the 2MSL timer of TIME-WAIT fired",
	spec.UserTimeout:        "the user timeout (RFC 9293 §3.8.4) fired",
	spec.DelayedAckTimeout:  "the delayed-ACK timer (RFC 1122 §4.2.3.2) fired: the owed ACK is due",
	spec.KeepAliveTimeout:   "the keepalive timer (RFC 1122 §4.2.3.6) fired on an idle connection, with probes left",
	spec.KeepAliveExhausted: "the keepalive timer fired after the last probe the caller allows went unanswered",
}
