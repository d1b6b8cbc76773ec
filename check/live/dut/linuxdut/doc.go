// Package linuxdut runs the Linux kernel's TCP stack as a device under test
// for the conformance tester (check/live/tester).
//
// Each DUT is a fresh network namespace of its own (impl.ThreadNetns: one
// locked thread that unshared CLONE_NEWNET) with a TUN device
// (impl.CreateTUNDevice) that owns the DUT's address; the tester's address
// lies behind the device. Inject writes the tester's IPv4 packet to the
// device, so the kernel receives it; Receive reads what the kernel routes
// to the tester. Sockets are real kernel sockets made in the namespace.
//
// The kernel's connection state comes from TCP_INFO (tcpi_state) of the
// DUT's own socket where the user still holds one, and from sock_diag
// (NETLINK_SOCK_DIAG, INET_DIAG dumps) for everything else: request
// sockets of a listener, orphaned connections after close or abort,
// TIME-WAIT.
//
// Timers are the namespace's sysctls (net.ipv4.tcp_syn_retries,
// tcp_synack_retries, tcp_retries2, tcp_orphan_retries, tcp_rto_min_us,
// tcp_rto_max_ms); TIME-WAIT is the kernel's TCP_TIMEWAIT_LEN, a fixed
// 60 s that no sysctl changes, so Timers reports it whatever was asked.
// Tail loss probes and RACK are turned off (tcp_early_retrans = 0,
// tcp_recovery = 0), so that only the retransmission timer retransmits.
//
// It needs root (CAP_SYS_ADMIN for the namespace, CAP_NET_ADMIN for the
// device) and /dev/net/tun; [Available] says what is missing. Linux's
// registered deviations from the table are [Deviations]; docs/linux.md
// describes them.
package linuxdut
