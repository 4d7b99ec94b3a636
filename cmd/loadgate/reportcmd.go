package main

import (
	"fmt"
	"io"
	"os"

	"github.com/loadgate/loadgate/report"
)

// reportCmd re-renders a saved run: loadgate report RUN.json -o FORMAT=PATH.
// Every format is rendered from the Summary alone, so the files are the
// same bytes the live run wrote for those formats. Without -o the text
// summary goes to stdout. Exit codes: 0, 2 for bad flags or a file that is
// not a loadgate report, 74 when a report cannot be written.
func reportCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("report", "report RUN.json [-o FORMAT=PATH]...", stdout, stderr)
	out := fs.StringArrayP("out", "o", nil, "write a report: FORMAT=PATH (json, junit, html, text; PATH - is stdout); repeatable")
	noColor := fs.Bool("no-color", false, "no ANSI colors in the text summary on stdout")
	if done, err := parseFlags(fs, args); done || err != nil {
		return err
	}
	outputs, err := parseOutputs(*out)
	if err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("want one saved run: loadgate report RUN.json -o FORMAT=PATH")
	}
	if err := checkOutputs(outputs, false); err != nil { // outputs.go
		return err
	}
	sum, err := report.ReadJSON(fs.Arg(0))
	if err != nil {
		return &exitError{code: exitInvalid, err: err}
	}
	if len(outputs) == 0 {
		color := !*noColor && isTerminal(stdout) && os.Getenv("NO_COLOR") == ""
		if err := report.WriteText(stdout, sum, color); err != nil {
			return &exitError{code: exitIO, err: err}
		}
		return nil
	}
	failed := 0
	for _, o := range outputs {
		var err error
		if o.path == "-" {
			err = writeFormat(stdout, o.format, sum, false)
		} else {
			err = report.WriteFileAtomic(o.path, func(w io.Writer) error { return writeFormat(w, o.format, sum, false) })
		}
		if err != nil {
			// Keep going: the other formats may still be written.
			fmt.Fprintf(stderr, "loadgate report: %s\n", writeFailure(o, err)) // outputs.go
			failed++
		}
	}
	if failed > 0 {
		return &exitError{code: exitIO, err: errReported}
	}
	return nil
}
