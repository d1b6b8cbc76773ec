package model

import (
	"fmt"

	"github.com/tcpcheck/tcpcheck/spec"
)

// Mutant is a deliberately broken variant of the model: a one-row change of
// the table or a one-knob change of the model, with the property it breaks.
type Mutant struct {
	Name     string // e.g. "two-way-handshake"
	Question string // the question it answers, e.g. "Why does TCP open with three segments, not two?"
	Property string // the property it breaks (an invariant name or QuiescenceName)
	Change   string // the one-row (or one-knob) change, in words, naming the row
	Explain  string // a short plain-language reading of why the counterexample happens
}

var mutants = []Mutant{
	{
		Name:     "two-way-handshake",
		Question: "Why does TCP open with three segments, not two?",
		Property: EstablishedOnlyWithLivePeer,
		Change:   `row "LISTEN + rcv SYN" goes to ESTABLISHED (signalling connected) instead of SYN-RECEIVED`,
		Explain: "A server that trusts a bare SYN cannot tell a live connection request from a duplicate of a SYN " +
			"whose sender has since given up (here: it was refused because the server was not yet listening): it " +
			"becomes ESTABLISHED with a peer that has no such connection. The third segment is the client confirming " +
			"that the SYN,ACK answered a SYN it still stands by.",
	},
	{
		Name:     "no-time-wait",
		Question: "Why does the side that closes first wait in TIME-WAIT?",
		Property: GracefulCloseCompletes,
		Change:   `row "FIN-WAIT-2 + rcv FIN [SeqOK & AckInRange]" goes to CLOSED (deleting the TCB) instead of TIME-WAIT`,
		Explain: "The last ACK of a close can be lost. The peer in LAST-ACK then retransmits its FIN, but the active " +
			"closer has already forgotten the connection and answers with a RST, so a close that both users asked for " +
			"ends in a reset. TIME-WAIT keeps the state to acknowledge the FIN again.",
	},
	{
		Name:     "short-time-wait",
		Question: "Why does TIME-WAIT last 2*MSL and not just MSL?",
		Property: IncarnationIsolation,
		Change:   "the model's TIME-WAIT length is MSL ticks instead of 2*MSL (the time_wait knob)",
		Explain: "A segment the peer sent after the active closer entered TIME-WAIT (a retransmitted FIN) can live " +
			"MSL ticks from then. Leaving after only MSL lets the users open a new incarnation with the same sequence " +
			"numbers while that segment is still in flight, and the new connection accepts it. (It also breaks " +
			"TimeWaitHeld directly, which states the 2*MSL rule itself.)",
	},
	{
		Name:     "three-way-close",
		Question: "Why does TCP close with four segments, not three?",
		Property: HalfCloseDelivers,
		Change:   `row "ESTABLISHED + rcv FIN [SeqOK & AckInRange]" sends FIN (instead of a bare ACK) and goes to LAST-ACK instead of CLOSE-WAIT`,
		Explain: "The peer's FIN only says it has nothing more to send. Closing our side at once on it (FIN,ACK in " +
			"one segment) leaves our user unable to send what it still has to say: its later writes fail and the " +
			"peer reads end of stream without them. CLOSE-WAIT keeps the half-open direction open.",
	},
	{
		Name:     "no-fin-retransmit",
		Question: "Why must a FIN be retransmitted like data?",
		Property: QuiescenceName,
		Change:   `row "FIN-WAIT-1 + RTO" drops the timeout instead of retransmitting`,
		Explain: "If the FIN is lost and never resent, the peer never learns that the stream ended: its user waits " +
			"for end of stream forever while the closer eventually gives up. The connection never winds down.",
	},
	{
		Name:     "accept-any-rst",
		Question: "Why must a RST carry exactly RCV.NXT (RFC 5961)?",
		Property: NoBlindReset,
		Change:   `row "ESTABLISHED + rcv RST [SeqOK & !RstExact]" resets the connection instead of sending a challenge ACK`,
		Explain: "An off-path attacker does not know RCV.NXT but only has to land anywhere in the receive window " +
			"to kill a connection if any in-window RST is accepted. Requiring the exact RCV.NXT (and answering other " +
			"in-window RSTs with a challenge ACK) makes a blind guess succeed with probability 1/2^32 instead.",
	},
	{
		Name:     "unbounded-delayed-ack",
		Question: "Why must a delayed ACK be bounded?",
		Property: GracefulCloseCompletes,
		Change:   "the model's delayed ACK may wait longer than the peer's retransmission timers (the bound of RFC 1122 §4.2.3.2 dropped: R2 and the RTO no longer wait for an ACK that is owed)",
		Explain: "The receiver of text may hold its ACK back, hoping to send it on a response, but the sender cannot tell a delayed ACK " +
			"from a lost segment: it only sees time pass. If the delay is not bounded well below the sender's timers, the sender " +
			"retransmits what has arrived, and when it has no retransmissions left it gives up on a connection where nothing was " +
			"lost. RFC 1122 bounds the delay to less than 0.5 s and asks for an ACK at least every second full-sized segment; " +
			"the retransmission timeout is at least 1 s (RFC 6298).",
	},
}

