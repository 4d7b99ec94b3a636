package slo

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/loadgate/loadgate/engine"
)

const ms100 = 100 * time.Millisecond

func mustNew(t *testing.T, plan *engine.Plan, opt Options, ths ...Threshold) *Evaluator {
	t.Helper()
	e, err := New(plan, ths, opt)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// near reports whether got is within the histogram's 3-digit precision of want.
func near(got, want float64) bool { return math.Abs(got-want) <= math.Abs(want)*2e-3 }

func TestWholeRun(t *testing.T) {
	cases := []struct {
		name      string
		th        Threshold
		ticks     [][]load // the last one is the Final snapshot
		passed    bool
		observed  float64
		unit      string
		reason    string
		firstFail time.Duration // 0: never failed
		noData    bool
		runFailed bool // Evaluator.Failed()
	}{
		{
			name:   "latency holds",
			th:     Threshold{Metric: "http_req_duration", Expr: "p(95) < 300ms"},
			ticks:  [][]load{{{step: home, lat: ms100, n: 100}}, {{step: search, lat: ms100, n: 100}}},
			passed: true, observed: 100, unit: "ms",
		},
		{
			name:     "latency breached",
			th:       Threshold{Metric: "http_req_duration", Tags: []engine.Tag{{Key: "step", Value: "home"}}, Expr: "p(95) < 50"},
			ticks:    [][]load{{{step: home, lat: ms100, n: 100}}, {{step: home, lat: ms100, n: 100}}},
			observed: 100, unit: "ms", reason: "observed 100.031ms, limit < 50ms", firstFail: time.Second, runFailed: true,
		},
		{
			// A slow start fails live; the whole-run verdict is on the end.
			name: "live failure then recovery",
			th:   Threshold{Metric: "http_req_duration", Expr: "p(90) < 300ms"},
			ticks: [][]load{{{step: home, lat: time.Second, n: 10}},
				{{step: home, lat: ms100, n: 100}}, {{step: home, lat: ms100, n: 100}}},
			passed: true, observed: 100, unit: "ms", firstFail: time.Second,
		},
		{
			name:   "error rate as percent",
			th:     Threshold{Metric: "http_req_failed", Expr: "rate < 1%"},
			ticks:  [][]load{{{step: home, lat: ms100, n: 1000, failed: 5}}, {{step: pay, lat: ms100, n: 1000, failed: 5}}},
			passed: true, observed: 0.005,
		},
		{
			name:     "checks",
			th:       Threshold{Metric: "checks", Expr: "rate > 99%"},
			ticks:    [][]load{{{step: home, lat: ms100, n: 10, ok: 90, checks: 100}}, {}},
			observed: 0.9, reason: "observed 0.9, limit > 0.99", firstFail: time.Second, runFailed: true,
		},
		{
			name:   "counter per second over the run",
			th:     Threshold{Metric: "http_reqs", Expr: "rate >= 100"},
			ticks:  [][]load{{{step: home, lat: ms100, n: 150}}, {{step: pay, lat: ms100, n: 50}}},
			passed: true, observed: 100, unit: "/s",
		},
		{
			name:   "zero count is data",
			th:     Threshold{Metric: "dropped_iterations", Expr: "count < 1"},
			ticks:  [][]load{{}, {}},
			passed: true,
		},
		{
			name:  "no data",
			th:    Threshold{Metric: "http_req_duration", Tags: []engine.Tag{{Key: "flow", Value: "checkout"}}, Expr: "p(95) < 300ms"},
			ticks: [][]load{{{step: home, lat: ms100, n: 100}}, {{step: home, lat: ms100, n: 100}}},
			unit:  "ms", reason: "no data", firstFail: 2 * time.Second, noData: true, runFailed: true,
		},
		{
			name:   "no data on a rate",
			th:     Threshold{Metric: "checks", Expr: "rate > 99%"},
			ticks:  [][]load{{{step: home, lat: ms100, n: 100}}},
			reason: "no data", firstFail: time.Second, noData: true, runFailed: true,
		},
		{
			// Fast failures (connection refused) must not make latency pass.
			name:     "every request failed",
			th:       Threshold{Metric: "http_req_duration", Expr: "p(95) < 300ms"},
			ticks:    [][]load{{{step: home, lat: time.Millisecond, n: 100, failed: 100}}, {{step: pay, lat: time.Millisecond, n: 10, failed: 10}}},
			observed: 1, unit: "ms", reason: "every request failed", firstFail: time.Second, runFailed: true,
		},
		{
			name:     "every request of the selection failed",
			th:       Threshold{Metric: "http_req_duration", Tags: []engine.Tag{{Key: "step", Value: "pay"}}, Expr: "avg < 300ms"},
			ticks:    [][]load{{{step: home, lat: ms100, n: 100}, {step: pay, lat: time.Millisecond, n: 10, failed: 10}}},
			observed: 1, unit: "ms", reason: "every request failed", firstFail: time.Second, runFailed: true,
		},
		{
			name:   "min_samples reached",
			th:     Threshold{Metric: "http_req_duration", Expr: "max < 300ms", MinSamples: 150},
			ticks:  [][]load{{{step: home, lat: ms100, n: 100}}, {{step: home, lat: ms100, n: 100}}},
			passed: true, observed: 100, unit: "ms",
		},
		{
			// Slow, but too few samples to judge: no live failure, and the
			// end fails for lack of data rather than latency.
			name:     "min_samples not reached",
			th:       Threshold{Metric: "http_req_duration", Expr: "max < 50ms", MinSamples: 500},
			ticks:    [][]load{{{step: home, lat: ms100, n: 100}}, {{step: home, lat: ms100, n: 100}}},
			observed: 100, unit: "ms", reason: "not enough data (200 of 500 samples)", firstFail: 2 * time.Second, runFailed: true,
		},
		{
			name:     "warn severity fails without failing the run",
			th:       Threshold{Metric: "http_req_duration", Expr: "p(99) < 50ms", Severity: Warn},
			ticks:    [][]load{{{step: home, lat: ms100, n: 100}}},
			observed: 100, unit: "ms", reason: "observed 100.031ms, limit < 50ms", firstFail: time.Second,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			plan := testPlan()
			e := mustNew(t, plan, Options{}, tc.th)
			f := newFeed(plan)
			for i, loads := range tc.ticks {
				if i == len(tc.ticks)-1 {
					e.Observe(f.final(loads...))
				} else {
					e.Observe(f.tick(loads...))
				}
			}
			r := e.Results()[0]
			if r.Passed != tc.passed || !near(r.Observed, tc.observed) || r.Unit != tc.unit || r.Reason != tc.reason ||
				r.NoData != tc.noData || r.Pending || r.Failed != (tc.firstFail != 0) || r.FirstFailedAt != tc.firstFail {
				t.Errorf("result %+v\nwant passed=%v observed=%v unit=%q reason=%q noData=%v firstFail=%v",
					r, tc.passed, tc.observed, tc.unit, tc.reason, tc.noData, tc.firstFail)
			}
			if got := e.Failed(); got != tc.runFailed {
				t.Errorf("Failed() = %v, want %v", got, tc.runFailed)
			}
		})
	}
}

