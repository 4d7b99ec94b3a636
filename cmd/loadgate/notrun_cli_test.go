package main

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loadgate/loadgate/internal/testtool"
)

// TestNotRunThresholds (issue 15 item 5): the thresholds of a run that
// never started (a failed preflight, a --metrics-addr that cannot be
// served) are "not run", never failed for want of data
// (docs/reports.md, "A run that never started"): skipped in JUnit with the
// status as the reason, skipped in the JSON report with the reason
// "not run: ...", and no FAIL table on the console.
func TestNotRunThresholds(t *testing.T) {
	tg := newTarget(t, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	busy := ln.Addr().String() // taken until the test ends: --metrics-addr cannot listen there
	t.Cleanup(func() { ln.Close() })
	closed := freeAddr(t) // nothing listens there: preflight fails
	th := "  http_req_duration: [\"p(95) < 500ms\"]\n  http_req_failed: [\"rate < 1%\"]\n"
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		reason string // of every threshold
	}{
		{"preflight failed", []string{"run", scenario(t, "http://"+closed, shortLoad, th)}, exitPreflightFailed, "not run: preflight failed"},
		{"bad --metrics-addr", []string{"run", scenario(t, tg.URL, shortLoad, th), "--metrics-addr", busy}, exitInvalid, "not run: invalid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			xml := filepath.Join(t.TempDir(), "r.xml")
			r := run(t, append(tc.args, "-o", "junit="+xml)...)
			r.expect(t, tc.code)
			status := strings.TrimPrefix(tc.reason, "not run: ")
			if want := "THRESHOLDS: 2 not run (" + status + ")"; !strings.Contains(r.stdout, want) {
				t.Errorf("the console lacks %q:\n%s", want, r.stdout)
			}
			for _, bad := range []string{"  FAIL ", "no data"} { // a FAIL row of the table
				if strings.Contains(r.stdout, bad) {
					t.Errorf("the console says %q:\n%s", bad, r.stdout)
				}
			}
			ths, _ := r.report["thresholds"].([]any)
			if len(ths) != 2 {
				t.Fatalf("report thresholds %v, want 2", ths)
			}
			for _, x := range ths {
				th := x.(map[string]any)
				if th["skipped"] != true || th["passed"] != false || th["no_data"] != false || th["reason"] != tc.reason || th["first_failed_at"] != nil {
					t.Errorf("threshold %v: want skipped, not passed, reason %q, never failed", th, tc.reason)
				}
			}
			b, err := os.ReadFile(xml)
			if err != nil {
				t.Fatal(err)
			}
			junit := string(b)
			if n := strings.Count(junit, `<skipped message="`+tc.reason+`">`); n != 2 {
				t.Errorf("junit has %d thresholds skipped %q, want 2:\n%s", n, tc.reason, junit)
			}
			// The run status case is the one failure: the status says why.
			if !strings.Contains(junit, `failures="1"`) || !strings.Contains(junit, `skipped="2"`) || strings.Contains(junit, "no data") {
				t.Errorf("junit: want 1 failure (run status) and 2 skipped:\n%s", junit)
			}
			t.Run("xsd", func(t *testing.T) {
				xmllint := testtool.Need(t, "xmllint", "libxml2-utils")
				if out, err := exec.Command(xmllint, "--noout", "--nonet", "--schema", "../../report/testdata/JUnit.xsd", xml).CombinedOutput(); err != nil {
					t.Errorf("junit does not validate: %v\n%s", err, out)
				}
			})
		})
	}
	if n := tg.hits.Load(); n != 0 {
		t.Errorf("runs that never started sent %d requests", n)
	}
}
