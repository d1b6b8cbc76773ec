//go:build linux

package evidence

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/tcpcheck/tcpcheck/impl"
	"github.com/tcpcheck/tcpcheck/spec"
)

func init() {
	makers["handshake-linux"] = handshakeLinux
	makers["handshake-ours"] = handshakeOurs
	makers["http-keepalive"] = func() (*Record, error) { return httpRun("http-keepalive") }
	makers["http-connection-close"] = func() (*Record, error) { return httpRun("http-connection-close") }
	makers["http-idle"] = func() (*Record, error) { return httpRun("http-idle") }
	makers["keepalive-linux"] = keepaliveLinux
	makers["hundred-clients"] = hundredClients
	makers["time-wait-reuse"] = timeWaitReuse
	makers["states-50ms"] = states50ms
	makers["states-loopback"] = statesLoopback
	makers["killed-client-fin"] = func() (*Record, error) { return killedClient(false) }
	makers["killed-client-rst"] = func() (*Record, error) { return killedClient(true) }
	makers["long-short-linux"] = longShortLinux
	makers["half-close-linux"] = halfClose
	makers["states-held"] = statesHeld
}

const repeatLive = "go test ./check/live/internal/evidence -run 'TestLive/^%s$' -v"

func liveRecord(name, stack, comment string) *Record {
	return &Record{Name: name, Stack: stack, Kernel: uname(), Comment: comment, Repeat: fmt.Sprintf(repeatLive, name),
		Names: map[string]string{clientIP.String(): "client", serverIP.String(): "server"}}
}

// handshakeLinux: Linux connects to Linux; the options of the SYN, the
// SYN,ACK and the data segments.
func handshakeLinux() (*Record, error) {
	c, err := loopback()
	if err != nil {
		return nil, err
	}
	r := liveRecord("handshake-linux", "Linux against Linux on lo",
		"A kernel socket at 192.0.2.1 connects to a kernel listener at 192.0.2.2:80, sends 6 octets, and closes; the server reads them and closes.")
	err = func() error {
		l, err := net.Listen("tcp4", serverIP.String()+":80")
		if err != nil {
			return err
		}
		defer l.Close()
		k, err := dialer().Dial("tcp4", serverIP.String()+":80")
		if err != nil {
			return err
		}
		s, err := l.Accept()
		if err != nil {
			return err
		}
		if _, err := k.Write([]byte("hello\n")); err != nil {
			return err
		}
		buf := make([]byte, 6)
		s.SetReadDeadline(time.Now().Add(ioWait))
		if _, err := io.ReadFull(s, buf); err != nil {
			return err
		}
		k.Close()
		s.Close()
		c.waitFor(0, ioWait, both(from(serverIP), flags("FIN")))
		time.Sleep(50 * time.Millisecond)
		return nil
	}()
	r.Segments = c.finish()
	r.Notes = append(r.Notes, c.notes()...)
	if err != nil {
		return nil, err
	}
	optionFacts(r)
	return r, nil
}

// optionFacts names the header length and options of the SYN, the
// SYN,ACK, the third segment and the first data segment.
func optionFacts(r *Record) {
	for _, k := range []struct {
		name string
		pred func(Seg) bool
	}{
		{"SYN", func(s Seg) bool { return s.is("SYN") }},
		{"SYN,ACK", func(s Seg) bool { return s.is("SYN,ACK") }},
		{"third segment (ACK)", func(s Seg) bool { return s.is("ACK") && s.Len == 0 }},
		{"first data segment", func(s Seg) bool { return s.Len > 0 }},
	} {
		if i := first(r.Segments, k.pred); i >= 0 {
			s := r.Segments[i]
			opts := s.OptionText()
			if opts == "" {
				opts = "none"
			}
			r.fact(k.name+" from "+r.Names[s.Src.Addr().String()]+": header octets", "%d", s.HdrLen)
			r.fact(k.name+" from "+r.Names[s.Src.Addr().String()]+": options", "%s", opts)
		}
	}
}

// handshakeOurs: tcpcheck's endpoint connects to a Linux listener.
func handshakeOurs() (*Record, error) {
	o, err := openOurs(impl.Options{MSL: 500 * time.Millisecond}, 0)
	if err != nil {
		return nil, err
	}
	r := liveRecord("handshake-ours", "tcpcheck's endpoint (192.0.2.2) against Linux (192.0.2.1) on a TUN device",
		"tcpcheck's endpoint at 192.0.2.2 connects to a kernel listener at 192.0.2.1:80, sends 6 octets and closes; Linux reads them and closes.")
	r.Names = map[string]string{clientIP.String(): "Linux", serverIP.String(): "tcpcheck"}
	err = func() error {
		l, err := net.Listen("tcp4", clientIP.String()+":80")
		if err != nil {
			return err
		}
		defer l.Close()
		c, err := o.dial(clientIP.String() + ":80")
		if err != nil {
			return err
		}
		k, err := l.Accept()
		if err != nil {
			return err
		}
		if _, err := c.Write([]byte("hello\n")); err != nil {
			return err
		}
		buf := make([]byte, 6)
		k.SetReadDeadline(time.Now().Add(ioWait))
		if _, err := io.ReadFull(k, buf); err != nil {
			return err
		}
		c.Close()
		k.Close()
		o.cap.waitFor(0, ioWait, both(from(clientIP), flags("FIN")))
		time.Sleep(50 * time.Millisecond)
		return nil
	}()
	r.Segments = o.close()
	r.Notes = append(r.Notes, o.notes...)
	if err != nil {
		return nil, err
	}
	optionFacts(r)
	return r, nil
}

// files are what the HTTP runs serve, with Content-Length framing.
var files = map[string][]byte{
	"/a": bytes.Repeat([]byte("a"), 1000),
	"/b": bytes.Repeat([]byte("b"), 3000),
	"/c": bytes.Repeat([]byte("c"), 200),
}

