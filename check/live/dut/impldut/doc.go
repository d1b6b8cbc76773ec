// Package impldut runs tcpcheck's own endpoint (package impl) as a device
// under test for the conformance tester: the sanity row of the matrix,
// which must agree with the table on every case. The endpoint runs with the
// real clock on a link of the adapter's own: the tester's packets are
// handed to it directly, and what it sends is read back, wrapped in IPv4
// headers so that every adapter speaks the same packets.
//
// impl's API is Go's net API: Dial hands out a connection only once it is
// established, and Accept only established connections. Calls on a
// connection before that are not drivable, except an abort of a pending
// Dial, which cancels it (impl then carries out ABORT).
package impldut
