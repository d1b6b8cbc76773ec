package lin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/tcpcheck/tcpcheck/check/live/conform"
	"github.com/tcpcheck/tcpcheck/impl"
)

// Options configure a workload.
type Options struct {
	Conns    int           // connections dialled; default 20
	Ops      int           // writes, half-closes and aborts over all connections; default 50 per connection
	Faults   Faults        // what the relay does to segments
	Parallel int           // connections in progress at once; default 32
	Refused  int           // dials to a port without a listener; default 1 + Conns/50
	Seed     uint64        // seeds the workload and the relay
	Timeout  time.Duration // limit of the linearizability check; default 2 min (never 0: Unknown is reported)
	// Conform, when set, replays every transition of both stacks through
	// the reference table (package conform) as the workload runs; the
	// first divergence is in Result.Divergence.
	Conform bool
	// dupRead, for tests only, makes the accepting end of every
	// connection a broken endpoint: every dupRead-th read that returns
	// text returns the same text again on the next read.
	dupRead int
}

func (o *Options) fill() error {
	if o.Conns == 0 {
		o.Conns = 20
	}
	if o.Ops == 0 {
		o.Ops = 50 * o.Conns
	}
	if o.Parallel == 0 {
		o.Parallel = 32
	}
	if o.Refused == 0 {
		o.Refused = 1 + o.Conns/50
	}
	if o.Timeout == 0 {
		o.Timeout = 2 * time.Minute
	}
	switch {
	case o.Conns < 1 || o.Conns > 10000:
		return fmt.Errorf("lin: %d connections: want 1 to 10000", o.Conns)
	case o.Ops < o.Conns:
		return fmt.Errorf("lin: %d operations for %d connections: want at least one per connection", o.Ops, o.Conns)
	case o.Ops > 1_000_000:
		return fmt.Errorf("lin: %d operations: want at most 1000000", o.Ops)
	case o.Parallel < 1:
		return fmt.Errorf("lin: parallel %d: want at least 1", o.Parallel)
	case o.Refused < 0:
		return fmt.Errorf("lin: refused dials %d must not be negative", o.Refused)
	case o.Timeout < 0:
		return fmt.Errorf("lin: check timeout %v must be positive", o.Timeout)
	}
	return o.Faults.validate()
}

// Result is a workload's history and the verdict on it.
type Result struct {
	Verdict      porcupine.CheckResult // Ok, Illegal or Unknown (the check timed out)
	Operations   int                   // operations in the history
	StreamOps    int                   // of which reads, writes, half-closes and aborts
	EstablishOps int                   // of which dials, accepts and census entries
	Partitions   int                   // connections plus 4-tuples (plus one for refused dials)
	Connections  int                   // connections established
	Counts       Counts                // what the history holds
	Workload     time.Duration         // how long the workload ran
	Check        time.Duration         // how long porcupine took
	Relay        RelayStats
	Transitions  int   // transitions replayed through the reference table (with Options.Conform)
	Divergence   error // the first transition the table does not allow, or nil
	History      []porcupine.Operation
	timeout      time.Duration
}

// WriteHTML writes porcupine's visualisation of the history (one section
// per partition, with the linearization found or the longest partial one).
// It checks the history again, computing every partition's longest
// linearization, which the timed check does not.
func (r *Result) WriteHTML(path string) error {
	_, info := porcupine.CheckOperationsVerbose(Model, r.History, r.timeout)
	if err := porcupine.VisualizePath(Model, info, path); err != nil {
		return fmt.Errorf("lin: writing %s: %w", path, err)
	}
	return nil
}

// Counts break a history down by what happened.
type Counts struct {
	Writes, Reads, EOFs, Resets, HalfCloses, Aborts, Refused int
}

func (c Counts) String() string {
	return fmt.Sprintf("%d writes, %d reads (%d end of stream, %d reset), %d half-closes, %d aborts, %d refused dials",
		c.Writes, c.Reads, c.EOFs, c.Resets, c.HalfCloses, c.Aborts, c.Refused)
}

