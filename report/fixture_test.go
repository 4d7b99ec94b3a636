package report

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/loadgate/loadgate/engine"
	"github.com/loadgate/loadgate/histogram"
	"github.com/loadgate/loadgate/slo"
)

var update = flag.Bool("update", false, "rewrite the golden files in report/testdata")

// t0 is the fixed wall clock of the synthetic run.
var t0 = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

// testPlan has two flows sharing a step name ("home"), so that the report
// must qualify that step by flow.
func testPlan() *engine.Plan {
	return &engine.Plan{
		Name: "checkout-smoke",
		Load: engine.Load{
			Stages:      []engine.Stage{{Duration: 10 * time.Second, Target: 100}, {Duration: 40 * time.Second, Target: 100}},
			MaxInFlight: 500,
			Slack:       750 * time.Microsecond,
		},
		Flows: []engine.Flow{
			{Name: "browse", Weight: 80, Steps: []engine.Step{
				{Name: "home", Method: "GET", URL: "http://127.0.0.1/"},
				{Name: "search", Method: "GET", URL: "http://127.0.0.1/search"},
			}},
			{Name: "checkout", Weight: 20, Steps: []engine.Step{
				{Name: "home", Method: "GET", URL: "http://127.0.0.1/"},
				{Name: "pay", Method: "POST", URL: "http://127.0.0.1/pay"},
			}},
		},
		Interval: time.Second,
	}
}

// newPeriod returns an empty Period shaped like p, as the engine makes them.
func newPeriod(p *engine.Plan, start, end time.Duration) *engine.Period {
	per := &engine.Period{Start: start, End: end, Lag: histogram.New(), Flows: make([]engine.FlowStats, len(p.Flows))}
	per.Steps = make([][]engine.StepStats, len(p.Flows))
	for fi, f := range p.Flows {
		per.Flows[fi].Duration = histogram.New()
		per.Steps[fi] = make([]engine.StepStats, len(f.Steps))
		for si := range f.Steps {
			per.Steps[fi][si].Duration = histogram.New()
			per.Steps[fi][si].ServiceTime = histogram.New()
		}
	}
	return per
}

// interval fills second i (0-based) of the synthetic run: 100 arrivals due,
// requests with latencies from a fixed pattern, a stall in seconds 20-22
// and a few failures.
func interval(p *engine.Plan, i int) *engine.Period {
	per := newPeriod(p, time.Duration(i)*time.Second, time.Duration(i+1)*time.Second)
	per.Planned, per.Started = 100, 100
	if i == 30 {
		per.Started, per.Dropped = 97, 3
	}
	for n := 0; n < int(per.Started); n++ {
		fi := 0
		if n%5 == 4 {
			fi = 1
		}
		lat := time.Duration(1+n%13)*time.Millisecond + time.Duration(n%7)*100*time.Microsecond
		if i >= 20 && i <= 22 {
			lat += 800 * time.Millisecond
		}
		per.Lag.Record(time.Duration(n%3) * 50 * time.Microsecond)
		for si := range per.Steps[fi] {
			st := &per.Steps[fi][si]
			st.Duration.Record(lat * time.Duration(si+1))
			st.ServiceTime.Record(lat * time.Duration(si+1) / 2)
			st.Requests++
			st.Status[2]++
			if si == 1 {
				st.ChecksTotal++
				st.ChecksPassed++
			}
			if fi == 1 && si == 1 && n%20 == 9 {
				st.Failed++
				st.Errors[engine.KindStatus5xx]++
				st.Status[2]--
				st.Status[5]++
				st.FailedByClass[5]++
				st.ChecksPassed--
			}
		}
		per.BytesSent += 120 * int64(len(per.Steps[fi]))
		per.BytesReceived += 2048 * int64(len(per.Steps[fi]))
		per.Flows[fi].Iterations++
		per.Flows[fi].Duration.Record(lat * 3)
	}
	return per
}

// addPeriod adds src into dst, as the engine's collector builds Total.
func addPeriod(dst, src *engine.Period) {
	dst.End = src.End
	dst.Planned += src.Planned
	dst.Started += src.Started
	dst.Dropped += src.Dropped
	dst.BytesSent += src.BytesSent
	dst.BytesReceived += src.BytesReceived
	dst.Lag.Merge(src.Lag)
	for fi := range src.Flows {
		dst.Flows[fi].Iterations += src.Flows[fi].Iterations
		dst.Flows[fi].Duration.Merge(src.Flows[fi].Duration)
		for si := range src.Steps[fi] {
			d, s := &dst.Steps[fi][si], &src.Steps[fi][si]
			d.Duration.Merge(s.Duration)
			d.ServiceTime.Merge(s.ServiceTime)
			d.Requests += s.Requests
			d.Failed += s.Failed
			d.ChecksPassed += s.ChecksPassed
			d.ChecksTotal += s.ChecksTotal
			for c := range s.Status {
				d.Status[c] += s.Status[c]
				d.FailedByClass[c] += s.FailedByClass[c]
			}
			for k := range s.Errors {
				d.Errors[k] += s.Errors[k]
			}
		}
	}
}

