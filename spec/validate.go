package spec

import (
	"errors"
	"fmt"
)

// Validate checks that rows form a valid table:
//   - every row is well formed: known states, event, guards and actions,
//     actions in execution order without repeats, [Drop] only alone, an RFC
//     section and a note;
//   - deterministic: for every state, event and outcome of the guards the
//     rows for that pair mention, at most one row applies;
//   - complete: for every state × event pair and every such outcome, some
//     row applies (an explicit "drop" or "reply RST" row counts).
//
// It returns every problem found, joined.
func Validate(rows []Row) error {
	var errs []error
	var byPair [NumStates][NumEvents][]int
	for i, r := range rows {
		if err := checkRow(r); err != nil {
			errs = append(errs, fmt.Errorf("spec: row %d (%s): %w", i, r.Name(), err))
			continue
		}
		byPair[r.From][r.On] = append(byPair[r.From][r.On], i)
	}
	for s := range NumStates {
		for e := range NumEvents {
			errs = append(errs, checkPair(rows, State(s), Event(e), byPair[s][e])...)
		}
	}
	return errors.Join(errs...)
}

func checkRow(r Row) error {
	switch {
	case int(r.From) >= NumStates:
		return fmt.Errorf("unknown From state %d", r.From)
	case int(r.To) >= NumStates:
		return fmt.Errorf("unknown To state %d", r.To)
	case int(r.On) >= NumEvents:
		return fmt.Errorf("unknown event %d", r.On)
	case r.When.Mask>>NumGuards != 0:
		return fmt.Errorf("unknown guard in condition %08b", r.When.Mask)
	case r.When.Want&^r.When.Mask != 0:
		return errors.New("condition wants a guard it does not mask")
	case r.RFC == "":
		return errors.New("no RFC section")
	case r.Note == "":
		return errors.New("no note")
	}
	for i, a := range r.Do {
		if int(a) >= NumActions {
			return fmt.Errorf("unknown action %d", a)
		}
		if i > 0 && r.Do[i-1] >= a {
			return fmt.Errorf("actions out of execution order or repeated: %s before %s", r.Do[i-1], a)
		}
		if a == Drop && len(r.Do) > 1 {
			return errors.New("drop must stand alone")
		}
	}
	return nil
}

func checkPair(rows []Row, s State, e Event, idx []int) []error {
	if len(idx) == 0 {
		return []error{fmt.Errorf("spec: incomplete: no row for %s + %s", s, e)}
	}
	var mask GuardSet
	for _, i := range idx {
		mask |= rows[i].When.Mask
	}
	var errs []error
	// Enumerate every outcome of the mentioned guards: the submasks of mask.
	for g := GuardSet(0); ; g = (g - mask) & mask {
		var match []int
		for _, i := range idx {
			if rows[i].When.Holds(g) {
				match = append(match, i)
			}
		}
		switch {
		case len(match) == 0:
			errs = append(errs, fmt.Errorf("spec: incomplete: no row for %s + %s when %s", s, e, outcome(mask, g)))
		case len(match) > 1:
			errs = append(errs, fmt.Errorf("spec: nondeterministic: rows %d (%s) and %d (%s) both apply when %s",
				match[0], rows[match[0]].Name(), match[1], rows[match[1]].Name(), outcome(mask, g)))
		}
		if g == mask {
			break
		}
	}
	return errs
}

// outcome renders the guard outcome g over the guards in mask.
func outcome(mask, g GuardSet) string {
	if mask == 0 {
		return "always"
	}
	return Cond{Mask: mask, Want: g & mask}.String()
}
