package main

import (
	"io"
	"os"
	"slices"

	"github.com/loadgate/loadgate/gate"
	"github.com/loadgate/loadgate/report"
)

// reportCmd re-renders a saved run: loadgate report RUN.json -o FORMAT=PATH.
// Every format is rendered from the Summary alone, so the files are the
// same bytes the live run wrote for those formats. Without an output to
// stdout the text summary goes there. The saved verdict is not this
// command's to change: exit codes are 0, 2 for bad flags or a file that is
// not a loadgate report, 74 when a report cannot be written (gate.Writer).
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
	if err := checkOutputs(outputs, false); err != nil {
		return err
	}
	sum, err := report.ReadJSON(fs.Arg(0))
	if err != nil {
		return &exitError{code: exitInvalid, err: err}
	}
	w := gate.Writer{Stdout: stdout, Stderr: stderr, Prefix: "loadgate report", NoSummary: len(outputs) > 0,
		Color: !*noColor && isTerminal(stdout) && os.Getenv("NO_COLOR") == ""}
	if slices.ContainsFunc(w.Write(outputs, sum, nil), func(err error) bool { return err != nil }) {
		return &exitError{code: exitIO, err: errReported}
	}
	return nil
}