// CountOps breaks ops down by kind and outcome.
func CountOps(ops []porcupine.Operation) (c Counts, stream, establish int) {
	for _, op := range ops {
		in, out := op.Input.(Input), op.Output.(Output)
		switch in.Kind {
		case Dial, Accept, Census:
			establish++
		default:
			stream++
		}
		switch in.Kind {
		case Write:
			c.Writes++
		case Read:
			c.Reads++
			c.EOFs += b2i(out.Err == ErrEOF)
			c.Resets += b2i(out.Err == ErrReset)
		case CloseWrite:
			c.HalfCloses++
		case Abort:
			c.Aborts++
		case Dial:
			c.Refused += b2i(out.Err == ErrRefused)
		}
	}
	return c, stream, establish
}

// recorder collects the history; timestamps come from one monotonic clock.
// Each client (a goroutine that calls the endpoint) appends to a log of its
// own, so recording takes no lock and boxes nothing: the operations become
// porcupine's after the workload.
type recorder struct {
	start time.Time
	mu    sync.Mutex // guards logs, taken once per client
	logs  []*clientLog
}

// clientLog is one client's operations, in the order it made them.
type clientLog struct {
	id  int
	ops []record
}

type record struct {
	in        Input
	out       Output
	call, ret int64
}

func newRecorder() *recorder { return &recorder{start: time.Now()} }

func (r *recorder) now() int64 { return time.Since(r.start).Nanoseconds() }

// client returns the log of a new client; only one goroutine may use it.
func (r *recorder) client() *clientLog {
	r.mu.Lock()
	defer r.mu.Unlock()
	l := &clientLog{id: len(r.logs)}
	r.logs = append(r.logs, l)
	return l
}

func (l *clientLog) add(in Input, call int64, out Output, ret int64) {
	l.ops = append(l.ops, record{in, out, call, ret})
}

// history returns every client's operations; call it once every client
// has finished.
func (r *recorder) history() []porcupine.Operation {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, l := range r.logs {
		n += len(l.ops)
	}
	ops := make([]porcupine.Operation, 0, n)
	for _, l := range r.logs {
		for _, o := range l.ops {
			ops = append(ops, porcupine.Operation{ClientId: l.id, Input: o.in, Call: o.call, Output: o.out, Return: o.ret})
		}
	}
	return ops
}

func errKind(err error) ErrKind {
	switch {
	case err == nil:
		return ErrNone
	case errors.Is(err, io.EOF):
		return ErrEOF
	case errors.Is(err, impl.ErrConnReset):
		return ErrReset
	case errors.Is(err, impl.ErrConnRefused):
		return ErrRefused
	case errors.Is(err, net.ErrClosed):
		return ErrClosed
	case errors.Is(err, impl.ErrClosing):
		return ErrClosing
	}
	return ErrOther
}

// Record runs a workload over two stacks on the udp link (loopback) joined
// by a fault-injecting relay and returns its history, unchecked.
func Record(opt Options) (*Result, error) {
	if err := opt.fill(); err != nil {
		return nil, err
	}
	w, err := newWorld(opt)
	if err != nil {
		return nil, err
	}
	rec := newRecorder()
	t0 := time.Now()
	w.run(rec)
	w.close()
	res := &Result{Workload: time.Since(t0), Relay: w.relay.Stats(), Connections: int(w.established.Load()), timeout: opt.Timeout}
	if w.chk != nil {
		res.Transitions, res.Divergence = w.chk.Steps(), w.chk.Err()
	}
	res.History = rec.history()
	res.Operations = len(res.History)
	res.Counts, res.StreamOps, res.EstablishOps = CountOps(res.History)
	res.Partitions = len(Model.Partition(res.History))
	return res, nil
}

// Check checks ops against Model, every partition in parallel, and stops at
// the first partition that is not linearizable. Beyond timeout (which must
// be positive) the verdict is Unknown.
func Check(ops []porcupine.Operation, timeout time.Duration) porcupine.CheckResult {
	return porcupine.CheckOperationsTimeout(Model, ops, timeout)
}

