package capture

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/tcpcheck/tcpcheck/spec"
)

// Options control a check.
type Options struct {
	// Strict makes named deviations (delayed ACK, Linux's deviations)
	// failures.
	Strict bool
	// VerifyChecksums makes a segment with a wrong TCP checksum a failure
	// of its connection. Otherwise such segments (common on the sending
	// side of loopback and of NICs with checksum offload) are counted and
	// checked like the others.
	VerifyChecksums bool
	// Workers is the number of goroutines checking connections; 0 means
	// GOMAXPROCS.
	Workers int
	// ReportOnClose reports a connection as soon as both hosts have
	// closed (for --follow), rather than when it falls silent.
	ReportOnClose bool
	// MinTimeWait is the least time a host stays in TIME-WAIT, 2*MSL for
	// the shortest MSL its hosts may use: a host that leaves it sooner
	// after its 2MSL timer started is reported ([DevTimeWaitShort]). 0
	// means 1 s (2*500 ms, the shortest MSL of tcpcheck's own tools);
	// negative turns the check off.
	MinTimeWait time.Duration
	// CaptureDropped says the capture may have dropped packets (tcpdump's
	// "packets dropped by kernel"): an ACK beyond everything the capture
	// showed its peer sending is then taken as acknowledging text the
	// capture missed ([DevMissedByCapture]), where otherwise it is a
	// finding (a host acknowledging text never sent).
	CaptureDropped bool
	// Idle is how long (in capture time) a connection may be silent before
	// it is reported and forgotten; 0 means 2 minutes.
	Idle time.Duration
	// OnConn, when set, receives each connection's report as soon as it is
	// done (closed and silent, replaced by a new incarnation, or at the end
	// of the capture), from any goroutine but one at a time.
	OnConn func(*ConnReport)
}

// Summary is the outcome of checking a capture.
type Summary struct {
	Format      string `json:"format"`
	LinkType    string `json:"link_type"`
	Frames      int    `json:"frames"`
	Segments    int    `json:"segments"`
	Skipped     Skip   `json:"skipped"`
	Connections int    `json:"connections"`
	Conforming  int    `json:"conforming"`
	Deviating   int    `json:"deviating"` // conforming but for named deviations
	Failing     int    `json:"failing"`
	// MayHaveDropped counts the failing connections whose finding may be
	// packets the capture missed (Finding.CaptureMayHaveDropped).
	MayHaveDropped int `json:"may_have_dropped,omitempty"`
	MidStart       int `json:"mid_start"`
	LateACKs       int `json:"late_acks"` // connections with an ACK later than RFC 1122 §4.2.3.2 allows (DevLateACK)
	// ShortTimeWaits counts the connections with a TIME-WAIT shorter than
	// Options.MinTimeWait (DevTimeWaitShort).
	ShortTimeWaits int `json:"short_time_waits"`
	BadChecksums   int `json:"bad_checksums"`
	// CaptureDropped is how many packets the capture itself dropped, as
	// a pcapng file's interface statistics count them (nil: the file does
	// not say). Text it missed shows as the deviations
	// reordered-before-capture and missed-by-capture.
	CaptureDropped *uint64       `json:"capture_dropped,omitempty"`
	Elapsed        time.Duration `json:"elapsed_ns"`
	Conns          []*ConnReport `json:"connections_checked,omitempty"`
}

// ConnReport is the verdict on one connection.
type ConnReport struct {
	ID         int    `json:"id"` // by first frame, from 1
	Client     string `json:"client"`
	Server     string `json:"server"`
	FirstFrame int    `json:"first_frame"`
	LastFrame  int    `json:"last_frame"`
	Segments   int    `json:"segments"`
	MidStart   bool   `json:"mid_start,omitempty"`
	// Older: the capture starts with the client's SYN, and the server's
	// first segment acknowledges a connection it had before (half-open):
	// its first state is inferred from that segment.
	Older         bool         `json:"server_had_older_connection,omitempty"`
	ClientStates  []string     `json:"client_states"`
	ServerStates  []string     `json:"server_states"`
	Conforms      bool         `json:"conforms"`
	Finding       *Finding     `json:"finding,omitempty"`
	Deviations    []*Deviation `json:"deviations,omitempty"`
	BadChecksums  int          `json:"bad_checksums,omitempty"`
	OldCopies     int          `json:"old_incarnation_copies,omitempty"`
	CapturedTwice int          `json:"captured_twice,omitempty"`
	Table         []SegmentRow `json:"segments_around_finding,omitempty"`
}

