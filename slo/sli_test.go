package slo

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/loadgate/loadgate/engine"
)

func sliTh(name, expr string) Threshold {
	return Threshold{Metric: SLIMetric, Tags: []engine.Tag{{Key: "name", Value: name}}, Expr: expr}
}

func TestSLI(t *testing.T) {
	errDown := errors.New("prometheus: query server_cpu: connection refused")
	cases := []struct {
		name     string
		th       Threshold
		live     []SLIReading // fed before the final one
		final    SLIReading
		passed   bool
		failed   bool // Result.Failed: it failed at some point
		noData   bool
		reason   string
		observed float64
		limit    float64
		unit     string
	}{
		{
			name: "holds", th: sliTh("cpu", "value < 0.8"),
			final:  SLIReading{Name: "cpu", Value: 0.25, At: 5 * time.Second},
			passed: true, observed: 0.25, limit: 0.8,
		},
		{
			name: "breached", th: sliTh("cpu", "value < 0.8"),
			final:  SLIReading{Name: "cpu", Value: 0.9, At: 5 * time.Second},
			failed: true, observed: 0.9, limit: 0.8, reason: "observed 0.9, limit < 0.8",
		},
		{
			// A percent is a share, as Prometheus ratios are.
			name: "percent", th: sliTh("errors", "value <= 1%"),
			final:  SLIReading{Name: "errors", Value: 0.005},
			passed: true, observed: 0.005, limit: 0.01,
		},
		{
			// A duration compares in seconds, Prometheus's unit.
			name: "duration in seconds", th: sliTh("p99", "value < 300ms"),
			final:  SLIReading{Name: "p99", Value: 0.45},
			failed: true, observed: 0.45, limit: 0.3, unit: "s", reason: "observed 0.45s, limit < 0.3s",
		},
		{
			// A failing query is a reason, never a silent pass.
			name: "query failed", th: sliTh("cpu", "value < 0.8"),
			final:  SLIReading{Name: "cpu", Err: errDown},
			failed: true, noData: true, limit: 0.8, reason: errDown.Error(),
		},
		{
			name: "empty result", th: sliTh("cpu", "value < 0.8"),
			final:  SLIReading{Name: "cpu", Err: errors.New("no data: the query returned an empty result"), NoData: true},
			failed: true, noData: true, limit: 0.8, reason: "no data: the query returned an empty result",
		},
		{
			// A live breach is remembered; the final value gives the verdict.
			name: "live breach then final pass", th: sliTh("cpu", "value < 0.8"),
			live:   []SLIReading{{Name: "cpu", Value: 0.95, At: 2 * time.Second}, {Name: "cpu", Err: errDown, At: 4 * time.Second}},
			final:  SLIReading{Name: "cpu", Value: 0.5, At: 6 * time.Second},
			passed: true, failed: true, observed: 0.5, limit: 0.8,
		},
		{
			// Another SLI's readings do not touch this one.
			name: "other name", th: sliTh("cpu", "value < 0.8"),
			live:   []SLIReading{{Name: "mem", Value: 9}},
			final:  SLIReading{Name: "cpu", Value: 0.1},
			passed: true, observed: 0.1, limit: 0.8,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := mustNew(t, testPlan(), Options{}, tc.th)
			for _, r := range tc.live {
				e.ObserveSLI(r, false)
			}
			e.ObserveSLI(tc.final, true)
			e.ObserveSLI(SLIReading{Name: tc.final.Name, Value: 1e9}, true) // ignored: already final
			r := e.Results()[0]
			if r.Pending || r.Passed != tc.passed || r.Failed != tc.failed || r.NoData != tc.noData {
				t.Fatalf("pending %v passed %v failed %v noData %v; want passed %v failed %v noData %v (%+v)",
					r.Pending, r.Passed, r.Failed, r.NoData, tc.passed, tc.failed, tc.noData, r)
			}
			if r.Reason != tc.reason || r.Observed != tc.observed || r.Limit != tc.limit || r.Unit != tc.unit {
				t.Fatalf("reason %q observed %v limit %v unit %q; want %q %v %v %q", r.Reason, r.Observed, r.Limit, r.Unit, tc.reason, tc.observed, tc.limit, tc.unit)
			}
			if r.Key != "sli{name:"+tc.final.Name+"}" {
				t.Fatalf("key %q", r.Key)
			}
			if e.Failed() == tc.passed {
				t.Fatalf("Failed() = %v with passed %v", e.Failed(), tc.passed)
			}
		})
	}
}

// Snapshots never decide an SLI: until it is fed it stays pending, even
// after the Final snapshot, and a live failing query shows its reason.
func TestSLIPendingUntilFed(t *testing.T) {
	e := mustNew(t, testPlan(), Options{}, sliTh("cpu", "value < 0.8"), Threshold{Metric: "http_reqs", Expr: "count > 0"})
	f := newFeed(testPlan())
	run(e, f.tick(load{step: home, lat: ms100, n: 10}), f.final())
	r := e.Results()
	if !r[0].Pending || !r[1].Passed || e.Failed() {
		t.Fatalf("after final snapshot: %+v", r)
	}
	e.ObserveSLI(SLIReading{Name: "cpu", Err: errors.New("timeout")}, false)
	if r := e.Results()[0]; !r.Pending || r.Reason != "timeout" {
		t.Fatalf("live error: %+v", r)
	}
	if got := e.SLINames(); len(got) != 1 || got[0] != "cpu" {
		t.Fatalf("SLINames %v", got)
	}
}

func TestSLIAbort(t *testing.T) {
	var aborted []Result
	th := sliTh("cpu", "value < 0.8")
	th.AbortOnFail, th.Delay = true, 3*time.Second
	e := mustNew(t, testPlan(), Options{Abort: func(r Result) { aborted = append(aborted, r) }}, th)
	e.ObserveSLI(SLIReading{Name: "cpu", Value: 0.9, At: 2 * time.Second}, false) // within the delay
	if len(aborted) != 0 {
		t.Fatal("aborted within the delay")
	}
	e.ObserveSLI(SLIReading{Name: "cpu", Value: 0.9, At: 4 * time.Second}, false)
	e.ObserveSLI(SLIReading{Name: "cpu", Value: 0.95, At: 5 * time.Second}, false)
	if len(aborted) != 1 || !aborted[0].Aborted || aborted[0].Key != "sli{name:cpu}" {
		t.Fatalf("aborts %+v", aborted)
	}
	e.ObserveSLI(SLIReading{Name: "cpu", Value: 0.1, At: 6 * time.Second}, true)
	if r := e.Results()[0]; r.Passed || !r.Aborted {
		t.Fatalf("the threshold that aborted the run must fail: %+v", r)
	}
}

func TestSLINewErrors(t *testing.T) {
	win := sliTh("cpu", "value < 1")
	win.Window = time.Minute
	cases := []struct {
		name string
		th   Threshold
		msg  string
	}{
		{"no name", Threshold{Metric: SLIMetric, Expr: "value < 1"}, "sli{name:QUERY}"},
		{"other tag", Threshold{Metric: SLIMetric, Tags: []engine.Tag{{Key: "step", Value: "x"}}, Expr: "value < 1"}, "sli{name:QUERY}"},
		{"percentile", sliTh("cpu", "p(95) < 1"), "use value"},
		{"baseline", sliTh("cpu", "value < baseline"), "no baseline"},
		{"window", win, "window does not apply"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(testPlan(), []Threshold{tc.th}, Options{})
			if err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("error %v, want it to contain %q", err, tc.msg)
			}
		})
	}
}
