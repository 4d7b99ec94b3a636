package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/loadgate/loadgate/internal/faults"
)

// The failure table of docs/reliability.md through the built binary, against
// internal/faults on loopback: exit code, report status and contents,
// bounded waiting and bounded memory (the child's peak RSS).

// faultScenario writes a one-step scenario getting url+path, with extra
// top-level YAML appended.
func faultScenario(t *testing.T, url, path, load, extra string) string {
	t.Helper()
	if !strings.Contains(extra, "generator:") {
		extra = looseGenerator + extra
	}
	body := fmt.Sprintf("name: fault\nbase_url: %s\nload:\n%s\nflows:\n  - name: f\n    steps:\n      - name: s\n        get: %s\n%s", url, load, path, extra)
	p := filepath.Join(t.TempDir(), "fault.yaml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func newFaults(t *testing.T) *faults.Server {
	t.Helper()
	srv, err := faults.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

// rssWatch follows a child's peak resident set: VmHWM of its
// /proc/PID/status, read every few milliseconds until it exits. Not the
// child's wait4 rusage: Go starts children with vfork (CLONE_VM), so at
// exec the kernel records the parent's high-water mark as the child's
// ru_maxrss, and a test process of 200 MiB (a full -race run of this
// package) made every child look at least that big.
type rssWatch struct {
	done chan struct{}
	over chan struct{}
	peak atomic.Int64
}

// watchRSS starts following the started cmd.
func watchRSS(cmd *exec.Cmd) *rssWatch {
	w := &rssWatch{done: make(chan struct{}), over: make(chan struct{})}
	path := fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)
	go func() {
		defer close(w.over)
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			if kb := vmHWM(path); kb<<10 > w.peak.Load() {
				w.peak.Store(kb << 10)
			}
			select {
			case <-w.done:
				return
			case <-tick.C:
			}
		}
	}()
	return w
}

// stop ends the watch (once the child was waited for) and returns its peak
// resident set in bytes.
func (w *rssWatch) stop() int64 {
	close(w.done)
	<-w.over
	return w.peak.Load()
}

// vmHWM is the VmHWM line of a /proc/PID/status in KiB; 0 when the process
// is gone (or a zombie, which has no memory lines).
func vmHWM(path string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb
		}
	}
	return 0
}

// runWatched runs cmd (not started yet) to its end and returns the
// child's peak resident set in bytes and Run's error.
func runWatched(cmd *exec.Cmd) (int64, error) {
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	w := watchRSS(cmd)
	err := cmd.Wait()
	return w.stop(), err
}

func errorsOf(r result) map[string]any {
	m, _ := r.report["errors"].(map[string]any)
	return m
}

// TestFaultsThroughBinary: each fault ends with the right exit code, a
// complete (not partial) report naming the error class, on time, in
// bounded memory (loosely: the race pass runs a -race binary, several times
// larger; TestHugeBodiesThroughBinaryNoRace holds the plain binary to the
// figure docs/reliability.md gives).
func TestFaultsThroughBinary(t *testing.T) {
	failRate := "thresholds:\n  http_req_failed: [\"rate < 1%\"]\n"
	for _, tc := range []struct {
		name    string
		path    string
		load    string
		extra   string
		setup   func(srv *faults.Server)
		code    int
		class   string        // an errors key that must be > 0; "" for none
		maxTime time.Duration // wall time of the whole process
	}{
		{"row 2 crash mid-run", "/delay/5ms", "  rate: 50\n  duration: 1500ms\n", failRate,
			func(srv *faults.Server) { time.AfterFunc(700*time.Millisecond, srv.Crash) }, exitFailed, "refused", 5 * time.Second},
		{"row 6 hang", "/hang", "  rate: 20\n  duration: 1s\n", "defaults: { timeout: 300ms }\n" + failRate,
			nil, exitFailed, "timeout", 5 * time.Second},
		{"row 7 drip", "/drip/1000/20ms", "  rate: 20\n  duration: 1s\n", "defaults: { timeout: 300ms }\n" + failRate,
			nil, exitFailed, "timeout", 5 * time.Second},
		{"row 5 reset mid-body", "/reset", "  rate: 20\n  duration: 500ms\n", failRate, nil, exitFailed, "reset", 5 * time.Second},
		{"row 5 truncated", "/short", "  rate: 20\n  duration: 500ms\n", failRate, nil, exitFailed, "truncated", 5 * time.Second},
		{"row 8 huge headers", "/huge-headers/100000", "  rate: 20\n  duration: 500ms\n", failRate, nil, exitFailed, "header_too_large", 5 * time.Second},
		{"row 9 5xx storm", "/status/503", "  rate: 20\n  duration: 500ms\n", failRate, nil, exitFailed, "5xx", 5 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newFaults(t)
			sc := faultScenario(t, srv.URL, tc.path, tc.load, tc.extra)
			cmd, rep, stdout, stderr := startCmd(t, "run", sc, "--quiet")
			if tc.setup != nil {
				tc.setup(srv)
			}
			start := time.Now()
			rss, err := runWatched(cmd)
			r := finish(t, cmd, err, rep, stdout, stderr)
			el := time.Since(start)
			r.expect(t, tc.code)
			if r.report["partial"] != false {
				t.Fatalf("report partial = %v", r.report["partial"])
			}
			if tc.class != "" {
				if n, _ := errorsOf(r)[tc.class].(float64); n == 0 {
					t.Fatalf("errors %v: no %s", errorsOf(r), tc.class)
				}
			}
			t.Logf("%v, peak RSS %d MiB, errors %v", el.Round(time.Millisecond), rss>>20, errorsOf(r))
			if el > tc.maxTime {
				t.Fatalf("took %v, want < %v", el, tc.maxTime)
			}
			if rss > 150<<20 {
				t.Fatalf("peak RSS %d MiB", rss>>20)
			}
		})
	}
}

