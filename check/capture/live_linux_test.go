//go:build linux

package capture

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tcpcheck/tcpcheck/internal/testenv"
)

// The scenarios run real Linux TCP in a private network namespace (lo
// with 192.0.2.1/24) while tcpdump captures; each capture must conform.
// The shell runs inside 'unshare -n'; $SCEN is the scenario's commands.
const liveHarness = `set -e
ip link set lo up
ip addr add 192.0.2.1/24 dev lo
tcpdump -i lo -B 32768 -U --immediate-mode -n -w "$PCAP" tcp 2>"$PCAP.log" &
TD=$!
for i in $(seq 200); do grep -q listening "$PCAP.log" 2>/dev/null && break; sleep 0.05; done
eval "$SCEN"
# Wait until every socket but listeners and TIME-WAIT is gone (bounded).
for i in $(seq 100); do
  n=$(ss -Htan | grep -v -e LISTEN -e TIME-WAIT | wc -l)
  [ "$n" = 0 ] && break
  sleep 0.05
done
# A last refused connect to port 7 marks the end: stop tcpdump once it
# has written that (its RST) to the file.
(echo > /dev/tcp/192.0.2.1/7) 2>/dev/null || true
for i in $(seq 200); do
  tcpdump -r "$PCAP" -n 'tcp port 7 and tcp[tcpflags] & tcp-rst != 0' 2>/dev/null | grep -q . && break
  sleep 0.05
done
kill -INT $TD
wait $TD || true
`

// pyServer is an HTTP/1.1 server (keep-alive) on 192.0.2.1:8080.
const pyServer = `
cat > "$DIR/srv.py" <<'PY'
import http.server, socketserver, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        body = (self.path * 50).encode()
        self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("192.0.2.1", 8080), H).serve_forever()
PY
python3 "$DIR/srv.py" & SRV=$!
for i in $(seq 200); do ss -Htln | grep -q 192.0.2.1:8080 && break; sleep 0.05; done
`

// pyPeer runs a Python snippet $1 as server on port 9000 and $2 as client.
const pySockets = `
cat > "$DIR/s.py" <<'PY'
import socket, struct, sys, time
mode = sys.argv[1]
if mode == "server":
    kind = sys.argv[2]
    l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind(("192.0.2.1", 9000)); l.listen(); open(sys.argv[3], "w").close()
    c, _ = l.accept()
    if kind == "halfclose":
        got = b""
        while True:
            b = c.recv(65536)
            if not b: break
            got += b
        c.sendall(b"reply:" + got[:1000] * 3)
        c.close()
    elif kind == "linger":
        c.recv(100); c.sendall(b"x" * 5000)
        time.sleep(0.2)
        c.close()
    elif kind == "kill":
        c.recv(100); c.sendall(b"hello")
        time.sleep(3)
else:
    kind = sys.argv[2]
    s = socket.create_connection(("192.0.2.1", 9000))
    if kind == "halfclose":
        s.sendall(b"q" * 30000); s.shutdown(socket.SHUT_WR)
        n = 0
        while True:
            b = s.recv(65536)
            if not b: break
            n += len(b)
        s.close()
    elif kind == "linger":
        s.sendall(b"hi"); s.recv(100)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
    elif kind == "kill":
        s.sendall(b"hi"); s.recv(100)
        open(sys.argv[3], "w").close()
        s.recv(100)
PY
`