// Run records a workload (see [Record]) and checks its history.
func Run(opt Options) (*Result, error) {
	res, err := Record(opt)
	if err != nil {
		return nil, err
	}
	t1 := time.Now()
	res.Verdict = Check(res.History, res.timeout)
	res.Check = time.Since(t1)
	return res, nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// world is the two stacks, the relay and the listener.
type world struct {
	opt         Options
	relay       *relay
	client      *impl.Stack
	server      *impl.Stack
	lst         *impl.Listener
	front       netip.AddrPort // dial this: the server listens on its port
	refusedAt   netip.AddrPort // dial this: nothing listens on its port
	established atomic.Int32
	chk         *conform.Checker

	mu      sync.Mutex
	waiting map[uint16]chan *impl.Conn // accepted connections by the client's port
	tuples  []string
}

// stackOptions configures both stacks of a workload. The caps of the
// endpoint are raised so that the workload stays inside the table: a
// stack's TIME-WAIT cap (impl's default, 4096, as Linux's
// tcp_max_tw_buckets) ends the oldest waits early once that many
// connections wait, which the conformance check rightly reports as
// TimeWaitHeld broken; every connection of the workload passes TIME-WAIT
// at most once on each stack, so a cap of Conns plus the refused dials is
// never reached. (The cap's own behaviour is impl's to test.)
func stackOptions(opt Options) impl.Options {
	n := opt.Conns + opt.Refused
	return impl.Options{RTOInitial: 300 * time.Millisecond, MSL: time.Second, Backlog: 4096,
		MaxTimeWait: max(4096, n), MaxConns: max(16384, 2*n)}
}

func newWorld(opt Options) (*world, error) {
	w := &world{opt: opt, waiting: map[uint16]chan *impl.Conn{}}
	var err error
	if w.relay, err = newRelay(opt.Faults, opt.Seed); err != nil {
		return nil, err
	}
	stackOpt := stackOptions(opt)
	if opt.Conform {
		if w.chk, err = conform.New(conform.Options{MSL: stackOpt.MSL}); err != nil {
			return nil, err
		}
		stackOpt.Tracer = w.chk.Tracer(impl.Tracer{})
	}
	cl, err := impl.NewUDPLink("127.0.0.1:0", impl.Faults{}, opt.Seed+1)
	if err != nil {
		return nil, fmt.Errorf("lin: %w", err)
	}
	sl, err := impl.NewUDPLink("127.0.0.1:0", impl.Faults{}, opt.Seed+2)
	if err != nil {
		cl.Close()
		return nil, fmt.Errorf("lin: %w", err)
	}
	if w.client, err = impl.NewStack(cl, stackOpt); err != nil {
		cl.Close()
		sl.Close()
		return nil, fmt.Errorf("lin: %w", err)
	}
	if w.server, err = impl.NewStack(sl, stackOpt); err != nil {
		w.client.Close()
		sl.Close()
		return nil, fmt.Errorf("lin: %w", err)
	}
	fail := func(err error) (*world, error) {
		w.close()
		return nil, err
	}
	if w.front, err = w.relay.wire(w.client.Addr(), w.server.Addr()); err != nil {
		return fail(err)
	}
	if w.refusedAt, err = w.relay.wire(w.client.Addr(), w.server.Addr()); err != nil {
		return fail(err)
	}
	if w.lst, err = w.server.Listen(fmt.Sprintf(":%d", w.front.Port())); err != nil {
		return fail(fmt.Errorf("lin: %w", err))
	}
	return w, nil
}

func (w *world) close() {
	if w.client != nil {
		w.client.Close()
	}
	if w.server != nil {
		w.server.Close()
	}
	w.relay.close()
}

func (w *world) slot(port uint16) chan *impl.Conn {
	w.mu.Lock()
	defer w.mu.Unlock()
	ch := w.waiting[port]
	if ch == nil {
		ch = make(chan *impl.Conn, 1)
		w.waiting[port] = ch
	}
	return ch
}

func port(a net.Addr) uint16 { return a.(*net.TCPAddr).AddrPort().Port() }

// run runs the acceptor, the refused dials and the connections, then adds
// the census entries.
func (w *world) run(rec *recorder) {
	acceptor := rec.client()
	accDone := make(chan struct{})
	go func() {
		defer close(accDone)
		for {
			call := rec.now()
			c, err := w.lst.AcceptConn()
			ret := rec.now()
			if err != nil {
				return // the listener closed at the end of the workload
			}
			tuple := fmt.Sprintf("%d>%d", port(c.RemoteAddr()), port(c.LocalAddr()))
			acceptor.add(Input{Kind: Accept}, call, Output{Tuple: tuple}, ret)
			w.slot(port(c.RemoteAddr())) <- c
		}
	}()

	var wg sync.WaitGroup
	sem := make(chan struct{}, w.opt.Parallel)
	for i := range w.opt.Refused {
		wg.Go(func() {
			log := rec.client()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			call := rec.now()
			c, err := w.client.Dial(ctx, w.refusedAt.String())
			ret := rec.now()
			out := Output{Err: errKind(err)}
			if err == nil {
				out.Tuple = fmt.Sprintf("%d>%d", port(c.LocalAddr()), port(c.RemoteAddr()))
				c.Abort()
			}
			log.add(Input{Kind: Dial, Conn: -1 - i}, call, out, ret)
		})
	}
	per := w.opt.Ops / w.opt.Conns
	extra := w.opt.Ops % w.opt.Conns
	for i := range w.opt.Conns {
		n := per
		if i < extra {
			n++
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			w.connection(rec, i, n)
		})
	}
	wg.Wait()
	w.lst.Close()
	<-accDone
	end := rec.now()
	census := rec.client()
	for _, t := range w.tuples {
		census.add(Input{Kind: Census, Tuple: t}, end, Output{}, end+1)
	}
}

