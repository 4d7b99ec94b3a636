package report

import (
	"testing"

	"github.com/loadgate/loadgate/engine"
	"github.com/loadgate/loadgate/slo"
)

func TestBaseline(t *testing.T) {
	r := testRun(t)
	s := Build(r)
	pay, err := engine.Select(r.Plan, "http_req_duration", []engine.Tag{{Key: "step", Value: "pay"}})
	if err != nil {
		t.Fatal(err)
	}
	payP75 := ms(pay.Read(r.Final.Total).Hist.Quantile(0.75))
	for _, tc := range []struct {
		name   string
		key    string
		agg    slo.Expr
		want   float64
		wantOK bool
	}{
		{"listed percentile", "http_req_duration", slo.Expr{Agg: slo.AggPercentile, P: 99}, s.Metrics["http_req_duration"].P99, true},
		{"percentile not listed: from the hdr", "http_req_duration{step:pay}", slo.Expr{Agg: slo.AggPercentile, P: 75}, payP75, true},
		{"median", "http_req_duration", slo.Expr{Agg: slo.AggMed}, s.Metrics["http_req_duration"].Med, true},
		{"avg", "iteration_duration", slo.Expr{Agg: slo.AggAvg}, s.Metrics["iteration_duration"].Avg, true},
		{"rate share, exact", "http_req_failed", slo.Expr{Agg: slo.AggRate}, 250.0 / 9994, true},
		{"counter count", "http_reqs", slo.Expr{Agg: slo.AggCount}, 9994, true},
		{"counter rate", "http_reqs", slo.Expr{Agg: slo.AggRate}, 199.88, true},
		{"unknown key", "http_req_duration{step:nope}", slo.Expr{Agg: slo.AggAvg}, 0, false},
		{"aggregation of another type", "http_reqs", slo.Expr{Agg: slo.AggAvg}, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, ok, reason := s.Baseline(tc.key, tc.agg)
			if ok != tc.wantOK || v != tc.want {
				t.Errorf("Baseline = %v, %v (%s), want %v, %v", v, ok, reason, tc.want, tc.wantOK)
			}
		})
	}
}
