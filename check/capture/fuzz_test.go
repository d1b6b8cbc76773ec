package capture

import (
	"bytes"
	"context"
	"io"
	"slices"
	"testing"

	"github.com/gopacket/gopacket/layers"

	"github.com/tcpcheck/tcpcheck/spec"
)

// FuzzReader feeds arbitrary files to the reader and the checker: they may
// refuse a file or skip its packets, never panic or loop.
func FuzzReader(f *testing.F) {
	conv := conversation(cliA, srvB, 1000, 4000000000)
	for _, link := range []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL, layers.LinkTypeLinuxSLL2,
		layers.LinkTypeRaw, layers.LinkTypeNull, layers.LinkTypeLoop} {
		f.Add(writePcap(f, link, false, conv))
	}
	f.Add(writePcap(f, layers.LinkTypeEthernet, true, conversation(cli6, srv6, 5, 6)))
	f.Add(writePcapng(f, []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL2}, conv))
	f.Add(swapPcapOrder(f, writePcap(f, layers.LinkTypeEthernet, false, conv[:3])))
	f.Add([]byte("{\"format\":\"tcpcheck-trace\"}"))
	// A segment cut into pieces for its receiver (appendPieces), and an
	// upload of small segments acknowledged once (the delayed ACK's count).
	big, _ := upload([]int{5000}, map[int]uint32{0: 5000})
	f.Add(writePcap(f, layers.LinkTypeEthernet, false, big))
	small, _ := upload([]int{10, 10, 10}, map[int]uint32{2: 30})
	f.Add(writePcap(f, layers.LinkTypeEthernet, false, small))
	// Captures from the middle: without the handshake, and a segment of
	// an MSS the capture never showed acknowledged in pieces
	// (conn.cutAtACK); a half-open server answering a new SYN
	// (conn.olderTCB); a SYN captured again after the handshake (synCopy).
	f.Add(writePcap(f, layers.LinkTypeEthernet, false, conv[2:]))
	mid, _ := upload([]int{3000}, map[int]uint32{0: 1000})
	mid = append(mid[3:], pkt{src: srvB, dst: cliA, seq: 4000000001, ack: 4001, flags: spec.ACK, win: 65535, wscale: -1})
	f.Add(writePcap(f, layers.LinkTypeEthernet, false, mid))
	old := pkt{src: srvB, dst: cliA, seq: 77000, ack: 3000000000, flags: spec.ACK, win: 509, wscale: -1}
	f.Add(writePcap(f, layers.LinkTypeEthernet, false, append([]pkt{conv[0], old, {src: cliA, dst: srvB, seq: 3000000000, flags: spec.RST, wscale: -1}}, conv...)))
	f.Add(writePcap(f, layers.LinkTypeEthernet, false, append(append(slices.Clone(conv[:4]), conv[0]), conv[4:]...)))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Open(bytes.NewReader(data))
		if err != nil {
			return
		}
		slow, _ := Open(bytes.NewReader(data))
		slow.layersOnly = true
		var s, ls Segment
		for n := 0; n < 10000; n++ {
			err := r.Next(&s)
			lerr := slow.Next(&ls)
			if (err == nil) != (lerr == nil) || err != nil && err.Error() != lerr.Error() {
				t.Fatalf("the fast decoder says %v, the layers %v", err, lerr)
			}
			if err != nil {
				if err != io.EOF && err.Error() == "" {
					t.Fatal("an error without a message")
				}
				break
			}
			if s != ls {
				t.Fatalf("frame %d: the fast decoder reads %+v, the layers %+v", s.Frame, s, ls)
			}
			if s.Frame <= 0 {
				t.Fatalf("frame number %d", s.Frame)
			}
		}
		if r.Skip != slow.Skip {
			t.Fatalf("the fast decoder skips %+v, the layers %+v", r.Skip, slow.Skip)
		}
		// The checker takes whatever the reader gives, with and (by the
		// input's last bit) without --capture-dropped's accounts.
		r, _ = Open(bytes.NewReader(data))
		dropped := len(data) > 0 && data[len(data)-1]&1 == 1
		if sum, _ := Check(context.Background(), r, Options{Workers: 1, CaptureDropped: dropped}); sum == nil {
			t.Fatal("no summary")
		}
	})
}