type fileServer struct{}

func (fileServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, ok := files[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Set("Content-Length", fmt.Sprint(len(body)))
	w.Write(body)
}

// httpIdle is the server's keep-alive idle timeout in the HTTP runs.
const httpIdle = time.Second

// httpRun serves HTTP/1.1 on tcpcheck's endpoint (as tcpcheck serve
// --link tun does) and fetches files from Linux: three with curl over one
// connection (curl ends it by exiting), one with "Connection: close", or
// one by a client that keeps the connection open past the idle timeout.
func httpRun(name string) (*Record, error) {
	if _, err := exec.LookPath("curl"); err != nil && name == "http-keepalive" {
		return nil, errors.New("evidence: the HTTP runs need curl (apt-get install curl)")
	}
	o, err := openOurs(impl.Options{MSL: 2 * time.Second}, 0)
	if err != nil {
		return nil, err
	}
	l, err := o.stack.Listen(serverIP.String() + ":80")
	if err != nil {
		o.close()
		return nil, err
	}
	srv := &http.Server{Handler: fileServer{}, IdleTimeout: httpIdle, ReadHeaderTimeout: ioWait}
	go srv.Serve(l)
	url := "http://" + serverIP.String()
	r := liveRecord(name, "Linux (client, 192.0.2.1) against tcpcheck's endpoint serving HTTP/1.1 (server, 192.0.2.2) on a TUN device", "")
	var run func() error
	switch name {
	case "http-keepalive":
		r.Comment = fmt.Sprintf("`curl -s -o /dev/null -o /dev/null -o /dev/null %s/a %s/b %s/c` in the namespace, against tcpcheck's endpoint serving HTTP/1.1 with Content-Length (idle timeout %s, as `tcpcheck serve --link tun --idle 1s` does); curl exits when the third response is complete.", url, url, url, httpIdle)
		run = func() error {
			out, err := exec.Command("curl", "-s", "-o", "/dev/null", "-o", "/dev/null", "-o", "/dev/null", url+"/a", url+"/b", url+"/c").CombinedOutput()
			if err != nil {
				return fmt.Errorf("evidence: curl: %v: %s", err, out)
			}
			return nil
		}
	case "http-connection-close":
		r.Comment = "A client (a kernel socket) sends `GET /a` with `Connection: close` and reads until the end of the stream before it closes (curl closes as soon as it has the body, so with curl the two FINs race)."
		run = func() error {
			k, err := dialer().Dial("tcp4", serverIP.String()+":80")
			if err != nil {
				return err
			}
			defer k.Close()
			k.SetDeadline(time.Now().Add(ioWait))
			if _, err := io.WriteString(k, "GET /a HTTP/1.1\r\nHost: 192.0.2.2\r\nConnection: close\r\n\r\n"); err != nil {
				return err
			}
			all, err := io.ReadAll(k)
			if err != nil {
				return err
			}
			o.cap.mark("the client has read %d octets and end of stream; it closes", len(all))
			return nil
		}
	case "http-idle":
		r.Comment = fmt.Sprintf("A client (a kernel socket) sends one request for /a, reads the response to its Content-Length, and then waits without a second request; the server's idle timeout is %s.", httpIdle)
		run = func() error {
			k, err := dialer().Dial("tcp4", serverIP.String()+":80")
			if err != nil {
				return err
			}
			defer k.Close()
			k.SetDeadline(time.Now().Add(ioWait))
			if _, err := io.WriteString(k, "GET /a HTTP/1.1\r\nHost: 192.0.2.2\r\n\r\n"); err != nil {
				return err
			}
			br := bufio.NewReader(k)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				return err
			}
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				return err
			}
			got := time.Now()
			o.cap.mark("the client has read %d octets of body (Content-Length %d) and sends nothing more", len(body), resp.ContentLength)
			if _, err := br.ReadByte(); err != io.EOF {
				return fmt.Errorf("evidence: the client read %v after the idle timeout, not end of stream", err)
			}
			r.fact("the client waited for the server's FIN (ms)", "%d", time.Since(got).Milliseconds())
			return nil
		}
	}
	err = run()
	if err == nil {
		// Both sides are done when one is in TIME-WAIT and the other
		// CLOSED.
		_, err = waitKernel(clientIP, ioWait, func(n map[spec.State]int) bool {
			return n[spec.Established]+n[spec.FinWait1]+n[spec.FinWait2]+n[spec.CloseWait]+n[spec.LastAck]+n[spec.Closing] == 0
		})
		o.waitOurs(ioWait, func(n map[spec.State]int) bool {
			return n[spec.Established]+n[spec.FinWait1]+n[spec.FinWait2]+n[spec.CloseWait]+n[spec.LastAck]+n[spec.Closing] == 0
		})
	}
	kn, kerr := kernelStates(clientIP)
	on := o.states()
	srv.Close()
	r.Segments = o.close()
	r.Notes = append(r.Notes, o.notes...)
	if err == nil {
		err = kerr
	}
	if err != nil {
		return nil, err
	}
	segs := r.Segments
	r.fact("connections opened (SYNs from the client)", "%d", count(segs, func(s Seg) bool { return s.is("SYN") }))
	r.fact("requests (segments starting \"GET \")", "%d", count(segs, func(s Seg) bool { return strings.HasPrefix(s.Text, "GET ") }))
	r.fact("responses (segments starting \"HTTP/1.1 \")", "%d", count(segs, func(s Seg) bool { return strings.HasPrefix(s.Text, "HTTP/1.1 ") }))
	// The octets of each response: the server's text between two
	// requests.
	var sizes []string
	n := -1
	for _, s := range segs {
		switch {
		case strings.HasPrefix(s.Text, "GET "):
			if n >= 0 {
				sizes = append(sizes, fmt.Sprint(n))
			}
			n = 0
		case s.Src.Addr() == serverIP && n >= 0:
			n += s.Len
		}
	}
	if n >= 0 {
		sizes = append(sizes, fmt.Sprint(n))
	}
	r.fact("octets of each response (header and body)", "%s", strings.Join(sizes, ", "))
	if i := first(segs, flags("FIN")); i >= 0 {
		r.fact("first FIN from", "%s", r.Names[segs[i].Src.Addr().String()])
		if i > 0 {
			r.fact("first FIN after the segment before it (ms)", "%d", (segs[i].T - segs[i-1].T).Milliseconds())
		}
	}
	r.fact("client sockets in TIME-WAIT at the end (Linux, /proc/net/tcp)", "%d", kn[spec.TimeWait])
	r.fact("server connections in TIME-WAIT at the end (tcpcheck)", "%d", on[spec.TimeWait])
	return r, nil
}

