package dut

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/tcpcheck/tcpcheck/spec"
)

// ErrNotDrivable is wrapped by the error of a call the stack's API cannot
// make in the connection's present state.
var ErrNotDrivable = errors.New("dut: not drivable through this stack's API")

// DUT is a TCP stack under test with one IPv4 address. Every method may be
// called from any goroutine; none may block longer than its context (or,
// for the calls without one, longer than it takes to hand the work to the
// stack).
type DUT interface {
	// Inject delivers pkt, an IPv4 packet carrying one TCP segment, to
	// the stack as if it had arrived from the network. The stack may
	// process it after Inject returns.
	Inject(pkt []byte) error
	// Receive returns the next IPv4 packet the stack sent, in the order
	// sent, waiting until one comes or ctx is done (then it returns
	// ctx.Err()).
	Receive(ctx context.Context) ([]byte, error)

	// Listen makes a passive OPEN (RFC 9293 §3.10.1) on port.
	Listen(port uint16) (Listener, error)
	// Connect makes an active OPEN to remote from a port the stack
	// chooses and returns at once: the SYN it sends names the port.
	Connect(remote netip.AddrPort) (Conn, error)

	// State returns the state of the TCB that would receive a segment
	// from remote to localPort: the connection's, else LISTEN when a
	// listener holds localPort, else CLOSED. ok is false when the stack
	// does not expose its states.
	State(localPort uint16, remote netip.AddrPort) (s spec.State, ok bool)

	// Timers returns the timers the stack runs with (those it could not
	// shorten as asked keep their own values).
	Timers() Timers

	// Close releases the stack and everything it holds.
	Close() error
}

// Listener is a listening socket.
type Listener interface {
	// Accept returns the next established connection, waiting until one
	// is queued or ctx is done.
	Accept(ctx context.Context) (Conn, error)
	// Close closes the listening socket (CLOSE in LISTEN).
	Close() error
}

// Conn is one connection's socket.
type Conn interface {
	// Write queues p for sending (SEND, RFC 9293 §3.10.2) and returns
	// without waiting for it to be sent or acknowledged.
	Write(p []byte) (int, error)
	// Read returns text the stack delivered (RECEIVE), waiting until
	// some arrives, the stream ends (io.EOF) or ctx is done.
	Read(ctx context.Context, p []byte) (int, error)
	// CloseWrite shuts down the write side (CLOSE: "no more data to
	// send"); reading goes on.
	CloseWrite() error
	// Close closes the socket; the stack finishes closing the connection
	// in the background.
	Close() error
	// Abort closes the socket with SO_LINGER 0 (ABORT, RFC 9293 §3.10.5).
	Abort() error
	// Signal returns what the socket tells its user about the
	// connection's failure (RFC 9293 §3.10.7: "connection reset",
	// "connection refused", the timeout): the error a connect still
	// under way ends with, else the error the socket holds for its next
	// read (SO_ERROR), waiting until there is one or ctx is done (then
	// SignalNone). err is the stack's own error, for the record (nil with
	// SignalNone). It consumes no text.
	Signal(ctx context.Context) (s Signal, err error)
}

// Signal is the error a socket call reports when the connection failed,
// in the table's terms (spec.SignalReset, SignalRefused, SignalTimeout).
type Signal uint8

// The signals.
const (
	SignalNone    Signal = iota // no error: the connection has not failed
	SignalReset                 // ECONNRESET: the peer reset the connection
	SignalRefused               // ECONNREFUSED: the peer refused the connection
	SignalTimeout               // ETIMEDOUT: retransmissions or keep-alive probes went unanswered
	SignalOther                 // another error (err says which)
)

var signalNames = [...]string{"none", "reset", "refused", "timeout", "other"}

func (s Signal) String() string {
	if int(s) < len(signalNames) {
		return signalNames[s]
	}
	return fmt.Sprintf("Signal(%d)", s)
}

// Timers are the protocol timers a test wants short. In a Config a zero
// field leaves the stack's own value; in what DUT.Timers reports, a zero
// retry limit means the stack keeps none that the tester can rely on.
type Timers struct {
	TimeWait      time.Duration // how long TIME-WAIT lasts (2MSL, RFC 9293 §3.6)
	RTOMin        time.Duration // the least retransmission timeout (RFC 6298 §2.4)
	RTOMax        time.Duration // the largest retransmission timeout (RFC 6298 §2.5)
	SynRetries    int           // SYN retransmissions before an active open gives up (RFC 1122 §4.2.3.5, R2 for a SYN)
	SynAckRetries int           // SYN,ACK retransmissions before a half-open connection is given up
	DataRetries   int           // retransmissions of text or FIN before the connection gives up (R2)
}

// KeepAlive asks for keep-alive probes (RFC 1122 §4.2.3.6) on every
// connection: after Idle without a segment from the peer, a probe every
// Interval; after Probes probes went unanswered, the connection is given
// up (SO_KEEPALIVE with TCP_KEEPIDLE, TCP_KEEPINTVL and TCP_KEEPCNT). The
// zero value turns none on.
type KeepAlive struct {
	Idle     time.Duration
	Interval time.Duration
	Probes   int
}

// Config is what an adapter needs to build a stack.
type Config struct {
	Addr   netip.Addr // the DUT's IPv4 address
	Tester netip.Addr // the tester's IPv4 address; the DUT routes everything there
	Timers Timers     // wanted timers
	// KeepAlive, when its Idle is positive, turns keep-alive on for every
	// socket the stack makes (listening sockets pass it on to the
	// connections they accept). An adapter whose stack cannot do it
	// returns an error wrapping ErrNotDrivable from New.
	KeepAlive KeepAlive
}

// New builds a fresh stack for one test case. The tester calls it once per
// case, so cases cannot disturb each other.
type New func(Config) (DUT, error)

// Deviation is a registered, documented difference between what a stack
// does and what the table says at one row. The tester reports a case whose
// row and observed behaviour match a registered deviation as that
// deviation instead of a disagreement, and a run of the whole suite fails
// when a registered deviation no longer shows: the registry stays true for
// the stack it runs against.
//
// Row and Got are patterns: alternatives separated by "|", in each of which
// "*" stands for any run of characters (nothing else is special), so that
// one deviation can cover the same behaviour in several states; in Got and
// Want, "FROM" stands for the row's own state. Case holds alternatives
// separated by "|" too.
type Deviation struct {
	ID    string // short name: the anchor in the stack's registry page
	Row   string // the rows' names, as spec.Row.Name renders them (a pattern)
	Case  string // when set, only cases whose name contains it (a boundary such as "seq=RCV.NXT+WND ")
	Got   string // what the stack does at that row, in the tester's rendering of the table's terms (a pattern)
	Want  string // when set, what the table expects there, rendered alike (a pattern): so that a mutated table is not excused
	RFC   string // the section the row follows
	Table string // what the table says
	Stack string // what the stack does instead, and why when known
}
