package capture

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/tcpcheck/tcpcheck/impl"
	"github.com/tcpcheck/tcpcheck/spec"
)

func checkBytes(t *testing.T, data []byte, opt Options) *Summary {
	t.Helper()
	r, err := Open(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	sum, err := Check(context.Background(), r, opt)
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

func reportText(sum *Summary) string {
	var b strings.Builder
	for _, c := range sum.Conns {
		c.WriteText(&b)
	}
	return b.String()
}

func TestConversationConforms(t *testing.T) {
	sum := checkBytes(t, writePcap(t, layers.LinkTypeEthernet, false, conversation(cliA, srvB, 1000, 4000000000)), Options{})
	txt := reportText(sum)
	if sum.Connections != 1 || sum.Failing != 0 {
		t.Fatalf("%v\n%s", sum, txt)
	}
	c := sum.Conns[0]
	want := "CLOSED SYN-SENT ESTABLISHED FIN-WAIT-1 TIME-WAIT"
	if got := strings.Join(c.ClientStates, " "); got != want {
		t.Errorf("client states %q, want %q\n%s", got, want, txt)
	}
	want = "LISTEN SYN-RECEIVED ESTABLISHED CLOSE-WAIT LAST-ACK CLOSED"
	if got := strings.Join(c.ServerStates, " "); got != want {
		t.Errorf("server states %q, want %q\n%s", got, want, txt)
	}
	t.Log("\n" + txt)
}

// TestPlantedFaults edits one field of a good capture and expects the
// finding at that frame.
func TestPlantedFaults(t *testing.T) {
	for _, c := range []struct {
		name  string
		edit  func(p []pkt)
		frame int
	}{
		{"SYN,ACK ack not ISN+1", func(p []pkt) { p[1].ack++ }, 2},
		{"ACK beyond what the peer sent", func(p []pkt) { p[4].ack += 100 }, 5},
		{"data after own FIN", func(p []pkt) {
			p[9].payload = []byte("late")
		}, 10},
		{"RST then further ACKs", func(p []pkt) { p[6].flags = spec.RST | spec.ACK }, 8},
	} {
		t.Run(c.name, func(t *testing.T) {
			conv := conversation(cliA, srvB, 1000, 4000000000)
			c.edit(conv)
			sum := checkBytes(t, writePcap(t, layers.LinkTypeEthernet, false, conv), Options{})
			txt := reportText(sum)
			if sum.Failing != 1 || sum.Conns[0].Finding == nil || sum.Conns[0].Finding.Frame != c.frame {
				t.Fatalf("want a finding at frame %d:\n%s", c.frame, txt)
			}
			if !strings.Contains(txt, "<- not explained") {
				t.Errorf("no segment table:\n%s", txt)
			}
			t.Log("\n" + txt)
		})
	}
}

// twoIncarnations is a connection, then a second one on the same 4-tuple
// into which a delayed copy of the first one's request arrives after the
// handshake; the server answers it with a duplicate ACK (its sequence
// number is not acceptable, RFC 9293 §3.10.7.4). The copy is frame 14.
func twoIncarnations() []pkt {
	one := conversation(cliA, srvB, 1000, 4000000000)
	two := conversation(cliA, srvB, 2000000, 300)
	out := append([]pkt(nil), one...)
	out = append(out, two[:3]...)
	old := one[3]
	out = append(out, old, pkt{src: srvB, dst: cliA, seq: 301, ack: 2000001, flags: spec.ACK, win: 509, wscale: -1, ts: true})
	return append(out, two[3:]...)
}

func TestOldIncarnation(t *testing.T) {
	sum := checkBytes(t, writePcap(t, layers.LinkTypeEthernet, false, twoIncarnations()), Options{})
	txt := reportText(sum)
	if sum.Connections != 2 || sum.Failing != 0 || sum.Conns[1].OldCopies != 1 {
		t.Fatalf("want two conforming incarnations, the second with one old copy:\n%s", txt)
	}
	// Planted: the server takes the old request as data of the new
	// connection (its ACK covers the 18 octets).
	p := twoIncarnations()
	p[14].ack += uint32(len(p[13].payload))
	sum = checkBytes(t, writePcap(t, layers.LinkTypeEthernet, false, p), Options{})
	txt = reportText(sum)
	if sum.Failing != 1 || sum.Conns[1].Finding == nil || sum.Conns[1].Finding.Frame != 15 {
		t.Fatalf("want the finding at frame 15:\n%s", txt)
	}
	t.Log("\n" + txt)
}

func TestStrictAndVerifyChecksums(t *testing.T) {
	// The client aborts after the response with a RST that carries an
	// ACK, as Linux's does (abort-rst-carries-ack).
	conv := conversation(cliA, srvB, 1000, 4000000000)[:7]
	last := conv[6]
	conv = append(conv, pkt{src: last.src, dst: last.dst, seq: last.seq, ack: last.ack, flags: spec.RST | spec.ACK, win: last.win, wscale: -1})
	conv[4].badSum = true
	data := writePcap(t, layers.LinkTypeEthernet, false, conv)
	sum := checkBytes(t, data, Options{})
	if sum.Failing != 0 || sum.Deviating != 1 || sum.BadChecksums != 1 {
		t.Fatalf("default: %v", sum)
	}
	if sum := checkBytes(t, data, Options{Strict: true}); sum.Failing != 1 {
		t.Errorf("--strict: the RST with an ACK should fail: %v", sum)
	}
	if sum := checkBytes(t, data, Options{VerifyChecksums: true}); sum.Failing != 1 || sum.Conns[0].Finding.Frame != 5 {
		t.Errorf("--verify-checksums: %v\n%s", sum, reportText(sum))
	}
}

func TestMidConnectionCapture(t *testing.T) {
	conv := conversation(cliA, srvB, 1000, 4000000000)[3:]
	sum := checkBytes(t, writePcap(t, layers.LinkTypeEthernet, false, conv), Options{})
	txt := reportText(sum)
	if sum.Connections != 1 || sum.Failing != 0 || !sum.Conns[0].MidStart || !strings.Contains(txt, "starts after the connection opened") {
		t.Fatalf("%v\n%s", sum, txt)
	}
}

// TestMidConnectionOneHostSilent: a capture that starts after the
// connection opened and shows segments of one host only says that the
// other's states are not known, not a blank state line.
func TestMidConnectionOneHostSilent(t *testing.T) {
	conv := conversation(cliA, srvB, 1000, 4000000000)
	sum := checkBytes(t, writePcap(t, layers.LinkTypeEthernet, false, []pkt{conv[3], conv[6]}), Options{})
	txt := reportText(sum)
	if sum.Connections != 1 || !strings.Contains(txt, "server: (not known: the capture shows no segment from it)") {
		t.Fatalf("%v\n%s", sum, txt)
	}
}

// TestReportOnClose feeds a capture through a pipe, as a capture still
// being written: each connection's report comes as soon as it has closed,
// before the rest of the capture exists.
func TestReportOnClose(t *testing.T) {
	one := conversation(cliA, srvB, 1000, 4000000000)
	two := conversation(netip.MustParseAddrPort("192.0.2.3:40001"), srvB, 5, 6)
	data := writePcap(t, layers.LinkTypeEthernet, false, append(append([]pkt(nil), one...), two...))
	split := len(writePcap(t, layers.LinkTypeEthernet, false, one))
	pr, pw := io.Pipe()
	reports := make(chan *ConnReport, 4)
	done := make(chan *Summary, 1)
	go func() {
		r, err := Open(pr)
		if err != nil {
			t.Error(err)
			done <- nil
			return
		}
		sum, err := Check(context.Background(), r, Options{ReportOnClose: true, OnConn: func(c *ConnReport) { reports <- c }})
		if err != nil {
			t.Error(err)
		}
		done <- sum
	}()
	pw.Write(data[:split])
	select {
	case rep := <-reports:
		if rep.Client != cliA.String() || !rep.Conforms {
			t.Errorf("first report: %+v", rep)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no report for the first connection while the capture was still open")
	}
	pw.Write(data[split:])
	pw.Close()
	sum := <-done
	if sum == nil || sum.Connections != 2 || sum.Failing != 0 {
		t.Fatalf("summary %v", sum)
	}
	if rep := <-reports; rep.Client != "192.0.2.3:40001" {
		t.Errorf("second report: %+v", rep)
	}
}

func TestCapturedTwice(t *testing.T) {
	// The client aborts after its request; its RST appears twice. No copy
	// of the server's segments makes a closed client send that RST again
	// (their ACK fields are 1001, the RST's SEQ is 1019), so only the
	// capture can have doubled it.
	conv := conversation(cliA, srvB, 1000, 4000000000)[:4]
	rst := pkt{src: cliA, dst: srvB, seq: 1019, flags: spec.RST, win: 0, wscale: -1}
	conv = append(conv, rst, rst)
	sum := checkBytes(t, writePcap(t, layers.LinkTypeEthernet, false, conv), Options{})
	txt := reportText(sum)
	if sum.Failing != 0 || sum.Conns[0].CapturedTwice != 1 || !strings.Contains(txt, "captured twice") {
		t.Fatalf("want the RST captured twice:\n%s", txt)
	}
}

func TestIPv6ConversationConforms(t *testing.T) {
	for _, link := range []layers.LinkType{layers.LinkTypeLinuxSLL2, layers.LinkTypeNull} {
		sum := checkBytes(t, writePcap(t, link, true, conversation(cli6, srv6, 77, 3000000000)), Options{Workers: 2})
		if sum.Connections != 1 || sum.Failing != 0 || sum.Conns[0].Client != cli6.String() {
			t.Fatalf("%v: %v\n%s", link, sum, reportText(sum))
		}
	}
}

// TestOutOfOrderHeld: the second half of the reply is captured (and
// arrives) first; the client acknowledges what it has (a duplicate ACK),
// holds the second half, and acknowledges both once the first arrives.
func TestOutOfOrderHeld(t *testing.T) {
	conv := conversation(cliA, srvB, 1000, 4000000000)
	rep := conv[5]
	a, b := rep, rep
	a.payload, b.payload = rep.payload[:20], rep.payload[20:]
	b.seq = rep.seq + 20
	dup := conv[6]
	dup.ack = rep.seq
	out := append([]pkt(nil), conv[:5]...)
	out = append(out, b, dup, a, conv[6], conv[7], conv[8], conv[9])
	sum := checkBytes(t, writePcap(t, layers.LinkTypeEthernet, false, out), Options{})
	if sum.Failing != 0 {
		t.Fatalf("%v\n%s", sum, reportText(sum))
	}
	// The client may not acknowledge the second half before the first
	// arrived, unless the first passed the capture point unseen (the
	// capture dropped it, and the copy it shows later is a
	// retransmission): its ACK covering the held text is named
	// missed-by-capture, at its frame, and fails under --strict.
	bad := append([]pkt(nil), out...)
	bad[6].ack = rep.seq + uint32(len(rep.payload))
	sum = checkBytes(t, writePcap(t, layers.LinkTypeEthernet, false, bad), Options{})
	if sum.Failing != 0 || firstFrame(sum.Conns[0], DevMissedByCapture) != 7 {
		t.Fatalf("an ACK over a hole: want %s at frame 7\n%s", DevMissedByCapture, reportText(sum))
	}
	if firstFrame(sum.Conns[0], DevReorderedBefore) != 6 {
		t.Errorf("the reordering before the capture point should be named at frame 6\n%s", reportText(sum))
	}
	if sum := checkBytes(t, writePcap(t, layers.LinkTypeEthernet, false, bad), Options{Strict: true}); sum.Failing != 1 {
		t.Errorf("--strict: an ACK over a hole should fail\n%s", reportText(sum))
	}
}

// firstFrame returns the frame where c's deviation name is first named,
// 0 when it is not.
func firstFrame(c *ConnReport, name string) int {
	for _, d := range c.Deviations {
		if d.Name == name {
			return d.FirstFrame
		}
	}
	return 0
}

// TestDelayedACKIsTableBehaviour: the table delays the ACK of text (delay
// ACK, RFC 1122 §4.2.3.2) and of the FIN that takes ESTABLISHED to
// CLOSE-WAIT, so a server whose ACK of the request rides on its response,
// one that acknowledges the request on its own first (its delayed-ACK
// timer), and a server whose FIN carries the ACK of the client's FIN (the
// close in three segments, as Linux's server closes) all conform without
// a named deviation.
func TestDelayedACKIsTableBehaviour(t *testing.T) {
	conv := conversation(cliA, srvB, 1000, 4000000000)
	folded := append(append([]pkt(nil), conv[:4]...), conv[5:]...)
	for _, c := range []struct {
		name string
		conv []pkt
	}{{"separate ACK", conv}, {"ACK on the response", folded}} {
		sum := checkBytes(t, writePcap(t, layers.LinkTypeEthernet, false, c.conv), Options{})
		txt := reportText(sum)
		if sum.Failing != 0 || len(sum.Conns) != 1 {
			t.Fatalf("%s: %v\n%s", c.name, sum, txt)
		}
		if devs := sum.Conns[0].Deviations; len(devs) != 0 {
			t.Errorf("%s: want no deviation (the server's FIN carries the ACK of the client's):\n%s", c.name, txt)
		}
	}
}

// TestWithDuplicatesRangesOverACopy: the retry after no candidate explains
// a segment adds the copies of the peer's latest segments to the silent
// states (more) and to the candidates. When more has room beyond its
// length, ranging over append(more, cands...) while appending to more
// overwrote the candidates with the copies before their turn: the
// candidates' own copies were never tried.
func TestWithDuplicatesRangesOverACopy(t *testing.T) {
	mk := func(n int) shadow { return shadow{next: n} }
	dup := func(sh *shadow) []shadow { return []shadow{mk(sh.next + 100)} }
	for room := 0; room < 4; room++ {
		more := make([]shadow, 0, 3+room)
		more = append(more, mk(1), mk(2), mk(3))
		cands := []shadow{mk(10), mk(20)}
		got := withDuplicates(more, cands, dup)
		want := []int{1, 2, 3, 101, 102, 103, 110, 120}
		if len(got) != len(want) {
			t.Fatalf("room %d: %d states, want %d", room, len(got), len(want))
		}
		for i, w := range want {
			if got[i].next != w {
				t.Errorf("room %d: state %d took %d segments, want %d (the states: %v)", room, i, got[i].next, w, nexts(got))
				break
			}
		}
	}
}

func nexts(cs []shadow) []int {
	var out []int
	for _, c := range cs {
		out = append(out, c.next)
	}
	return out
}

// TestWorkersCheckTheSame checks captures of many interleaved connections
// (IPv4 and IPv6, headers for the fast path and for gopacket's layers,
// some with planted faults, a second incarnation, a bad checksum, a file
// cut in the middle of a packet) with one, two and three workers: the
// same summary and the same reports in the same order, frame for frame,
// however the workers are scheduled.
func TestWorkersCheckTheSame(t *testing.T) {
	var pkts []pkt
	var convs [][]pkt
	for i := 0; i < 24; i++ {
		a := netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 0, 2, byte(1 + i%5)}), uint16(40000+i))
		b := netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 0, 2, 200}), 80)
		if i%4 == 3 {
			a = netip.AddrPortFrom(netip.MustParseAddr("2001:db8::1"), uint16(40000+i))
			b = srv6
		}
		conv := conversation(a, b, uint32(1000+7919*i), uint32(4000000000+104729*i))
		switch i % 6 {
		case 1:
			conv[4].ack += 100 // an ACK beyond what the peer sent
		case 2:
			conv[6].flags = spec.RST | spec.ACK // a RST, then further ACKs
		case 4:
			conv[5].badSum = true
		}
		for k := range conv {
			// Headers that gopacket's layers decode (the reader's fast
			// path reads the common ones).
			switch i % 8 {
			case 0:
				conv[k].vlan = true
			case 5:
				conv[k].ipOptions = true
			case 7:
				conv[k].hopByHop = true
			}
		}
		convs = append(convs, conv)
	}
	convs = append(convs, twoIncarnations())
	for k := 0; ; k++ {
		more := false
		for _, c := range convs {
			if k < len(c) {
				pkts = append(pkts, c[k])
				more = true
			}
		}
		if !more {
			break
		}
	}
	whole := writePcap(t, layers.LinkTypeEthernet, false, pkts)
	for _, data := range [][]byte{whole, whole[:len(whole)-37], writePcapng(t, []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL2}, pkts)} {
		for _, opt := range []Options{{}, {Strict: true, VerifyChecksums: true}} {
			var want string
			for _, workers := range []int{1, 2, 3, 1, 3} {
				o := opt
				o.Workers = workers
				r, err := Open(bytes.NewReader(data))
				if err != nil {
					t.Fatal(err)
				}
				sum, err := Check(context.Background(), r, o)
				if sum == nil {
					t.Fatal(err)
				}
				sum.Elapsed = 0
				js, jerr := json.Marshal(sum)
				if jerr != nil {
					t.Fatal(jerr)
				}
				got := fmt.Sprintf("%s\nerror: %v\n%s", js, err, reportText(sum))
				if want == "" {
					want = got
					if sum.Connections != 26 || sum.Failing == 0 {
						t.Fatalf("%d connections, %d failing:\n%s", sum.Connections, sum.Failing, got)
					}
					continue
				}
				if got != want {
					t.Errorf("%d workers, %+v: the check differs from one worker's:\n%s\nwant\n%s", workers, opt, got, want)
				}
			}
		}
	}
}

