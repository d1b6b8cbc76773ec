// Package gvisordut runs gVisor's netstack (gvisor.dev/gvisor/pkg/tcpip) in
// process as a device under test for the conformance tester: packets go in
// and out through a link/channel endpoint, sockets are tcpip.Endpoints, and
// no root or TUN device is needed.
//
// The stack runs with RACK loss detection and SACK off, so that what it
// sends is what RFC 9293 and RFC 6298 ask (no tail loss probes), and with
// the TIME-WAIT timeout, minimum and maximum RTO and SYN retries of the
// [dut.Timers] it is given. gVisor's handshake retransmits on a fixed 1 s
// initial RTO (RFC 6298 §2.1) that no option shortens, and it gives up
// only when its backoff passes a fixed MaxRTO of 120 s:
// TCPSynRetriesOption is accepted and stored but not enforced, so the
// adapter reports the SYN and SYN,ACK retry limits as unknown.
package gvisordut
