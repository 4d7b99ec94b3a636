package promexport

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/loadgate/loadgate/engine"
	"github.com/loadgate/loadgate/histogram"
	"github.com/loadgate/loadgate/internal/testtool"
	"github.com/loadgate/loadgate/slo"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func testPlan() *engine.Plan {
	return &engine.Plan{Flows: []engine.Flow{
		{Name: "browse", Steps: []engine.Step{{Name: "home", Method: "GET"}, {Name: "search", Method: "GET"}}},
		{Name: "checkout", Steps: []engine.Step{{Name: "pay", Method: "POST"}}},
	}}
}

func hist(ds ...time.Duration) *histogram.Histogram {
	h := histogram.New()
	for _, d := range ds {
		h.Record(d)
	}
	return h.Freeze()
}

// testSnapshot is a final snapshot: home 3 × 2xx, search 1 × 2xx + 1 × 5xx
// (failed), pay 1 refused (no response).
func testSnapshot() *engine.Snapshot {
	home := engine.StepStats{Requests: 3}
	home.Status[2] = 3
	search := engine.StepStats{Requests: 2, Failed: 1}
	search.Status[2], search.Status[5] = 1, 1
	search.Errors[engine.KindStatus5xx] = 1
	pay := engine.StepStats{Requests: 1, Failed: 1}
	pay.Status[0] = 1
	pay.Errors[engine.KindRefused] = 1
	all := engine.StepStats{Requests: 6, Failed: 2,
		Duration: hist(time.Millisecond, 2*time.Millisecond, 2*time.Millisecond, 20*time.Millisecond, 200*time.Millisecond, 2*time.Second)}
	total := &engine.Period{
		End:   5 * time.Second,
		Steps: [][]engine.StepStats{{home, search}, {pay}},
		All:   &all,
		Flows: []engine.FlowStats{{Iterations: 2}, {Iterations: 1}},
		Lag:   hist(100*time.Microsecond, 200*time.Microsecond),
		// Planned and Started are not exported; Dropped is.
		Dropped: 4, BytesSent: 1000, BytesReceived: 5000,
	}
	return &engine.Snapshot{Seq: 5, Total: total, Interval: total, InFlight: 7, Final: true}
}

func testCollector(s *engine.Snapshot) *Collector {
	ths := []slo.Result{
		{Key: "http_req_duration", Threshold: slo.Threshold{Metric: "http_req_duration", Expr: "p(95) < 300ms"}, Unit: "ms", Limit: 300, Passed: true},
		{Key: "http_req_failed", Threshold: slo.Threshold{Metric: "http_req_failed", Expr: "rate < 1%"}, Limit: 0.01, Failed: true},
		{Key: "sli{name:cpu}", Threshold: slo.Threshold{Metric: "sli", Expr: "value < 0.8"}, Pending: true},
		{Key: "http_req_duration", Threshold: slo.Threshold{Metric: "http_req_duration", Expr: "p(99) < baseline"}, Skipped: true},
	}
	return NewCollector(testPlan(), Options{
		Scenario: "demo", Version: "v1.2.3",
		Latest:     func() *engine.Snapshot { return s },
		Thresholds: func() []slo.Result { return ths },
	})
}

