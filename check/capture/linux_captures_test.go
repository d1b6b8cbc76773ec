package capture

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gopacket/gopacket/layers"

	"github.com/tcpcheck/tcpcheck/spec"
)

// TestLinuxCaptures checks captures of Linux 6.18's TCP made in network
// namespaces (addresses from 192.0.2.0/24), cut to 96 octets a packet:
// behaviour the RFCs allow that the checker once reported as failures.
// Each file's connection must conform, with the named deviations listed
// and no others.
func TestLinuxCaptures(t *testing.T) {
	for _, c := range []struct {
		file string
		why  string
		devs []string
	}{
		// The receiver's side of a transfer whose segment before the FIN
		// was lost on the way (so the capture names it
		// reordered-before-capture): the FIN arrives ahead of RCV.NXT and
		// is held, and the receiver stays in ESTABLISHED until the
		// retransmission fills the hole (RFC 9293 §3.10.7.4, eighth step).
		{"linux-fin-out-of-order.pcap", "a FIN ahead of RCV.NXT", []string{DevDelayedACK, DevReorderedBefore}},
		// A hole with many segments after it, all held by the receiver
		// and acknowledged together once the hole is filled.
		{"linux-hole-more-than-four-held.pcap", "more than four segments held", []string{DevReorderedBefore}},
		// The client's retransmissions ran out (tcp_retries2=3): it
		// deleted its TCB without a word (R2, RFC 1122 §4.2.3.5) and
		// answered the server's late text from CLOSED with a RST
		// (RFC 9293 §3.10.7.1).
		{"linux-retries-exhausted.pcap", "R2, then a RST from CLOSED", nil},
		// Captured on a sender with segmentation offload: segments of
		// 7240 octets, which the receiver acknowledges 1448 at a time, or
		// several at once as it had them joined again (GRO): table
		// behaviour, as are ACKs of two full-sized segments' worth.
		{"linux-tso-sender.pcap", "TSO super-segments", nil},
		// tcp_max_tw_buckets=0: the client keeps no TIME-WAIT, and answers
		// the server's retransmitted FIN 209 ms later with a RST, from
		// CLOSED, where RFC 1122 §4.2.2.13 says it MUST still be in
		// TIME-WAIT, acknowledging the FIN.
		{"linux-time-wait-cut-short.pcap", "TIME-WAIT skipped", []string{DevTimeWaitShort}},
		// The client's keepalive probes (TCP_KEEPIDLE and TCP_KEEPINTVL
		// short, the server's answers lost) went unanswered: it resets the
		// connection with a RST that carries an ACK, as docs/linux.md
		// registers, and answers the server's late text from CLOSED.
		{"linux-keepalive-dead.pcap", "keepalive gives up", []string{DevKeepaliveRSTACK}},
		// The server lowered SO_RCVBUF to 4096 under a connection whose
		// client had text in flight: it dropped text it had offered room
		// for and advertised a window of 0 (frame 8), moving the right
		// edge of its window to the left, which RFC 9293 §3.8.6 says it
		// SHOULD NOT; the client's retransmissions then fill the window
		// it reopens 7 KB at a time. (The first 120 frames.)
		{"linux-window-shrink.pcap", "the receiver shrinks its window", []string{DevDelayedACK, DevWindowShrink}},
		// A bulk transfer captured at the client, with ten of the
		// server's segments (frames after 399) cut out of the file, as a
		// capture that dropped packets shows them: the server's next
		// segment comes ahead of text never captured (frame 400), and the
		// client acknowledges that text (frame 401). (The first 420
		// frames.)
		{"linux-capture-dropped.pcap", "the capture dropped packets", []string{DevDelayedACK, DevMissedByCapture, DevReorderedBefore}},
		// A request and a 900 KB response through a relay that delayed
		// 5% of the segments each way by 30 ms (the capture at the
		// client). The server's segments come reordered (before the
		// capture point); the client's are delivered out of order after
		// it: the server, back in CLOSED, answers the client's late ACKs
		// with RSTs at the client's RCV.NXT (frames 1535-1540, RFC 9293
		// §3.10.7.1), which end the client's TIME-WAIT (Linux's
		// rst-kills-time-wait), and the client answers the server's late
		// segments from CLOSED too.
		{"linux-reordered-after-capture.pcap", "delayed copies after both hosts closed", []string{DevDelayedACK, DevReorderedBefore, DevRSTKillsTimeWait}},
		// A 3 MB download through a relay that lost, duplicated and
		// reordered segments, captured at the receiver (the first 1330
		// frames). The retransmission at RCV.NXT (frame 1211, TSval
		// ...4933) sets TS.Recent; two late originals beyond a hole
		// (frames 1263 and 1265, TSval ...4914) fail PAWS and are dropped,
		// not held (RFC 7323 §5.3), so when the hole is filled (frame
		// 1312) the receiver acknowledges up to the first of them (frame
		// 1313).
		{"linux-paws.pcap", "PAWS drops old segments", []string{DevDelayedACK, DevReorderedBefore}},
		// A download through a relay that lost and reordered segments,
		// captured at the client, with one segment the client received
		// cut out of the file (the original of seq 715846007, frame 320
		// before the cut) while SACK recovery was filling holes before it:
		// the client's ACK 715857687 (frame 442) covers it. The accounts
		// that passed the cut text as lost take it late, and only what
		// that ACK covers. (The first 460 frames.)
		{"linux-capture-dropped-in-recovery.pcap", "the capture dropped a segment during recovery", []string{DevDelayedACK, DevMissedByCapture, DevReorderedBefore}},
		// The client aborted (SO_LINGER 0) and its RST was lost before the
		// server's capture point; it connects again from the same port:
		// the server, still ESTABLISHED, answers the SYN with a challenge
		// ACK (RFC 5961 §4), the client resets the half-open connection
		// (RFC 9293 §3.5.1) and its next SYN opens a new one.
		{"linux-half-open.pcap", "a half-open connection", []string{DevResetNotCaptured}},
		// The relay dropped the server's FIN once, before the client's
		// capture point: the server's next segment (frame 13) is one past
		// its FIN, which the capture shows only as a retransmission
		// (frame 14). One octet missing before a segment is as often text
		// as a FIN: the explanation keeps both accounts, and the FIN's
		// lives on.
		{"linux-fin-lost-before-capture.pcap", "a FIN the capture never saw first", []string{DevReorderedBefore}},
		// The same relay dropped the server's last two segments (the
		// second with its FIN) before the client's capture point (the first 58
		// frames): the server's next segment (frame 52) is one past the
		// FIN, 2,489 octets past the text captured, and the
		// retransmissions (frames 53 and 55) show the last octet was the
		// FIN. The account that takes the octets before SEQ as text and
		// then a FIN lives on; the one that takes them all as text fails
		// at the retransmitted FIN.
		{"linux-fin-after-text-lost-before-capture.pcap", "text and a FIN the capture never saw first", []string{DevDelayedACK, DevReorderedBefore}},
		// A transfer both ways through a relay that lost 5% of the
		// segments and delayed 5% past later ones, captured at the
		// client (the first 1600 frames). The client's segment at
		// 3584512435 is lost after the capture point; the server holds
		// the client's later segments and goes on sending on their ACKs
		// (frame 257, ACK still 3584512435, SEQ where only those ACKs
		// leave it room): the account of segments lost after the capture
		// point takes the one holding the octet the server acknowledges
		// next as lost. The client's segment at 3584804715 is delayed,
		// not lost: it arrives after the server has held what follows,
		// and the server acknowledges up to 3584870035 at once (frame
		// 1569).
		{"linux-loss-both-ways.pcap", "loss and delay after the capture point, both ways", []string{DevDelayedACK, DevReorderedBefore}},
		// A transfer both ways through a relay that lost 3% of the
		// segments, captured at the server (the first 3130 frames). Its
		// segment at 4272968302 (frame 1609) is lost after the capture
		// point, and the capture missed the one at 4272990022 (between
		// frames 1623 and 1625): the client's ACK 4273010294 (frame 3118)
		// needs both accounts at once, the uncaptured text delivered and
		// the captured text lost.
		{"linux-loss-both-ways-capture-dropped.pcap", "loss after the capture point and a segment the capture missed", []string{DevDelayedACK, DevMissedByCapture, DevReorderedBefore}},
	} {
		t.Run(c.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", c.file))
			if err != nil {
				t.Fatal(err)
			}
			sum := checkBytes(t, data, Options{})
			if sum.Connections != 1 || sum.Failing != 0 {
				t.Fatalf("%s: %v\n%s", c.why, sum, reportText(sum))
			}
			var devs []string
			for _, d := range sum.Conns[0].Deviations {
				devs = append(devs, d.Name)
			}
			if diff := cmp.Diff(c.devs, devs); diff != "" {
				t.Errorf("%s: named deviations (-want +got):\n%s\n%s", c.why, diff, reportText(sum))
			}
		})
	}
}

