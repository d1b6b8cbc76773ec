//go:build linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tcpcheck/tcpcheck/impl"
	"github.com/tcpcheck/tcpcheck/internal/testenv"
)

func TestFileHandler(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte("page a\n"), 0o644)
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	os.WriteFile(filepath.Join(dir, "sub", "index.html"), []byte("<p>sub</p>"), 0o644)
	os.Mkdir(filepath.Join(dir, "empty"), 0o755)
	outside := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(outside, []byte("secret"), 0o644)
	os.Symlink(outside, filepath.Join(dir, "link"))
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	h := fileHandler{root}
	cases := []struct {
		method, target string
		code           int
		body           string
	}{
		{"GET", "/a.txt", 200, "page a\n"},
		{"HEAD", "/a.txt", 200, ""},
		{"GET", "/sub/", 200, "<p>sub</p>"},
		{"GET", "/empty/", 404, ""},
		{"GET", "/missing", 404, ""},
		{"GET", "/../../etc/passwd", 404, ""},
		{"GET", "/link", 404, ""},
		{"GET", "/a.txt\\..", 400, ""},
		{"POST", "/a.txt", 405, ""},
		{"DELETE", "/a.txt", 405, ""},
	}
	for _, c := range cases {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(c.method, c.target, nil))
		if w.Code != c.code || c.code == 200 && w.Body.String() != c.body {
			t.Errorf("%s %s: %d %q, want %d %q", c.method, c.target, w.Code, w.Body.String(), c.code, c.body)
		}
		if c.code == 405 && w.Header().Get("Allow") != "GET, HEAD" {
			t.Errorf("%s %s: Allow %q", c.method, c.target, w.Header().Get("Allow"))
		}
		if c.method == "HEAD" && w.Header().Get("Content-Length") != "7" {
			t.Errorf("HEAD: Content-Length %q, want 7", w.Header().Get("Content-Length"))
		}
	}
	if code, _, stderr := runCLI(t, "serve", "--link", "tun", "--http", dir); code != exitUsage || !strings.Contains(stderr, "--netns") {
		t.Errorf("serve --link tun without --netns: code %d, %q", code, stderr)
	}
	if code, _, stderr := runCLI(t, "serve", "--http", filepath.Join(dir, "a.txt")); code != exitUsage || !strings.Contains(stderr, "not a directory") {
		t.Errorf("serve --http FILE: code %d, %q", code, stderr)
	}
}

// needTUN skips (or fails under CI=true) when the TUN link cannot run, or
// a tool is missing (named with its Debian package).
func needTUN(t *testing.T, tools ...string) {
	t.Helper()
	skip := func(format string, args ...any) {
		t.Helper()
		testenv.Missing(t, format, args...)
	}
	if err := impl.TUNAvailable(); err != nil {
		skip("%v", err)
	}
	for _, tool := range tools {
		pkg := map[string]string{"ip": "iproute2", "curl": "curl"}[tool]
		if _, err := exec.LookPath(tool); err != nil {
			skip("%s not found (install the Debian package %s)", tool, pkg)
		}
	}
}

