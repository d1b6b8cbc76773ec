//go:build linux

package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"path"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/tcpcheck/tcpcheck/impl"
	"github.com/tcpcheck/tcpcheck/impl/wire"
	"github.com/tcpcheck/tcpcheck/spec"
)

func init() {
	register(&command{
		name:    "serve",
		summary: "serve the files of a directory over HTTP/1.1 (keep-alive, Content-Length) on the reference endpoint",
		usage:   "--http DIR [--link udp|tun] [--netns NAME] [flags] [ADDR]",
		setup: func(fs *flag.FlagSet) func(args []string, stdout, stderr io.Writer) error {
			var f serveFlags
			fs.StringVar(&f.dir, "http", "", "serve the files under this `directory` (GET and HEAD only)")
			fs.StringVar(&f.link, "link", "udp", "link carrying the segments: udp (TCP in UDP datagrams) or tun (real IPv4 to the Linux kernel, in --netns; the default when --netns is given)")
			fs.StringVar(&f.netns, "netns", "", "with --link tun: the network namespace `name` (made with 'ip netns add NAME') to create the TUN device in; clients run there with 'ip netns exec NAME ...'")
			fs.DurationVar(&f.idle, "idle", 5*time.Second, "close a keep-alive connection after this long without a request")
			fs.DurationVar(&f.msl, "msl", time.Second, "maximum segment lifetime; TIME-WAIT lasts 2*MSL")
			fs.StringVar(&f.pcap, "pcap", "", "write every segment sent and received to this pcap `file`")
			return func(args []string, stdout, stderr io.Writer) error {
				if len(args) > 1 {
					return usagef("want at most one address to listen on, such as 192.0.2.2:80")
				}
				if len(args) == 1 {
					f.addr = args[0]
				}
				ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
				defer stop()
				// --netns names where curl will run: it means the tun
				// link, unless --link says otherwise.
				if f.netns != "" && !flagsGiven(fs)["link"] {
					f.link = "tun"
				}
				return serve(ctx, f, stderr)
			}
		},
	})
}

type serveFlags struct {
	dir, link, netns, addr, pcap string
	idle, msl                    time.Duration
}