// TestCaptureDropped checks captures of Linux TCP that miss packets the
// hosts exchanged, as a capture that dropped packets shows them. Without
// Options.CaptureDropped the connections listed fail, each at the frame
// given, with a reason that names --capture-dropped: a host acknowledging
// text never sent, or sending beyond the window or after a SYN,ACK the
// capture never showed, is what a faulty stack does. With it every
// connection conforms, and each of those names missed-by-capture by that
// frame. Except the first, the captures are of Linux through a router
// namespace, captured at the client's side by tcpdump with a buffer too
// small (-B 64 to -B 256 KiB), their payloads cut to 96 octets a frame.
func TestCaptureDropped(t *testing.T) {
	for _, c := range []struct {
		file, why string
		finding   []int // the frames of the findings without CaptureDropped, in connection order
	}{
		// A bulk download captured at the client with 34 of the
		// server's segments (frames after 600) cut out of the file (the
		// first 700 frames): the client acknowledges the missed text
		// (frame 601).
		{"linux-capture-dropped-burst.pcap", "a burst of the sender's text cut out", []int{601}},
		// 100 requests and responses of 100 to 3,763 octets (4 packets
		// dropped). After frame 239 the capture missed the client's
		// request, which the server acknowledges (frame 240). After
		// frame 252 it missed the server's response, the client's ACK of
		// it and the client's next request: the server's next segment
		// acknowledges that request and comes after its own missed
		// response (frame 253), and the client's next one comes after
		// its missed request and acknowledges the missed response (frame
		// 255), which takes both accounts at once, the host's own text
		// sent uncaptured and its peer's received.
		{"linux-capture-dropped-ping-pong.pcap", "requests and responses missed both ways", []int{240}},
		// The same, two connections (402 packets of 668 dropped). Both
		// miss the server's SYN,ACK: in the first the server's first
		// segment (frame 2) acknowledges 25,515 octets of the client's
		// text, all missed; in the second the client's ACK that carries
		// its first request (frame 87) acknowledges the SYN,ACK, and
		// its next segment (frame 88) the server's first response,
		// missed too.
		{"linux-capture-dropped-handshake.pcap", "handshakes missed", []int{2, 87}},
		// Three connections of the same (394 dropped). In the third the
		// client's handshake ACK and first request are missed: the
		// server, in SYN-RECEIVED, takes the request's text as sent with
		// the ACK of its SYN,ACK, not with the later ACK of the client's
		// next captured segment (frame 410), which SYN-RECEIVED would
		// answer with a RST.
		{"linux-capture-dropped-echo.pcap", "requests missed after the handshake", []int{3, 266, 410}},
		// Two uploads of 2 MiB (53 dropped): the capture missed the
		// server's ACKs that opened the client's send window, and the
		// client sends beyond the window the captured ACKs opened (frame
		// 64); those of its own text too (frame 40).
		{"linux-capture-dropped-upload.pcap", "ACKs that opened the window missed", []int{40, 64}},
		// Two downloads of 2 MiB (62 dropped): the client's ACKs that
		// opened the server's window are missed (frame 76), and the
		// client takes more missed text than any window it advertised in
		// the capture held.
		{"linux-capture-dropped-download.pcap", "a receiver's window updates missed", []int{41, 76}},
		// The same (105 dropped): the client acknowledges 1,427,065
		// octets beyond everything captured (frame 52 of the second),
		// more than 1 MiB but less than its window (shift 7) lets the
		// server have in flight.
		{"linux-capture-dropped-download-far.pcap", "more than 1 MiB missed", []int{7, 43}},
		// 25 connections of a 50-octet request and a 300-octet response
		// each (283 dropped): among them handshakes, requests and
		// responses missed, and a client whose FIN comes after its
		// missed request and acknowledges the missed SYN,ACK, response
		// and FIN (frame 83).
		{"linux-capture-dropped-short.pcap", "short connections", []int{3, 69, 71, 75, 81, 83, 96, 107}},
		// 40 more (232 dropped, and 2% of the segments lost each way
		// after the capture point), of which the capture shows 32. In
		// one it missed the handshake and all of the server's segments,
		// and the client's last ACK (frame 13) acknowledges the server's
		// FIN, within a second of the capture's start: a FIN in flight
		// when the capture started (conn.preCapture), which conforms
		// without the flag too.
		{"linux-capture-dropped-short-many.pcap", "short connections, and loss after the capture point", []int{4, 7, 15, 31, 36, 42, 49, 63, 88, 96, 102, 117, 119, 128, 135, 137, 156, 161, 168}},
		// Two downloads (142 dropped). The capture missed the second's
		// handshake, so it starts from the middle: the sender of the
		// text (port 9000, the report's client) sends up to 252,784
		// octets past its first captured text (frame 7) before any ACK of its
		// peer's shows (the peer's window is not known in a capture that
		// starts after the connection opened), and its peer's ACK (frame
		// 12) acknowledges text the capture missed.
		{"linux-capture-dropped-mid-download.pcap", "a download captured from its middle", []int{2, 12}},
		// Two uploads (150 dropped, 2% lost each way after the capture
		// point): the client sends beyond the window the captured ACKs
		// opened (frame 8), and its FIN (frame 11) comes 1,794,432
		// octets past the last of its text the capture shows, more than
		// 1 MiB but within what the server's window (shift 7) lets be in
		// flight.
		{"linux-capture-dropped-upload-far.pcap", "more than 1 MiB of the sender's own text missed", []int{8}},
		// Two downloads (128 dropped): the capture missed 2,024,752
		// octets of the server's text and the client's ACKs that opened
		// the window for them, and the server's FIN (frame 12) comes
		// after them.
		{"linux-capture-dropped-download-fin.pcap", "a FIN after text beyond the captured window", []int{12, 24}},
		// Two connections of requests and responses (627 dropped, 2%
		// lost each way after the capture point), captured at the
		// server's side. In the second the capture missed the client's
		// requests and the server's responses from frame 30 on: the
		// client's ACK (frame 31) comes after 68,835 octets of its own
		// text the capture missed, and acknowledges 70,278 octets of the
		// server's.
		{"linux-capture-dropped-echo-both.pcap", "a host's ACK after its own text and its peer's missed", []int{5, 31}},
		// Two downloads (115 dropped, the segments delayed, reordered
		// and duplicated after the capture point), captured at the
		// server's side: the client's FIN (frame 17) acknowledges
		// 1,909,953 octets of the server's text the capture missed, and
		// the server's ACK of the FIN (frame 18) comes after them: a
		// pure ACK after the host's own text, which its window let go
		// only on ACKs the capture missed too.
		{"linux-capture-dropped-download-server.pcap", "a download captured at the sender", []int{17}},
		// Downloads of 2 MiB without window scaling (153 dropped), and
		// without window scaling, timestamps or SACK (149 dropped), one
		// connection of each: the server sends far more than 65,535
		// octets past the ACKs the capture shows, on ACKs it missed, one
		// window at a time; and the client takes the server's missed
		// text (hundreds of kilobytes at once) as pieces no larger than
		// its window.
		{"linux-capture-dropped-noscale-download.pcap", "a download without window scaling", []int{3}},
		{"linux-capture-dropped-noopts-download.pcap", "a download without TCP options", []int{3}},
		// Two uploads of 2 MiB without window scaling (154 of 193
		// packets dropped): the client's segment at frame 14 comes
		// 1,175,401 octets past the last of its text the capture shows,
		// sent on ACKs it missed, eighteen windows of 65,535 octets (more
		// than the 1 MiB this account allowed before 2026-12-07), and the
		// server takes it as pieces no larger than its window.
		{"linux-capture-dropped-noscale-upload.pcap", "an upload without window scaling, most of it missed", []int{7, 28}},
		// Two downloads of 2 MiB without window scaling (153 of 189
		// packets dropped): the client's ACK (frame 11) is 1,534,557
		// octets past the server's text the capture shows, and its FIN
		// (frame 13) another 228,108 past the server's next segment; the
		// server's ACK of that FIN (frame 14) comes after that text of
		// its own, sent one missed window-opening ACK at a time
		// (conn.sendGaps with sendOpened).
		{"linux-capture-dropped-noscale-download-most.pcap", "a download without window scaling, most of it missed", []int{3, 17}},
		// The first connection of three uploads of 2 MiB without window
		// scaling (165 of 294 packets dropped, 5 ms delay each way): the
		// client's last segment (frame 28), a pure ACK, comes 1,695,307
		// octets past the last of its text the capture shows and
		// acknowledges the server's reply and FIN, which the capture
		// missed too. The server sent them after taking that text, so
		// their ACK is at least the client's SND.UNA, which the account
		// moved on missed ACKs of the text (shadow.deliver); taken with
		// the server's last captured ACK, the reply is too old for the
		// client (RFC 5961 §5.2).
		{"linux-capture-dropped-noscale-upload-end.pcap", "an upload whose end both ways was missed", []int{16}},
		// The first connection of three uploads of 2 MiB without window
		// scaling (236 of 289 packets dropped, 10 ms delay and reordering
		// toward the server): the client's ACK (frame 9) acknowledges the
		// server's 4-octet reply, which the capture missed, after the
		// client's last text went out on window-opening ACKs it missed
		// too; the reply's ACK is the client's SND.UNA of that account.
		{"linux-capture-dropped-noscale-upload-reply.pcap", "an upload whose reply was missed", []int{2}},
		// One connection of 100 requests and replies without SACK (668
		// of 1,002 packets dropped), captured from its middle: the
		// client's first segment acknowledges the server's text up to
		// 49,938 octets before the server's first captured segment, whose
		// ACK is 50,974 octets past the client's captured text; the
		// client's next request comes after both (conn.missedBefore).
		{"linux-capture-dropped-echo-mid-both.pcap", "a capture from the middle that missed text both ways", []int{4}},
		// 100 requests and responses (250 dropped): after frame 13 the
		// capture missed 97,804 octets of the server's responses and
		// 99,876 of the client's requests, more than the client's last
		// captured window (frame 14): the server's next segment comes
		// after its own missed text, sent on the client's missed ACKs,
		// and acknowledges the client's.
		{"linux-capture-dropped-echo-window.pcap", "responses missed beyond the captured window", []int{5}},
		// Two connections of requests and responses (299 dropped); the
		// capture missed the second's handshake and shows nothing of the
		// server's before the client acknowledges one of its responses
		// (frame 168), which passes as a response in flight when the
		// capture started (conn.preCapture); the client acknowledges
		// another response the capture missed later (frame 199).
		{"linux-capture-dropped-echo-mid.pcap", "a response missed from a peer the capture shows nothing of", []int{2, 199}},
	} {
		t.Run(c.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", c.file))
			if err != nil {
				t.Fatal(err)
			}
			sum := checkBytes(t, data, Options{})
			var got []int
			failed := map[int]int{} // connection index -> frame of its finding
			for i, rep := range sum.Conns {
				if rep.Finding == nil {
					continue
				}
				got = append(got, rep.Finding.Frame)
				failed[i] = rep.Finding.Frame
				if !rep.Finding.CaptureMayHaveDropped || !slices.ContainsFunc(rep.Finding.Reasons, func(r string) bool { return strings.Contains(r, "--capture-dropped") }) {
					t.Errorf("%s: connection %d's finding (frame %d) does not name --capture-dropped\n%s", c.why, i+1, rep.Finding.Frame, reportText(sum))
				}
			}
			if !slices.Equal(got, c.finding) || sum.MayHaveDropped != len(c.finding) {
				t.Fatalf("%s: findings at frames %v, want %v\n%s", c.why, got, c.finding, reportText(sum))
			}
			sum = checkBytes(t, data, Options{CaptureDropped: true})
			if sum.Failing != 0 {
				t.Fatalf("%s, with CaptureDropped: %v\n%s", c.why, sum, reportText(sum))
			}
			for i, frame := range failed {
				if f := firstFrame(sum.Conns[i], DevMissedByCapture); f == 0 || f > frame {
					t.Errorf("%s: connection %d: %s first at frame %d, want it by frame %d\n%s", c.why, i+1, DevMissedByCapture, f, frame, reportText(sum))
				}
			}
			// An ACK the table sends at once that the capture lacks may be
			// the capture's: not delayed-ack but ack-not-captured.
			notCaptured := 0
			for i, rep := range sum.Conns {
				if f := firstFrame(rep, DevDelayedACK); f != 0 {
					t.Errorf("%s: connection %d: %s at frame %d with CaptureDropped, want %s\n%s", c.why, i+1, DevDelayedACK, f, DevACKNotCaptured, reportText(sum))
				}
				if firstFrame(rep, DevACKNotCaptured) != 0 {
					notCaptured++
				}
			}
			if c.file == "linux-capture-dropped-short-many.pcap" && notCaptured == 0 {
				t.Errorf("%s: no connection names %s\n%s", c.why, DevACKNotCaptured, reportText(sum))
			}
		})
	}
}