// SegmentRow is one line of a report's segment table.
type SegmentRow struct {
	Frame   int    `json:"frame"`
	Time    string `json:"time"`
	From    string `json:"from"` // "client" or "server"
	Segment string `json:"segment"`
	Window  uint16 `json:"window"`
	Note    string `json:"note,omitempty"`
}

// batch is a run of segments for one worker.
type batch []Segment

// worker checks the connections whose 4-tuples hash to it.
type worker struct {
	opt   *Options
	conns map[connKey]*conn
	now   int64
	// start is the capture time of the capture's first segment, written
	// by the reader before it sends the worker any.
	start *int64
	sweep int
	swept int64 // capture time of the last sweep
	spare spares
	// last is the connection of the last segment (in conns).
	last *conn
	// recent holds connections of conns by their segments' hash (Check
	// sets Segment.hash), so that most segments find theirs without the
	// key and the map; a slot is nil or a connection in conns.
	recent [256]*conn
}

// Check reads every segment of r, checks each connection, and returns the
// summary, with every connection's report in Conns (sorted by first
// frame) unless opt.OnConn takes them. ctx ends a check early (for
// --follow): the connections read so far are reported.
func Check(ctx context.Context, r *Reader, opt Options) (*Summary, error) {
	start := time.Now()
	nw := opt.Workers
	if nw <= 0 {
		nw = runtime.GOMAXPROCS(0)
	}
	switch {
	case opt.MinTimeWait == 0:
		opt.MinTimeWait = time.Second
	case opt.MinTimeWait < 0:
		opt.MinTimeWait = 0
	}
	if opt.Idle <= 0 {
		opt.Idle = 2 * time.Minute
	}
	var mu sync.Mutex
	sum := &Summary{Format: r.Format, LinkType: r.LinkType().String()}
	id := 0
	deliver := func(rep *ConnReport) {
		mu.Lock()
		defer mu.Unlock()
		sum.Connections++
		switch {
		case rep.Finding != nil || !rep.Conforms:
			sum.Failing++
			if rep.Finding != nil && rep.Finding.CaptureMayHaveDropped {
				sum.MayHaveDropped++
			}
		case len(rep.Deviations) > 0:
			sum.Deviating++
			sum.Conforming++
		default:
			sum.Conforming++
		}
		if rep.MidStart {
			sum.MidStart++
		}
		for _, d := range rep.Deviations {
			switch d.Name {
			case DevLateACK:
				sum.LateACKs++
			case DevTimeWaitShort:
				sum.ShortTimeWaits++
			}
		}
		sum.BadChecksums += rep.BadChecksums
		if opt.OnConn != nil {
			id++
			rep.ID = id
			opt.OnConn(rep)
		} else {
			sum.Conns = append(sum.Conns, rep)
		}
	}
	var capStart int64
	chans := make([]chan batch, nw)
	// Batches go back to the reader once checked: writing into memory
	// already touched is much cheaper than into fresh pages.
	free := make(chan batch, 16*nw)
	var wg sync.WaitGroup
	for i := range chans {
		chans[i] = make(chan batch, 8)
		w := &worker{opt: &opt, conns: map[connKey]*conn{}, start: &capStart}
		wg.Add(1)
		go func(ch chan batch) {
			defer wg.Done()
			for b := range ch {
				for j := range b {
					w.add(&b[j], deliver)
				}
				select {
				case free <- b[:0]:
				default:
				}
			}
			w.flush(deliver)
		}(chans[i])
	}
	bufs := make([]batch, nw)
	batchSize := 512
	if opt.ReportOnClose {
		// A capture being written: every segment goes to its worker at
		// once, so that a connection is reported when it closes.
		batchSize = 1
	}
	var readErr error
	for {
		if ctx.Err() != nil {
			break
		}
		var s Segment
		err := r.Next(&s)
		if err != nil {
			if !errors.Is(err, io.EOF) {
				readErr = err
			}
			break
		}
		sum.Segments++
		if sum.Segments == 1 {
			capStart = s.Time.UnixNano()
		}
		// The same worker, and the same slot of its recent connections,
		// for both directions: a sum is symmetric.
		s.hash = endpointHash(s.Src) + endpointHash(s.Dst)
		i := int(s.hash % uint64(nw))
		bufs[i] = append(bufs[i], s)
		if len(bufs[i]) == batchSize {
			chans[i] <- bufs[i]
			select {
			case bufs[i] = <-free:
			default:
				bufs[i] = make(batch, 0, batchSize)
			}
		}
	}
	for i := range chans {
		if len(bufs[i]) > 0 {
			chans[i] <- bufs[i]
		}
		close(chans[i])
	}
	wg.Wait()
	sum.Frames = r.frame
	sum.Skipped = r.Skip
	if n, ok := r.Dropped(); ok {
		sum.CaptureDropped = &n
	}
	sort.Slice(sum.Conns, func(i, j int) bool { return sum.Conns[i].FirstFrame < sum.Conns[j].FirstFrame })
	for i, c := range sum.Conns {
		c.ID = i + 1
	}
	sum.LinkType = r.LinkType().String() // a pcapng file names its first interface's once it has been read
	sum.Elapsed = time.Since(start)
	return sum, readErr
}