// hugeBodyMargin is how much more than a tiny run of the same binary (a
// small body at the same rate) a run may hold at its peak while it
// receives 4 × 256 MiB bodies or gzip bombs: a few buffers, far below one
// body (docs/reliability.md row 8). Relative, so that a larger binary (its
// file-backed pages count in RSS) does not move the bar.
const hugeBodyMargin = 8 << 20

// TestHugeBodiesThroughBinaryNoRace (docs/reliability.md, row 8): 4 bodies
// of 256 MiB, and gzip bombs, pass through the built binary in the memory of
// a tiny run: bodies are counted and dropped, never buffered or inflated. A
// memory test: it runs in make test's pass without -race.
func TestHugeBodiesThroughBinaryNoRace(t *testing.T) {
	if raceEnabled {
		t.Skip("peak RSS of a -race binary says nothing; make test runs this without -race")
	}
	run := func(t *testing.T, path, load string) (map[string]any, int64) {
		srv := newFaults(t)
		// Loose generator tolerances: a busy machine must not make
		// this memory test inconclusive.
		sc := faultScenario(t, srv.URL, path, load, "generator: { max_schedule_lag_p99: 5s, min_achieved_ratio: 0.5 }\nthresholds:\n  http_req_failed: [\"rate < 1%\"]\n")
		cmd, rep, stdout, stderr := startCmd(t, "run", sc, "--quiet")
		rss, err := runWatched(cmd)
		r := finish(t, cmd, err, rep, stdout, stderr)
		r.expect(t, exitPassed)
		return r.report, rss
	}
	for _, tc := range []struct {
		name, path, load string
		minRecv          float64 // bytes of data_received
	}{
		{"huge body", "/huge/268435456", "  rate: 4\n  duration: 1s\n", 4 << 28},
		{"gzip bomb", "/gzip-bomb", "  rate: 20\n  duration: 1s\n", 20 << 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, tiny := run(t, "/ok", tc.load)
			rep, rss := run(t, tc.path, tc.load)
			recv, _ := rep["metrics"].(map[string]any)["data_received"].(map[string]any)["count"].(float64)
			t.Logf("data_received %.0f MiB, peak RSS %d MiB (a tiny run: %d MiB)", recv/(1<<20), rss>>20, tiny>>20)
			if recv < tc.minRecv {
				t.Fatalf("data_received %.0f bytes, want ≥ %.0f", recv, tc.minRecv)
			}
			if tiny == 0 || rss > tiny+hugeBodyMargin {
				t.Fatalf("peak RSS %d MiB, want ≤ %d MiB (a tiny run's %d MiB + %d MiB)", rss>>20, (tiny+hugeBodyMargin)>>20, tiny>>20, hugeBodyMargin>>20)
			}
		})
	}
}

// TestTLSPreflightThroughBinary (row 4): a self-signed target fails the
// preflight (exit 3) naming the target and the class; nothing is sent.
func TestTLSPreflightThroughBinary(t *testing.T) {
	srv, _, err := faults.NewTLS(faults.SelfSigned)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	r := run(t, "run", faultScenario(t, srv.URL, "/ok", shortLoad, ""), "--quiet")
	r.expect(t, exitPreflightFailed)
	if !strings.Contains(r.stderr, strings.TrimPrefix(srv.URL, "https://")) || !strings.Contains(r.stderr, "tls") {
		t.Fatalf("stderr does not name the target and class:\n%s", r.stderr)
	}
	if srv.Requests() != 0 {
		t.Fatalf("%d requests sent", srv.Requests())
	}
}

// TestFDLimitPreflight (row 11): a hard open-files limit below
// max_in_flight fails the preflight with a hint; nothing is sent.
func TestFDLimitPreflight(t *testing.T) {
	srv := newFaults(t)
	sc := faultScenario(t, srv.URL, "/ok", "  rate: 10\n  duration: 1s\n  max_in_flight: 1000\n", "")
	rep := filepath.Join(t.TempDir(), "r.json")
	cmd := exec.Command("bash", "-c", `ulimit -n 256 && exec "$0" "$@"`, binary, "run", sc, "--quiet", "-o", "json="+rep)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Run()
	r := result{code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String()}
	r.expect(t, exitPreflightFailed)
	if !strings.Contains(r.stderr, "RLIMIT_NOFILE") || !strings.Contains(r.stderr, "max_in_flight") {
		t.Fatalf("no hint on stderr:\n%s", r.stderr)
	}
	if srv.Requests() != 0 {
		t.Fatalf("%d requests sent", srv.Requests())
	}
}