// TestFailedConnectionKeepsItsSegments: a connection that failed early
// keeps the segments that follow, however many, instead of losing them
// to a connection of their own when the checker lets go of its buffers.
func TestFailedConnectionKeepsItsSegments(t *testing.T) {
	conv := conversation(cliA, srvB, 1000, 4000000000)
	conv[6].ack += 1000 // the client acknowledges text never sent
	pkts := append([]pkt(nil), conv...)
	for range 5000 {
		pkts = append(pkts, conv[6])
	}
	sum := checkBytes(t, writePcap(t, layers.LinkTypeEthernet, false, pkts), Options{})
	if sum.Connections != 1 || sum.Failing != 1 || sum.Conns[0].Finding.Frame != 7 {
		t.Fatalf("%v\n%s", sum, reportText(sum))
	}
	if got := sum.Conns[0].Segments; got != len(pkts) {
		t.Errorf("the connection has %d segments, want all %d", got, len(pkts))
	}
	if strings.Contains(reportText(sum), "starts after the connection opened") {
		t.Errorf("its later segments made a connection of their own:\n%s", reportText(sum))
	}
}

// TestStaleACKReordered: a copy of the client's handshake ACK, delayed on
// its way to the capture point, is captured after the client acknowledged
// the server's reply: an older ACK on a segment that sends nothing new,
// named reordered-before-capture. An ACK the client cannot have sent
// before (of part of the reply, which it had not acknowledged yet) is no
// copy: a finding.
func TestStaleACKReordered(t *testing.T) {
	conv := conversation(cliA, srvB, 1000, 4000000000)
	late := append(append(append([]pkt(nil), conv[:7]...), conv[2]), conv[7:]...)
	sum := checkBytes(t, writePcap(t, layers.LinkTypeEthernet, false, late), Options{})
	if sum.Failing != 0 || !slices.ContainsFunc(sum.Conns[0].Deviations, func(d *Deviation) bool { return d.Name == DevReorderedBefore }) {
		t.Fatalf("a late copy of an old ACK: %v\n%s", sum, reportText(sum))
	}
	part := conv[6]
	part.ack -= 20
	bad := append(append(append([]pkt(nil), conv[:6]...), part), conv[6:]...)
	sum = checkBytes(t, writePcap(t, layers.LinkTypeEthernet, false, bad), Options{})
	if sum.Failing != 1 || sum.Conns[0].Finding.Frame != 7 {
		t.Fatalf("an ACK of part of the reply: %v\n%s", sum, reportText(sum))
	}
}

