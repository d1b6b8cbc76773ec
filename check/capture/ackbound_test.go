package capture

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/tcpcheck/tcpcheck/spec"
)

// conversationAt times the segments of conversation: the handshake's
// gaps are rtt apart (SYN to SYN,ACK) and 1 ms (SYN,ACK to ACK), the
// request 1 ms later, and the segment of index late comes delay after
// the one before it; the others 1 ms apart.
func conversationAt(rtt time.Duration, late int, delay time.Duration) ([]pkt, []time.Duration) {
	conv := conversation(cliA, srvB, 1000, 4000000000)
	at := make([]time.Duration, len(conv))
	for i := 1; i < len(conv); i++ {
		gap := time.Millisecond
		switch i {
		case 1:
			gap = rtt
		case late:
			gap = delay
		}
		at[i] = at[i-1] + gap
	}
	return conv, at
}

func lateDev(rep *ConnReport) *Deviation {
	for _, d := range rep.Deviations {
		if d.Name == DevLateACK {
			return d
		}
	}
	return nil
}

// TestDelayedACKBound: the server acknowledges the request (frame 4) on
// its own (frame 5, its delayed-ACK timer), or on its response, some time
// later, in a capture whose handshake shows a round trip of rtt. Within
// 0.5 s plus that round trip the ACK is table behaviour; beyond it is
// delayed-ack-late, with the frames, the delay and the bound.
func TestDelayedACKBound(t *testing.T) {
	ms := time.Millisecond
	for _, c := range []struct {
		name   string
		rtt    time.Duration
		late   int // index of the late segment in conversation
		delay  time.Duration
		fold   bool // drop the server's own ACK: it rides on the response
		want   bool
		cause  int
		frame  int
		strict bool // with --strict the connection then fails
	}{
		{name: "300 ms, 1 ms round trip", rtt: ms, late: 4, delay: 300 * ms},
		{name: "800 ms, 1 ms round trip", rtt: ms, late: 4, delay: 800 * ms, want: true, cause: 4, frame: 5},
		{name: "800 ms folded into the response, 1 ms round trip", rtt: ms, late: 4, delay: 800 * ms, fold: true, want: true, cause: 4, frame: 5},
		// Captured at the client (the sender of the request): the 800 ms
		// include the 400 ms round trip to the server.
		{name: "800 ms, 400 ms round trip", rtt: 400 * ms, late: 4, delay: 800 * ms},
		{name: "1000 ms, 400 ms round trip", rtt: 400 * ms, late: 4, delay: 1000 * ms, want: true, cause: 4, frame: 5},
		// The ACK of the client's FIN, which the table sends at once,
		// folded into the server's FIN (delayed-ack) 800 ms later.
		{name: "FIN's ACK folded 800 ms later", rtt: ms, late: 8, delay: 800 * ms, want: true, cause: 8, frame: 9},
		{name: "FIN's ACK folded 400 ms later", rtt: ms, late: 8, delay: 400 * ms},
	} {
		t.Run(c.name, func(t *testing.T) {
			conv, at := conversationAt(c.rtt, c.late, c.delay)
			if c.fold {
				conv = append(conv[:4:4], conv[5:]...)
				at = append(at[:4:4], at[5:]...)
			}
			data := writePcapAt(t, layers.LinkTypeEthernet, true, conv, at)
			sum := checkBytes(t, data, Options{})
			txt := reportText(sum)
			if sum.Connections != 1 || sum.Failing != 0 {
				t.Fatalf("want one connection explained by the table:\n%s", txt)
			}
			rep := sum.Conns[0]
			d := lateDev(rep)
			if !c.want {
				if d != nil || sum.LateACKs != 0 {
					t.Fatalf("an ACK within the bound reported late:\n%s", txt)
				}
				return
			}
			if d == nil {
				t.Fatalf("no %s for an ACK %v late with a round trip of %v:\n%s", DevLateACK, c.delay, c.rtt, txt)
			}
			bound := rfcMaxAckDelay + c.rtt
			delay := at[c.frame-1] - at[c.cause-1]
			if d.Count != 1 || d.FirstFrame != c.frame || d.CauseFrame != c.cause || d.Delay != delay || d.Bound != bound {
				t.Errorf("got %+v, want frame %d, cause %d, delay %v, bound %v:\n%s", d, c.frame, c.cause, delay, bound, txt)
			}
			if sum.LateACKs != 1 || !strings.Contains(sum.String(), DevLateACK) {
				t.Errorf("the summary does not count it: %v", sum)
			}
			line := "named deviation delayed-ack-late (RFC 1122 §4.2.3.2, a MUST"
			detail := "owed an ACK from frame " + strconv.Itoa(c.cause) + "; frame " + strconv.Itoa(c.frame)
			if !strings.Contains(txt, line) || !strings.Contains(txt, detail) || !strings.Contains(txt, "beyond the bound of "+bound.String()) {
				t.Errorf("the report does not give the frames and the bound:\n%s", txt)
			}
			if s := checkBytes(t, data, Options{Strict: true}); s.Failing != 1 {
				t.Errorf("--strict should fail it: %v", s)
			}
			t.Log("\n" + txt)
		})
	}
}

