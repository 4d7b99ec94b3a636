package main

// Issue 15, items 7, 8, 9 and 11: bad input through the built binary. Each
// case gives the input, the exit code, the key words of the message and how
// many requests the target saw (0 for invalid input: nothing is sent).

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// inputCase is one command of the binary and what it must do.
type inputCase struct {
	name  string
	args  []string
	env   []string // added to the environment
	code  int
	words []string                     // each on stderr
	hits  int64                        // requests the target saw during the command; -1: not checked
	check func(t *testing.T, r result) // more checks, or nil
	// noReport runs the command as given: run gets no -o json= added, so
	// that LOADGATE_OUT is not overridden by the command line.
	noReport bool
}

// runInputCases runs each case in turn (not in parallel: hits are counted
// per case on the one target).
func runInputCases(t *testing.T, tg *counter, cases []inputCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := tg.hits.Load()
			cmd, rep, stdout, stderr := startCmd(t, tc.args...)
			if tc.noReport {
				cmd.Args = append([]string{binary}, tc.args...)
			}
			cmd.Env = append(cmd.Env, tc.env...)
			r := finish(t, cmd, cmd.Run(), rep, stdout, stderr)
			r.expect(t, tc.code)
			for _, w := range tc.words {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
				}
			}
			if got := tg.hits.Load() - before; tc.hits >= 0 && got != tc.hits {
				t.Errorf("the target saw %d requests, want %d", got, tc.hits)
			}
			if tc.check != nil {
				tc.check(t, r)
			}
		})
	}
}

// TestNeverPassingThresholds (item 7): a threshold that could never pass is
// invalid at load: checks without any check:, abort_on_fail on a lower
// bound of a count. An upper bound of a count may still abort.
func TestNeverPassingThresholds(t *testing.T) {
	tg := newTarget(t, nil)
	runInputCases(t, tg, []inputCase{
		{name: "checks without a check", args: []string{"run", scenario(t, tg.URL, shortLoad, "  checks: [\"rate > 99%\"]\n")},
			code: exitInvalid, words: []string{"s.yaml:14:3:", `invalid selector "checks": no step has a check:`, "nothing was sent"}},
		{name: "checks of a step without a check", args: []string{"run", scenario(t, tg.URL, shortLoad, "  checks{step:s}: [\"rate > 99%\"]\n")},
			code: exitInvalid, words: []string{"s.yaml:14:3:", "no step it selects has a check:"}},
		// 100 requests in 2 s pass "count > 80" at the end, but the count is
		// 50 at the first evaluation: the abort would fail a good run.
		{name: "abort_on_fail on count >", args: []string{"run", scenario(t, tg.URL, "  rate: 50\n  duration: 2s\n", "  http_reqs:\n    - { expr: \"count > 80\", abort_on_fail: true }\n")},
			code: exitInvalid, words: []string{"s.yaml:15:29:", "abort_on_fail does not apply", "only grows", "judged at the end"}},
		{name: "abort_on_fail on count <", args: []string{"run", scenario(t, tg.URL, shortLoad, "  http_reqs:\n    - { expr: \"count < 1000\", abort_on_fail: true }\n    - \"count > 10\"\n")},
			code: exitPassed, hits: 50},
	})
}

