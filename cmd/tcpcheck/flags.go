package main

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// The checks every command makes of its flags before it starts work. Each
// returns a usage error (exit 2) whose message names the flag, the value
// given, the values allowed and what to do; firstError runs them in order.

// bound is a number a flag may take: an int, an int64, a uint64, a
// float64 or a time.Duration.
type bound interface {
	~int | ~int64 | ~uint64 | ~float64
}

// inRange checks that the value v of --name lies in lo..hi. what says
// what the flag counts or what to do instead (e.g. "omit it for the
// default"); it may be empty.
func inRange[T bound](name string, v, lo, hi T, what string) error {
	if v >= lo && v <= hi {
		return nil
	}
	return flagError(name, fmtValue(v), "want "+fmtValue(lo)+" to "+fmtValue(hi), what)
}

// atLeast checks that the value v of --name is lo or more.
func atLeast[T bound](name string, v, lo T, what string) error {
	if v >= lo {
		return nil
	}
	return flagError(name, fmtValue(v), "want "+fmtValue(lo)+" or more", what)
}

// probability checks that --name is a probability.
func probability(name string, p float64) error {
	if p >= 0 && p <= 1 {
		return nil
	}
	return flagError(name, fmtValue(p), "want a probability from 0 to 1", "e.g. 0.05 for 5%")
}

// oneOf checks that --name is one of the allowed words.
func oneOf(name, v string, allowed ...string) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return flagError(name, fmt.Sprintf("%q", v), "want "+orList(allowed), "")
}

// flagError is the one form of every flag's message:
// "--NAME VALUE: WANT (WHAT)".
func flagError(name, value, want, what string) error {
	dash := "--"
	if len(name) == 1 {
		dash = "-" // -o, -v: as the usage spells them
	}
	msg := fmt.Sprintf("%s%s %s: %s", dash, name, value, want)
	if what != "" {
		msg += " (" + what + ")"
	}
	return usageError{errors.New(msg)}
}

func fmtValue[T bound](v T) string {
	switch x := any(v).(type) {
	case time.Duration:
		return x.String()
	case float64:
		return fmt.Sprint(x)
	}
	return fmt.Sprint(v)
}

// orList renders "a, b or c".
func orList(xs []string) string {
	if len(xs) < 2 {
		return strings.Join(xs, "")
	}
	return strings.Join(xs[:len(xs)-1], ", ") + " or " + xs[len(xs)-1]
}

// firstError returns the first of the checks' errors, or nil.
func firstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// outputFile checks, before any work starts, that the file --name names
// can be written: its directory exists and takes a new file. The file is
// not left behind; the command writes it when its work is done (so a run
// with nothing to write leaves no empty file). "" passes.
func outputFile(name, path string) error {
	if path == "" {
		return nil
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return flagError(name, path, "is a directory", "give a file name")
	}
	dir := filepath.Dir(path)
	st, err := os.Stat(dir)
	switch {
	case err != nil:
		return flagError(name, path, "cannot be written: its directory "+dir+" does not exist", "create it or give another path")
	case !st.IsDir():
		return flagError(name, path, "cannot be written: "+dir+" is not a directory", "give another path")
	}
	f, err := os.CreateTemp(dir, ".tcpcheck-probe-*")
	if err != nil {
		return flagError(name, path, "cannot be written: "+cmp.Or(unwrapPath(err), "permission denied")+" in "+dir, "give a writable path")
	}
	f.Close()
	os.Remove(f.Name())
	return nil
}