// carries reports whether s is a segment of c's 4-tuple (false for a nil
// c).
func (c *conn) carries(s *Segment) bool {
	return c != nil && (s.Src == c.hosts[0] && s.Dst == c.hosts[1] || s.Src == c.hosts[1] && s.Dst == c.hosts[0])
}

func (w *worker) add(s *Segment, deliver func(*ConnReport)) {
	w.now = s.Time.UnixNano()
	// Segments of one connection often come in runs: the connection of
	// the last segment is at hand without a key and a lookup.
	slot := &w.recent[s.hash%uint64(len(w.recent))]
	c := w.last
	if !c.carries(s) {
		if c = *slot; !c.carries(s) {
			c = w.conns[keyOf(s.Src, s.Dst)]
			*slot = c
		}
	}
	if c != nil && s.Flags&(spec.SYN|spec.ACK|spec.RST) == spec.SYN {
		d := c.dirOf(s)
		if (c.ended() || c.fail != nil) && !(c.info[d].sawSYN && c.info[d].synSeq == s.Seq) {
			// A new SYN after the connection ended (or failed the check):
			// a new incarnation.
			prev := c
			if !prev.reported {
				deliver(prev.report(w.opt))
			}
			prev.release()
			c = newConn(0, s, &w.spare)
			c.minTW, c.dropped, c.capStart = int64(w.opt.MinTimeWait), w.opt.CaptureDropped, *w.start
			for x := uint8(0); x < 2; x++ {
				pi := &prev.info[x]
				nd := x
				if prev.hosts[x] != c.hosts[x] {
					nd = 1 - x
				}
				if pi.anySent {
					c.info[nd].havePrev, c.info[nd].prevLo, c.info[nd].prevHi = true, pi.synSeq, pi.maxEnd
				}
			}
			w.conns[keyOf(s.Src, s.Dst)] = c
			*slot = c
		}
	}
	if c == nil {
		c = newConn(0, s, &w.spare)
		c.minTW, c.dropped, c.capStart = int64(w.opt.MinTimeWait), w.opt.CaptureDropped, *w.start
		w.conns[keyOf(s.Src, s.Dst)] = c
		*slot = c
	}
	w.last = c
	c.add(s)
	if w.opt.VerifyChecksums && s.Sum == SumBad && c.fail == nil {
		c.fail = &Finding{Frame: s.Frame, Host: hostName(c.dirOf(s)), Segment: segString(&spec.Segment{Seq: s.Seq, Ack: s.Ack, Flags: s.Flags, Len: s.Len}),
			Reasons: []string{"the TCP checksum is wrong (--verify-checksums)"}}
	}
	c.lastNanos = w.now
	if c.ended() && !c.compacted && c.fail == nil && c.closed() {
		// Both hosts are done: keep the verdict and the state lines, let
		// go of the buffers (memory follows the connections open).
		c.compact()
		if w.opt.ReportOnClose && !c.reported {
			c.reported = true
			deliver(c.report(w.opt))
		}
	}
	if w.opt.ReportOnClose && !c.reported && c.fail != nil && c.after >= afterFinding {
		c.reported = true
		deliver(c.report(w.opt))
	}
	// Look for silent connections every quarter of the idle time (of
	// capture time), and no more often than every 4096 segments.
	if w.sweep++; w.sweep >= 4096 && w.now-w.swept >= int64(w.opt.Idle/4) {
		w.sweep, w.swept = 0, w.now
		w.expire(deliver)
	}
}

