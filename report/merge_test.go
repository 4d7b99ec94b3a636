package report

import (
	"fmt"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/loadgate/loadgate/engine"
	"github.com/loadgate/loadgate/histogram"
)

// shardRun is the synthetic run of the golden files restricted to the
// intervals i with i mod n = j, over the same 50 s: one of n segments.
func shardRun(t *testing.T, j, n int) Run {
	r := testRun(t)
	p := testPlan()
	p.Segment = engine.Segment{Index: j, Count: n}
	total := newPeriod(p, 0, 0)
	tl := NewTimeline(p)
	var last *engine.Snapshot
	for i := j; i < 50; i += n {
		iv := interval(p, i)
		addPeriod(total, iv)
		last = &engine.Snapshot{Seq: i + 1, Interval: iv, Total: total, InFlight: 1, PlannedTotal: 5000 / int64(n), Final: true}
		last.ErrorSamples[engine.KindStatus5xx] = "POST pay: status 503"
		tl.Observe(last)
	}
	r.Plan, r.Final, r.Timeline = p, last, tl
	return r
}

// TestMergeSegmentsEqualsWhole: merging the reports of three shards gives
// the metrics of the whole run exactly, trends included (same histogram,
// same aggregates), and the thresholds evaluated on them.
func TestMergeSegmentsEqualsWhole(t *testing.T) {
	whole := Build(testRun(t))
	var in []*Summary
	for j := 0; j < 3; j++ {
		in = append(in, Build(shardRun(t, j, 3)))
	}
	m, err := Merge(in, MergeOptions{Tool: "loadgate", Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	got := m.Summary
	if len(m.Causes) != 0 {
		t.Errorf("causes %v, want none", m.Causes)
	}
	if len(got.Metrics) != len(whole.Metrics) {
		t.Errorf("%d metrics, want %d", len(got.Metrics), len(whole.Metrics))
	}
	for k, w := range whole.Metrics {
		g, ok := got.Metrics[k]
		if !ok {
			t.Errorf("%s missing", k)
			continue
		}
		if w.Type == TypeTrend {
			gh, err1 := g.Histogram()
			wh, err2 := w.Histogram()
			if err1 != nil || err2 != nil || !gh.Equal(wh) {
				t.Errorf("%s: merged histogram differs from the whole run's (%v, %v)", k, err1, err2)
			}
			g.HDR, w.HDR = "", "" // equal histograms may encode differently
		}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("%s:\n got %+v\nwant %+v", k, g, w)
		}
	}
	if got.Plan.Segment != (SegmentInfo{0, 1}) {
		t.Errorf("segment %+v, want the whole schedule", got.Plan.Segment)
	}
	if got.Generator.Planned != whole.Generator.Planned || got.Generator.Started != whole.Generator.Started || got.Generator.Dropped != whole.Generator.Dropped {
		t.Errorf("generator %+v, want %+v", got.Generator, whole.Generator)
	}
	if got.Errors["5xx"] != whole.Errors["5xx"] || got.ErrorSamples["5xx"] == "" {
		t.Errorf("errors %v %v, want %v", got.Errors, got.ErrorSamples, whole.Errors)
	}
	// Each interval comes from one shard, so the rows are exact.
	if len(got.Timeseries) != len(whole.Timeseries) {
		t.Fatalf("%d rows, want %d", len(got.Timeseries), len(whole.Timeseries))
	}
	for i, w := range whole.Timeseries {
		g := got.Timeseries[i]
		if g.T != w.T || g.Reqs != w.Reqs || g.Errors != w.Errors || g.P99 != w.P99 {
			t.Errorf("row %d: %+v, want %+v", i, g, w)
		}
	}
	// Thresholds: observed from the merged metrics, verdicts re-decided.
	want := []struct {
		passed, skipped bool
		observed        float64
	}{
		{true, false, whole.Metrics["http_req_duration"].P95},
		{false, false, whole.Metrics["http_req_duration{step:pay}"].P99},
		{true, false, whole.Metrics["http_req_failed"].Rate},
		{false, false, whole.Metrics["http_req_duration{method:POST}"].P99},
		{false, true, 0},
	}
	if len(got.Thresholds) != len(want) {
		t.Fatalf("%d thresholds, want %d", len(got.Thresholds), len(want))
	}
	for i, w := range want {
		g := got.Thresholds[i]
		if g.Passed != w.passed || g.Skipped != w.skipped || g.Observed != w.observed {
			t.Errorf("threshold %s %q: passed %v skipped %v observed %v, want %v %v %v", g.Metric, g.Expr, g.Passed, g.Skipped, g.Observed, w.passed, w.skipped, w.observed)
		}
		if !g.Passed && !g.Skipped && (g.FirstFailedAt == nil || !strings.HasPrefix(g.Reason, "observed ")) {
			t.Errorf("threshold %s %q: failed without first_failed_at or reason: %+v", g.Metric, g.Expr, g)
		}
	}
}

// trend is a trend metric of the given latencies.
func trend(ds ...time.Duration) Metric {
	h := histogram.New()
	for _, d := range ds {
		h.Record(d)
	}
	return metricOf(engine.Value{Type: engine.Trend, Hist: h}, 10, false)
}

// runs numbers the reports run makes, for their run ids.
var runs atomic.Int64

// run is a minimal report of a 10 s run of scenario "s", a run of its own
// (its own run_id).
func run(ms Metrics, ths ...ThresholdResult) *Summary {
	return &Summary{
		RunID:  fmt.Sprintf("run-%d", runs.Add(1)),
		Schema: Schema, Status: "passed", Scenario: Scenario{Name: "s", SHA256: "abc"},
		StartedAt: "2026-11-22T10:00:00Z", EndedAt: "2026-11-22T10:00:10Z", DurationS: 10,
		Metrics: ms, Thresholds: ths, Plan: &PlanInfo{Model: "open", IntervalS: 1, Segment: SegmentInfo{0, 1}},
	}
}

func segment(s *Summary, i, n int) *Summary { s.Plan.Segment = SegmentInfo{i, n}; return s }

func th(metric, expr string) ThresholdResult {
	t := ThresholdResult{Metric: metric, Expr: expr, Severity: "fail", Passed: true}
	if strings.HasPrefix(metric, "http_req_duration") {
		t.Unit = "ms"
	}
	return t
}

func TestMergeThresholds(t *testing.T) {
	ms := time.Millisecond
	win := th("http_req_duration", "p(99) < 10ms")
	win.WindowS = 5
	winFailed := win
	winFailed.Passed, winFailed.Observed, winFailed.Reason = false, 40, "breached in window ending at 5s"
	abort := th("http_req_duration", "p(99) < 10ms")
	abort.Passed, abort.Aborted, abort.Observed = false, true, 50
	sli := th("sli{name:p99}", "value < 300ms")
	sli.Unit, sli.Observed = "s", 0.2
	sliFailed := sli
	sliFailed.Passed, sliFailed.Observed, sliFailed.Reason = false, 0.4, "observed 0.4s, limit < 0.3s"
	minS := th("http_req_duration", "p(50) < 10ms")
	minS.MinSamples = 5
	for _, tc := range []struct {
		name   string
		in     []*Summary
		passed bool
		obs    float64
		reason string // a substring of the merged reason
	}{
		{
			// The first shard fails p(50) < 10ms alone; the union passes.
			name: "percentile of the union",
			in: []*Summary{
				run(Metrics{"http_req_duration": trend(1*ms, 30*ms, 30*ms)}, th("http_req_duration", "p(50) < 10ms")),
				run(Metrics{"http_req_duration": trend(1*ms, 1*ms, 1*ms, 1*ms, 2*ms)}, th("http_req_duration", "p(50) < 10ms")),
			},
			passed: true, obs: 1,
		},
		{
			name: "a percentile breach",
			in: []*Summary{
				run(Metrics{"http_req_duration": trend(1*ms, 30*ms, 30*ms)}, th("http_req_duration", "p(50) < 10ms")),
				run(Metrics{"http_req_duration": trend(1*ms, 30*ms)}, th("http_req_duration", "p(50) < 10ms")),
			},
			obs: 30.015, reason: "observed 30.02ms, limit < 10ms",
		},
		{
			name: "rate from hits and totals",
			in: []*Summary{
				run(Metrics{"http_req_failed": {Type: TypeRate, Hits: 0, Total: 90}}, th("http_req_failed", "rate < 5%")),
				run(Metrics{"http_req_failed": {Type: TypeRate, Hits: 10, Total: 10}}, th("http_req_failed", "rate < 5%")),
			},
			obs: 0.1, reason: "observed 10%, limit < 5%", // as written: in percent
		},
		{
			name: "counter rate over the merged duration",
			in: []*Summary{
				run(Metrics{"http_reqs": {Type: TypeCounter, Count: 500}}, th("http_reqs", "rate > 80")),
				run(Metrics{"http_reqs": {Type: TypeCounter, Count: 500}}, th("http_reqs", "rate > 80")),
			},
			passed: true, obs: 100,
		},
		{
			name: "no data fails",
			in: []*Summary{
				run(Metrics{"http_req_failed": {Type: TypeRate}}, th("http_req_failed", "rate < 5%")),
				run(Metrics{"http_req_failed": {Type: TypeRate}}, th("http_req_failed", "rate < 5%")),
			},
			reason: "no data",
		},
		{
			name: "min_samples counts the union",
			in: []*Summary{
				run(Metrics{"http_req_duration": trend(1*ms, 1*ms, 1*ms)}, minS),
				run(Metrics{"http_req_duration": trend(1*ms, 1*ms, 1*ms)}, minS),
			},
			passed: true, obs: 1,
		},
		{
			name: "too few samples fail",
			in: []*Summary{
				run(Metrics{"http_req_duration": trend(1*ms, 1*ms)}, minS),
				run(Metrics{"http_req_duration": trend(1*ms, 1*ms)}, minS),
			},
			obs: 1, reason: "not enough data (4 of 5 samples)",
		},
		{
			name: "fast failures do not make latency pass",
			in: []*Summary{
				run(Metrics{"http_req_duration": trend(1 * ms), "http_req_failed": {Type: TypeRate, Hits: 1, Total: 1}}, th("http_req_duration", "p(99) < 10ms")),
				run(Metrics{"http_req_duration": trend(1 * ms), "http_req_failed": {Type: TypeRate, Hits: 1, Total: 1}}, th("http_req_duration", "p(99) < 10ms")),
			},
			obs: 1, reason: "every request failed",
		},
		{
			name: "window failed in one input stays failed",
			in: []*Summary{
				run(Metrics{"http_req_duration": trend(1 * ms)}, win),
				run(Metrics{"http_req_duration": trend(1 * ms)}, winFailed),
			},
			obs: 40, reason: "window threshold failed in input 2 (breached in window ending at 5s)",
		},
		{
			name: "window passed everywhere passes",
			in: []*Summary{
				run(Metrics{"http_req_duration": trend(1 * ms)}, win),
				run(Metrics{"http_req_duration": trend(1 * ms)}, win),
			},
			passed: true,
		},
		{
			name: "an sli is carried over",
			in: []*Summary{
				run(Metrics{}, sli),
				run(Metrics{}, sliFailed),
			},
			obs: 0.4, reason: "sli threshold failed in input 2 (observed 0.4s, limit < 0.3s)",
		},
		{
			name: "a live abort stands",
			in: []*Summary{
				run(Metrics{"http_req_duration": trend(1 * ms)}, th("http_req_duration", "p(99) < 10ms")),
				run(Metrics{"http_req_duration": trend(1 * ms)}, abort),
			},
			obs: 50, reason: "aborted the run of input 2",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Merge(tc.in, MergeOptions{})
			if err != nil {
				t.Fatal(err)
			}
			got := m.Summary.Thresholds[0]
			if got.Passed != tc.passed || got.Observed != tc.obs || !strings.Contains(got.Reason, tc.reason) {
				t.Errorf("passed %v observed %v reason %q, want %v %v %q", got.Passed, got.Observed, got.Reason, tc.passed, tc.obs, tc.reason)
			}
			if !got.Passed && (got.FirstFailedAt == nil || *got.FirstFailedAt != "2026-11-22T10:00:10Z") {
				t.Errorf("first_failed_at %v, want the merged end", got.FirstFailedAt)
			}
		})
	}
}

