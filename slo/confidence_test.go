package slo

import (
	"strings"
	"testing"
	"time"
)

// spread is n requests of step, with latencies 1..n ms once each (times
// each), in one interval.
func spread(step [2]int, n, times int64) []load {
	var out []load
	for i := int64(1); i <= n; i++ {
		out = append(out, load{step: step, lat: time.Duration(i) * time.Millisecond, n: times})
	}
	return out
}

// TestConfidence (docs/thresholds.md, "Confidence"): with a confidence, a
// percentile passes only when its interval is under the limit, fails only
// when it is at or above it, and is otherwise undecided, with an estimate
// of the samples that would decide; a rate likewise with its Wilson
// interval.
func TestConfidence(t *testing.T) {
	for _, tc := range []struct {
		name   string
		metric string
		expr   string
		loads  []load
		want   string // pass, fail, undecided
	}{
		{"p95 of 1..100 ms well under the limit", "http_req_duration", "p(95) < 150ms", spread(home, 100, 1), "pass"},
		{"p95 of 1..100 ms well over the limit", "http_req_duration", "p(95) < 50ms", spread(home, 100, 1), "fail"},
		{"p95 of 1..100 ms near the limit", "http_req_duration", "p(95) < 97ms", spread(home, 100, 1), "undecided"},
		{"p99 of 100 samples has no upper bound", "http_req_duration", "p(99) < 1s", spread(home, 100, 1), "undecided"},
		{"p99 of 10000 samples has one", "http_req_duration", "p(99) < 1s", spread(home, 100, 100), "pass"},
		{"a lower bound", "http_req_duration", "med > 40ms", spread(home, 100, 10), "pass"},
		{"2 errors in 100 against 1%", "http_req_failed", "rate < 1%", []load{{step: home, lat: time.Millisecond, n: 100, failed: 2}}, "undecided"},
		{"no error in 1000 against 1%", "http_req_failed", "rate < 1%", []load{{step: home, lat: time.Millisecond, n: 1000}}, "pass"},
		{"50 errors in 1000 against 1%", "http_req_failed", "rate < 1%", []load{{step: home, lat: time.Millisecond, n: 1000, failed: 50}}, "fail"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan := testPlan()
			e := mustNew(t, plan, Options{}, Threshold{Metric: tc.metric, Expr: tc.expr, Confidence: 0.95})
			f := newFeed(plan)
			run(e, f.tick(tc.loads...), f.final())
			r := e.Results()[0]
			got := "fail"
			switch {
			case r.Passed:
				got = "pass"
			case r.Undecided:
				got = "undecided"
			}
			if got != tc.want {
				t.Fatalf("%s, want %s: %+v (CI %+v)", got, tc.want, r, r.CI)
			}
			if r.CI == nil {
				t.Fatal("no interval")
			}
			if got == "undecided" {
				if r.Why != WhyUnsure || !strings.Contains(r.Reason, "straddles the limit") || e.Failed() {
					t.Fatalf("undecided: why %v, reason %q, Failed %v", r.Why, r.Reason, e.Failed())
				}
				if !r.CI.NoHi && r.ToDecide <= 0 {
					t.Fatalf("about %d samples would decide, fewer than seen", r.ToDecide)
				}
				t.Logf("%s", r.Reason)
			}
			if got == "fail" && (!e.Failed() || r.Why != WhyBreach) {
				t.Fatalf("a confident failure: Failed %v, why %v", e.Failed(), r.Why)
			}
		})
	}
}

// TestConfidenceLiveAbort: live, an undecided threshold is pending and does
// not abort the run; a confident failure does.
func TestConfidenceLiveAbort(t *testing.T) {
	plan := testPlan()
	var aborted []Result
	e := mustNew(t, plan, Options{Abort: func(r Result) { aborted = append(aborted, r) }},
		Threshold{Metric: "http_req_duration", Expr: "p(95) < 96ms", Confidence: 0.95, AbortOnFail: true})
	f := newFeed(plan)
	e.Observe(f.tick(spread(home, 100, 1)...))
	if r := e.Results()[0]; !r.Pending || len(aborted) != 0 {
		t.Fatalf("straddling live: pending %v, aborted %d", r.Pending, len(aborted))
	}
	e.Observe(f.tick(spread(home, 200, 10)...)) // p95 now ~190 ms: surely over
	if len(aborted) != 1 {
		t.Fatalf("a confident live failure did not abort: %+v", e.Results()[0])
	}
}

// TestConfidenceApplies: a confidence where an interval means nothing is
// an error at load.
func TestConfidenceApplies(t *testing.T) {
	for _, tc := range []struct {
		th   Threshold
		want string
	}{
		{Threshold{Metric: "http_req_duration", Expr: "avg < 1s", Confidence: 0.95}, "not to avg"},
		{Threshold{Metric: "http_reqs", Expr: "count > 10", Confidence: 0.95}, "not to count"},
		{Threshold{Metric: "http_req_duration", Expr: "p(95) == 1s", Confidence: 0.95}, "no side of =="},
		{Threshold{Metric: "http_req_duration", Expr: "p(95) < 1s", Confidence: 0.95, Window: 10 * time.Second}, "not to a window"},
		{Threshold{Metric: "http_req_duration", Expr: "p(95) < 1s", Confidence: 0.3}, "from 50% to 99.99%"},
	} {
		_, err := New(testPlan(), []Threshold{tc.th}, Options{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want %q", tc.th, err, tc.want)
		}
	}
	if _, err := New(testPlan(), []Threshold{{Metric: "checks", Expr: "rate > 99%", Confidence: 0.99}}, Options{}); err != nil {
		t.Errorf("a rate with a confidence: %v", err)
	}
}