// expire reports and forgets the connections silent for opt.Idle, and
// lets go of the buffers of those that failed.
func (w *worker) expire(deliver func(*ConnReport)) {
	w.last = nil
	clear(w.recent[:])
	limit := w.now - int64(w.opt.Idle)
	for k, c := range w.conns {
		switch {
		case c.lastNanos < limit:
			if !c.reported {
				deliver(c.report(w.opt))
			}
			c.release()
			delete(w.conns, k)
		case c.fail != nil && c.after >= afterFinding && !c.compacted:
			// The verdict is in: let go of the buffers, but keep the
			// 4-tuple, so that the connection's later segments are
			// counted with it and do not start a connection of their own.
			c.compact()
		}
	}
}

// flush reports every connection left.
func (w *worker) flush(deliver func(*ConnReport)) {
	w.last = nil
	clear(w.recent[:])
	for k, c := range w.conns {
		if !c.reported {
			deliver(c.report(w.opt))
		}
		c.release()
		delete(w.conns, k)
	}
}

// report renders the verdict on c.
func (c *conn) report(opt *Options) *ConnReport {
	rep := &ConnReport{Client: c.hosts[0].String(), Server: c.hosts[1].String(), FirstFrame: c.first, LastFrame: c.last,
		Segments: c.segs, MidStart: c.mid, Older: c.info[1-c.hsFrom].older, Finding: c.fail, BadChecksums: c.badSums, OldCopies: c.old, CapturedTwice: c.twice}
	for _, s := range c.finalStates(0) {
		rep.ClientStates = append(rep.ClientStates, s.String())
	}
	for _, s := range c.finalStates(1) {
		rep.ServerStates = append(rep.ServerStates, s.String())
	}
	names := make([]string, 0, len(c.devs))
	for n := range c.devs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		rep.Deviations = append(rep.Deviations, c.devs[n])
	}
	rep.Conforms = c.fail == nil && !(opt.Strict && len(rep.Deviations) > 0)
	if c.fail != nil {
		for _, r := range c.ringRecs() {
			row := SegmentRow{Frame: r.frame, Time: time.Unix(0, r.nanos).UTC().Format("15:04:05.000000"), From: hostName(r.dir),
				Segment: segString(&r.seg), Window: r.seg.Window}
			if r.frame == c.fail.Frame {
				row.Note = "<- not explained"
			} else if r.old {
				row.Note = "copy from the earlier incarnation"
			}
			rep.Table = append(rep.Table, row)
		}
	}
	return rep
}

