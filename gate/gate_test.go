package gate

import (
	"bytes"
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
