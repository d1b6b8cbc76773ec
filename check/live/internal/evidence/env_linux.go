//go:build linux

package evidence

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/tcpcheck/tcpcheck/check/live/kernel"
	"github.com/tcpcheck/tcpcheck/impl"
	"github.com/tcpcheck/tcpcheck/spec"
)

// ioWait bounds every blocking call of a run.
const ioWait = 10 * time.Second

func sh(args ...string) error {
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("evidence: %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

func uname() string {
	var u syscall.Utsname
	if err := syscall.Uname(&u); err != nil {
		return ""
	}
	var b []byte
	for _, c := range u.Release {
		if c == 0 {
			break
		}
		b = append(b, byte(c))
	}
	return string(b)
}

// private refuses to run outside a private network namespace.
func private() error {
	if !impl.InPrivateNetns() {
		return errors.New("evidence: live runs must run in a private network namespace (impl.ReexecInPrivateNetns); run them with go test ./check/live/internal/evidence as root")
	}
	return nil
}

// loopback brings lo up with both addresses, for runs of Linux against
// itself, and starts a capture on it.
func loopback() (*capture, error) {
	if err := private(); err != nil {
		return nil, err
	}
	for _, args := range [][]string{
		{"ip", "link", "set", "lo", "up"},
		{"ip", "addr", "add", clientIP.String() + "/32", "dev", "lo"},
		{"ip", "addr", "add", serverIP.String() + "/32", "dev", "lo"},
	} {
		if err := sh(args...); err != nil {
			return nil, err
		}
	}
	return startCapture("lo")
}

// ours is tcpcheck's endpoint on a TUN device facing the kernel, which
// owns 192.0.2.1; the endpoint is 192.0.2.2.
type ours struct {
	tl    *impl.TUNLink
	stack *impl.Stack
	cap   *capture
	mu    sync.Mutex
	trans []impl.Transition
	notes []Note // the capture's marks, set by close
}

// openOurs opens the TUN link and the endpoint. delay, when positive,
// holds every packet that long in each direction (a link with a round
// trip of twice delay).
func openOurs(opt impl.Options, delay time.Duration) (*ours, error) {
	if err := private(); err != nil {
		return nil, err
	}
	if err := sh("ip", "link", "set", "lo", "up"); err != nil {
		return nil, err
	}
	tl, err := impl.OpenTUN(impl.TUNConfig{Kernel: netip.PrefixFrom(clientIP, 24), Local: serverIP})
	if err != nil {
		return nil, err
	}
	if delay > 0 {
		tl.SetFilter(func(impl.TUNPacket) impl.Verdict { return impl.Verdict{Delay: delay} })
	}
	o := &ours{tl: tl}
	opt.Tracer.Transition = func(t impl.Transition) {
		o.mu.Lock()
		o.trans = append(o.trans, t)
		o.mu.Unlock()
	}
	if o.cap, err = startCapture(tl.Name()); err != nil {
		tl.Close()
		return nil, err
	}
	if o.stack, err = impl.NewStack(tl, opt); err != nil {
		o.cap.finish()
		tl.Close()
		return nil, err
	}
	return o, nil
}

// close ends the capture, then the endpoint (whose Close resets what is
// left, TIME-WAIT included: that is not part of any run).
func (o *ours) close() []Seg {
	segs := o.cap.finish()
	o.notes = o.cap.notes()
	o.stack.Close()
	o.tl.Close()
	return segs
}

// transitions returns what the endpoint's connections did so far.
func (o *ours) transitions() []impl.Transition {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]impl.Transition(nil), o.trans...)
}

// states counts our connections by state.
func (o *ours) states() map[spec.State]int {
	n := map[spec.State]int{}
	for _, c := range o.stack.Connections() {
		n[c.State]++
	}
	return n
}

// waitOurs waits until pred holds of our connections.
func (o *ours) waitOurs(d time.Duration, pred func(map[spec.State]int) bool) bool {
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		if pred(o.states()) {
			return true
		}
		time.Sleep(5 * time.Millisecond)
	}
	return pred(o.states())
}

// kernelStates counts the kernel's sockets whose local address is ip, by
// state.
func kernelStates(ip netip.Addr) (map[spec.State]int, error) {
	socks, err := kernel.ReadSockets()
	if err != nil {
		return nil, err
	}
	n := map[spec.State]int{}
	for _, s := range socks {
		if s.Local.Addr() == ip {
			n[s.State]++
		}
	}
	return n, nil
}

// waitKernel waits until pred holds of the kernel's sockets on ip.
func waitKernel(ip netip.Addr, d time.Duration, pred func(map[spec.State]int) bool) (map[spec.State]int, error) {
	end := time.Now().Add(d)
	for {
		n, err := kernelStates(ip)
		if err != nil || pred(n) || time.Now().After(end) {
			return n, err
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// dialer is a kernel socket dialer from the client address.
func dialer() *net.Dialer {
	return &net.Dialer{LocalAddr: &net.TCPAddr{IP: clientIP.AsSlice()}, Timeout: ioWait}
}

// acceptOne accepts one connection on l within ioWait.
func acceptOne(l *impl.Listener) (*impl.Conn, error) {
	type res struct {
		c   *impl.Conn
		err error
	}
	ch := make(chan res, 1)
	go func() { c, err := l.AcceptConn(); ch <- res{c, err} }()
	select {
	case r := <-ch:
		return r.c, r.err
	case <-time.After(ioWait):
		return nil, errors.New("evidence: our listener accepted nothing")
	}
}

// ourDial dials from the endpoint within ioWait.
func (o *ours) dial(addr string) (*impl.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), ioWait)
	defer cancel()
	return o.stack.Dial(ctx, addr)
}

// kernelStatesList names each kernel socket as "LOCAL-IP STATE".
func kernelStatesList() ([]string, error) {
	socks, err := kernel.ReadSockets()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, s := range socks {
		if s.State == spec.Listen {
			continue
		}
		out = append(out, s.Local.Addr().String()+" "+s.State.String())
	}
	return out, nil
}

// timeWaitLeft is the longest TIME-WAIT timer of the sockets on ip.
func timeWaitLeft(ip netip.Addr) (time.Duration, error) {
	if _, err := waitKernel(ip, ioWait, func(n map[spec.State]int) bool { return n[spec.TimeWait] > 0 }); err != nil {
		return 0, err
	}
	socks, err := kernel.ReadSockets()
	if err != nil {
		return 0, err
	}
	var left time.Duration
	found := false
	for _, s := range socks {
		if s.Local.Addr() == ip && s.State == spec.TimeWait && s.Timer == 3 {
			left, found = max(left, s.When), true
		}
	}
	if !found {
		return 0, errors.New("evidence: no TIME-WAIT socket")
	}
	return left, nil
}
