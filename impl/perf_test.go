package impl

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/tcpcheck/tcpcheck/impl/wire"
)

// TestUDPLargeSegments sends 4 MiB over the udp link with the largest MSS
// the link allows and a window-scaled 1 MiB receive buffer (the settings
// of the goodput benchmark): the stack lowers the MSS to what one datagram
// carries, segments of that size go out, and the text arrives intact.
func TestUDPLargeSegments(t *testing.T) {
	var mu sync.Mutex
	largest := 0
	opt := Options{MSS: 65495, RecvBuffer: 1 << 20, SendBuffer: 1 << 20, MSL: 50 * time.Millisecond, RTOMin: 20 * time.Millisecond,
		Tracer: Tracer{Transition: func(tr Transition) {
			mu.Lock()
			for _, s := range tr.Out {
				largest = max(largest, s.Len)
			}
			mu.Unlock()
		}}}
	stacks := make([]*Stack, 2)
	for i := range stacks {
		l, err := NewUDPLink("127.0.0.1:0", Faults{}, uint64(i))
		if err != nil {
			t.Fatal(err)
		}
		s, err := NewStack(l, opt)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		stacks[i] = s
	}
	if got, want := stacks[0].opt.MSS, 65507-wire.HeaderLen; got != want {
		t.Fatalf("MSS on the udp link = %d, want %d", got, want)
	}
	ln, err := stacks[1].Listen(stacks[1].Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan []byte, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- nil
			return
		}
		b, _ := io.ReadAll(c)
		c.Close()
		got <- b
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := stacks[0].Dial(ctx, stacks[1].Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	want := make([]byte, 4<<20)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range want {
		want[i] = byte(rng.Uint32())
	}
	if _, err := c.Write(want); err != nil {
		t.Fatal(err)
	}
	c.CloseWrite()
	b := <-got
	c.Close()
	if !bytes.Equal(b, want) {
		t.Fatalf("received %d octets, not the %d sent", len(b), len(want))
	}
	mu.Lock()
	defer mu.Unlock()
	if largest != 65507-wire.HeaderLen {
		t.Errorf("largest segment carried %d octets of text, want %d", largest, 65507-wire.HeaderLen)
	}
}
