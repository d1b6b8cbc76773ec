package impl

import (
	"context"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// benchNet is what the benchmarks need of a TCP: a listener and a dialer.
// The same harness measures this package over the udp link and the
// kernel's TCP on loopback, in the same run.
type benchNet struct {
	name   string
	listen func(b *testing.B) (net.Listener, string)
	dial   func(ctx context.Context, addr string) (net.Conn, error)
	retx   func() uint64 // segments the client retransmitted; nil for the kernel
}

func benchNets(b *testing.B) []benchNet {
	return benchNetsOpt(b, "impl-udp", Options{MSL: 50 * time.Millisecond, RTOMin: 50 * time.Millisecond, Backlog: 1024})
}

// bulkOptions are the options of go run ./bench's goodput runs
// (bench/endpoint.go): segments as large as a datagram carries and
// window-scaled 4 MiB buffers.
var bulkOptions = Options{MSS: 65495, RecvBuffer: 4 << 20, SendBuffer: 4 << 20}

func benchNetsOpt(b *testing.B, name string, opt Options) []benchNet {
	newStack := func(b *testing.B) *Stack {
		l, err := NewUDPLink("127.0.0.1:0", Faults{}, 1)
		if err != nil {
			b.Fatal(err)
		}
		s, err := NewStack(l, opt)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		return s
	}
	var client *Stack
	return []benchNet{
		{
			name: name,
			listen: func(b *testing.B) (net.Listener, string) {
				srv := newStack(b)
				client = newStack(b)
				l, err := srv.Listen(srv.Addr().String())
				if err != nil {
					b.Fatal(err)
				}
				return l, srv.Addr().String()
			},
			dial: func(ctx context.Context, addr string) (net.Conn, error) { return client.Dial(ctx, addr) },
			retx: func() uint64 { return client.Stats().Retransmits },
		},
		{
			name: "linux-tcp",
			listen: func(b *testing.B) (net.Listener, string) {
				l, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { l.Close() })
				return l, l.Addr().String()
			},
			dial: func(ctx context.Context, addr string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, "tcp", addr)
			},
		},
	}
}

// BenchmarkHandshakeClose measures connection cycles: dial (three-way
// handshake), the server closes at once, the client reads EOF and closes
// (four-way close; TIME-WAIT stays on the server side). It reports
// cycles/s at concurrency 1 and 4.
func BenchmarkHandshakeClose(b *testing.B) {
	for _, conc := range []int{1, 4} {
		for _, bn := range benchNets(b) {
			b.Run(fmt.Sprintf("%s/conc=%d", bn.name, conc), func(b *testing.B) {
				l, addr := bn.listen(b)
				var srv sync.WaitGroup
				srv.Go(func() {
					for {
						c, err := l.Accept()
						if err != nil {
							return
						}
						c.Close()
					}
				})
				ctx := context.Background()
				var wg sync.WaitGroup
				var mu sync.Mutex
				var firstErr error
				per := (b.N + conc - 1) / conc
				b.ResetTimer()
				start := time.Now()
				for range conc {
					wg.Go(func() {
						buf := make([]byte, 1)
						for range per {
							c, err := bn.dial(ctx, addr)
							if err == nil {
								if _, rerr := c.Read(buf); rerr != io.EOF {
									err = fmt.Errorf("read: %v, want EOF", rerr)
								}
								c.Close()
							}
							if err != nil {
								mu.Lock()
								firstErr = err
								mu.Unlock()
								return
							}
						}
					})
				}
				wg.Wait()
				elapsed := time.Since(start)
				b.StopTimer()
				l.Close()
				srv.Wait()
				if firstErr != nil {
					b.Fatal(firstErr)
				}
				b.ReportMetric(float64(per*conc)/elapsed.Seconds(), "cycles/s")
			})
		}
	}
}

// BenchmarkBulk measures goodput of one connection: the client writes
// 1 MiB per iteration and the server reads and discards it. impl-udp has
// the default MSS (1400) and window (64 KiB), impl-udp-64k the options of
// the bench command's goodput figure.
func BenchmarkBulk(b *testing.B) {
	nets := append(benchNets(b), benchNetsOpt(b, "impl-udp-64k", bulkOptions)[0])
	for _, bn := range nets {
		b.Run(bn.name, func(b *testing.B) {
			l, addr := bn.listen(b)
			done := make(chan int64)
			go func() {
				c, err := l.Accept()
				if err != nil {
					done <- -1
					return
				}
				n, _ := io.Copy(io.Discard, c)
				c.Close()
				done <- n
			}()
			c, err := bn.dial(context.Background(), addr)
			if err != nil {
				b.Fatal(err)
			}
			chunk := make([]byte, 1<<20)
			b.SetBytes(int64(len(chunk)))
			b.ResetTimer()
			for range b.N {
				if _, err := c.Write(chunk); err != nil {
					b.Fatal(err)
				}
			}
			c.(interface{ CloseWrite() error }).CloseWrite()
			n := <-done
			b.StopTimer()
			c.Close()
			l.Close()
			if n != int64(b.N)*int64(len(chunk)) {
				b.Fatalf("server read %d bytes, want %d", n, int64(b.N)*int64(len(chunk)))
			}
			if bn.retx != nil {
				// Losses in the kernel's UDP buffers (a busy machine) cost
				// retransmission timeouts; show them beside the rate.
				b.ReportMetric(float64(bn.retx())/float64(b.N), "retx/op")
			}
		})
	}
}
