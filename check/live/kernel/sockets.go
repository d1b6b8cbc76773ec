//go:build linux

package kernel

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"time"

	"github.com/tcpcheck/tcpcheck/impl"
	"github.com/tcpcheck/tcpcheck/spec"
)

// ourListen opens our listener on the scenario's port.
func (e *env) ourListen() (*impl.Listener, error) {
	l, err := e.stack.Listen(e.ourAddr().String())
	if err != nil {
		return nil, err
	}
	e.onClose(func() { l.Close() })
	return l, nil
}

// ourAccept accepts one connection from l, bounded in time.
func (e *env) ourAccept(l *impl.Listener) (*impl.Conn, error) {
	type res struct {
		c   *impl.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() { c, err := l.AcceptConn(); ch <- res{c, err} }()
	select {
	case r := <-ch:
		if r.err == nil {
			e.onClose(func() { r.c.Abort() })
		}
		return r.c, r.err
	case <-time.After(ioWait()):
		l.Close()
		return nil, errors.New("our listener accepted nothing")
	}
}

// ourDial opens a connection from our endpoint to the kernel's port.
func (e *env) ourDial() (*impl.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), ioWait())
	defer cancel()
	c, err := e.stack.Dial(ctx, e.kernelAddr().String())
	if c != nil {
		e.onClose(func() { c.Abort() })
	}
	return c, err
}

// kernelDial connects a kernel socket to our listening port.
func (e *env) kernelDial() (*net.TCPConn, error) {
	e.kernelCall(spec.ActiveOpen, "connect()")
	c, err := net.DialTimeout("tcp4", e.ourAddr().String(), ioWait())
	if err != nil {
		return nil, err
	}
	e.onClose(func() { c.Close() })
	return c.(*net.TCPConn), nil
}

// kernelAccept accepts one connection on the kernel listener and closes
// the listener.
func (e *env) kernelAccept(l *net.TCPListener) (*net.TCPConn, error) {
	l.SetDeadline(time.Now().Add(ioWait()))
	c, err := l.AcceptTCP()
	if err != nil {
		return nil, err
	}
	e.onClose(func() { c.Close() })
	e.kernelListenerClosed()
	l.Close()
	return c, nil
}

// kernelWrite writes p on the kernel socket.
func (e *env) kernelWrite(k *net.TCPConn, p []byte) error {
	e.kernelCall(spec.Send, fmt.Sprintf("write(%d octets)", len(p)))
	k.SetWriteDeadline(ioDeadline(len(p)))
	_, err := k.Write(p)
	return err
}

// ioDeadline bounds a read or write of n octets: ioWait() plus 100 ms a
// KiB, since a lossy link's retransmission timeouts, on a loaded machine,
// can take seconds for 128 KiB (a write waits for the peer's window as a
// read waits for the text).
func ioDeadline(n int) time.Time {
	return time.Now().Add(ioWait() + time.Duration(n/1024)*100*time.Millisecond)
}

// readConn is what kernelRead and ourRead read from.
type readConn interface {
	io.Reader
	SetReadDeadline(time.Time) error
}

// readExactly reads exactly len(want) octets from c and compares them
// with want; who names the reader in errors.
func readExactly(who string, c readConn, want []byte) error {
	c.SetReadDeadline(ioDeadline(len(want)))
	got := make([]byte, len(want))
	if _, err := io.ReadFull(c, got); err != nil {
		return fmt.Errorf("%s read: %v", who, err)
	}
	if !bytes.Equal(got, want) {
		return fmt.Errorf("%s read %q, want %q", who, got, want)
	}
	return nil
}

// kernelRead reads exactly len(want) octets from the kernel socket and
// compares them with want.
func kernelRead(k *net.TCPConn, want []byte) error { return readExactly("kernel", k, want) }

// ourRead reads exactly len(want) octets from our connection and compares.
func ourRead(c *impl.Conn, want []byte) error { return readExactly("our", c, want) }

// waitKernelACK waits until the kernel has acknowledged all we sent (its
// ACK may be delayed), so that it does not ride on a later segment.
func (e *env) waitKernelACK() error {
	want := e.sndNxt()
	return e.waitPacket("the kernel's ACK of our text", func(p impl.TUNPacket) bool {
		return p.Dir == impl.Inbound && p.Header.Flags.Has(spec.ACK) && p.Header.Ack == want
	})
}

// isPureACK matches a segment with only ACK set and no text.
func isPureACK(p impl.TUNPacket) bool {
	return p.Header.Flags&^spec.PSH == spec.ACK && p.Len == 0
}

// dropFirst returns a filter that drops the first packet matching pred.
func dropFirst(pred func(impl.TUNPacket) bool) func(impl.TUNPacket) impl.Verdict {
	done := false
	return func(p impl.TUNPacket) impl.Verdict {
		if !done && pred(p) {
			done = true
			return impl.Verdict{Drop: true}
		}
		return impl.Pass
	}
}

// kernelEnd is the kernel's end of the scenario's connection.
func (e *env) kernelEnd() netip.AddrPort {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.kEnd
}

// pattern returns n deterministic octets.
func pattern(seed uint64, n int) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(seed, seed+1))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}