// TestServeCurlOverTUN runs tcpcheck serve on a TUN link in a named
// namespace and has curl, in that namespace, fetch two files in one
// invocation: one connection (one SYN), two requests, a graceful close
// (a FIN each way, no RST).
func TestServeCurlOverTUN(t *testing.T) {
	if impl.InPrivateNetns() {
		t.Skip("runs from the host side")
	}
	needTUN(t, "ip", "curl")
	dir := t.TempDir()
	bin := filepath.Join(dir, "tcpcheck")
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if out, err := exec.Command(gobin, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	www := filepath.Join(dir, "www")
	os.Mkdir(www, 0o755)
	pageA := []byte("page a\n")
	pageB := randomPage(3, 200_000)
	os.WriteFile(filepath.Join(www, "a.txt"), pageA, 0o644)
	os.WriteFile(filepath.Join(www, "b.bin"), pageB, 0o644)
	ns := fmt.Sprintf("tcpcheck-test-%d", os.Getpid())
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v %s", err, out)
	}
	defer exec.Command("ip", "netns", "del", ns).Run()
	pcap := filepath.Join(dir, "serve.pcap")
	// --netns alone means the tun link.
	srv := exec.Command(bin, "serve", "--http", www, "--netns", ns, "--pcap", pcap, "192.0.2.2:80")
	stderr, _ := srv.StderrPipe()
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Process.Kill()
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var log []string
	waitLine := func(sub string) {
		t.Helper()
		timeout := time.After(10 * time.Second)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("serve exited before %q:\n%s", sub, strings.Join(log, "\n"))
				}
				log = append(log, l)
				if strings.Contains(l, sub) {
					return
				}
			case <-timeout:
				t.Fatalf("no %q from serve:\n%s", sub, strings.Join(log, "\n"))
			}
		}
	}
	waitLine("serving")
	waitLine("ip netns exec " + ns + " curl http://192.0.2.2:80/a.txt") // the hint
	outA, outB := filepath.Join(dir, "a.out"), filepath.Join(dir, "b.out")
	curl := exec.Command("ip", "netns", "exec", ns, "curl", "-sS", "--fail", "--max-time", "20",
		"http://192.0.2.2/a.txt", "http://192.0.2.2/b.bin", "-o", outA, "-o", outB)
	if out, err := curl.CombinedOutput(); err != nil {
		t.Fatalf("curl: %v\n%s", err, out)
	}
	if got, _ := os.ReadFile(outA); !bytes.Equal(got, pageA) {
		t.Errorf("a.txt: %q", got)
	}
	if got, _ := os.ReadFile(outB); !bytes.Equal(got, pageB) {
		t.Errorf("b.bin: %d octets differ from the %d served", len(got), len(pageB))
	}
	waitLine("closed")
	srv.Process.Signal(syscall.SIGINT)
	for range lines {
	}
	if err := srv.Wait(); err != nil {
		t.Fatalf("serve: %v\n%s", err, strings.Join(log, "\n"))
	}
	var syn, synack, fin, rst, gets int
	for _, p := range readPcap(t, pcap) {
		switch {
		case p.flags&0x04 != 0:
			rst++
		case p.flags&0x12 == 0x02:
			syn++
		case p.flags&0x12 == 0x12:
			synack++
		}
		if p.flags&0x01 != 0 {
			fin++
		}
		if bytes.HasPrefix(p.payload, []byte("GET ")) {
			gets++
		}
	}
	if syn != 1 || synack != 1 || gets != 2 || fin != 2 || rst != 0 {
		t.Errorf("trace: %d SYN, %d SYN,ACK, %d GET, %d FIN, %d RST; want one handshake, two requests, a FIN each way and no RST", syn, synack, gets, fin, rst)
	}
	t.Logf("serve's log:\n%s", strings.Join(log, "\n"))
}

type pcapPacket struct {
	flags   byte
	payload []byte
}

// readPcap reads the TCP/IPv4 packets of a LINKTYPE_RAW pcap file.
func readPcap(t *testing.T, name string) []pcapPacket {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil || len(b) < 24 {
		t.Fatalf("reading %s: %v", name, err)
	}
	var out []pcapPacket
	for off := 24; off+16 <= len(b); {
		n := int(binary.LittleEndian.Uint32(b[off+8:]))
		pkt := b[off+16 : min(off+16+n, len(b))]
		off += 16 + n
		if len(pkt) < 40 || pkt[0]>>4 != 4 {
			continue
		}
		ihl := int(pkt[0]&0xf) * 4
		tcp := pkt[ihl:]
		doff := int(tcp[12]>>4) * 4
		out = append(out, pcapPacket{flags: tcp[13], payload: tcp[doff:]})
	}
	return out
}