// TestForgottenConnectionIsNotFoundAgain: a connection silent for longer
// than Options.Idle is reported and forgotten; its later segments start a
// new connection (seen from the middle), not the forgotten one, which a
// worker's lookup of recent connections must not hand back.
func TestForgottenConnectionIsNotFoundAgain(t *testing.T) {
	a := conversation(cliA, srvB, 1000, 4000000000)
	cliC := netip.MustParseAddrPort("192.0.2.3:41000")
	b := conversation(cliC, srvB, 7000, 9000)
	pkts := append([]pkt(nil), a[:5]...)
	pkts = append(pkts, b[:3]...)
	for i := 0; i < 4200; i++ {
		pkts = append(pkts, b[2]) // the client's ACK again and again: a sweep comes after 4096 segments
	}
	pkts = append(pkts, a[5:]...)
	sum := checkBytes(t, writePcap(t, layers.LinkTypeEthernet, false, pkts), Options{Workers: 1, Idle: 100 * time.Millisecond})
	txt := reportText(sum)
	if sum.Connections != 3 {
		t.Fatalf("%d connections, want 3 (the first one forgotten and seen again from the middle):\n%s", sum.Connections, txt)
	}
	last := sum.Conns[2]
	if last.Client != srvB.String() && last.Server != srvB.String() || last.FirstFrame != 5+3+4200+1 || !last.MidStart {
		t.Errorf("the third connection is not the first one's 4-tuple from frame %d on, seen from the middle:\n%s", 5+3+4200+1, txt)
	}
}

