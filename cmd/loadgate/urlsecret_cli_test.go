package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// urlSecret is planted in the path, query and userinfo of URLs by
// TestURLSecretsNeverLeak; no output may hold it.
const urlSecret = "5ecret-in-url"

// TestURLSecretsNeverLeak (issue 15, item 12; docs/reports.md, "What
// outputs may name"): a token in the path or query of base_url or of
// sli.prometheus.url, or in their userinfo, never appears on stdout,
// stderr or in any report format, whether the run goes through (error
// samples, SLI reasons), stops at preflight (exit 3) or is invalid
// (exit 2). The origin (scheme://host:port) does appear: it is how the
// messages name the server.
func TestURLSecretsNeverLeak(t *testing.T) {
	tg := newTarget(t, func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "failed at "+r.URL.String(), http.StatusInternalServerError) // echoes the path
	})
	// A Prometheus behind a path prefix that answers 503 with its own URL.
	prom := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no upstream for "+r.URL.String(), http.StatusServiceUnavailable)
	}))
	t.Cleanup(prom.Close)
	closed := "http://" + freeAddr(t)
	secretPath, secretQuery := "/prefix/tok-"+urlSecret, "?token=tok-"+urlSecret
	for _, tc := range []struct {
		name, base, prom string
		args             []string
		code             int
		origin           string // a server named in the outputs by its origin
	}{
		{"run: samples and SLI reasons", tg.URL + secretPath, prom.URL + secretPath + secretQuery, []string{"--no-preflight"}, exitFailed, prom.URL},
		{"preflight: target", closed + secretPath, prom.URL, nil, exitPreflightFailed, closed},
		{"preflight: prometheus", tg.URL, closed + secretPath + secretQuery, nil, exitPreflightFailed, closed},
		{"invalid: userinfo of base_url", "http://user:" + urlSecret + "@" + strings.TrimPrefix(tg.URL, "http://"), prom.URL, nil, exitInvalid, "http://***@127.0.0.1"},
		{"invalid: userinfo of the prometheus url", tg.URL, "http://" + urlSecret + "@" + strings.TrimPrefix(prom.URL, "http://"), nil, exitInvalid, "http://***@127.0.0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			body := fmt.Sprintf(`name: url-secrets
base_url: %s
generator: { max_schedule_lag_p99: 5s, min_achieved_ratio: 0.5 }
load: { rate: 20, duration: 500ms }
flows:
  - name: f
    steps:
      - name: fails
        get: /items?id=1
      - name: refused
        get: %s/items
sli:
  prometheus:
    url: %s
    wait: 0s
    timeout: 1s
    queries: { errors: up }
thresholds:
  http_req_failed: [ "rate < 1%%" ]
  sli{name:errors}: [ "value < 1" ]
`, tc.base, closed+secretPath, tc.prom)
			path := filepath.Join(dir, "s.yaml")
			writeFile(t, path, body)
			outs := map[string]string{}
			args := []string{"run", path}
			for _, f := range []string{"junit", "html", "text"} {
				outs[f] = filepath.Join(dir, "report."+f)
				args = append(args, "-o", f+"="+outs[f])
			}
			r := run(t, append(args, tc.args...)...)
			r.expect(t, tc.code)
			texts := map[string]string{"stdout": r.stdout, "stderr": r.stderr}
			if tc.code != exitInvalid {
				texts["json"] = fmt.Sprint(r.report)
				for f, p := range outs {
					b, err := os.ReadFile(p)
					if err != nil {
						t.Fatal(err)
					}
					texts[f] = string(b)
				}
			}
			for name, text := range texts {
				if i := strings.Index(text, urlSecret); i >= 0 {
					t.Errorf("%s leaks a URL's secret: ...%s...", name, text[max(0, i-100):min(len(text), i+60)])
				}
			}
			if !strings.Contains(r.stderr+r.stdout, tc.origin) {
				t.Errorf("the outputs do not name the server by its origin %s:\n%s%s", tc.origin, r.stderr, r.stdout)
			}
		})
	}
}
