package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/tcpcheck/tcpcheck/check/capture"
)

// pcapFlags are the flags of 'conform --pcap'.
type pcapFlags struct {
	json, strict, verify, follow, dropped bool
	minTimeWait                           time.Duration // 2*MSL (--msl)
}

// openCapture opens a capture file for the checker, with a byte counter
// for the progress line; follow keeps reading a file that is still being
// written until ctx ends.
func openCapture(ctx context.Context, path string, follow bool) (*capture.Reader, *countingReader, int64, func(), error) {
	if err := inputFile("pcap", path); err != nil {
		return nil, nil, 0, nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, 0, nil, &exitError{code: exitUsage, msg: err.Error()}
	}
	var size int64
	if st, err := f.Stat(); err == nil {
		size = st.Size()
	}
	var src io.Reader = f
	if follow {
		src = &followReader{ctx: ctx, f: f}
	}
	cr := &countingReader{r: src}
	r, err := capture.Open(cr)
	if err != nil {
		f.Close()
		switch {
		case errors.Is(err, capture.ErrJSONTrace) && jsonKind(path) == "model":
			return nil, nil, 0, nil, &exitError{code: exitUsage, msg: fmt.Sprintf("%s is a saved model trace (JSON in the \"tcpcheck-trace\" format, or explore --json), not a capture: print it with 'tcpcheck trace %s'", path, path)}
		case errors.Is(err, capture.ErrJSONTrace):
			return nil, nil, 0, nil, &exitError{code: exitUsage, msg: fmt.Sprintf("%s is a JSON trace, not a capture: check it with 'tcpcheck conform --trace %s'", path, path)}
		case errors.Is(err, capture.ErrNotCapture):
			if cr.n.Load() == 0 {
				return nil, nil, 0, nil, &exitError{code: exitUsage, msg: fmt.Sprintf("%s is empty: a capture starts with a pcap or pcapng header (write one with tcpdump -w or Wireshark)", path)}
			}
			return nil, nil, 0, nil, &exitError{code: exitUsage, msg: fmt.Sprintf("%s: not a pcap or pcapng file (it does not start with either's magic number; write one with tcpdump -w or Wireshark)", path)}
		}
		return nil, nil, 0, nil, &exitError{code: exitUsage, msg: fmt.Sprintf("%s: %v", path, err)}
	}
	return r, cr, size, func() { f.Close() }, nil
}

