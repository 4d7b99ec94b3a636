package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// stepCounts are the http_reqs of each step in a JSON report.
func stepCounts(t *testing.T, r result) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for k, v := range r.report["metrics"].(map[string]any) {
		if step, ok := strings.CutPrefix(k, "http_reqs{step:"); ok {
			out[strings.TrimSuffix(step, "}")] = v.(map[string]any)["count"].(float64)
		}
	}
	return out
}

// TestFlowLogicExampleRuns runs examples/flow-logic.yaml (repeat over a
// data file, a repeated group, if on a capture, stop_iteration_if) for
// 2 s at 9/s against the built-in target: 18 iterations, users alice, bob
// and guest in turn, so 18 logins, 12 searches (the guests' iterations end
// after login), 12 × 2 × 3 = 72 item views, 12 checkouts and no admin step.
func TestFlowLogicExampleRuns(t *testing.T) {
	base := "http://" + startTarget(t) // prom_e2e_test.go
	r := run(t, "run", "../../examples/flow-logic.yaml", "-e", "BASE_URL="+base, "-e", "DURATION=2s", "--quiet")
	r.expect(t, exitPassed)
	want := map[string]float64{"login": 18, "admin": 0, "search": 12, "item": 72, "checkout": 12}
	got := stepCounts(t, r)
	for step, n := range want {
		if got[step] != n {
			t.Errorf("step %s: %v requests, want %v (all: %v)", step, got[step], n, got)
		}
	}
	if it := r.report["metrics"].(map[string]any)["iterations"].(map[string]any)["count"]; it != 18.0 {
		t.Errorf("iterations %v, want 18: an iteration ended by stop_iteration_if is complete", it)
	}
}

// TestFlowLogicUntil: a repeat ended by until, guarded by if on the last
// step's status, through the binary: 3 retries per iteration.
func TestFlowLogicUntil(t *testing.T) {
	base := "http://" + startTarget(t)
	p := filepath.Join(t.TempDir(), "until.yaml")
	body := "name: until\nbase_url: " + base + "\n" + looseGenerator + "load: { rate: 10, duration: 1s }\nflows:\n  - name: f\n    steps:\n" +
		"      - { name: miss, get: /status/404, check: { status: 404 } }\n" +
		"      - name: retry\n        get: /health\n        if: status == 404\n        repeat: { count: 10, until: index == 2 }\n" +
		"      - { name: never, get: /health, if: status == 404 }\n"
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	r := run(t, "run", p, "--quiet")
	r.expect(t, exitPassed)
	got := stepCounts(t, r)
	if got["miss"] != 10 || got["retry"] != 30 || got["never"] != 0 {
		t.Fatalf("requests per step %v, want miss 10, retry 30, never 0", got)
	}
}

// TestFlowLogicBadCondition: a condition naming no capture, data column or
// built-in is exit 2 at its file:line:col (the column of the name inside
// the condition), and nothing is sent.
func TestFlowLogicBadCondition(t *testing.T) {
	tg := newTarget(t, nil)
	p := filepath.Join(t.TempDir(), "bad.yaml")
	body := "name: bad\nbase_url: " + tg.URL + "\nload: { rate: 10, duration: 1s }\nflows:\n  - name: f\n    steps:\n" +
		"      - { name: login, get: /login, capture: { token: { header: X-Token } } }\n" +
		"      - { name: s, get: /s, if: 'token != \"\" && int(tokn) > 1' }\n"
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"validate", "run"} {
		r := run(t, cmd, p)
		r.expect(t, exitInvalid)
		if want := p + ":8:53: if: invalid condition"; !strings.Contains(r.stderr, want) || !strings.Contains(r.stderr, "unknown name tokn") {
			t.Fatalf("%s: stderr %q, want %q and the unknown name", cmd, r.stderr, want)
		}
	}
	if n := tg.hits.Load(); n != 0 {
		t.Fatalf("the target saw %d requests", n)
	}
}
