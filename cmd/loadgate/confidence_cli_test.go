package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestConfidenceThresholds (docs/thresholds.md, "Confidence"), through the
// binary: with a confidence, a threshold passes or fails only when its
// interval is sure of it; 2 errors in 100 requests against rate < 3% are
// undecided, which makes the run inconclusive (exit 4) with the number of
// requests that would decide, or pass or fail as undecided says.
func TestConfidenceThresholds(t *testing.T) {
	var n atomic.Int64
	every50th := func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1)%50 == 0 {
			w.WriteHeader(500)
		}
	}
	const load = "  rate: 100\n  duration: 1s\n"
	for _, tc := range []struct {
		name      string
		h         http.HandlerFunc
		threshold string
		code      int
		words     []string
	}{
		{"surely under", nil, "  http_req_duration: [ { expr: p(95) < 2s, confidence: 95% } ]\n", exitPassed, nil},
		{"surely over", sleeper(5 * time.Millisecond), "  http_req_duration: [ { expr: p(95) < 1ms, confidence: 95% } ]\n", exitFailed, nil},
		{"undecided: inconclusive", every50th, "  http_req_failed: [ { expr: rate < 3%, confidence: 95% } ]\n", exitInconclusive,
			[]string{"undecided", "95% interval", "straddles the limit", "more requests would decide"}},
		{"undecided counted as passed", every50th, "  http_req_failed: [ { expr: rate < 3%, confidence: 95%, undecided: pass } ]\n", exitPassed,
			[]string{"counts as pass"}},
		{"undecided counted as failed", every50th, "  http_req_failed: [ { expr: rate < 3%, confidence: 95%, undecided: fail } ]\n", exitFailed,
			[]string{"counts as fail"}},
		{"without a confidence, the value alone", every50th, "  http_req_failed: [ rate < 3% ]\n", exitPassed, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n.Store(0)
			tg := newTarget(t, tc.h)
			r := run(t, "run", scenario(t, tg.URL, load, tc.threshold), "--no-color")
			r.expect(t, tc.code)
			for _, w := range tc.words {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, r.stdout)
				}
			}
			th := thresholdsOf(t, r)[0]
			if strings.Contains(tc.threshold, "confidence") {
				if iv, ok := th["interval"].([]any); !ok || len(iv) != 2 || th["confidence"] != 0.95 {
					t.Fatalf("threshold without its interval: %v", th)
				}
			}
			if strings.HasPrefix(tc.name, "undecided") {
				if th["undecided"] != true || th["to_decide"] == nil || !strings.Contains(th["reason"].(string), "straddles") {
					t.Fatalf("undecided threshold: %v", th)
				}
			}
		})
	}
}

// TestComparePooledBases (docs/thresholds.md, "Limits that do not flake"):
// compare takes several base runs, pooled into one, and says so; the
// pooled base holds every base request.
func TestComparePooledBases(t *testing.T) {
	tg := newTarget(t, nil)
	dir := t.TempDir()
	var files []string
	for i := range 4 {
		f := filepath.Join(dir, fmt.Sprintf("run%d.json", i))
		run(t, "run", scenario(t, tg.URL, "  rate: 50\n  duration: 1s\n", ""), "--quiet", "-o", "json="+f).expect(t, exitPassed)
		files = append(files, f)
	}
	// Sub-millisecond latencies on a shared machine shift between runs for
	// real (another job starts), so the verdict is not this test's
	// business: limits with a 50 ms floor keep it out of the way
	// (docs/thresholds.md, "How to set limits that do not flake").
	floors := []string{"--max", "p95=+10%,+50ms", "--max", "p99=+15%,+50ms"}
	r := run(t, append(append([]string{"compare"}, files...), floors...)...)
	r.expect(t, exitPassed)
	if !strings.Contains(r.stdout, "3 runs pooled") || !strings.Contains(r.stdout, "NOISE") {
		t.Fatalf("stdout:\n%s", r.stdout)
	}
	r = run(t, append([]string{"compare", "--json"}, files...)...)
	var doc struct {
		Rows []struct {
			Metric, Stat string
			Base         float64
		} `json:"rows"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatal(err)
	}
	for _, row := range doc.Rows {
		if row.Metric == "http_reqs" && row.Stat == "count" && row.Base != 50 {
			t.Fatalf("pooled http_reqs count %v, want the mean of the bases, 50", row.Base)
		}
	}
	if r := run(t, "compare", files[0]); r.code != exitInvalid {
		t.Fatalf("one report: exit %d", r.code)
	}
}