func TestWindow(t *testing.T) {
	plan := testPlan()
	th := Threshold{Metric: "http_req_duration", Expr: "p(95) < 300ms", Window: 3 * time.Second}
	e := mustNew(t, plan, Options{}, th)
	f := newFeed(plan)
	fast := load{step: home, lat: ms100, n: 100}
	slow := load{step: search, lat: 2 * time.Second, n: 20}
	// Seconds 1-4 fast; second 5 has 20 slow requests, 16.7% of its
	// 3 s window (p95 breached) but under 2% of the run; then fast again
	// until the slow interval leaves the window.
	for i := 1; i <= 4; i++ {
		e.Observe(f.tick(fast))
	}
	if r := e.Results()[0]; !r.Passed || r.Failed || r.Pending {
		t.Fatalf("before the spike: %+v", r)
	}
	e.Observe(f.tick(fast, slow))
	r := e.Results()[0]
	if r.Passed || !r.Failed || r.FirstFailedAt != 5*time.Second || r.Reason != "breached in window ending at 5s" {
		t.Fatalf("at the spike: %+v", r)
	}
	for i := 6; i <= 9; i++ {
		e.Observe(f.tick(fast))
	}
	e.Observe(f.final(fast))
	r = e.Results()[0]
	if r.Passed || r.FirstFailedAt != 5*time.Second || !near(r.Observed, 2000) || r.Reason != "breached in window ending at 5s" {
		t.Fatalf("final: %+v", r)
	}
	if r.Evaluations != 10 {
		t.Errorf("Evaluations = %d, want 10", r.Evaluations)
	}
	if !e.Failed() {
		t.Error("Failed() = false after a breached window")
	}

	// The same data judged on the whole run passes: the spike is diluted.
	whole := mustNew(t, plan, Options{}, Threshold{Metric: "http_req_duration", Expr: "p(95) < 300ms"})
	f = newFeed(plan)
	whole.Observe(f.tick(fast, slow))
	for i := 2; i <= 9; i++ {
		whole.Observe(f.tick(fast))
	}
	whole.Observe(f.final(fast))
	if r := whole.Results()[0]; !r.Passed {
		t.Errorf("whole run: %+v", r)
	}
}