// TestBaselineInputs (item 8): with --baseline, a relative limit on a zero
// rate (a perfect baseline) is refused with the pp form to write; that form
// passes; a partial baseline or one of another scenario is a warning in
// the report; several --baseline runs are pooled into one, each one's
// warning naming its file; --require-baseline (or
// LOADGATE_REQUIRE_BASELINE) makes a run without a baseline invalid.
func TestBaselineInputs(t *testing.T) {
	tg := newTarget(t, nil)
	canary := "  http_req_failed: [\"rate < baseline + 1pp\"]\n  http_reqs: [\"count < baseline * 3\"]\n"
	sc := scenario(t, tg.URL, shortLoad, canary)
	// The baseline: the same scenario without --baseline (its baseline
	// thresholds are skipped), a run without errors.
	cmd, base, stdout, stderr := startCmd(t, "run", sc)
	finish(t, cmd, cmd.Run(), base, stdout, stderr).expect(t, exitPassed)
	partial := editReport(t, base, func(m map[string]any) {
		m["partial"], m["status"], m["exit_code"] = true, "interrupted", 130
	})
	// Two baselines of 10 and 90 requests pool into one of 50 (counters
	// are averaged): only the pool lets a run of 50 requests pass limits
	// 20% either side of its baseline.
	count := func(n int) func(m map[string]any) {
		return func(m map[string]any) { m["metrics"].(map[string]any)["http_reqs"].(map[string]any)["count"] = n }
	}
	fewer, more := editReport(t, base, count(10)), editReport(t, base, count(90))
	pooledLimits := "  http_reqs: [\"count > baseline * 0.8\", \"count < baseline * 1.2\"]\n"
	warnings := func(want ...string) func(t *testing.T, r result) {
		return func(t *testing.T, r result) {
			got := fmt.Sprint(r.report["warnings"])
			for _, w := range want {
				if !strings.Contains(got, w) {
					t.Errorf("report warnings lack %q: %s", w, got)
				}
			}
			if len(want) == 0 && strings.Contains(got, "--baseline") {
				t.Errorf("report warnings about the baseline: %s", got)
			}
		}
	}
	runInputCases(t, tg, []inputCase{
		{name: "relative limit on a perfect baseline", args: []string{"run", scenario(t, tg.URL, shortLoad, "  http_req_failed: [\"rate < baseline + 1%\"]\n"), "--baseline", base},
			code: exitInvalid, hits: 0,
			words: []string{"s.yaml:14:40:", "the baseline's rate of http_req_failed is 0", "write baseline + 1pp", "nothing was sent"}},
		{name: "percentage points on a perfect baseline", args: []string{"run", sc, "--baseline", base, "--require-baseline"},
			code: exitPassed, hits: 50, check: warnings()},
		{name: "partial baseline", args: []string{"run", sc, "--baseline", partial},
			code: exitPassed, hits: 50, words: []string{"warning: --baseline", "partial"}, check: warnings("the run is partial")},
		{name: "baseline of another scenario", args: []string{"run", scenario(t, tg.URL, shortLoad, canary+"  iterations: [\"count > 0\"]\n"), "--baseline", base},
			code: exitPassed, hits: 50, words: []string{"ran another scenario"}, check: warnings("ran another scenario (sha256 ")},
		{name: "several baselines are pooled", args: []string{"run", scenario(t, tg.URL, shortLoad, pooledLimits), "--baseline", fewer, "--baseline", more},
			code: exitPassed, hits: 50},
		{name: "one of the pooled baselines alone", args: []string{"run", scenario(t, tg.URL, shortLoad, pooledLimits), "--baseline", fewer},
			code: exitFailed, hits: 50},
		{name: "a partial one among several baselines", args: []string{"run", sc, "--baseline", base, "--baseline", partial},
			code: exitPassed, hits: 50, check: warnings("--baseline " + partial + ": the run is partial")},
		{name: "--require-baseline without --baseline", args: []string{"run", sc, "--require-baseline"},
			code: exitInvalid, hits: 0, words: []string{"--require-baseline: no --baseline given", "nothing was sent"}},
		{name: "LOADGATE_REQUIRE_BASELINE and an empty --baseline", args: []string{"run", sc, "--baseline", ""}, env: []string{"LOADGATE_REQUIRE_BASELINE=true"},
			code: exitInvalid, hits: 0, words: []string{"--require-baseline: no --baseline given"}},
		{name: "quick mode, relative limit on a perfect baseline",
			args: []string{"run", "--url", tg.URL + "/x", "--rate", "50", "--duration", "1s", "--threshold", "http_req_failed: rate < baseline * 2", "--baseline", base},
			code: exitInvalid, hits: 0, words: []string{"--threshold", "write baseline + 1pp"}},
	})
}