// snapshots returns the n snapshots of the synthetic run, in order.
func snapshots(p *engine.Plan, n int) []*engine.Snapshot {
	total := newPeriod(p, 0, 0)
	out := make([]*engine.Snapshot, 0, n)
	for i := 0; i < n; i++ {
		iv := interval(p, i)
		addPeriod(total, iv)
		// Total is shared between snapshots here; tests never write it after.
		s := &engine.Snapshot{Seq: i + 1, Time: t0.Add(iv.End), Interval: iv, Total: total, InFlight: int64(3 + i%4), PlannedTotal: 5000, Final: i == n-1}
		if i >= 20 && i <= 22 {
			s.InFlight = 80
		}
		s.ErrorSamples[engine.KindStatus5xx] = "POST pay: status 503"
		out = append(out, s)
	}
	return out
}

// testRun is the synthetic run of the golden files: 50 s, a stall, a few
// failures, thresholds in every state.
func testRun(t testing.TB) Run {
	t.Helper()
	p := testPlan()
	tl := NewTimeline(p)
	snaps := snapshots(p, 50)
	for _, s := range snaps {
		tl.Observe(s)
	}
	return Run{
		Tool: "loadgate", Version: "v0.1.0-test",
		Scenario: Scenario{Name: "checkout-smoke", Path: "testdata/checkout.yaml", SHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"},
		Plan:     p,
		Started:  t0, Ended: t0.Add(50 * time.Second),
		Final:    snaps[len(snaps)-1],
		Timeline: tl,
		Thresholds: []slo.Result{
			{Threshold: slo.Threshold{Metric: "http_req_duration", Expr: "p(95) < 1s"}, Key: "http_req_duration", Observed: 805.375, Limit: 1000, Unit: "ms", Passed: true, Evaluations: 50},
			{Threshold: slo.Threshold{Metric: "http_req_duration", Tags: []engine.Tag{{Key: "step", Value: "pay"}}, Expr: "p(99) < 500ms", AbortOnFail: false},
				Key: "http_req_duration{step:pay}", Observed: 1622.015, Limit: 500, Unit: "ms", Failed: true, FirstFailedAt: 21 * time.Second, Reason: "breached since 21s", Evaluations: 50},
			// Failed on its first live evaluation, held at the end: a PASS
			// row that must not read "first failed".
			{Threshold: slo.Threshold{Metric: "http_req_failed", Expr: "rate < 5%"}, Key: "http_req_failed", Observed: 0.025015, Limit: 0.05, Passed: true, Evaluations: 50,
				Failed: true, FirstFailedAt: time.Second},
			{Threshold: slo.Threshold{Metric: "http_req_duration", Tags: []engine.Tag{{Key: "method", Value: "POST"}}, Expr: "p(99) < 1s", Severity: slo.Warn},
				Key: "http_req_duration{method:POST}", Observed: 1622.015, Limit: 1000, Unit: "ms", Failed: true, FirstFailedAt: 21 * time.Second, Evaluations: 50},
			{Threshold: slo.Threshold{Metric: "http_req_duration", Tags: []engine.Tag{{Key: "step", Value: "search"}}, Expr: "p(95) < baseline + 10%"},
				Key: "http_req_duration{step:search}", Skipped: true, Reason: "baseline has no http_req_duration{step:search}"},
		},
		Status:   "failed",
		Warnings: []string{"tls: insecure_skip_verify is set; certificates were not checked"},
		Reasons:  []string{"threshold http_req_duration{step:pay} p(99) < 500ms failed: observed 1.62s"},
	}
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	goldenAt(t, filepath.Join("testdata", name), got)
}

// goldenAt compares got with the file at path, or rewrites it with -update.
func goldenAt(t *testing.T, path string, got []byte) {
	t.Helper()
	name := filepath.Base(path)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./report -update to create it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs from the golden file (go test ./report -update rewrites it)\ngot:\n%s\nwant:\n%s", name, got, want)
	}
}