// FuzzFastDecode holds the decoder's fast path (the common headers read
// straight from the octets) to gopacket's layers on arbitrary packets of
// every link type: the same segment, or the same reason to skip.
func FuzzFastDecode(f *testing.F) {
	links := []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL, layers.LinkTypeLinuxSLL2,
		layers.LinkTypeRaw, layers.LinkTypeNull, layers.LinkTypeLoop}
	for i, link := range links {
		for _, p := range fastDecodeSeeds() {
			f.Add(uint8(i), p.frame(f, link))
			f.Add(uint8(i), append(p.frame(f, link), 0, 0, 0, 0, 0, 0))
		}
	}
	f.Fuzz(func(t *testing.T, li uint8, data []byte) {
		compareDecoders(t, links[int(li)%len(links)], data)
	})
}

// TestFastDecodeMatchesLayers decodes packets of every link type, with
// and without options, cut at every length and with every octet of their
// headers changed, by the fast path and by gopacket's layers alone: the
// same segments and the same skips.
func TestFastDecodeMatchesLayers(t *testing.T) {
	for _, link := range []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL, layers.LinkTypeLinuxSLL2,
		layers.LinkTypeRaw, layers.LinkTypeNull, layers.LinkTypeLoop} {
		fast := 0
		for i, p := range fastDecodeSeeds() {
			b := p.frame(t, link)
			if i%2 == 1 {
				// A trailer after the IP packet (Ethernet pads short frames).
				b = append(b, 0, 0, 0, 0, 0, 0)
			}
			for n := 0; n <= len(b); n++ {
				fast += compareDecoders(t, link, b[:n])
			}
			for i := 0; i < min(len(b), 120); i++ {
				for _, v := range []byte{0, 1, 2, 4, 5, 6, 0x0f, 0x1e, 0x20, 0x40, 0x45, 0x50, 0x80, 0xff, b[i] ^ 0x01, b[i] ^ 0x10} {
					x := append([]byte(nil), b...)
					x[i] = v
					fast += compareDecoders(t, link, x)
				}
			}
		}
		if fast == 0 {
			t.Errorf("%v: the fast path decoded no packet", link)
		}
	}
}

// fastDecodeSeeds are packets with the headers the fast path reads and
// those it leaves to the layers.
func fastDecodeSeeds() []pkt {
	conv := conversation(cliA, srvB, 1000, 4000000000)
	out := []pkt{conv[0], conv[1], conv[3]}
	p := conv[3]
	p.ts, p.sackPerm = true, true
	out = append(out, p)
	p = conv[0]
	p.ts, p.sackPerm, p.wscale = true, true, 7
	out = append(out, p)
	for _, q := range conversation(cli6, srv6, 5, 6)[:4] {
		out = append(out, q)
	}
	p = conv[3]
	p.vlan = true
	out = append(out, p)
	p = conv[3]
	p.ipOptions = true
	out = append(out, p)
	p = conv[3]
	p.fragment = true
	out = append(out, p)
	p = conversation(cli6, srv6, 5, 6)[3]
	p.hopByHop = true
	out = append(out, p)
	p = conv[3]
	p.badSum = true
	out = append(out, p)
	return out
}

// compareDecoders decodes one packet both ways and fails t when they
// differ; it returns 1 when the fast path decoded the packet.
func compareDecoders(t testing.TB, link layers.LinkType, data []byte) int {
	t.Helper()
	var fast, slow Reader
	slow.layersOnly = true
	var s, ls Segment
	ok, lok := fast.decode(link, data, len(data), &s), slow.decode(link, data, len(data), &ls)
	if ok != lok || ok && s != ls || fast.Skip != slow.Skip {
		t.Fatalf("%v packet % x: the fast decoder says %v %+v %+v, the layers %v %+v %+v", link, data, ok, s, fast.Skip, lok, ls, slow.Skip)
	}
	return fast.fastDecoded
}
