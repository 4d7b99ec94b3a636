package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// binary is the loadgate binary built once for the CLI tests, which run it
// as a real subprocess.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "loadgate-cli")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "loadgate")
	args := []string{"build", "-o", binary}
	if raceEnabled {
		// The binary is race-checked as the tests are: its reports go to
		// files that are read after the tests, whatever a test did with the
		// process's stderr or exit code.
		args = append(args, "-race")
		os.Setenv("GORACE", "log_path="+filepath.Join(dir, "race")+" exitcode=66")
	}
	if out, err := exec.Command("go", append(args, ".")...).CombinedOutput(); err != nil {
		panic(fmt.Sprintf("build: %v\n%s", err, out))
	}
	code := m.Run()
	if races, _ := filepath.Glob(filepath.Join(dir, "race.*")); len(races) > 0 {
		for _, f := range races {
			b, _ := os.ReadFile(f)
			fmt.Fprintf(os.Stderr, "the race detector reported in the loadgate binary (%s):\n%s\n", filepath.Base(f), b)
		}
		code = 1
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// counter is a loopback target that counts what it receives.
type counter struct {
	*httptest.Server
	hits atomic.Int64
}

func newTarget(t *testing.T, h http.HandlerFunc) *counter {
	c := &counter{}
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.hits.Add(1)
		if h != nil {
			h(w, r)
		}
	}))
	t.Cleanup(c.Close)
	return c
}

// scenario writes a scenario file for base with the given load and
// thresholds and returns its path.
//
// The generator tolerances are loose (looseGenerator).
func scenario(t *testing.T, base, load, thresholds string) string {
	t.Helper()
	body := fmt.Sprintf("name: cli-test\nbase_url: %s\n%sload:\n%s\nflows:\n  - name: f\n    steps:\n      - name: s\n        get: /x\n", base, looseGenerator, load)
	if thresholds != "" {
		body += "thresholds:\n" + thresholds
	}
	p := filepath.Join(t.TempDir(), "s.yaml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// looseGenerator is the generator section of the scenarios these tests
// write: they are about exit codes and reports, and a busy 2-core machine
// running a -race binary must not turn them into "inconclusive" runs. The
// tests of the generator's own verdict (TestExitInconclusive) write theirs.
// A 1 s run whose (distributed) start was late by 0.6 s on such a machine
// started 42% of its arrivals (the profile's end is a hard bound), hence
// the low ratio.
const looseGenerator = "generator: { max_schedule_lag_p99: 5s, min_achieved_ratio: 0.2 }\n"

const shortLoad = "  rate: 50\n  duration: 1s\n"

type result struct {
	code           int
	stdout, stderr string
	report         map[string]any
}

// run runs the binary with args (a json report is added) and waits.
func run(t *testing.T, args ...string) result {
	t.Helper()
	cmd, rep, stdout, stderr := startCmd(t, args...)
	err := cmd.Run()
	return finish(t, cmd, err, rep, stdout, stderr)
}

func startCmd(t *testing.T, args ...string) (*exec.Cmd, string, *bytes.Buffer, *bytes.Buffer) {
	rep := filepath.Join(t.TempDir(), "report.json")
	if len(args) > 0 && args[0] == "run" {
		args = append(args, "-o", "json="+rep)
	}
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	return cmd, rep, &stdout, &stderr
}

func finish(t *testing.T, cmd *exec.Cmd, err error, rep string, stdout, stderr *bytes.Buffer) result {
	t.Helper()
	r := result{code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String()}
	if err != nil && r.code < 0 {
		t.Fatalf("run: %v", err)
	}
	if b, err := os.ReadFile(rep); err == nil {
		if err := json.Unmarshal(b, &r.report); err != nil {
			t.Fatalf("report is not JSON: %v", err)
		}
		validateReport(t, rep)
	}
	return r
}

// expect checks the exit code and that the report's status and exit_code
// agree with it (docs/exit-codes.md: the report always matches the code).
func (r result) expect(t *testing.T, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
	if r.report == nil {
		return
	}
	if got := r.report["status"]; got != statusOf[code] {
		t.Fatalf("report status %v, want %s; reasons %v", got, statusOf[code], r.report["reasons"])
	}
	if got := r.report["exit_code"]; got != float64(code) {
		t.Fatalf("report exit_code %v, want %d", got, code)
	}
}

func TestExitPassed(t *testing.T) {
	tg := newTarget(t, nil)
	r := run(t, "run", scenario(t, tg.URL, shortLoad, "  http_req_duration: [\"p(95) < 2s\"]\n  http_req_failed: [\"rate < 1%\"]\n"))
	r.expect(t, exitPassed)
	if tg.hits.Load() != 50 {
		t.Fatalf("target saw %d requests, want 50", tg.hits.Load())
	}
	if !strings.Contains(r.stdout, "http_req_duration") || !strings.Contains(r.stdout, "PASSED") {
		t.Fatalf("no end summary on stdout:\n%s", r.stdout)
	}
	m := r.report["metrics"].(map[string]any)["http_reqs"].(map[string]any)
	if m["count"] != float64(50) {
		t.Fatalf("http_reqs %v", m)
	}
}

func TestExitFailedThreshold(t *testing.T) {
	tg := newTarget(t, func(w http.ResponseWriter, r *http.Request) { time.Sleep(20 * time.Millisecond) })
	r := run(t, "run", scenario(t, tg.URL, shortLoad, "  http_req_duration: [\"p(95) < 5ms\"]\n"))
	r.expect(t, exitFailed)
	th := r.report["thresholds"].([]any)[0].(map[string]any)
	if th["passed"] != false || th["observed"].(float64) < 20 {
		t.Fatalf("threshold %v", th)
	}
}

// A threshold that fails with severity warn is reported and exits 0.
func TestExitPassedWithWarning(t *testing.T) {
	tg := newTarget(t, func(w http.ResponseWriter, r *http.Request) { time.Sleep(10 * time.Millisecond) })
	r := run(t, "run", scenario(t, tg.URL, shortLoad, "  http_req_duration:\n    - { expr: \"p(95) < 1ms\", severity: warn }\n"))
	r.expect(t, exitPassed)
	if len(r.report["reasons"].([]any)) == 0 {
		t.Fatal("the failed warning is not among the reasons")
	}
}

// A 5xx storm fails the error-rate threshold.
func TestExitFailedErrorRate(t *testing.T) {
	tg := newTarget(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) })
	r := run(t, "run", scenario(t, tg.URL, shortLoad, "  http_req_failed: [\"rate < 1%\"]\n"))
	r.expect(t, exitFailed)
	if got := r.report["errors"].(map[string]any)["5xx"]; got != float64(50) {
		t.Fatalf("errors.5xx = %v", got)
	}
}

