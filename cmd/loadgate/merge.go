package main

import (
	"fmt"
	"io"
	"os"

	"github.com/loadgate/loadgate/report"
)

// mergeCmd merges the reports of runs that shared one scenario's load
// (--segment I/N shards, or hosts) into one report, with the thresholds
// re-evaluated on the merged data (report.Merge), and exits with the merged
// verdict, as the run would have:
//
//   - an input that was interrupted or hit an internal error makes the
//     merge partial with that status (130, 70): a share of the load is
//     missing, as in the run it came from;
//   - an inconclusive input, one that sent nothing (invalid,
//     preflight_failed), a .partial or killed one, and a missing segment
//     make it inconclusive (4), like a lost agent in distributed mode;
//   - a threshold that fails on the merged data fails it (1); warn
//     severity only adds a reason;
//   - a report that cannot be written is 74, as for run.
//
// Precedence is docs/exit-codes.md's. Inputs of different scenarios, segments that
// overlap or have different N, one run given twice (the same run_id), and
// files that are not valid loadgate reports exit 2 (all but the last are
// merged anyway with --force; docs/reports.md).
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
	if err := checkOutputs(outputs, false); err != nil { // outputs.go
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
	m, err := report.Merge(in, report.MergeOptions{Names: fs.Args(), Force: *force, Tool: "loadgate", Version: version})
	if err != nil {
		return &exitError{code: exitInvalid, err: err}
	}
	v := mergeVerdict(m)
	sum := m.Summary
	decide := func() { sum.Status, sum.ExitCode, sum.Reasons = v.status(), v.code(), append([]string{}, v.reasons...) }
	decide()
	// The text summary goes to stdout unless a report does (-o json=- must
	// stay valid JSON), as for run.
	toStdout := false
	for _, o := range outputs {
		if o.path == "-" {
			toStdout = true
			_ = writeStdout(stdout, o.format, sum, false, fc)
			continue
		}
		err := report.WriteFileAtomic(o.path, func(w io.Writer) error { return writeFormat(w, o.format, sum, false) })
		if err != nil {
			msg := writeFailure(o, err) // outputs.go
			fmt.Fprintf(stderr, "loadgate merge: %s\n", msg)
			v.add(exitIO, msg)
			decide()
		}
	}
	if !toStdout {
		_ = writeStdout(stdout, "text", sum, !*noColor && isTerminal(stdout) && os.Getenv("NO_COLOR") == "", fc)
	}
	return fc.remap(&exitError{code: v.code(), err: errReported}, stderr)
}

// codeOfStatus maps a report status back to its exit code.
func codeOfStatus(status string) int {
	for code, s := range statusOf {
		if s == status {
			return code
		}
	}
	return exitInconclusive // an unknown status: do not trust it
}

// mergeVerdict decides the merged run's verdict, reasons in the order a run
// gives them: what stopped an input, then thresholds, then what makes the
// measurement untrustworthy.
func mergeVerdict(m *report.Merged) *verdict {
	v := &verdict{}
	var later []report.Cause
	for _, c := range m.Causes {
		if c.Status == "interrupted" || c.Status == "internal_error" {
			v.add(codeOfStatus(c.Status), c.Reason)
		} else {
			later = append(later, c)
		}
	}
	for _, t := range m.Summary.Thresholds {
		if t.Skipped || t.Passed {
			continue
		}
		code, what := exitFailed, "failed"
		if t.Severity == "warn" {
			code, what = exitPassed, "failed (warning)"
		}
		v.add(code, fmt.Sprintf("threshold %s %q %s on the merged data: %s", t.Metric, t.Expr, what, t.Detail()))
	}
	for _, c := range later {
		v.add(codeOfStatus(c.Status), c.Reason)
	}
	if v.codes[exitInterrupted] || v.codes[exitInternal] {
		m.Summary.Partial = true
	}
	return v
}