// connection dials one connection, pairs it with its accepted end and runs
// concurrent writers, readers, a half-close or an abort on both ends.
func (w *world) connection(rec *recorder, i, budget int) {
	rng := rand.New(rand.NewPCG(w.opt.Seed, uint64(i)+1))
	log := rec.client()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	call := rec.now()
	a, err := w.client.Dial(ctx, w.front.String())
	ret := rec.now()
	if err != nil {
		log.add(Input{Kind: Dial, Conn: i, Listening: true}, call, Output{Err: errKind(err)}, ret)
		return
	}
	tuple := fmt.Sprintf("%d>%d", port(a.LocalAddr()), port(a.RemoteAddr()))
	log.add(Input{Kind: Dial, Conn: i, Listening: true}, call, Output{Tuple: tuple}, ret)
	w.mu.Lock()
	w.tuples = append(w.tuples, tuple)
	w.mu.Unlock()
	var b *impl.Conn
	select {
	case b = <-w.slot(port(a.LocalAddr())):
	case <-time.After(60 * time.Second):
		a.Abort() // the census records the missing accept
		return
	}
	w.established.Add(1)
	defer a.Close()
	defer b.Close()

	// The plan, drawn before any goroutine starts: the writes of each
	// side, their sizes and contents, and how the connection ends (both
	// sides half-close, or one side aborts after some of its writes).
	// Each side has one writer, one reader and one closer (or aborter)
	// running at once. (Two writers on one side would make the order of
	// their writes a guess that only the next read settles: the check
	// would have to try exponentially many orders.)
	conns := [2]*impl.Conn{a, b}
	const writersPerSide = 1
	var writes [2][writersPerSide][]string
	aborter := -1
	switch r := rng.IntN(10); {
	case r < 2:
		aborter = r // side 0 or 1 aborts
	}
	for k := range budget - 2 {
		side, wr := k%2, (k/2)%writersPerSide
		data := make([]byte, 1+rng.IntN(96))
		for j := range data {
			data[j] = byte(rng.Uint32())
		}
		writes[side][wr] = append(writes[side][wr], string(data))
	}
	abortAfter := 0
	if aborter >= 0 {
		abortAfter = rng.IntN(len(writes[aborter][0]) + 1)
	}

	var aborted [2]atomic.Bool
	var done [2]atomic.Bool // the side will write nothing more
	var wg sync.WaitGroup
	for side := range 2 {
		var writers sync.WaitGroup
		abortNow := make(chan struct{})
		var once sync.Once
		signal := func() { once.Do(func() { close(abortNow) }) }
		for wr := range writersPerSide {
			log := rec.client()
			writers.Go(func() {
				if wr == 0 && side == aborter {
					defer signal() // also when the writes end early
				}
				for k, data := range writes[side][wr] {
					if wr == 0 && side == aborter && k == abortAfter {
						signal()
					}
					if aborted[side].Load() {
						return
					}
					call := rec.now()
					n, err := conns[side].Write([]byte(data))
					ret := rec.now()
					log.add(Input{Kind: Write, Conn: i, Side: side, Data: data}, call, Output{N: n, Err: errKind(err)}, ret)
					if err != nil {
						return
					}
				}
			})
		}
		closer := rec.client()
		wg.Go(func() {
			if side == aborter {
				<-abortNow
				call := rec.now()
				err := conns[side].Abort()
				aborted[side].Store(true)
				ret := rec.now()
				closer.add(Input{Kind: Abort, Conn: i, Side: side}, call, Output{Err: errKind(err)}, ret)
				writers.Wait()
				done[side].Store(true)
				return
			}
			writers.Wait()
			if !aborted[side].Load() {
				call := rec.now()
				err := conns[side].CloseWrite()
				ret := rec.now()
				closer.add(Input{Kind: CloseWrite, Conn: i, Side: side}, call, Output{Err: errKind(err)}, ret)
			}
			done[side].Store(true)
		})
		reader := rec.client()
		wg.Go(func() {
			w.reader(rec, reader, i, side, conns[side], &done, &aborted)
		})
	}
	wg.Wait()
}

