package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// promStub answers the query API as Prometheus does, by what the query
// holds (the query as sent: $RANGE is already replaced):
//
//   - rat( (a misspelled rate): 400 bad_data, a parse error at its 1:col
//   - group_left: 422 execution (a many-to-many match)
//   - a query ending in [1s] or [NNs] with nothing around it: a range vector
//   - 5xx_please: 503 from a proxy
//   - hang: no answer until the client gives up
//   - ratio: 0.4 (an unhealthy service), anything else: an empty vector
//     (a healthy service has no 5xx series at all)
func promStub(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/query" {
			http.NotFound(w, r)
			return
		}
		_ = r.ParseForm()
		q := r.Form.Get("query")
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.Contains(q, "rat("):
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:%d: parse error: unknown function with name \"rat\""}`, strings.Index(q, "rat(")+1)
		case strings.Contains(q, "group_left"):
			w.WriteHeader(http.StatusUnprocessableEntity)
			fmt.Fprint(w, `{"status":"error","errorType":"execution","error":"many-to-many matching not allowed: matching labels must be unique on one side"}`)
		case strings.HasSuffix(q, "s]"):
			fmt.Fprint(w, `{"status":"success","data":{"resultType":"matrix","result":[]}}`)
		case strings.Contains(q, "5xx_please"):
			http.Error(w, "<html>upstream unavailable</html>", http.StatusServiceUnavailable)
		case strings.Contains(q, "hang"):
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		case strings.Contains(q, "ratio"):
			fmt.Fprint(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000,"0.4"]}]}}`)
		default:
			fmt.Fprint(w, `{"status":"success","data":{"resultType":"vector","result":[]}}`)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// sliScenario writes a scenario against base with one SLI query, query
// (written at line 14, column 15, after "      errors: "), judged by
// "value < 1%", and returns its path.
func sliScenario(t *testing.T, base, prom, query, extra string) string {
	t.Helper()
	body := fmt.Sprintf(`name: sli-cli
base_url: %s
generator: { max_schedule_lag_p99: 5s, min_achieved_ratio: 0.5 }
load: { rate: 10, duration: 1s }
flows:
  - name: f
    steps: [ { name: s, get: /x } ]
sli:
  prometheus:
    url: %s
    wait: 0s
    timeout: 500ms
    queries:
      errors: %s
%sthresholds:
  sli{name:errors}: [ "value < 1%%" ]
`, base, prom, query, extra)
	path := filepath.Join(t.TempDir(), "s.yaml")
	writeFile(t, path, body)
	return path
}

// TestSLIPreflight (issue 15, item 2): before anything is sent, preflight
// sends each SLI's query once, over the second before the run. A query
// Prometheus refuses is exit 2 at the position of its error in the
// scenario (mapped back through $RANGE); a Prometheus that cannot be
// reached or does not answer is exit 3 naming the server (its origin, not
// its path) and the SLI; the target sees nothing either way. A query that
// answers, even with no data yet, lets the run start.
func TestSLIPreflight(t *testing.T) {
	prom := promStub(t)
	closed := "http://" + freeAddr(t) // nothing listens there any more
	for _, tc := range []struct {
		name   string
		prom   string // the Prometheus URL
		query  string
		extra  string // more of the sli section (after the queries)
		args   []string
		code   int
		want   []string // on stderr and among the report's reasons
		sent   bool     // whether the target sees requests
		target string   // "closed": an unreachable target
	}{
		{name: "syntax error at its position", prom: prom.URL, query: `sum(rate(x[$RANGE])) / sum(rat(y[$RANGE]))`, code: exitInvalid,
			want: []string{`s.yaml:14:42: sli query errors: prometheus ` + prom.URL + ` refused it: parse error: unknown function with name "rat"`}},
		{name: "execution error", prom: prom.URL, query: `x / on() group_left y`, code: exitInvalid,
			want: []string{"s.yaml:14:15: sli query errors: prometheus " + prom.URL + " refused it: execution: many-to-many matching not allowed", "(query as sent: x / on() group_left y)"}},
		{name: "range vector is no number", prom: prom.URL, query: `x[$RANGE]`, code: exitInvalid,
			want: []string{"s.yaml:14:15: sli query errors:", "it returns a range vector; an SLI needs one number"}},
		{name: "prometheus unreachable", prom: closed + "/prefix/tok-in-path?token=tok-in-query", query: `up`, code: exitPreflightFailed,
			want: []string{"preflight: sli errors: prometheus " + closed + ": unreachable:", "connection refused"}},
		{name: "prometheus 503", prom: prom.URL, query: `5xx_please`, code: exitPreflightFailed,
			want: []string{"preflight: sli errors: prometheus " + prom.URL + ": answered server error: 503"}},
		{name: "wrong path: 404", prom: prom.URL + "/not-prometheus", query: `up`, code: exitPreflightFailed,
			want: []string{"preflight: sli errors: prometheus " + prom.URL + ": answered client error: 404", "path prefix"}},
		{name: "no answer within the timeout", prom: prom.URL, query: `hang`, code: exitPreflightFailed,
			want: []string{"preflight: sli errors: prometheus " + prom.URL + ": no answer: timed out after 500ms"}},
		// Both at once: every cause is told; the scenario's fault wins.
		{name: "bad query and unreachable target", prom: prom.URL, query: `rat(x[$RANGE])`, target: "closed", code: exitInvalid,
			want: []string{"s.yaml:14:15: sli query errors:", "preflight: http://", "refused"}},
		// An empty answer before the run is no error: the run goes on, and
		// the final query decides (here: no 5xx series, empty: fail).
		{name: "no data yet is fine", prom: prom.URL, query: `sum(rate(errors_total[$RANGE]))`, code: exitFailed, sent: true,
			want: []string{"no data: the query returned an empty result", `or set the query's empty: 0`}},
		// --no-preflight skips the query too: the error comes at the end.
		{name: "--no-preflight", prom: prom.URL, query: `rat(x[$RANGE])`, args: []string{"--no-preflight"}, code: exitFailed, sent: true,
			want: []string{`sli{name:errors}`, "refused the query: parse error"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tg := newTarget(t, nil)
			base := tg.URL
			if tc.target == "closed" {
				base = "http://" + freeAddr(t)
			}
			r := run(t, append([]string{"run", sliScenario(t, base, tc.prom, tc.query, tc.extra), "--quiet"}, tc.args...)...)
			r.expect(t, tc.code)
			reasons := fmt.Sprint(r.report["reasons"])
			for _, w := range tc.want {
				if !strings.Contains(r.stderr+r.stdout, w) || !strings.Contains(reasons, w) {
					t.Errorf("stderr or reasons lack %q\nstderr:\n%s\nreasons: %s", w, r.stderr, reasons)
				}
			}
			if strings.Contains(r.stderr+r.stdout+reasons, "tok-in-") {
				t.Errorf("the Prometheus URL's path or query leaked:\n%s%s", r.stderr, reasons)
			}
			if n := tg.hits.Load(); (n > 0) != tc.sent {
				t.Errorf("the target saw %d requests; want some: %v", n, tc.sent)
			}
			if !tc.sent && !strings.Contains(r.stderr, "nothing was sent") {
				t.Errorf("stderr does not say nothing was sent:\n%s", r.stderr)
			}
		})
	}
}

