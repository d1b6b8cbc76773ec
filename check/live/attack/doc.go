// Package attack is an attacker test peer for the reference endpoint of
// package impl, in the manner of gVisor's packetimpact: a [Peer] crafts
// arbitrary segments (chosen 4-tuple, flags, sequence and acknowledgment
// numbers, window, options and text), puts them on the mem link or the udp
// link, and records what the endpoints send back.
//
// On the mem link a forged segment may claim any source address, so the
// blind-injection tests spoof the real peer. On the udp link the kernel
// sets the UDP source, and a stack tells its peers apart by it, so the
// attacker can choose the TCP source port but not pose as another stack:
// the udp link serves the SYN flood, whose spoofed SYNs are distinct
// 4-tuples (random TCP source ports) whose SYN,ACKs the attacker ignores.
//
// Its tests hold the endpoint to the promises of RFC 5961 (blind
// injection), RFC 4987 (SYN floods), RFC 6528 (ISNs, in package impl),
// RFC 1122 §4.2.3.6 (keepalive) and RFC 9293 §3.8.4 (user timeout) while
// package check/live/conform replays every transition through the table, so an
// endpoint under attack is shown to follow the table too.
//
// # Running
//
// `go test ./check/attack` runs the figures of issue 9 at full size in
// about 10 s on two cores: 100,000 spoofed RSTs against 100 live
// connections (TestRSTStorm), 200,000 spoofed SYNs over the udp link
// during 1,000 legitimate dials (TestSynFloodUDP), and a soak of 1,000
// connections under loss, duplication, reordering, delay and spoofed RSTs
// (TestSoak). With -short the flood and the soak run at a fifth to a
// tenth of that size and assert the same properties. Add -v for the
// figures each test logs.
package attack
