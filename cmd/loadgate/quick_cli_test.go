package main

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestQuickMode runs `loadgate run --url ...` without a scenario file.
func TestQuickMode(t *testing.T) {
	var got atomic.Pointer[string]
	srv := newTarget(t, func(w http.ResponseWriter, r *http.Request) {
		b := make([]byte, 64)
		n, _ := r.Body.Read(b)
		seen := r.Method + " " + r.URL.RequestURI() + " " + r.Header.Get("X-Env") + " " + string(b[:n])
		got.Store(&seen)
		if r.URL.Query().Has("slow") {
			time.Sleep(30 * time.Millisecond)
		}
	})
	t.Run("passes", func(t *testing.T) {
		r := run(t, "run", "--url", srv.URL+"/q?x=1", "--method", "post", "--header", "X-Env: ${STAGE}", "-e", "STAGE=ci",
			"--body", `{"a":1}`, "--rate", "20", "--duration", "500ms", "--quiet",
			"--threshold", "http_req_duration: p(95) < 1s", "--threshold", "http_req_duration{step:request}: max < 2s",
			"--threshold", "http_req_failed: rate < 1%")
		r.expect(t, exitPassed)
		if want := `POST /q?x=1 ci {"a":1}`; got.Load() == nil || *got.Load() != want {
			t.Fatalf("server saw %v, want %q", got.Load(), want)
		}
		sc, _ := r.report["scenario"].(map[string]any)
		ths, _ := r.report["thresholds"].([]any)
		if sc["name"] != "quick" || len(ths) != 3 || srv.hits.Load() != 10 {
			t.Fatalf("scenario %v, %d thresholds, %d hits", sc, len(ths), srv.hits.Load())
		}
	})
	t.Run("threshold fails", func(t *testing.T) {
		r := run(t, "run", "--url", srv.URL+"/?slow", "--rate", "20", "--duration", "500ms", "--quiet",
			"--threshold", "http_req_duration: p(95) < 5ms")
		r.expect(t, exitFailed)
		if !strings.Contains(r.stdout, "FAIL http_req_duration") {
			t.Fatalf("summary:\n%s", r.stdout)
		}
	})
	for _, tc := range []struct {
		name string
		args []string
		want []string // in stderr, in order
	}{
		{"bad threshold", []string{"--threshold", "http_req_duration: p(95) < 30xms"}, []string{
			`loadgate: --threshold "http_req_duration: p(95) < 30xms": invalid threshold "p(95) < 30xms": unknown unit "xms"`,
			"\n    http_req_duration: p(95) < 30xms\n                                 ^\n",
			"quick mode: 1 error(s); nothing was sent"}},
		{"unknown metric", []string{"--threshold", "http_req_duraton: p(95) < 1s"}, []string{
			`did you mean "http_req_duration"?`, "\n    http_req_duraton: p(95) < 1s\n    ^\n"}},
		{"threshold without a colon", []string{"--threshold", "p(95) < 1s"}, []string{`want 'metric: expression'`}},
		{"no rate", []string{"--rate", "0"}, []string{"needs --rate and --duration"}},
		{"bad method", []string{"--method", "BREW"}, []string{`--method "BREW"`}},
		{"unset variable", []string{"--header", "Authorization: Bearer ${NOPE}"}, []string{
			"${NOPE} is not set", "\n    Authorization: Bearer ${NOPE}\n                          ^\n"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"run", "--url", srv.URL, "--rate", "10", "--duration", "1s"}, tc.args...)
			before := srv.hits.Load()
			r := run(t, args...)
			if r.code != exitInvalid || srv.hits.Load() != before {
				t.Fatalf("exit %d, %d requests sent; stderr:\n%s", r.code, srv.hits.Load()-before, r.stderr)
			}
			rest := r.stderr
			for _, w := range tc.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("stderr:\n%s\nwant %q", r.stderr, w)
				}
				rest = rest[i+len(w):]
			}
		})
	}
	t.Run("quick flags need --url", func(t *testing.T) {
		r := run(t, "run", "--threshold", "http_reqs: count > 1", scenario(t, srv.URL, shortLoad, ""))
		if r.code != exitInvalid || !strings.Contains(r.stderr, "--threshold need --url") {
			t.Fatalf("exit %d, stderr:\n%s", r.code, r.stderr)
		}
	})
}
