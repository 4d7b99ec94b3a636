package scenarios_test

import (
	"fmt"

	"github.com/loadgate/loadgate/scenarios"
)

func ExampleParse() {
	src := []byte(`name: smoke
base_url: ${BASE_URL:-http://127.0.0.1:8088}
load: { rate: 10, duration: 30s }
flows:
  - name: browse
    steps:
      - { name: home, get: / }
thresholds:
  http_req_duration: [ "p(95) < 300ms" ]
`)
	sc, err := scenarios.Parse("smoke.yaml", src, scenarios.EnvLookup(map[string]string{"BASE_URL": "http://localhost:8080"}))
	if err != nil {
		fmt.Println(err)
		return
	}
	step := sc.Plan.Flows[0].Steps[0]
	fmt.Println(sc.Name, step.Method, step.URL, sc.Plan.Load.Duration())
	fmt.Println(sc.Thresholds[0].Metric, sc.Thresholds[0].Expr)
	// Output:
	// smoke GET http://localhost:8080/ 30s
	// http_req_duration p(95) < 300ms
}

func ExampleErrors() {
	src := []byte(`name: typo
load: { rate: 10, duration: 30 }
flows:
  - name: browse
    stages:
      - { name: home, get: / }
`)
	_, err := scenarios.Parse("typo.yaml", src, nil)
	fmt.Println(err)
	// Output:
	// typo.yaml:2:29: duration needs a unit, e.g. 30s (got 30 for duration)
	// typo.yaml:5:5: unknown key "stages" in flows[0]; did you mean "steps"?
}
