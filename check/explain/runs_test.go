package explain

import (
	"strings"
	"testing"
)

func TestParseRunScene(t *testing.T) {
	page := "---\norder: 5\ngroup: in use\n---\n\n# Q?\n\nA.\n\n## A model scene\n\ngoal: both-established\nconfig: small\n\nReading.\n\n## A run\n\nrun: idle-ours\n\nWhat it shows.\n"
	p, err := ParsePage("x/q.md", []byte(page))
	if err != nil {
		t.Fatal(err)
	}
	if p.Group != "in use" || len(p.Scenes) != 1 || len(p.Runs) != 1 {
		t.Fatalf("group %q, %d scenes, %d runs", p.Group, len(p.Scenes), len(p.Runs))
	}
	if r := p.Runs[0]; r.Run != "idle-ours" || r.At != 1 || r.Reading != "What it shows." || r.Title != "A run" {
		t.Fatalf("run scene %+v", r)
	}
	md, traces, err := RenderPage(p)
	if err != nil {
		t.Fatal(err)
	}
	frag, _ := RunFragment("idle-ours")
	if len(traces) != 1 || !strings.Contains(string(md), "## A run\n\n"+string(frag)+"\nWhat it shows.\n") {
		t.Fatalf("the run's fragment is not on the page:\n%s", md)
	}
	if strings.Index(string(md), "## A model scene") > strings.Index(string(md), "## A run") {
		t.Errorf("the run scene came before the model scene it follows")
	}
	for name, bad := range map[string]string{
		"unknown run":  "---\norder: 5\n---\n\n# Q?\n\nA.\n\n## R\n\nrun: no-such-run\n",
		"run and goal": "---\norder: 5\n---\n\n# Q?\n\nA.\n\n## R\n\nrun: idle-ours\ngoal: both-established\n",
		"bad group":    "---\norder: 5\ngroup: middle\n---\n\n# Q?\n\nA.\n\n## R\n\nrun: idle-ours\n",
	} {
		if _, err := ParsePage("x/q.md", []byte(bad)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
