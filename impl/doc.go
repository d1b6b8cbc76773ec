// Package impl is the reference TCP endpoint of tcpcheck: the wire format of
// RFC 9293 §3.1, a pcap writer, and (in later files) the TCB, timers, links
// and a net.Conn / net.Listener API driven by the step function generated
// from package spec's table.
package impl