func TestWindowRates(t *testing.T) {
	plan := testPlan()
	ths := []Threshold{
		{Metric: "http_req_failed", Expr: "rate < 10%", Window: 2 * time.Second},
		{Metric: "http_reqs", Expr: "rate > 50", Window: 2 * time.Second},
	}
	e := mustNew(t, plan, Options{}, ths...)
	f := newFeed(plan)
	e.Observe(f.tick(load{step: home, lat: ms100, n: 100}))
	e.Observe(f.tick(load{step: home, lat: ms100, n: 100, failed: 30})) // window: 30/200 failed
	e.Observe(f.tick(load{step: home, lat: ms100, n: 10}))              // window: 110 reqs in 2 s
	e.Observe(f.final(load{step: home, lat: ms100, n: 10}))             // window: 20 reqs in 2 s
	rs := e.Results()
	// The first breach is at 2 s (30/200); the worst window is at 3 s (30/110).
	if r := rs[0]; r.Passed || r.FirstFailedAt != 2*time.Second || !near(r.Observed, 30.0/110) {
		t.Errorf("failed rate: %+v", r)
	}
	if r := rs[1]; r.Passed || r.FirstFailedAt != 4*time.Second || !near(r.Observed, 10) || r.Unit != "/s" {
		t.Errorf("request rate: %+v", r)
	}
}

func TestWindowMinSamples(t *testing.T) {
	plan := testPlan()
	th := Threshold{Metric: "http_req_duration", Expr: "p(95) < 300ms", Window: 2 * time.Second, MinSamples: 50}
	t.Run("never enough", func(t *testing.T) {
		e := mustNew(t, plan, Options{}, th)
		f := newFeed(plan)
		e.Observe(f.tick(load{step: home, lat: time.Second, n: 10}))
		if r := e.Results()[0]; !r.Pending || r.Failed || r.Reason != "not enough data (10 of 50 samples)" {
			t.Fatalf("live: %+v", r)
		}
		e.Observe(f.tick(load{step: home, lat: time.Second, n: 10}))
		e.Observe(f.final(load{step: home, lat: time.Second, n: 10}))
		if r := e.Results()[0]; r.Pending || r.Passed || r.Reason != "not enough data (20 of 50 samples)" {
			t.Fatalf("final: %+v", r)
		}
	})
	t.Run("no data", func(t *testing.T) {
		e := mustNew(t, plan, Options{}, th)
		f := newFeed(plan)
		run(e, f.tick(), f.final())
		if r := e.Results()[0]; r.Passed || !r.NoData || r.Reason != "no data" || !e.Failed() {
			t.Fatalf("final: %+v", r)
		}
	})
	t.Run("every request failed", func(t *testing.T) {
		e := mustNew(t, plan, Options{}, th)
		f := newFeed(plan)
		run(e, f.tick(load{step: home, lat: time.Millisecond, n: 60, failed: 60}))
		if r := e.Results()[0]; r.Passed || r.Reason != "every request failed in window ending at 1s" {
			t.Fatalf("live: %+v", r)
		}
	})
}