func TestMergeInputs(t *testing.T) {
	ms := func() Metrics { return Metrics{"http_reqs": {Type: TypeCounter, Count: 1}} }
	other := run(ms())
	other.Scenario.SHA256 = "def"
	interrupted := run(ms())
	interrupted.Status, interrupted.Partial = "interrupted", true
	killed := run(ms())
	killed.Partial = true
	preflight := run(Metrics{})
	preflight.Status = "preflight_failed"
	// One run given twice: the same report, or its .partial and its final
	// report (the same run_id); reports of versions before run_id are
	// the same run when scenario, segment, start and data are the same.
	one := run(ms())
	partialOfOne := run(ms())
	partialOfOne.RunID, partialOfOne.Partial = one.RunID, true
	old := func(m Metrics) *Summary { s := run(m); s.RunID = ""; return s }
	twoHosts := Metrics{"http_reqs": {Type: TypeCounter, Count: 2}}
	for _, tc := range []struct {
		name   string
		in     []*Summary
		force  bool
		err    string // a substring of the error
		causes []string
		warn   string // a substring of a warning
	}{
		{name: "hosts each ran the whole schedule", in: []*Summary{run(ms()), run(ms())}},
		{name: "other scenario", in: []*Summary{run(ms()), other}, err: "different scenarios"},
		{name: "other scenario, forced", in: []*Summary{run(ms()), other}, force: true, warn: "different scenarios"},
		{name: "same segment twice", in: []*Summary{segment(run(ms()), 0, 2), segment(run(ms()), 0, 2)}, err: "would count twice"},
		{name: "segments of different N", in: []*Summary{segment(run(ms()), 0, 2), segment(run(ms()), 1, 3)}, err: "shares of 2"},
		{name: "a segment missing", in: []*Summary{segment(run(ms()), 0, 3), segment(run(ms()), 2, 3)}, causes: []string{"inconclusive: segments missing from the merge: 1/3"}},
		{name: "interrupted input", in: []*Summary{run(ms()), interrupted}, causes: []string{"interrupted: input 2: interrupted"}},
		{name: "killed input", in: []*Summary{killed, run(ms())}, causes: []string{"inconclusive: input 1: partial report"}},
		{name: "nothing sent", in: []*Summary{run(ms()), preflight}, causes: []string{"inconclusive: input 2: preflight_failed"}},
		{name: "trend without histogram", in: []*Summary{run(Metrics{"x": {Type: TypeTrend, Count: 3}})}, err: "cannot be merged exactly"},
		{name: "type mismatch", in: []*Summary{run(ms()), run(Metrics{"http_reqs": {Type: TypeRate}})}, err: "is a rate in input 2 but a counter"},
		{name: "one report twice", in: []*Summary{one, run(ms()), one}, err: "input 1 and input 3 are the same run (run_id run-"},
		{name: "one report twice, forced", in: []*Summary{one, one}, force: true, warn: "are the same run"},
		{name: "a run and its partial report", in: []*Summary{partialOfOne, one}, err: "are the same run (run_id"},
		{name: "an old report twice", in: []*Summary{old(ms()), old(ms())}, err: "are the same run (the same scenario, segment, start and data)"},
		{name: "old reports of two hosts", in: []*Summary{old(ms()), old(twoHosts)}},
		{name: "an old and a new report of the same data", in: []*Summary{old(ms()), run(ms())}, err: "are the same run"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Merge(tc.in, MergeOptions{Force: tc.force})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var causes []string
			for _, c := range m.Causes {
				causes = append(causes, string(c.Status)+": "+c.Reason)
			}
			if len(causes) != len(tc.causes) {
				t.Fatalf("causes %q, want %q", causes, tc.causes)
			}
			for i := range causes {
				if !strings.HasPrefix(causes[i], tc.causes[i]) {
					t.Errorf("cause %q, want %q…", causes[i], tc.causes[i])
				}
			}
			if tc.warn != "" && !strings.Contains(strings.Join(m.Summary.Warnings, "\n"), tc.warn) {
				t.Errorf("warnings %q lack %q", m.Summary.Warnings, tc.warn)
			}
			var want int64
			for _, s := range tc.in {
				want += s.Metrics["http_reqs"].Count
			}
			if got := m.Summary.Metrics["http_reqs"].Count; got != want {
				t.Errorf("http_reqs %d, want %d", got, want)
			}
		})
	}
}

