package model

import (
	"github.com/tcpcheck/tcpcheck/spec"
)

// Property is a safety property checked on every reachable state.
type Property struct {
	Name  string // e.g. "HandshakeAgreement" (names are API: DESIGN.md section 3)
	Doc   string // one line
	Holds func(k Key) bool
}

// QuiescenceName is the name of the liveness property the engine checks
// from [System.Quiescent]: from every reachable state a quiescent state is
// reachable.
const QuiescenceName = "Quiescence"

// Names of the properties, in the order [System.Invariants] returns them.
const (
	HandshakeAgreement          = "HandshakeAgreement"
	EstablishedOnlyWithLivePeer = "EstablishedOnlyWithLivePeer"
	IncarnationIsolation        = "IncarnationIsolation"
	GracefulCloseCompletes      = "GracefulCloseCompletes"
	HalfCloseDelivers           = "HalfCloseDelivers"
	TimeWaitHeld                = "TimeWaitHeld"
	NoBlindReset                = "NoBlindReset"
	UnknownConnectionReset      = "UnknownConnectionReset"
	SynSentResetNeedsAck        = "SynSentResetNeedsAck"
	TimeWaitRestarts            = "TimeWaitRestarts"
	SignalsMatchState           = "SignalsMatchState"
	UnacceptableSegmentIgnored  = "UnacceptableSegmentIgnored"
	// The names below are of the properties issue 19's mutation sweep
	// found missing.
	SegmentWithoutConnectionIgnored = "SegmentWithoutConnectionIgnored"
	RetransmissionResendsEarliest   = "RetransmissionResendsEarliest"
	TimeoutEndsConnection           = "TimeoutEndsConnection"
	AbortEndsConnection             = "AbortEndsConnection"
	RefusedCallChangesNothing       = "RefusedCallChangesNothing"
	AcceptableResetCloses           = "AcceptableResetCloses"
	SignalsHaveCause                = "SignalsHaveCause"
	// The names below are of the properties the second sweep found
	// missing: what a step must send and may not, and what a state means.
	SegmentsHaveCause          = "SegmentsHaveCause"
	StateMatchesSequence       = "StateMatchesSequence"
	AcceptableSegmentProcessed = "AcceptableSegmentProcessed"
	DelayedAckAndProbeSent     = "DelayedAckAndProbeSent"
)

// PropertyNames returns the names of every property, the invariants in
// [System.Invariants] order followed by [QuiescenceName].
func PropertyNames() []string {
	return []string{HandshakeAgreement, EstablishedOnlyWithLivePeer, IncarnationIsolation,
		GracefulCloseCompletes, HalfCloseDelivers, TimeWaitHeld, NoBlindReset,
		UnknownConnectionReset, SynSentResetNeedsAck, TimeWaitRestarts, SignalsMatchState, UnacceptableSegmentIgnored,
		SegmentWithoutConnectionIgnored, RetransmissionResendsEarliest, TimeoutEndsConnection, AbortEndsConnection,
		RefusedCallChangesNothing, AcceptableResetCloses, SignalsHaveCause,
		SegmentsHaveCause, StateMatchesSequence, AcceptableSegmentProcessed, DelayedAckAndProbeSent, QuiescenceName}
}

// Invariants returns the safety properties, checked on every state. Their
// precise definitions are in the package documentation.
func (s *System) Invariants() []Property { return s.invs }

