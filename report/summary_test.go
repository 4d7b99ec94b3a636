package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/loadgate/loadgate/engine"
	"github.com/loadgate/loadgate/slo"
)

func TestGolden(t *testing.T) {
	s := Build(testRun(t))
	var j, txt, col bytes.Buffer
	if err := WriteJSON(&j, s); err != nil {
		t.Fatal(err)
	}
	if err := WriteText(&txt, s, false); err != nil {
		t.Fatal(err)
	}
	if err := WriteText(&col, s, true); err != nil {
		t.Fatal(err)
	}
	golden(t, "summary.json", j.Bytes())
	golden(t, "summary.txt", txt.Bytes())
	golden(t, "summary_color.txt", col.Bytes())
}

func TestBuildMetricKeys(t *testing.T) {
	s := Build(testRun(t))
	for _, tc := range []struct {
		key  string
		want bool
		why  string
	}{
		{"http_req_duration", true, "catalogue metric"},
		{"http_req_duration{step:search}", true, "step name unique to one flow"},
		{"http_req_duration{flow:browse,step:home}", true, "home is in two flows: qualified"},
		{"http_req_duration{step:home}", false, "ambiguous step name is not reported unqualified"},
		{"http_req_duration{flow:checkout}", true, "several flows: per-flow sub-metric"},
		{"iterations{flow:browse}", true, "per-flow counter"},
		{"http_req_duration{method:POST}", true, "a threshold selector"},
		{"checks{step:search}", true, "a step with checks"},
		{"checks{step:pay}", true, "a step with checks"},
		{"checks{flow:browse,step:home}", false, "a step without checks has no checks rate"},
		{"data_sent{step:search}", false, "bytes are counted on connections, untagged"},
		{"dropped_iterations", true, "arrivals were dropped"},
		{"schedule_lag", true, "open model"},
	} {
		if _, ok := s.Metrics[tc.key]; ok != tc.want {
			t.Errorf("%s reported = %v, want %v (%s)", tc.key, ok, tc.want, tc.why)
		}
	}
}

// TestBuildExactHistogram checks that the HDR in the report is the run's
// histogram, so that reports can be merged and compared exactly.
func TestBuildExactHistogram(t *testing.T) {
	r := testRun(t)
	s := Build(r)
	m := s.Metrics["http_req_duration"]
	h, err := m.Histogram()
	if err != nil {
		t.Fatal(err)
	}
	sel := mustSelect(r.Plan, "http_req_duration")
	if want := sel.Read(r.Final.Total).Hist; !h.Equal(want) {
		t.Errorf("decoded hdr differs from the run's histogram (count %d, want %d)", h.Count(), want.Count())
	}
	if m.Count != h.Count() || m.P99 != ms(h.Quantile(0.99)) {
		t.Errorf("aggregates do not match the hdr: %+v", m)
	}
	if f := s.Metrics["http_req_failed"]; f.Hits != 250 || f.Total != 9994 || f.Rate != round(250.0/9994, 6) {
		t.Errorf("http_req_failed = %+v, want 250 of 9994", f)
	}
}