// keepaliveLinux: a kernel socket with SO_KEEPALIVE (idle 1 s, interval
// 1 s, 3 probes) connected to tcpcheck's endpoint; the endpoint answers
// the probes; then the link drops everything the endpoint sends and the
// kernel gives up.
func keepaliveLinux() (*Record, error) {
	o, err := openOurs(impl.Options{MSL: 500 * time.Millisecond}, 0)
	if err != nil {
		return nil, err
	}
	r := liveRecord("keepalive-linux", "Linux (client, 192.0.2.1, SO_KEEPALIVE) against tcpcheck's endpoint (server, 192.0.2.2) on a TUN device",
		"A kernel socket with SO_KEEPALIVE, TCP_KEEPIDLE 1 s, TCP_KEEPINTVL 1 s and TCP_KEEPCNT 3 connects to tcpcheck's endpoint, sends one line and stays idle; after 3.5 s the link starts dropping everything the endpoint sends.")
	l, err := o.stack.Listen(serverIP.String() + ":80")
	if err != nil {
		o.close()
		return nil, err
	}
	var readErr error
	var silentFor time.Duration
	err = func() error {
		d := dialer()
		d.KeepAliveConfig = net.KeepAliveConfig{Enable: true, Idle: time.Second, Interval: time.Second, Count: 3}
		k, err := d.Dial("tcp4", serverIP.String()+":80")
		if err != nil {
			return err
		}
		defer k.Close()
		c, err := acceptOne(l)
		if err != nil {
			return err
		}
		defer c.Abort()
		if _, err := k.Write([]byte("hello\n")); err != nil {
			return err
		}
		buf := make([]byte, 6)
		c.SetReadDeadline(time.Now().Add(ioWait))
		if _, err := io.ReadFull(c, buf); err != nil {
			return err
		}
		time.Sleep(3500 * time.Millisecond)
		o.cap.mark("from here the link drops every segment from tcpcheck's endpoint")
		o.tl.SetFilter(func(p impl.TUNPacket) impl.Verdict {
			return impl.Verdict{Drop: p.Src.Addr() == serverIP}
		})
		silent := time.Now()
		k.SetReadDeadline(time.Now().Add(ioWait))
		_, readErr = k.Read(buf)
		silentFor = time.Since(silent)
		time.Sleep(100 * time.Millisecond)
		return nil
	}()
	r.Segments = o.close()
	r.Notes = append(r.Notes, o.notes...)
	if err != nil {
		return nil, err
	}
	segs := r.Segments
	probes, answered := 0, 0
	for i, s := range segs {
		if s.Src.Addr() == clientIP && s.is("ACK") && s.Len <= 1 && i > 0 {
			// A probe repeats the last octet already acknowledged:
			// SEG.SEQ = SND.NXT - 1 (RFC 1122 §4.2.3.6).
			if s.Seq+1 == highestAck(segs[:i], serverIP) {
				probes++
				for _, t := range segs[i+1:] {
					if t.Src.Addr() == serverIP && t.is("ACK") {
						answered++
						break
					}
					if t.Src.Addr() == clientIP {
						break
					}
				}
			}
		}
	}
	r.fact("keepalive probes from Linux (ACK, no text, SEG.SEQ = SND.NXT-1)", "%d", probes)
	r.fact("probes answered by tcpcheck's ACK", "%d", answered)
	r.fact("the client's read after the link went silent", "%v", errText(readErr))
	r.fact("time from silence to the error (ms)", "%d", silentFor.Milliseconds())
	r.fact("RST from Linux when it gave up", "%d", count(segs, both(from(clientIP), flags("RST"))))
	for _, k := range []string{"tcp_keepalive_time", "tcp_keepalive_intvl", "tcp_keepalive_probes"} {
		v, err := os.ReadFile("/proc/sys/net/ipv4/" + k)
		if err != nil {
			return nil, fmt.Errorf("evidence: %v", err)
		}
		r.fact("Linux's default net.ipv4."+k+" (for sockets that do not set their own)", "%s", strings.TrimSpace(string(v)))
	}
	return r, nil
}

// highestAck is the highest (relative) acknowledgment the host at ip has
// sent among segs.
func highestAck(segs []Seg, ip interface{ String() string }) uint32 {
	var h uint32
	for _, s := range segs {
		if s.Src.Addr().String() == ip.String() && s.has("ACK") && s.Ack > h {
			h = s.Ack
		}
	}
	return h
}

func errText(err error) string {
	switch {
	case err == nil:
		return "no error"
	case errors.Is(err, syscall.ETIMEDOUT):
		return "ETIMEDOUT (connection timed out)"
	case errors.Is(err, syscall.ECONNRESET):
		return "ECONNRESET (connection reset)"
	case errors.Is(err, impl.ErrConnReset):
		return "connection reset (impl.ErrConnReset)"
	case errors.Is(err, io.EOF):
		return "end of stream"
	}
	return err.Error()
}