func TestAbort(t *testing.T) {
	plan := testPlan()
	slow := load{step: pay, lat: time.Second, n: 100}
	var calls []Result
	opt := Options{Abort: func(r Result) { calls = append(calls, r) }}
	ths := []Threshold{
		{Metric: "http_req_duration", Expr: "p(99) < 1ms", AbortOnFail: true, Severity: Warn}, // warn never aborts
		{Metric: "http_req_duration", Expr: "p(95) < 300ms", AbortOnFail: true, Delay: 3 * time.Second},
		{Metric: "http_req_duration", Expr: "p(99) < 300ms", AbortOnFail: true, MinSamples: 1000}, // gated by samples
		{Metric: "http_req_duration", Expr: "p(90) < 300ms"},                                      // no abort_on_fail
	}
	e := mustNew(t, plan, opt, ths...)
	f := newFeed(plan)
	e.Observe(f.tick(slow))
	e.Observe(f.tick(slow))
	if len(calls) != 0 {
		t.Fatalf("aborted before the delay: %+v", calls)
	}
	e.Observe(f.tick(slow)) // 3 s: the delay has passed
	if len(calls) != 1 || calls[0].Threshold.Expr != "p(95) < 300ms" || !calls[0].Aborted {
		t.Fatalf("abort calls at 3 s: %+v", calls)
	}
	// The engine stops within an interval; more failing snapshots must not
	// call Abort again, even once another threshold may abort too.
	e.Observe(f.tick(slow))
	e.Observe(f.tick(slow))
	e.Observe(f.tick(slow))
	e.Observe(f.tick(slow))
	e.Observe(f.tick(slow))
	e.Observe(f.tick(slow))
	e.Observe(f.tick(slow)) // 10 s: 1000 samples, the min_samples threshold fails
	e.Observe(f.final(load{step: pay, lat: time.Millisecond, n: 100000}))
	if len(calls) != 1 {
		t.Fatalf("Abort called %d times", len(calls))
	}
	rs := e.Results()
	if rs[0].Aborted || !rs[1].Aborted || rs[2].Aborted || rs[3].Aborted {
		t.Errorf("Aborted flags: %v %v %v %v", rs[0].Aborted, rs[1].Aborted, rs[2].Aborted, rs[3].Aborted)
	}
	// The fast final interval makes the data pass, but the threshold that
	// stopped the run has failed.
	if r := rs[1]; r.Passed || r.FirstFailedAt != time.Second || r.Reason != "failed at 1s and aborted the run" {
		t.Errorf("aborted threshold: %+v", r)
	}
	if !e.Failed() {
		t.Error("Failed() = false after an abort")
	}
}

func TestAbortNotOnFinal(t *testing.T) {
	plan := testPlan()
	called := false
	e := mustNew(t, plan, Options{Abort: func(Result) { called = true }},
		Threshold{Metric: "http_req_duration", Expr: "p(95) < 300ms", AbortOnFail: true})
	f := newFeed(plan)
	e.Observe(f.final(load{step: pay, lat: time.Second, n: 10}))
	if called || e.Results()[0].Aborted {
		t.Error("the final snapshot aborted a run that has already ended")
	}
}

