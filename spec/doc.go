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
// Package spec imports nothing of tcpcheck's own.
package spec