const wantExposition = `
# HELP loadgate_data_received_bytes_total Bytes read from the connections.
# TYPE loadgate_data_received_bytes_total counter
loadgate_data_received_bytes_total 5000
# HELP loadgate_data_sent_bytes_total Bytes written to the connections.
# TYPE loadgate_data_sent_bytes_total counter
loadgate_data_sent_bytes_total 1000
# HELP loadgate_dropped_iterations_total Arrivals that found no free slot (max_in_flight full): dropped, or still waiting when the load stopped.
# TYPE loadgate_dropped_iterations_total counter
loadgate_dropped_iterations_total 4
# HELP loadgate_in_flight Iterations running.
# TYPE loadgate_in_flight gauge
loadgate_in_flight 7
# HELP loadgate_iterations_total Iterations completed, by flow.
# TYPE loadgate_iterations_total counter
loadgate_iterations_total{flow="browse"} 2
loadgate_iterations_total{flow="checkout"} 1
# HELP loadgate_requests_total Requests completed, by flow, step and status class (none: no response).
# TYPE loadgate_requests_total counter
loadgate_requests_total{flow="browse",status="2xx",step="home"} 3
loadgate_requests_total{flow="browse",status="2xx",step="search"} 1
loadgate_requests_total{flow="browse",status="5xx",step="search"} 1
loadgate_requests_total{flow="checkout",status="none",step="pay"} 1
# HELP loadgate_run_finished 1 once the run's final snapshot is published, else 0.
# TYPE loadgate_run_finished gauge
loadgate_run_finished 1
# HELP loadgate_run_info The run: scenario name and loadgate version.
# TYPE loadgate_run_info gauge
loadgate_run_info{scenario="demo",version="v1.2.3"} 1
# HELP loadgate_threshold_ok 0 when the threshold has failed (live state, then the verdict), else 1.
# TYPE loadgate_threshold_ok gauge
loadgate_threshold_ok{expr="p(95) < 300ms",metric="http_req_duration"} 1
loadgate_threshold_ok{expr="rate < 1%",metric="http_req_failed"} 0
loadgate_threshold_ok{expr="value < 0.8",metric="sli{name:cpu}"} 1
`

func TestCollect(t *testing.T) {
	c := testCollector(testSnapshot())
	names := []string{"loadgate_data_received_bytes_total", "loadgate_data_sent_bytes_total", "loadgate_dropped_iterations_total",
		"loadgate_in_flight", "loadgate_iterations_total", "loadgate_requests_total", "loadgate_run_finished", "loadgate_run_info", "loadgate_threshold_ok"}
	if err := testutil.CollectAndCompare(c, strings.NewReader(wantExposition), names...); err != nil {
		t.Fatal(err)
	}
	if c.Served() != 5 {
		t.Fatalf("Served() = %d, want 5", c.Served())
	}
}

// The histogram's buckets hold the threshold limit (0.3 s) besides the
// defaults, and their counts are the HDR data's cumulative counts.
func TestCollectLatency(t *testing.T) {
	c := testCollector(testSnapshot())
	got := gather(t, c)
	for _, want := range []string{
		`loadgate_request_duration_classic_seconds_bucket{le="0.005"} 3`,
		`loadgate_request_duration_classic_seconds_bucket{le="0.025"} 4`,
		`loadgate_request_duration_classic_seconds_bucket{le="0.25"} 5`,
		`loadgate_request_duration_classic_seconds_bucket{le="0.3"} 5`,
		`loadgate_request_duration_classic_seconds_bucket{le="10"} 6`,
		`loadgate_request_duration_classic_seconds_bucket{le="+Inf"} 6`,
		`loadgate_request_duration_classic_seconds_count 6`,
		`loadgate_request_duration_seconds_count 6`,
		`loadgate_schedule_lag_seconds_count 2`,
		`loadgate_errors_total{kind="refused"} 1`,
		`loadgate_errors_total{kind="5xx"} 1`,
		`loadgate_errors_total{kind="timeout"} 0`,
	} {
		if !strings.Contains(got, want+"\n") {
			t.Errorf("missing %s", want)
		}
	}
	// Quantiles are the HDR ones (3 significant digits).
	if !strings.Contains(got, `loadgate_request_duration_seconds{quantile="0.5"} 0.002`) {
		t.Errorf("p50 is not 2 ms:\n%s", got)
	}
	if n := testutil.CollectAndCount(c, "loadgate_request_duration_seconds"); n != 1 {
		t.Errorf("%d duration summaries", n)
	}
}

// Before the first snapshot only the run's identity and the thresholds are
// exported.
func TestCollectBeforeStart(t *testing.T) {
	c := testCollector(nil)
	if n := testutil.CollectAndCount(c); n != 1+1+3 {
		t.Fatalf("%d metrics before the first snapshot, want run_info, run_finished and 3 thresholds", n)
	}
	if c.Served() != -1 {
		t.Fatalf("Served() = %d", c.Served())
	}
}