func TestBaseline(t *testing.T) {
	plan := testPlan()
	th := Threshold{Metric: "http_req_duration", Tags: []engine.Tag{{Key: "step", Value: "home"}}, Expr: "p(95) < baseline + 10%"}
	fast := load{step: home, lat: ms100, n: 100}
	cases := []struct {
		name    string
		base    func(string, Expr) (float64, bool, string)
		skipped bool
		passed  bool
		limit   float64
		reason  string
	}{
		{name: "no --baseline", skipped: true, reason: "needs --baseline"},
		{name: "missing from baseline", base: func(string, Expr) (float64, bool, string) { return 0, false, "" },
			skipped: true, reason: "baseline has no http_req_duration{step:home}"},
		{name: "resolver's reason", base: func(string, Expr) (float64, bool, string) { return 0, false, "baseline run failed" },
			skipped: true, reason: "baseline run failed"},
		{name: "better than baseline", base: func(key string, e Expr) (float64, bool, string) {
			if key != "http_req_duration{step:home}" || e.Agg != AggPercentile || e.P != 95 {
				return 0, false, "wrong question"
			}
			return 100, true, ""
		}, passed: true, limit: 110},
		{name: "worse than baseline", base: func(string, Expr) (float64, bool, string) { return 50, true, "" },
			limit: 55, reason: "observed 100.031ms, limit < 55ms"},
	}
	// A relative limit on a zero baseline is refused (Expr.CheckBaseline).
	zero := func(string, Expr) (float64, bool, string) { return 0, true, "" }
	if _, err := New(plan, []Threshold{{Metric: "http_req_failed", Expr: "rate < baseline + 1%"}}, Options{Baseline: zero}); err == nil ||
		!strings.Contains(err.Error(), "write baseline + 1pp") {
		t.Errorf("rate < baseline + 1%% on a perfect baseline: New = %v", err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := mustNew(t, plan, Options{Baseline: tc.base}, th)
			f := newFeed(plan)
			run(e, f.tick(fast), f.final(fast))
			r := e.Results()[0]
			if r.Skipped != tc.skipped || r.Passed != tc.passed || !near(r.Limit, tc.limit) || r.Reason != tc.reason || r.Pending {
				t.Errorf("result %+v", r)
			}
			if e.Failed() != (!tc.skipped && !tc.passed) {
				t.Errorf("Failed() = %v", e.Failed())
			}
		})
	}
}

// TestMergedEqualsSingle checks that a threshold on a selection merged
// from several steps reads the same values as one on a single histogram of
// the same data.
func TestMergedEqualsSingle(t *testing.T) {
	one := &engine.Plan{Interval: time.Second, Flows: []engine.Flow{{Name: "browse", Weight: 1, Steps: []engine.Step{{Name: "all"}}}}}
	exprs := []string{"p(50) < 1s", "p(99) < 1s", "p(99.9) < 1s", "avg < 1s", "min < 1s", "max < 1s", "med < 1s"}
	var ths []Threshold
	for _, x := range exprs {
		ths = append(ths,
			Threshold{Metric: "http_req_duration", Tags: []engine.Tag{{Key: "flow", Value: "browse"}}, Expr: x},
			Threshold{Metric: "http_req_duration", Tags: []engine.Tag{{Key: "flow", Value: "browse"}}, Expr: x, Window: 2 * time.Second})
	}
	split, joint := mustNew(t, testPlan(), Options{}, ths...), mustNew(t, one, Options{}, ths...)
	fs, fj := newFeed(testPlan()), newFeed(one)
	for i := 1; i <= 5; i++ {
		a := load{step: home, lat: time.Duration(i) * 7 * time.Millisecond, n: int64(10 * i)}
		b := load{step: search, lat: time.Duration(i) * 131 * time.Millisecond, n: 3}
		if i == 5 {
			split.Observe(fs.final(a, b))
			a.step, b.step = [2]int{0, 0}, [2]int{0, 0}
			joint.Observe(fj.final(a, b))
			break
		}
		split.Observe(fs.tick(a, b))
		a.step, b.step = [2]int{0, 0}, [2]int{0, 0}
		joint.Observe(fj.tick(a, b))
	}
	rs, rj := split.Results(), joint.Results()
	for i := range rs {
		if rs[i].Observed != rj[i].Observed || rs[i].Observed == 0 {
			t.Errorf("%s window %v: merged %v, single %v", rs[i].Threshold.Expr, rs[i].Threshold.Window, rs[i].Observed, rj[i].Observed)
		}
	}
}