// unwrapPath returns the reason of a *PathError (without the path, which
// the message names already).
func unwrapPath(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// libraryPrefixes are the package prefixes of the library's errors
// ("check: merge: ...", "model: config: ..."): right inside a program,
// noise at the command line, where the command's name comes first.
var libraryPrefixes = []string{
	"check: merge: ", "check: ", "model: config: ", "model: reading config: ", "model: ",
	"explain: trace: ", "explain: pcap: ", "explain: ", "lin: ", "conform: ", "kernel: ",
	"impl: ", "wire: ", "attack: ", "web: ", "gen: ",
}

// plainMessage strips the library's package prefixes from every line of an
// error message.
func plainMessage(msg string) string {
	lines := strings.Split(msg, "\n")
	for i, l := range lines {
		for changed := true; changed; {
			changed = false
			for _, p := range libraryPrefixes {
				if rest, ok := strings.CutPrefix(l, p); ok {
					l, changed = rest, true
				}
			}
		}
		for _, p := range libraryPrefixes {
			l = strings.ReplaceAll(l, ": "+p, ": ")
		}
		l = jsonTypeError.ReplaceAllString(l, "field $2: a JSON $1 where a $3 belongs")
		l = strings.ReplaceAll(l, "an impl.Transition", "a transition")
		lines[i] = strings.ReplaceAll(l, "impl.Transition", "transition")
	}
	return strings.Join(lines, "\n")
}

// jsonTypeError matches encoding/json's type errors, which speak of Go
// types: "json: cannot unmarshal string into Go struct field
// Transition.From of type spec.State".
var jsonTypeError = regexp.MustCompile(`json: cannot unmarshal (\w+) into Go struct field (?:\w+\.)?(\S+) of type (?:\[\])?(?:\*)?(?:\w+\.)?(\w+)`)

// inputFile checks, before any work starts, that the file --name (or,
// with name "", an argument) names can be read: it exists, is not a
// directory, and opens.
func inputFile(name, path string) error {
	fail := func(why string) error {
		if name == "" {
			return usageError{fmt.Errorf("%s: %s", path, why)}
		}
		return flagError(name, path, why, "")
	}
	f, err := os.Open(path)
	if err != nil {
		return fail("cannot be read: " + unwrapPath(err))
	}
	st, err := f.Stat()
	f.Close()
	if err == nil && st.IsDir() {
		return fail("is a directory; want a file")
	}
	return nil
}

// flagParseError rewrites the flag package's errors in the form of
// flagError: "invalid value "x" for flag -loss: parse error" becomes
// "--loss x: want a whole number".
func flagParseError(fs *flag.FlagSet, err error) string {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		return fmt.Sprintf("--%s: no such flag", name)
	}
	if name, ok := strings.CutPrefix(msg, "flag needs an argument: -"); ok {
		return fmt.Sprintf("--%s needs a value (--%s VALUE or --%s=VALUE)", name, name, name)
	}
	if rest, ok := strings.CutPrefix(msg, "invalid boolean value "); ok {
		value, name, _ := strings.Cut(rest, " for -")
		name, reason, _ := strings.Cut(name, ": ")
		if reason == "parse error" || reason == "want true or false" {
			reason = fmt.Sprintf("want true or false (--%s alone is true)", name)
		}
		// Otherwise the flag's own Set said what it takes (--serve=ADDR).
		return fmt.Sprintf("--%s=%s: %s", name, strings.Trim(value, `"`), reason)
	}
	var value, name, reason string
	rest, ok := strings.CutPrefix(msg, "invalid value ")
	if !ok {
		return msg
	}
	q, err2 := strconv.QuotedPrefix(rest)
	if err2 != nil {
		return msg
	}
	value, _ = strconv.Unquote(q)
	rest, ok = strings.CutPrefix(rest[len(q):], " for flag -")
	if !ok {
		return msg
	}
	name, reason, _ = strings.Cut(rest, ": ")
	if f := fs.Lookup(name); f != nil {
		if g, ok := f.Value.(flag.Getter); ok && (reason == "parse error" || reason == "value out of range") {
			switch g.Get().(type) {
			case time.Duration:
				reason = "want a duration such as 5s, 200ms or 2m"
			case int, int64:
				reason = "want a whole number"
			case uint64, uint:
				reason = "want a whole number, 0 or more"
			case float64:
				reason = "want a number such as 0.05"
			case bool:
				reason = "want true or false"
			}
		}
	}
	if len(name) > 1 {
		name = "-" + name
	}
	return fmt.Sprintf("-%s %q: %s", name, value, reason)
}
