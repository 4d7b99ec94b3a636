package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// These tests prove the gate of docs/thresholds.md end to end with the built binary:
// a live abort, a sliding window, and regressions against a previous run.
// Loads stay small (≤ 50 req/s, ≤ 15 s, loopback) for a 2-core CI runner.

// phased returns a handler that serves early until after has passed since
// the first request, and late from then on.
func phased(after time.Duration, early, late http.HandlerFunc) http.HandlerFunc {
	var once sync.Once
	var start time.Time
	return func(w http.ResponseWriter, r *http.Request) {
		once.Do(func() { start = time.Now() })
		if time.Since(start) < after {
			early(w, r)
			return
		}
		late(w, r)
	}
}

func sleeper(d time.Duration) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { time.Sleep(d) }
}

// thresholdsOf returns the report's thresholds.
func thresholdsOf(t *testing.T, r result) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, th := range r.report["thresholds"].([]any) {
		out = append(out, th.(map[string]any))
	}
	return out
}

// A target that starts failing after 3 s makes a 30 s run with an
// abort_on_fail error-rate threshold stop within a few intervals of the
// failures (after its 2 s delay), exit 1 and record the abort.
func TestAbortOnFailStopsEarly(t *testing.T) {
	tg := newTarget(t, phased(3*time.Second, sleeper(0), func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }))
	sc := scenario(t, tg.URL, "  rate: 20\n  duration: 30s\n",
		"  http_req_failed:\n    - { expr: \"rate < 10%\", abort_on_fail: true, delay: 2s }\n")
	start := time.Now()
	r := run(t, "run", sc, "--quiet")
	el := time.Since(start)
	r.expect(t, exitFailed)
	// Failures start at 3 s and pass 10% of the whole run at ~3.4 s; the 4 s
	// snapshot aborts. 15 s leaves room for a slow runner, and is half the
	// planned run.
	if el > 15*time.Second {
		t.Fatalf("the run took %v: the abort did not stop it early", el)
	}
	if r.report["aborted"] != true || r.report["partial"] != false {
		t.Fatalf("aborted %v, partial %v; want true, false", r.report["aborted"], r.report["partial"])
	}
	th := thresholdsOf(t, r)[0]
	if th["aborted"] != true || th["passed"] != false || th["first_failed_at"] == nil {
		t.Fatalf("threshold %v", th)
	}
	if !strings.Contains(strings.Join(anyStrings(r.report["reasons"]), "\n"), "aborted early: http_req_failed rate < 10% failed live") {
		t.Fatalf("reasons %v", r.report["reasons"])
	}
	if n := tg.hits.Load(); n > 20*15 {
		t.Fatalf("target saw %d requests: the load went on after the abort", n)
	}
}

// A slowdown in the last 3 s of a 15 s run hides in the whole-run median
// (12 s of fast requests) and is caught by the same expression on a 3 s
// sliding window.
func TestWindowCatchesLateSlowdown(t *testing.T) {
	tg := newTarget(t, phased(12*time.Second, sleeper(0), sleeper(50*time.Millisecond)))
	sc := scenario(t, tg.URL, "  rate: 20\n  duration: 15s\n",
		"  http_req_duration:\n    - \"p(50) < 20ms\"\n    - { expr: \"p(50) < 20ms\", window: 3s }\n")
	r := run(t, "run", sc, "--quiet")
	r.expect(t, exitFailed)
	ths := thresholdsOf(t, r)
	whole, win := ths[0], ths[1]
	if whole["passed"] != true || whole["observed"].(float64) >= 20 {
		t.Fatalf("the whole-run p50 should pass: %v", whole)
	}
	if win["passed"] != false || win["observed"].(float64) < 50 || win["first_failed_at"] == nil {
		t.Fatalf("the windowed p50 should fail at ≥ 50ms: %v", win)
	}
	if !strings.Contains(win["reason"].(string), "window ending at") {
		t.Fatalf("the reason does not say which window: %q", win["reason"])
	}
	if r.report["aborted"] != false {
		t.Fatal("no threshold aborts here")
	}
}

