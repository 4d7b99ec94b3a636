package report

import (
	"fmt"
	"strings"
	"time"

	"github.com/loadgate/loadgate/engine"
	"github.com/loadgate/loadgate/histogram"
	"github.com/loadgate/loadgate/slo"
)

// thresholdKey identifies one threshold across the inputs of a merge.
type thresholdKey struct{ metric, expr, severity string }

// found is one input's result for a threshold.
type found struct {
	name string
	t    ThresholdResult
}

// mergeThresholds re-evaluates every threshold of the inputs (in order of
// first appearance) on the merged data, with the rules of slo: no data or
// fewer than min_samples samples fail, a latency threshold whose every
// request failed fails, a counter is always data. Three kinds cannot be
// re-evaluated and are carried over instead:
//
//   - a sliding-window threshold: the report keeps no per-window histograms.
//     It fails if it failed in any input (with that input's worst value) and
//     passes if it passed in every one. A window of the merged load has more
//     samples than any shard's window, so this is close but not exact; the
//     reason (or a warning, when it passed) says so.
//   - a server-side SLI threshold (metric sli{name:...}): the report keeps
//     the query's result, not its data. Each input queried the same server,
//     whose view covers every shard's load, so it is carried over like a
//     window threshold.
//   - a threshold that aborted an input's run: that run stopped early on a
//     live decision, which stands.
//   - a threshold skipped in every input (a baseline without the metric).
//
// A baseline threshold keeps the limit its inputs resolved.
func mergeThresholds(in []*Summary, names []string, out *Summary, hists map[string]*histogram.Histogram) ([]ThresholdResult, error) {
	var order []thresholdKey
	all := map[thresholdKey][]found{}
	for i, s := range in {
		for _, t := range s.Thresholds {
			k := thresholdKey{t.Metric, t.Expr, t.Severity}
			if all[k] == nil {
				order = append(order, k)
			}
			all[k] = append(all[k], found{names[i], t})
		}
	}
	res := make([]ThresholdResult, 0, len(order))
	var windows []string
	for _, k := range order {
		fs := all[k]
		t := fs[0].t
		t.FirstFailedAt, t.Reason = nil, ""
		var live []found // not skipped
		for _, f := range fs {
			if !f.t.Skipped {
				live = append(live, f)
			}
		}
		switch {
		case len(live) == 0:
			res = append(res, fs[0].t)
			continue
		case aborted(live) != nil:
			a := aborted(live)
			t = a.t
			t.Reason = fmt.Sprintf("aborted the run of %s (a live decision stands in a merge)", a.name)
			if a.t.Reason != "" {
				t.Reason += ": " + a.t.Reason
			}
		case t.WindowS > 0 || isSLI(t.Metric):
			if carry(&t, live) {
				windows = append(windows, fmt.Sprintf("%s %q", t.Metric, t.Expr))
			}
		default:
			t.Skipped = false
			if err := reevaluate(&t, live, out, hists); err != nil {
				return nil, fmt.Errorf("report: merge: threshold %s %q: %w", t.Metric, t.Expr, err)
			}
		}
		if !t.Passed {
			t.FirstFailedAt = firstFailed(live, out.EndedAt)
		}
		res = append(res, t)
	}
	if len(windows) > 0 {
		out.Warnings = append(out.Warnings, "window and sli thresholds passed in every input but were not re-evaluated on the merged data (reports keep no per-window histograms nor query data): "+strings.Join(windows, ", "))
	}
	return res, nil
}

// aborted returns the first result that aborted its run, or nil.
func aborted(fs []found) *found {
	for i := range fs {
		if fs[i].t.Aborted {
			return &fs[i]
		}
	}
	return nil
}

// isSLI reports whether key selects a server-side SLI.
func isSLI(key string) bool {
	name, _, _ := strings.Cut(key, "{")
	return name == slo.SLIMetric
}

// carry decides a window or SLI threshold from its inputs (see
// mergeThresholds) and reports whether it passed.
func carry(t *ThresholdResult, fs []found) (passed bool) {
	e, err := slo.ParseExpr(t.Expr)
	var failed []string
	worst := fs[0].t
	for _, f := range fs {
		if !f.t.Passed {
			failed = append(failed, f.name)
			if worst.Passed {
				worst = f.t
			}
		}
		if err == nil && f.t.Passed == worst.Passed && e.Op.Worse(f.t.Observed, worst.Observed) {
			worst = f.t
		}
	}
	t.Observed, t.Limit, t.NoData = worst.Observed, worst.Limit, worst.NoData
	t.Passed = len(failed) == 0
	if !t.Passed {
		what := "window threshold"
		if isSLI(t.Metric) {
			what = "sli threshold"
		}
		t.Reason = fmt.Sprintf("%s failed in %s", what, strings.Join(failed, ", "))
		if worst.Reason != "" {
			t.Reason += " (" + worst.Reason + ")"
		}
		t.Reason += "; not re-evaluated on merged data"
	}
	return t.Passed
}