// TestWindowShrink: a server that takes back the window it offered
// (a window of 0 at the ACK of the request, the text after it dropped),
// then reopens 1,280 octets of it and acknowledges only those of the
// retransmission, conforms with window-shrink named at the segment that
// shrank the window (RFC 9293 §3.8.6), and fails under --strict. The same
// drop without a shrinking advertisement is a finding: the server had
// offered room for the text and did not take it.
func TestWindowShrink(t *testing.T) {
	conv := conversation(cliA, srvB, 1000, 4000000000)
	req := conv[3]
	text := req
	text.seq = req.seq + uint32(len(req.payload))
	text.payload = bytes.Repeat([]byte("w"), 2000)
	text.flags = spec.ACK
	after := text.seq
	srv := func(ack uint32, win uint16) pkt {
		p := conv[4]
		p.ack, p.win = ack, win
		return p
	}
	out := append([]pkt(nil), conv[:4]...)
	out = append(out,
		text,               // 5: text the server offered room for
		srv(after, 0),      // 6: the request acknowledged, the window taken back
		srv(after, 10),     // 7: 10<<7 = 1,280 octets reopened
		text,               // 8: the retransmission
		srv(after+1280, 0), // 9: what the reopened window held
	)
	sum := checkBytes(t, writePcap(t, layers.LinkTypeEthernet, false, out), Options{})
	if sum.Connections != 1 || sum.Failing != 0 {
		t.Fatalf("a window shrunk: %v\n%s", sum, reportText(sum))
	}
	if firstFrame(sum.Conns[0], DevWindowShrink) != 6 {
		t.Errorf("want %s first at frame 6, got %+v\n%s", DevWindowShrink, sum.Conns[0].Deviations, reportText(sum))
	}
	if sum := checkBytes(t, writePcap(t, layers.LinkTypeEthernet, false, out), Options{Strict: true}); sum.Failing != 1 {
		t.Errorf("--strict: a shrunk window should fail the connection\n%s", reportText(sum))
	}

	// The window is never taken back (509<<7 at every ACK): the dropped
	// text is the server's fault.
	kept := append([]pkt(nil), out...)
	kept[5], kept[6], kept[8] = srv(after, 509), srv(after, 509), srv(after+1280, 509)
	sum = checkBytes(t, writePcap(t, layers.LinkTypeEthernet, false, kept), Options{})
	if sum.Failing != 1 || sum.Conns[0].Finding.Frame != 9 {
		t.Fatalf("text dropped without a shrink: want the finding at frame 9, got %v\n%s", sum, reportText(sum))
	}
	if txt := reportText(sum); strings.Contains(txt, DevWindowShrink) {
		t.Errorf("no window was shrunk, yet:\n%s", txt)
	}
}