// properties builds the invariants, and the index Violated reads them by.
func (s *System) properties() {
	// A property with a flag holds unless the key's violation byte, k[1],
	// is that flag: the step that breaks it records the flag. The others
	// are functions of the key.
	defs := []struct {
		name, doc string
		holds     func(Key) bool
		flag      uint8
	}{
		{HandshakeAgreement, "unless the attacker's guess landed, when both sides are ESTABLISHED they agree on both ISNs and each RCV.NXT lies within what the peer has sent and not yet had acknowledged", handshakeAgreement, 0},
		{EstablishedOnlyWithLivePeer, "unless the attacker's guess landed, a side becomes synchronized only with a peer that opened the same incarnation with the ISS it took as IRS and still holds that TCB (or was synchronized and has ended it since)", nil, violEstablished},
		{IncarnationIsolation, "text and FIN a user receives in an incarnation were sent in that incarnation (no old duplicate is accepted)", nil, violIsolation},
		{GracefulCloseCompletes, "unless a user aborted, some host's retries ran out and the network lost a segment, or the attacker's segment changed a host's state or drew a RST, no synchronized connection is deleted by the peer's RST or by a timeout", s.gracefulClose, 0},
		{HalfCloseDelivers, "unless the attacker's guess landed, once a user has read end of stream it has received every octet the peer's user wrote", halfClose, 0},
		{TimeWaitHeld, "a side leaves TIME-WAIT (other than by ABORT) only 2*MSL ticks after it last entered or restarted it, and only a side that sent its FIN before receiving the peer's enters it", nil, violTimeWait},
		{NoBlindReset, "no connection is deleted by an injected RST that was not exactly at RCV.NXT", nil, violBlindReset},
		{UnknownConnectionReset, "a host answers a segment for a connection it does not have (in CLOSED, or carrying an ACK in LISTEN) with a RST", nil, violNoReply},
		{SynSentResetNeedsAck, "a host in SYN-SENT is deleted by a RST only when its ACK acknowledges the SYN", nil, violSynSentReset},
		{TimeWaitRestarts, "a retransmission of the peer's FIN in TIME-WAIT is acknowledged and restarts the 2MSL timer, and nothing else restarts it", nil, violTimeWaitRestart},
		{SignalsMatchState, "a user is told reset, refused or timeout only when its connection ends, and connected only when it is synchronized", nil, violSignal},
		{UnacceptableSegmentIgnored, "in a synchronized state a segment that fails the acceptability test of RFC 9293 §3.10.7.4, a RST in the window but not at RCV.NXT (RFC 5961 §3.2), a SYN (RFC 5961 §4.2), an ACK out of range (RFC 5961 §5.2) or a segment without ACK, in SYN-RECEIVED an unacceptable segment (but a SYN at IRS), an inexact RST or, in an active open, a SYN in the window, changes neither the state, RCV.NXT, SND.UNA, SND.NXT nor what the user was told, and draws exactly one bare ACK (nothing for an unacceptable RST, a segment without ACK, or in TIME-WAIT, which expects only the peer's FIN, anything else); an unacceptable ACK in SYN-SENT (also on a SYN,ACK) or SYN-RECEIVED changes nothing and draws exactly one RST, and in SYN-SENT any other segment with neither SYN nor RST changes nothing and draws nothing", nil, violUnacceptable},
		{SegmentWithoutConnectionIgnored, "a segment in CLOSED, or in LISTEN anything but a SYN without ACK or RST, changes nothing and draws at most a RST (nothing for a RST) (RFC 9293 §3.10.7.1, §3.10.7.2)", nil, violNoConnection},
		{RetransmissionResendsEarliest, "when the retransmission timer fires the host stays in its state and sends one segment, not a RST, from SND.UNA (RFC 6298 §5.4)", nil, violRetransmit},
		{TimeoutEndsConnection, "when R2 or the user timeout fires the host sends nothing and closes telling its user timeout (a passive SYN-RECEIVED goes back to LISTEN; TIME-WAIT waits for 2MSL), and when keepalive gives up it closes telling timeout and sends at most a RST <SEQ=SND.NXT> (RFC 9293 §3.10.8, RFC 1122 §4.2.3.5, §4.2.3.6)", nil, violTimeout},
		{AbortEndsConnection, "ABORT leaves the host CLOSED, having sent <SEQ=SND.NXT><CTL=RST> from SYN-RECEIVED, ESTABLISHED, FIN-WAIT-1, FIN-WAIT-2 and CLOSE-WAIT and nothing from the other states, its user told at most reset, and nothing from CLOSING, LAST-ACK and TIME-WAIT, where no call is pending (RFC 9293 §3.10.5)", nil, violAbort},
		{RefusedCallChangesNothing, "a user call the table answers with an error changes nothing and sends nothing (RFC 9293 §3.10.1-§3.10.5)", nil, violRefused},
		{AcceptableResetCloses, "an acceptable RST (at RCV.NXT; in SYN-SENT acknowledging the SYN) deletes the TCB (a passive SYN-RECEIVED goes back to LISTEN) and draws nothing, telling the user refused in SYN-SENT and an active SYN-RECEIVED, reset in ESTABLISHED, FIN-WAIT-1, FIN-WAIT-2 and CLOSE-WAIT, and nothing elsewhere; SYN-SENT drops any other RST silently, and TIME-WAIT ignores every RST (RFC 9293 §3.10.7.3, §3.10.7.4; RFC 1337 §3)", nil, violReset},
		{SignalsHaveCause, "a user is told connected only when its connection becomes synchronized, and of a failure only when a TCB it had ends: reset only on a RST or its own ABORT, refused only on a RST before synchronization, timeout only on R2, the user timeout or keepalive giving up (RFC 9293 §3.10.7, §3.10.8; RFC 1122 §4.2.3.6)", nil, violSignalCause},
		{SegmentsHaveCause, "every segment a host sends has its cause in the step: a SYN an open (or SEND in LISTEN), a SYN,ACK a SYN received, new text a SEND, CLOSE or acceptable segment once synchronized, a FIN the CLOSE, a retransmission the retransmission timer, a keepalive probe the keepalive timer of an idle connection, one bare ACK a segment that occupies sequence space or fails the acceptability checks or an owed delayed ACK (an acceptable ACK is not acknowledged), a RST an ABORT, keepalive giving up, or a segment without a connection or with an unacceptable ACK before synchronization; only RSTs come from a host that ends the step without a TCB (RFC 9293 §3.10, RFC 6298 §5.4, RFC 1122 §4.2.3.2, §4.2.3.6)", nil, violCause},
		{StateMatchesSequence, "a host's state agrees with what it has sent, received and had acknowledged: SYN-SENT and SYN-RECEIVED wait for the ACK of the SYN and the other states have it, the FIN-sent states are those with our FIN sent and FIN-WAIT-2 and TIME-WAIT those with it acknowledged, LAST-ACK is the passive closer's, the FIN-received states are entered by accepting the peer's FIN and never left for a state with a TCB, a synchronized connection stays synchronized, and a TCB ends only for a cause (RFC 9293 §3.3.2, §3.10)", nil, violStateMeaning},
		{AcceptableSegmentProcessed, "an acceptable segment's new ACK sets SND.UNA to SEG.ACK, its text and FIN at RCV.NXT advance RCV.NXT in the states before the peer's FIN, IRS is set only from a SYN in LISTEN or SYN-SENT, SND.UNA and RCV.NXT move for no other reason, what RCV.NXT passes over is acknowledged at once (text may wait for the delayed ACK, not for a second segment), and a SEND not refused takes the text (RFC 9293 §3.10.2, §3.10.7; RFC 1122 §4.2.3.2)", nil, violProcessed},
		{DelayedAckAndProbeSent, "the delayed-ACK timer sends the owed ACK, one <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, and the keepalive timer of an idle connection one probe <SEQ=SND.NXT-1><ACK=RCV.NXT><CTL=ACK>, and neither changes the state, SND.UNA, SND.NXT, RCV.NXT or the user's signal (RFC 1122 §4.2.3.2, §4.2.3.6)", nil, violTimerDuty},
	}
	for i, d := range defs {
		p := Property{Name: d.name, Doc: d.doc, Holds: d.holds}
		if d.flag != 0 {
			f := d.flag
			p.Holds = func(k Key) bool { return k[1] != f }
			if s.flagProp[f] == 0 {
				s.flagProp[f] = uint8(i + 1)
			}
		} else {
			s.called = append(s.called, i)
		}
		s.invs = append(s.invs, p)
	}
}