// hundredClients: 100 kernel sockets connect to one kernel listener.
func hundredClients() (*Record, error) {
	c, err := loopback()
	if err != nil {
		return nil, err
	}
	r := liveRecord("hundred-clients", "Linux against Linux on lo",
		"100 kernel sockets at 192.0.2.1 connect, one after the other, to one kernel listener at 192.0.2.2:80, and each sends one line; then the server's /proc/net/tcp is read.")
	r.Show = 9
	const n = 100
	var conns []net.Conn
	err = func() error {
		l, err := net.Listen("tcp4", serverIP.String()+":80")
		if err != nil {
			return err
		}
		defer l.Close()
		for i := 0; i < n; i++ {
			k, err := dialer().Dial("tcp4", serverIP.String()+":80")
			if err != nil {
				return err
			}
			conns = append(conns, k)
			s, err := l.Accept()
			if err != nil {
				return err
			}
			conns = append(conns, s)
		}
		for i := 0; i < len(conns); i += 2 {
			if _, err := fmt.Fprintf(conns[i], "client %d\n", i/2+1); err != nil {
				return err
			}
		}
		for end := time.Now().Add(ioWait); c.count() < 5*n && time.Now().Before(end); {
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(50 * time.Millisecond)
		socks, err := kernelStates(serverIP)
		if err != nil {
			return err
		}
		r.fact("server sockets ESTABLISHED", "%d", socks[spec.Established])
		r.fact("server sockets LISTEN", "%d", socks[spec.Listen])
		ports := map[int]bool{}
		for i := 0; i < len(conns); i += 2 {
			ports[conns[i].LocalAddr().(*net.TCPAddr).Port] = true
		}
		r.fact("distinct client ports (so distinct 4-tuples)", "%d", len(ports))
		r.fact("4-tuple of connection 1", "%s", tuple(conns[0]))
		r.fact("4-tuple of connection 2", "%s", tuple(conns[2]))
		r.fact("4-tuple of connection 100", "%s", tuple(conns[2*n-2]))
		return nil
	}()
	for _, k := range conns {
		k.(*net.TCPConn).SetLinger(0)
		k.Close()
	}
	r.Segments = c.finish()
	r.Notes = append(r.Notes, c.notes()...)
	if err != nil {
		return nil, err
	}
	r.fact("SYNs seen", "%d", count(r.Segments, func(s Seg) bool { return s.is("SYN") }))
	return r, nil
}

func tuple(c net.Conn) string {
	return fmt.Sprintf("(%s, %s)", c.LocalAddr(), c.RemoteAddr())
}

// timeWaitReuse: the server closes first, so its side of the 4-tuple is
// in TIME-WAIT; the client connects again from the same port.
func timeWaitReuse() (*Record, error) {
	c, err := loopback()
	if err != nil {
		return nil, err
	}
	r := liveRecord("time-wait-reuse", "Linux against Linux on lo",
		"A connection from 192.0.2.1 to 192.0.2.2:80 is closed by the server first, so the server's side of the 4-tuple sits in TIME-WAIT; the client then connects again from the same port.")
	err = func() error {
		l, err := net.Listen("tcp4", serverIP.String()+":80")
		if err != nil {
			return err
		}
		defer l.Close()
		k, err := dialer().Dial("tcp4", serverIP.String()+":80")
		if err != nil {
			return err
		}
		port := k.LocalAddr().(*net.TCPAddr).Port
		s, err := l.Accept()
		if err != nil {
			return err
		}
		s.Close()
		buf := make([]byte, 1)
		k.SetReadDeadline(time.Now().Add(ioWait))
		if _, err := k.Read(buf); err != io.EOF {
			return fmt.Errorf("evidence: the client read %v, not end of stream", err)
		}
		k.Close()
		socks, err := waitKernel(serverIP, ioWait, func(n map[spec.State]int) bool { return n[spec.TimeWait] == 1 })
		if err != nil {
			return err
		}
		r.fact("server sockets in TIME-WAIT before the new SYN", "%d", socks[spec.TimeWait])
		c.mark("the server's side is in TIME-WAIT; the client connects again from port %d", port)
		d := dialer()
		d.LocalAddr = &net.TCPAddr{IP: clientIP.AsSlice(), Port: port}
		k2, err := d.Dial("tcp4", serverIP.String()+":80")
		if err != nil {
			r.fact("the second connect from the same port", "%s", errText(err))
			return nil
		}
		defer k2.Close()
		s2, err := l.Accept()
		if err != nil {
			return err
		}
		defer s2.Close()
		r.fact("the second connect from the same port", "succeeded: %s", tuple(k2))
		socks, err = kernelStates(serverIP)
		if err != nil {
			return err
		}
		r.fact("server sockets in TIME-WAIT after it", "%d", socks[spec.TimeWait])
		r.fact("server sockets ESTABLISHED after it", "%d", socks[spec.Established])
		time.Sleep(50 * time.Millisecond)
		return nil
	}()
	r.Segments = c.finish()
	r.Notes = append(r.Notes, c.notes()...)
	if err != nil {
		return nil, err
	}
	return r, nil
}

// stateSpan is how long a socket was seen in a state.
type stateSpan struct {
	first, last time.Time
	polls       int
}

// pollKernel reads /proc/net/tcp every millisecond until stop is closed
// and returns, per (local address, state), when it was seen.
func pollKernel(stop chan struct{}) <-chan map[string]*stateSpan {
	out := make(chan map[string]*stateSpan, 1)
	go func() {
		seen := map[string]*stateSpan{}
		for {
			select {
			case <-stop:
				out <- seen
				return
			default:
			}
			socks, _ := kernelStatesList()
			now := time.Now()
			for _, k := range socks {
				sp := seen[k]
				if sp == nil {
					sp = &stateSpan{first: now}
					seen[k] = sp
				}
				sp.last = now
				sp.polls++
			}
			time.Sleep(time.Millisecond)
		}
	}()
	return out
}

// statesLoopback: Linux against Linux on lo; which states a poll of
// /proc/net/tcp every millisecond (what ss and netstat read) ever sees.
func statesLoopback() (*Record, error) {
	c, err := loopback()
	if err != nil {
		return nil, err
	}
	r := liveRecord("states-loopback", "Linux against Linux on lo",
		"A kernel client connects to a kernel server, sends a line, gets a line back and closes; the server closes after it. Meanwhile /proc/net/tcp (what ss and netstat read) is read every millisecond.")
	stop := make(chan struct{})
	polls := pollKernel(stop)
	err = func() error {
		l, err := net.Listen("tcp4", serverIP.String()+":80")
		if err != nil {
			return err
		}
		defer l.Close()
		time.Sleep(20 * time.Millisecond)
		k, err := dialer().Dial("tcp4", serverIP.String()+":80")
		if err != nil {
			return err
		}
		s, err := l.Accept()
		if err != nil {
			return err
		}
		k.Write([]byte("ping\n"))
		buf := make([]byte, 5)
		s.SetReadDeadline(time.Now().Add(ioWait))
		io.ReadFull(s, buf)
		s.Write([]byte("pong\n"))
		k.SetReadDeadline(time.Now().Add(ioWait))
		io.ReadFull(k, buf)
		k.Close()
		s.SetReadDeadline(time.Now().Add(ioWait))
		if _, err := s.Read(buf); err != io.EOF {
			return fmt.Errorf("evidence: the server read %v, not end of stream", err)
		}
		s.Close()
		c.waitAfterFIN(serverIP, clientIP, ioWait)
		time.Sleep(30 * time.Millisecond)
		return nil
	}()
	close(stop)
	seen := <-polls
	r.Segments = c.finish()
	r.Notes = append(r.Notes, c.notes()...)
	if err != nil {
		return nil, err
	}
	stateFacts(r, seen, []struct {
		who string
		ip  string
		st  spec.State
	}{
		{"server", serverIP.String(), spec.SynReceived},
		{"client", clientIP.String(), spec.SynSent},
		{"client", clientIP.String(), spec.FinWait1},
		{"client", clientIP.String(), spec.FinWait2},
		{"server", serverIP.String(), spec.CloseWait},
		{"server", serverIP.String(), spec.LastAck},
		{"client", clientIP.String(), spec.TimeWait},
	})
	if tw, err := timeWaitLeft(clientIP); err == nil {
		r.fact("client's TIME-WAIT timer when the run ended (s)", "%.0f", tw.Seconds())
	}
	return r, nil
}

func stateFacts(r *Record, seen map[string]*stateSpan, want []struct {
	who string
	ip  string
	st  spec.State
}) {
	for _, w := range want {
		sp := seen[w.ip+" "+w.st.String()]
		if w.st == spec.TimeWait {
			// Seen until the run ended: its timer says more.
			n := 0
			if sp != nil {
				n = sp.polls
			}
			r.fact(w.who+" "+w.st.String()+": polls that saw it", "%d", n)
			continue
		}
		if sp == nil {
			r.fact(w.who+" "+w.st.String()+": polls that saw it", "0")
			continue
		}
		r.fact(w.who+" "+w.st.String()+": polls that saw it", "%d", sp.polls)
		r.fact(w.who+" "+w.st.String()+": seen for (ms)", "%d", sp.last.Sub(sp.first).Milliseconds())
	}
}

// states50ms: Linux's client against tcpcheck's server over a link that
// delays every packet 25 ms each way.
func states50ms() (*Record, error) {
	o, err := openOurs(impl.Options{MSL: 500 * time.Millisecond}, 25*time.Millisecond)
	if err != nil {
		return nil, err
	}
	r := liveRecord("states-50ms", "Linux (client, 192.0.2.1) against tcpcheck's endpoint (server, 192.0.2.2) on a TUN link that delays every packet 25 ms each way",
		"The same exchange as on loopback (a line each way, the client closes first), over a 50 ms round trip. The kernel's states are read from /proc/net/tcp every millisecond; tcpcheck's come from its tracer, to the microsecond.")
	l, err := o.stack.Listen(serverIP.String() + ":80")
	if err != nil {
		o.close()
		return nil, err
	}
	stop := make(chan struct{})
	polls := pollKernel(stop)
	var tw time.Duration
	var twErr error = errors.New("evidence: no TIME-WAIT")
	err = func() error {
		k, err := dialer().Dial("tcp4", serverIP.String()+":80")
		if err != nil {
			return err
		}
		s, err := acceptOne(l)
		if err != nil {
			return err
		}
		k.Write([]byte("ping\n"))
		buf := make([]byte, 5)
		s.SetReadDeadline(time.Now().Add(ioWait))
		io.ReadFull(s, buf)
		s.Write([]byte("pong\n"))
		k.SetReadDeadline(time.Now().Add(ioWait))
		io.ReadFull(k, buf)
		k.Close()
		s.SetReadDeadline(time.Now().Add(ioWait))
		if _, err := s.Read(buf); err != io.EOF {
			return fmt.Errorf("evidence: the server read %v, not end of stream", err)
		}
		s.Close()
		// Read the client's TIME-WAIT timer as soon as it is there: a
		// late segment may still draw a RST from the endpoint that ends
		// it early (Linux honours RST in TIME-WAIT: tcp_rfc1337 is 0).
		tw, twErr = timeWaitLeft(clientIP)
		o.waitOurs(ioWait, func(n map[spec.State]int) bool { return n[spec.LastAck] == 0 && n[spec.CloseWait] == 0 })
		time.Sleep(100 * time.Millisecond)
		return nil
	}()
	close(stop)
	seen := <-polls
	trans := o.transitions()
	r.Segments = o.close()
	r.Notes = append(r.Notes, o.notes...)
	if err != nil {
		return nil, err
	}
	// The kernel's side, from the capture on the TUN device: the kernel's
	// segments are seen as it sends them, ours as they reach it (the
	// link's delay comes before the device), so a span from a segment
	// of the kernel to our answer is how long the kernel waited.
	span := func(start func(Seg) bool, end func(Seg, Seg) bool) (time.Duration, bool) {
		i := first(r.Segments, start)
		if i < 0 {
			return 0, false
		}
		for _, t := range r.Segments[i+1:] {
			if end(r.Segments[i], t) {
				return t.T - r.Segments[i].T, true
			}
		}
		return 0, false
	}
	if d, ok := span(both(from(clientIP), func(s Seg) bool { return s.is("SYN") }),
		func(_, t Seg) bool { return t.Src.Addr() == serverIP && t.is("SYN,ACK") }); ok {
		r.fact("client (Linux) SYN-SENT: lasted (ms), from the capture", "%.1f", float64(d.Microseconds())/1000)
	}
	if d, ok := span(both(from(clientIP), flags("FIN")),
		func(f, t Seg) bool { return t.Src.Addr() == serverIP && t.RawAck == f.RawSeq+uint32(f.Len)+1 }); ok {
		r.fact("client (Linux) FIN-WAIT-1: lasted (ms), from the capture", "%.1f", float64(d.Microseconds())/1000)
	}
	stateFacts(r, seen, []struct {
		who string
		ip  string
		st  spec.State
	}{
		{"client (Linux)", clientIP.String(), spec.SynSent},
		{"client (Linux)", clientIP.String(), spec.FinWait1},
		{"client (Linux)", clientIP.String(), spec.TimeWait},
	})
	// Our side: from entering a state to leaving it.
	enter := map[spec.State]time.Time{}
	for _, t := range trans {
		if t.From == spec.Listen && t.To == spec.Listen {
			continue
		}
		if _, ok := enter[t.To]; !ok && t.To != t.From {
			enter[t.To] = t.Time
		}
		if at, ok := enter[t.From]; ok && t.To != t.From && (t.From == spec.SynReceived || t.From == spec.LastAck) {
			r.fact("server (tcpcheck) "+t.From.String()+": lasted (ms)", "%.1f", float64(t.Time.Sub(at).Microseconds())/1000)
			delete(enter, t.From)
		}
	}
	if twErr == nil {
		r.fact("client's TIME-WAIT timer when the run ended (s)", "%.0f", tw.Seconds())
	}
	return r, nil
}

// killedClient: a shell opens a connection to tcpcheck's endpoint with
// bash's /dev/tcp, sends a line, and is killed with SIGKILL; with unread,
// the endpoint first sends a line the shell never reads.
func killedClient(unread bool) (*Record, error) {
	if _, err := exec.LookPath("bash"); err != nil {
		return nil, errors.New("evidence: the killed-client runs need bash")
	}
	o, err := openOurs(impl.Options{MSL: 500 * time.Millisecond}, 0)
	if err != nil {
		return nil, err
	}
	name := "killed-client-fin"
	comment := "`bash -c 'exec 3<>/dev/tcp/192.0.2.2/80; echo hello >&3; sleep 60'` connects to tcpcheck's endpoint and is killed with SIGKILL once the endpoint has read its line; nothing was left unread."
	if unread {
		name = "killed-client-rst"
		comment = "The same shell, but the endpoint first writes a line that the shell never reads (it sits in the kernel's receive queue); then SIGKILL."
	}
	r := liveRecord(name, "Linux (client, a bash process, 192.0.2.1) against tcpcheck's endpoint (server, 192.0.2.2) on a TUN device", comment)
	l, err := o.stack.Listen(serverIP.String() + ":80")
	if err != nil {
		o.close()
		return nil, err
	}
	var readErr error
	var state spec.State
	err = func() error {
		cmd := exec.Command("bash", "-c", "exec 3<>/dev/tcp/192.0.2.2/80; echo hello >&3; sleep 60")
		if err := cmd.Start(); err != nil {
			return err
		}
		defer cmd.Wait()
		defer cmd.Process.Kill()
		c, err := acceptOne(l)
		if err != nil {
			return err
		}
		buf := make([]byte, 6)
		c.SetReadDeadline(time.Now().Add(ioWait))
		if _, err := io.ReadFull(c, buf); err != nil {
			return err
		}
		if unread {
			n := o.cap.count()
			if _, err := c.Write([]byte("a line the client never reads\n")); err != nil {
				return err
			}
			if !o.cap.waitFor(n, ioWait, both(from(clientIP), flags("ACK"))) {
				return errors.New("evidence: the kernel did not acknowledge our line")
			}
		}
		time.Sleep(20 * time.Millisecond)
		o.cap.mark("kill -9 the bash process")
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			return err
		}
		c.SetReadDeadline(time.Now().Add(ioWait))
		_, readErr = c.Read(buf)
		state = c.State()
		c.Close()
		time.Sleep(50 * time.Millisecond)
		return nil
	}()
	r.Segments = o.close()
	r.Notes = append(r.Notes, o.notes...)
	if err != nil {
		return nil, err
	}
	r.fact("what the killed client's kernel sent", "%s", func() string {
		i := first(r.Segments, both(from(clientIP), func(s Seg) bool { return s.has("FIN") || s.has("RST") }))
		if i < 0 {
			return "nothing"
		}
		return r.Segments[i].Flags
	}())
	r.fact("the server's read", "%s", errText(readErr))
	r.fact("the server's connection state after the read", "%s", state)
	return r, nil
}

