package web

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tcpcheck/tcpcheck/check/explain"
	"github.com/tcpcheck/tcpcheck/model"
	"github.com/tcpcheck/tcpcheck/spec"
)

func smallSystem(t testing.TB) *model.System {
	t.Helper()
	c := model.DefaultConfig()
	c.Incarnations, c.Loss, c.Dup, c.Reorder, c.WriteA, c.WriteB, c.Also = 1, 0, 0, false, 0, 0, nil
	sys, err := model.New(c)
	if err != nil {
		t.Fatal(err)
	}
	return sys
}

func get(t *testing.T, h http.Handler, target string) (int, string, http.Header) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", target, nil))
	return rec.Code, rec.Body.String(), rec.Header()
}

var (
	reStateA = regexp.MustCompile(`id="state-a">([A-Z0-9-]+)<`)
	reStateB = regexp.MustCompile(`id="state-b">([A-Z0-9-]+)<`)
	reAction = regexp.MustCompile(`<a class="btn action kind-[a-z]+" id="act-\d+" href="([^"]+)"[^>]*>([^<]+)</a>`)
)

// click follows the action whose label starts with prefix.
func click(t *testing.T, page, prefix string) string {
	t.Helper()
	for _, m := range reAction.FindAllStringSubmatch(page, -1) {
		label := htmlUnescape(m[2])
		if strings.HasPrefix(label, prefix) {
			return htmlUnescape(m[1])
		}
	}
	t.Fatalf("no action %q on the page; actions: %v", prefix, reAction.FindAllStringSubmatch(page, -1))
	return ""
}

func htmlUnescape(s string) string {
	return strings.NewReplacer("&amp;", "&", "&#43;", "+", "&#34;", `"`, "&lt;", "<", "&gt;", ">", "&#39;", "'").Replace(s)
}

func states(t *testing.T, page string) (string, string) {
	t.Helper()
	a, b := reStateA.FindStringSubmatch(page), reStateB.FindStringSubmatch(page)
	if a == nil || b == nil {
		t.Fatalf("no states on the page:\n%s", page)
	}
	return a[1], b[1]
}

