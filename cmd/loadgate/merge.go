package main

import (
	"io"
	"os"

	"github.com/loadgate/loadgate/gate"
	"github.com/loadgate/loadgate/report"
)

// mergeCmd merges the reports of runs that shared one scenario's load
// (--segment I/N shards, or hosts) into one report, with the thresholds
// re-evaluated on the merged data (report.Merge), and exits with the merged
// verdict, as the run would have (gate.WriteMerge; docs/exit-codes.md).
// Inputs of different scenarios, segments that overlap or have different
// N, one run given twice (the same run_id), and files that are not valid
// loadgate reports exit 2 (all but the last are merged anyway with
// --force; docs/reports.md).
func mergeCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("merge", "merge RUN.json... [-o FORMAT=PATH]... [--force]", stdout, stderr)
	out := fs.StringArrayP("out", "o", nil, "write the merged report: FORMAT=PATH (json, junit, html, text; PATH - is stdout); repeatable")
	force := fs.Bool("force", false, "merge runs of different scenarios, inconsistent segments or one run given twice, with a warning")
	noColor := fs.Bool("no-color", false, "no ANSI colors in the text summary on stdout")
	var fc failCode
	fc.register(fs)
	if done, err := parseFlags(fs, args); done || err != nil {
		return err
	}
	outputs, err := parseOutputs(*out)
	if err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usagef("want the reports to merge: loadgate merge A.json B.json ... -o json=merged.json")
	}
	if err := checkOutputs(outputs, false); err != nil {
		return err
	}
	in := make([]*report.Summary, 0, fs.NArg())
	for _, path := range fs.Args() {
		s, err := report.ReadJSON(path)
		if err != nil {
			return &exitError{code: exitInvalid, err: err}
		}
		in = append(in, s)
	}
	m, err := report.Merge(in, report.MergeOptions{Names: fs.Args(), Force: *force, Tool: gate.Tool, Version: version})
	if err != nil {
		return &exitError{code: exitInvalid, err: err}
	}
	w := gate.Writer{Stdout: stdout, Stderr: stderr, Prefix: "loadgate merge", ConsoleCode: fc.of,
		Color: !*noColor && isTerminal(stdout) && os.Getenv("NO_COLOR") == ""}
	return fc.remap(&exitError{code: gate.WriteMerge(m, outputs, w), err: errReported}, stderr)
}