// longShortLinux: ten request/response exchanges over one connection,
// then ten over a connection each.
func longShortLinux() (*Record, error) {
	c, err := loopback()
	if err != nil {
		return nil, err
	}
	r := liveRecord("long-short-linux", "Linux against Linux on lo",
		fmt.Sprintf("%d requests of 100 octets, each answered with 1000 octets: first over one persistent connection, then over a new connection per request, which the client closes after its response (the shape of HTTP/1.0 without keep-alive).", nRequests))
	r.Show = 30
	err = func() error {
		l, err := net.Listen("tcp4", serverIP.String()+":80")
		if err != nil {
			return err
		}
		defer l.Close()
		go echoServer(l)
		req := bytes.Repeat([]byte("q"), 100)
		t0 := time.Now()
		k, err := dialer().Dial("tcp4", serverIP.String()+":80")
		if err != nil {
			return err
		}
		buf := make([]byte, 1000)
		for i := 0; i < nRequests; i++ {
			k.SetDeadline(time.Now().Add(ioWait))
			k.Write(req)
			if _, err := io.ReadFull(k, buf); err != nil {
				return err
			}
		}
		k.Close()
		long := time.Since(t0)
		c.waitAfterFIN(serverIP, clientIP, ioWait)
		time.Sleep(20 * time.Millisecond)
		nLong := c.count()
		before, err := waitKernel(clientIP, ioWait, func(n map[spec.State]int) bool { return n[spec.TimeWait] >= 1 })
		if err != nil {
			return err
		}
		c.mark("the short connections start here")
		t1 := time.Now()
		for i := 0; i < nRequests; i++ {
			k, err := dialer().Dial("tcp4", serverIP.String()+":80")
			if err != nil {
				return err
			}
			k.SetDeadline(time.Now().Add(ioWait))
			k.Write(req)
			if _, err := io.ReadFull(k, buf); err != nil {
				return err
			}
			k.Close()
		}
		short := time.Since(t1)
		socks, err := waitKernel(clientIP, ioWait, func(n map[spec.State]int) bool { return n[spec.TimeWait] >= before[spec.TimeWait]+nRequests })
		if err != nil {
			return err
		}
		time.Sleep(20 * time.Millisecond)
		total := c.count()
		r.fact("segments, one persistent connection", "%d", nLong)
		r.fact("segments, a connection per request", "%d", total-nLong)
		r.fact("connections (SYNs), a connection per request", "%d", nRequests)
		r.fact("time, one persistent connection (µs)", "%d", long.Microseconds())
		r.fact("time, a connection per request (µs)", "%d", short.Microseconds())
		r.fact("client sockets in TIME-WAIT after the long connection", "%d", before[spec.TimeWait])
		r.fact("TIME-WAIT entries the short connections added at the client", "%d", socks[spec.TimeWait]-before[spec.TimeWait])
		return nil
	}()
	r.Segments = c.finish()
	r.Notes = append(r.Notes, c.notes()...)
	if err != nil {
		return nil, err
	}
	return r, nil
}

