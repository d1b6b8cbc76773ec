//go:build linux

package kernel

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/tcpcheck/tcpcheck/impl"
	"github.com/tcpcheck/tcpcheck/impl/wire"
	"github.com/tcpcheck/tcpcheck/spec"
)

// ioWait bounds every blocking call of a script.
const ioWait = 10 * time.Second

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
	case <-time.After(ioWait):
		l.Close()
		return nil, errors.New("our listener accepted nothing")
	}
}

// ourDial opens a connection from our endpoint to the kernel's port.
func (e *env) ourDial() (*impl.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), ioWait)
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
	c, err := net.DialTimeout("tcp4", e.ourAddr().String(), ioWait)
	if err != nil {
		return nil, err
	}
	e.onClose(func() { c.Close() })
	return c.(*net.TCPConn), nil
}

// kernelAccept accepts one connection on the kernel listener and closes
// the listener.
func (e *env) kernelAccept(l *net.TCPListener) (*net.TCPConn, error) {
	l.SetDeadline(time.Now().Add(ioWait))
	c, err := l.AcceptTCP()
	if err != nil {
		return nil, err
	}
	e.onClose(func() { c.Close() })
	e.kernelListenerClosed()
	l.Close()
	return c, nil
}

// kernelClient makes the kernel connect to our listener; our listener is
// closed once it has accepted.
func (e *env) kernelClient() (*impl.Conn, *net.TCPConn, error) {
	l, err := e.ourListen()
	if err != nil {
		return nil, nil, err
	}
	k, err := e.kernelDial()
	if err != nil {
		return nil, nil, err
	}
	c, err := e.ourAccept(l)
	if err != nil {
		return nil, nil, err
	}
	l.Close()
	e.step("connected", spec.Established, spec.Established)
	return c, k, nil
}

// ourClient makes our endpoint connect to a kernel listener; the kernel's
// listener is closed once it has accepted.
func (e *env) ourClient() (*impl.Conn, *net.TCPConn, error) {
	l, err := e.kernelListen()
	if err != nil {
		return nil, nil, err
	}
	c, err := e.ourDial()
	if err != nil {
		return nil, nil, err
	}
	k, err := e.kernelAccept(l)
	if err != nil {
		return nil, nil, err
	}
	e.step("connected", spec.Established, spec.Established)
	return c, k, nil
}

// kernelWrite writes p on the kernel socket.
func (e *env) kernelWrite(k *net.TCPConn, p []byte) error {
	e.kernelCall(spec.Send, fmt.Sprintf("write(%d octets)", len(p)))
	k.SetWriteDeadline(ioDeadline(len(p)))
	_, err := k.Write(p)
	return err
}