// editReport writes a copy of the JSON report at path, changed by edit.
func editReport(t *testing.T, path string, edit func(map[string]any)) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	if b, err = json.MarshalIndent(m, "", "  "); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), filepath.Base(path))
	if err := os.WriteFile(out, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestSavedRunInputs (item 9): merge refuses one run given twice unless
// --force; every reader of saved runs (merge, compare, report, --baseline)
// validates them against the report schema and says the file, the JSON
// path and what was expected, never a Go type; `loadgate report` writes
// back the fields it does not know.
func TestSavedRunInputs(t *testing.T) {
	tg := newTarget(t, nil)
	sc := scenario(t, tg.URL, shortLoad, "  http_req_failed: [\"rate < 1%\"]\n")
	cmd, a, stdout, stderr := startCmd(t, "run", sc)
	finish(t, cmd, cmd.Run(), a, stdout, stderr).expect(t, exitPassed)
	dir := t.TempDir()
	write := func(name, doc string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	negative := editReport(t, a, func(m map[string]any) {
		m["metrics"].(map[string]any)["http_reqs"].(map[string]any)["count"] = -5
	})
	objectReasons := editReport(t, a, func(m map[string]any) { m["reasons"] = map[string]any{"a": 1} })
	future := editReport(t, a, func(m map[string]any) {
		m["zz_future"] = map[string]any{"since": "v1.9"}
		m["metrics"].(map[string]any)["http_reqs"].(map[string]any)["zz_future"] = 7
	})
	merged := filepath.Join(dir, "merged.json")
	rendered := filepath.Join(dir, "rendered.json")
	noGoTypes := func(t *testing.T, r result) {
		if strings.Contains(r.stderr, "Go value") || strings.Contains(r.stderr, "Go struct") || strings.Contains(r.stderr, "unmarshal") {
			t.Errorf("the message names Go types:\n%s", r.stderr)
		}
	}
	runInputCases(t, tg, []inputCase{
		{name: "merge: one report twice", args: []string{"merge", a, a},
			code: exitInvalid, hits: 0, words: []string{"are the same run (run_id ", "summed twice", "--force merges them anyway"}},
		{name: "merge: one report twice, --force", args: []string{"merge", a, a, "--force", "-o", "json=" + merged},
			code: exitPassed, hits: 0, check: func(t *testing.T, _ result) {
				m := readJSONFile(t, merged)
				if got := m["metrics"].(map[string]any)["http_reqs"].(map[string]any)["count"]; got != float64(100) {
					t.Errorf("http_reqs %v, want 100 (forced: summed)", got)
				}
				if w := fmt.Sprint(m["warnings"]); !strings.Contains(w, "merged with --force") || !strings.Contains(w, "same run") {
					t.Errorf("warnings %s", w)
				}
			}},
		{name: "merge: a negative count", args: []string{"merge", a, negative},
			code: exitInvalid, hits: 0, words: []string{negative, ".metrics.http_reqs.count: want a value >= 0, got -5"}, check: noGoTypes},
		{name: "compare: reasons not a list", args: []string{"compare", a, objectReasons},
			code: exitInvalid, hits: 0, words: []string{objectReasons, ".reasons: want array, got object"}, check: noGoTypes},
		{name: "--baseline: an array", args: []string{"run", sc, "--baseline", write("array.json", "[1, 2]")},
			code: exitInvalid, hits: 0, words: []string{"array.json", "want a JSON object, got an array", "nothing was sent"}, check: noGoTypes},
		{name: "report: broken JSON", args: []string{"report", write("broken.json", "{\n  \"schema\": \"loadgate.report/v1\",\n  \"status\" \"passed\"\n}")},
			code: exitInvalid, hits: 0, words: []string{"broken.json", "invalid JSON at line 3, column 12"}, check: noGoTypes},
		{name: "report: fields of a later version are kept", args: []string{"report", future, "-o", "json=" + rendered},
			code: exitPassed, hits: 0, check: func(t *testing.T, _ result) {
				m := readJSONFile(t, rendered)
				if fmt.Sprint(m["zz_future"]) != "map[since:v1.9]" || m["metrics"].(map[string]any)["http_reqs"].(map[string]any)["zz_future"] != float64(7) {
					t.Errorf("unknown fields lost: %v, %v", m["zz_future"], m["metrics"].(map[string]any)["http_reqs"])
				}
				validateReport(t, rendered)
			}},
	})
}

func readJSONFile(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestInputQuirks (item 11): repeatable flags from the environment, ragged
// JSON feeders, a base_url with a query, ${VAR} values in a URL path, and
// ${VAR} inside { }.
func TestInputQuirks(t *testing.T) {
	var mu sync.Mutex
	var uris []string
	tg := newTarget(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		uris = append(uris, r.RequestURI+" "+r.Header.Get("X-P"))
		mu.Unlock()
	})
	seen := func(want ...string) func(t *testing.T, r result) {
		return func(t *testing.T, r result) {
			mu.Lock()
			defer mu.Unlock()
			for _, w := range want {
				if !slices.Contains(uris, w) {
					t.Errorf("the target never saw %q; it saw %q", w, uris[max(0, len(uris)-3):])
				}
			}
			for _, u := range uris {
				if strings.HasPrefix(u, "/__stats") {
					t.Errorf("the target saw %q", u)
				}
			}
			uris = uris[:0]
		}
	}
	dir := t.TempDir()
	file := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	load := "load: { rate: 10, duration: 1s }\ngenerator: { max_schedule_lag_p99: 5s, min_achieved_ratio: 0.5 }\n"
	steps := func(step string) string {
		return "name: q\nbase_url: " + tg.URL + "\n" + load + "flows:\n  - name: f\n    steps:\n      - " + step + "\n"
	}
	plain := file("plain.yaml", steps(`{ name: s, get: "/x", headers: { X-P: "${P:-none}" } }`))
	outputs := func(names ...string) func(t *testing.T, r result) {
		return func(t *testing.T, r result) {
			for _, n := range names {
				if _, err := os.Stat(filepath.Join(dir, n)); err != nil {
					t.Errorf("no report %s: %v", n, err)
				}
			}
			if m, _ := filepath.Glob(filepath.Join(dir, "*,*")); len(m) > 0 {
				t.Errorf("a report named after the whole list: %v", m)
			}
		}
	}
	file("users.json", "[\n  {\"name\": \"ann\"},\n  {\"id\": 2}\n]\n")
	runInputCases(t, tg, []inputCase{
		{name: "LOADGATE_OUT, a comma list", args: []string{"run", plain, "--quiet"}, noReport: true,
			env:  []string{"LOADGATE_OUT=json=" + filepath.Join(dir, "a.json") + ",junit=" + filepath.Join(dir, "a.xml")},
			code: exitPassed, hits: 10, check: outputs("a.json", "a.xml")},
		{name: "LOADGATE_OUT and LOADGATE_ENV, one per line", args: []string{"run", plain, "--quiet"}, noReport: true,
			env: []string{"LOADGATE_OUT=json=" + filepath.Join(dir, "b.json") + "\njunit=" + filepath.Join(dir, "b.xml") + "\n",
				"LOADGATE_ENV=P=a,b\nQ=c"},
			code: exitPassed, hits: 10, check: func(t *testing.T, r result) { outputs("b.json", "b.xml")(t, r); seen("/x a,b")(t, r) }},
		{name: "a JSON feeder row without a used key", args: []string{"run", file("feeder.yaml",
			"data: [ { name: users, file: users.json } ]\n"+steps(`{ name: s, get: "/u/{{ users.name }}" }`))},
			code: exitInvalid, hits: 0, words: []string{"feeder.yaml:9:29:", `row 2 of data "users" (users.json, line 3) has no "name"`, "nothing was sent"}},
		{name: "a base_url with a query", args: []string{"run", file("query.yaml", strings.Replace(steps(`{ name: s, get: /x }`), tg.URL, tg.URL+"/?v=2", 1))},
			code: exitInvalid, hits: 0, words: []string{"query.yaml:2:", `has a query (?v=2)`, "a query goes in a step's path"}},
		{name: "a ${VAR} in a path is one segment", args: []string{"run", file("id.yaml", steps(`{ name: s, get: "/items/${ID}" }`)), "-e", "ID=../__stats"},
			code: exitPassed, hits: 10, check: seen("/items/..%2F__stats ")},
		{name: "a ${VAR} that begins the URL is a path", args: []string{"run", file("path.yaml", steps(`{ name: s, get: "${P}" }`)), "-e", "P=/health/ready?full=1"},
			code: exitPassed, hits: 10, check: seen("/health/ready?full=1 ")},
		{name: "a ${VAR} that is a step up", args: []string{"run", file("up.yaml", steps(`{ name: s, get: "/items/${ID}" }`)), "-e", "ID=.."},
			code: exitInvalid, hits: 0, words: []string{"up.yaml:8:25:", `${ID} is "..", a whole segment of the URL path`}},
		{name: "${RATE} unquoted inside { }", args: []string{"run", file("flow1.yaml", strings.Replace(steps(`{ name: s, get: /x }`), "rate: 10", "rate: ${RATE}", 1)), "-e", "RATE=10"},
			code: exitInvalid, hits: 0, words: []string{"flow1.yaml:3:1: invalid YAML", "quote ${...} values"}},
		{name: "${RATE} quoted inside { }", args: []string{"run", file("flow.yaml", strings.Replace(steps(`{ name: s, get: /x }`), "rate: 10", `rate: "${RATE}"`, 1)), "-e", "RATE=10"},
			code: exitPassed, hits: 10},
		{name: "${RATE} quoted, not a number", args: []string{"run", file("flow.yaml", strings.Replace(steps(`{ name: s, get: /x }`), "rate: 10", `rate: "${RATE}"`, 1)), "-e", "RATE=ten"},
			code: exitInvalid, hits: 0, words: []string{`expected a number for rate, got string (the quoted ${...} gave "ten")`}},
	})
}

// TestSplitOutputs: one -o value lists outputs at the commas that start
// another FORMAT=PATH; other commas belong to the path.
func TestSplitOutputs(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want []string
	}{
		{[]string{"json=a.json,junit=b.xml"}, []string{"json=a.json", "junit=b.xml"}},
		{[]string{"json=runs,2026.json"}, []string{"json=runs,2026.json"}},
		{[]string{"json=a,b.json,html=c,d.html", "text=-"}, []string{"json=a,b.json", "html=c,d.html", "text=-"}},
		{[]string{"json=a.json,pdf=b"}, []string{"json=a.json,pdf=b"}}, // not a format: part of the path
		{[]string{"json=a.json,"}, []string{"json=a.json,"}},
	} {
		if got := splitOutputs(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("splitOutputs(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// FuzzSplitOutputs: splitting an -o value loses and adds nothing (the
// pieces joined with commas are the value), and every piece after the
// first starts with a format and =.
func FuzzSplitOutputs(f *testing.F) {
	for _, s := range []string{"json=a.json,junit=b.xml", "json=runs,2026.json", "json=a,b.json,html=c,d.html", ",json=", "json=,,text=-", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := splitOutputs([]string{s})
		if strings.Join(got, ",") != s {
			t.Fatalf("splitOutputs(%q) = %q: the pieces are not the value", s, got)
		}
		for _, p := range got[1:] {
			if f, _, ok := strings.Cut(p, "="); !ok || !formats[f] {
				t.Fatalf("splitOutputs(%q) = %q: %q does not start with FORMAT=", s, got, p)
			}
		}
	})
}
