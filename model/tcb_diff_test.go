package model_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"pgregory.net/rapid"

	"github.com/tcpcheck/tcpcheck/model"
	"github.com/tcpcheck/tcpcheck/spec"
)

// TestCompactEffectsMatchSpecTCB holds the model's compact copy of the
// actions' effects (host.go's apply, over byte-sized sequence numbers) to
// spec's TCB, the one home of what each action does. rapid walks the
// model's state space at random; every row a host applies is applied
// again, action by action, to a spec.TCB that mirrors that host with its
// sequence numbers moved near 2^32, so the walk crosses the wrap. After
// each step the state, ISS, IRS, SND.UNA, SND.NXT, RCV.NXT, the FIN flag,
// the passive flag and the segments sent must agree.
func TestCompactEffectsMatchSpecTCB(t *testing.T) {
	cfgs := []func() model.Config{
		model.DefaultConfig,
		func() model.Config {
			c := model.DefaultConfig()
			c.Abort, c.Inject, c.Also = "a", 2, nil
			return c
		},
		func() model.Config {
			c := model.DefaultConfig()
			c.Open, c.Closer, c.Abort, c.Inject, c.Also = "simultaneous", "both", "b", 1, nil
			return c
		},
		func() model.Config {
			// Keepalive probes and giving the peer up (RFC 1122 §4.2.3.6).
			c, _ := model.Preset("small")
			c.KeepAlive, c.Loss = 2, 2
			return c
		},
	}
	systems := make([]*model.System, len(cfgs))
	for i, f := range cfgs {
		s, err := model.New(f())
		if err != nil {
			t.Fatal(err)
		}
		systems[i] = s
	}
	rapid.Check(t, func(rt *rapid.T) {
		sys := systems[rapid.IntRange(0, len(systems)-1).Draw(rt, "config")]
		// The model's sequence numbers are bytes from 0; the mirror's
		// start this far below 2^32 and wrap during the walk.
		off := spec.Seq(0) - spec.Seq(rapid.IntRange(1, 200).Draw(rt, "below 2^32"))
		inits := sys.Init()
		k := inits[rapid.IntRange(0, len(inits)-1).Draw(rt, "init")]
		m, err := newMirror(sys, off, sys.Decode(k))
		if err != nil {
			rt.Fatal(err)
		}
		var buf []model.Transition
		steps := rapid.IntRange(1, 150).Draw(rt, "steps")
		for i := range steps {
			buf = sys.Next(k, buf[:0])
			if len(buf) == 0 {
				return
			}
			tr := buf[rapid.IntRange(0, len(buf)-1).Draw(rt, fmt.Sprintf("move %d", i))]
			if err := m.step(tr, sys.Decode(tr.To)); err != nil {
				rt.Fatalf("step %d (%s host %c %s): %v", i, tr.Step.Kind, "AB"[tr.Step.Host], tr.Step.Event, err)
			}
			k = tr.To
		}
	})
}

// mirror is two spec TCBs that follow the model's hosts.
type mirror struct {
	sys    *model.System
	rows   []spec.Row
	off    spec.Seq
	tcb    [2]spec.TCB
	queued [2]uint32 // text the user handed to SEND, as the model's rows queue it
	inc    int
	eff    spec.Effect
}

// newMirror starts the mirror at an initial state, where every host is
// CLOSED or, a server, LISTEN.
func newMirror(sys *model.System, off spec.Seq, init model.State) (*mirror, error) {
	m := &mirror{sys: sys, rows: sys.Rows(), off: off, inc: init.Incarnation}
	for h, x := range init.Hosts {
		switch x.State {
		case spec.Closed:
			m.tcb[h] = spec.NewTCB()
		case spec.Listen:
			m.tcb[h] = spec.NewListenTCB()
		default:
			return nil, fmt.Errorf("initial state has host %c in %s", "AB"[h], x.State)
		}
	}
	return m, nil
}

// real maps a model sequence number into the mirror's space.
func (m *mirror) real(s spec.Seq) spec.Seq { return m.off + s }

// seg is a model segment as the mirror's TCB reads it: a window that never
// limits (the model's send window covers everything), no options.
func (m *mirror) seg(s model.Segment) spec.Segment {
	return spec.Segment{Seq: m.real(s.Seq), Ack: m.real(s.Ack), Flags: s.Flags, Window: 255, Len: uint32(s.Len)}
}