// serve runs the HTTP server until ctx is done (SIGINT or SIGTERM), then
// shuts down gracefully: idle connections are closed with FIN, and the
// stack waits (a bounded time) for them to finish closing before it goes
// away.
func serve(ctx context.Context, f serveFlags, stderr io.Writer) error {
	if f.dir == "" {
		return usagef("--http DIR is required: the directory whose files to serve")
	}
	if st, err := os.Stat(f.dir); err != nil || !st.IsDir() {
		return flagError("http", f.dir, "not a directory", "give the directory whose files to serve")
	}
	err := firstError(
		oneOf("link", f.link, "udp", "tun"),
		inRange("idle", f.idle, time.Millisecond, time.Hour, "e.g. 5s"),
		inRange("msl", f.msl, time.Millisecond, time.Hour, "TIME-WAIT lasts 2*MSL; e.g. 1s"),
		outputFile("pcap", f.pcap),
	)
	if err != nil {
		return err
	}
	root, err := os.OpenRoot(f.dir)
	if err != nil {
		return fmt.Errorf("--http %q: %v", f.dir, err)
	}
	defer root.Close()
	var link impl.Link
	switch f.link {
	case "udp":
		if f.netns != "" {
			return usagef("--netns goes with --link tun")
		}
		if f.addr == "" {
			f.addr = "127.0.0.1:8080"
		}
		ul, err := impl.NewUDPLink(f.addr, impl.Faults{}, 1)
		if err != nil {
			return err
		}
		// The connection's address is the datagram socket's, the port the
		// kernel chose when ADDR asked for any (port 0).
		link, f.addr = ul, ul.LocalAddr().String()
	case "tun":
		if f.netns == "" {
			return usagef("--link tun needs --netns NAME (make it with 'ip netns add NAME'), so that clients can reach the server with 'ip netns exec NAME ...'")
		}
		if f.addr == "" {
			f.addr = "192.0.2.2:80"
		}
		ap, err := netip.ParseAddrPort(f.addr)
		if err != nil {
			return usagef("address %q: %v (want 192.0.2.x:port)", f.addr, err)
		}
		tl, err := impl.OpenTUN(impl.TUNConfig{Netns: f.netns, Local: ap.Addr()})
		if err != nil {
			return &exitError{code: exitUsage, msg: err.Error()}
		}
		link = tl
		defer func() { fmt.Fprintf(stderr, "tun link: %+v\n", tl.Stats()) }()
	}
	opt := impl.Options{MSL: f.msl}
	var pcapF *pendingFile
	var pcapW *bufio.Writer
	// closePcap flushes the capture and puts it in place (keep: the server
	// ran) or removes it (it never started: the path keeps what it held),
	// errors included; every way out of serve after this point calls it.
	closePcap := func(keep bool) error { return pcapF.finish(pcapW, keep) }
	if pcapF, err = createOutput("pcap", f.pcap); err != nil {
		link.Close()
		return err
	}
	if pcapF != nil {
		pcapW = bufio.NewWriter(pcapF)
		if opt.Pcap, err = wire.NewPcapWriter(pcapW); err != nil {
			link.Close()
			return errors.Join(err, closePcap(false))
		}
	}
	stack, err := impl.NewStack(link, opt)
	if err != nil {
		link.Close()
		return errors.Join(err, closePcap(false))
	}
	l, err := stack.Listen(f.addr)
	if err != nil {
		stack.Close()
		return errors.Join(err, closePcap(false))
	}
	var logMu sync.Mutex
	logf := func(format string, args ...any) {
		logMu.Lock()
		defer logMu.Unlock()
		fmt.Fprintf(stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05.000")}, args...)...)
	}
	srv := &http.Server{
		Handler:           logRequests(fileHandler{root}, logf),
		IdleTimeout:       f.idle,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(stderr, "http: ", 0),
		ConnState: func(c net.Conn, st http.ConnState) {
			if st == http.StateNew || st == http.StateClosed {
				logf("conn %v %s", c.RemoteAddr(), strings.ToLower(st.String()))
			}
		},
	}
	f.addr = l.Addr().String() // on tun, the port bound when ADDR asked for any (port 0)
	where := f.link
	if f.netns != "" {
		where += " in netns " + f.netns
	}
	logf("serving %s on http://%s (link %s)", f.dir, f.addr, where)
	logMu.Lock()
	fmt.Fprint(stderr, reachHint(f, firstFile(root)))
	logMu.Unlock()
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	select {
	case err = <-done:
	case <-ctx.Done():
		logf("shutting down")
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err = srv.Shutdown(sctx)
		cancel()
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	// Let closing connections finish (LAST-ACK, FIN retransmissions)
	// rather than reset them; TIME-WAIT need not be waited out.
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && closing(stack) {
		time.Sleep(10 * time.Millisecond)
	}
	stack.Close()
	return errors.Join(err, closePcap(true))
}

// reachHint says how to reach the server: over the udp link only tcpcheck
// speaks the protocol (TCP inside UDP datagrams), so curl cannot; over
// tun, curl runs in the namespace.
func reachHint(f serveFlags, file string) string {
	if f.link == "tun" {
		return fmt.Sprintf("reach it from the namespace, e.g.:\n  ip netns exec %s curl http://%s/%s\n", f.netns, f.addr, file)
	}
	return fmt.Sprintf("the udp link carries TCP inside UDP datagrams, which curl and browsers do not speak; fetch a file with:\n"+
		"  printf 'GET /%s HTTP/1.0\\r\\n\\r\\n' | tcpcheck dial %s\n"+
		"(for curl, run serve as root with --netns NAME after 'ip netns add NAME': the tun link, in that namespace)\n", file, f.addr)
}

// firstFile names a regular file at the top of root for the hint's
// example ("" when there is none: the example fetches /).
func firstFile(root *os.Root) string {
	d, err := root.Open(".")
	if err != nil {
		return ""
	}
	defer d.Close()
	entries, err := d.ReadDir(-1)
	if err != nil {
		return ""
	}
	best := ""
	for _, e := range entries {
		if e.Type().IsRegular() && !strings.HasPrefix(e.Name(), ".") && !strings.ContainsAny(e.Name(), " '\\%?#") {
			if e.Name() == "index.html" {
				return ""
			}
			if best == "" || e.Name() < best {
				best = e.Name()
			}
		}
	}
	return best
}

// closing reports whether a connection is still on its way to CLOSED
// with something left to send or acknowledge.
func closing(s *impl.Stack) bool {
	for _, c := range s.Connections() {
		switch c.State {
		case spec.Listen, spec.TimeWait, spec.Closed:
		default:
			return true
		}
	}
	return false
}

// fileHandler serves regular files under root: GET and HEAD only (405
// otherwise), index.html for a directory, 404 for anything missing or
// outside the root (os.Root refuses to follow ".." or symlinks out of it),
// Content-Length framing and ranges by http.ServeContent.
type fileHandler struct{ root *os.Root }

func (h fileHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "405 method not allowed: only GET and HEAD", http.StatusMethodNotAllowed)
		return
	}
	p := r.URL.Path
	if !strings.HasPrefix(p, "/") || strings.ContainsRune(p, 0) || strings.Contains(p, "\\") {
		http.Error(w, "400 bad request: bad path", http.StatusBadRequest)
		return
	}
	name := strings.TrimPrefix(path.Clean(p), "/")
	if name == "" {
		name = "."
	}
	fi, err := h.root.Stat(name)
	if err == nil && fi.IsDir() {
		name = path.Join(name, "index.html")
		fi, err = h.root.Stat(name)
	}
	if err != nil || !fi.Mode().IsRegular() {
		http.NotFound(w, r)
		return
	}
	file, err := h.root.Open(name)
	if err != nil {
		if errors.Is(err, fs.ErrPermission) {
			http.Error(w, "403 forbidden", http.StatusForbidden)
			return
		}
		http.NotFound(w, r)
		return
	}
	defer file.Close()
	http.ServeContent(w, r, name, fi.ModTime(), file)
}

// statusWriter remembers the status and the octets of a response.
type statusWriter struct {
	http.ResponseWriter
	code int
	n    int64
}

func (w *statusWriter) WriteHeader(code int) { w.code = code; w.ResponseWriter.WriteHeader(code) }

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.n += int64(n)
	return n, err
}

func logRequests(h http.Handler, logf func(string, ...any)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		if sw.code == 0 {
			sw.code = http.StatusOK
		}
		logf("%s %s %s -> %d, %d octets (conn %s)", r.Method, r.URL.Path, r.Proto, sw.code, sw.n, r.RemoteAddr)
	})
}