// TestSYNWithText: a SYN that carries text (TCP Fast Open) is not what
// the table's OPEN sends; the finding says what it is.
func TestSYNWithText(t *testing.T) {
	conv := conversation(cliA, srvB, 1000, 4000000000)
	conv[0].payload = []byte("hello")
	sum := checkBytes(t, writePcap(t, layers.LinkTypeEthernet, false, conv[:2]), Options{})
	if sum.Failing != 1 || sum.Conns[0].Finding.Frame != 1 {
		t.Fatalf("want the SYN with text as the finding: %v\n%s", sum, reportText(sum))
	}
	if txt := reportText(sum); !strings.Contains(txt, "RFC 7413") {
		t.Errorf("the finding should name TCP Fast Open:\n%s", txt)
	}
}

// TestCaptureDroppedText: the capture dropped the middle of the server's
// response (tcpdump's "packets dropped by kernel"): the client
// acknowledges all of it. The server is taken to have sent the missing
// text first (reordered-before-capture), the client to have received it
// (missed-by-capture, at its ACK), and the connection conforms; under
// --strict it does not.
func TestCaptureDroppedText(t *testing.T) {
	conv := conversation(cliA, srvB, 1000, 4000000000)
	rep := conv[5]
	a, c := rep, rep
	a.payload = rep.payload[:10]
	c.payload = rep.payload[25:]
	c.seq = rep.seq + 25
	out := append([]pkt(nil), conv[:5]...)
	out = append(out, a, c, conv[6], conv[7], conv[8], conv[9])
	sum := checkBytes(t, writePcap(t, layers.LinkTypeEthernet, false, out), Options{})
	if sum.Failing != 0 {
		t.Fatalf("%v\n%s", sum, reportText(sum))
	}
	if f := firstFrame(sum.Conns[0], DevReorderedBefore); f != 7 {
		t.Errorf("%s at frame %d, want 7\n%s", DevReorderedBefore, f, reportText(sum))
	}
	if f := firstFrame(sum.Conns[0], DevMissedByCapture); f != 8 {
		t.Errorf("%s at frame %d, want 8\n%s", DevMissedByCapture, f, reportText(sum))
	}
	if sum := checkBytes(t, writePcap(t, layers.LinkTypeEthernet, false, out), Options{Strict: true}); sum.Failing != 1 {
		t.Errorf("--strict: want the connection to fail\n%s", reportText(sum))
	}
	// Without the gap the client's ACK of text never sent is a finding.
	over := append([]pkt(nil), conv...)
	over[6].ack += 5
	sum = checkBytes(t, writePcap(t, layers.LinkTypeEthernet, false, over), Options{})
	if sum.Failing != 1 || sum.Conns[0].Finding.Frame != 7 {
		t.Errorf("an ACK beyond the server's text: want the finding at frame 7\n%s", reportText(sum))
	}
	// With Options.CaptureDropped it is text the capture missed, until
	// the client's next segment (frame 8) acknowledges less than it did.
	sum = checkBytes(t, writePcap(t, layers.LinkTypeEthernet, false, over), Options{CaptureDropped: true})
	if sum.Failing != 1 || sum.Conns[0].Finding.Frame != 8 || firstFrame(sum.Conns[0], DevMissedByCapture) != 7 {
		t.Errorf("an ACK beyond the server's text, --capture-dropped: want missed-by-capture at frame 7, the finding at frame 8\n%s", reportText(sum))
	}
}

// TestCaptureDroppedACKInsideMissedText: the capture missed the middle
// of the server's response, [10, 25), which the server sent as two
// segments; the network lost the second, [17, 25), after the capture
// point. The client acknowledges 17, inside the missed text, until the
// server's retransmission of [17, 25) arrives. The capture shows nothing
// of how the missed text was cut into segments, so with
// Options.CaptureDropped the checker cuts it where the client's ACK falls
// and the connection conforms; without the option the missed text was
// reordered before the capture point, cut as the server cuts its text,
// and the ACK inside it is the finding.
func TestCaptureDroppedACKInsideMissedText(t *testing.T) {
	conv := conversation(cliA, srvB, 1000, 4000000000)
	rep := conv[5]
	piece := func(from, to int) pkt {
		p := rep
		p.seq, p.payload = rep.seq+uint32(from), rep.payload[from:to]
		return p
	}
	dupACK := conv[6]
	dupACK.ack = rep.seq + 17
	out := append([]pkt(nil), conv[:5]...)
	out = append(out, piece(0, 10), piece(25, len(rep.payload)), dupACK, piece(17, 25), conv[6], conv[7], conv[8], conv[9])
	pcap := writePcap(t, layers.LinkTypeEthernet, false, out)
	if sum := checkBytes(t, pcap, Options{CaptureDropped: true}); sum.Failing != 0 {
		t.Fatalf("with CaptureDropped: %v\n%s", sum, reportText(sum))
	}
	sum := checkBytes(t, pcap, Options{})
	if sum.Failing != 1 || sum.Conns[0].Finding.Frame != 8 {
		t.Fatalf("without CaptureDropped: want the ACK inside the missed text (frame 8) as the finding: %v\n%s", sum, reportText(sum))
	}
}

