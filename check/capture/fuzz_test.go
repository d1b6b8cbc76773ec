package capture

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/gopacket/gopacket/layers"
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
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Open(bytes.NewReader(data))
		if err != nil {
			return
		}
		var s Segment
		for n := 0; n < 10000; n++ {
			if err := r.Next(&s); err != nil {
				if err != io.EOF && err.Error() == "" {
					t.Fatal("an error without a message")
				}
				break
			}
			if s.Frame <= 0 {
				t.Fatalf("frame number %d", s.Frame)
			}
		}
		// The checker takes whatever the reader gives.
		r, _ = Open(bytes.NewReader(data))
		if sum, _ := Check(context.Background(), r, Options{Workers: 1}); sum == nil {
			t.Fatal("no summary")
		}
	})
}
