package gate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/loadgate/loadgate/engine"
	"github.com/loadgate/loadgate/report"
	"github.com/loadgate/loadgate/scenarios"
	"github.com/loadgate/loadgate/slo"
	"github.com/loadgate/loadgate/verdict"
)

// testScenario compiles a one-step scenario against base with the given
// load and thresholds sections. The generator tolerances are loose: these
// tests are about the verdict and the reports, and a busy machine running
// them under -race must not make them inconclusive.
func testScenario(t *testing.T, base, load, thresholds string) *scenarios.Scenario {
	t.Helper()
	body := fmt.Sprintf("name: gate-test\nbase_url: %s\ngenerator: { max_schedule_lag_p99: 5s, min_achieved_ratio: 0.5 }\nload:\n%s\nflows:\n  - name: f\n    steps:\n      - name: s\n        get: /x\n", base, load)
	if thresholds != "" {
		body += "thresholds:\n" + thresholds
	}
	path := filepath.Join(t.TempDir(), "s.yaml")
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	sc, err := scenarios.Load(path, scenarios.EnvLookup(nil))
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// testConfig is a run of sc without progress, preflight or color, its json
// report at the returned path, its stdout in the returned buffer.
func testConfig(t *testing.T, sc *scenarios.Scenario) (Config, string, *bytes.Buffer) {
	t.Helper()
	rep := filepath.Join(t.TempDir(), "report.json")
	var stdout bytes.Buffer
	return Config{
		Scenario: sc, Engine: &engine.Engine{}, Outputs: []Output{{Format: "json", Path: rep}},
		Quiet: true, Stdout: &stdout, Stderr: io.Discard, Version: "test",
		exit: func(code int) { t.Errorf("a second signal exited %d", code) },
	}, rep, &stdout
}

func newTarget(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(srv.Close)
	return srv
}

// readReport reads the json report at path and checks that its status and
// exit_code say code (docs/exit-codes.md: the report always matches it).
func readReport(t *testing.T, path string, code int) *report.Summary {
	t.Helper()
	s, err := report.ReadJSON(path)
	if err != nil {
		t.Fatal(err)
	}
	if s.ExitCode != code || s.Status.Code() != code {
		t.Fatalf("report status %s, exit_code %d, want %d; reasons %q", s.Status, s.ExitCode, code, s.Reasons)
	}
	return s
}

// TestObserverPanic: a bug in an observer ends the run as an internal
// error (exit 70) with its reports written and marked partial.
func TestObserverPanic(t *testing.T) {
	srv := newTarget(t)
	cfg, rep, _ := testConfig(t, testScenario(t, srv.URL, "  rate: 10\n  duration: 10s\n", ""))
	cfg.observers = []engine.Observer{engine.ObserverFunc(func(sn *engine.Snapshot) {
		if sn.Seq == 2 {
			panic("observer bug")
		}
	})}
	start := time.Now()
	if code := Run(cfg); code != verdict.Internal.Code() {
		t.Fatalf("exit %d, want %d", code, verdict.Internal.Code())
	}
	if el := time.Since(start); el > 8*time.Second {
		t.Errorf("the run went on %v after the panic", el)
	}
	s := readReport(t, rep, verdict.Internal.Code())
	if !s.Partial {
		t.Error("report not marked partial")
	}
	if len(s.Reasons) == 0 || !strings.Contains(s.Reasons[0], "observer bug") {
		t.Errorf("reasons %q: want the panic", s.Reasons)
	}
}

// TestPartialRewritten: <json>.partial exists during the run, is a valid
// partial report with the verdict so far, and is removed once the final
// report is written (docs/reports.md).
func TestPartialRewritten(t *testing.T) {
	srv := newTarget(t)
	cfg, rep, _ := testConfig(t, testScenario(t, srv.URL, "  rate: 20\n  duration: 2s\n", "  http_reqs: [\"count > 0\"]\n"))
	cfg.partialEvery = 300 * time.Millisecond
	done := make(chan int, 1)
	go func() { done <- Run(cfg) }()
	var seen atomic.Pointer[report.Summary]
	var code int
wait:
	for {
		select {
		case code = <-done:
			break wait
		case <-time.After(50 * time.Millisecond):
			if s, err := report.ReadJSON(rep + ".partial"); err == nil {
				seen.Store(s)
			}
		}
	}
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	readReport(t, rep, 0)
	s := seen.Load()
	if s == nil {
		t.Fatal("no .partial during the run")
	}
	if !s.Partial || s.Status != verdict.Passed || len(s.Reasons) == 0 || !strings.HasPrefix(s.Reasons[0], "run in progress") {
		t.Errorf("partial %v, status %s, reasons %q: want a partial report, passed so far, run in progress", s.Partial, s.Status, s.Reasons)
	}
	if _, err := os.Stat(rep + ".partial"); !os.IsNotExist(err) {
		t.Errorf("the .partial is still there after the final report: %v", err)
	}
}

// TestFinishBeforeTheLoadIsNotRun: any end of a session before the load
// could start is a run that never started, whichever path ends it (fail,
// or a path that calls finish itself), so its thresholds are not run.
func TestFinishBeforeTheLoadIsNotRun(t *testing.T) {
	sc := testScenario(t, "http://127.0.0.1:1", "  rate: 50\n  duration: 1s\n", "  http_req_duration: [\"p(95) < 500ms\"]\n")
	ev, err := slo.New(&sc.Plan, sc.Thresholds, slo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg, _, stdout := testConfig(t, sc)
	cfg.Outputs = nil
	s := &session{Config: cfg, sc: sc, eval: ev}
	v := &verdict.Causes{}
	v.Add(verdict.PreflightFailed, "preflight: refused")
	if code := s.finish(v, nil, false); code != verdict.PreflightFailed.Code() {
		t.Fatalf("exit %d", code)
	}
	if !strings.Contains(stdout.String(), "THRESHOLDS: 1 not run (preflight failed)") {
		t.Errorf("summary:\n%s", stdout.String())
	}
}

// TestWriterRewritesOnFailure: a file that cannot be written makes the run
// an io_error, and the files already written are written again with it.
func TestWriterRewritesOnFailure(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "a.json")
	outs := []Output{{"json", good}, {"json", "/dev/null/x.json"}}
	v := &verdict.Causes{}
	run := report.Run{Tool: Tool}
	var stderr, stdout bytes.Buffer
	errs := Writer{Stdout: &stdout, Stderr: &stderr, Prefix: "loadgate"}.Write(outs, summarize(run, v), func(reason string) *report.Summary {
		v.Add(verdict.IOError, reason)
		return summarize(run, v)
	})
	if errs[0] != nil || errs[1] == nil {
		t.Fatalf("errors %v", errs)
	}
	readReport(t, good, verdict.IOError.Code())
	if !strings.HasPrefix(stderr.String(), "loadgate: cannot write json report /dev/null/x.json: ") {
		t.Errorf("stderr %q", stderr.String())
	}
	if !strings.Contains(stdout.String(), "exit code 74") {
		t.Errorf("stdout:\n%s", stdout.String())
	}
}

// TestWriterKeepsASavedVerdict: without rejudge (loadgate report) a file
// that cannot be written is said and returned, the others are written
// with the saved status, and stdout gets the report to "-" only.
func TestWriterKeepsASavedVerdict(t *testing.T) {
	dir := t.TempDir()
	v := &verdict.Causes{}
	v.Add(verdict.Failed, "threshold failed")
	sum := summarize(report.Run{Tool: Tool}, v)
	outs := []Output{{"json", "/dev/null/x.json"}, {"junit", filepath.Join(dir, "a.xml")}, {"json", "-"}}
	var stderr, stdout bytes.Buffer
	errs := Writer{Stdout: &stdout, Stderr: &stderr, Prefix: "loadgate report", NoSummary: true}.Write(outs, sum, nil)
	if errs[0] == nil || errs[1] != nil || errs[2] != nil {
		t.Fatalf("errors %v", errs)
	}
	if !strings.HasPrefix(stderr.String(), "loadgate report: cannot write json report /dev/null/x.json: ") {
		t.Errorf("stderr %q", stderr.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "a.xml")); err != nil {
		t.Error(err)
	}
	var got report.Summary
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil || got.Status != verdict.Failed || got.ExitCode != 1 {
		t.Errorf("stdout: status %s exit_code %d (%v), want the saved failed, 1", got.Status, got.ExitCode, err)
	}
}

// TestMergeVerdict: a merge is judged as its run would be: an interrupted
// input makes it partial and interrupted, a failed threshold on the merged
// data is a reason after it, an inconclusive cause comes last, a status of
// a later version is not trusted, and a report that cannot be written is
// io_error in every report written (docs/exit-codes.md).
func TestMergeVerdict(t *testing.T) {
	m := &report.Merged{
		Summary: &report.Summary{Tool: Tool, Thresholds: []report.ThresholdResult{
			{Metric: "http_req_duration", Expr: "p(95) < 1ms", Observed: 5, Limit: 1, Unit: "ms", Severity: "fail"},
			{Metric: "http_reqs", Expr: "count > 0", Observed: 10, Passed: true, Severity: "fail"},
		}},
		Causes: []report.Cause{
			{Status: verdict.Inconclusive, Reason: "b.json: partial report"},
			{Status: verdict.Interrupted, Reason: "a.json: interrupted: the merged run is partial"},
			{Status: "later", Reason: "c.json: a status of a later version"},
		},
	}
	v := judgeMerge(m)
	if v.Status() != verdict.Interrupted || !m.Summary.Partial {
		t.Fatalf("status %s, partial %v: want interrupted and partial", v.Status(), m.Summary.Partial)
	}
	if r := v.Reasons(); len(r) != 4 || !strings.HasPrefix(r[0], "a.json") || !strings.HasPrefix(r[1], "threshold http_req_duration") || !strings.HasPrefix(r[2], "b.json") {
		t.Errorf("reasons %q", r)
	}
	if !v.Has(verdict.Inconclusive) {
		t.Error("a status of a later version must count as inconclusive")
	}

	dir := t.TempDir()
	m.Causes, m.Summary.Partial = nil, false
	outs := []Output{{"json", filepath.Join(dir, "m.json")}, {"junit", "/dev/null/m.xml"}}
	if code := WriteMerge(m, outs, Writer{Stdout: io.Discard, Stderr: io.Discard}); code != verdict.IOError.Code() {
		t.Fatalf("exit %d, want 74", code)
	}
	b, err := os.ReadFile(outs[0].Path)
	if err != nil {
		t.Fatal(err)
	}
	var s report.Summary
	if err := json.Unmarshal(b, &s); err != nil || s.Status != verdict.IOError || s.ExitCode != 74 {
		t.Fatalf("merged report: status %s, exit_code %d (%v): want io_error, 74, written again", s.Status, s.ExitCode, err)
	}
	if len(s.Reasons) != 2 || !strings.HasPrefix(s.Reasons[1], "cannot write junit report /dev/null/m.xml") {
		t.Errorf("reasons %q", s.Reasons)
	}
}