// A run against a 5 ms target is the baseline; the same scenario against a
// 200 ms target fails p(95) < baseline + 10% and compare reports the
// regression; a run compared with itself passes both. The gap is wide so
// that stalls of a loaded test machine (tens of ms in the baseline run)
// cannot close it.
func TestBaselineAndCompare(t *testing.T) {
	fast := newTarget(t, sleeper(5*time.Millisecond))
	slow := newTarget(t, sleeper(200*time.Millisecond))
	dir := t.TempDir()
	base, next := filepath.Join(dir, "base.json"), filepath.Join(dir, "new.json")
	const load = "  rate: 50\n  duration: 3s\n"
	const relative = "  http_req_duration: [\"p(95) < baseline + 10%\"]\n"

	run(t, "run", scenario(t, fast.URL, load, "  http_req_duration: [\"p(95) < 1s\"]\n"), "--quiet", "-o", "json="+base).expect(t, exitPassed)

	t.Run("run --baseline catches the regression", func(t *testing.T) {
		r := run(t, "run", scenario(t, slow.URL, load, relative), "--quiet", "--baseline", base, "-o", "json="+next)
		r.expect(t, exitFailed)
		th := thresholdsOf(t, r)[0]
		p95 := baseP95(t, base)
		if th["passed"] != false || th["skipped"] != false || th["observed"].(float64) < 200 {
			t.Fatalf("threshold %v", th)
		}
		// The limit is the baseline's p95 (from its HDR; the listed p95 is
		// the same value) plus 10%.
		if lim := th["limit"].(float64); lim < p95*1.1-0.01 || lim > p95*1.1+0.01 {
			t.Fatalf("limit %v, want %v × 1.1", lim, p95)
		}
	})
	t.Run("compare catches the regression", func(t *testing.T) {
		r := run(t, "compare", base, next)
		r.expect(t, exitFailed)
		if !strings.Contains(r.stdout, "REGRESSION") || !strings.Contains(r.stdout, "http_req_duration p95:") {
			t.Fatalf("stdout:\n%s", r.stdout)
		}
		r = run(t, "compare", base, next, "--json")
		r.expect(t, exitFailed)
		var doc struct {
			Regressions []struct{ Metric, Stat string } `json:"regressions"`
			Rows        []struct{ Metric, Stat string } `json:"rows"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
			t.Fatalf("--json: %v\n%s", err, r.stdout)
		}
		if len(doc.Rows) == 0 || len(doc.Regressions) == 0 || doc.Regressions[0].Metric != "http_req_duration" || doc.Regressions[0].Stat != "p95" {
			t.Fatalf("--json: %s", r.stdout)
		}
		// A 200 ms regression passes when the rules allow it (generously:
		// a stall of a loaded runner must not fail this case).
		run(t, "compare", base, next, "--max", "p95=+1s", "--max", "p99=+1s").expect(t, exitPassed)
	})
	t.Run("a run compared with itself passes", func(t *testing.T) {
		r := run(t, "compare", base, base)
		r.expect(t, exitPassed)
		if !strings.Contains(r.stdout, "RESULT: PASSED") {
			t.Fatalf("stdout:\n%s", r.stdout)
		}
	})
	t.Run("run --baseline on the same target passes", func(t *testing.T) {
		// A selector the baseline run did not report is skipped, with the
		// reason, and does not change the verdict.
		// baseline + 500ms: the same target, but a loaded machine may
		// stall this run and not the baseline.
		r := run(t, "run", scenario(t, fast.URL, load, "  http_req_duration: [\"p(95) < baseline + 500ms\"]\n"+
			"  http_req_duration{method:GET}: [\"p(95) < baseline + 500ms\"]\n"), "--quiet", "--baseline", base)
		r.expect(t, exitPassed)
		ths := thresholdsOf(t, r)
		if ths[0]["passed"] != true || ths[0]["skipped"] != false {
			t.Fatalf("threshold %v", ths[0])
		}
		if ths[1]["skipped"] != true || ths[1]["reason"] != "baseline has no http_req_duration{method:GET}" {
			t.Fatalf("threshold on a metric missing from the baseline: %v", ths[1])
		}
		if !strings.Contains(strings.Join(anyStrings(r.report["warnings"]), "\n"), "skipped: baseline has no http_req_duration{method:GET}") {
			t.Fatalf("warnings %v", r.report["warnings"])
		}
	})
}

// Bad comparison input exits 2 and bad --baseline exits 2 before sending.
func TestBaselineAndCompareInvalid(t *testing.T) {
	tg := newTarget(t, nil)
	dir := t.TempDir()
	notReport := filepath.Join(dir, "x.json")
	if err := os.WriteFile(notReport, []byte(`{"hello": 1}`), 0o644); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "good.json")
	run(t, "run", scenario(t, tg.URL, shortLoad, ""), "--quiet", "-o", "json="+good).expect(t, exitPassed)
	sent := tg.hits.Load()
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"missing baseline", []string{"run", scenario(t, tg.URL, shortLoad, ""), "--baseline", filepath.Join(dir, "nope.json")}, "nope.json: no such file"},
		{"baseline not a report", []string{"run", scenario(t, tg.URL, shortLoad, ""), "--baseline", notReport}, "not a loadgate report: no schema field; nothing was sent"},
		{"one report", []string{"compare", good}, "want two reports"},
		{"compare not a report", []string{"compare", good, notReport}, "not a loadgate report"},
		{"bad rule", []string{"compare", good, good, "--max", "p95=+5pp"}, `--max "p95=+5pp": limit +5pp on p95: want a duration (+20ms) or a percent (+10%)`},
		{"rule on a metric not in the runs", []string{"compare", good, good, "--max", "http_req_duration{step:nope}:p95=+5%"}, "neither run has it"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, tc.args...)
			r.expect(t, exitInvalid)
			if !strings.Contains(r.stderr, tc.want) {
				t.Fatalf("stderr lacks %q:\n%s", tc.want, r.stderr)
			}
		})
	}
	if n := tg.hits.Load(); n != sent {
		t.Fatalf("invalid input sent %d requests", n-sent)
	}
}

// baseP95 reads the p95 a saved report lists for http_req_duration.
func baseP95(t *testing.T, path string) float64 {
	t.Helper()
	var doc struct {
		Metrics map[string]struct {
			P95 float64 `json:"p95"`
		} `json:"metrics"`
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Metrics["http_req_duration"].P95
}

func anyStrings(v any) []string {
	var out []string
	l, _ := v.([]any)
	for _, x := range l {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}
