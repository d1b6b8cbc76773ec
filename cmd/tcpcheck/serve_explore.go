package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/tcpcheck/tcpcheck/check/web"
	"github.com/tcpcheck/tcpcheck/model"
)

// defaultExplorerAddr is where the explorer listens when no address is
// given: loopback, a free port.
const defaultExplorerAddr = "127.0.0.1:0"

// serveExplorer serves the state-space explorer (package check/web) for
// sys on addr ("" = 127.0.0.1 on a free port), prints its URL on stdout and
// runs until SIGINT or SIGTERM. explore --serve and browse call it.
func serveExplorer(sys *model.System, addr string, stdout io.Writer) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return serveExplorerContext(ctx, sys, addr, stdout)
}

// serveExplorerContext is serveExplorer until ctx is done.
func serveExplorerContext(ctx context.Context, sys *model.System, addr string, stdout io.Writer) error {
	if addr == "" {
		addr = defaultExplorerAddr
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %v (give a free loopback address such as 127.0.0.1:8080)", addr, err)
	}
	ta, _ := l.Addr().(*net.TCPAddr)
	if ta != nil && !ta.IP.IsLoopback() {
		fmt.Fprintf(stdout, "warning: %s is not a loopback address; anyone who can reach it can use the explorer\n", addr)
	}
	fmt.Fprintf(stdout, "tcpcheck explorer: http://%s/ (Ctrl-C to stop)\n", l.Addr())
	return web.Serve(ctx, l, sys)
}

// serveFlag is the value of explore's --serve flag: "--serve" alone serves
// on defaultExplorerAddr, "--serve=ADDR" on ADDR. Register it with
// fs.Var(&f, "serve", ...) and call serveExplorer(sys, f.addr, stdout) when
// f.set.
type serveFlag struct {
	addr string
	set  bool
}

func (f *serveFlag) String() string   { return f.addr }
func (f *serveFlag) IsBoolFlag() bool { return true }

// Set takes "true" (the flag given alone), "false", or an address.
func (f *serveFlag) Set(s string) error {
	switch s {
	case "true":
		f.addr, f.set = defaultExplorerAddr, true
	case "false":
		f.addr, f.set = "", false
	default:
		if _, _, err := net.SplitHostPort(s); err != nil {
			return fmt.Errorf("not a HOST:PORT (%v); want --serve alone (127.0.0.1, a free port) or --serve=HOST:PORT, e.g. --serve=127.0.0.1:8080", err)
		}
		f.addr, f.set = s, true
	}
	return nil
}