func randomPage(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed+1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// TestOurClientFetchesFromNetHTTP has our endpoint, over a TUN link in a
// private namespace, fetch a page from a Go net/http server on a kernel
// socket, twice over one connection, byte for byte.
func TestOurClientFetchesFromNetHTTP(t *testing.T) {
	if !impl.InPrivateNetns() {
		needTUN(t)
		var out bytes.Buffer
		code, err := impl.ReexecInPrivateNetns([]string{"-test.run=^" + t.Name() + "$", "-test.v", "-test.count=1", "-test.timeout=2m"}, nil, &out, &out)
		if err != nil {
			t.Fatal(err)
		}
		if code != 0 || !strings.Contains(out.String(), "--- PASS: "+t.Name()) {
			t.Fatalf("in a private network namespace (exit %d):\n%s", code, out.String())
		}
		return
	}
	link, err := impl.OpenTUN(impl.TUNConfig{})
	if err != nil {
		t.Fatal(err)
	}
	stack, err := impl.NewStack(link, impl.Options{MSL: 100 * time.Millisecond})
	if err != nil {
		link.Close()
		t.Fatal(err)
	}
	defer stack.Close()
	page := randomPage(7, 300_000)
	kl, err := net.Listen("tcp4", "192.0.2.1:8080")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(len(page)))
		w.Write(page)
	})}
	go hs.Serve(kl)
	defer hs.Close()
	var dials atomic.Int32
	client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			dials.Add(1)
			return stack.Dial(ctx, addr)
		},
	}}
	for i := range 2 {
		resp, err := client.Get("http://192.0.2.1:8080/page")
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || !bytes.Equal(got, page) {
			t.Fatalf("fetch %d: %d octets (sha256 %x), want %d (sha256 %x), err %v", i, len(got), sha256.Sum256(got), len(page), sha256.Sum256(page), err)
		}
	}
	if n := dials.Load(); n != 1 {
		t.Errorf("%d connections for two requests, want 1 (keep-alive)", n)
	}
}

// TestServeSaysHowToReachIt: on start, serve over the default udp link
// prints the command that fetches a file (curl cannot: issue 22), and the
// command works as printed. Asked for any port (127.0.0.1:0), it names the
// port the kernel chose.
func TestServeSaysHowToReachIt(t *testing.T) {
	bin := buildTcpcheck(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "hello.txt"), []byte("hello from serve\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:0"
	ctx, cancel := context.WithCancel(context.Background())
	stderr := &lineNotifier{want: "  printf 'GET /hello.txt HTTP/1.0", seen: make(chan struct{})}
	done := make(chan error, 1)
	pcap := filepath.Join(t.TempDir(), "serve.pcap")
	go func() {
		done <- serve(ctx, serveFlags{dir: dir, link: "udp", addr: addr, idle: time.Second, msl: 100 * time.Millisecond, pcap: pcap}, stderr)
	}()
	stopped := false
	defer func() {
		if !stopped {
			cancel()
			<-done
		}
	}()
	select {
	case <-stderr.seen:
	case err := <-done:
		t.Fatalf("serve ended: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("no hint within 10 s")
	}
	stderr.mu.Lock()
	log := stderr.buf.String()
	stderr.mu.Unlock()
	var hint string
	for _, l := range strings.Split(log, "\n") {
		if strings.HasPrefix(l, "  printf ") {
			hint = strings.TrimSpace(l)
		}
	}
	want := regexp.MustCompile(`^printf 'GET /hello.txt HTTP/1.0\\r\\n\\r\\n' \| tcpcheck dial 127\.0\.0\.1:[1-9][0-9]*$`)
	if !want.MatchString(hint) || !strings.Contains(log, "curl") {
		t.Fatalf("hint %q, want it to match %s\n%s", hint, want, log)
	}
	// Run it as printed (with a short MSL, so that TIME-WAIT is short).
	cmd := strings.Replace(hint, "tcpcheck dial", bin+" dial --msl 50ms", 1)
	cctx, ccancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer ccancel()
	out, err := exec.CommandContext(cctx, "sh", "-c", cmd).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "HTTP/1.0 200 OK") || !strings.HasSuffix(string(out), "hello from serve\n") {
		t.Fatalf("%s: %v\n%s", cmd, err, out)
	}
	// The capture of the exchange is whole once serve has stopped.
	cancel()
	stopped = true
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
	b, err := os.ReadFile(pcap)
	if err != nil {
		t.Fatal(err)
	}
	if n := pcapRecords(t, b); n < 8 {
		t.Errorf("--pcap: %d segments, want the whole exchange", n)
	}
}
