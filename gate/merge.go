package gate

import (
	"fmt"
	"slices"

	"github.com/loadgate/loadgate/report"
	"github.com/loadgate/loadgate/verdict"
)

// WriteMerge decides the verdict of a merge of runs (report.Merge) as the
// run would have, writes the merged report to outs with w's policy and
// returns the exit code (docs/exit-codes.md, docs/reports.md):
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
func WriteMerge(m *report.Merged, outs []Output, w Writer) int {
	v := judgeMerge(m)
	sum := m.Summary
	decide := func() *report.Summary {
		sum.Status, sum.ExitCode, sum.Reasons = v.Status(), v.Status().Code(), slices.Clone(v.Reasons())
		if sum.Reasons == nil {
			sum.Reasons = []string{}
		}
		return sum
	}
	w.Write(outs, decide(), func(reason string) *report.Summary {
		v.Add(verdict.IOError, reason)
		return decide()
	})
	return v.Status().Code()
}

// judgeMerge decides the merged run's verdict, reasons in the order a run
// gives them: what stopped an input, then thresholds, then what makes the
// measurement untrustworthy.
func judgeMerge(m *report.Merged) *verdict.Causes {
	v := &verdict.Causes{}
	var later []report.Cause
	for _, c := range m.Causes {
		if c.Status == verdict.Interrupted || c.Status == verdict.Internal {
			v.Add(c.Status, c.Reason)
		} else {
			later = append(later, c)
		}
	}
	for _, t := range m.Summary.Thresholds {
		if t.Skipped || t.Passed {
			continue
		}
		st, what := verdict.Failed, "failed"
		if t.Severity == "warn" {
			st, what = verdict.Passed, "failed (warning)"
		}
		v.Add(st, fmt.Sprintf("threshold %s %q %s on the merged data: %s", t.Metric, t.Expr, what, t.Detail()))
	}
	for _, c := range later {
		st := c.Status
		if !st.Known() {
			st = verdict.Inconclusive // an unknown status: do not trust it
		}
		v.Add(st, c.Reason)
	}
	if v.Has(verdict.Interrupted) || v.Has(verdict.Internal) {
		m.Summary.Partial = true
	}
	return v
}
