//go:build linux

package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tcpcheck/tcpcheck/impl"
	"github.com/tcpcheck/tcpcheck/internal/testenv"
)

// TestConformPcapServeOverTUN has curl (Linux's TCP) fetch two pages over
// one connection from 'tcpcheck serve' on a TUN link in a private
// namespace, captured twice: by tcpdump on the namespace's side (-i any,
// Linux cooked capture v2) and by the endpoint's own --pcap. Both captures
// conform, and the connection goes through the states of a normal close.
func TestConformPcapServeOverTUN(t *testing.T) {
	if impl.InPrivateNetns() {
		t.Skip("runs from the host side")
	}
	needTUN(t, "ip", "curl")
	tcpdump := testenv.Tool(t, "tcpdump", "tcpdump")
	dir := t.TempDir()
	os.Chmod(dir, 0o777)
	bin := filepath.Join(dir, "tcpcheck")
	if out, err := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	www := filepath.Join(dir, "www")
	os.Mkdir(www, 0o755)
	os.WriteFile(filepath.Join(www, "a.txt"), []byte("page a\n"), 0o644)
	os.WriteFile(filepath.Join(www, "b.bin"), randomPage(5, 100_000), 0o644)
	ns := fmt.Sprintf("tcpcheck-pcap-%d", os.Getpid())
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v %s", err, out)
	}
	defer exec.Command("ip", "netns", "del", ns).Run()

	ours := filepath.Join(dir, "serve.pcap")
	srv := exec.Command(bin, "serve", "--http", www, "--link", "tun", "--netns", ns, "--pcap", ours, "192.0.2.2:80")
	srvErr, _ := srv.StderrPipe()
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Process.Kill()
	srvLines := lines(srvErr)
	waitFor(t, srvLines, "serving", "serve")

	theirs := filepath.Join(dir, "tun.pcap")
	td := exec.Command("ip", "netns", "exec", ns, tcpdump, "-i", "any", "-B", "32768", "-U", "--immediate-mode", "-n", "-w", theirs, "tcp")
	tdErr, _ := td.StderrPipe()
	if err := td.Start(); err != nil {
		t.Fatal(err)
	}
	defer td.Process.Kill()
	tdLines := lines(tdErr)
	waitFor(t, tdLines, "listening", "tcpdump")

	curl := exec.Command("ip", "netns", "exec", ns, "curl", "-sS", "--fail", "--max-time", "20",
		"http://192.0.2.2/a.txt", "http://192.0.2.2/b.bin", "-o", filepath.Join(dir, "a"), "-o", filepath.Join(dir, "b"))
	if out, err := curl.CombinedOutput(); err != nil {
		t.Fatalf("curl: %v\n%s", err, out)
	}
	waitFor(t, srvLines, "closed", "serve")
	// The end marker: a connect to a closed port, which our endpoint
	// refuses; once tcpdump has written its RST, everything before it is
	// in the file.
	exec.Command("ip", "netns", "exec", ns, "curl", "-s", "--max-time", "5", "http://192.0.2.2:7/").Run()
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, _ := exec.Command(tcpdump, "-r", theirs, "-n", "tcp port 7 and tcp[tcpflags] & tcp-rst != 0").Output()
		if len(out) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("tcpdump did not write the end marker")
		}
		time.Sleep(50 * time.Millisecond)
	}
	td.Process.Signal(syscall.SIGINT)
	for l := range tdLines {
		t.Logf("tcpdump: %s", l)
	}
	td.Wait()
	srv.Process.Signal(syscall.SIGINT)
	srv.Wait()

	for _, c := range []struct{ name, file string }{{"tcpdump -i any", theirs}, {"serve --pcap", ours}} {
		code, out, errs := runCLI(t, "conform", "--pcap", c.file)
		t.Logf("%s:\n%s", c.name, out)
		if code != exitOK {
			t.Fatalf("%s: conform --pcap: code %d %s", c.name, code, errs)
		}
		for _, want := range []string{"client: CLOSED SYN-SENT ESTABLISHED FIN-WAIT-1", "server: LISTEN SYN-RECEIVED ESTABLISHED CLOSE-WAIT LAST-ACK CLOSED"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s: no %q", c.name, want)
			}
		}
	}
	if code, out, _ := runCLI(t, "conform", "--pcap", theirs); code != exitOK || !strings.Contains(out, "(Linux SLL2)") && !strings.Contains(out, "SLL2") {
		t.Errorf("the namespace capture should be Linux cooked v2:\n%s", out)
	}
}

func lines(r interface{ Read([]byte) (int, error) }) chan string {
	ch := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			ch <- sc.Text()
		}
		close(ch)
	}()
	return ch
}

func waitFor(t *testing.T, ch chan string, sub, who string) {
	t.Helper()
	timeout := time.After(15 * time.Second)
	for {
		select {
		case l, ok := <-ch:
			if !ok {
				t.Fatalf("%s ended before %q", who, sub)
			}
			if strings.Contains(l, sub) {
				return
			}
		case <-timeout:
			t.Fatalf("no %q from %s", sub, who)
		}
	}
}