// Violated returns the index in [System.Invariants] of the first property
// k breaks, or -1: what calling each property's Holds in order returns,
// with one read of the violation byte for the properties a step records
// there (a key holds one such flag) and calls only for the others. The
// explorer asks it of every new state.
func (s *System) Violated(k *Key) int {
	first := int(s.flagProp[k[1]]) - 1
	for _, i := range s.called {
		if first >= 0 && i > first {
			break
		}
		if !s.invs[i].Holds(*k) {
			return i
		}
	}
	return first
}

// Offsets of a host's bytes in a key (see host.encode), for the properties'
// fast paths that read a few bits without decoding the whole state.
const (
	hostA         = 2
	hostB         = 2 + hostBytes
	stByte        = 0 // state in the low 4 bits, sawEOF in bit 6
	ghostByte     = 6 // aborted bit 5, endRST bit 6, endTimeout bit 7
	issByte       = 1
	irsByte       = 2
	unaByte       = 3
	nxtByte       = 4
	rcvByte       = 5
	writtenByte   = 8 // written in the low 4 bits
	deliveredByte = 9 // delivered in the low 4 bits
	eofBit        = 1 << 6
	abortedBit    = 1 << 5
	endedBadBits  = 1<<6 | 1<<7
)

// attacked reports whether an injected segment changed a host's state,
// SND.UNA or RCV.NXT, or drew a RST, in the current incarnation: a guess
// of the off-path attacker that landed. The properties of the connection
// itself speak of the other runs; NoBlindReset and SynSentResetNeedsAck
// speak of the attack.
func attacked(k *Key) bool { return k[ghostOff]&ghostInjectHit != 0 }