// TestMergeTimeseries: rows are aligned by the interval their end falls
// on, despite collector jitter and a short last row.
func TestMergeTimeseries(t *testing.T) {
	a := run(Metrics{})
	a.Timeseries = []Point{{T: 1.002, DT: 1.002, Reqs: 10, P99: 5}, {T: 2.001, DT: 0.999, Reqs: 10, P99: 7}, {T: 2.004, DT: 0.003, Reqs: 1, P99: 9}}
	b := run(Metrics{})
	b.Timeseries = []Point{{T: 0.998, DT: 0.998, Reqs: 20, P99: 6}, {T: 2.010, DT: 1.012, Reqs: 20, P99: 4}, {T: 3.0, DT: 0.99, Reqs: 5, P99: 3}}
	m, err := Merge([]*Summary{a, b}, MergeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []Point{
		{T: 1.002, DT: 1.002, Reqs: 30, P99: 6},
		{T: 2.01, DT: 1.012, Reqs: 31, P99: 9},
		{T: 3.0, DT: 0.99, Reqs: 5, P99: 3},
	}
	got := m.Summary.Timeseries
	if len(got) != len(want) {
		t.Fatalf("rows %+v, want %+v", got, want)
	}
	for i, w := range want {
		g := got[i]
		if g.T != w.T || g.DT != w.DT || g.Reqs != w.Reqs || g.P99 != w.P99 {
			t.Errorf("row %d: %+v, want %+v", i, g, w)
		}
	}
}
