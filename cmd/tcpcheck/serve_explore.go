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
