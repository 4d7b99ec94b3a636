package main

// Issue 15, items 7, 8, 9 and 11: bad input through the built binary. Each
// case gives the input, the exit code, the key words of the message and how
// many requests the target saw (0 for invalid input: nothing is sent).

import (
	"strings"
	"testing"
)

// inputCase is one command of the binary and what it must do.
type inputCase struct {
	name  string
	args  []string
	env   []string // added to the environment
	code  int
	words []string // each on stderr
	hits  int64    // requests the target saw during the command; -1: not checked
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
