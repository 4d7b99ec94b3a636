package report

import (
	"strings"
	"testing"

	"github.com/loadgate/loadgate/slo"
)

// TestThresholdDetail (issue 15 item 10): a threshold's state in words,
// for every output. Each value is said once; durations in a human unit,
// counts as integers, shares in percent when the expression wrote its limit
// in percent and as a fraction when it wrote a fraction, as many decimals as
// it takes to tell the observed value from the limit, and never scientific
// notation.
func TestThresholdDetail(t *testing.T) {
	for _, tc := range []struct {
		name string
		t    ThresholdResult
		want string
	}{
		{"a breach: its reason is its values, said once",
			ThresholdResult{Metric: "http_req_duration", Expr: "p(95) < 500ms", Observed: 604.671, Limit: 500, Unit: "ms", Reason: "observed 604.67ms, limit < 500ms"},
			"observed 604.67ms, limit < 500ms"},
		{"seconds, not 1.534e+04ms",
			ThresholdResult{Metric: "http_req_duration", Expr: "p(99) < 2s", Observed: 15340, Limit: 2000, Unit: "ms", Reason: "observed 15.34s, limit < 2s"},
			"observed 15.34s, limit < 2s"},
		{"minutes",
			ThresholdResult{Metric: "iteration_duration", Expr: "max < 1m", Observed: 90500, Limit: 60000, Unit: "ms"},
			"observed 1m31s, limit < 1m"},
		{"a rate written in percent",
			ThresholdResult{Metric: "http_req_failed", Expr: "rate < 1%", Observed: 0.0025, Limit: 0.01, Reason: "observed 0.25%, limit < 1%"},
			"observed 0.25%, limit < 1%"},
		{"a rate written as a fraction",
			ThresholdResult{Metric: "checks{step:pay}", Expr: "rate > 0.99", Observed: 0.985, Limit: 0.99},
			"observed 0.985, limit > 0.99"},
		{"a tiny share is not 0%, nor 1e-05",
			ThresholdResult{Metric: "http_req_failed", Expr: "rate == 0%", Observed: 0.00001, Limit: 0},
			"observed 0.001%, limit == 0%"},
		{"a count is an integer, not 1e+05",
			ThresholdResult{Metric: "http_reqs", Expr: "count > 100000", Observed: 40, Limit: 100000},
			"observed 40, limit > 100000"},
		{"a counter's rate",
			ThresholdResult{Metric: "http_reqs", Expr: "rate > 100", Observed: 17.5591, Limit: 100, Unit: "/s"},
			"observed 17.559/s, limit > 100/s"},
		{"an SLI in percent",
			ThresholdResult{Metric: "sli{name:errors}", Expr: "value < 1%", Observed: 0.0234, Limit: 0.01},
			"observed 2.34%, limit < 1%"},
		{"an SLI duration in seconds",
			ThresholdResult{Metric: "sli{name:p99}", Expr: "value < 0.3", Observed: 0.4125, Limit: 0.3, Unit: "s"},
			"observed 412.5ms, limit < 300ms"},
		{"a baseline in percent of it",
			ThresholdResult{Metric: "http_req_failed", Expr: "rate < baseline + 10%", Observed: 0.02, Limit: 0.011},
			"observed 2%, limit < 1.1%"},
		{"close values told apart",
			ThresholdResult{Metric: "http_req_duration", Expr: "p(95) < 500ms", Observed: 500.004, Limit: 500, Unit: "ms"},
			"observed 500.004ms, limit < 500ms"},
		{"close shares told apart",
			ThresholdResult{Metric: "http_req_failed", Expr: "rate < 1%", Observed: 0.010001, Limit: 0.01},
			"observed 1.0001%, limit < 1%"},
		{"a window clause is kept",
			ThresholdResult{Metric: "http_req_duration", Expr: "p(99) < 500ms", Observed: 1622.015, Limit: 500, Unit: "ms", WindowS: 10, Reason: "breached in window ending at 21s"},
			"observed 1.62s, limit < 500ms (breached in window ending at 21s)"},
		{"no data",
			ThresholdResult{Metric: "http_req_duration", Expr: "p(95) < 500ms", Limit: 500, Unit: "ms", NoData: true, Reason: "no data"},
			"no data"},
		{"nothing measured: the reason alone",
			ThresholdResult{Metric: "sli{name:x}", Expr: "value < 1", Limit: 1, Reason: "query failed: 503"},
			"query failed: 503"},
		{"skipped",
			ThresholdResult{Metric: "http_req_duration", Expr: "p(95) < baseline", Skipped: true, Reason: "needs --baseline"},
			"needs --baseline"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.t.Detail()
			if got != tc.want {
				t.Errorf("Detail() = %q, want %q", got, tc.want)
			}
			if strings.Contains(got, "e+") || strings.Contains(got, "e-0") {
				t.Errorf("scientific notation in %q", got)
			}
		})
	}
}

// TestThresholdDetailOfResult: the CLI's reasons come from the evaluator's
// results through ThresholdDetail, and say what the reports say: a breach
// is known by its typed reason (slo.WhyBreach), never by its prose.
func TestThresholdDetailOfResult(t *testing.T) {
	r := slo.Result{Threshold: slo.Threshold{Metric: "http_req_duration", Expr: "p(95) < 500ms"}, Key: "http_req_duration",
		Observed: 604.6712, Limit: 500, Unit: "ms", Failed: true, Why: slo.WhyBreach, Reason: "observed 604.6712ms, limit < 500ms"}
	if got, want := ThresholdDetail(r), "observed 604.67ms, limit < 500ms"; got != want {
		t.Errorf("ThresholdDetail = %q, want %q", got, want)
	}
}