func (m *mirror) step(tr model.Transition, after model.State) error {
	st := tr.Step
	if after.Incarnation != m.inc {
		m.inc = after.Incarnation
		m.queued = [2]uint32{}
	}
	if st.Row < 0 {
		return m.compare(after)
	}
	h := int(st.Host)
	t := &m.tcb[h]
	row := m.rows[st.Row]
	var in *spec.Segment
	if st.Event.IsSegment() {
		v := m.seg(st.Seg)
		in = &v
	}
	if st.Event == spec.Send && (row.Actions().Has(spec.QueueText) || row.Actions().Has(spec.SendText)) {
		n, err := strconv.Atoi(strings.TrimPrefix(st.Call, "write "))
		if err != nil {
			return fmt.Errorf("SEND call %q: %v", st.Call, err)
		}
		m.queued[h] += uint32(n)
	}
	// The model's octet stands for a full-sized segment in the delayed
	// ACK's count (RFC 9293 §3.8.6.3: an ACK for at least every second
	// one): MSS 1, and no cutting of the model's text (SendMSS).
	p := spec.Params{RcvWnd: 4, MSS: 1, SendMSS: 255, ISS: m.real(after.Hosts[h].ISS),
		Unsent: m.queued[h] - t.TextSent(), FinQueued: false}
	m.eff.Reset()
	for _, a := range row.Do {
		if a == spec.SendText {
			p.Unsent = m.queued[h] - t.TextSent()
		}
		t.Apply(a, in, p, &m.eff)
	}
	t.Enter(row.To)
	if n := len(m.eff.Out); n != int(st.NSent) {
		return fmt.Errorf("row %q: the model sent %d segments, spec's TCB %d: %+v", row.Name(), st.NSent, n, m.eff.Out)
	}
	for i := 0; i < len(m.eff.Out) && i < len(st.Sent); i++ {
		got, want := m.eff.Out[i], st.Sent[i]
		wantAck := m.real(want.Ack)
		if got.Flags.Has(spec.RST) && got.Flags.Has(spec.ACK) {
			// The reply RST without ACK in the segment it answers:
			// <SEQ=0>, an absolute zero.
			if want.Seq != 0 || got.Seq != 0 || got.Ack != wantAck {
				return fmt.Errorf("row %q: RST,ACK sent: model %s, spec %+v", row.Name(), want, got)
			}
			continue
		}
		if got.Flags&^spec.PSH != want.Flags || got.Seq != m.real(want.Seq) || got.Len != uint32(want.Len) ||
			want.Flags.Has(spec.ACK) && got.Ack != wantAck {
			return fmt.Errorf("row %q: segment %d sent: model %s, spec seq=%d ack=%d len=%d %s", row.Name(), i, want,
				got.Seq-m.off, got.Ack-m.off, got.Len, got.Flags)
		}
	}
	return m.compare(after)
}

func (m *mirror) compare(after model.State) error {
	for h := range 2 {
		t, x := &m.tcb[h], after.Hosts[h]
		if t.State() != x.State {
			return fmt.Errorf("host %c: model %s, spec's TCB %s", "AB"[h], x.State, t.State())
		}
		if !x.State.HasTCB() {
			continue
		}
		iss, _ := t.ISS()
		irs, _ := t.IRS()
		type v struct {
			name      string
			got, want spec.Seq
		}
		vars := []v{{"ISS", iss, x.ISS}, {"SND.UNA", t.SndUna(), x.SndUna}, {"SND.NXT", t.SndNxt(), x.SndNxt}}
		if x.State != spec.SynSent {
			vars = append(vars, v{"IRS", irs, x.IRS}, v{"RCV.NXT", t.RcvNxt(), x.RcvNxt})
		}
		for _, c := range vars {
			if c.got != m.real(c.want) {
				return fmt.Errorf("host %c in %s: %s: model %d, spec's TCB %d", "AB"[h], x.State, c.name, c.want, c.got-m.off)
			}
		}
		if t.FinSent() != x.FinSent || t.Passive() != x.Passive {
			return fmt.Errorf("host %c in %s: FIN sent %v/%v, passive %v/%v (model/spec)", "AB"[h], x.State,
				x.FinSent, t.FinSent(), x.Passive, t.Passive())
		}
	}
	return nil
}
