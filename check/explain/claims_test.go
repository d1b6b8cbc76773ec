package explain

import (
	"strings"
	"testing"

	"github.com/tcpcheck/tcpcheck/check"
)

// sceneSteps resolves the first scene of a page and returns its readable
// steps.
func sceneSteps(t *testing.T, slug string) []check.StepJSON {
	t.Helper()
	for _, p := range mustPages(t) {
		if p.Slug != slug {
			continue
		}
		if len(p.Scenes) == 0 {
			t.Fatalf("page %s has no scene of the model", slug)
		}
		s, err := Resolve(p.Scenes[0])
		if err != nil {
			t.Fatal(err)
		}
		return check.ViolationJSON(s.Sys, &check.Violation{Property: s.Property, Init: s.Init, Trace: s.Trace}).Trace
	}
	t.Fatalf("no page %s", slug)
	return nil
}

// sent reports whether step st sent a segment from host with all of flags.
func sent(st check.StepJSON, host, flags string) bool {
	for _, g := range st.Sent {
		if g.From != host {
			continue
		}
		ok := true
		for _, f := range strings.Split(flags, ",") {
			ok = ok && strings.Contains(","+g.Flags+",", ","+f+",")
		}
		if ok {
			return true
		}
	}
	return false
}

// finAcked returns the step at which B, having received A's FIN, first
// acknowledged it: the FIN's delivery, or a later step (B's delayed-ACK
// timer, or a segment of B's that carries the ACK), and B's state then;
// -1 when the trace has neither.
func finAcked(steps []check.StepJSON) (at int, state string) {
	var want uint32
	got := false
	for i, st := range steps {
		if !got && st.Kind == "deliver" && st.Host == "B" && st.Segment != nil && strings.Contains(st.Segment.Flags, "FIN") {
			want, got = st.Segment.Seq+uint32(st.Segment.Len)+1, true
		}
		if !got {
			continue
		}
		for _, g := range st.Sent {
			if g.From == "B" && strings.Contains(g.Flags, "ACK") && g.Ack == want {
				return i, st.B
			}
		}
	}
	return -1, ""
}

// TestPassiveCloserStates holds the claim of passive-close-states.md: the
// passive closer (B) goes to CLOSE-WAIT on the peer's FIN and acknowledges
// it from there, sends its own FIN in the step that takes it to LAST-ACK,
// and leaves LAST-ACK for CLOSED on the ACK of that FIN.
func TestPassiveCloserStates(t *testing.T) {
	steps := sceneSteps(t, "passive-close-states")
	for i, st := range steps {
		if st.Kind == "deliver" && st.Host == "B" && st.Segment != nil && strings.Contains(st.Segment.Flags, "FIN") {
			if st.B != "CLOSE-WAIT" {
				t.Fatalf("step %d: A's FIN reached B, which went to %s; the page says CLOSE-WAIT", i+1, st.B)
			}
			break
		}
	}
	ackAt, in := finAcked(steps)
	if ackAt >= 0 && in != "CLOSE-WAIT" {
		t.Fatalf("step %d: B acknowledged A's FIN in %s; the page says from CLOSE-WAIT", ackAt+1, in)
	}
	finAt, closedAt := -1, -1
	prevB := ""
	for i, st := range steps {
		if sent(st, "B", "FIN") {
			if prevB != "CLOSE-WAIT" || st.B != "LAST-ACK" || st.Kind != "user" {
				t.Fatalf("step %d: B sent its FIN going from %s to %s (%s); the page says from CLOSE-WAIT to LAST-ACK on its user's close", i+1, prevB, st.B, st.Kind)
			}
			finAt = i
		}
		if prevB == "LAST-ACK" && st.B == "CLOSED" {
			closedAt = i
		}
		prevB = st.B
	}
	if ackAt < 0 || finAt <= ackAt || closedAt <= finAt {
		t.Fatalf("the trace does not show ACK of A's FIN (step %d), then B's FIN (step %d), then CLOSED (step %d)", ackAt+1, finAt+1, closedAt+1)
	}
}

// TestAckOfFirstFin holds the claim of ack-of-first-fin.md: B
// acknowledges A's FIN, and sends text after that ACK.
func TestAckOfFirstFin(t *testing.T) {
	steps := sceneSteps(t, "ack-of-first-fin")
	acked, _ := finAcked(steps)
	dataAfter := -1
	for i, st := range steps {
		if acked >= 0 && i > acked && dataAfter < 0 {
			for _, g := range st.Sent {
				if g.From == "B" && g.Len > 0 && !strings.Contains(g.Flags, "FIN") {
					dataAfter = i
				}
			}
		}
	}
	if acked < 0 || dataAfter < 0 {
		t.Fatalf("the trace does not show B acknowledging A's FIN (step %d) and then sending text (step %d)", acked+1, dataAfter+1)
	}
	if steps[dataAfter].B != "CLOSE-WAIT" {
		t.Errorf("B sent its text in %s; the page says CLOSE-WAIT", steps[dataAfter].B)
	}
}

// TestShortLivedStatesModel holds the model claim of short-lived-states.md:
// SYN-RECEIVED and FIN-WAIT-1 each end at the next segment their host
// receives.
func TestShortLivedStatesModel(t *testing.T) {
	steps := sceneSteps(t, "short-lived-states")
	for _, c := range []struct{ host, state string }{{"B", "SYN-RECEIVED"}, {"A", "FIN-WAIT-1"}} {
		in := false
		seen := false
		for i, st := range steps {
			now := st.A
			if c.host == "B" {
				now = st.B
			}
			if now == c.state {
				seen = true
			}
			if in && st.Kind == "deliver" && st.Host == c.host {
				if now == c.state {
					t.Errorf("step %d: %s is still in %s after a delivery; the page says the next segment ends it", i+1, c.host, c.state)
				}
				in = false
			}
			if now == c.state {
				in = true
			}
		}
		if !seen {
			t.Errorf("%s never enters %s in the trace", c.host, c.state)
		}
	}
}
