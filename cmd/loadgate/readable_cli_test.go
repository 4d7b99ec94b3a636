package main

import (
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestReadableOutput (issue 15 item 10): the output a person reads, through
// the binary. Each reason is said once, values in a human unit (never
// scientific notation), shares as the expression wrote them; a PASS row
// never says "first failed"; under --exit-code-on-fail the STATUS line says
// the code the process returns while the reports keep exit_code 1; --help
// goes to stdout (exit 0) and a bad flag to stderr (exit 2); `version` says
// what a user can report; the progress line compares requests with
// requests and arrivals with arrivals, and never divides by a planned 0.
func TestReadableOutput(t *testing.T) {
	// Every 4th request fails, 5 ms each: p(95) over 5 ms, 12 of 50 failed.
	var n atomic.Int64
	failing := newTarget(t, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(5 * time.Millisecond)
		if n.Add(1)%4 == 0 {
			w.WriteHeader(503)
		}
	})
	// The first 10 requests fail, then none: 50% failed after 1 s (a live
	// failure), 25% of 40 at the end (held).
	var m atomic.Int64
	recovering := newTarget(t, func(w http.ResponseWriter, r *http.Request) {
		if m.Add(1) <= 10 {
			w.WriteHeader(503)
		}
	})
	textFile := filepath.Join(t.TempDir(), "run.txt")
	failingSc := scenario(t, failing.URL, shortLoad, "  http_req_duration: [\"p(95) < 1ms\"]\n"+
		"  http_req_failed: [\"rate < 1%\", \"rate < 0.01\"]\n  http_reqs: [\"count > 100000\"]\n")
	recoveringSc := scenario(t, recovering.URL, "  rate: 20\n  duration: 2s\n", "  http_req_failed: [\"rate < 30%\"]\n")
	// A row of the thresholds table: the marker, the key, the expression.
	passFirstFailed := regexp.MustCompile(`(?m)^\s*PASS .*first failed`)
	scientific := regexp.MustCompile(`\d(\.\d+)?e[+-]\d`)
	for _, tc := range []struct {
		name           string
		args           []string
		target         *counter
		code           int
		stdout, stderr []string // key words
		notOut, notErr []string // words that must not appear
		hits           int64
		check          func(t *testing.T, r result)
	}{
		{
			name:   "one reason, said once, in human units; --exit-code-on-fail on the STATUS line",
			args:   []string{"run", failingSc, "--quiet", "--exit-code-on-fail", "11", "-o", "text=" + textFile},
			target: failing, code: 11, hits: 50,
			stdout: []string{
				"limit < 1ms",
				"observed 24%, limit < 1%",    // written in percent: percent
				"observed 0.24, limit < 0.01", // written as a fraction: a fraction
				"observed 50, limit > 100000", // a count: an integer
				`"count > 100000" failed: observed 50, limit > 100000`,
				"STATUS: FAILED (exit code 11 by --exit-code-on-fail; the reports say exit_code 1)",
			},
			notOut: []string{"(observed", "1e+05", "limit 1ms"},
			check: func(t *testing.T, r result) {
				if r.report["exit_code"] != float64(1) {
					t.Errorf("report exit_code %v, want 1", r.report["exit_code"])
				}
				b, err := os.ReadFile(textFile)
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(string(b), "STATUS: FAILED (exit code 1)\n") {
					t.Errorf("the text report must keep exit code 1:\n%s", b)
				}
				for _, reason := range reasons(r) {
					if strings.Count(reason, "observed") > 1 || scientific.MatchString(reason) {
						t.Errorf("reason %q: a value twice or in scientific notation", reason)
					}
				}
			},
		},
		{
			name:   "a threshold that failed live and held is not 'PASS ... first failed'; the progress line",
			args:   []string{"run", recoveringSc},
			target: recovering, code: exitPassed, hits: 40,
			stdout: []string{"PASS http_req_failed  rate < 30%  observed 25%, limit < 30%; failed live at ", ", held at the end"},
			// The final line only (a line every 5 s when not a terminal): its
			// interval may be the tail, with nothing planned. The planned
			// figure is checked in report's TestProgressRates.
			stderr: []string{" req/s  "},
			notErr: []string{"rps", "/0 "},
		},
		{name: "run --help to stdout", args: []string{"run", "--help"}, code: exitPassed,
			stdout: []string{"usage: loadgate run", "--exit-code-on-fail", "examples:"}},
		{name: "-h to stdout", args: []string{"-h"}, code: exitPassed, stdout: []string{"usage: loadgate COMMAND", "exit codes:"}},
		{name: "help COMMAND", args: []string{"help", "merge"}, code: exitPassed, stdout: []string{"usage: loadgate merge"}},
		{name: "version --help", args: []string{"version", "--help"}, code: exitPassed, stdout: []string{"usage: loadgate version"}},
		{name: "a bad flag to stderr", args: []string{"run", "--bogus", "x.yaml"}, code: exitInvalid,
			stderr: []string{"unknown flag: --bogus", "see 'loadgate run --help'"}},
		{name: "no command: the usage to stderr", args: []string{}, code: exitInvalid, stderr: []string{"usage: loadgate COMMAND"}},
		{name: "version", args: []string{"version"}, code: exitPassed,
			stdout: []string{"loadgate ", "\n  commit: ", "\n  go:     go1.", " " + runtime.GOOS + "/" + runtime.GOARCH + "\n"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var before int64
			if tc.target != nil {
				before = tc.target.hits.Load()
			}
			r := run(t, tc.args...)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, tc.code, r.stdout, r.stderr)
			}
			for _, w := range tc.stdout {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, r.stdout)
				}
			}
			for _, w := range tc.stderr {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
				}
			}
			for _, w := range tc.notOut {
				if strings.Contains(r.stdout, w) {
					t.Errorf("stdout says %q:\n%s", w, r.stdout)
				}
			}
			for _, w := range tc.notErr {
				if strings.Contains(r.stderr, w) {
					t.Errorf("stderr says %q:\n%s", w, r.stderr)
				}
			}
			if scientific.MatchString(r.stdout) || passFirstFailed.MatchString(r.stdout) {
				t.Errorf("stdout has scientific notation or a PASS row that first failed:\n%s", r.stdout)
			}
			// --help and version print nothing else; errors print nothing on stdout.
			if tc.code == exitInvalid && r.stdout != "" {
				t.Errorf("stdout after an error: %q", r.stdout)
			}
			if tc.target == nil && tc.code == exitPassed && r.stderr != "" {
				t.Errorf("stderr: %q", r.stderr)
			}
			if tc.target != nil {
				if got := tc.target.hits.Load() - before; got != tc.hits {
					t.Errorf("the target saw %d requests, want %d", got, tc.hits)
				}
			}
			if tc.check != nil {
				tc.check(t, r)
			}
		})
	}
}