// reader reads one side until end of stream or an error. It stops early
// when the peer will write nothing more, or either side aborted, and
// reads time out twice in a row.
func (w *world) reader(rec *recorder, log *clientLog, i, side int, c *impl.Conn, done *[2]atomic.Bool, aborted *[2]atomic.Bool) {
	// Each read asks for 1 to maxRead octets, so reads are about as many
	// as writes (1 to 96 octets) and end in the middle of writes.
	const maxRead = 128
	rng := rand.New(rand.NewPCG(w.opt.Seed^0x5be0cd19137e2179, uint64(2*i+side)+1))
	buf := make([]byte, maxRead)
	var dup []byte
	reads, misses := 0, 0
	for range 1_000_000 {
		var n int
		var err error
		call := rec.now()
		if dup != nil {
			n = copy(buf, dup) // the broken endpoint hands out the same text again
			dup = nil
		} else {
			c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
			n, err = c.Read(buf[:1+rng.IntN(maxRead)])
		}
		ret := rec.now()
		if errors.Is(err, os.ErrDeadlineExceeded) && n == 0 {
			misses++
			ended := aborted[0].Load() || aborted[1].Load()
			if misses >= 2 && ended || misses >= 6 && done[1-side].Load() || misses >= 120 {
				return
			}
			continue
		}
		misses = 0
		out := Output{Err: errKind(err)}
		if n > 0 {
			out.Data = string(buf[:n])
			reads++
			if side == 1 && w.opt.dupRead > 0 && reads%w.opt.dupRead == 0 {
				dup = append([]byte(nil), buf[:n]...)
			}
		}
		log.add(Input{Kind: Read, Conn: i, Side: side}, call, out, ret)
		if err != nil {
			return
		}
	}
}
