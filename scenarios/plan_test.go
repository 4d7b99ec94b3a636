package scenarios

import (
	"reflect"
	"testing"
	"time"

	"github.com/loadgate/loadgate/engine"
	"github.com/loadgate/loadgate/slo"
)

func mustLoad(t *testing.T, path string, vars map[string]string) *Scenario {
	t.Helper()
	sc, err := Load(path, testEnv(vars))
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// TestCheckoutPlan checks the compiled plan of testdata/valid/checkout.yaml
// field by field.
func TestCheckoutPlan(t *testing.T) {
	sc := mustLoad(t, testdataDir+"/valid/checkout.yaml", testVars)
	p := sc.Plan
	wantLoad := engine.Load{
		Model:       engine.Open,
		StartRate:   0,
		Stages:      []engine.Stage{{Duration: 10 * time.Second, Target: 50}, {Duration: 40 * time.Second, Target: 50}},
		Arrivals:    engine.Poisson,
		Seed:        42,
		MaxInFlight: 200,
		Overload:    engine.Drop,
		Slack:       250 * time.Microsecond,
	}
	if !reflect.DeepEqual(p.Load, wantLoad) {
		t.Errorf("Load = %+v\nwant %+v", p.Load, wantLoad)
	}
	if p.Name != "checkout-smoke" || p.Interval != 500*time.Millisecond || !p.StatusTrends {
		t.Errorf("Name %q Interval %v StatusTrends %v", p.Name, p.Interval, p.StatusTrends)
	}
	if len(p.Flows) != 2 || p.Flows[0].Weight != 80 || p.Flows[1].Weight != 20 {
		t.Fatalf("flows = %+v", p.Flows)
	}
	search := p.Flows[0].Steps[1]
	wantSearch := engine.Step{
		Name:   "search",
		Method: "GET",
		// base_url's path prefix is kept and its trailing slash dropped.
		URL: "http://127.0.0.1:8080/api/search?q=shoes",
		// The step's accept overrides the default Accept, case-insensitively.
		Headers: []engine.Header{{Key: "accept", Value: "text/html"}, {Key: "X-Client", Value: "loadgate"}},
		Timeout: 5 * time.Second,
		Think:   100 * time.Millisecond,
		// redirects are followed by default (docs/reliability.md, row 10)
		MaxRedirects: engine.DefaultMaxRedirects,
	}
	if !reflect.DeepEqual(search, wantSearch) {
		t.Errorf("search step = %+v\nwant %+v", search, wantSearch)
	}
	item := p.Flows[0].Steps[2]
	if item.URL != "https://cdn.example.com/items/42" || item.Timeout != 2*time.Second {
		t.Errorf("item step = %+v", item)
	}
	login := p.Flows[1].Steps[0]
	wantBody := `{"user":"alice","password":"hunter2","remember":true,"tries":3,"ratio":0.5,"tags":["a","b"],"note":null}`
	if string(login.Body) != wantBody || login.Method != "POST" {
		t.Errorf("login body = %s, want %s", login.Body, wantBody)
	}
	if h := header(login, "Content-Type"); h != "application/json" {
		t.Errorf("login Content-Type = %q", h)
	}
	checkout := p.Flows[1].Steps[1]
	if h := header(checkout, "Content-Type"); h != "application/vnd.shop+json" {
		t.Errorf("an explicit Content-Type must win over json's, got %q", h)
	}
	if !reflect.DeepEqual(checkout.Accept, []int{200, 201}) {
		t.Errorf("checkout Accept = %v", checkout.Accept)
	}
	logout := p.Flows[1].Steps[2]
	if logout.Method != "DELETE" || string(logout.Body) != "bye" || !reflect.DeepEqual(logout.Accept, []int{204}) {
		t.Errorf("logout = %+v", logout)
	}
	// hunter2 and tok-123 alone are shorter than minSecret: not redacted.
	wantSecrets := []string{"Bearer tok-123"}
	if !reflect.DeepEqual(sc.Secrets, wantSecrets) {
		t.Errorf("Secrets = %q, want %q", sc.Secrets, wantSecrets)
	}
}

func header(s engine.Step, key string) string {
	for _, h := range s.Headers {
		if h.Key == key {
			return h.Value
		}
	}
	return ""
}

// TestCheckoutThresholds checks thresholds in file order with their options.
func TestCheckoutThresholds(t *testing.T) {
	sc := mustLoad(t, testdataDir+"/valid/checkout.yaml", testVars)
	want := []slo.Threshold{
		{Metric: "http_req_duration", Expr: "p(95) < 300ms"},
		{Metric: "http_req_duration", Expr: "p(99) < 800ms"},
		{Metric: "http_req_duration", Tags: []engine.Tag{{Key: "step", Value: "checkout"}}, Expr: "p(99) < 1s", AbortOnFail: true, Delay: 10 * time.Second},
		{Metric: "http_req_duration", Tags: []engine.Tag{{Key: "flow", Value: "browse"}}, Expr: "p(95) < 250ms", Window: 30 * time.Second, MinSamples: 100},
		{Metric: "http_req_failed", Expr: "rate < 1%"},
		{Metric: "checks", Expr: "rate > 99%"},
		{Metric: "http_req_duration", Tags: []engine.Tag{{Key: "status", Value: "5xx"}}, Expr: "p(99) < 400ms", Severity: slo.Warn},
	}
	if !reflect.DeepEqual(sc.Thresholds, want) {
		t.Errorf("Thresholds =\n%+v\nwant\n%+v", sc.Thresholds, want)
	}
}

// TestQuickForms checks the constant-load shortcuts and the closed model.
func TestQuickForms(t *testing.T) {
	constant := mustLoad(t, testdataDir+"/valid/constant.yaml", nil).Plan
	wantOpen := engine.Load{StartRate: 20, Stages: []engine.Stage{{Duration: time.Minute, Target: 20}}, MaxInFlight: engine.DefaultMaxInFlight, Slack: engine.DefaultSlack}
	if !reflect.DeepEqual(constant.Load, wantOpen) {
		t.Errorf("constant Load = %+v\nwant %+v", constant.Load, wantOpen)
	}
	if s := constant.Flows[0].Steps[0]; s.Timeout != engine.DefaultTimeout || s.Headers != nil || constant.Flows[0].Weight != 1 {
		t.Errorf("defaults not applied: %+v", constant.Flows[0])
	}
	if constant.Interval != engine.DefaultInterval || constant.StatusTrends {
		t.Errorf("Interval %v StatusTrends %v", constant.Interval, constant.StatusTrends)
	}
	closed := mustLoad(t, testdataDir+"/valid/closed.yaml", nil).Plan
	wantClosed := engine.Load{Model: engine.Closed, StartRate: 10, Stages: []engine.Stage{{Duration: 30 * time.Second, Target: 10}},
		MaxInFlight: engine.DefaultMaxInFlight, Think: 250 * time.Millisecond, MaxRate: 100, Slack: engine.DefaultSlack}
	if !reflect.DeepEqual(closed.Load, wantClosed) {
		t.Errorf("closed Load = %+v\nwant %+v", closed.Load, wantClosed)
	}
	var methods []string
	for _, f := range closed.Flows {
		for _, s := range f.Steps {
			methods = append(methods, s.Method)
		}
	}
	if want := []string{"GET", "HEAD", "PUT", "PATCH", "OPTIONS"}; !reflect.DeepEqual(methods, want) {
		t.Errorf("methods = %v, want %v", methods, want)
	}
}

// TestLaterSections checks that data and sli are kept in the Spec.
func TestLaterSections(t *testing.T) {
	sc := mustLoad(t, testdataDir+"/valid/later.yaml", nil)
	d := sc.spec.Data
	if len(d) != 1 || d[0].Name != "users" || d[0].Order != "random" || d[0].Path != testdataDir+"/valid/users.csv" {
		t.Errorf("Data = %+v", d)
	}
	sli := sc.spec.SLI
	if sli == nil || sli.PrometheusURL != "http://localhost:9090" || len(sli.Queries) != 1 || sli.Queries[0].Name != "server_cpu" {
		t.Errorf("SLI = %+v", sli)
	}
	// $$ is a literal dollar.
	if u := sc.Plan.Flows[0].Steps[0].URL; u != "http://localhost:9000/price?currency=$USD" {
		t.Errorf("URL = %q", u)
	}
	if sc.Plan.Load.StartRate != 1 || sc.Plan.Load.Model != engine.Closed {
		t.Errorf("start_users: Load = %+v", sc.Plan.Load)
	}
}

// TestDemo checks that the demo scenario compiles to what `loadgate demo`
// promises.
func TestDemo(t *testing.T) {
	sc := mustLoad(t, "../examples/demo.yaml", nil)
	p := sc.Plan
	if len(p.Flows) != 2 || p.Flows[0].Name != "browse" || p.Flows[0].Weight != 80 || p.Flows[1].Weight != 20 {
		t.Fatalf("flows = %+v", p.Flows)
	}
	if got := p.Flows[0].Steps[1].URL; got != "http://127.0.0.1:8088/search?q=shoes" {
		t.Errorf("search URL = %q", got)
	}
	want := []engine.Stage{{Duration: 5 * time.Second, Target: 100}, {Duration: 15 * time.Second, Target: 100}}
	if !reflect.DeepEqual(p.Load.Stages, want) || p.Load.StartRate != 0 {
		t.Errorf("stages = %+v", p.Load.Stages)
	}
	if len(sc.Thresholds) != 4 {
		t.Errorf("thresholds = %+v", sc.Thresholds)
	}
	other := mustLoad(t, "../examples/demo.yaml", map[string]string{"BASE_URL": "http://10.0.0.1:9999"})
	if got := other.Plan.Flows[1].Steps[0].URL; got != "http://10.0.0.1:9999/login" {
		t.Errorf("BASE_URL override: URL = %q", got)
	}
}