func TestNewErrors(t *testing.T) {
	plan := testPlan()
	cases := []struct {
		name string
		th   Threshold
		msg  string
		off  int // SyntaxError offset, -1 when the error is not one
	}{
		{"unknown metric", Threshold{Metric: "http_req_duraton", Expr: "p(95) < 1s"}, `threshold http_req_duraton: p(95) < 1s: unknown metric "http_req_duraton"`, -1},
		{"unknown step", Threshold{Metric: "http_reqs", Tags: []engine.Tag{{Key: "step", Value: "nope"}}, Expr: "count > 1"}, "threshold http_reqs{step:nope}: count > 1: no step matches http_reqs{step:nope}", -1},
		{"bad expression", Threshold{Metric: "http_reqs", Expr: "count >> 1"}, `threshold http_reqs: count >> 1: col 8: unexpected ">": want a value: a duration (300ms), a number, a percent (1%) or baseline`, 7},
		{"aggregation of another type", Threshold{Metric: "http_req_duration", Expr: "rate < 1"}, "threshold http_req_duration: rate < 1: col 1: http_req_duration is a trend: use p(N), avg, min, max, med", 0},
		{"min_samples on a counter", Threshold{Metric: "http_reqs", Expr: "count > 1", MinSamples: 5}, "threshold http_reqs: count > 1: min_samples does not apply to counter http_reqs (a count is always data)", -1},
		{"status trend not recorded", Threshold{Metric: "http_req_duration", Tags: []engine.Tag{{Key: "status", Value: "5xx"}}, Expr: "p(95) < 1s"}, "threshold http_req_duration{status:5xx}: p(95) < 1s: http_req_duration{status:5xx} needs Plan.StatusTrends", -1},
		// A count only grows: a lower bound fails live until it is reached, so
		// abort_on_fail would stop every run at once (docs/thresholds.md).
		{"abort on count >", Threshold{Metric: "http_reqs", Expr: "count > 100", AbortOnFail: true}, "threshold http_reqs: count > 100: abort_on_fail does not apply: a count only grows during the run, so it fails until it reaches 100 and would stop the run at its first evaluation; remove abort_on_fail (the count is judged at the end)", -1},
		{"abort on windowed count >=", Threshold{Metric: "iterations", Expr: "count >= 5", AbortOnFail: true, Window: time.Second}, "threshold iterations: count >= 5: abort_on_fail does not apply: a count only grows during the run, so it fails until it reaches 5 and would stop the run at its first evaluation; remove abort_on_fail (the count is judged at the end)", -1},
		{"abort on count ==", Threshold{Metric: "data_sent", Expr: "count == 1", AbortOnFail: true}, "threshold data_sent: count == 1: abort_on_fail does not apply: a count only grows during the run, so it fails until it reaches 1 and would stop the run at its first evaluation; remove abort_on_fail (the count is judged at the end)", -1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(plan, []Threshold{tc.th}, Options{})
			if err == nil || err.Error() != tc.msg {
				t.Fatalf("New: %v\nwant %s", err, tc.msg)
			}
			var se *SyntaxError
			if errors.As(err, &se) != (tc.off >= 0) || tc.off >= 0 && se.Offset != tc.off {
				t.Errorf("SyntaxError %+v, want offset %d", se, tc.off)
			}
		})
	}
}

// TestAbortOnCountUpperBound: abort_on_fail stays allowed where a live
// failure is final (a count's upper bound) or where the value can recover
// (a counter's rate, a trend).
func TestAbortOnCountUpperBound(t *testing.T) {
	for _, expr := range []string{"count < 100", "count <= 100", "rate > 10"} {
		if _, err := New(testPlan(), []Threshold{{Metric: "http_reqs", Expr: expr, AbortOnFail: true}}, Options{}); err != nil {
			t.Errorf("%s with abort_on_fail: %v", expr, err)
		}
	}
	if _, err := New(testPlan(), []Threshold{{Metric: "http_reqs", Expr: "count > 100"}}, Options{}); err != nil {
		t.Errorf("count > 100 without abort_on_fail: %v", err)
	}
}