func TestWalkHandshakeAndClose(t *testing.T) {
	s, err := New(smallSystem(t))
	if err != nil {
		t.Fatal(err)
	}
	code, page, _ := get(t, s, "/")
	if code != 200 {
		t.Fatalf("code %d", code)
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
	var urls []string
	for i, st := range steps {
		u := click(t, page, st.action)
		urls = append(urls, u)
		code, page, _ = get(t, s, u)
		if code != 200 {
			t.Fatalf("step %d: code %d", i+1, code)
		}
		if a, b := states(t, page); a != st.a || b != st.b {
			t.Fatalf("after %q: A %s, B %s; want %s, %s", st.action, a, b, st.a, st.b)
		}
		if !strings.Contains(page, `class="node cur-a" data-state="`+st.a+`"`) && !strings.Contains(page, `class="node cur-a cur-b" data-state="`+st.a+`"`) {
			t.Errorf("step %d: the diagram does not highlight A's %s", i+1, st.a)
		}
	}
	// Back goes to the state before, forward returns.
	back := regexp.MustCompile(`id="back" href="([^"]+)"`).FindStringSubmatch(page)
	if back == nil {
		t.Fatal("no back link")
	}
	_, prev, _ := get(t, s, htmlUnescape(back[1]))
	if a, b := states(t, prev); a != "TIME-WAIT" || b != "LAST-ACK" {
		t.Fatalf("back: A %s, B %s", a, b)
	}
	fwd := regexp.MustCompile(`id="forward" href="([^"]+)"`).FindStringSubmatch(prev)
	if fwd == nil {
		t.Fatal("no forward link after back")
	}
	_, next, _ := get(t, s, htmlUnescape(fwd[1]))
	if a, b := states(t, next); a != "TIME-WAIT" || b != "CLOSED" {
		t.Fatalf("forward: A %s, B %s", a, b)
	}
	// The export is the trace walked, replayable in the model.
	last := urls[len(urls)-1]
	q := last[strings.Index(last, "?"):]
	code, js, hdr := get(t, s, "/export.json"+q)
	if code != 200 || !strings.Contains(hdr.Get("Content-Disposition"), "attachment") {
		t.Fatalf("export: code %d", code)
	}
	tr, err := explain.ParseTrace([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, steps2, err := tr.Replay(); err != nil || len(steps2) != len(steps) {
		t.Fatalf("exported trace: %v, %d steps", err, len(steps2))
	}
	_, txt, _ := get(t, s, "/export.txt"+q)
	if !strings.Contains(txt, "--FIN,ACK seq=31 ack=61 len=0-->") || !strings.Contains(txt, "TIME-WAIT") {
		t.Errorf("segment table export:\n%s", txt)
	}
	_, mmd, _ := get(t, s, "/export.mmd"+q)
	if !strings.HasPrefix(mmd, "sequenceDiagram") {
		t.Errorf("mermaid export:\n%s", mmd)
	}
}

func TestCounterexampleJump(t *testing.T) {
	s, err := New(smallSystem(t))
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", "/counterexample?m=three-way-close", nil))
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("code %d: %s", rec.Code, rec.Body)
	}
	loc := rec.Header().Get("Location")
	code, page, _ := get(t, s, loc)
	if code != 200 || !strings.Contains(page, "counterexample to HalfCloseDelivers") || !strings.Contains(page, `id="violations"`) {
		t.Fatalf("code %d, page lacks the violation:\n%s", code, page)
	}
	if !strings.Contains(page, "mutant three-way-close") {
		t.Error("the page does not say which table runs")
	}
	// The correct table in the small configuration has no counterexample.
	rec = httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", "/counterexample?m=", nil))
	_, page, _ = get(t, s, rec.Header().Get("Location"))
	if !strings.Contains(page, "every property holds") {
		t.Errorf("correct table: %s", rec.Header().Get("Location"))
	}
	// A docs scene.
	rec = httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", "/question?q=simultaneous-close.1", nil))
	_, page, _ = get(t, s, rec.Header().Get("Location"))
	if a, b := states(t, page); a != "TIME-WAIT" || b != "TIME-WAIT" {
		t.Errorf("simultaneous close scene ends in A %s, B %s", a, b)
	}
}

func TestBadURLs(t *testing.T) {
	s, err := New(smallSystem(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"/?p=0,99", "/?p=x", "/?p=-1", "/?at=5", "/?p=0&at=2", "/?s=zz", "/?s=" + strings.Repeat("00", 64),
		"/?cfg=" + url.QueryEscape(`{"msl":99}`), "/?cfg=nope", "/?m=no-such-mutant", "/question?q=nope.1", "/question?q=x",
		"/counterexample?m=no-such", "/export.json?p=0,99",
	} {
		code, body, _ := get(t, s, q)
		if code != http.StatusBadRequest || !strings.Contains(body, "web: ") {
			t.Errorf("%s: code %d, body %.200q", q, code, body)
		}
	}
}

// TestEmbeddedDiagramCurrent checks the embedded copy of docs/states.svg.
func TestEmbeddedDiagramCurrent(t *testing.T) {
	want, err := os.ReadFile(filepath.Join("..", "..", "docs", "states.svg"))
	if err != nil {
		t.Skip("docs/states.svg not found")
	}
	if !bytes.Equal(want, []byte(statesSVG)) {
		t.Fatal("check/web/states.svg differs from docs/states.svg: run go generate ./...")
	}
	marked := diagram(spec.Closed, spec.Closed)
	if n := strings.Count(string(marked), `data-state="`); n != len(spec.States()) {
		t.Errorf("found %d state nodes in the diagram, want %d", n, len(spec.States()))
	}
}

// TestNoExternalResources checks the page loads nothing from elsewhere.
func TestNoExternalResources(t *testing.T) {
	s, _ := New(smallSystem(t))
	_, page, _ := get(t, s, "/")
	for _, m := range regexp.MustCompile(`(?:src|href)="([^"]+)"`).FindAllStringSubmatch(page, -1) {
		if strings.Contains(m[1], "//") {
			t.Errorf("external reference %s", m[1])
		}
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", "/style.css", nil))
	body, _ := io.ReadAll(rec.Body)
	if rec.Code != 200 || bytes.Contains(body, []byte("http")) {
		t.Errorf("style.css: %d", rec.Code)
	}
	var js map[string]any
	_, exp, _ := get(t, s, "/export.json")
	if err := json.Unmarshal([]byte(exp), &js); err != nil {
		t.Errorf("empty export: %v", err)
	}
}
