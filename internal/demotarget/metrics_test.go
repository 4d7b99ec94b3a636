package demotarget

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestMetricsEndpoint(t *testing.T) {
	s := New(Options{Seed: 1})
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	for _, p := range []string{"/health", "/health", "/items/42", "/items/99999", "/status/503", "/nope"} {
		resp, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	text := string(b)
	for _, want := range []string{
		`target_http_requests_total{code="200",path="/health"} 2`,
		`target_http_requests_total{code="200",path="/items/{id}"} 1`,
		`target_http_requests_total{code="404",path="/items/{id}"} 1`,
		`target_http_requests_total{code="503",path="/status/{code}"} 1`,
		`target_http_requests_total{code="404",path="other"} 1`,
		`target_http_request_duration_seconds_count{path="/health"} 2`,
		`process_cpu_seconds_total`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("missing %s", want)
		}
	}
	if s.Requests() != 6 || strings.Contains(text, `path="/metrics"`) {
		t.Errorf("the scrape was counted: %d requests", s.Requests())
	}
}
