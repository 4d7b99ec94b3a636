package scenarios

import (
	"testing"
	"time"

	"github.com/loadgate/loadgate/engine/slo"
)

func TestSLISection(t *testing.T) {
	sc := mustLoad(t, testdataDir+"/valid/sli.yaml", nil)
	s := sc.Spec.SLI
	if s.Wait != 2*time.Second || s.LiveEvery != 5*time.Second || s.Timeout != 3*time.Second || len(s.Queries) != 2 {
		t.Fatalf("SLI = %+v", s)
	}
	if q, ok := s.Query("error_ratio"); !ok || q.Pos.Line != 16 {
		t.Fatalf("error_ratio: %+v %v", q, ok)
	}
	var slis int
	for _, th := range sc.Thresholds {
		if th.Metric == slo.SLIMetric {
			slis++
		}
	}
	if slis != 2 {
		t.Fatalf("%d sli thresholds, want 2: %+v", slis, sc.Thresholds)
	}
	// The evaluator takes them as they are.
	if _, err := slo.New(&sc.Plan, sc.Thresholds, slo.Options{}); err != nil {
		t.Fatal(err)
	}
	// Defaults when only url and queries are given.
	later := mustLoad(t, testdataDir+"/valid/later.yaml", nil).Spec.SLI
	if later.Wait != DefaultSLIWait || later.Timeout != DefaultSLITimeout || later.LiveEvery != 0 {
		t.Fatalf("defaults: %+v", later)
	}
}