// Steps beyond MaxStepSeries are summed into one _other series.
func TestCollectCardinalityCap(t *testing.T) {
	plan := &engine.Plan{Flows: []engine.Flow{{Name: "f"}}}
	steps := make([]engine.StepStats, MaxStepSeries+10)
	for i := range steps {
		plan.Flows[0].Steps = append(plan.Flows[0].Steps, engine.Step{Name: fmt.Sprintf("s%d", i)})
		steps[i].Requests, steps[i].Status[2] = 1, 1
	}
	s := &engine.Snapshot{Seq: 1, Total: &engine.Period{Steps: [][]engine.StepStats{steps}, Flows: []engine.FlowStats{{}}}}
	s.Interval = s.Total
	c := NewCollector(plan, Options{Latest: func() *engine.Snapshot { return s }})
	if n := testutil.CollectAndCount(c, "loadgate_requests_total"); n != MaxStepSeries+1 {
		t.Fatalf("%d request series, want %d", n, MaxStepSeries+1)
	}
	if !strings.Contains(gather(t, c), `loadgate_requests_total{flow="_other",status="2xx",step="_other"} 10`) {
		t.Fatal("no _other series of 10")
	}
}

func TestBuckets(t *testing.T) {
	ths := []slo.Result{
		{Threshold: slo.Threshold{Metric: "http_req_duration"}, Unit: "ms", Limit: 250},
		{Threshold: slo.Threshold{Metric: "http_req_duration"}, Unit: "ms", Limit: 1000}, // already a default
		{Threshold: slo.Threshold{Metric: "iteration_duration"}, Unit: "ms", Limit: 777}, // not a request latency
	}
	b := Buckets(ths)
	if len(b) != len(DefaultBuckets) || b[5] != 250*time.Millisecond {
		t.Fatalf("buckets %v", b)
	}
	many := make([]slo.Result, 100)
	for i := range many {
		many[i] = slo.Result{Threshold: slo.Threshold{Metric: "http_req_duration"}, Unit: "ms", Limit: float64(i + 1)}
	}
	if n := len(Buckets(many)); n > MaxBuckets {
		t.Fatalf("%d buckets > %d", n, MaxBuckets)
	}
}

// gather renders c's exposition text as /metrics serves it.
func gather(t *testing.T, c prometheus.Collector) string {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	w := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	return w.Body.String()
}

// The exposition passes promtool's lint (names, units, help, types). The
// lint of a real run's /metrics is cmd/loadgate's TestMetricsLintRealRun.
// Without promtool this fails where CI is set and is skipped elsewhere
// (internal/testtool).
func TestPromtoolCheckMetrics(t *testing.T) {
	promtool := testtool.Need(t, "promtool", "prometheus")
	text := gather(t, testCollector(testSnapshot()))
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(text)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool check metrics: %v\n%s\nexposition:\n%s", err, out, text)
	}
}

// TestCollectCapacityStep: a capacity search exports the step it runs (from
// 1) and its offered rate; a run exports neither.
func TestCollectCapacityStep(t *testing.T) {
	plan := &engine.Plan{Flows: []engine.Flow{{Name: "f", Steps: []engine.Step{{Name: "s"}}}}}
	running := false
	c := NewCollector(plan, Options{Step: func() (int, float64, bool) { return 2, 566, running }})
	if n := testutil.CollectAndCount(c, "loadgate_capacity_step", "loadgate_capacity_step_rate"); n != 0 {
		t.Fatalf("%d step series before the first step", n)
	}
	running = true
	want := `
# HELP loadgate_capacity_step The step a capacity search is running, from 1; absent outside a search.
# TYPE loadgate_capacity_step gauge
loadgate_capacity_step 3
# HELP loadgate_capacity_step_rate The offered rate (per second) of the step a capacity search is running; absent outside a search.
# TYPE loadgate_capacity_step_rate gauge
loadgate_capacity_step_rate 566
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), "loadgate_capacity_step", "loadgate_capacity_step_rate"); err != nil {
		t.Fatal(err)
	}
}
