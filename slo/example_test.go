package slo_test

import (
	"fmt"
	"time"

	"github.com/loadgate/loadgate/engine"
	"github.com/loadgate/loadgate/histogram"
	"github.com/loadgate/loadgate/slo"
)

func ExampleParseExpr() {
	e, err := slo.ParseExpr("p(99.9)<=1.5s")
	fmt.Println(e, err)
	fmt.Println(e.Agg, e.P, e.Op, e.Lit.Value, "ms")

	_, err = slo.ParseExpr("p(101) < 300ms")
	fmt.Println(err)

	trend, _ := engine.LookupMetric("http_req_duration")
	e, _ = slo.ParseExpr("rate < 1%")
	fmt.Println(e.Check(trend))
	// Output:
	// p(99.9) <= 1.5s <nil>
	// p 99.9 <= 1500 ms
	// col 3: percentile 101 is out of range: want 0 to 100
	// col 1: http_req_duration is a trend: use p(N), avg, min, max, med
}

// Example evaluates three thresholds on a run of three one-second
// intervals whose last interval is slow.
func Example() {
	plan := &engine.Plan{Interval: time.Second, Flows: []engine.Flow{
		{Name: "browse", Weight: 1, Steps: []engine.Step{{Name: "home", Method: "GET"}}},
	}}
	ths := []slo.Threshold{
		{Metric: "http_req_duration", Expr: "p(95) < 300ms"},
		{Metric: "http_req_failed", Expr: "rate < 1%"},
		{Metric: "http_req_duration", Tags: []engine.Tag{{Key: "step", Value: "home"}},
			Expr: "p(99) < 150ms", Window: time.Second, Severity: slo.Warn},
	}
	ev, err := slo.New(plan, ths, slo.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	total := histogram.New()
	var reqs int64
	for sec, lat := range []time.Duration{20 * time.Millisecond, 20 * time.Millisecond, 200 * time.Millisecond} {
		h := histogram.New()
		h.RecordN(lat, 100)
		total = merge(total, h)
		reqs += 100
		start := time.Duration(sec) * time.Second
		ev.Observe(&engine.Snapshot{
			Seq:      sec + 1,
			Interval: period(start, start+time.Second, h, 100),
			Total:    period(0, start+time.Second, total, reqs),
			Final:    sec == 2,
		})
	}
	for _, r := range ev.Results() {
		fmt.Printf("%s %s: %.4g%s passed=%v", r.Key, r.Threshold.Expr, r.Observed, r.Unit, r.Passed)
		if r.Reason != "" {
			fmt.Print(" (", r.Reason, ")")
		}
		fmt.Println()
	}
	fmt.Println("run failed:", ev.Failed())
	// Output:
	// http_req_duration p(95) < 300ms: 200.1ms passed=true
	// http_req_failed rate < 1%: 0 passed=true
	// http_req_duration{step:home} p(99) < 150ms: 200.1ms passed=false (breached in window ending at 3s)
	// run failed: false
}

// period is one step's measurements over [start, end).
func period(start, end time.Duration, h *histogram.Histogram, reqs int64) *engine.Period {
	return &engine.Period{
		Start: start, End: end,
		Steps: [][]engine.StepStats{{{Duration: h, Requests: reqs}}},
		Flows: []engine.FlowStats{{Iterations: reqs}},
	}
}

// merge returns a new histogram: published ones are never written.
func merge(a, b *histogram.Histogram) *histogram.Histogram {
	out := a.Clone()
	out.Merge(b)
	return out
}
