package spec

// Event is what a connection reacts to: a user call (RFC 9293 §3.10.1-6), a
// segment arrival classified by its control bits (§3.10.7), or a timer
// expiry (§3.10.8).
type Event uint8

// Events, grouped by kind. The segment events partition every arriving
// segment; see [Classify].
const (
	// User calls.
	PassiveOpen Event = iota // OPEN with the passive flag (listen)
	ActiveOpen               // OPEN with a foreign socket (connect)
	Send                     // SEND
	Close                    // CLOSE: "I have no more data to send"
	Abort                    // ABORT

	// Segment arrivals.
	SegSYN    // SYN without ACK (no RST)
	SegSYNACK // SYN with ACK (no RST)
	SegACK    // ACK without SYN, FIN, RST and without text
	SegData   // ACK with text, without SYN, FIN, RST
	SegFIN    // FIN with ACK, text or not, without SYN and RST
	SegRST    // RST, whatever else is set
	SegNoACK  // none of SYN, RST, ACK (a bare or FIN-only segment)

	// Timer expiries.
	RetransmitTimeout  // the retransmission timer (RFC 6298) fired
	RetriesExhausted   // the retransmission limit R2 (RFC 1122 §4.2.3.5) was reached
	TimeWaitTimeout    // the 2MSL timer of TIME-WAIT fired
	UserTimeout        // the user timeout (RFC 9293 §3.8.4) fired
	DelayedAckTimeout  // the delayed-ACK timer (RFC 1122 §4.2.3.2) fired: the owed ACK is due
	KeepAliveTimeout   // the keepalive timer (RFC 1122 §4.2.3.6) fired on an idle connection, with probes left
	KeepAliveExhausted // the keepalive timer fired after the last probe the caller allows went unanswered

	NumEvents = int(KeepAliveExhausted) + 1
)

var eventNames = [...]string{
	PassiveOpen:        "PASSIVE-OPEN",
	ActiveOpen:         "ACTIVE-OPEN",
	Send:               "SEND",
	Close:              "CLOSE",
	Abort:              "ABORT",
	SegSYN:             "rcv SYN",
	SegSYNACK:          "rcv SYN,ACK",
	SegACK:             "rcv ACK",
	SegData:            "rcv data",
	SegFIN:             "rcv FIN",
	SegRST:             "rcv RST",
	SegNoACK:           "rcv no-ACK",
	RetransmitTimeout:  "RTO",
	RetriesExhausted:   "R2",
	TimeWaitTimeout:    "2MSL",
	UserTimeout:        "USER-TIMEOUT",
	DelayedAckTimeout:  "DELACK",
	KeepAliveTimeout:   "KEEPALIVE",
	KeepAliveExhausted: "KEEPALIVE-OUT",
}

// String returns a short label such as "rcv SYN,ACK" or "CLOSE".
func (e Event) String() string {
	if int(e) < len(eventNames) {
		return eventNames[e]
	}
	return "Event(" + itoa(int(e)) + ")"
}

// Events returns every event in declaration order.
func Events() []Event {
	out := make([]Event, NumEvents)
	for i := range out {
		out[i] = Event(i)
	}
	return out
}

// ParseEvent returns the event with the given label (as printed by String).
func ParseEvent(name string) (Event, bool) {
	for i, n := range eventNames {
		if n == name {
			return Event(i), true
		}
	}
	return 0, false
}

// IsUser reports whether e is a user call.
func (e Event) IsUser() bool { return e <= Abort }

// IsSegment reports whether e is a segment arrival.
func (e Event) IsSegment() bool { return e >= SegSYN && e <= SegNoACK }

// IsTimer reports whether e is a timer expiry.
func (e Event) IsTimer() bool { return e >= RetransmitTimeout && e <= KeepAliveExhausted }

// Flags are the TCP control bits of RFC 9293 §3.1.
type Flags uint8

// Control bits, with their wire values.
const (
	FIN Flags = 1 << iota
	SYN
	RST
	PSH
	ACK
	URG
	ECE
	CWR
)

// Has reports whether every bit of g is set in f.
func (f Flags) Has(g Flags) bool { return f&g == g }

// String lists the set bits the way captures print them: "SYN,ACK".
func (f Flags) String() string {
	names := [...]string{"FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"}
	// Print in the customary order: SYN, FIN, RST, PSH, ACK, URG, ECE, CWR.
	order := [...]int{1, 0, 2, 3, 4, 5, 6, 7}
	s := ""
	for _, i := range order {
		if f&(1<<i) != 0 {
			if s != "" {
				s += ","
			}
			s += names[i]
		}
	}
	if s == "" {
		return "none"
	}
	return s
}

// Classify returns the segment event for a segment with the given control
// bits and textLen octets of text. The order of the tests follows the order
// of the checks in RFC 9293 §3.10.7.4: RST, then SYN, then ACK.
func Classify(f Flags, textLen int) Event {
	switch {
	case f.Has(RST):
		return SegRST
	case f.Has(SYN | ACK):
		return SegSYNACK
	case f.Has(SYN):
		return SegSYN
	case !f.Has(ACK):
		return SegNoACK
	case f.Has(FIN):
		return SegFIN
	case textLen > 0:
		return SegData
	default:
		return SegACK
	}
}