// conformPcap checks a capture against the table: exit 0 when every
// connection conforms, 1 when one does not, 2 when the file cannot be read
// or holds no connection to check (nothingChecked).
func conformPcap(path string, fl pcapFlags, stdout, stderr io.Writer) error {
	ctx := context.Background()
	if fl.follow {
		var stop context.CancelFunc
		ctx, stop = signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
		defer stop()
	}
	r, cr, size, done, err := openCapture(ctx, path, fl.follow)
	if err != nil {
		return err
	}
	defer done()
	opt := capture.Options{Strict: fl.strict, VerifyChecksums: fl.verify, CaptureDropped: fl.dropped, MinTimeWait: fl.minTimeWait}
	if fl.follow {
		opt.ReportOnClose = true
		opt.OnConn = func(rep *capture.ConnReport) {
			if fl.json {
				json.NewEncoder(stdout).Encode(rep)
				return
			}
			rep.WriteText(stdout)
		}
	}
	stopProgress := readProgress(stderr, cr, size, fl.follow)
	sum, err := capture.Check(ctx, r, opt)
	stopProgress()
	if err != nil && sum == nil {
		return &exitError{code: exitUsage, msg: fmt.Sprintf("%s: %v", path, err)}
	}
	if fl.json {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetIndent("", "  ")
		if err := enc.Encode(sum); err != nil {
			return err
		}
		stdout.Write(b.Bytes())
	} else {
		// One write per 64 KiB, not one per connection: a big capture has
		// tens of thousands of them.
		out := bufio.NewWriterSize(stdout, 64<<10)
		defer out.Flush()
		stdout := out
		for _, rep := range sum.Conns {
			rep.WriteText(stdout)
		}
		fmt.Fprintf(stdout, "%s: %s capture (%s)\n", path, sum.Format, sum.LinkType)
		fmt.Fprintf(stdout, "summary: %s\n", sum)
		if sum.MidStart > 0 {
			fmt.Fprintf(stdout, "  %d connections open before the capture shows them (they started before it did, or it missed their handshake): their first states are inferred\n", sum.MidStart)
		}
		if sum.BadChecksums > 0 && !fl.verify {
			fmt.Fprintf(stdout, "  %d segments carry a wrong TCP checksum (usual on the sending side of loopback and of NICs with checksum offload): checked anyway; --verify-checksums rejects them\n", sum.BadChecksums)
		}
		if n := sum.Skipped.Total(); n > 0 {
			fmt.Fprintf(stdout, "  %d frames skipped: %d not TCP, %d IP fragments, %d cut by the snap length, %d malformed, %d of an unknown link type\n",
				n, sum.Skipped.NotTCP, sum.Skipped.Fragment, sum.Skipped.Truncated, sum.Skipped.Malformed, sum.Skipped.LinkType)
		}
		if sum.MayHaveDropped > 0 {
			fmt.Fprintf(stdout, "  %d of the %d connections that do not conform fail where the capture may have missed packets (their reasons say how): "+
				"if it dropped packets (tcpdump: \"packets dropped by kernel\"), check it again with --capture-dropped\n", sum.MayHaveDropped, sum.Failing)
		}
		if d := sum.CaptureDropped; d != nil && *d > 0 {
			more := "; --capture-dropped takes an ACK beyond the text captured as acknowledging text the capture missed"
			if fl.dropped {
				more = ""
			}
			fmt.Fprintf(stdout, "  the capture dropped %d packets (its interface statistics): text it missed shows as reordered-before-capture and missed-by-capture, and can fail a connection%s; capture again with a larger buffer (dumpcap -B, tcpdump -B)\n", *d, more)
		}
	}
	if err != nil {
		return &exitError{code: exitUsage, msg: fmt.Sprintf("%s: %v (the connections read before it are reported above)", path, err)}
	}
	if sum.Connections == 0 {
		return nothingChecked(path, sum.Frames, sum.Skipped, "checked")
	}
	if sum.Failing > 0 {
		return &exitError{code: exitViolated, msg: fmt.Sprintf("%s: %d of %d connections do not conform (above)", path, sum.Failing, sum.Connections)}
	}
	return nil
}

// nothingChecked is the error for a capture without a TCP connection the
// reader can use: nothing was checked (done: "checked", "printed"), which
// is no pass (exit 2). It says why: no packets at all, or why each frame
// was skipped.
func nothingChecked(path string, frames int, skip capture.Skip, done string) error {
	if frames == 0 {
		return &exitError{code: exitUsage, msg: fmt.Sprintf("%s holds no packets (its header and nothing after it): nothing was %s; "+
			"capture again with traffic (tcpdump -w FILE stopped after the connections)", path, done)}
	}
	var why []string
	for _, k := range []struct {
		n    int
		what string
	}{
		{skip.Truncated, "cut by the snap length (capture again with tcpdump -s 0)"},
		{skip.NotTCP, "not TCP (ARP, UDP, ICMP...; a capture filter such as 'tcp' keeps only TCP)"},
		{skip.Fragment, "IP fragments (not reassembled)"},
		{skip.Malformed, "malformed"},
		{skip.LinkType, "of a link type the reader does not know (it reads Ethernet, Linux cooked, raw IP and BSD loopback)"},
	} {
		if k.n > 0 {
			why = append(why, fmt.Sprintf("%d %s", k.n, k.what))
		}
	}
	return &exitError{code: exitUsage, msg: fmt.Sprintf("%s: no connection could be %s: none of its %d frames is a TCP segment the reader can use: %s",
		path, done, frames, strings.Join(why, "; "))}
}

