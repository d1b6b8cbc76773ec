package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tcpcheck/tcpcheck/internal/testenv"
	"github.com/tcpcheck/tcpcheck/model"
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startExplorer serves the explorer for sys in-process, as explore --serve
// and browse do, and returns its base URL.
func startExplorer(t *testing.T, sys *model.System) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	done := make(chan error, 1)
	go func() { done <- serveExplorerContext(ctx, sys, "127.0.0.1:0", &out) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("explorer: %v", err)
		}
	})
	re := regexp.MustCompile(`http://127\.0\.0\.1:\d+/`)
	for range 200 {
		if u := re.FindString(out.String()); u != "" {
			return strings.TrimSuffix(u, "/")
		}
		select {
		case err := <-done:
			t.Fatalf("explorer stopped: %v; output %q", err, out.String())
		case <-time.After(25 * time.Millisecond):
		}
	}
	t.Fatalf("the explorer printed no URL: %q", out.String())
	return ""
}

func chromiumPath(t *testing.T) string {
	t.Helper()
	return testenv.Chromium(t)
}

// browser runs headless Chromium, one process per page load, with a
// fresh profile and everything that talks to the network switched off.
type browser struct {
	t       *testing.T
	bin     string
	profile string
}

func (b *browser) run(args ...string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--user-data-dir=" + b.profile}
	cmd := exec.CommandContext(ctx, b.bin, append(base, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		b.t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
	}
	return stdout.String()
}

// dom loads a URL and returns the DOM after the page has loaded.
func (b *browser) dom(u string) string { return b.run("--dump-dom", u) }

var (
	reDomStateA = regexp.MustCompile(`id="state-a">([A-Z0-9-]+)<`)
	reDomStateB = regexp.MustCompile(`id="state-b">([A-Z0-9-]+)<`)
	reDomAction = regexp.MustCompile(`<a [^>]*class="btn action[^"]*"[^>]*href="([^"]+)"[^>]*>([^<]+)</a>`)
	reDomHref   = regexp.MustCompile(`href="([^"]+)"`)
)

// click finds the action link whose text starts with label and returns the
// URL it leads to.
func click(t *testing.T, base, dom, label string) string {
	t.Helper()
	var seen []string
	for _, m := range reDomAction.FindAllStringSubmatch(dom, -1) {
		text := html.UnescapeString(m[2])
		seen = append(seen, text)
		if strings.HasPrefix(text, label) {
			href := html.UnescapeString(reDomHref.FindStringSubmatch(m[0])[1])
			u, err := url.Parse(base + "/")
			if err != nil {
				t.Fatal(err)
			}
			r, err := u.Parse(href)
			if err != nil {
				t.Fatal(err)
			}
			return r.String()
		}
	}
	t.Fatalf("no action %q on the page; actions: %q", label, seen)
	return ""
}

// startExplorerCommand runs `tcpcheck explore --serve` as a user would, with
// the given configuration flags, and returns its base URL.
func startExplorerCommand(t *testing.T, flags ...string) string {
	t.Helper()
	cmd := exec.Command(buildTcpcheck(t), append([]string{"explore", "--serve=127.0.0.1:0"}, flags...)...)
	var out, errOut syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		if err := cmd.Wait(); err != nil {
			t.Errorf("explore --serve after SIGINT: %v; stderr %q", err, errOut.String())
		}
	})
	re := regexp.MustCompile(`http://127\.0\.0\.1:\d+/`)
	for range 400 {
		if u := re.FindString(out.String()); u != "" {
			return strings.TrimSuffix(u, "/")
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("explore --serve printed no URL in 10 s: stdout %q, stderr %q", out.String(), errOut.String())
	return ""
}

// TestBrowserHandshakeAndClose starts `tcpcheck explore --serve` and drives
// its page in headless Chromium: it clicks through a three-way handshake and
// a four-way close, checks both sides' states after each click, and saves a
// screenshot.
func TestBrowserHandshakeAndClose(t *testing.T) {
	bin := chromiumPath(t)
	base := startExplorerCommand(t, "--incarnations=1", "--loss=0", "--dup=0", "--reorder=false",
		"--write-a=0", "--write-b=0", "--also=none")
	b := &browser{t: t, bin: bin, profile: t.TempDir()}
	dom := b.dom(base + "/")
	if a, bb := reDomStateA.FindStringSubmatch(dom), reDomStateB.FindStringSubmatch(dom); a == nil || bb == nil || a[1] != "CLOSED" || bb[1] != "LISTEN" {
		t.Fatalf("initial page: %.2000s", dom)
	}
	steps := []struct{ action, a, b string }{
		{"A connect", "SYN-SENT", "LISTEN"},
		{"deliver to B: SYN seq=30", "SYN-SENT", "SYN-RECEIVED"},
		{"deliver to A: SYN,ACK", "ESTABLISHED", "SYN-RECEIVED"},
		{"deliver to B: ACK", "ESTABLISHED", "ESTABLISHED"},
		{"A close", "FIN-WAIT-1", "ESTABLISHED"},
		{"deliver to B: FIN,ACK", "FIN-WAIT-1", "CLOSE-WAIT"},
		{"B DELACK timer fires", "FIN-WAIT-1", "CLOSE-WAIT"}, // B delays the ACK of the FIN
		{"deliver to A: ACK", "FIN-WAIT-2", "CLOSE-WAIT"},
		{"B close", "FIN-WAIT-2", "LAST-ACK"},
		{"deliver to A: FIN,ACK", "TIME-WAIT", "LAST-ACK"},
		{"deliver to B: ACK", "TIME-WAIT", "CLOSED"},
	}
	var u string
	for i, st := range steps {
		u = click(t, base, dom, st.action)
		dom = b.dom(u)
		a, bb := reDomStateA.FindStringSubmatch(dom), reDomStateB.FindStringSubmatch(dom)
		if a == nil || bb == nil {
			t.Fatalf("step %d (%s): no states in the DOM: %.2000s", i+1, st.action, dom)
		}
		if a[1] != st.a || bb[1] != st.b {
			t.Fatalf("step %d, after %q: the page shows A %s, B %s; want A %s, B %s", i+1, st.action, a[1], bb[1], st.a, st.b)
		}
		if !strings.Contains(dom, fmt.Sprintf(`id="step">step %d of %d<`, i+1, i+1)) {
			t.Errorf("step %d: the step counter is wrong", i+1)
		}
	}
	if !strings.Contains(dom, `data-state="TIME-WAIT"`) || !regexp.MustCompile(`class="node cur-a" data-state="TIME-WAIT"`).MatchString(dom) {
		t.Error("the diagram does not highlight A's TIME-WAIT")
	}
	// The form that jumps to a mutant's counterexample (a GET form, so its
	// submission is a navigation to its action with the fields as query).
	dom = b.dom(base + "/counterexample?m=three-way-close")
	if !strings.Contains(dom, "counterexample to HalfCloseDelivers") || !strings.Contains(dom, `id="violations"`) {
		t.Errorf("the three-way-close counterexample page does not show the violation: %.3000s", dom)
	}
	shot := filepath.Join(t.TempDir(), "explorer.png")
	if dir := os.Getenv("TCPCHECK_SCREENSHOT_DIR"); dir != "" {
		shot = filepath.Join(dir, "explorer.png")
	}
	b.run("--screenshot="+shot, "--window-size=1400,1500", "--hide-scrollbars", u)
	info, err := os.Stat(shot)
	if err != nil || info.Size() < 10_000 {
		t.Fatalf("screenshot %s: %v", shot, err)
	}
	t.Logf("screenshot: %s (%d bytes)", shot, info.Size())
}

func TestBrowseFlags(t *testing.T) {
	if code, _, stderr := runCLI(t, "browse", "extra"); code != exitUsage || !strings.Contains(stderr, "unexpected argument") {
		t.Errorf("code %d, %s", code, stderr)
	}
	if code, _, stderr := runCLI(t, "browse", "--mutant", "nope"); code != exitUsage || !strings.Contains(stderr, "unknown mutant") {
		t.Errorf("code %d, %s", code, stderr)
	}
	if code, _, stderr := runCLI(t, "browse", "--msl", "99"); code != exitUsage || !strings.Contains(stderr, "msl") {
		t.Errorf("code %d, %s", code, stderr)
	}
	if code, _, stderr := runCLI(t, "browse", "--addr", "256.0.0.1:1"); code != exitUsage || !strings.Contains(stderr, "listening on") {
		t.Errorf("code %d, %s", code, stderr)
	}
}

func TestServeFlag(t *testing.T) {
	for _, c := range []struct {
		args []string
		addr string
		set  bool
		bad  bool
	}{
		{nil, "", false, false},
		{[]string{"--serve"}, defaultExplorerAddr, true, false},
		{[]string{"--serve=127.0.0.1:8080"}, "127.0.0.1:8080", true, false},
		{[]string{"--serve=8080"}, "", false, true},
	} {
		fs := flag.NewFlagSet("x", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		var f serveFlag
		fs.Var(&f, "serve", "")
		err := fs.Parse(c.args)
		if (err != nil) != c.bad || f.addr != c.addr || f.set != c.set {
			t.Errorf("%v: err %v, addr %q, set %v", c.args, err, f.addr, f.set)
		}
	}
}

// TestExplorerServes fetches the page over loopback without a browser.
func TestExplorerServes(t *testing.T) {
	sys, err := model.New(model.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	base := startExplorer(t, sys)
	resp, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `id="state-a">CLOSED<`) || !strings.Contains(string(body), `id="state-b">LISTEN<`) {
		t.Fatalf("status %d:\n%.1000s", resp.StatusCode, body)
	}
}
