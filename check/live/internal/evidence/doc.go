// Package evidence makes the runs the question pages about connections in
// use cite: HTTP keep-alive over tcpcheck's endpoint, TCP keepalive probes,
// long against short connections, a hundred clients, the handshake's
// options, how long the short-lived states last and a killed client.
//
// A run is one small program in a private network namespace (Linux's own
// sockets, or tcpcheck's endpoint on a TUN device facing them, captured
// with an AF_PACKET socket) or over the endpoint's in-process mem link
// under a fake clock. Its result is a [Record]: the segments seen, the
// numbers the page cites ([Fact]) and how to repeat it. A run's Check says
// what the page claims of it; the tests run every run again and fail when
// a fresh run or the stored record no longer supports the claims.
//
// Records of live runs need root and vary in timing, so they are stored
// under testdata/ (`go test ./check/live/internal/evidence -update`
// refreshes them, as root); runs over the mem link are deterministic and
// made afresh. Either way `go generate ./...` (genruns) renders each
// record into check/explain/runs/NAME.md, the fragment that a page's
// "run: NAME" scene shows.
//
// The tests also hold the pages' other kind of Linux evidence: the cases
// of the generated conformance suite (check/live/tester) that a page cites
// with a header line "linux: case NAME", and those docs/linux.md names in
// place of the kernel scenarios they replaced. Each must be a case the
// tester generates; as root, each is run against Linux (linuxdut) and must
// agree with the table or show the deviation cited beside it.
package evidence
