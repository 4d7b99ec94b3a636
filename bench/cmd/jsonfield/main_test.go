package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestRun(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "run.json")
	if err := os.WriteFile(good, []byte(`{"metrics":{"http_reqs":{"count":4980},"d":{"p99.9":1.5}},"generator":{"schedule_lag_p99":0.4}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{`), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"fields present", []string{good, "metrics.http_reqs.count", "generator.schedule_lag_p99", `metrics.d.p99\.9`}, 0},
		{"a field missing", []string{good, "metrics.nope"}, 1},
		{"invalid JSON", []string{bad, "a"}, 2},
		{"no such file", []string{filepath.Join(dir, "none.json"), "a"}, 2},
		{"no path", []string{good}, 2},
	}
	for _, tt := range tests {
		if got := run(tt.args); got != tt.want {
			t.Errorf("%s: run = %d, want %d", tt.name, got, tt.want)
		}
	}
}
