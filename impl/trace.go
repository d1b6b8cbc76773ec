package impl

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/tcpcheck/tcpcheck/impl/wire"
	"github.com/tcpcheck/tcpcheck/spec"
)

// Segment is a segment as the tracer sees it: its header and the number
// of text octets it carries.
type Segment struct {
	Header wire.Header
	Len    int
}

// String renders the segment as a segment table does:
// "SYN,ACK seq=300 ack=101 len=0 win=65535".
func (s Segment) String() string {
	b := fmt.Sprintf("%s seq=%d ack=%d len=%d win=%d", s.Header.Flags, uint32(s.Header.Seq), uint32(s.Header.Ack), s.Len, s.Header.Window)
	if s.Header.MSS != 0 {
		b += fmt.Sprintf(" mss=%d", s.Header.MSS)
	}
	if s.Header.HasWScale {
		b += fmt.Sprintf(" ws=%d", s.Header.WScale)
	}
	return b
}

// Transition is one step of a connection through the table: the event,
// the row that applied, and the segments that came in and went out.
type Transition struct {
	Time          time.Time
	Local, Remote netip.AddrPort // the connection's TCP endpoints
	From          spec.State
	Event         spec.Event
	Row           int // index into spec.Table()
	To            spec.State
	In            *Segment  // the arriving segment, for segment events
	Out           []Segment // segments sent by the row's actions, in order
	// Replayed marks the step that re-creates a connection from a SYN
	// cookie: the LISTEN + rcv SYN row that ran, statelessly, when the
	// SYN arrived, stepped again with the SYN the cookie describes. Out
	// is what that step sent then; nothing is sent now.
	Replayed bool
	// Held marks the step of a segment that was held out of order
	// (Tracer.Extra reported it with ExtraHeld) and is stepped now that
	// RCV.NXT has reached it, its ACK raised to SND.UNA if SND.UNA moved
	// past it meanwhile.
	Held bool `json:",omitempty"`
}

// String renders the transition on one line:
// "192.0.2.1:49152>192.0.2.2:80 LISTEN --rcv SYN--> SYN-RECEIVED [row 63] in: SYN ... out: SYN,ACK ...".
func (t Transition) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s>%s %s --%s--> %s [row %d]", fmtAddr(t.Local), fmtAddr(t.Remote), t.From, t.Event, t.To, t.Row)
	if t.In != nil {
		fmt.Fprintf(&b, " in: %s", t.In)
	}
	for _, s := range t.Out {
		fmt.Fprintf(&b, " out: %s", s)
	}
	return b.String()
}

// Tracer receives what a Stack does. Both hooks are optional; they are
// called with the stack's lock held and must not call into the stack.
type Tracer struct {
	// Transition is called for every row applied, in order.
	Transition func(Transition)
	// Extra is called for a segment sent or received outside any row:
	// window updates after a read and duplicate ACKs for out-of-order
	// text (sent), and segments that were malformed, held out of order,
	// or dropped for a full backlog (received); why says which, one of
	// the Extra constants.
	Extra func(t time.Time, local, remote netip.AddrPort, sent bool, s Segment, why string)
}

// The reasons Tracer.Extra gives: the decisions the endpoint makes outside
// the table's rows (spec's package documentation lists them).
const (
	ExtraHeld         = "out of order: held"                                               // received: held for later processing
	ExtraHeldDup      = "duplicate of a held out-of-order segment"                         // received: already held
	ExtraHeldDropped  = "out of order, hold queue full: dropped"                           // received: not held
	ExtraDupACK       = "duplicate ACK for out-of-order text"                              // sent (RFC 5681 §4.2)
	ExtraWindowUpdate = "window update after a read"                                       // sent (RFC 9293 §3.8.6.2.2)
	ExtraCapReached   = "connection cap reached"                                           // received SYN: not admitted
	ExtraBacklogFull  = "backlog full"                                                     // received SYN: not admitted
	ExtraCookieFull   = "valid SYN cookie, but the accept queue or connection cap is full" // received ACK: not admitted
)

// fmtAddr renders an endpoint, or "*" for none (a listener's remote end).
func fmtAddr(a netip.AddrPort) string {
	if !a.IsValid() {
		return "*"
	}
	return a.String()
}
