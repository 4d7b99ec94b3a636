package main

import (
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// exampleVars are the -e values each example needs to validate; the
// examples default every variable, so none is required today, and these
// check that overriding works as the comments say.
var exampleVars = map[string][]string{
	"smoke.yaml":        {"-e", "BASE_URL=http://127.0.0.1:1", "-e", "SMOKE_DURATION=3s"},
	"capacity.yaml":     {"-e", "BASE_URL=http://127.0.0.1:1", "-e", "STEP=2s"},
	"ramp.yaml":         {"-e", "BASE_URL=http://127.0.0.1:1"},
	"breakpoint.yaml":   {"-e", "BASE_URL=http://127.0.0.1:1"},
	"soak.yaml":         {"-e", "SOAK_DURATION=4h"},
	"canary.yaml":       {"-e", "BASE_URL=http://127.0.0.1:1"},
	"quality-gate.yaml": {"-e", "PROM_URL=http://127.0.0.1:9090", "-e", "JOB=target"},
	"websocket.yaml":    {"-e", "BASE_URL=https://127.0.0.1:1", "-e", "WS_DURATION=5s", "-e", "FEED_DELAY=300ms"},
	"flow-logic.yaml":   {"-e", "BASE_URL=http://127.0.0.1:1", "-e", "DURATION=3s"},
	"grpc.yaml":         {"-e", "GRPC_TARGET=https://127.0.0.1:1", "-e", "DURATION=3s"},
}

// TestExamplesValidate runs `loadgate validate` on every scenario in
// examples/, once with the defaults and once with the documented -e values.
// canary.yaml's baseline thresholds validate without --baseline (they are
// skipped at run time when it is missing).
func TestExamplesValidate(t *testing.T) {
	files, err := filepath.Glob("../../examples/*.yaml")
	if err != nil || len(files) < 6 {
		t.Fatalf("examples: %v %v", files, err)
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			for _, extra := range [][]string{nil, exampleVars[name]} {
				out, err := exec.Command(binary, append([]string{"validate", f}, extra...)...).CombinedOutput()
				if err != nil || !strings.Contains(string(out), ": ok: ") {
					t.Fatalf("validate %s %v: %v\n%s", name, extra, err, out)
				}
			}
		})
		if _, ok := exampleVars[name]; !ok && name != "demo.yaml" {
			t.Errorf("%s has no entry in exampleVars", name)
		}
	}
}

// junitSuites is the part of a JUnit file the CI test reporters read.
type junitSuites struct {
	Tests    int `xml:"tests,attr"`
	Failures int `xml:"failures,attr"`
	Suites   []struct {
		Name  string `xml:"name,attr"`
		Cases []struct {
			Name    string    `xml:"name,attr"`
			Failure *struct{} `xml:"failure"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

// TestSmokeExampleRuns runs examples/smoke.yaml, shortened to 3 s, against
// the built-in target, as the CI files do, and checks its JUnit and JSON.
func TestSmokeExampleRuns(t *testing.T) {
	base := "http://" + startTarget(t) // prom_e2e_test.go
	junit := filepath.Join(t.TempDir(), "smoke.xml")
	r := run(t, "run", "../../examples/smoke.yaml", "-e", "BASE_URL="+base, "-e", "SMOKE_DURATION=3s",
		"--quiet", "-o", "junit="+junit)
	r.expect(t, exitPassed)
	if got := r.report["scenario"].(map[string]any)["name"]; got != "smoke" {
		t.Fatalf("scenario %v", got)
	}
	if n := r.report["metrics"].(map[string]any)["http_reqs"].(map[string]any)["count"].(float64); n < 60 {
		t.Fatalf("http_reqs %v, want at least 60 (3 s at 20/s, 1–3 requests each)", n)
	}
	ths := r.report["thresholds"].([]any)
	if len(ths) != 6 {
		t.Fatalf("%d thresholds in the report, want the example's 6", len(ths))
	}
	var names []string
	for _, x := range ths {
		th := x.(map[string]any)
		if th["passed"] != true {
			t.Fatalf("threshold %v did not pass against the built-in target", th)
		}
		names = append(names, th["metric"].(string)+" "+th["expr"].(string))
	}
	b, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	var js junitSuites
	if err := xml.Unmarshal(b, &js); err != nil {
		t.Fatalf("junit: %v\n%s", err, b)
	}
	if js.Failures != 0 || len(js.Suites) != 1 || js.Suites[0].Name != "smoke" {
		t.Fatalf("junit: failures %d, suites %+v", js.Failures, js.Suites)
	}
	cases := map[string]bool{}
	for _, c := range js.Suites[0].Cases {
		cases[c.Name] = c.Failure == nil
	}
	for _, n := range append(names, "run status") {
		if ok, found := cases[n]; !found || !ok {
			t.Errorf("junit test case %q: found %v, passed %v", n, found, ok)
		}
	}
}