// TestCaptureDroppedLastText: the capture missed the server's response
// (dropped it), and the client acknowledges it and closes: with
// Options.CaptureDropped the client's ACK is of text the capture missed,
// and the server, to take that ACK and the client's FIN as the table
// does, sent the text before them (an ACK of text not yet sent is
// dropped, RFC 9293 §3.10.7.4): the connection conforms, missed-by-capture
// named where the client's ACK is. Without the option that ACK is the
// finding.
func TestCaptureDroppedLastText(t *testing.T) {
	conv := conversation(cliA, srvB, 1000, 4000000000)
	out := append(append([]pkt(nil), conv[:5]...), conv[6:]...)
	data := writePcap(t, layers.LinkTypeEthernet, false, out)
	sum := checkBytes(t, data, Options{CaptureDropped: true})
	if sum.Failing != 0 {
		t.Fatalf("%v\n%s", sum, reportText(sum))
	}
	if f := firstFrame(sum.Conns[0], DevMissedByCapture); f != 6 {
		t.Errorf("%s at frame %d, want 6\n%s", DevMissedByCapture, f, reportText(sum))
	}
	if sum := checkBytes(t, data, Options{}); sum.Failing != 1 || sum.Conns[0].Finding.Frame != 6 {
		t.Errorf("without CaptureDropped: want the finding at frame 6\n%s", reportText(sum))
	}
}

// TestCaptureDroppedSYNACK: the capture missed the server's SYN,ACK. The
// client's next segment acknowledges it, or the server's own first
// segment comes after it: with Options.CaptureDropped that is a SYN,ACK
// the capture missed (missed-by-capture), without it a finding. A client
// segment whose SEQ is not past its SYN's is not taken so.
func TestCaptureDroppedSYNACK(t *testing.T) {
	conv := conversation(cliA, srvB, 1000, 4000000000)
	for _, c := range []struct {
		name    string
		pkts    []pkt
		dropped bool // conforms with CaptureDropped
	}{
		{"the client's ACK after it", append(conv[:1:1], conv[2:]...), true},
		// The client's ACK and request are missed too: the server's
		// first segment acknowledges the request.
		{"the server's first segment after it", append(conv[:1:1], conv[4:]...), true},
		{"the client's ACK at its SYN's SEQ", append(conv[:1:1], func() []pkt {
			rest := slices.Clone(conv[2:])
			rest[0].seq--
			return rest
		}()...), false},
	} {
		data := writePcap(t, layers.LinkTypeEthernet, false, c.pkts)
		if sum := checkBytes(t, data, Options{}); sum.Failing != 1 || sum.Conns[0].Finding.Frame != 2 {
			t.Errorf("%s: want the finding at frame 2\n%s", c.name, reportText(sum))
		}
		sum := checkBytes(t, data, Options{CaptureDropped: true})
		switch {
		case !c.dropped && (sum.Failing != 1 || sum.Conns[0].Finding.Frame != 2):
			t.Errorf("%s, CaptureDropped: want the finding at frame 2\n%s", c.name, reportText(sum))
		case c.dropped && (sum.Failing != 0 || firstFrame(sum.Conns[0], DevMissedByCapture) != 2):
			t.Errorf("%s, CaptureDropped: want it to conform, missed-by-capture at frame 2\n%s", c.name, reportText(sum))
		}
	}
}

// TestAstrayWithNothingPending: a server segment (A) is delayed after the
// capture point past five later ones, the last of which opens the
// client's send window; the client sends on it while it still
// acknowledges A's start (A astray), and then acknowledges everything, A
// having arrived, when nothing of the server's is pending any more. Near
// the top of the sequence space too.
func TestAstrayWithNothingPending(t *testing.T) {
	for _, irs := range []uint32{5000, 0xffffffff - 30} {
		const iss = 1000
		seg := func(from, to netip.AddrPort, seq, ack uint32, n int, win uint16) pkt {
			return pkt{src: from, dst: to, seq: seq, ack: ack, flags: spec.ACK, win: win, wscale: -1, payload: make([]byte, n)}
		}
		s0 := irs + 1
		out := []pkt{
			{src: cliA, dst: srvB, seq: iss, flags: spec.SYN, win: 65000, mss: 1460, wscale: -1},
			{src: srvB, dst: cliA, seq: irs, ack: iss + 1, flags: spec.SYN | spec.ACK, win: 100, mss: 1460, wscale: -1},
			seg(cliA, srvB, iss+1, s0, 0, 65000),
			seg(cliA, srvB, iss+1, s0, 100, 65000), // fills the server's window
			seg(srvB, cliA, s0, iss+1, 10, 100),    // A
		}
		for i := uint32(1); i <= 4; i++ {
			out = append(out, seg(srvB, cliA, s0+10*i, iss+1, 10, 100))
		}
		out = append(out,
			seg(srvB, cliA, s0+50, iss+101, 10, 100),  // acknowledges the client's text: room for more
			seg(cliA, srvB, iss+101, s0, 100, 65000),  // sent on that room, A not yet in
			seg(cliA, srvB, iss+201, s0+60, 0, 65000)) // A arrived
		sum := checkBytes(t, writePcap(t, layers.LinkTypeEthernet, false, out), Options{})
		if sum.Failing != 0 {
			t.Errorf("irs %d: %v\n%s", irs, sum, reportText(sum))
		}
	}
}

// TestCaptureDroppedHandshakeACK: the capture missed the client's
// handshake ACK and its request. With Options.CaptureDropped the
// server's ACK of the request is of text the capture missed, which
// carried the ACK of the server's SYN (the client's last captured
// segment is its SYN, which has none), and the client sent it once the
// SYN,ACK let it.
func TestCaptureDroppedHandshakeACK(t *testing.T) {
	conv := conversation(cliA, srvB, 1000, 4000000000)
	out := []pkt{conv[0], conv[1], conv[4], conv[5], conv[6], conv[7], conv[8], conv[9]}
	sum := checkBytes(t, writePcap(t, layers.LinkTypeEthernet, false, out), Options{CaptureDropped: true})
	if sum.Failing != 0 || firstFrame(sum.Conns[0], DevMissedByCapture) != 3 {
		t.Errorf("want conformance, missed-by-capture at frame 3\n%s", reportText(sum))
	}
	// An ACK beyond what the client's window (shift 7) lets the server
	// have in flight is not taken so, and says why.
	far := append([]pkt(nil), conv...)
	far[6].ack += 2 * (65535 << 7)
	sum = checkBytes(t, writePcap(t, layers.LinkTypeEthernet, false, far), Options{CaptureDropped: true})
	if sum.Failing != 1 || !strings.Contains(reportText(sum), "too many for text the capture missed") {
		t.Errorf("an ACK 2 MB beyond: want a finding that says it is too far\n%s", reportText(sum))
	}
}

