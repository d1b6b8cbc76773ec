package spec

import (
	"fmt"
	"math/bits"
)

// Machine steps by interpreting a table. It works for any valid table, the
// correct one or a mutant; the generated step functions of the model and the
// endpoint are specialisations of it for [Table].
type Machine struct {
	rows   []Row
	index  [NumStates][NumEvents][]int32
	guards [NumStates][NumEvents]GuardSet // the guards the rows for a state and event mention
}

// NewMachine returns a machine for rows, which must pass [Validate].
func NewMachine(rows []Row) (*Machine, error) {
	if err := Validate(rows); err != nil {
		return nil, fmt.Errorf("spec: invalid table: %w", err)
	}
	m := &Machine{rows: Clone(rows)}
	for i, r := range m.rows {
		m.index[r.From][r.On] = append(m.index[r.From][r.On], int32(i))
		m.guards[r.From][r.On] |= r.When.Mask
	}
	return m, nil
}

// Rows returns the machine's table. It must not be modified.
func (m *Machine) Rows() []Row { return m.rows }

// Step returns the index of the row that applies in state s on event e when
// the guards have the outcomes g, or -1 when none does (which Validate rules
// out for s and e in range).
func (m *Machine) Step(s State, e Event, g GuardSet) int {
	if int(s) >= NumStates || int(e) >= NumEvents {
		return -1
	}
	for _, i := range m.index[s][e] {
		if m.rows[i].When.Holds(g) {
			return int(i)
		}
	}
	return -1
}

// StepCtx is Step with the guards evaluated over c. Only the guards the
// rows for s and e mention are evaluated: the others cannot change the row.
func (m *Machine) StepCtx(s State, e Event, c *Ctx) int {
	if int(s) >= NumStates || int(e) >= NumEvents {
		return -1
	}
	var g GuardSet
	for mask := m.guards[s][e]; mask != 0; mask &= mask - 1 {
		gd := Guard(bits.TrailingZeros64(uint64(mask)))
		g = g.With(gd, gd.Eval(c))
	}
	return m.Step(s, e, g)
}

// Guards returns the guards that rows for s and e mention: the only guards
// whose outcome can change the row chosen.
func (m *Machine) Guards(s State, e Event) GuardSet {
	if int(s) >= NumStates || int(e) >= NumEvents {
		return 0
	}
	return m.guards[s][e]
}