func TestLiveLinuxCapturesConform(t *testing.T) {
	if os.Geteuid() != 0 {
		testenv.Missing(t, "the live captures need root (unshare -n, tcpdump)")
	}
	for _, tool := range []string{"tcpdump", "ss", "ip", "unshare", "python3"} {
		testenv.Tool(t, map[string]string{"tcpdump": "tcpdump", "ss": "iproute2", "ip": "iproute2", "unshare": "util-linux", "python3": "python3"}[tool], tool)
	}
	testenv.Tool(t, "curl", "curl")
	cases := []struct {
		name   string
		scen   string
		conns  int
		client string // the state line of the first connection's client
		server string
	}{
		{"curl-keepalive", pyServer + `curl -sS --fail http://192.0.2.1:8080/a http://192.0.2.1:8080/bb http://192.0.2.1:8080/ccc >/dev/null; kill $SRV`,
			1, "CLOSED SYN-SENT ESTABLISHED FIN-WAIT-1", "LISTEN SYN-RECEIVED ESTABLISHED CLOSE-WAIT LAST-ACK CLOSED"},
		{"bulk", `head -c 3000000 /dev/urandom > "$DIR/big.bin"; (cd "$DIR" && exec python3 -m http.server --bind 192.0.2.1 8081 >/dev/null 2>&1) & SRV=$!
for i in $(seq 200); do ss -Htln | grep -q 192.0.2.1:8081 && break; sleep 0.05; done
curl -sS --fail -o /dev/null http://192.0.2.1:8081/big.bin; kill $SRV`,
			// Who closes first (the server after the reply, curl after the
			// body) varies: the states from then on are not compared.
			1, "CLOSED SYN-SENT ESTABLISHED", "LISTEN SYN-RECEIVED ESTABLISHED ..."},
		{"half-close", pySockets + `python3 "$DIR/s.py" server halfclose "$DIR/ready" & S=$!
for i in $(seq 200); do [ -e "$DIR/ready" ] && break; sleep 0.05; done
python3 "$DIR/s.py" client halfclose; wait $S`,
			1, "CLOSED SYN-SENT ESTABLISHED FIN-WAIT-1 FIN-WAIT-2 TIME-WAIT", "LISTEN SYN-RECEIVED ESTABLISHED CLOSE-WAIT LAST-ACK CLOSED"},
		{"linger-abort", pySockets + `python3 "$DIR/s.py" server linger "$DIR/ready" & S=$!
for i in $(seq 200); do [ -e "$DIR/ready" ] && break; sleep 0.05; done
python3 "$DIR/s.py" client linger; wait $S || true`,
			1, "CLOSED SYN-SENT ESTABLISHED CLOSED", "LISTEN SYN-RECEIVED ESTABLISHED CLOSED"},
		{"refused", `curl -sS http://192.0.2.1:9/ 2>/dev/null || true`,
			1, "CLOSED SYN-SENT CLOSED", "CLOSED"},
		{"ss-kill", pySockets + `python3 "$DIR/s.py" server kill "$DIR/ready" & S=$!
for i in $(seq 200); do [ -e "$DIR/ready" ] && break; sleep 0.05; done
python3 "$DIR/s.py" client kill "$DIR/up" & C=$!
for i in $(seq 200); do [ -e "$DIR/up" ] && break; sleep 0.05; done
ss -K dst 192.0.2.1 dport = 9000 >/dev/null
wait $C || true; kill $S || true`,
			1, "CLOSED SYN-SENT ESTABLISHED CLOSED", "LISTEN SYN-RECEIVED ESTABLISHED CLOSED"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			os.Chmod(dir, 0o777)
			pcap := filepath.Join(dir, c.name+".pcap")
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, "unshare", "-n", "bash", "-c", liveHarness)
			cmd.Env = append(os.Environ(), "PCAP="+pcap, "SCEN="+c.scen, "DIR="+dir)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("scenario: %v\n%s", err, out)
			}
			sum := checkFile(t, pcap)
			txt := reportText(sum)
			t.Logf("tcpcheck conform --pcap %s:\n%s%s", c.name, txt, sum)
			if sum.Connections != c.conns+1 || sum.Failing != 0 {
				t.Fatalf("want %d conforming connections and the marker", c.conns)
			}
			if sum.LateACKs != 0 {
				// Linux delays an ACK by at most 200 ms (TCP_DELACK_MAX).
				t.Errorf("%d connections with %s: Linux's delayed ACK is within RFC 1122's bound", sum.LateACKs, DevLateACK)
			}
			if c.name != "bulk" {
				// A few segments each way: every ACK Linux delays, or
				// folds into its FIN, is the table's delayed ACK. (The
				// bulk transfer's receiver may hold back its ACK of more
				// than two full-sized segments while curl has not read:
				// docs/capture.md.)
				for _, rep := range sum.Conns {
					if n := firstFrame(rep, DevDelayedACK); n != 0 {
						t.Errorf("%s named at frame %d: Linux's delayed ACK is table behaviour here", DevDelayedACK, n)
					}
				}
			}
			rep := sum.Conns[0]
			if got := strings.Join(rep.ClientStates, " "); !strings.HasPrefix(got, c.client) {
				t.Errorf("client states %q, want %q", got, c.client)
			}
			if got := strings.Join(rep.ServerStates, " "); got != c.server && !(strings.HasSuffix(c.server, " ...") && strings.HasPrefix(got, strings.TrimSuffix(c.server, "..."))) {
				t.Errorf("server states %q, want %q", got, c.server)
			}
			if c.name == "curl-keepalive" {
				gets := 0
				for _, row := range tableOf(t, pcap) {
					if row.From == "client" && strings.Contains(row.Segment, "<DATA=") {
						gets++
					}
				}
				if gets != 3 {
					t.Errorf("%d client data segments, want the three requests over one connection", gets)
				}
				// A pcapng conversion of the same capture conforms too.
				if editcap, err := exec.LookPath("editcap"); err == nil {
					ng := filepath.Join(dir, "conv.pcapng")
					if out, err := exec.Command(editcap, "-F", "pcapng", pcap, ng).CombinedOutput(); err != nil {
						t.Fatalf("editcap: %v %s", err, out)
					}
					sum2 := checkFile(t, ng)
					if sum2.Connections != sum.Connections || sum2.Failing != 0 || sum2.Format != "pcapng" {
						t.Errorf("pcapng conversion: %v\n%s", sum2, reportText(sum2))
					}
				} else {
					testenv.Missing(t, "editcap not found; install the Debian package wireshark-common")
				}
			}
		})
	}
}

func checkFile(t *testing.T, path string) *Summary {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := Open(bufio.NewReader(f))
	if err != nil {
		t.Fatal(err)
	}
	sum, err := Check(context.Background(), r, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

func tableOf(t *testing.T, path string) []SegmentRow {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := Open(f)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := Connections(r)
	if err != nil || len(cs) == 0 {
		t.Fatalf("%v, %d connections", err, len(cs))
	}
	return cs[0].Rows
}