// TestFINLostWithTextBeforeCapture: the server's response and its FIN
// were lost before the capture point, and the server's next segment, an
// ACK of the client's second request, comes one past the FIN. The
// client's window cannot hold the octets as text, so only the account of
// text then a FIN explains it: the client receives the FIN too, and the
// hosts end as they did, not in CLOSE-WAIT and FIN-WAIT-2.
func TestFINLostWithTextBeforeCapture(t *testing.T) {
	conv := conversation(cliA, srvB, 1000, 4000000000)
	rep := conv[5]
	n := uint32(len(rep.payload))
	req2 := conv[3]
	req2.seq += uint32(len(conv[3].payload))
	sAck := pkt{src: srvB, dst: cliA, seq: rep.seq + n + 1, ack: req2.seq + uint32(len(req2.payload)), flags: spec.ACK, win: 509, wscale: -1, ts: true}
	cAck := pkt{src: cliA, dst: srvB, seq: sAck.ack, ack: rep.seq + n + 1, flags: spec.ACK, win: 38, wscale: -1, ts: true}
	cFin := cAck
	cFin.flags |= spec.FIN
	sLast := pkt{src: srvB, dst: cliA, seq: rep.seq + n + 1, ack: cFin.seq + 1, flags: spec.ACK, win: 509, wscale: -1, ts: true}
	out := []pkt{conv[0], conv[1], conv[2], conv[3], conv[4], req2, sAck, cAck, cFin, sLast}
	out[0].wscale, out[1].wscale = -1, -1
	for i := 2; i < len(out); i++ {
		if out[i].src == cliA {
			out[i].win = 38 // room for the response's text, not one more octet
		}
	}
	sum := checkBytes(t, writePcap(t, layers.LinkTypeEthernet, false, out), Options{})
	if sum.Failing != 0 {
		t.Fatalf("%v\n%s", sum, reportText(sum))
	}
	c := sum.Conns[0]
	if got := c.ClientStates[len(c.ClientStates)-1] + " " + c.ServerStates[len(c.ServerStates)-1]; got != "CLOSED TIME-WAIT" {
		t.Errorf("final states %q, want CLOSED TIME-WAIT\n%s", got, reportText(sum))
	}
}

// TestKeepaliveGarbageOctet: an idle client's keepalive probes carry one
// garbage octet, the last one it sent (RFC 1122 §4.2.3.6 allows it;
// Windows does it), and the server acknowledges each: the table's probe
// carries none, so each is named keepalive-garbage-octet, not taken for
// a copy reordered before the capture point.
func TestKeepaliveGarbageOctet(t *testing.T) {
	conv := conversation(cliA, srvB, 1000, 4000000000)
	idle := conv[6] // the client's ACK of the response: nothing outstanding
	probe := idle
	probe.seq--
	probe.payload = []byte{'T'}
	ack := pkt{src: srvB, dst: cliA, seq: idle.ack, ack: idle.seq, flags: spec.ACK, win: 509, wscale: -1, ts: true}
	out := append(append([]pkt(nil), conv[:7]...), probe, ack, probe, ack)
	out = append(out, conv[7:]...)
	sum := checkBytes(t, writePcap(t, layers.LinkTypeEthernet, false, out), Options{})
	if sum.Failing != 0 {
		t.Fatalf("%v\n%s", sum, reportText(sum))
	}
	c := sum.Conns[0]
	if f := firstFrame(c, DevKeepaliveGarbage); f != 8 {
		t.Errorf("%s at frame %d, want 8\n%s", DevKeepaliveGarbage, f, reportText(sum))
	}
	if f := firstFrame(c, DevReorderedBefore); f != 0 {
		t.Errorf("%s at frame %d, want none\n%s", DevReorderedBefore, f, reportText(sum))
	}
}

// TestAfterClose: segments captured after a host's TCB is gone. The
// server, back in CLOSED after the client's last ACK, answers a late
// copy of one of the client's earlier ACKs with <SEQ=SEG.ACK><CTL=RST>
// (RFC 9293 §3.10.7.1), and a copy of its response, delayed on the way to
// the capture point, is captured after the close: the connection
// conforms, the copy named reordered-before-capture. A RST whose SEQ no
// ACK of the client's carried, and text the server never sent, are
// findings.
func TestAfterClose(t *testing.T) {
	conv := conversation(cliA, srvB, 1000, 4000000000)
	rst := pkt{src: srvB, dst: cliA, seq: conv[6].ack, flags: spec.RST, wscale: -1}
	late := conv[5] // the response, with its text
	out := append(append([]pkt(nil), conv...), rst, late)
	sum := checkBytes(t, writePcap(t, layers.LinkTypeEthernet, false, out), Options{})
	if sum.Failing != 0 {
		t.Fatalf("%v\n%s", sum, reportText(sum))
	}
	if f := firstFrame(sum.Conns[0], DevReorderedBefore); f != 12 {
		t.Errorf("%s at frame %d, want 12\n%s", DevReorderedBefore, f, reportText(sum))
	}
	for _, c := range []struct {
		what string
		edit func(p *pkt)
	}{
		{"a RST answering no ACK the client sent", func(p *pkt) { p.seq = conv[8].seq + 100 }},
		{"text the server never sent", func(p *pkt) { p.flags, p.seq, p.payload = spec.ACK, conv[8].seq+1, []byte("more") }},
	} {
		bad := append([]pkt(nil), out[:11]...)
		c.edit(&bad[10])
		sum := checkBytes(t, writePcap(t, layers.LinkTypeEthernet, false, bad), Options{})
		if sum.Failing != 1 || sum.Conns[0].Finding.Frame != 11 {
			t.Errorf("%s: want the finding at frame 11\n%s", c.what, reportText(sum))
		}
	}
}

// TestCaptureDroppedCount: the packets a pcapng file's interface
// statistics count as dropped by the capture are in the summary; a pcap
// file does not say.
func TestCaptureDroppedCount(t *testing.T) {
	conv := conversation(cliA, srvB, 1000, 4000000000)
	var b bytes.Buffer
	w, err := pcapgo.NewNgWriterInterface(&b, pcapgo.NgInterface{Name: "if0", LinkType: layers.LinkTypeEthernet, SnapLength: 65535}, pcapgo.DefaultNgWriterOptions)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i, p := range conv {
		data := p.frame(t, layers.LinkTypeEthernet)
		if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: t0.Add(time.Duration(i) * time.Millisecond), CaptureLength: len(data), Length: len(data)}, data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.WriteInterfaceStats(0, pcapgo.NgInterfaceStatistics{LastUpdate: t0, PacketsReceived: 17, PacketsDropped: 7}); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	sum := checkBytes(t, b.Bytes(), Options{})
	if sum.CaptureDropped == nil || *sum.CaptureDropped != 7 || sum.Failing != 0 {
		t.Errorf("pcapng with 7 dropped: got %v (%v)", sum.CaptureDropped, sum)
	}
	if sum := checkBytes(t, writePcap(t, layers.LinkTypeEthernet, false, conv), Options{}); sum.CaptureDropped != nil {
		t.Errorf("a pcap file does not say what it dropped, yet the summary says %d", *sum.CaptureDropped)
	}
}