// nRequests is the number of requests of the long-against-short runs.
const nRequests = 10

// echoServer answers every 100 octets read with 1000, on every
// connection, until its peer closes; then it closes.
func echoServer(l net.Listener) {
	for {
		s, err := l.Accept()
		if err != nil {
			return
		}
		go func() {
			defer s.Close()
			buf := make([]byte, 100)
			resp := bytes.Repeat([]byte("r"), 1000)
			for {
				s.SetDeadline(time.Now().Add(ioWait))
				if _, err := io.ReadFull(s, buf); err != nil {
					return
				}
				s.Write(resp)
			}
		}()
	}
}

// halfClose: the client shuts down writing after its request; the server
// reads end of stream, answers from CLOSE-WAIT, then closes. The capture
// is checked against the table as tcpcheck conform --pcap does.
func halfClose() (*Record, error) {
	c, err := loopback()
	if err != nil {
		return nil, err
	}
	r := liveRecord("half-close-linux", "Linux against Linux on lo",
		"A kernel client sends a request and shuts down writing (shutdown(SHUT_WR): its FIN); the kernel server reads the request and end of stream, then writes its answer from CLOSE-WAIT and closes. The capture is kept as check/live/internal/evidence/testdata/half-close-linux.pcap; `tcpcheck conform --pcap` on it gives the verdict below.")
	err = func() error {
		l, err := net.Listen("tcp4", serverIP.String()+":80")
		if err != nil {
			return err
		}
		defer l.Close()
		k, err := dialer().Dial("tcp4", serverIP.String()+":80")
		if err != nil {
			return err
		}
		defer k.Close()
		s, err := l.Accept()
		if err != nil {
			return err
		}
		defer s.Close()
		k.SetDeadline(time.Now().Add(ioWait))
		s.SetDeadline(time.Now().Add(ioWait))
		if _, err := k.Write([]byte("request\n")); err != nil {
			return err
		}
		if err := k.(*net.TCPConn).CloseWrite(); err != nil {
			return err
		}
		req, err := io.ReadAll(s)
		if err != nil {
			return err
		}
		// Let the ACK of the FIN go out on its own before the answer
		// (Linux delays it: the delayed-ACK timer).
		if !c.waitAckOfFIN(clientIP, serverIP, ioWait) {
			return errors.New("evidence: the server did not acknowledge the FIN on its own")
		}
		c.mark("the server has read %q and end of stream (CLOSE-WAIT); it answers", req)
		if _, err := s.Write([]byte("answer after your FIN\n")); err != nil {
			return err
		}
		s.Close()
		resp, err := io.ReadAll(k)
		if err != nil {
			return err
		}
		r.fact("what the client read after its own FIN", "%q", resp)
		c.waitAfterFIN(serverIP, clientIP, ioWait)
		time.Sleep(20 * time.Millisecond)
		return nil
	}()
	r.Segments = c.finish()
	r.Notes = append(r.Notes, c.notes()...)
	if err != nil {
		return nil, err
	}
	// Text the server sent after acknowledging the client's FIN.
	fin := first(r.Segments, both(from(clientIP), flags("FIN")))
	acked := -1
	if fin >= 0 {
		acked = first(r.Segments, func(s Seg) bool {
			return s.Src.Addr() == serverIP && s.Len == 0 && s.RawAck == r.Segments[fin].RawSeq+1
		})
	}
	n := 0
	if acked >= 0 {
		for _, s := range r.Segments[acked+1:] {
			if s.Src.Addr() == serverIP && s.has("FIN") {
				break
			}
			if s.Src.Addr() == serverIP && s.Len > 0 {
				n++
			}
		}
	}
	r.fact("segments from the server between the ACK of the client's FIN and its own FIN, with text", "%d", n)
	r.Pcap = c.pcap()
	facts, err := conformFacts(r.Pcap)
	if err != nil {
		return nil, err
	}
	r.Facts = append(r.Facts, facts...)
	return r, nil
}