func TestExitInvalid(t *testing.T) {
	tg := newTarget(t, nil)
	for _, tc := range []struct {
		name string
		args []string
		want []string // lines expected on stderr
	}{
		{
			name: "unknown keys, all reported with positions",
			args: []string{"run", "../../scenarios/testdata/invalid/unknown_key.yaml"},
			want: []string{
				`unknown_key.yaml:3:1: unknown key "nmae" at top level; did you mean "name"?`,
				`unknown_key.yaml:7:5: unknown key "stages" in flows[0]; did you mean "steps"?`,
			},
		},
		{
			name: "bad threshold expression",
			args: []string{"run", scenario(t, tg.URL, shortLoad, "  http_req_duration: [\"p(101) < 300ms\"]\n")},
			want: []string{`s.yaml:14:26: invalid threshold "p(101) < 300ms": percentile 101 is out of range`},
		},
		{name: "unknown flag", args: []string{"run", "--bogus", "x.yaml"}, want: []string{"unknown flag: --bogus"}},
		{name: "no scenario", args: []string{"run"}, want: []string{"want one scenario file"}},
		{name: "bad output", args: []string{"run", "-o", "pdf=x", "x.yaml"}, want: []string{`unknown format "pdf"`}},
		{name: "missing file", args: []string{"run", "/nonexistent/s.yaml"}, want: []string{"/nonexistent/s.yaml"}},
		{name: "unknown command", args: []string{"frobnicate"}, want: []string{`unknown command "frobnicate"`}},
		{name: "unset variable", args: []string{"run", scenario(t, "${NOPE_UNSET_VAR}", shortLoad, "")}, want: []string{"s.yaml:2:11:", "NOPE_UNSET_VAR"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, tc.args...)
			r.expect(t, exitInvalid)
			for _, w := range tc.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
				}
			}
		})
	}
	if n := tg.hits.Load(); n != 0 {
		t.Fatalf("invalid input sent %d requests", n)
	}
}

func TestValidate(t *testing.T) {
	tg := newTarget(t, nil)
	r := run(t, "validate", scenario(t, tg.URL, shortLoad, ""))
	r.expect(t, exitPassed)
	if !strings.Contains(r.stdout, "ok") {
		t.Fatalf("stdout %q", r.stdout)
	}
	run(t, "validate", "../../scenarios/testdata/invalid/many_errors.yaml").expect(t, exitInvalid)
	if tg.hits.Load() != 0 {
		t.Fatal("validate sent requests")
	}
}

func TestExitPreflightFailed(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	r := run(t, "run", scenario(t, "http://"+addr, shortLoad, ""))
	r.expect(t, exitPreflightFailed)
	if !strings.Contains(r.stderr, addr) || !strings.Contains(r.stderr, "refused") {
		t.Fatalf("stderr does not name the target and cause:\n%s", r.stderr)
	}
}