// TestSLIEmpty (issue 15, item 3): an empty result fails its thresholds
// with "no data" unless the query's empty says what it reads as; a value
// still decides. The stub answers an empty vector for a healthy service
// (no 5xx series) and 0.4 for the query holding "ratio".
func TestSLIEmpty(t *testing.T) {
	prom := promStub(t)
	long := func(q, empty string) string {
		return fmt.Sprintf("\n        query: %s\n        empty: %s", q, empty)
	}
	for _, tc := range []struct {
		name, query string
		code        int
		want        string // in the sli threshold's reason, or its observed value
	}{
		{"empty: fail is the default", `sum(increase(errors_total{code=~"5.."}[$RANGE]))`, exitFailed, "no data: the query returned an empty result"},
		{"empty: fail", long(`sum(increase(errors_total{code=~"5.."}[$RANGE]))`, "fail"), exitFailed, "no data"},
		{"empty: 0 passes a healthy service", long(`sum(increase(errors_total{code=~"5.."}[$RANGE]))`, "0"), exitPassed, "observed 0"},
		{"empty: 0.5 fails it", long(`sum(increase(errors_total{code=~"5.."}[$RANGE]))`, "0.5"), exitFailed, "observed 0.5"},
		{"a value is judged whatever empty says", long(`sum(ratio_total[$RANGE])`, "0"), exitFailed, "observed 0.4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tg := newTarget(t, nil)
			r := run(t, "run", sliScenario(t, tg.URL, prom.URL, tc.query, ""), "--quiet")
			r.expect(t, tc.code)
			var th map[string]any
			for _, x := range r.report["thresholds"].([]any) {
				if m := x.(map[string]any); m["metric"] == "sli{name:errors}" {
					th = m
				}
			}
			if th == nil {
				t.Fatalf("no sli threshold in the report: %v", r.report["thresholds"])
			}
			got := fmt.Sprintf("%v observed %v", th["reason"], th["observed"])
			if !strings.Contains(got, tc.want) {
				t.Fatalf("threshold %v: want %q", th, tc.want)
			}
			if tg.hits.Load() == 0 {
				t.Fatal("the target saw nothing")
			}
		})
	}
}

// TestReadmeSLISnippet: the README's sli example, under a minimal head,
// is a valid scenario (its thresholds find their queries, the long form
// decodes).
func TestReadmeSLISnippet(t *testing.T) {
	doc := readDoc(t, "README.md")
	i := strings.Index(doc, "```yaml\nsli:\n  prometheus:")
	if i < 0 {
		t.Fatal("README.md: no yaml block starting with sli: prometheus:")
	}
	block := doc[i+len("```yaml\n"):]
	block = block[:strings.Index(block, "```")]
	path := filepath.Join(t.TempDir(), "readme.yaml")
	writeFile(t, path, "name: readme\nbase_url: http://127.0.0.1:1\nload: { rate: 1, duration: 1s }\nflows:\n  - name: f\n    steps: [ { name: s, get: / } ]\n"+block)
	r := run(t, "validate", path, "-e", "PROM_URL=http://127.0.0.1:9090")
	r.expect(t, exitPassed)
	if !strings.Contains(r.stdout, "3 threshold(s)") {
		t.Fatalf("stdout %q: want the snippet's 3 thresholds", r.stdout)
	}
}