// TestRSTKillsTimeWait: the server, back in CLOSED, answers a late copy
// of the client's last ACK with a RST at the client's RCV.NXT; the client
// in TIME-WAIT takes it (RFC 9293 §3.10.7.4; the table keeps TIME-WAIT,
// RFC 1337) and answers a late copy of the server's FIN from CLOSED. That
// is named rst-kills-time-wait, not time-wait-short. Without the RST, the
// client left TIME-WAIT too soon: time-wait-short.
func TestRSTKillsTimeWait(t *testing.T) {
	conv := conversation(cliA, srvB, 1000, 4000000000)
	rst := pkt{src: srvB, dst: cliA, seq: conv[9].ack, flags: spec.RST, wscale: -1}
	fin := conv[8]
	answer := pkt{src: cliA, dst: srvB, seq: conv[9].seq, flags: spec.RST, wscale: -1}
	with := append(append([]pkt(nil), conv...), rst, fin, answer)
	sum := checkBytes(t, writePcap(t, layers.LinkTypeEthernet, false, with), Options{MinTimeWait: time.Second})
	if sum.Failing != 0 || firstFrame(sum.Conns[0], DevRSTKillsTimeWait) != 13 || firstFrame(sum.Conns[0], DevTimeWaitShort) != 0 {
		t.Errorf("a RST ends TIME-WAIT: want %s at frame 13 and no %s\n%s", DevRSTKillsTimeWait, DevTimeWaitShort, reportText(sum))
	}
	without := append(append([]pkt(nil), conv...), fin, answer)
	sum = checkBytes(t, writePcap(t, layers.LinkTypeEthernet, false, without), Options{MinTimeWait: time.Second})
	if sum.Failing != 0 || firstFrame(sum.Conns[0], DevTimeWaitShort) != 12 || firstFrame(sum.Conns[0], DevRSTKillsTimeWait) != 0 {
		t.Errorf("no RST: want %s at frame 12\n%s", DevTimeWaitShort, reportText(sum))
	}
}

// TestResetNotCaptured: the client loses its connection without a RST the
// capture shows (it restarted; RFC 9293 §3.5.1) and opens anew on the same
// 4-tuple: the server answers the SYN with a challenge ACK, the client
// resets the half-open connection, and its retransmitted SYN opens a new
// one. That conforms with reset-not-captured named at the first SYN.
func TestResetNotCaptured(t *testing.T) {
	conv := conversation(cliA, srvB, 1000, 4000000000)
	syn := conv[0]
	syn.seq = 7000000
	challenge := pkt{src: srvB, dst: cliA, seq: conv[6].ack, ack: conv[6].seq, flags: spec.ACK, win: 509, wscale: -1, ts: true}
	rst := pkt{src: cliA, dst: srvB, seq: conv[6].seq, flags: spec.RST, wscale: -1}
	synack := conv[1]
	synack.seq, synack.ack = 9000000, syn.seq+1
	out := append(append([]pkt(nil), conv[:7]...), syn, challenge, rst, syn, synack)
	sum := checkBytes(t, writePcap(t, layers.LinkTypeEthernet, false, out), Options{})
	if sum.Failing != 0 || firstFrame(sum.Conns[0], DevResetNotCaptured) != 8 {
		t.Fatalf("want %s at frame 8\n%s", DevResetNotCaptured, reportText(sum))
	}
}

// TestFINLostBeforeCaptureZeroWindow: the server's FIN was lost before
// the capture point and its next segment is one past it; the client's
// window is closed, so the missing octet cannot be text: the FIN alone
// explains it (reordered-before-capture).
func TestFINLostBeforeCaptureZeroWindow(t *testing.T) {
	conv := conversation(cliA, srvB, 1000, 4000000000)
	closed := conv[6] // text, and a window of 0
	closed.win, closed.flags, closed.payload = 0, spec.ACK|spec.PSH, []byte("more!")
	acked := pkt{src: srvB, dst: cliA, seq: conv[8].seq, ack: conv[6].seq + 5, flags: spec.ACK, win: 509, wscale: -1, ts: true}
	past := acked
	past.seq++
	out := append(append([]pkt(nil), conv[:6]...), closed, acked, past)
	sum := checkBytes(t, writePcap(t, layers.LinkTypeEthernet, false, out), Options{})
	if sum.Failing != 0 || firstFrame(sum.Conns[0], DevReorderedBefore) != 9 {
		t.Fatalf("want %s at frame 9\n%s", DevReorderedBefore, reportText(sum))
	}
	if got := strings.Join(sum.Conns[0].ServerStates, " "); !strings.HasSuffix(got, "FIN-WAIT-1") {
		t.Errorf("server states %q: want it in FIN-WAIT-1 after its uncaptured FIN", got)
	}
}

// upload is a client that sends text in segments of the given sizes after
// the handshake (MSS 1000 each way, no options after the SYNs) and closes;
// the server acknowledges as acks says (after[i]: the ACK that follows
// client segment i, none when absent) and closes after the client's FIN.
func upload(sizes []int, acks map[int]uint32) ([]pkt, uint32) {
	const iss, irs = 1000, 4000000000
	conv := []pkt{
		{src: cliA, dst: srvB, seq: iss, flags: spec.SYN, win: 65535, mss: 1000, wscale: -1},
		{src: srvB, dst: cliA, seq: irs, ack: iss + 1, flags: spec.SYN | spec.ACK, win: 65535, mss: 1000, wscale: -1},
		{src: cliA, dst: srvB, seq: iss + 1, ack: irs + 1, flags: spec.ACK, win: 65535, wscale: -1},
	}
	seq := uint32(iss + 1)
	for i, n := range sizes {
		conv = append(conv, pkt{src: cliA, dst: srvB, seq: seq, ack: irs + 1, flags: spec.ACK, win: 65535, wscale: -1, payload: make([]byte, n)})
		seq += uint32(n)
		if a, ok := acks[i]; ok {
			conv = append(conv, pkt{src: srvB, dst: cliA, seq: irs + 1, ack: iss + 1 + a, flags: spec.ACK, win: 65535, wscale: -1})
		}
	}
	return append(conv,
		pkt{src: cliA, dst: srvB, seq: seq, ack: irs + 1, flags: spec.ACK | spec.FIN, win: 65535, wscale: -1},
		pkt{src: srvB, dst: cliA, seq: irs + 1, ack: seq + 1, flags: spec.ACK | spec.FIN, win: 65535, wscale: -1},
		pkt{src: cliA, dst: srvB, seq: seq + 1, ack: irs + 2, flags: spec.ACK, win: 65535, wscale: -1},
	), seq
}

