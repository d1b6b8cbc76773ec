package model

import (
	"strings"
	"testing"
)

// oneScenario is the default configuration without the further scenarios
// of Config.Also: the base of the tests that are about one scenario.
func oneScenario() Config {
	c := DefaultConfig()
	c.Also = nil
	return c
}

// TestScenariosAddUp checks that a configuration with further scenarios
// explores exactly the union of its scenarios explored one by one: each
// starts from its own initial state and the scenario index keeps their
// states apart.
func TestScenariosAddUp(t *testing.T) {
	base := oneScenario()
	base.Incarnations, base.Loss, base.Dup = 1, 1, 0
	also := []Scenario{
		{Open: "simultaneous", Closer: "a", Incarnations: 1, Loss: 0, Dup: 1},
		{Open: "client-server", Closer: "both", Incarnations: 2, Loss: 0, Dup: 0},
	}
	sum := bfs(t, mustNew(t, base), bfsOptions{quiescence: true, maxStates: 1 << 21}).states
	for _, sc := range also {
		c := base
		c.Open, c.Closer, c.Incarnations, c.Loss, c.Dup = sc.Open, sc.Closer, sc.Incarnations, sc.Loss, sc.Dup
		r := bfs(t, mustNew(t, c), bfsOptions{quiescence: true, maxStates: 1 << 21})
		if r.violation != "" {
			t.Fatalf("scenario %s alone violates %s", sc, r.violation)
		}
		sum += r.states
	}
	all := base
	all.Also = also
	sys := mustNew(t, all)
	if n := len(sys.Init()); n != 3 {
		t.Fatalf("%d initial states, want one per scenario (3)", n)
	}
	r := bfs(t, sys, bfsOptions{quiescence: true, maxStates: 1 << 21})
	if r.violation != "" {
		t.Fatalf("violates %s", r.violation)
	}
	if r.states != sum {
		t.Fatalf("%d states with the scenarios together, %d explored one by one", r.states, sum)
	}
	for i, k := range sys.Init() {
		got := sys.Decode(k).Scenario
		want := base.scenarios()[0].String()
		if i > 0 {
			want = also[i-1].String()
		}
		if got != want {
			t.Errorf("initial state %d is in scenario %q, want %q", i, got, want)
		}
	}
}

func TestScenarioValidation(t *testing.T) {
	c := DefaultConfig()
	c.Also = append(c.Also, Scenario{Open: "sideways", Closer: "c", Incarnations: 9, Loss: -1, Dup: 7})
	err := c.Validate()
	for _, want := range []string{`also[2].open is "sideways"`, `also[2].closer is "c"`, "also[2].incarnations is 9", "also[2].loss is -1", "also[2].dup is 7"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate = %v; want it to mention %s", err, want)
		}
	}
	c = DefaultConfig()
	c.Also = make([]Scenario, maxAlso+1)
	for i := range c.Also {
		c.Also[i] = DefaultConfig().Also[0]
	}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "at most 3") {
		t.Errorf("Validate with %d scenarios = %v", len(c.Also), err)
	}
	if _, err := ParseConfig([]byte(`{"also":[{"open":"simultaneous","closer":"both","incarnations":1,"loss":0,"dup":0,"extra":1}]}`)); err == nil {
		t.Error("an unknown field in a scenario was accepted")
	}
	c, err = ParseConfig([]byte(`{"also":[]}`))
	if err != nil || len(c.Also) != 0 {
		t.Errorf(`{"also":[]} = %+v, %v; want no further scenarios`, c.Also, err)
	}
}

func TestScenarioSyntax(t *testing.T) {
	def := DefaultConfig().Also
	got, err := ParseScenarios(FormatScenarios(def))
	if err != nil || len(got) != len(def) {
		t.Fatalf("ParseScenarios(FormatScenarios(default)) = %v, %v", got, err)
	}
	for i := range def {
		if got[i] != def[i] {
			t.Errorf("scenario %d: %+v, want %+v", i, got[i], def[i])
		}
	}
	if got, err := ParseScenarios("none"); err != nil || got != nil {
		t.Errorf(`ParseScenarios("none") = %v, %v`, got, err)
	}
	if got, err := ParseScenarios("simultaneous/both"); err != nil || len(got) != 1 || got[0].Incarnations != 1 {
		t.Errorf(`ParseScenarios("simultaneous/both") = %+v, %v`, got, err)
	}
	for in, want := range map[string]string{
		"simultaneous":            "OPEN/CLOSER",
		"simultaneous/a loss":     "not KEY=NUMBER",
		"simultaneous/a ttl=3":    `unknown key "ttl"`,
		"simultaneous/a; ":        "empty scenario",
		"client-server/b dup=two": "not KEY=NUMBER",
	} {
		if _, err := ParseScenarios(in); err == nil || !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), "model: ") {
			t.Errorf("ParseScenarios(%q) = %v; want an error mentioning %s", in, err, want)
		}
	}
}

// TestPresetsAreSupersets: each preset explores every scenario of the
// smaller ones, with budgets at least as large (issue 19: the large
// preset used to drop the default's simultaneous open and close).
func TestPresetsAreSupersets(t *testing.T) {
	names := Presets()
	for i := 1; i < len(names); i++ {
		small, err := Preset(names[i-1])
		if err != nil {
			t.Fatal(err)
		}
		big, err := Preset(names[i])
		if err != nil {
			t.Fatal(err)
		}
		for _, sc := range small.scenarios() {
			found := false
			for _, b := range big.scenarios() {
				found = found || (b.Open == sc.Open && b.Closer == sc.Closer && b.Incarnations >= sc.Incarnations && b.Loss >= sc.Loss && b.Dup >= sc.Dup)
			}
			if !found {
				t.Errorf("preset %s lacks %s's scenario %s", names[i], names[i-1], sc)
			}
		}
	}
}