// statesHeld: tcpcheck's endpoint connects to a Linux listener and the
// link holds the endpoint's pure ACKs twice, so that ss catches Linux's
// SYN-RECEIVED and FIN-WAIT-1.
func statesHeld() (*Record, error) {
	if _, err := exec.LookPath("ss"); err != nil {
		return nil, errors.New("evidence: the run needs ss (apt-get install iproute2)")
	}
	o, err := openOurs(impl.Options{MSL: 500 * time.Millisecond}, 0)
	if err != nil {
		return nil, err
	}
	r := liveRecord("states-held", "tcpcheck's endpoint (client, 192.0.2.2) against Linux (server, 192.0.2.1) on a TUN device whose filter holds the endpoint's pure ACKs",
		"tcpcheck's endpoint connects to a Linux listener while the link holds the endpoint's pure ACKs, so that the handshake's third segment waits; `ss -tan` runs; the ACK is released. Then Linux closes, the link holds the endpoint's ACK of that FIN, and `ss -tan` runs again.")
	r.Names = map[string]string{clientIP.String(): "Linux", serverIP.String(): "tcpcheck"}
	pureACK := func(p impl.TUNPacket) bool {
		return p.Src.Addr() == serverIP && p.Header.Flags == spec.ACK && p.Len == 0
	}
	hold := func(p impl.TUNPacket) impl.Verdict { return impl.Verdict{Hold: pureACK(p)} }
	pass := func(impl.TUNPacket) impl.Verdict { return impl.Verdict{} }
	ss := func() (string, error) {
		out, err := exec.Command("ss", "-Htan").CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("evidence: ss: %v: %s", err, out)
		}
		var lines []string
		for _, l := range strings.Split(string(out), "\n") {
			if f := strings.Fields(l); len(f) == 5 && f[3] == clientIP.String()+":80" {
				lines = append(lines, f[0]+" "+f[3]+" "+f[4])
			}
		}
		return strings.Join(lines, "; "), nil
	}
	err = func() error {
		l, err := net.Listen("tcp4", clientIP.String()+":80")
		if err != nil {
			return err
		}
		defer l.Close()
		o.tl.SetFilter(hold)
		c, err := o.dial(clientIP.String() + ":80")
		if err != nil {
			return err
		}
		defer c.Abort()
		if !waitHeld(o.tl, 1) {
			return errors.New("evidence: the third segment was not held")
		}
		line, err := ss()
		if err != nil {
			return err
		}
		o.cap.mark("the link holds the third segment; ss -tan shows %s", line)
		r.fact("ss -tan while the third segment is held", "%s", line)
		o.tl.SetFilter(pass)
		o.tl.Release(func(impl.TUNPacket) bool { return true })
		k, err := l.Accept()
		if err != nil {
			return err
		}
		line, err = ss()
		if err != nil {
			return err
		}
		r.fact("ss -tan once it is released", "%s", line)
		o.tl.SetFilter(hold)
		k.Close()
		if !waitHeld(o.tl, 1) {
			return errors.New("evidence: the ACK of Linux's FIN was not held")
		}
		line, err = ss()
		if err != nil {
			return err
		}
		o.cap.mark("the link holds tcpcheck's ACK of Linux's FIN; ss -tan shows %s", line)
		r.fact("ss -tan while the ACK of Linux's FIN is held", "%s", line)
		o.tl.SetFilter(pass)
		o.tl.Release(func(impl.TUNPacket) bool { return true })
		if _, err := waitKernel(clientIP, ioWait, func(n map[spec.State]int) bool { return n[spec.FinWait2] == 1 }); err != nil {
			return err
		}
		line, err = ss()
		if err != nil {
			return err
		}
		r.fact("ss -tan once it is released", "%s", line)
		c.Close()
		if _, err := waitKernel(clientIP, ioWait, func(n map[spec.State]int) bool { return n[spec.TimeWait] == 1 }); err != nil {
			return err
		}
		line, err = ss()
		if err != nil {
			return err
		}
		r.fact("ss -tan after tcpcheck's FIN", "%s", line)
		time.Sleep(50 * time.Millisecond)
		return nil
	}()
	r.Segments = o.close()
	r.Notes = append(r.Notes, o.notes...)
	if err != nil {
		return nil, err
	}
	return r, nil
}

// waitHeld waits until the link holds at least n packets.
func waitHeld(tl *impl.TUNLink, n int) bool {
	for end := time.Now().Add(ioWait); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if len(tl.Held()) >= n {
			return true
		}
	}
	return false
}
