package impl

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tcpcheck/tcpcheck/spec"
)

// tunInNetns re-runs the calling test in a private network namespace (the
// test binary re-executes itself with -test.run naming the test) and
// reports whether the caller is that child and should go on. Without root
// or /dev/net/tun it skips, or fails when CI is "true".
func tunInNetns(t *testing.T) bool {
	t.Helper()
	if InPrivateNetns() {
		return true
	}
	if err := TUNAvailable(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true and %v", err)
		}
		t.Skipf("skipping: %v", err)
	}
	var out bytes.Buffer
	code, err := ReexecInPrivateNetns([]string{"-test.run=^" + t.Name() + "$", "-test.v", "-test.count=1", "-test.timeout=2m"}, nil, &out, &out)
	if err != nil {
		t.Fatal(err)
	}
	if code != 0 || !strings.Contains(out.String(), "--- PASS: "+t.Name()) {
		t.Fatalf("in a private network namespace (exit %d):\n%s", code, out.String())
	}
	return false
}

func tunStack(t *testing.T, cfg TUNConfig) (*TUNLink, *Stack) {
	t.Helper()
	link, err := OpenTUN(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewStack(link, Options{MSL: 50 * time.Millisecond, RTOMin: 20 * time.Millisecond, RTOInitial: 100 * time.Millisecond})
	if err != nil {
		link.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return link, s
}

// TestTUNRefusesInitialNetns checks that the link will not configure a
// device in the namespace of PID 1.
func TestTUNRefusesInitialNetns(t *testing.T) {
	if InPrivateNetns() {
		t.Skip("in a private namespace")
	}
	if err := TUNAvailable(); err != nil {
		t.Skipf("skipping: %v", err)
	}
	dev, err := os.ReadFile("/proc/self/net/dev")
	if err != nil || !strings.Contains(string(dev), "eth") {
		t.Skip("this namespace has no ethN interface to protect")
	}
	_, err = OpenTUN(TUNConfig{Name: "tcpcheckx"})
	if err == nil || !strings.Contains(err.Error(), "refusing") {
		t.Fatalf("OpenTUN in the initial namespace: %v, want a refusal", err)
	}
}

func TestTUNConfigChecked(t *testing.T) {
	for _, c := range []TUNConfig{
		{Kernel: netip.MustParsePrefix("10.0.0.1/24")},
		{Local: netip.MustParseAddr("198.51.100.2")},
		{Local: netip.MustParseAddr("192.0.2.1")},
		{Name: strings.Repeat("x", 20)},
		{MTU: 100},
		{Faults: Faults{Loss: 2}},
	} {
		if _, err := OpenTUN(c); err == nil || !strings.HasPrefix(err.Error(), "impl: ") {
			t.Errorf("OpenTUN(%+v): %v, want an impl error", c, err)
		}
	}
}

// TestTUNKernelEcho has a kernel client talk to our listener and our
// client talk to a kernel listener, both with data both ways, over the
// TUN device, and checks the link ignored nothing it should not have.
func TestTUNKernelEcho(t *testing.T) {
	if !tunInNetns(t) {
		return
	}
	link, s := tunStack(t, TUNConfig{})
	l, err := s.Listen(":7")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := l.AcceptConn()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	msg := bytes.Repeat([]byte("tcpcheck over tun "), 5000)
	kc, err := net.Dial("tcp4", "192.0.2.2:7")
	if err != nil {
		t.Fatal(err)
	}
	var got []byte
	var rerr error
	var wg sync.WaitGroup
	wg.Go(func() { got, rerr = io.ReadAll(kc) })
	if _, err := kc.Write(msg); err != nil {
		t.Fatal(err)
	}
	kc.(*net.TCPConn).CloseWrite()
	wg.Wait()
	kc.Close()
	if rerr != nil || !bytes.Equal(got, msg) {
		t.Fatalf("kernel client echo: %d of %d octets, %v", len(got), len(msg), rerr)
	}

	// Our client, kernel listener.
	kl, err := net.Listen("tcp4", "192.0.2.1:9")
	if err != nil {
		t.Fatal(err)
	}
	defer kl.Close()
	go func() {
		c, err := kl.Accept()
		if err != nil {
			return
		}
		io.Copy(c, c)
		c.Close()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := s.Dial(ctx, "192.0.2.1:9")
	if err != nil {
		t.Fatal(err)
	}
	wg.Go(func() { got, rerr = io.ReadAll(c) })
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	c.CloseWrite()
	wg.Wait()
	c.Close()
	if rerr != nil || !bytes.Equal(got, msg) {
		t.Fatalf("our client echo: %d of %d octets, %v", len(got), len(msg), rerr)
	}
	st := link.Stats()
	if st.Malformed != 0 || st.NotOurs != 0 || st.WriteErrs != 0 || s.Stats().Malformed != 0 {
		t.Errorf("link stats %+v, stack stats %+v", st, s.Stats())
	}
	t.Logf("link stats %+v", st)
}

// TestTUNHoldRelease holds the kernel's SYN,ACK, checks our side waits in
// SYN-SENT, and releases it.
func TestTUNHoldRelease(t *testing.T) {
	if !tunInNetns(t) {
		return
	}
	link, s := tunStack(t, TUNConfig{})
	var mu sync.Mutex
	var fates []string
	link.SetTap(func(p TUNPacket, f Fate) {
		if f == FateSent {
			return
		}
		mu.Lock()
		fates = append(fates, p.Dir.String()+" "+p.Header.Flags.String()+" "+f.String())
		mu.Unlock()
	})
	link.SetFilter(func(p TUNPacket) Verdict {
		if p.Dir == Inbound && p.Header.Flags == spec.SYN|spec.ACK {
			return Verdict{Hold: true}
		}
		return Pass
	})
	kl, err := net.Listen("tcp4", "192.0.2.1:10")
	if err != nil {
		t.Fatal(err)
	}
	defer kl.Close()
	c, err := s.connect(netip.MustParseAddrPort("192.0.2.1:10"))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(budget(5 * time.Second))
	for len(link.Held()) == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if h := link.Held(); len(h) != 1 || c.State() != spec.SynSent {
		t.Fatalf("held %v, state %v", h, c.State())
	}
	link.SetFilter(nil)
	if n := link.Release(nil); n != 1 {
		t.Fatalf("released %d", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), budget(5*time.Second))
	defer cancel()
	if err := c.waitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	// Dial may return while the stack is still sending the ACK that
	// completed the handshake (impl/flush.go): wait for its fate.
	want := []string{"out SYN delivered", "in SYN,ACK held", "in SYN,ACK delivered", "out ACK delivered"}
	for {
		mu.Lock()
		n := len(fates)
		mu.Unlock()
		if n >= len(want) || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(fates) < len(want) || strings.Join(fates[:len(want)], "|") != strings.Join(want, "|") {
		t.Fatalf("fates %q, want %q first", fates, want)
	}
}

// TestTUNIgnoresNonTCP sends the link UDP over IPv4 and, when the ip tool
// can give the device an IPv6 address, UDP over IPv6: both are counted and
// ignored, and TCP still works after them.
func TestTUNIgnoresNonTCP(t *testing.T) {
	if !tunInNetns(t) {
		return
	}
	link, s := tunStack(t, TUNConfig{})
	u, err := net.Dial("udp4", "192.0.2.2:9")
	if err != nil {
		t.Fatal(err)
	}
	u.Write([]byte("not tcp"))
	u.Close()
	want6 := false
	if _, err := exec.LookPath("ip"); err == nil {
		if out, err := exec.Command("ip", "-6", "addr", "add", "2001:db8::1/64", "dev", link.Name(), "nodad").CombinedOutput(); err == nil {
			if u6, err := net.Dial("udp6", "[2001:db8::2]:9"); err == nil {
				u6.Write([]byte("not ipv4"))
				u6.Close()
				want6 = true
			}
		} else {
			t.Logf("no IPv6 on the device: %v %s", err, out)
		}
	}
	deadline := time.Now().Add(budget(5 * time.Second))
	for time.Now().Before(deadline) {
		st := link.Stats()
		if st.NonTCP >= 1 && (!want6 || st.IPv6 >= 1) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	st := link.Stats()
	if st.NonTCP < 1 || want6 && st.IPv6 < 1 || st.In != 0 {
		t.Fatalf("stats %+v: want the UDP packets counted and nothing delivered", st)
	}
	l, err := s.Listen(":7")
	if err != nil {
		t.Fatal(err)
	}
	go l.AcceptConn()
	c, err := net.Dial("tcp4", "192.0.2.2:7")
	if err != nil {
		t.Fatalf("TCP after the ignored packets: %v", err)
	}
	c.Close()
	if s.Stats().Malformed != 0 || link.Stats().Malformed != 0 {
		t.Errorf("malformed: stack %+v link %+v", s.Stats(), link.Stats())
	}
}

// TestTUNDelay delays the kernel's SYN,ACK: the tap sees it held, then
// delivered, and the connection completes.
func TestTUNDelay(t *testing.T) {
	if !tunInNetns(t) {
		return
	}
	link, s := tunStack(t, TUNConfig{})
	var mu sync.Mutex
	var fates []Fate
	link.SetTap(func(p TUNPacket, f Fate) {
		if p.Dir == Inbound && p.Header.Flags == spec.SYN|spec.ACK {
			mu.Lock()
			fates = append(fates, f)
			mu.Unlock()
		}
	})
	link.SetFilter(func(p TUNPacket) Verdict {
		if p.Dir == Inbound && p.Header.Flags == spec.SYN|spec.ACK {
			return Verdict{Delay: 20 * time.Millisecond}
		}
		return Pass
	})
	kl, err := net.Listen("tcp4", "192.0.2.1:11")
	if err != nil {
		t.Fatal(err)
	}
	defer kl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), budget(5*time.Second))
	defer cancel()
	if _, err := s.Dial(ctx, "192.0.2.1:11"); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(fates) != 3 || fates[0] != FateSent || fates[1] != FateHeld || fates[2] != FateDelivered {
		t.Fatalf("fates of the SYN,ACK %v, want sent, held, delivered", fates)
	}
}