// A generator late by its own doing, past its tolerance, must not pass:
// inconclusive. Its clock serves 200 arrivals a second in batches every
// 20 ms (slack), so they start up to 20 ms late with free slots, against a
// tolerance of 1 ms. (A full max_in_flight is not the generator's doing:
// TestOverloadVerdicts.)
func TestExitInconclusive(t *testing.T) {
	tg := newTarget(t, nil)
	r := run(t, "run", generatorLate(t, tg.URL, "1s", "generator: { max_schedule_lag_p99: 1ms }\n"))
	r.expect(t, exitInconclusive)
	if !strings.Contains(fmt.Sprint(r.report["reasons"]), "fell behind: schedule_lag") {
		t.Fatalf("reasons %v", r.report["reasons"])
	}
}

// generatorLate writes a scenario whose generator starts its arrivals up
// to 20 ms late by its own doing (load.slack: 20ms at 200/s), with extra
// top-level YAML.
func generatorLate(t *testing.T, base, duration, extra string) string {
	t.Helper()
	body := fmt.Sprintf("name: late\nbase_url: %s\nload: { rate: 200, duration: %s, slack: 20ms }\nflows:\n  - name: f\n    steps:\n      - name: s\n        get: /x\n%s", base, duration, extra)
	p := filepath.Join(t.TempDir(), "late.yaml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestSignals: SIGINT and SIGTERM stop the run, write the reports marked
// interrupted and partial, and exit 130; a second signal exits at once.
func TestSignals(t *testing.T) {
	for _, tc := range []struct {
		name    string
		signals []syscall.Signal
	}{
		{"SIGINT", []syscall.Signal{syscall.SIGINT}},
		{"SIGTERM", []syscall.Signal{syscall.SIGTERM}},
		{"second signal", []syscall.Signal{syscall.SIGINT, syscall.SIGINT}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The target hangs for 3 s, so the second signal lands while
			// requests are in flight.
			tg := newTarget(t, func(w http.ResponseWriter, r *http.Request) { time.Sleep(3 * time.Second) })
			cmd, rep, stdout, stderr := startCmd(t, "run", scenario(t, tg.URL, "  rate: 20\n  duration: 30s\n", "  http_req_duration: [\"p(95) < 10s\"]\n"))
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(1500 * time.Millisecond)
			start := time.Now()
			for _, sig := range tc.signals {
				cmd.Process.Signal(sig)
				time.Sleep(100 * time.Millisecond)
			}
			r := finish(t, cmd, cmd.Wait(), rep, stdout, stderr)
			el := time.Since(start)
			r.expect(t, exitInterrupted)
			if r.report["partial"] != true {
				t.Fatal("report not marked partial")
			}
			// The in-flight requests end 3 s after they started; the rest of
			// the 30 s profile must not run. A second signal exits at once.
			limit := 12 * time.Second
			if len(tc.signals) == 2 {
				limit = 1500 * time.Millisecond
			}
			if el > limit {
				t.Fatalf("exited %v after the signal, want < %v", el, limit)
			}
		})
	}
}

// TestHelpAndEnvFlags: --help prints the usage once and exits 0; flags can
// come from LOADGATE_<NAME>, and the command line wins over them.
func TestHelpAndEnvFlags(t *testing.T) {
	r := run(t, "validate", "--help")
	r.expect(t, exitPassed)
	if n := strings.Count(r.stdout, "usage:"); n != 1 || r.stderr != "" {
		t.Fatalf("usage printed %d times on stdout (want once), stderr %q:\n%s", n, r.stderr, r.stdout)
	}
	tg := newTarget(t, nil)
	sc := scenario(t, tg.URL, shortLoad, "")
	cmd, rep, stdout, stderr := startCmd(t, "run", sc)
	cmd.Env = append(cmd.Env, "LOADGATE_RATE=20", "LOADGATE_QUIET=true")
	r = finish(t, cmd, cmd.Run(), rep, stdout, stderr)
	r.expect(t, exitPassed)
	if tg.hits.Load() != 20 || strings.Contains(r.stderr, "req/s") {
		t.Fatalf("LOADGATE_RATE=20 sent %d requests (want 20); quiet stderr: %q", tg.hits.Load(), r.stderr)
	}
	cmd, rep, stdout, stderr = startCmd(t, "run", sc, "--rate", "10")
	cmd.Env = append(cmd.Env, "LOADGATE_RATE=20")
	finish(t, cmd, cmd.Run(), rep, stdout, stderr).expect(t, exitPassed)
	if got := tg.hits.Load() - 20; got != 10 {
		t.Fatalf("--rate 10 over LOADGATE_RATE=20 sent %d, want 10", got)
	}
}
