package main

import (
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/loadgate/loadgate/report"
)

// TestPartialSurvivesSIGKILL: a run killed with SIGKILL (no chance to write
// its reports) leaves <path>.partial, rewritten every 10 s: a valid report
// marked partial with what was measured until then (docs/reliability.md, row 18).
func TestPartialSurvivesSIGKILL(t *testing.T) {
	tg := newTarget(t, nil)
	cmd, rep, _, _ := startCmd(t, "run", scenario(t, tg.URL, "  rate: 20\n  duration: 30s\n", "  http_req_duration: [\"p(95) < 2s\"]\n"), "--quiet")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(12 * time.Second)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait() // killed: the error says so
	if _, err := os.Stat(rep); err == nil {
		t.Fatal("a killed run wrote its final report")
	}
	s, err := report.ReadJSON(rep + ".partial")
	if err != nil {
		t.Fatalf("no valid partial report: %v", err)
	}
	validateReport(t, rep+".partial")
	if !s.Partial || s.Metrics["http_reqs"].Count == 0 {
		t.Errorf("partial %v, http_reqs %d: want a partial report with requests", s.Partial, s.Metrics["http_reqs"].Count)
	}
	if len(s.Reasons) == 0 || !strings.HasPrefix(s.Reasons[0], "run in progress") || s.Status != "passed" || s.ExitCode != 0 {
		t.Errorf("status %s (%d), reasons %q: want the verdict so far, passed, and run in progress", s.Status, s.ExitCode, s.Reasons)
	}
	if s.DurationS < 9 || s.DurationS > 13 {
		t.Errorf("duration_s %v, want about 10 s", s.DurationS)
	}
}
