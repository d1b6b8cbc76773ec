package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
)

func init() {
	register(&command{
		name:    "dial",
		summary: "connect the reference endpoint to ADDR and relay stdin/stdout, like netcat",
		usage:   "[flags] ADDR",
		setup: func(fs *flag.FlagSet) func(args []string, stdout, stderr io.Writer) error {
			var f endpointFlags
			f.register(fs)
			timeout := fs.Duration("timeout", 0, "give up connecting after this long (0: the SYN retry limit decides)")
			return func(args []string, stdout, stderr io.Writer) error {
				if len(args) != 1 {
					return usagef("want one address to dial, such as 127.0.0.1:9000")
				}
				e, err := newEndpoint(f, "127.0.0.1:0", stdout, stderr)
				if err != nil {
					return err
				}
				ctx := context.Background()
				if *timeout > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, *timeout)
					defer cancel()
				}
				c, err := e.stack.Dial(ctx, args[0])
				if err != nil {
					return errors.Join(fmt.Errorf("dial %s: %w", args[0], err), e.close())
				}
				return e.session(c)
			}
		},
	})
}