// tracePcap prints each connection of a capture as a segment table, on
// stdout or (-o) into the file out.
func tracePcap(path, out string, stdout io.Writer) error {
	r, _, _, done, err := openCapture(context.Background(), path, false)
	if err != nil {
		return err
	}
	defer done()
	w := stdout
	var f *pendingFile
	var buf *bufio.Writer
	if out != "" {
		if f, err = createOutput("o", out); err != nil {
			return err
		}
		buf = bufio.NewWriterSize(f, 64<<10)
		w = buf
	}
	conns, err := capture.Connections(r)
	for i, c := range conns {
		fmt.Fprintf(w, "connection %d: %s -> %s (%d segments)\n", i+1, c.Client, c.Server, len(c.Rows))
		fmt.Fprintf(w, "  %6s  %-15s  %-6s  %-44s  %6s\n", "frame", "time", "from", "segment", "window")
		for _, row := range c.Rows {
			fmt.Fprintf(w, "  %6d  %-15s  %-6s  %-44s  %6d\n", row.Frame, row.Time, row.From, row.Segment, row.Window)
		}
		fmt.Fprintln(w)
	}
	if f != nil {
		// The tables of a capture cut short are kept, as on standard
		// output; without a table the path keeps what it held.
		if ferr := f.finish(buf, len(conns) > 0); ferr != nil {
			return ferr
		}
	}
	if err != nil {
		return &exitError{code: exitUsage, msg: fmt.Sprintf("%s: %v", path, err)}
	}
	if len(conns) == 0 {
		return nothingChecked(path, r.Skip.Total(), r.Skip, "printed")
	}
	return nil
}

// isCaptureFile reports whether the file at path starts like a pcap or
// pcapng file (false for a pipe, whose start the command reads next).
func isCaptureFile(path string) bool {
	f, err := openRegular(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var b [4]byte
	if _, err := io.ReadFull(f, b[:]); err != nil {
		return false
	}
	switch string(b[:]) {
	case "\x0a\x0d\x0d\x0a", "\xa1\xb2\xc3\xd4", "\xd4\xc3\xb2\xa1", "\xa1\xb2\x3c\x4d", "\x4d\x3c\xb2\xa1":
		return true
	}
	return false
}

// countingReader counts the octets read, for the progress line.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// followReader reads a file that another program is still writing: at
// the end of what is there it waits for more, until ctx ends.
type followReader struct {
	ctx context.Context
	f   *os.File
}

func (fr *followReader) Read(p []byte) (int, error) {
	for {
		n, err := fr.f.Read(p)
		if n > 0 || (err != nil && err != io.EOF) {
			return n, err
		}
		select {
		case <-fr.ctx.Done():
			return 0, io.EOF
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// readProgress draws a progress line on stderr while a big file is read, when
// stderr is a terminal; the returned function clears it.
func readProgress(stderr io.Writer, cr *countingReader, size int64, follow bool) func() {
	f, ok := stderr.(*os.File)
	if !ok || follow || size < 64<<20 {
		return func() {}
	}
	if st, err := f.Stat(); err != nil || st.Mode()&os.ModeCharDevice == 0 {
		return func() {}
	}
	stop := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				fmt.Fprintf(f, "\r%60s\r", "")
				return
			case <-tick.C:
				n := cr.n.Load()
				pct := float64(n) * 100 / float64(size)
				bar := int(pct / 5)
				fmt.Fprintf(f, "\r[%-20s] %5.1f%% %d/%d MB", bytes.Repeat([]byte("#"), min(bar, 20)), pct, n>>20, size>>20)
			}
		}
	}()
	return func() { close(stop); <-finished }
}
