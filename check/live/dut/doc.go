// Package dut is the interface between the conformance tester of
// check/live/tester and a TCP stack under test (a device under test, DUT).
//
// The tester plays the DUT's peer at the segment level: it builds every
// segment itself, hands it to the DUT as an IPv4 packet ([DUT.Inject]), and
// reads the IPv4 packets the DUT sends back ([DUT.Receive]). On the DUT's
// side it makes the socket calls of a user: listen, connect, write, read,
// shutdown of the write side, close, and abort (close with SO_LINGER 0). It
// reads the state of a connection where the stack exposes one ([DUT.State])
// and the error a failed connection reports to its user ([Conn]'s Signal:
// reset, refused, timeout), asks for short timers ([Timers]) so that
// TIME-WAIT, retransmission and retry limits can be exercised in a test,
// and for keep-alive probes ([KeepAlive]) in the cases of the keepalive
// rows.
//
// An adapter for a new stack is a [New] function: it builds a fresh stack at
// the addresses of a [Config], with its timers set as short as the stack
// allows. The adapters in this tree are gvisordut (gVisor's netstack in
// process, through its link/channel endpoint), impldut (tcpcheck's own
// endpoint over its in-memory link) and linuxdut (the Linux kernel in a
// network namespace, over a TUN device); the package example shows the shape
// of an adapter for a user's own Go stack.
//
// A call the stack's API cannot make (writing on a connection the API does
// not hand out yet, say) returns an error wrapping [ErrNotDrivable]; the
// tester then reports the case as not drivable on that stack, with the
// error as the reason.
package dut