// TestLateACKOnlyWhenTheCaptureShowsIt: the delay counts only what the
// capture proves the host had.
func TestLateACKOnlyWhenTheCaptureShowsIt(t *testing.T) {
	ms := time.Millisecond
	conv := conversation(cliA, srvB, 1000, 4000000000)
	req := conv[3]
	reqEnd := req.seq + uint32(len(req.payload))
	srvData := pkt{src: srvB, dst: cliA, seq: 4000000001, ack: 1001, flags: spec.ACK | spec.PSH, win: 509, wscale: -1, payload: []byte("0123456789")}
	cliAck := pkt{src: cliA, dst: srvB, seq: reqEnd, ack: 4000000011, flags: spec.ACK, win: 502, wscale: -1}
	srvAck := pkt{src: srvB, dst: cliA, seq: 4000000011, ack: reqEnd, flags: spec.ACK, win: 509, wscale: -1}

	// The server sends text at 600 ms whose ACK does not cover the
	// request (captured at 3 ms): the request had not reached it then
	// (delayed in the network after the capture point). Its ACK at 900 ms
	// is 300 ms after the server can be shown to have had the request,
	// not 897 ms.
	pkts := append(conv[:4:4], srvData, cliAck, srvAck)
	at := []time.Duration{0, ms, 2 * ms, 3 * ms, 600 * ms, 601 * ms, 900 * ms}
	sum := checkBytes(t, writePcapAt(t, layers.LinkTypeEthernet, true, pkts, at), Options{})
	if sum.Failing != 0 || lateDev(sum.Conns[0]) != nil {
		t.Errorf("a delivery deferred past the server's own text counted from the request's capture:\n%s", reportText(sum))
	}
	// The same with the server's ACK at 1200 ms: 600 ms after its text.
	at[6] = 1200 * ms
	sum = checkBytes(t, writePcapAt(t, layers.LinkTypeEthernet, true, pkts, at), Options{})
	if d := lateDev(sum.Conns[0]); sum.Failing != 0 || d == nil || d.CauseFrame != 4 || d.FirstFrame != 7 || d.Delay != 600*ms {
		t.Errorf("want the ACK at frame 7 late by 600 ms (from the server's text at frame 5):\n%s", reportText(sum))
	}

	// An ACK owed and never sent: the capture ends, or the server resets
	// the connection 900 ms later. Neither shows that the server had the
	// request (it may still have been in the network): not reported.
	for _, tail := range [][]pkt{nil, {{src: srvB, dst: cliA, seq: 4000000001, flags: spec.RST, wscale: -1}}} {
		pkts := append(conv[:4:4], tail...)
		at := []time.Duration{0, ms, 2 * ms, 3 * ms, 900 * ms}[:len(pkts)]
		sum := checkBytes(t, writePcapAt(t, layers.LinkTypeEthernet, true, pkts, at), Options{})
		if sum.Failing != 0 || lateDev(sum.Conns[0]) != nil {
			t.Errorf("an ACK never sent reported late (%d segments after the request):\n%s", len(tail), reportText(sum))
		}
	}

	// Without the handshake the round trip is unknown: no bound.
	conv2, at2 := conversationAt(ms, 4, 800*ms)
	sum = checkBytes(t, writePcapAt(t, layers.LinkTypeEthernet, true, conv2[3:], at2[3:]), Options{})
	if sum.Failing != 0 || !sum.Conns[0].MidStart || lateDev(sum.Conns[0]) != nil {
		t.Errorf("a capture without the handshake checked against a bound:\n%s", reportText(sum))
	}
}

