package main

import (
	"fmt"
	"io"

	"github.com/loadgate/loadgate/engine/slo"
	"github.com/loadgate/loadgate/report"
)

// baselineFunc resolves a baseline expression (slo.Options.Baseline).
type baselineFunc = func(key string, agg slo.Expr) (float64, bool, string)

// loadBaseline reads the --baseline report before anything is sent. A file
// that is not a loadgate report, or a run that measured nothing (an invalid
// or preflight-failed one), is bad input: exit 2. A run that was partial or
// whose measurement was inconclusive is usable, with a warning on stderr.
func loadBaseline(path string, stderr io.Writer) (baselineFunc, error) {
	if path == "" {
		return nil, nil
	}
	sum, err := report.ReadJSON(path)
	if err != nil {
		return nil, usagef(fmt.Sprintf("--baseline %s: %v; nothing was sent", path, err))
	}
	if len(sum.Metrics) == 0 {
		return nil, usagef(fmt.Sprintf("--baseline %s: the run has no metrics (status %s); nothing was sent", path, sum.Status))
	}
	if note := runNote(sum); note != "" {
		fmt.Fprintf(stderr, "loadgate: warning: --baseline %s: %s\n", path, note)
	}
	return sum.Baseline, nil
}

// runNote says why a saved run makes a doubtful reference, or "".
func runNote(s *report.Summary) string {
	switch {
	case s.Partial:
		return "the run is partial (status " + s.Status + ")"
	case s.Status == "inconclusive" || s.Status == "internal_error":
		return "the run's measurement is doubtful (status " + s.Status + ")"
	}
	return ""
}

// skippedWarnings lists the thresholds that were skipped, with the reason, so
// that a baseline threshold that judged nothing is never silent.
func skippedWarnings(rs []slo.Result) []string {
	var out []string
	for _, r := range rs {
		if r.Skipped {
			out = append(out, fmt.Sprintf("threshold %s %q skipped: %s", r.Key, r.Threshold.Expr, r.Reason))
		}
	}
	return out
}
