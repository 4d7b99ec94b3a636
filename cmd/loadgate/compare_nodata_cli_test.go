package main

import (
	"encoding/json"
	"net"
	"path/filepath"
	"strings"
	"testing"
)

// TestCompareNoDataInNew: comparing a good run with one that failed
// preflight (a report without metrics) is a regression (exit 1), never a
// pass: every stat a rule covers has "no data in NEW".
func TestCompareNoDataInNew(t *testing.T) {
	tg := newTarget(t, nil)
	dir := t.TempDir()
	base, next := filepath.Join(dir, "base.json"), filepath.Join(dir, "new.json")
	run(t, "run", scenario(t, tg.URL, shortLoad, ""), "--quiet", "-o", "json="+base).expect(t, exitPassed)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	run(t, "run", scenario(t, "http://"+addr, shortLoad, ""), "--quiet", "-o", "json="+next).expect(t, exitPreflightFailed)

	r := run(t, "compare", base, next)
	r.expect(t, exitFailed)
	if !strings.Contains(r.stdout, "RESULT: REGRESSION") || !strings.Contains(r.stdout, "http_req_duration p95: no data in NEW") {
		t.Fatalf("stdout:\n%s", r.stdout)
	}
	r = run(t, "compare", base, next, "--json")
	r.expect(t, exitFailed)
	var doc struct {
		Passed      bool `json:"passed"`
		Regressions []struct {
			Metric, Stat string
			NoData       bool `json:"no_data"`
		} `json:"regressions"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("--json: %v\n%s", err, r.stdout)
	}
	if doc.Passed || len(doc.Regressions) == 0 || !doc.Regressions[0].NoData {
		t.Fatalf("--json: %s", r.stdout)
	}
}
