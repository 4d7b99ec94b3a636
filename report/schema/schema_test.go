package schema_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loadgate/loadgate/report/schema"
)

// TestGoldenReports: the golden JSON reports of package report validate,
// the single-host ones, the distributed run's and the run that never
// started (report/testdata; compare_*.json there are compare's own
// documents, not reports). (The CLI tests validate every report a real
// run writes.)
func TestGoldenReports(t *testing.T) {
	const pattern = "../testdata/*.json"
	all, err := filepath.Glob(pattern)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, p := range all {
		if !strings.HasPrefix(filepath.Base(p), "compare_") {
			paths = append(paths, p)
		}
	}
	if len(paths) < 3 {
		t.Fatalf("want the golden reports summary, agents and notstarted in %s, got %v", pattern, paths)
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := schema.Validate(b); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
}

// TestRejects: the schema catches what a reader would trip on.
func TestRejects(t *testing.T) {
	good, err := os.ReadFile("../testdata/summary.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, old, new string
		want           string // a substring of the error
	}{
		{"status and exit code disagree", `"exit_code": 1`, `"exit_code": 0`, "exit_code"},
		{"unknown status", `"status": "failed"`, `"status": "fine"`, "status"},
		{"other schema", `"loadgate.report/v1"`, `"loadgate.report/v2"`, "schema"},
		{"bad time", `"started_at": "2026-11-22T10:00:00Z"`, `"started_at": "22/11/2026"`, "started_at"},
		{"trend field on a rate", `"type": "rate",`, `"type": "rate", "p99": 1,`, "metrics"},
		{"missing field", `"duration_s": 50,`, ``, "duration_s"},
		{"negative count", `"count": 4997`, `"count": -1`, "count"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(string(good), tc.old) {
				t.Fatalf("the golden report lacks %s", tc.old)
			}
			bad := strings.Replace(string(good), tc.old, tc.new, 1)
			err := schema.Validate([]byte(bad))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one about %s", err, tc.want)
			}
		})
	}
}

// TestProblems: a violation is said with its jq path and what was
// expected there; of a metric's variants, only the one its type names
// speaks.
func TestProblems(t *testing.T) {
	good, err := os.ReadFile("../testdata/summary.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, old, new string
		want           string // the whole error
	}{
		{"negative count in a counter", `"count": 4997`, `"count": -5`, `.metrics.iterations.count: want a value >= 0, got -5`},
		{"a trend field on a rate", `"type": "rate",`, `"type": "rate", "p99": 1,`, `.metrics.http_req_failed.p99: not allowed here`},
		{"unknown metric type", `"type": "rate",`, `"type": "gauge",`, `.metrics.http_req_failed.type: want one of "trend", "rate", "counter", got "gauge"`},
		{"time or null", `"first_failed_at": null`, `"first_failed_at": 5`, `.thresholds[0].first_failed_at: want null or string, got number`},
		{"key that is no identifier", `"count": 3998`, `"count": 3998.5`, `.metrics["http_req_duration{flow:browse,step:home}"].count: want integer, got number`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(string(good), tc.old) {
				t.Fatalf("the golden report lacks %s", tc.old)
			}
			err := schema.Validate([]byte(strings.Replace(string(good), tc.old, tc.new, 1)))
			var se *schema.Error
			if !errors.As(err, &se) || err.Error() != tc.want {
				t.Errorf("error %v, want %s", err, tc.want)
			}
		})
	}
}

// TestUnknownFieldsAllowed: later v1 versions may add fields anywhere
// (docs/reports.md), a metric included.
func TestUnknownFieldsAllowed(t *testing.T) {
	good, err := os.ReadFile("../testdata/summary.json")
	if err != nil {
		t.Fatal(err)
	}
	doc := strings.Replace(string(good), `"type": "rate",`, `"type": "rate", "zz_future": [1],`, 1)
	doc = strings.Replace(doc, `"schema": "loadgate.report/v1",`, `"schema": "loadgate.report/v1", "zz_future": {"a": 1},`, 1)
	if err := schema.Validate([]byte(doc)); err != nil {
		t.Fatal(err)
	}
}
