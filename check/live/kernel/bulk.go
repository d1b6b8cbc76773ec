//go:build linux

package kernel

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"time"

	"github.com/tcpcheck/tcpcheck/impl"
)

// BulkResult is the outcome of a bulk transfer.
type BulkResult struct {
	From, To       Side
	Octets         int64
	Sent, Received [sha256.Size]byte // SHA-256 of the octets written and of those read
	Elapsed        time.Duration
	Link           impl.TUNStats
	Stack          impl.Stats
}

// Intact reports whether what was read is what was written.
func (r BulkResult) Intact() bool { return r.Sent == r.Received }

// String summarises the transfer on one line.
func (r BulkResult) String() string {
	mbps := float64(r.Octets) * 8 / r.Elapsed.Seconds() / 1e6
	return fmt.Sprintf("%s -> %s: %d octets in %v (%.1f Mbit/s), sha256 sent %x received %x, link lost %d of %d packets, our retransmits %d",
		r.From, r.To, r.Octets, r.Elapsed.Round(time.Millisecond), mbps, r.Sent[:8], r.Received[:8],
		r.Link.Lost, r.Link.Out+r.Link.In+r.Link.Lost, r.Stack.Retransmits)
}

// Bulk sends n pseudo-random octets from one side to the other over a
// fresh TUN link that loses each packet, in either direction, with
// probability loss (drawn from seed), and compares the SHA-256 of what was
// written and read. It must run in a private network namespace.
func Bulk(n int64, loss float64, seed uint64, from Side) (BulkResult, error) {
	r := BulkResult{From: from, To: Kernel, Octets: n}
	if from == Kernel {
		r.To = Ours
	}
	if !impl.InPrivateNetns() {
		return r, errors.New("kernel: bulk transfers must run in a private network namespace (impl.ReexecInPrivateNetns)")
	}
	link, err := impl.OpenTUN(impl.TUNConfig{Faults: impl.Faults{Loss: loss}, Seed: seed})
	if err != nil {
		return r, err
	}
	stack, err := impl.NewStack(link, impl.Options{MSL: 100 * time.Millisecond, RTOMin: 10 * time.Millisecond, RTOInitial: time.Second})
	if err != nil {
		link.Close()
		return r, err
	}
	defer stack.Close()
	kl, err := net.ListenTCP("tcp4", net.TCPAddrFromAddrPort(netip.AddrPortFrom(kernelIP, 5001)))
	if err != nil {
		return r, fmt.Errorf("kernel: %v", err)
	}
	defer kl.Close()
	// A transfer that makes no progress for this long has failed.
	const stall = 60 * time.Second
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), stall)
	defer cancel()
	ours, err := stack.Dial(ctx, "192.0.2.1:5001")
	if err != nil {
		return r, fmt.Errorf("kernel: our dial: %v", err)
	}
	defer ours.Abort()
	kl.SetDeadline(time.Now().Add(stall))
	k, err := kl.AcceptTCP()
	if err != nil {
		return r, fmt.Errorf("kernel: accept: %v", err)
	}
	defer k.Close()
	// From our endpoint to the kernel, or the other way round.
	var w io.Writer = ours
	var rd io.Reader = k
	closeWrite := ours.CloseWrite
	if from == Kernel {
		w, rd, closeWrite = k, ours, k.CloseWrite
	}
	sentH, recvH := sha256.New(), sha256.New()
	errs := make(chan error, 2)
	go func() {
		src := io.TeeReader(io.LimitReader(newStream(seed), n), sentH)
		_, err := io.Copy(w, src)
		if err == nil {
			err = closeWrite()
		}
		errs <- err
	}()
	go func() {
		got, err := io.Copy(recvH, &progressReader{r: rd, stall: stall})
		if err == nil && got != n {
			err = fmt.Errorf("read %d octets, want %d", got, n)
		}
		errs <- err
	}()
	for range 2 {
		if e := <-errs; e != nil && err == nil {
			err = e
		}
	}
	r.Elapsed = time.Since(start)
	copy(r.Sent[:], sentH.Sum(nil))
	copy(r.Received[:], recvH.Sum(nil))
	r.Link, r.Stack = link.Stats(), stack.Stats()
	if err != nil {
		return r, fmt.Errorf("kernel: bulk %s: %v", r, err)
	}
	return r, nil
}

// progressReader reads with a deadline that moves with every read, so a
// transfer fails only when it stalls.
type progressReader struct {
	r     io.Reader
	stall time.Duration
}

func (p *progressReader) Read(b []byte) (int, error) {
	if d, ok := p.r.(interface{ SetReadDeadline(time.Time) error }); ok {
		d.SetReadDeadline(time.Now().Add(p.stall))
	}
	return p.r.Read(b)
}

// stream is an endless pseudo-random byte stream.
type stream struct{ rng *rand.Rand }

func newStream(seed uint64) *stream { return &stream{rng: rand.New(rand.NewPCG(seed, ^seed))} }

func (s *stream) Read(p []byte) (int, error) {
	for i := 0; i+8 <= len(p); i += 8 {
		v := s.rng.Uint64()
		for j := range 8 {
			p[i+j] = byte(v >> (8 * j))
		}
	}
	n := len(p) &^ 7
	if n == 0 && len(p) > 0 {
		v := s.rng.Uint64()
		for j := range p {
			p[j] = byte(v >> (8 * j))
		}
		n = len(p)
	}
	return n, nil
}
