package spec

// Row is one rule of the transition table: in state From, on event On, when
// the guard condition When holds, carry out Do in order and move to To.
type Row struct {
	From State
	On   Event
	When Cond
	Do   []Action // in execution order; [Drop] alone for an ignored event
	To   State
	RFC  string // the section the rule comes from, e.g. "RFC 9293 §3.10.7.4"
	Note string // one line saying what the rule is for
}

// Name identifies the row: "ESTABLISHED + rcv RST [RstExact]". Names are
// unique within a valid table.
func (r Row) Name() string {
	n := r.From.String() + " + " + r.On.String()
	if r.When.Mask != 0 {
		n += " [" + r.When.String() + "]"
	}
	return n
}

// Actions returns the row's actions as a set.
func (r Row) Actions() Actions { return SetOf(r.Do...) }

// ActionString renders the actions as "send SYN,ACK; start 2MSL".
func (r Row) ActionString() string {
	s := ""
	for i, a := range r.Do {
		if i > 0 {
			s += "; "
		}
		s += a.String()
	}
	if s == "" {
		return "-"
	}
	return s
}

// Clone returns a deep copy of rows, safe to modify (for mutants).
func Clone(rows []Row) []Row {
	out := make([]Row, len(rows))
	for i, r := range rows {
		r.Do = append([]Action(nil), r.Do...)
		out[i] = r
	}
	return out
}

// Find returns the index of the row with the given name, or -1.
func Find(rows []Row, name string) int {
	for i, r := range rows {
		if r.Name() == name {
			return i
		}
	}
	return -1
}