// Mutants returns the mutants in the order of DESIGN.md.
func Mutants() []Mutant { return append([]Mutant(nil), mutants...) }

func findMutant(name string) (Mutant, error) {
	var names []string
	for _, m := range mutants {
		if m.Name == name {
			return m, nil
		}
		names = append(names, m.Name)
	}
	return Mutant{}, fmt.Errorf("model: unknown mutant %q; known mutants: %v", name, names)
}

// MutantConfig returns a small configuration in which the mutant's
// violation is reachable (and which the correct table passes).
func MutantConfig(name string) (Config, error) {
	if _, err := findMutant(name); err != nil {
		return Config{}, err
	}
	c := DefaultConfig()
	c.Incarnations, c.Loss, c.Dup, c.Reorder, c.Also = 1, 0, 0, false, nil
	c.WriteA, c.WriteB = 0, 0
	// The worst ISN clock: every incarnation picks the same ISS, so only
	// the protocol's own mechanisms keep incarnations apart.
	c.ISSStride = 0
	switch name {
	case "two-way-handshake":
		// In the second incarnation the client connects before the
		// server listens again and is refused, while a duplicate of its
		// SYN is still in flight when the server listens.
		c.Incarnations, c.Dup = 2, 1
	case "no-time-wait":
		c.Loss = 1
	case "short-time-wait":
		// Two incarnations with an ISN clock that does not move between
		// them (a fast reconnect), so old segments match the new one, and
		// a retransmission timer that may fire before the acknowledgment
		// arrives, so the peer can send a FIN after TIME-WAIT began.
		c.Incarnations, c.SpuriousRTO, c.RTOMax, c.Reorder = 2, true, 1, true
	case "three-way-close":
		c.WriteB = 1
	case "no-fin-retransmit":
		// Without the user timeout, nothing rescues a peer that waits
		// for end of stream.
		c.Loss, c.UserTimeout = 1, false
	case "accept-any-rst":
		c.Inject = 1
	case "unbounded-delayed-ack":
		// One octet from the client and no retransmissions left: the
		// sender's R2 comes as soon as nothing is in flight.
		c.WriteA, c.MaxRetries = 1, 0
	}
	return c, nil
}

// NewMutant returns the model of cfg running the named mutant.
func NewMutant(cfg Config, name string) (*System, error) {
	if _, err := findMutant(name); err != nil {
		return nil, err
	}
	rows := spec.Table()
	edit := func(rowName string, f func(r *spec.Row)) error {
		i := spec.Find(rows, rowName)
		if i < 0 {
			return fmt.Errorf("model: mutant %s: the table has no row %q", name, rowName)
		}
		f(&rows[i])
		return nil
	}
	var err error
	switch name {
	case "two-way-handshake":
		err = edit("LISTEN + rcv SYN", func(r *spec.Row) {
			r.To = spec.Established
			r.Do = []spec.Action{spec.AcceptSYN, spec.SendSYNACK, spec.SignalConnected}
		})
	case "no-time-wait":
		err = edit("FIN-WAIT-2 + rcv FIN [SeqOK & AckInRange]", func(r *spec.Row) {
			r.To = spec.Closed
			r.Do = []spec.Action{spec.ProcessACK, spec.AcceptText, spec.AcceptFIN, spec.SendACK, spec.DeleteTCB}
		})
	case "short-time-wait":
		cfg.TimeWait = cfg.MSL
	case "three-way-close":
		err = edit("ESTABLISHED + rcv FIN [SeqOK & AckInRange]", func(r *spec.Row) {
			r.To = spec.LastAck
			r.Do = []spec.Action{spec.ProcessACK, spec.AcceptText, spec.AcceptFIN, spec.SendFIN}
		})
	case "no-fin-retransmit":
		err = edit("FIN-WAIT-1 + RTO", func(r *spec.Row) { r.Do = []spec.Action{spec.Drop} })
	case "accept-any-rst":
		err = edit("ESTABLISHED + rcv RST [SeqOK & !RstExact]", func(r *spec.Row) {
			r.To = spec.Closed
			r.Do = []spec.Action{spec.SignalReset, spec.DeleteTCB}
		})
	}
	if err != nil {
		return nil, err
	}
	m, err := spec.NewMachine(rows)
	if err != nil {
		return nil, fmt.Errorf("model: mutant %s: %w", name, err)
	}
	s, err := build(cfg, m, m.Step, name)
	if err == nil && name == "unbounded-delayed-ack" {
		s.ackUnbounded = true
	}
	return s, err
}