func TestLiveState(t *testing.T) {
	plan := testPlan()
	e := mustNew(t, plan, Options{}, Threshold{Metric: "http_req_duration", Expr: "p(95) < 300ms"})
	if r := e.Results()[0]; !r.Pending || r.Passed || r.Reason != "no data" || e.Failed() {
		t.Fatalf("before any snapshot: %+v", r)
	}
	f := newFeed(plan)
	e.Observe(f.tick())
	if r := e.Results()[0]; !r.Pending || e.Failed() {
		t.Fatalf("live without data: %+v", r)
	}
	e.Observe(f.tick(load{step: home, lat: time.Second, n: 10}))
	if r := e.Results()[0]; r.Pending || r.Passed || !e.Failed() || !strings.HasPrefix(r.Reason, "observed 1000") {
		t.Fatalf("live failing: %+v", r)
	}
	e.Observe(f.final(load{step: home, lat: ms100, n: 1000}))
	e.Observe(f.tick(load{step: home, lat: time.Second, n: 100000})) // after Final: ignored
	if r := e.Results()[0]; !r.Passed || e.Failed() || r.Evaluations != 2 {
		t.Fatalf("final: %+v", r)
	}
}

// TestConcurrentResults reads results from another goroutine while the
// collector observes, as a Prometheus scrape does. Under -race (make test's
// main pass) an unguarded field fails it; in any build the reader must see
// every threshold's evaluations only grow, and the end state must be what
// the same snapshots give without a reader.
//
// The feeder waits for the reader to have read twice after each snapshot,
// so the two overlap for the whole run. It only loads the reader's counter:
// that orders the reader's past reads before the feeder's next writes, never
// the feeder's writes before the reader's reads, which stay unordered for
// the race detector to check.
func TestConcurrentResults(t *testing.T) {
	plan := testPlan()
	ths := []Threshold{
		{Metric: "http_req_duration", Expr: "p(95) < 300ms", Window: 2 * time.Second, AbortOnFail: true},
		{Metric: "http_req_failed", Expr: "rate < 1%"},
	}
	f := newFeed(plan)
	snaps := []*engine.Snapshot{}
	for i := 0; i < 20; i++ {
		snaps = append(snaps, f.tick(load{step: home, lat: time.Duration(i) * 50 * time.Millisecond, n: 10, failed: 1}))
	}
	snaps = append(snaps, f.final(load{step: home, lat: ms100, n: 10}))
	alone := mustNew(t, plan, Options{Abort: func(Result) {}}, ths...)
	run(alone, snaps...)

	e := mustNew(t, plan, Options{Abort: func(Result) {}}, ths...)
	var reads atomic.Int64
	stop := make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		last := make([]int, len(ths))
		for {
			select {
			case <-stop:
				errc <- nil
				return
			default:
			}
			rs := e.Results()
			_ = e.Failed()
			if len(rs) != len(ths) {
				errc <- fmt.Errorf("%d results, want %d", len(rs), len(ths))
				return
			}
			for i, r := range rs {
				if r.Evaluations < last[i] {
					errc <- fmt.Errorf("%s: evaluations went from %d to %d", r.Threshold.Expr, last[i], r.Evaluations)
					return
				}
				last[i] = r.Evaluations
			}
			reads.Add(1)
		}
	}()
	for _, s := range snaps {
		e.Observe(s)
		for n := reads.Load(); reads.Load() < n+2; {
			runtime.Gosched()
		}
	}
	close(stop)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	got, want := e.Results(), alone.Results()
	for i := range want {
		g, w := got[i], want[i]
		if g.Passed != w.Passed || g.Evaluations != w.Evaluations || g.Observed != w.Observed || g.FirstFailedAt != w.FirstFailedAt {
			t.Errorf("%s with a concurrent reader: %+v\nwithout: %+v", w.Threshold.Expr, g, w)
		}
	}
	if got[0].Evaluations == 0 {
		t.Fatal("nothing was evaluated")
	}
}