// String renders a duration of the summary.
func (s *Summary) String() string {
	late := ""
	if s.LateACKs > 0 {
		late = fmt.Sprintf(", %d with %s: an ACK later than RFC 1122 §4.2.3.2 allows", s.LateACKs, DevLateACK)
	}
	if s.ShortTimeWaits > 0 {
		late += fmt.Sprintf(", %d with %s: TIME-WAIT shorter than 2*MSL", s.ShortTimeWaits, DevTimeWaitShort)
	}
	return fmt.Sprintf("%d connections checked: %d conform (%d of them with named deviations%s), %d do not; %d segments in %d frames, %v",
		s.Connections, s.Conforming, s.Deviating, late, s.Failing, s.Segments, s.Frames, s.Elapsed.Round(time.Millisecond))
}

// closed reports whether both hosts of c are done: the connection ended
// and each host's shadow is in CLOSED, LISTEN or TIME-WAIT.
func (c *conn) closed() bool {
	if !c.ended() || c.fail != nil {
		return false
	}
	for d := uint8(0); d < 2; d++ {
		st := c.finalStates(d)
		if len(st) == 0 {
			return false
		}
		switch st[len(st)-1] {
		case spec.Closed, spec.Listen, spec.TimeWait:
		default:
			return false
		}
	}
	return true
}

// TraceConn is one connection of a capture as segment rows.
type TraceConn struct {
	Client, Server string
	Rows           []SegmentRow
}

// Connections reads the whole capture and splits it into connections (by
// 4-tuple, and a new SYN after a FIN from each side or a RST starts a new
// incarnation), in the order of their first frames.
func Connections(r *Reader) ([]TraceConn, error) {
	type state struct {
		i               int
		client          netip.AddrPort
		fin0, fin1, rst bool
	}
	var out []TraceConn
	open := map[connKey]*state{}
	for {
		var s Segment
		err := r.Next(&s)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return out, err
		}
		k := keyOf(s.Src, s.Dst)
		st := open[k]
		if st != nil && s.Flags&(spec.SYN|spec.ACK|spec.RST) == spec.SYN && (st.rst || st.fin0 && st.fin1) {
			st = nil
		}
		if st == nil {
			st = &state{i: len(out), client: s.Src}
			open[k] = st
			out = append(out, TraceConn{Client: s.Src.String(), Server: s.Dst.String()})
		}
		from := "client"
		if s.Src != st.client {
			from = "server"
		}
		switch {
		case s.Flags.Has(spec.RST):
			st.rst = true
		case s.Flags.Has(spec.FIN) && from == "client":
			st.fin0 = true
		case s.Flags.Has(spec.FIN):
			st.fin1 = true
		}
		seg := spec.Segment{Seq: s.Seq, Ack: s.Ack, Flags: s.Flags, Len: s.Len}
		out[st.i].Rows = append(out[st.i].Rows, SegmentRow{Frame: s.Frame, Time: s.Time.UTC().Format("15:04:05.000000"), From: from, Segment: segString(&seg), Window: s.Window})
	}
}

// compact lets go of c's scratch buffers once both hosts are done. The
// candidates and the pending segments stay: a lost last ACK brings a
// retransmitted FIN that only the lazier candidate explains.
func (c *conn) compact() {
	c.spare.putCands(c.nbuf)
	c.nbuf = nil
	for x := 0; x < 2; x++ {
		old := c.sent[x]
		c.sent[x] = append(old[:0:0], old...)
		c.spare.putSent(old)
		oc := c.cands[x]
		c.cands[x] = append(oc[:0:0], oc...)
		c.spare.putCands(oc)
	}
	c.compacted = true
}

// endpointHash mixes an address and port into 64 bits (splitmix64's
// finalizer over the folded address).
func endpointHash(ap netip.AddrPort) uint64 {
	var x uint64
	if a := ap.Addr(); a.Is4() {
		b := a.As4()
		x = uint64(binary.LittleEndian.Uint32(b[:]))
	} else {
		b := a.As16()
		x = binary.LittleEndian.Uint64(b[:8]) ^ binary.LittleEndian.Uint64(b[8:])*0x9e3779b97f4a7c15
	}
	x ^= uint64(ap.Port()) << 32
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}