func handshakeAgreement(k Key) bool {
	if attacked(&k) {
		return true
	}
	if spec.State(k[hostA+stByte]&15) != spec.Established || spec.State(k[hostB+stByte]&15) != spec.Established {
		return true
	}
	a, b := k[hostA:hostA+hostBytes], k[hostB:hostB+hostBytes]
	agree := func(h, p []byte) bool {
		return h[irsByte] == p[issByte] && seq(p[unaByte]).LessEq(seq(h[rcvByte])) && seq(h[rcvByte]).LessEq(seq(p[nxtByte]))
	}
	return agree(a, b) && agree(b, a)
}

// gracefulClose is GracefulCloseCompletes. Retries that run out are its
// premise only when the network lost a segment (the loss budget of the
// state's scenario is not whole): with nothing lost, a host that gives up
// was let down by its peer (an ACK withheld too long, say), not by the
// network.
func (s *System) gracefulClose(k Key) bool {
	ga, gb := k[hostA+ghostByte], k[hostB+ghostByte]
	if (ga|gb)&abortedBit != 0 || k[ghostOff]&ghostInjectHit != 0 {
		return true
	}
	if k[ghostOff]&ghostRetriesOut != 0 && s.lossUsed(k) {
		return true
	}
	return (ga|gb)&endedBadBits == 0
}

// lossUsed reports whether the network has lost a segment in the run that
// led to k.
func (s *System) lossUsed(k Key) bool {
	sc := int(k[scenOff] & scenMask)
	return sc < len(s.scen) && k[0]>>2&3 < s.scen[sc].loss
}

func halfClose(k Key) bool {
	if attacked(&k) {
		return true
	}
	a, b := k[hostA:hostA+hostBytes], k[hostB:hostB+hostBytes]
	if (a[stByte]|b[stByte])&eofBit == 0 {
		return true
	}
	return (a[stByte]&eofBit == 0 || a[deliveredByte]&15 == b[writtenByte]&15) &&
		(b[stByte]&eofBit == 0 || b[deliveredByte]&15 == a[writtenByte]&15)
}
