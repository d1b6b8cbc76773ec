// Package capture holds captures made by anybody (tcpdump, Wireshark, a
// traffic mirror) against the transition table.
//
// The reader ([Open], [Reader.Next]) takes pcap (microsecond and
// nanosecond, either byte order) and pcapng (several interfaces and
// sections) through gopacket's pcapgo, and decodes with gopacket's layers
// the link types Ethernet (with VLAN tags), Linux cooked capture (SLL and
// SLL2), raw IP and BSD loopback, IPv4 and IPv6, and the TCP options the
// guards need (MSS, window scale, SACK-permitted, timestamps).
//
// The checker ([Check]) splits the segments into connections by 4-tuple
// and incarnation, and steps two shadow copies of spec's pure TCB per
// connection, one per host. The model of the capture point (docs/capture.md):
// every captured segment was sent by its host; a host received only
// captured segments or copies of them, possibly lost, duplicated, delayed
// or reordered after the capture point. A connection conforms when some
// such delivery explains everything each host sent; the finding is the
// first segment, by frame number, that none explains.
package capture
