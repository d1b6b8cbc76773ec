package model

import "github.com/tcpcheck/tcpcheck/spec"

// Decode returns the readable form of k, for rendering traces. It accepts
// any key but is meant for keys this system produced.
func (s *System) Decode(k Key) State {
	var w world
	w.decode(&k)
	st := State{
		LossLeft:    int(w.loss),
		DupLeft:     int(w.dup),
		InjectLeft:  int(w.inject),
		Incarnation: int(w.round),
		Scenario:    s.scen[w.scen%uint8(len(s.scen))].name,
	}
	for i := range 2 {
		st.Hosts[i] = s.readable(&w, i)
	}
	for j := range int(w.n) {
		st.Net = append(st.Net, segmentOf(w.net[j], false))
	}
	for _, p := range s.invs {
		if !p.Holds(k) {
			st.Violations = append(st.Violations, p.Name)
		}
	}
	return st
}

func (s *System) readable(w *world, i int) Host {
	h := &w.h[i]
	r := Host{
		State:        h.st,
		Inc:          int(w.round),
		Passive:      h.passive,
		FinSent:      h.finSent,
		AckOwed:      h.owed,
		RetxArmed:    s.armed(h),
		Retries:      int(h.retries),
		RTOAge:       int(h.rto),
		TimeWaitLeft: max(int(h.tw)-1, 0),
		Probes:       int(h.probes),
		Written:      int(h.written),
		Delivered:    int(h.delivered),
		Signal:       sigNames[min(int(h.sig), len(sigNames)-1)],
		Program:      s.describe(w, i),
	}
	if h.st.HasTCB() {
		r.ISS, r.SndUna, r.SndNxt = seq(h.iss), seq(h.una), seq(h.nxt)
		if h.st != spec.SynSent {
			r.IRS, r.RcvNxt = seq(h.irs), seq(h.rcv)
		}
	}
	if h.sawEOF && h.sig == sigConnected {
		r.Signal = "eof"
	}
	return r
}

// describe says what user i does next, e.g. "write 1", "close (after EOF)".
func (s *System) describe(w *world, i int) string {
	h := &w.h[i]
	prog := s.scen[w.scen%uint8(len(s.scen))].prog[i]
	switch {
	case terminal(h):
		return "done (" + sigNames[h.sig] + ")"
	case int(h.pc) >= len(prog):
		return "done"
	}
	o := prog[h.pc]
	d := o.call
	if !o.opens() {
		switch {
		case h.sig != sigConnected:
			d += " (once connected)"
		case o.needEOF && !h.sawEOF:
			d += " (after EOF)"
		}
	}
	if h.pc == 1 && h.st == spec.Listen && h.sig == sigNone {
		d = "accept, then " + d
	}
	if s.abortBy == i && h.pc >= 1 && !h.aborted {
		d += " or abort"
	}
	return d
}

// RcvWnd returns RCV.WND of host i (0 = A) in the state k: 0 while its
// user has stopped reading ([Config.ZeroWindow]), else the model's
// constant window.
func (s *System) RcvWnd(k Key, i int) uint32 {
	var w world
	w.decode(&k)
	return rcvWndOf(&w.h[i&1])
}
