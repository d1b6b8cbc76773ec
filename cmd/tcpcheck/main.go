// Command tcpcheck model-checks TCP connection management, runs the
// reference endpoint, and draws the table's diagrams.
//
// Each subcommand lives in a file of its own and registers itself in an
// init function; main only dispatches. Exit codes: 0 ok, 1 a property
// failed, 2 usage or environment error.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// Exit codes shared by every subcommand.
const (
	exitOK       = 0
	exitViolated = 1
	exitUsage    = 2
)

// command is one subcommand.
type command struct {
	name    string
	summary string // one line for `tcpcheck --help`
	usage   string // argument synopsis, e.g. "[flags] ADDR"
	// run parses args with fs (already named and with usage set) and does
	// the work. It returns the exit code; errors it returns are printed
	// as "tcpcheck NAME: ERR" and exit 2 unless they are exitError.
	setup func(fs *flag.FlagSet) func(args []string, stdout, stderr io.Writer) error
}

var commands = map[string]*command{}

func register(c *command) {
	if _, dup := commands[c.name]; dup {
		panic("tcpcheck: duplicate command " + c.name)
	}
	commands[c.name] = c
}

// exitError carries a specific exit code out of a command, with an optional
// message (already printed when empty).
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

// usageError marks an error as a usage error (exit 2, with a hint to -h).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// run runs the command args name and returns the exit code. Standard
// output goes through an errWriter: when a write to it failed (a full
// disk, a closed pipe), what the command printed is lost, and run says so
// and exits 2 whatever the command returned.
func run(args []string, stdout, stderr io.Writer) int {
	out := &errWriter{w: stdout}
	code := dispatch(args, out, stderr)
	if err := out.failed(); err != nil {
		name := "tcpcheck"
		if len(args) > 0 && commands[args[0]] != nil {
			name += " " + args[0]
		}
		fmt.Fprintf(stderr, "%s: cannot write to standard output: %s; the output is lost (is the disk full, or the pipe closed?)\n", name, unwrapPath(err))
		return exitUsage
	}
	return code
}

// isHelp reports whether a word asks for help.
func isHelp(a string) bool {
	return a == "help" || a == "-h" || a == "-help" || a == "--help" || a == "--h"
}

func dispatch(args []string, stdout, stderr io.Writer) int {
	if len(args) == 1 && (args[0] == "--version" || args[0] == "-version" || args[0] == "version") {
		return printVersion(stdout)
	}
	if len(args) == 0 || isHelp(args[0]) {
		switch {
		case len(args) == 2:
			if c, ok := commands[args[1]]; ok {
				return runCommand(c, []string{"-h"}, stdout, stderr)
			}
			fmt.Fprintf(stderr, "tcpcheck: no command %q; the commands are %s\n", args[1], orList(commandNames()))
			return exitUsage
		case len(args) > 2:
			fmt.Fprintf(stderr, "tcpcheck: %s takes one command name, got %q; the commands are %s\n", args[0], args[1:], orList(commandNames()))
			return exitUsage
		}
		mainUsage(stdout)
		if len(args) == 0 {
			fmt.Fprintln(stderr, "tcpcheck: want a command, such as 'tcpcheck explore' (the list is above)")
			return exitUsage
		}
		return exitOK
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "tcpcheck: unknown command %q; run 'tcpcheck --help' for the list\n", args[0])
		return exitUsage
	}
	return runCommand(c, args[1:], stdout, stderr)
}

func runCommand(c *command, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tcpcheck "+c.name, flag.ContinueOnError)
	// The flag package's own message is replaced by flagParseError's,
	// which names the command and says what the flag takes.
	fs.SetOutput(io.Discard)
	// The whole flag list for -h; after a flag the flag package refused
	// (it has printed which and why), one line saying where help is.
	help := false
	for _, a := range args {
		if a == "--" {
			break
		}
		name, _, hasValue := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-"), "=")
		if !strings.HasPrefix(a, "-") || name != "h" && name != "help" {
			continue
		}
		if hasValue {
			// The flag package takes -h=false for -h, and prints nothing.
			fmt.Fprintf(stderr, "tcpcheck %s: %s: -h and --help take no value; 'tcpcheck %s -h' prints the flags\n", c.name, a, c.name)
			return exitUsage
		}
		help = true
	}
	fs.Usage = func() {
		if !help {
			return
		}
		fs.SetOutput(stderr)
		defer fs.SetOutput(io.Discard)
		fmt.Fprintf(stderr, "usage: tcpcheck %s %s\n\n%s\n\nflags:\n", c.name, c.usage, c.summary)
		fs.PrintDefaults()
	}
	body := c.setup(fs)
	positional, err := parseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		fmt.Fprintf(stderr, "tcpcheck %s: %s\nrun 'tcpcheck %s -h' for usage\n", c.name, flagParseError(fs, err), c.name)
		return exitUsage
	}
	err = body(positional, stdout, stderr)
	if err == nil {
		return exitOK
	}
	if ew, ok := stdout.(*errWriter); ok && ew.failed() != nil && errors.Is(err, ew.failed()) {
		return exitUsage // run says what failed
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.msg != "" {
			fmt.Fprintf(stderr, "tcpcheck %s: %s\n", c.name, plainMessage(ee.msg))
		}
		return ee.code
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "tcpcheck %s: %s\nrun 'tcpcheck %s -h' for usage\n", c.name, plainMessage(err.Error()), c.name)
		return exitUsage
	}
	fmt.Fprintf(stderr, "tcpcheck %s: %s\n", c.name, plainMessage(err.Error()))
	return exitUsage
}

// parseInterspersed parses flags wherever they stand among the arguments,
// so that `tcpcheck why NAME --json` works as well as `why --json NAME`.
// Everything after "--" is positional.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional, tail []string
	for i, a := range args {
		if a == "--" {
			args, tail = args[:i], args[i+1:]
			break
		}
	}
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return append(positional, tail...), nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

// commandNames lists the commands in order.
func commandNames() []string {
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func mainUsage(w io.Writer) {
	fmt.Fprintln(w, "tcpcheck: a model-checked model of TCP connection management")
	fmt.Fprintln(w, "\nusage: tcpcheck COMMAND [flags] [args]\n\ncommands:")
	for _, n := range commandNames() {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nrun 'tcpcheck COMMAND -h' for a command's flags; 'tcpcheck --version' for the version and the table's digest")
}
