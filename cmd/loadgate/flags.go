package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/loadgate/loadgate/gate"
)

// newFlagSet returns a FlagSet that reports errors instead of exiting.
// --help (-h) prints the usage to stdout, as asked for (exit 0); a bad
// flag is an error on stderr that says where the usage is (exit 2).
func newFlagSet(name, synopsis string, stdout, stderr io.Writer) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { // pflag calls it on --help only (ContinueOnError)
		fmt.Fprintf(stdout, "usage: loadgate %s\n\nflags:\n%s", synopsis, fs.FlagUsages())
		printExamples(stdout, name)
	}
	return fs
}

// parseFlags parses args, then fills every flag not given on the command
// line from LOADGATE_<NAME> (upper case, dashes as underscores), so that the
// precedence is flag > environment > file > default. On --help (pflag prints
// the usage) it reports done: the command has nothing more to do.
func parseFlags(fs *pflag.FlagSet, args []string) (done bool, err error) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return true, nil // pflag has printed the usage
		}
		return false, usagef(fmt.Sprintf("%v (see 'loadgate %s --help')", err, fs.Name()))
	}
	var envErr error
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Changed || envErr != nil {
			return
		}
		key := "LOADGATE_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(key); ok {
			for _, one := range envValues(f, v) {
				if err := fs.Set(f.Name, one); err != nil {
					envErr = usagef(fmt.Sprintf("%s=%q: %v", key, v, err))
					return
				}
			}
		}
	})
	return false, envErr
}

// envValues splits the value of a repeatable flag's variable into its
// values, one per line (LOADGATE_OUT=$'json=a.json\njunit=b.xml'); blank
// lines are skipped. Commas do not separate them: an -e value, a header,
// a threshold's selector and a path may hold one (README, "Main flags";
// -o splits FORMAT=PATH lists itself, see splitOutputs). Other flags take
// the value whole (a list flag such as --agents splits at commas itself).
func envValues(f *pflag.Flag, v string) []string {
	if f.Value.Type() != "stringArray" {
		return []string{v}
	}
	var out []string
	for _, line := range strings.Split(v, "\n") {
		if line = strings.TrimSuffix(line, "\r"); strings.TrimSpace(line) != "" {
			out = append(out, line)
		}
	}
	return out
}

var formats = map[string]bool{"json": true, "text": true, "junit": true, "html": true}

// splitOutputs splits each -o value at the commas that start another
// FORMAT=PATH: -o json=a.json,junit=b.xml (or LOADGATE_OUT with it) is two
// outputs, not a file named "a.json,junit=b.xml". A comma not followed by
// a format and = is part of the path (json=runs,2026.json), docs/reports.md.
func splitOutputs(specs []string) []string {
	var out []string
	for _, s := range specs {
		start := 0
		for i := 0; i < len(s); i++ {
			if s[i] != ',' {
				continue
			}
			if f, _, ok := strings.Cut(s[i+1:], "="); ok && formats[f] {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
		out = append(out, s[start:])
	}
	return out
}

func parseOutputs(specs []string) ([]gate.Output, error) {
	var outs []gate.Output
	for _, s := range splitOutputs(specs) {
		f, p, ok := strings.Cut(s, "=")
		if !ok || p == "" {
			return nil, usagef(fmt.Sprintf("-o %q: want FORMAT=PATH, e.g. json=report.json", s))
		}
		if !formats[f] {
			return nil, usagef(fmt.Sprintf("-o %q: unknown format %q (json, junit, html, text)", s, f))
		}
		outs = append(outs, gate.Output{Format: f, Path: p})
	}
	return outs, nil
}

// checkOutputs is gate.CheckOutputs with its errors as usage errors: a
// report that cannot be written is found before anything is sent.
func checkOutputs(outs []gate.Output, partials bool) error {
	if err := gate.CheckOutputs(outs, partials); err != nil {
		return usagef(err.Error())
	}
	return nil
}

// parseEnv turns -e KEY=VALUE flags into a map.
func parseEnv(specs []string) (map[string]string, error) {
	m := map[string]string{}
	for _, s := range specs {
		k, v, ok := strings.Cut(s, "=")
		if !ok || k == "" {
			return nil, usagef(fmt.Sprintf("-e %q: want KEY=VALUE", s))
		}
		m[k] = v
	}
	return m, nil
}