// TestBuildEmpty covers a run that never started (invalid scenario): no
// plan, no snapshot, and still a well-formed document.
func TestBuildEmpty(t *testing.T) {
	s := Build(Run{Status: "invalid"})
	var b bytes.Buffer
	if err := WriteJSON(&b, s); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"reasons": []`, `"warnings": []`, `"metrics": {}`, `"thresholds": []`, `"timeseries": []`, `"errors": {}`, `"plan": null`, `"achieved_ratio": null`} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("JSON lacks %s:\n%s", want, b.String())
		}
	}
	if err := WriteText(&b, s, false); err != nil {
		t.Fatal(err)
	}
}

func TestReadJSONRoundTrip(t *testing.T) {
	var first bytes.Buffer
	if err := WriteJSON(&first, Build(testRun(t))); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "run.json")
	if err := os.WriteFile(path, first.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := ReadJSON(path)
	if err != nil {
		t.Fatal(err)
	}
	var second bytes.Buffer
	if err := WriteJSON(&second, s); err != nil {
		t.Fatal(err)
	}
	if first.String() != second.String() {
		t.Errorf("decode → encode changed the document:\n%s\nvs\n%s", first.String(), second.String())
	}
}

func TestReadJSONRejects(t *testing.T) {
	valid := func(edit func(m map[string]any)) string {
		var b bytes.Buffer
		if err := WriteJSON(&b, Build(Run{Status: "passed", Started: t0, Ended: t0})); err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		edit(m)
		out, _ := json.Marshal(m)
		return string(out)
	}
	for _, tc := range []struct {
		name, doc, want string
	}{
		{"not JSON", "<html>", "not a loadgate report"},
		{"no schema: some other JSON", `{"status":"passed"}`, "no schema field"},
		{"a later schema", valid(func(m map[string]any) { m["schema"] = "loadgate.report/v2" }), `schema "loadgate.report/v2"`},
		{"unknown metric type", valid(func(m map[string]any) { m["metrics"] = map[string]any{"x": map[string]any{"type": "gauge"}} }),
			`run.json: not a valid loadgate.report/v1 report: .metrics.x.type: want one of "trend", "rate", "counter", got "gauge"`},
		{"bad time", valid(func(m map[string]any) { m["started_at"] = "yesterday" }), "started_at"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "run.json")
			if err := os.WriteFile(path, []byte(tc.doc), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := ReadJSON(path)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
	// Unknown fields are accepted: later v1 writers may add some.
	path := filepath.Join(t.TempDir(), "run.json")
	doc := valid(func(m map[string]any) { m["agents"] = []any{} })
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadJSON(path); err != nil {
		t.Errorf("a document with an extra field: %v", err)
	}
}

// TestMetricsOrder checks the report order: catalogue order, then per
// metric the whole, per flow, per step (namesakes together), the rest.
func TestMetricsOrder(t *testing.T) {
	ms := Metrics{
		"zzz_unknown":                          {Type: TypeCounter},
		"http_reqs":                            {Type: TypeCounter},
		"http_req_duration{step:d}":            {Type: TypeTrend},
		"http_req_duration{flow:b,step:c}":     {Type: TypeTrend},
		"http_req_duration{flow:a,step:c}":     {Type: TypeTrend},
		"http_req_duration{status:5xx}":        {Type: TypeTrend},
		"http_req_duration{method:GET,step:a}": {Type: TypeTrend},
		"http_req_duration":                    {Type: TypeTrend},
		"http_req_duration{flow:a}":            {Type: TypeTrend},
		"http_req_service_time{step:b}":        {Type: TypeTrend},
		"http_req_service_time":                {Type: TypeTrend},
		"http_req_failed{method:POST}":         {Type: TypeRate},
		"http_req_failed":                      {Type: TypeRate},
	}
	got := strings.Join(ms.Keys(), " ")
	want := "http_req_duration http_req_duration{flow:a} http_req_duration{flow:a,step:c} http_req_duration{flow:b,step:c} http_req_duration{step:d} http_req_duration{method:GET,step:a} http_req_duration{status:5xx} http_req_service_time http_req_service_time{step:b} http_reqs http_req_failed http_req_failed{method:POST} zzz_unknown"
	if got != want {
		t.Errorf("Keys() =\n%s\nwant\n%s", got, want)
	}
}

// TestBuildNoSamples covers a run that started but recorded nothing: the
// engine leaves histograms nil, and every metric still renders.
func TestBuildNoSamples(t *testing.T) {
	p := testPlan()
	per := &engine.Period{Steps: [][]engine.StepStats{make([]engine.StepStats, 2), make([]engine.StepStats, 2)}, Flows: make([]engine.FlowStats, 2)}
	snap := &engine.Snapshot{Seq: 1, Interval: per, Total: per, Final: true}
	tl := NewTimeline(p)
	tl.Observe(snap)
	s := Build(Run{Plan: p, Final: snap, Timeline: tl, Started: t0, Ended: t0.Add(time.Second), Status: "failed"})
	if m := s.Metrics["http_req_duration"]; m.Type != TypeTrend || m.Count != 0 || m.HDR != "" {
		t.Errorf("empty trend = %+v", m)
	}
	if _, ok := s.Metrics["schedule_lag"]; !ok {
		t.Error("open model without samples: schedule_lag missing")
	}
	var b bytes.Buffer
	if err := WriteJSON(&b, s); err != nil {
		t.Fatal(err)
	}
	if err := WriteText(&b, s, true); err != nil {
		t.Fatal(err)
	}
}

// TestBuildMeasuredDuration: duration_s and counter rates come from the
// measured span (Final.Total), not the wall-clock bounds, which include
// preflight, grace and the post-run SLI wait; first_failed_at counts from
// the measurement start. merge re-judges counter rates on the same span.
func TestBuildMeasuredDuration(t *testing.T) {
	r := testRun(t) // Final.Total.End = 50 s
	measured := r.Final.Total.End.Seconds()
	if measured != 50 {
		t.Fatalf("fixture measured span %v s, want 50", measured)
	}
	r.Started = t0.Add(-5 * time.Second)              // preflight
	r.MeasureStart = t0                               // the engine's offsets count from here
	r.Ended = t0.Add(50*time.Second + 20*time.Second) // grace + SLI wait
	r.Thresholds = append(r.Thresholds, slo.Result{
		Threshold: slo.Threshold{Metric: "http_reqs", Expr: "rate > 90"},
		Key:       "http_reqs", Observed: 99.5, Limit: 90, Passed: true, Evaluations: 50,
	})
	s := Build(r)
	if s.DurationS != 50 {
		t.Errorf("duration_s = %v, want the measured 50", s.DurationS)
	}
	if s.StartedAt != rfc3339(r.Started) || s.EndedAt != rfc3339(r.Ended) {
		t.Errorf("started_at..ended_at = %s..%s, want the wall-clock bounds", s.StartedAt, s.EndedAt)
	}
	reqs := s.Metrics["http_reqs"]
	if reqs.Count == 0 {
		t.Fatal("fixture has no http_reqs")
	}
	if want := round(float64(reqs.Count)/measured, 3); reqs.Rate != want {
		t.Errorf("http_reqs rate = %v, want %v (count %d over %v s)", reqs.Rate, want, reqs.Count, measured)
	}
	for _, th := range s.Thresholds {
		if th.Metric == "http_req_duration{step:pay}" {
			if want := rfc3339(t0.Add(21 * time.Second)); th.FirstFailedAt == nil || *th.FirstFailedAt != want {
				t.Errorf("first_failed_at = %v, want %s (measurement start + 21s)", deref(th.FirstFailedAt), want)
			}
		}
	}
	m, err := Merge([]*Summary{s}, MergeOptions{Tool: "loadgate", Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if m.Summary.DurationS != 50 || m.Summary.Metrics["http_reqs"].Rate != reqs.Rate {
		t.Errorf("merged duration_s %v, http_reqs rate %v; want 50, %v", m.Summary.DurationS, m.Summary.Metrics["http_reqs"].Rate, reqs.Rate)
	}
	for _, th := range m.Summary.Thresholds {
		if th.Metric == "http_reqs" && th.Observed != round(float64(reqs.Count)/measured, 6) {
			t.Errorf("merged http_reqs rate threshold observed %v, want %v", th.Observed, round(float64(reqs.Count)/measured, 6))
		}
	}

	// Without MeasureStart, offsets count from Started.
	r.MeasureStart = time.Time{}
	for _, th := range Build(r).Thresholds {
		if th.Metric == "http_req_duration{step:pay}" {
			if want := rfc3339(r.Started.Add(21 * time.Second)); th.FirstFailedAt == nil || *th.FirstFailedAt != want {
				t.Errorf("no MeasureStart: first_failed_at = %v, want %s", deref(th.FirstFailedAt), want)
			}
		}
	}
}

func deref(p *string) string {
	if p == nil {
		return "null"
	}
	return *p
}

// TestUnknownFieldsWrittenBack: a report of a later v1 version, with
// fields this one does not know at every level, is read and written back
// with them, each after the known fields of its object, and the known part
// as this version writes it (docs/reports.md).
func TestUnknownFieldsWrittenBack(t *testing.T) {
	golden, err := os.ReadFile("testdata/summary.json")
	if err != nil {
		t.Fatal(err)
	}
	s, err := DecodeJSON(bytes.NewReader(withFutureFields(t, golden)))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := WriteJSON(&out, s); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(out.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	future := `map[n:[1.5 x <nil>] since:v1.9]`
	for where, got := range map[string]any{
		"top":         m["zz_future"],
		"metric":      m["metrics"].(map[string]any)["checks"].(map[string]any)["zz_future"],
		"threshold":   m["thresholds"].([]any)[0].(map[string]any)["zz_future"],
		"time series": m["timeseries"].([]any)[0].(map[string]any)["zz_future"],
		"plan":        m["plan"].(map[string]any)["zz_future"],
	} {
		want := future
		switch where {
		case "metric":
			want = "7"
		case "plan":
			want = "true"
		}
		if fmt.Sprint(got) != want {
			t.Errorf("%s: zz_future = %v, want %s", where, got, want)
		}
	}
	// Without them, the bytes this version writes for the same report.
	s.extras = nil
	var known bytes.Buffer
	if err := WriteJSON(&known, s); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(known.Bytes(), golden) {
		t.Error("the known fields are not written as before")
	}
	if strings.LastIndex(out.String(), `"zz_future"`) < strings.Index(out.String(), `"plan": {`) {
		t.Error("an unknown top-level field is written before the known ones")
	}
}