// firstFailed is the earliest first_failed_at of the inputs, or end (a
// threshold that first fails on the merged data fails at the end).
func firstFailed(fs []found, end string) *string {
	var best string
	var bt time.Time
	for _, f := range fs {
		if f.t.FirstFailedAt == nil {
			continue
		}
		at, err := time.Parse(time.RFC3339, *f.t.FirstFailedAt)
		if err == nil && (best == "" || at.Before(bt)) {
			best, bt = *f.t.FirstFailedAt, at
		}
	}
	if best == "" {
		best = end
	}
	if best == "" {
		return nil
	}
	return &best
}

// reevaluate judges t on the merged metric with slo's one rule (Measure,
// Interval and Judge), as the evaluator does at the end of a run.
func reevaluate(t *ThresholdResult, fs []found, out *Summary, hists map[string]*histogram.Histogram) error {
	e, err := slo.ParseExpr(t.Expr)
	if err != nil {
		return err
	}
	limit := e.Limit(0)
	if e.Baseline {
		limit = fs[0].t.Limit // resolved from the baseline run by each input
	}
	var m slo.Measurement
	var v engine.Value
	if met, ok := out.Metrics[t.Metric]; ok {
		if v, err = valueOf(e, met, hists[t.Metric]); err != nil {
			return err
		}
		m.Value, m.Samples, m.Has = slo.Measure(e, v, time.Duration(out.DurationS*float64(time.Second)))
		m.AllFailed = allFailed(t.Metric, met, out.Metrics)
		if t.Confidence > 0 && m.Has {
			if b, ok := slo.Interval(e, v, t.Confidence); ok {
				m.CI = &b
			}
		}
	}
	o := slo.Judge(e, limit, t.MinSamples, m, true)
	digits := 6
	if t.Unit == "ms" {
		digits = 3
	}
	t.Observed, t.Limit = round(o.Observed, digits), round(limit, digits)
	t.Passed, t.NoData = o.Verdict == slo.VerdictPass, o.Why == slo.WhyNoData
	t.Interval, t.Undecided, t.ToDecide = nil, o.Verdict == slo.VerdictUndecided, 0
	if o.CI != nil {
		t.Interval = boundsOf(*o.CI, digits)
	}
	switch o.Why {
	case slo.WhyAllFailed:
		t.Reason = "every request failed"
	case slo.WhyNoData:
		t.Reason = "no data"
	case slo.WhyNotEnough:
		t.Reason = fmt.Sprintf("not enough data (%d of %d samples)", o.Samples, t.MinSamples)
	case slo.WhyBreach:
		t.Reason = observedLimit(*t) // detail.go
	case slo.WhyUnsure:
		if n := slo.ToDecide(e, v, limit, t.Confidence); n > 0 {
			t.ToDecide = max(n-o.Samples, 1)
		}
		t.Reason = unsureReason(*t)
	}
	return nil
}

// valueOf is the merged metric m as the engine would hand it to the
// evaluator; an aggregation that does not apply to its type is an error.
func valueOf(e slo.Expr, m Metric, h *histogram.Histogram) (engine.Value, error) {
	var v engine.Value
	switch m.Type {
	case TypeTrend:
		v = engine.Value{Type: engine.Trend, Hist: h}
	case TypeRate:
		v = engine.Value{Type: engine.Rate, Hits: m.Hits, Total: m.Total}
	case TypeCounter:
		v = engine.Value{Type: engine.Counter, Count: m.Count}
	default:
		return v, fmt.Errorf("metric type %q", m.Type)
	}
	if m.Type != TypeTrend && e.Agg != slo.AggRate && e.Agg != slo.AggCount ||
		m.Type == TypeTrend && (e.Agg == slo.AggRate || e.Agg == slo.AggCount) ||
		m.Type == TypeRate && e.Agg != slo.AggRate {
		return v, fmt.Errorf("%s does not apply to a %s", e.Agg, m.Type)
	}
	return v, nil
}

// allFailed applies slo's rule for latency thresholds (a trend of
// http_req_*): when every request of the selection failed, fast failures
// must not make latency pass. The failures are http_req_failed with the
// same tags.
func allFailed(key string, m Metric, ms Metrics) bool {
	name, tags, _ := strings.Cut(key, "{")
	if m.Type != TypeTrend || !strings.HasPrefix(name, "http_req_") {
		return false
	}
	fk := "http_req_failed"
	if tags != "" {
		fk += "{" + tags
	}
	f, ok := ms[fk]
	return ok && f.Total > 0 && f.Hits == f.Total
}