// ioDeadline bounds a read or write of n octets: ioWait plus 100 ms a
// KiB, since a lossy link's retransmission timeouts, on a loaded machine,
// can take seconds for 128 KiB (a write waits for the peer's window as a
// read waits for the text).
func ioDeadline(n int) time.Time {
	return time.Now().Add(ioWait + time.Duration(n/1024)*100*time.Millisecond)
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

func hasFIN(p impl.TUNPacket) bool { return p.Header.Flags.Has(spec.FIN) }

var (
	fromKernel = []byte("hello from the kernel\n")
	fromUs     = []byte("hello from tcpcheck\n")
)

var scenarios = []Scenario{
	{
		Name:    "kernel-client",
		Summary: "the kernel connects to our listener; data both ways; the kernel closes first and its TIME-WAIT is visible",
		Exchange: `in SYN
			out SYN,ACK
			in ACK
			in ACK text
			out ACK
			out ACK text
			in ACK
			in FIN,ACK
			out ACK
			out FIN,ACK
			in ACK`,
		run: func(e *env) error {
			c, k, err := e.kernelClient()
			if err != nil {
				return err
			}
			if err := e.kernelWrite(k, fromKernel); err != nil {
				return err
			}
			if err := ourRead(c, fromKernel); err != nil {
				return err
			}
			if _, err := c.Write(fromUs); err != nil {
				return err
			}
			if err := kernelRead(k, fromUs); err != nil {
				return err
			}
			if err := e.waitKernelACK(); err != nil {
				return err
			}
			e.step("data both ways", spec.Established, spec.Established)
			e.kernelCall(spec.Close, "close()")
			k.Close()
			e.step("the kernel closed", spec.CloseWait, spec.FinWait2)
			c.SetReadDeadline(time.Now().Add(ioWait))
			if n, err := c.Read(make([]byte, 1)); n != 0 || err != io.EOF {
				return fmt.Errorf("our read after the kernel's FIN: %d, %v; want EOF", n, err)
			}
			c.Close()
			e.step("we closed", spec.Closed, spec.TimeWait)
			return nil
		},
	},
	{
		Name:    "our-client-half-close",
		Summary: "our endpoint connects to a kernel listener; data both ways; we half-close and the kernel still sends before it closes",
		Exchange: `out SYN
			in SYN,ACK
			out ACK
			out ACK text
			in ACK?
			in ACK text
			out ACK
			out FIN,ACK+
			in ACK*
			in ACK text
			out ACK
			in FIN,ACK
			out ACK`,
		run: func(e *env) error {
			c, k, err := e.ourClient()
			if err != nil {
				return err
			}
			if _, err := c.Write(fromUs); err != nil {
				return err
			}
			if err := kernelRead(k, fromUs); err != nil {
				return err
			}
			if err := e.kernelWrite(k, fromKernel); err != nil {
				return err
			}
			if err := ourRead(c, fromKernel); err != nil {
				return err
			}
			e.step("data both ways", spec.Established, spec.Established)
			c.CloseWrite()
			k.SetReadDeadline(time.Now().Add(ioWait))
			if n, err := k.Read(make([]byte, 1)); n != 0 || err != io.EOF {
				return fmt.Errorf("kernel read after our FIN: %d, %v; want EOF", n, err)
			}
			e.step("we half-closed", spec.FinWait2, spec.CloseWait)
			more := []byte("still talking after your FIN\n")
			if err := e.kernelWrite(k, more); err != nil {
				return err
			}
			if err := ourRead(c, more); err != nil {
				return err
			}
			e.step("data after our FIN", spec.FinWait2, spec.CloseWait)
			e.kernelCall(spec.Close, "close()")
			k.Close()
			e.step("the kernel closed", spec.TimeWait, spec.Closed)
			c.Close()
			e.step("2MSL later", spec.Closed, spec.Closed)
			return nil
		},
	},
	{
		Name:    "active-close-by-us",
		Summary: "we close first: we pass FIN-WAIT-1, FIN-WAIT-2 and TIME-WAIT; the kernel goes CLOSE-WAIT, LAST-ACK (our last ACK held), CLOSED",
		Exchange: `in SYN
			out SYN,ACK
			in ACK
			out FIN,ACK+
			in ACK+
			in FIN,ACK
			out ACK`,
		run: func(e *env) error {
			c, k, err := e.kernelClient()
			if err != nil {
				return err
			}
			c.Close()
			e.step("we closed", spec.FinWait2, spec.CloseWait)
			e.link.SetFilter(func(p impl.TUNPacket) impl.Verdict {
				if p.Dir == impl.Outbound && isPureACK(p) {
					return impl.Verdict{Hold: true}
				}
				return impl.Pass
			})
			e.kernelCall(spec.Close, "close()")
			k.Close()
			if err := e.waitHeld(1); err != nil {
				return err
			}
			e.step("the kernel closed; our ACK held", spec.TimeWait, spec.LastAck)
			e.link.SetFilter(nil)
			e.link.Release(nil)
			e.step("our ACK released", spec.TimeWait, spec.Closed)
			e.step("2MSL later", spec.Closed, spec.Closed)
			return nil
		},
	},
	{
		Name:    "active-close-by-kernel",
		Summary: "the kernel closes first: it passes FIN-WAIT-2 into a visible TIME-WAIT (60 s, not 2MSL); we go CLOSE-WAIT, LAST-ACK, CLOSED",
		Exchange: `out SYN
			in SYN,ACK
			out ACK
			in FIN,ACK
			out ACK
			out FIN,ACK
			in ACK`,
		Deviations: []Deviation{{
			ID:    "time-wait-60s",
			RFC:   "RFC 9293 §3.4.2 and §3.6 (TIME-WAIT lasts 2MSL, MSL = 2 minutes)",
			Table: "TIME-WAIT lasts 2MSL, 4 minutes with the RFC's MSL (the 2MSL timer row)",
			Linux: "TIME-WAIT lasts TCP_TIMEWAIT_LEN = 60 s whatever the MSL, not configurable",
		}},
		run: func(e *env) error {
			c, k, err := e.ourClient()
			if err != nil {
				return err
			}
			e.kernelCall(spec.Close, "close()")
			k.Close()
			e.step("the kernel closed", spec.CloseWait, spec.FinWait2)
			c.Close()
			e.step("we closed", spec.Closed, spec.TimeWait)
			_, s := e.kernelState()
			if s == nil || s.Timer != 3 {
				return fmt.Errorf("the kernel's TIME-WAIT socket has no TIME-WAIT timer: %+v", s)
			}
			if s.When <= 30*time.Second || s.When > 60*time.Second {
				return fmt.Errorf("the kernel's TIME-WAIT timer has %v left, want just under 60 s", s.When)
			}
			e.evidence("time-wait-60s", fmt.Sprintf("/proc/net/tcp shows the kernel's TIME-WAIT timer (tr=3) with %v left just after it began; 2MSL would be 4m0s", s.When))
			return nil
		},
	},
	{
		Name:    "simultaneous-close",
		Summary: "both close at once (both FINs held, then released together): both pass CLOSING into TIME-WAIT",
		Exchange: `in SYN
			out SYN,ACK
			in ACK
			out FIN,ACK
			in FIN,ACK
			out ACK
			in ACK`,
		run: func(e *env) error {
			c, k, err := e.kernelClient()
			if err != nil {
				return err
			}
			e.link.SetFilter(func(p impl.TUNPacket) impl.Verdict { return impl.Verdict{Hold: hasFIN(p)} })
			c.Close()
			e.kernelCall(spec.Close, "shutdown(SHUT_WR)")
			k.CloseWrite()
			if err := e.waitHeld(2); err != nil {
				return err
			}
			e.step("both FINs held", spec.FinWait1, spec.FinWait1)
			e.link.SetFilter(func(p impl.TUNPacket) impl.Verdict { return impl.Verdict{Hold: isPureACK(p)} })
			e.link.Release(hasFIN)
			if err := e.waitHeld(2); err != nil {
				return err
			}
			e.step("FINs crossed; both ACKs held", spec.Closing, spec.Closing)
			e.link.SetFilter(nil)
			e.link.Release(nil)
			e.step("ACKs released", spec.TimeWait, spec.TimeWait)
			return nil
		},
	},
	{
		Name:    "simultaneous-open",
		Summary: "the kernel connects from a bound port to ours while we connect to it (both SYNs held, then crossed): both pass SYN-RECEIVED into ESTABLISHED",
		Exchange: `out SYN
			in SYN
			out SYN,ACK
			in SYN,ACK
			out ACK
			in ACK?
			out RST`,
		run: func(e *env) error {
			isSYN := func(p impl.TUNPacket) bool { return p.Header.Flags&^spec.PSH == spec.SYN }
			e.link.SetFilter(func(p impl.TUNPacket) impl.Verdict { return impl.Verdict{Hold: isSYN(p)} })
			type res struct {
				c   *impl.Conn
				err error
			}
			ours := make(chan res, 1)
			go func() { c, err := e.ourDial(); ours <- res{c, err} }()
			if err := e.waitHeld(1); err != nil {
				return err
			}
			ourEnd := e.link.Held()[0].Src
			e.kernelCall(spec.ActiveOpen, "connect() from a bound port")
			kern := make(chan error, 1)
			go func() {
				d := net.Dialer{LocalAddr: net.TCPAddrFromAddrPort(e.kernelAddr()), Timeout: ioWait}
				k, err := d.Dial("tcp4", ourEnd.String())
				if err == nil {
					e.onClose(func() { k.Close() })
				}
				kern <- err
			}()
			if err := e.waitHeld(2); err != nil {
				return err
			}
			e.step("both SYNs held", spec.SynSent, spec.SynSent)
			e.link.SetFilter(func(p impl.TUNPacket) impl.Verdict {
				return impl.Verdict{Hold: p.Header.Flags&^spec.PSH == spec.SYN|spec.ACK}
			})
			e.link.Release(isSYN)
			if err := e.waitHeld(2); err != nil {
				return err
			}
			e.step("SYNs crossed; both SYN,ACKs held", spec.SynReceived, spec.SynReceived)
			e.link.SetFilter(nil)
			e.link.Release(nil)
			e.step("SYN,ACKs crossed", spec.Established, spec.Established)
			r := <-ours
			if r.err != nil {
				return fmt.Errorf("our dial: %v", r.err)
			}
			if err := <-kern; err != nil {
				return fmt.Errorf("kernel connect: %v", err)
			}
			r.c.Abort()
			e.step("we aborted", spec.Closed, spec.Closed)
			return nil
		},
	},
	{
		Name:    "abort-by-us",
		Summary: "we abort an established connection: our RST resets the kernel's socket (ECONNRESET)",
		Exchange: `in SYN
			out SYN,ACK
			in ACK
			out RST`,
		run: func(e *env) error {
			c, k, err := e.kernelClient()
			if err != nil {
				return err
			}
			c.Abort()
			e.step("we aborted", spec.Closed, spec.Closed)
			k.SetReadDeadline(time.Now().Add(ioWait))
			if _, err := k.Read(make([]byte, 1)); !errors.Is(err, syscall.ECONNRESET) {
				return fmt.Errorf("kernel read after our RST: %v, want ECONNRESET", err)
			}
			return nil
		},
	},
	{
		Name:    "abort-by-kernel",
		Summary: "the kernel aborts (close with SO_LINGER 0): its RST resets our connection",
		Exchange: `out SYN
			in SYN,ACK
			out ACK
			in RST,ACK`,
		Deviations: []Deviation{{
			ID:    "abort-rst-carries-ack",
			RFC:   "RFC 9293 §3.10.5 (ABORT in a synchronized state sends <SEQ=SND.NXT><CTL=RST>)",
			Table: "ABORT sends a bare RST at SND.NXT (the send RST action)",
			Linux: "the reset of an aborted connection is RST,ACK with the ACK field at RCV.NXT; receivers treat it the same",
		}},
		run: func(e *env) error {
			c, k, err := e.ourClient()
			if err != nil {
				return err
			}
			k.SetLinger(0)
			e.kernelCall(spec.Abort, "close() with SO_LINGER 0")
			k.Close()
			e.step("the kernel aborted", spec.Closed, spec.Closed)
			c.SetReadDeadline(time.Now().Add(ioWait))
			if _, err := c.Read(make([]byte, 1)); !errors.Is(err, impl.ErrConnReset) {
				return fmt.Errorf("our read after the kernel's RST: %v, want %v", err, impl.ErrConnReset)
			}
			if rst, ok := e.packet(func(p impl.TUNPacket) bool { return p.Dir == impl.Inbound && p.Header.Flags.Has(spec.RST) }); ok &&
				rst.Header.Flags.Has(spec.ACK) {
				e.evidence("abort-rst-carries-ack", fmt.Sprintf("the kernel's reset was %s seq=%d ack=%d", rst.Header.Flags,
					uint32(rst.Header.Seq), uint32(rst.Header.Ack)))
			}
			return nil
		},
	},
	{
		Name:     "refused-by-kernel",
		Summary:  "we connect to a kernel port nobody listens on: the kernel answers RST,ACK and our dial is refused",
		Exchange: "out SYN\nin RST,ACK",
		run: func(e *env) error {
			_, err := e.ourDial()
			if !errors.Is(err, impl.ErrConnRefused) {
				return fmt.Errorf("our dial: %v, want %v", err, impl.ErrConnRefused)
			}
			e.step("refused", spec.Closed, spec.Closed)
			return nil
		},
	},
	{
		Name:     "refused-by-us",
		Summary:  "the kernel connects to a port of ours nobody listens on: we answer RST,ACK and its connect fails with ECONNREFUSED",
		Exchange: "in SYN\nout RST,ACK",
		run: func(e *env) error {
			if _, err := e.kernelDial(); !errors.Is(err, syscall.ECONNREFUSED) {
				return fmt.Errorf("kernel connect: %v, want ECONNREFUSED", err)
			}
			e.step("refused", spec.Closed, spec.Closed)
			return nil
		},
	},
	{
		Name:    "synack-retransmit",
		Summary: "our ACK of the handshake is dropped: the kernel stays SYN-RECEIVED and retransmits SYN,ACK; our (challenge) ACK completes it",
		Exchange: `out SYN
			in SYN,ACK
			out ACK dropped
			in SYN,ACK
			out ACK
			out RST`,
		retransmissions: true,
		run: func(e *env) error {
			l, err := e.kernelListen()
			if err != nil {
				return err
			}
			e.link.SetFilter(dropFirst(isPureACK))
			c, err := e.ourDial()
			if err != nil {
				return err
			}
			e.step("our ACK dropped", spec.Established, spec.SynReceived)
			if err := e.waitPacket("the kernel's second SYN,ACK", func(p impl.TUNPacket) bool {
				return p.Dir == impl.Inbound && p.Header.Flags&^spec.PSH == spec.SYN|spec.ACK && p.ID > 2
			}); err != nil {
				return err
			}
			e.step("the kernel retransmitted its SYN,ACK", spec.Established, spec.Established)
			if _, err = e.kernelAccept(l); err != nil {
				return err
			}
			c.Abort()
			e.step("we aborted", spec.Closed, spec.Closed)
			return nil
		},
	},
	{
		Name:    "fin-retransmit",
		Summary: "our ACK of the kernel's FIN is dropped: the kernel retransmits the FIN from LAST-ACK and we re-ACK it from TIME-WAIT",
		Exchange: `out SYN
			in SYN,ACK
			out ACK
			out FIN,ACK+
			in ACK+
			in FIN,ACK
			out ACK dropped
			in FIN,ACK
			out ACK`,
		retransmissions: true,
		run: func(e *env) error {
			c, k, err := e.ourClient()
			if err != nil {
				return err
			}
			c.Close()
			e.step("we closed", spec.FinWait2, spec.CloseWait)
			e.link.SetFilter(dropFirst(func(p impl.TUNPacket) bool { return p.Dir == impl.Outbound && isPureACK(p) }))
			e.kernelCall(spec.Close, "close()")
			k.Close()
			e.step("the kernel closed; our ACK dropped", spec.TimeWait, spec.LastAck)
			e.step("the kernel retransmitted its FIN; we re-ACKed", spec.TimeWait, spec.Closed)
			return nil
		},
	},
	{
		Name:    "time-wait-reack",
		Summary: "the kernel's ACK of our FIN is dropped: we retransmit the FIN from LAST-ACK and the kernel re-ACKs it from TIME-WAIT",
		Exchange: `in SYN
			out SYN,ACK
			in ACK
			in FIN,ACK
			out ACK
			out FIN,ACK
			in ACK dropped
			out FIN,ACK
			in ACK`,
		retransmissions: true,
		run: func(e *env) error {
			c, k, err := e.kernelClient()
			if err != nil {
				return err
			}
			e.kernelCall(spec.Close, "close()")
			k.Close()
			e.step("the kernel closed", spec.CloseWait, spec.FinWait2)
			e.link.SetFilter(dropFirst(func(p impl.TUNPacket) bool { return p.Dir == impl.Inbound && isPureACK(p) }))
			c.Close()
			e.step("we closed; the kernel's ACK dropped", spec.LastAck, spec.TimeWait)
			e.step("we retransmitted our FIN; the kernel re-ACKed", spec.Closed, spec.TimeWait)
			return nil
		},
	},
	{
		Name:    "challenge-ack",
		Summary: "a RST from our address inside the kernel's window but not at RCV.NXT: the kernel answers with a challenge ACK and stays ESTABLISHED (RFC 5961 §3.2)",
		Exchange: `in SYN
			out SYN,ACK
			in ACK
			out RST injected
			in ACK
			out RST`,
		retransmissions: true, // the challenge ACK repeats the handshake's ACK
		run: func(e *env) error {
			c, _, err := e.kernelClient()
			if err != nil {
				return err
			}
			seq := e.sndNxt() + 1000
			h := wire.Header{SrcPort: e.ourAddr().Port(), DstPort: e.kernelEnd().Port(), Seq: seq, Flags: spec.RST}
			if err := e.link.Inject(kernelIP, h, nil); err != nil {
				return err
			}
			if err := e.waitPacket("the kernel's challenge ACK", func(p impl.TUNPacket) bool {
				return p.Dir == impl.Inbound && isPureACK(p) && p.ID > 4
			}); err != nil {
				return err
			}
			e.step("RST in window: challenge ACK", spec.Established, spec.Established)
			c.Abort()
			e.step("we aborted", spec.Closed, spec.Closed)
			return nil
		},
	},
	{
		Name:    "rst-in-time-wait",
		Summary: "a RST at RCV.NXT reaches the kernel's TIME-WAIT: Linux deletes it, where the table ignores it (RFC 1337)",
		Exchange: `in SYN
			out SYN,ACK
			in ACK
			in FIN,ACK
			out ACK
			out FIN,ACK
			in ACK
			out RST injected`,
		Deviations: []Deviation{{
			ID:    "rst-kills-time-wait",
			RFC:   "RFC 1337 §3 (the table's TIME-WAIT + rcv RST row; RFC 9293 §3.10.7.4 itself would close)",
			Table: "a RST in TIME-WAIT is ignored, so an old duplicate RST cannot assassinate TIME-WAIT",
			Linux: "with the default net.ipv4.tcp_rfc1337 = 0 the RST deletes the TIME-WAIT socket at once",
		}},
		run: func(e *env) error {
			c, k, err := e.kernelClient()
			if err != nil {
				return err
			}
			e.kernelCall(spec.Close, "close()")
			k.Close()
			e.step("the kernel closed", spec.CloseWait, spec.FinWait2)
			c.Close()
			e.step("we closed", spec.Closed, spec.TimeWait)
			h := wire.Header{SrcPort: e.ourAddr().Port(), DstPort: e.kernelEnd().Port(), Seq: e.kernelRcvNxt(), Flags: spec.RST}
			if err := e.link.Inject(kernelIP, h, nil); err != nil {
				return err
			}
			sysctl, _ := os.ReadFile("/proc/sys/net/ipv4/tcp_rfc1337")
			e.note("net.ipv4.tcp_rfc1337 = %s", strings.TrimSpace(string(sysctl)))
			e.deviate("RST at RCV.NXT in TIME-WAIT", spec.Closed, spec.Closed, spec.TimeWait, "rst-kills-time-wait")
			return nil
		},
	},
	{
		Name:    "close-with-unread-data",
		Summary: "the kernel closes a socket whose received data was never read: Linux sends RST,ACK instead of FIN",
		Exchange: `in SYN
			out SYN,ACK
			in ACK
			out ACK text
			in ACK?
			in RST,ACK`,
		Deviations: []Deviation{{
			ID:    "rst-on-close-with-unread-data",
			RFC:   "RFC 9293 §3.10.4 (CLOSE in ESTABLISHED sends FIN and enters FIN-WAIT-1)",
			Table: "CLOSE sends FIN after the queued text and the closer enters FIN-WAIT-1",
			Linux: "close() with unread received data sends RST,ACK and drops the connection (as RFC 1122 §4.2.2.13 and RFC 2525 §2.17 allow)",
		}},
		run: func(e *env) error {
			c, k, err := e.kernelClient()
			if err != nil {
				return err
			}
			if _, err := c.Write(fromUs); err != nil {
				return err
			}
			want := e.sndNxt()
			if err := e.waitPacket("the kernel's ACK of our text", func(p impl.TUNPacket) bool {
				return p.Dir == impl.Inbound && p.Header.Flags.Has(spec.ACK) && p.Header.Ack == want
			}); err != nil {
				// A delayed ACK may be merged into the RST below: go on.
				e.note("no separate ACK of our text from the kernel")
			}
			e.kernelCall(spec.Close, "close() with unread data")
			k.Close()
			e.deviate("the kernel closed with unread data", spec.Closed, spec.Closed, spec.FinWait1, "rst-on-close-with-unread-data")
			return nil
		},
	},
	{
		Name:    "data-with-loss",
		Summary: "128 KiB each way at once while the link drops 5% of data and ACK segments at random: both streams arrive intact",
		rtoMin:  200 * time.Millisecond,
		run: func(e *env) error {
			c, k, err := e.kernelClient()
			if err != nil {
				return err
			}
			rng := rand.New(rand.NewPCG(6, 9))
			e.link.SetFilter(func(p impl.TUNPacket) impl.Verdict {
				if p.Header.Flags&(spec.SYN|spec.FIN|spec.RST) == 0 && rng.Float64() < 0.05 {
					return impl.Verdict{Drop: true}
				}
				return impl.Pass
			})
			const n = 128 << 10
			up, down := pattern(1, n), pattern(2, n)
			errs := make(chan error, 4)
			go func() { _, err := c.Write(up); errs <- err }()
			go func() { errs <- e.kernelWriteQuiet(k, down) }()
			go func() { errs <- kernelRead(k, up) }()
			go func() { errs <- ourRead(c, down) }()
			for range 4 {
				if err := <-errs; err != nil {
					return err
				}
			}
			e.link.SetFilter(nil)
			st := e.link.Stats()
			if st.Dropped == 0 {
				return errors.New("the filter dropped nothing: the scenario tested no loss")
			}
			e.note("both ways intact: sha256 %x and %x; the link dropped %d segments", sha256.Sum256(up), sha256.Sum256(down), st.Dropped)
			e.step("transfers done", spec.Established, spec.Established)
			e.kernelCall(spec.Close, "close()")
			k.Close()
			e.step("the kernel closed", spec.CloseWait, spec.FinWait2)
			c.Close()
			e.step("we closed", spec.Closed, spec.TimeWait)
			return nil
		},
	},
}

// kernelWriteQuiet writes on the kernel socket, logging one user call.
func (e *env) kernelWriteQuiet(k *net.TCPConn, p []byte) error {
	return e.kernelWrite(k, p)
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
