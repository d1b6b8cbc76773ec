package impl

import (
	"time"

	"github.com/tcpcheck/tcpcheck/spec"
)

// countTimeWait keeps the count of connections in TIME-WAIT after c
// stepped from state from, and enforces Options.MaxTimeWait: beyond it the
// oldest connection in TIME-WAIT ends its wait early, by the table's own
// TIME-WAIT + 2MSL timeout row (its TCB is deleted). This is resource
// policy, as Linux's tcp_max_tw_buckets; it gives up part of the
// protection TIME-WAIT offers against old duplicates (RFC 9293 §3.4.2).
func (s *Stack) countTimeWait(c *Conn, from spec.State) {
	was, is := from == spec.TimeWait, c.tcb.State() == spec.TimeWait && !c.deleted
	if c.stateless || was == is {
		return
	}
	if is {
		s.twCount++
		s.timeWait = append(s.timeWait, c)
	} else {
		s.twCount--
	}
	for s.twCount > s.opt.MaxTimeWait && len(s.timeWait) > 0 {
		old := s.timeWait[0]
		s.timeWait[0] = nil
		s.timeWait = s.timeWait[1:]
		if old.deleted || old.tcb.State() != spec.TimeWait {
			continue
		}
		s.stats.TimeWaitEvicted++
		old.tw.release()
		old.handle(spec.TimeWaitTimeout, nil, nil)
	}
	// Forget entries that left TIME-WAIT, so the queue stays bounded.
	for len(s.timeWait) > 0 && (s.timeWait[0].deleted || s.timeWait[0].tcb.State() != spec.TimeWait) {
		s.timeWait[0] = nil
		s.timeWait = s.timeWait[1:]
	}
	if len(s.timeWait) > 2*s.twCount+64 {
		live := s.timeWait[:0]
		for _, x := range s.timeWait {
			if !x.deleted && x.tcb.State() == spec.TimeWait {
				live = append(live, x)
			}
		}
		clear(s.timeWait[len(live):])
		s.timeWait = live
	}
}

// TimeWait returns the number of connections in TIME-WAIT.
func (s *Stack) TimeWait() int {
	s.mu.Lock()
	defer s.unlock()
	return s.twCount
}

// heard notes that a segment from the peer arrived: the keepalive count
// starts again (RFC 1122 §4.2.3.6).
func (c *Conn) heard() {
	c.lastHeard = c.s.now()
	c.kaProbes = 0
}

// armKeepAlive arms the keepalive timer of an idle connection in a state
// where it runs (spec.State.Runs): nothing unacknowledged (else the
// retransmission and user timers watch the peer) and Options.KeepAlive
// set.
func (c *Conn) armKeepAlive(now time.Time, outstanding bool) {
	idle := c.s.opt.KeepAlive
	if !c.tcb.State().Runs(spec.TimerKeepAlive) {
		c.ka.halt()
		return
	}
	if idle <= 0 || outstanding {
		c.ka.stop()
		return
	}
	if c.lastHeard.IsZero() {
		c.lastHeard = now
	}
	// The first probe after the idle time, each next one an interval later.
	at := c.lastHeard.Add(idle + time.Duration(c.kaProbes)*c.s.opt.KeepAliveInterval)
	c.ka.set(c, at, (*Conn).onKeepAlive)
}

// onKeepAlive runs when the keepalive timer fires on an idle connection
// (RFC 1122 §4.2.3.6): the table decides what happens, as it does for the
// retransmission timer. With probes left the event is KeepAliveTimeout,
// whose rows send the probe <SEQ=SND.NXT-1><ACK=RCV.NXT><CTL=ACK>; once
// KeepAliveProbes probes went unanswered it is KeepAliveExhausted, whose
// rows reset the connection and tell the user it timed out. The shell
// keeps only the count of unanswered probes (heard starts it again) and
// the timer's durations.
func (c *Conn) onKeepAlive() {
	e := spec.KeepAliveTimeout
	if c.kaProbes >= c.s.opt.KeepAliveProbes {
		e = spec.KeepAliveExhausted
	} else {
		// Counted here, not by the row's action, so that the timer moves
		// on by an interval whatever the row does.
		c.kaProbes++
	}
	c.handle(e, nil, nil)
}