// TestOffloadedSegmentACKedWhole: a segment of five MSS captured before
// segmentation offload cut it (or on loopback, where it is never cut)
// reaches its receiver as five segments or, joined again by receive
// offload, as one. A receiver that acknowledges it once, at its end, as
// Linux does, conforms without a named deviation, and so does one that
// acknowledges the pieces as the table does. Two segments the receiver
// did have apart (two captured segments) and acknowledged only after a
// third are still the delayed-ack the table names: its ACK for at least
// every second segment.
func TestOffloadedSegmentACKedWhole(t *testing.T) {
	for _, c := range []struct {
		name   string
		sizes  []int
		acks   map[int]uint32
		pieces bool // the server also acknowledges the second and fourth pieces first
		want   string
	}{
		{"one ACK at the end", []int{5000}, map[int]uint32{0: 5000}, false, ""},
		{"ACKs at the second and fourth piece", []int{5000}, map[int]uint32{0: 5000}, true, ""},
		{"three segments, one ACK", []int{1000, 1000, 1000}, map[int]uint32{2: 3000}, false, DevDelayedACK},
	} {
		conv, _ := upload(c.sizes, c.acks)
		if c.pieces {
			mid := []pkt{conv[4], conv[4]}
			mid[0].ack, mid[1].ack = conv[4].ack-3000, conv[4].ack-1000
			conv = append(append(append([]pkt(nil), conv[:4]...), mid...), conv[4:]...)
		}
		wantNamed(t, c.name, checkBytes(t, writePcap(t, layers.LinkTypeEthernet, false, conv), Options{}), c.want)
	}
}

// wantNamed fails t unless sum has one connection, which conforms with
// the deviation want named, or with none when want is "".
func wantNamed(t *testing.T, what string, sum *Summary, want string) {
	t.Helper()
	txt := reportText(sum)
	if sum.Failing != 0 || len(sum.Conns) != 1 {
		t.Fatalf("%s: %v\n%s", what, sum, txt)
	}
	switch {
	case want == "" && len(sum.Conns[0].Deviations) != 0:
		t.Errorf("%s: want no deviation:\n%s", what, txt)
	case want != "" && firstFrame(sum.Conns[0], want) == 0:
		t.Errorf("%s: want %s named:\n%s", what, want, txt)
	}
}

// TestRateLimitedACKOfUnacceptable: the client sends two keepalive probes
// (RFC 1122 §4.2.3.6: SEQ one below RCV.NXT, no text), which are
// unacceptable: the table answers each with an ACK (RFC 9293 §3.10.7.4). A server that answers the first and not a
// second that comes within 500 ms rate-limits those ACKs, as spec's
// package documentation allows (Linux: tcp_invalid_ratelimit): no named
// deviation. A second that comes later than that and goes unanswered is
// an ACK the table sends and the host did not: delayed-ack.
func TestRateLimitedACKOfUnacceptable(t *testing.T) {
	for _, c := range []struct {
		gap  time.Duration
		want string
	}{{300 * time.Millisecond, ""}, {700 * time.Millisecond, DevDelayedACK}} {
		conv, end := upload(nil, nil)
		probe := pkt{src: cliA, dst: srvB, seq: end - 1, ack: conv[2].ack, flags: spec.ACK, win: 65535, wscale: -1}
		answer := pkt{src: srvB, dst: cliA, seq: conv[2].ack, ack: end, flags: spec.ACK, win: 65535, wscale: -1}
		conv = append(append(append([]pkt(nil), conv[:3]...), probe, answer, probe), conv[3:]...)
		at := make([]time.Duration, len(conv))
		for i := 1; i < len(at); i++ {
			at[i] = at[i-1] + time.Millisecond
			if i == 5 {
				at[i] = at[3] + c.gap
			}
		}
		sum := checkBytes(t, writePcapAt(t, layers.LinkTypeEthernet, false, conv, at), Options{})
		wantNamed(t, fmt.Sprintf("gap %v", c.gap), sum, c.want)
	}
}

// TestInvalidACKIntervalIsImpls: the rate limit the checker allows on ACKs
// of unacceptable empty segments is the one our endpoint keeps (and
// Linux's default), written on each side of the import graph (the checker
// does not import the endpoint) and held equal here.
func TestInvalidACKIntervalIsImpls(t *testing.T) {
	if invalidACKInterval != impl.InvalidACKInterval {
		t.Errorf("capture allows %v between ACKs of unacceptable segments, impl keeps %v", invalidACKInterval, impl.InvalidACKInterval)
	}
}

// TestSYNCopyAfterHandshake: a copy of the client's SYN captured after
// the handshake (duplicated or delayed between the host and the capture
// point) is an older copy (reordered-before-capture). A SYN at another
// SEQ there is no copy: the client that sent it had lost the connection
// (a new SYN from CLOSED), and fails when it goes on with the old one.
func TestSYNCopyAfterHandshake(t *testing.T) {
	conv := conversation(cliA, srvB, 1000, 4000000000)
	pkts := append(slices.Clone(conv[:4]), conv[0])
	pkts = append(pkts, conv[4:]...)
	sum := checkBytes(t, writePcap(t, layers.LinkTypeEthernet, false, pkts), Options{})
	if sum.Failing != 0 || firstFrame(sum.Conns[0], DevReorderedBefore) != 5 {
		t.Errorf("the SYN again at frame 5: want %s there\n%s", DevReorderedBefore, reportText(sum))
	}
	pkts[4].seq += 5
	sum = checkBytes(t, writePcap(t, layers.LinkTypeEthernet, false, pkts), Options{})
	if sum.Failing != 1 || sum.Conns[0].Finding.Frame != 8 {
		t.Errorf("a SYN at another SEQ at frame 5: want the finding at the client's next segment, frame 8\n%s", reportText(sum))
	}
}

// TestHalfOpenAnswersSYN: a capture that starts with the client's SYN,
// which the server answers with an ACK of a connection it kept (RFC 9293
// §3.10.7.4; RFC 5961 §4.2), the client's RST of it, and a new
// handshake. The server's first state comes from its ACK, and the report
// says so. An ACK of the SYN itself follows a SYN,ACK the capture missed
// (TestCaptureDroppedSYNACK), not an older connection.
func TestHalfOpenAnswersSYN(t *testing.T) {
	conv := conversation(cliA, srvB, 1000, 4000000000)
	old := pkt{src: srvB, dst: cliA, seq: 77000, ack: 3000000000, flags: spec.ACK, win: 509, wscale: -1, ts: true}
	rst := pkt{src: cliA, dst: srvB, seq: 3000000000, flags: spec.RST, wscale: -1}
	pkts := append([]pkt{conv[0], old, rst}, conv...)
	sum := checkBytes(t, writePcap(t, layers.LinkTypeEthernet, false, pkts), Options{})
	if sum.Failing != 0 || !sum.Conns[0].Older || !strings.Contains(reportText(sum), "half-open") {
		t.Errorf("want it to conform, the server's older connection reported\n%s", reportText(sum))
	}
	// Without the client's RST the server keeps its connection and never
	// answers the second SYN with a SYN,ACK.
	pkts = append([]pkt{conv[0], old}, conv...)
	if sum := checkBytes(t, writePcap(t, layers.LinkTypeEthernet, false, pkts), Options{}); sum.Failing != 1 {
		t.Errorf("without the RST: want a finding\n%s", reportText(sum))
	}
}
