package main

// Issue 15, items 7, 8, 9 and 11: bad input through the built binary. Each
// case gives the input, the exit code, the key words of the message and how
// many requests the target saw (0 for invalid input: nothing is sent).

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
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
}

// runInputCases runs each case in turn (not in parallel: hits are counted
// per case on the one target).
func runInputCases(t *testing.T, tg *counter, cases []inputCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := tg.hits.Load()
			cmd, rep, stdout, stderr := startCmd(t, tc.args...)
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
			code: exitInvalid, words: []string{"s.yaml:16:3:", `invalid selector "checks": no step has a check:`, "nothing was sent"}},
		{name: "checks of a step without a check", args: []string{"run", scenario(t, tg.URL, shortLoad, "  checks{step:s}: [\"rate > 99%\"]\n")},
			code: exitInvalid, words: []string{"s.yaml:16:3:", "no step it selects has a check:"}},
		// 100 requests in 2 s pass "count > 80" at the end, but the count is
		// 50 at the first evaluation: the abort would fail a good run.
		{name: "abort_on_fail on count >", args: []string{"run", scenario(t, tg.URL, "  rate: 50\n  duration: 2s\n", "  http_reqs:\n    - { expr: \"count > 80\", abort_on_fail: true }\n")},
			code: exitInvalid, words: []string{"s.yaml:17:29:", "abort_on_fail does not apply", "only grows", "judged at the end"}},
		{name: "abort_on_fail on count <", args: []string{"run", scenario(t, tg.URL, shortLoad, "  http_reqs:\n    - { expr: \"count < 1000\", abort_on_fail: true }\n    - \"count > 10\"\n")},
			code: exitPassed, hits: 50},
	})
}

// TestBaselineInputs (item 8): with --baseline, a relative limit on a zero
// rate (a perfect baseline) is refused with the pp form to write; that form
// passes; a partial baseline or one of another scenario is a warning in
// the report; --require-baseline (or LOADGATE_REQUIRE_BASELINE) makes a
// run without a baseline invalid.
func TestBaselineInputs(t *testing.T) {
	tg := newTarget(t, nil)
	canary := "  http_req_failed: [\"rate < baseline + 1pp\"]\n  http_req_duration: [\"p(95) < baseline + 500%\"]\n"
	sc := scenario(t, tg.URL, shortLoad, canary)
	// The baseline: the same scenario without --baseline (its baseline
	// thresholds are skipped), a run without errors.
	cmd, base, stdout, stderr := startCmd(t, "run", sc)
	finish(t, cmd, cmd.Run(), base, stdout, stderr).expect(t, exitPassed)
	partial := editReport(t, base, func(m map[string]any) {
		m["partial"], m["status"], m["exit_code"] = true, "interrupted", 130
	})
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
			words: []string{"s.yaml:16:40:", "the baseline's rate of http_req_failed is 0", "write baseline + 1pp", "nothing was sent"}},
		{name: "percentage points on a perfect baseline", args: []string{"run", sc, "--baseline", base, "--require-baseline"},
			code: exitPassed, hits: 50, check: warnings()},
		{name: "partial baseline", args: []string{"run", sc, "--baseline", partial},
			code: exitPassed, hits: 50, words: []string{"warning: --baseline", "partial"}, check: warnings("the run is partial")},
		{name: "baseline of another scenario", args: []string{"run", scenario(t, tg.URL, shortLoad, canary+"  http_reqs: [\"count > 0\"]\n"), "--baseline", base},
			code: exitPassed, hits: 50, words: []string{"ran another scenario"}, check: warnings("ran another scenario (sha256 ")},
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