// TestLateACKAfterLostCopies: the server's response is captured, then a
// retransmission of it 700 ms later, and the client's ACK 10 ms after
// that. In the account where the first copy was lost after the capture
// point, the ACK came 10 ms after the text: no delayed-ack-late. Without
// the retransmission the same ACK is 710 ms late.
func TestLateACKAfterLostCopies(t *testing.T) {
	conv := conversation(cliA, srvB, 1000, 4000000000)
	at := func(gaps ...time.Duration) []time.Duration {
		out := make([]time.Duration, len(gaps))
		for i := 1; i < len(gaps); i++ {
			out[i] = out[i-1] + gaps[i]
		}
		return out
	}
	ms := time.Millisecond
	with := append(append(append([]pkt(nil), conv[:6]...), conv[5]), conv[6:]...)
	sum := checkBytes(t, writePcapAt(t, layers.LinkTypeEthernet, false, with, at(0, ms, ms, ms, ms, ms, 700*ms, 10*ms, ms, ms, ms)), Options{})
	if sum.Failing != 0 || sum.LateACKs != 0 {
		t.Errorf("an ACK 10 ms after the copy that got through: want no %s\n%s", DevLateACK, reportText(sum))
	}
	sum = checkBytes(t, writePcapAt(t, layers.LinkTypeEthernet, false, conv, at(0, ms, ms, ms, ms, ms, 710*ms, ms, ms, ms)), Options{})
	if sum.LateACKs != 1 {
		t.Errorf("an ACK 710 ms after the only copy: want %s\n%s", DevLateACK, reportText(sum))
	}
}

// TestLateACKAfterCopiesThatGrew: a retransmission may carry more than
// the copy before it (text written since, or the FIN), and a FIN may be
// retransmitted alone. In the account where the earlier copy was lost
// after the capture point, the ACK is owed from the one that got
// through: 10 ms, not 710.
func TestLateACKAfterCopiesThatGrew(t *testing.T) {
	conv := conversation(cliA, srvB, 1000, 4000000000)
	ms := time.Millisecond
	at := func(gaps ...time.Duration) []time.Duration {
		out := make([]time.Duration, len(gaps))
		for i := 1; i < len(gaps); i++ {
			out[i] = out[i-1] + gaps[i]
		}
		return out
	}
	// The server's response, first its first 20 octets, then 700 ms
	// later all of it.
	part := conv[5]
	part.payload = part.payload[:20]
	grew := append(append(append([]pkt(nil), conv[:5]...), part), conv[5:]...)
	sum := checkBytes(t, writePcapAt(t, layers.LinkTypeEthernet, false, grew, at(0, ms, ms, ms, ms, ms, 700*ms, 10*ms, ms, ms, ms)), Options{})
	if sum.Failing != 0 || sum.LateACKs != 0 {
		t.Errorf("an ACK 10 ms after a copy with more text: want no %s\n%s", DevLateACK, reportText(sum))
	}
	// The server's FIN, then 700 ms later the FIN again, and the client's
	// ACK of it 10 ms after that.
	fin := append(append([]pkt(nil), conv[:9]...), conv[8], conv[9])
	sum = checkBytes(t, writePcapAt(t, layers.LinkTypeEthernet, false, fin, at(0, ms, ms, ms, ms, ms, ms, ms, ms, 700*ms, 10*ms)), Options{})
	if sum.Failing != 0 || sum.LateACKs != 0 {
		t.Errorf("an ACK 10 ms after the FIN's retransmission: want no %s\n%s", DevLateACK, reportText(sum))
	}
	// Without the copies, the same ACKs are late.
	sum = checkBytes(t, writePcapAt(t, layers.LinkTypeEthernet, false, conv, at(0, ms, ms, ms, ms, ms, ms, ms, ms, 710*ms)), Options{})
	if sum.LateACKs != 1 {
		t.Errorf("an ACK of the FIN 710 ms after the only copy: want %s\n%s", DevLateACK, reportText(sum))
	}
}