// TestGeneratorBlock (row 13): the generator block sets the tolerances. A
// generator that starts its arrivals up to 20 ms late (its clock's slack)
// is inconclusive under a 1 ms tolerance, and passes when the scenario
// accepts 1 s (which also covers a loaded test machine).
func TestGeneratorBlock(t *testing.T) {
	srv := newFaults(t)
	run(t, "run", generatorLate(t, srv.URL, "1s", "generator: { max_schedule_lag_p99: 1ms }\n"), "--quiet").expect(t, exitInconclusive)
	run(t, "run", generatorLate(t, srv.URL, "1s", "generator: { max_schedule_lag_p99: 1s }\n"), "--quiet").expect(t, exitPassed)
}

// TestLiveGeneratorWarning (row 13): the console warns while the run goes
// on, not only at the end, as soon as the generator falls behind.
func TestLiveGeneratorWarning(t *testing.T) {
	srv := newFaults(t)
	// Arrivals start up to 20 ms late (the clock's slack) against a 1 ms
	// tolerance: the warning must come with the first snapshots (by 3 s),
	// well before the end of the 4 s run.
	sc := generatorLate(t, srv.URL, "4s", "generator: { max_schedule_lag_p99: 1ms }\n")
	cmd, rep, stdout, _ := startCmd(t, "run", sc, "--quiet")
	cmd.Stderr = nil
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var warnAt time.Duration
	var lines []string
	sc2 := bufio.NewScanner(pipe)
	for sc2.Scan() {
		lines = append(lines, sc2.Text())
		if warnAt == 0 && strings.Contains(sc2.Text(), "loadgate: warning") && strings.Contains(sc2.Text(), "fell behind") {
			warnAt = time.Since(start)
		}
	}
	r := finish(t, cmd, cmd.Wait(), rep, stdout, &bytes.Buffer{})
	el := time.Since(start)
	r.expect(t, exitInconclusive)
	if warnAt == 0 || warnAt > 3*time.Second || warnAt > el-time.Second {
		t.Fatalf("warning at %v of %v (want by 3 s, well before the end); stderr:\n%s", warnAt, el, strings.Join(lines, "\n"))
	}
}

// TestBrokenStdout (row 31): a reader that goes away (| head) must not
// change the exit code or the reports: the end summary's write fails with
// EPIPE, not a SIGPIPE death.
func TestBrokenStdout(t *testing.T) {
	srv := newFaults(t)
	sc := faultScenario(t, srv.URL, "/ok", shortLoad, "thresholds:\n  http_req_failed: [\"rate < 1%\"]\n")
	cmd, rep, _, stderr := startCmd(t, "run", sc, "-o", "text=-")
	rd, wr, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	rd.Close() // the reader is gone before the first byte
	cmd.Stdout = wr
	err = cmd.Run()
	wr.Close()
	r := finish(t, cmd, err, rep, &bytes.Buffer{}, stderr)
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		t.Fatalf("killed by %v", ws.Signal())
	}
	r.expect(t, exitPassed)
	if r.report == nil || r.report["partial"] != false {
		t.Fatalf("json report missing or partial: %v", r.report["partial"])
	}
}

// TestHugePlanStartsAtOnceNoRace (row 24): 1e9 planned arrivals (1000/s for
// 10^6 s) start at once in bounded memory: nothing is allocated in
// proportion to the plan. SIGINT ends it once the target saw 1000
// requests. A memory test: the plain binary, in make test's pass without
// -race.
func TestHugePlanStartsAtOnceNoRace(t *testing.T) {
	if raceEnabled {
		t.Skip("peak RSS of a -race binary says nothing; make test runs this without -race")
	}
	srv := newFaults(t)
	sc := faultScenario(t, srv.URL, "/ok", "  rate: 1000\n  duration: 1000000s\n", "")
	cmd, rep, stdout, stderr := startCmd(t, "run", sc, "--quiet")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	rssw := watchRSS(cmd)
	for deadline := time.Now().Add(10 * time.Second); srv.Requests() < 1000; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the target saw %d requests in 10 s: the run did not start at once", srv.Requests())
		}
	}
	cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	rss := rssw.stop()
	r := finish(t, cmd, err, rep, stdout, stderr)
	r.expect(t, exitInterrupted)
	gen := r.report["generator"].(map[string]any)
	if gen["planned_total"] != float64(1e9) {
		t.Fatalf("planned_total %v, want 1e9", gen["planned_total"])
	}
	if started, _ := gen["started"].(float64); started < 1000 {
		t.Fatalf("started %v, target saw %d", started, srv.Requests())
	}
	if rss > 100<<20 {
		t.Fatalf("peak RSS %d MiB for a 1e9-arrival plan", rss>>20)
	}
}