// TestPcapngLinkType: the summary names the link type of a pcapng file's
// first interface, which the reader learns only from the file's body.
func TestPcapngLinkType(t *testing.T) {
	data := writePcapng(t, []layers.LinkType{layers.LinkTypeRaw}, conversation(cliA, srvB, 1000, 4000000000))
	if sum := checkBytes(t, data, Options{}); sum.Format != "pcapng" || sum.LinkType != layers.LinkTypeRaw.String() {
		t.Errorf("format %q link type %q, want pcapng and %q", sum.Format, sum.LinkType, layers.LinkTypeRaw.String())
	}
}

// TestTimeWaitFloor: a TIME-WAIT of 209 ms is short beside 2*MSL for an
// MSL of 500 ms (the default) or more, and not for a floor below it; a
// negative floor turns the check off.
func TestTimeWaitFloor(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "linux-time-wait-cut-short.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		floor time.Duration
		short int
	}{{0, 1}, {time.Second, 1}, {210 * time.Millisecond, 1}, {200 * time.Millisecond, 0}, {-1, 0}} {
		sum := checkBytes(t, data, Options{MinTimeWait: c.floor})
		if sum.Failing != 0 || sum.ShortTimeWaits != c.short {
			t.Errorf("floor %v: %d short TIME-WAITs, want %d\n%s", c.floor, sum.ShortTimeWaits, c.short, reportText(sum))
		}
	}
	sum := checkBytes(t, data, Options{Strict: true})
	if sum.Failing != 1 {
		t.Errorf("--strict: a short TIME-WAIT should fail the connection\n%s", reportText(sum))
	}
}

// TestPiecesBounded: a segment is cut into pieces of the peer's MSS only
// for an MSS a stack could use, so that a crafted MSS of 1 leaves a
// 60,000-octet segment whole rather than 60,000 deliveries.
func TestPiecesBounded(t *testing.T) {
	c := &conn{}
	r := rec{seg: spec.Segment{Seq: 1, Flags: spec.ACK | spec.FIN, Len: 60000}}
	for _, c2 := range []struct {
		mss  uint16
		ts   bool
		want int
	}{{1, false, 1}, {75, false, 1}, {1460, true, 42}, {1460, false, 42}, {65535, false, 1}} {
		c.info[1].mss = c2.mss
		got := c.appendPieces(nil, 0, r, c2.ts)
		if len(got) != c2.want {
			t.Errorf("MSS %d (timestamps %v): %d pieces, want %d", c2.mss, c2.ts, len(got), c2.want)
			continue
		}
		if last := got[len(got)-1]; !last.seg.Flags.Has(spec.FIN) || last.seg.Seq.Add(last.seg.Len) != r.seg.Seq.Add(r.seg.Len) {
			t.Errorf("MSS %d: the last piece %+v does not end the segment with its FIN", c2.mss, last.seg)
		}
	}
}
