package scenarios

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/loadgate/loadgate/slo"
)

func TestSLISection(t *testing.T) {
	sc := mustLoad(t, testdataDir+"/valid/sli.yaml", nil)
	s := sc.spec.SLI
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
	later := mustLoad(t, testdataDir+"/valid/later.yaml", nil).spec.SLI
	if later.Wait != DefaultSLIWait || later.Timeout != DefaultSLITimeout || later.LiveEvery != 0 {
		t.Fatalf("defaults: %+v", later)
	}
}

// TestSLIQueryEmpty: the long form of a query, { query, empty }, and the
// short form's default (fail: Empty is nil).
func TestSLIQueryEmpty(t *testing.T) {
	s := mustLoad(t, testdataDir+"/valid/sli_empty.yaml", nil).spec.SLI
	want := map[string]string{"restarts": "0", "cpu": "fail", "error_ratio": "-0.15", "folded": "fail", "quoted": "fail"}
	if len(s.Queries) != len(want) {
		t.Fatalf("%d queries, want %d", len(s.Queries), len(want))
	}
	for _, q := range s.Queries {
		got := "fail"
		if q.Empty != nil {
			got = strconv.FormatFloat(*q.Empty, 'g', -1, 64)
		}
		if got != want[q.Name] {
			t.Errorf("%s: empty %s, want %s", q.Name, got, want[q.Name])
		}
	}
	if q, _ := s.Query("restarts"); !strings.HasPrefix(q.Query, "sum(increase(") {
		t.Errorf("restarts: query %q", q.Query)
	}
	if short := mustLoad(t, testdataDir+"/valid/sli.yaml", nil).spec.SLI.Queries[0]; short.Empty != nil {
		t.Errorf("a short-form query's empty is %v, want fail (nil)", *short.Empty)
	}
}

// TestSLIQueryPosAt: an offset into a query (where Prometheus says a parse
// error is) maps to its line and column in the file, for every way of
// writing a scalar; where the text is not verbatim, to the start of its
// line or of the query.
func TestSLIQueryPosAt(t *testing.T) {
	s := mustLoad(t, testdataDir+"/valid/sli_empty.yaml", nil).spec.SLI
	at := func(name, sub string, nth int) Pos {
		t.Helper()
		q, _ := s.Query(name)
		off := -1
		for i, rest := 0, q.Query; i <= nth; i++ {
			j := strings.Index(rest, sub)
			if j < 0 {
				t.Fatalf("%s: no %q #%d in %q", name, sub, nth, q.Query)
			}
			off += j + 1
			rest = rest[j+1:]
		}
		return q.PosAt(off)
	}
	for _, tc := range []struct {
		name, sub string
		nth       int
		want      Pos
	}{
		{"restarts", "sum", 0, Pos{14, 16}},
		{"restarts", "[$RANGE]", 0, Pos{14, 16 + len(`sum(increase(kube_pod_container_status_restarts_total{namespace="shop"}`)}},
		{"cpu", "rate", 0, Pos{17, 20}},
		// A literal block: each line of the query is a line of the file.
		{"error_ratio", "(sum", 0, Pos{22, 11}},
		{"error_ratio", "or vector", 0, Pos{22, 11 + len(`(sum(rate(http_requests_total{code=~"5.."}[$RANGE])) `)}},
		{"error_ratio", "/", 0, Pos{23, 13}},
		{"error_ratio", "[$RANGE]", 1, Pos{23, 13 + len(`/ sum(rate(http_requests_total`)}},
		// A folded block: the first line maps, the next falls back to
		// the start of the query.
		{"folded", "(a", 0, Pos{25, 17}},
		{"folded", "/", 0, Pos{25, 9}},
		// Quoted: after the quote; past an escape, the start.
		{"quoted", "up", 0, Pos{27, 16}},
		{"quoted", "{job", 0, Pos{27, 18}},
		{"quoted", "==", 0, Pos{27, 16}},
	} {
		if got := at(tc.name, tc.sub, tc.nth); got != tc.want {
			t.Errorf("%s: %q #%d at %v, want %v", tc.name, tc.sub, tc.nth, got, tc.want)
		}
	}
	// Out of range offsets clamp into the query.
	q, _ := s.Query("cpu")
	if got := q.PosAt(-5); got != (Pos{17, 16}) {
		t.Errorf("PosAt(-5) = %v", got)
	}
	if got := q.PosAt(1 << 20); got != (Pos{17, 16 + len(q.Query)}) {
		t.Errorf("PosAt(past the end) = %v", got)
	}
}
