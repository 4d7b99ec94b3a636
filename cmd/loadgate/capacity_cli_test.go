package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/loadgate/loadgate/internal/testtool"
)

// capacityScenario is a search of the built-in target's /queue/4/10ms (a
// service of capacity ~400/s) with p(99) < limit, short steps, and the
// given search keys and extra load keys.
func capacityScenario(t *testing.T, addr, search, load, limit string) string {
	t.Helper()
	doc := fmt.Sprintf(`name: capacity
base_url: http://%s
load:
  interval: 250ms
  search: { warmup: 250ms, step: 1s, %s }
%s
flows:
  - name: q
    steps: [ { name: q, get: /queue/4/10ms } ]
thresholds:
  http_req_duration: [ "p(99) < %s" ]
`, addr, search, load, limit)
	p := filepath.Join(t.TempDir(), "capacity.yaml")
	if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// capacityRun runs loadgate capacity with a JSON and a JUnit report and
// returns the result and the report's capacity section.
func capacityRun(t *testing.T, args ...string) (result, map[string]any, string) {
	t.Helper()
	dir := t.TempDir()
	rep, junit := filepath.Join(dir, "report.json"), filepath.Join(dir, "report.xml")
	cmd, _, stdout, stderr := startCmd(t, append(append([]string{"capacity"}, args...), "-o", "json="+rep, "-o", "junit="+junit)...)
	r := finish(t, cmd, cmd.Run(), rep, stdout, stderr)
	if r.report == nil {
		t.Fatalf("no report; exit %d\n%s", r.code, r.stderr)
	}
	validateReport(t, rep)
	c, _ := r.report["capacity"].(map[string]any)
	if c == nil {
		t.Fatalf("report without a capacity section:\n%s", r.stdout)
	}
	return r, c, junit
}

func stepsOf(c map[string]any) []map[string]any {
	var out []map[string]any
	for _, s := range c["steps"].([]any) {
		out = append(out, s.(map[string]any))
	}
	return out
}

// TestCapacitySearch: loadgate capacity finds the knee of a 4 × 10 ms
// service (capacity 400/s, a little under with real timers) within its
// precision, doubling then bisecting; the report passes the schema, its
// text shows the step table and the answer, and the JUnit file has a case
// per step and validates.
func TestCapacitySearch(t *testing.T) {
	addr := startTarget(t)
	r, c, junit := capacityRun(t, capacityScenario(t, addr, "from: 100, max: 1600, precision: 10%", "", "50ms"))
	r.expect(t, exitPassed)
	capacity, _ := c["capacity"].(float64)
	first, _ := c["first_failing"].(float64)
	if capacity < 250 || capacity > 440 || first <= capacity || first > capacity*1.1+1 || c["at_least"] != false {
		t.Fatalf("capacity %v, first failing %v: want the knee near 400/s bracketed within 10%%\n%s", capacity, first, r.stdout)
	}
	steps := stepsOf(c)
	if len(steps) < 4 || steps[0]["rate"] != float64(100) || steps[1]["rate"] != float64(200) {
		t.Fatalf("steps %v: want doubling from 100/s", steps)
	}
	for _, want := range []string{"capacity search: 100/s .. 1600/s", "STEP", "ACHIEVED", "CAPACITY: ", "STATUS: PASSED"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("text lacks %q:\n%s", want, r.stdout)
		}
	}
	b, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), `classname="loadgate.capacity"`); n != len(steps) {
		t.Errorf("junit has %d capacity cases, want one per step (%d):\n%s", n, len(steps), b)
	}
	t.Run("xsd", func(t *testing.T) {
		xmllint := testtool.Need(t, "xmllint", "libxml2-utils")
		if out, err := exec.Command(xmllint, "--noout", "--nonet", "--schema", "../../report/testdata/JUnit.xsd", junit).CombinedOutput(); err != nil {
			t.Errorf("junit does not validate: %v\n%s", err, out)
		}
	})
}

// TestCapacityGate: a requirement met stops the search as soon as a step
// at or above it passes (exit 0); one the service cannot hold fails as soon
// as a step at or below it fails (exit 1), with a failed JUnit case; a
// generator that cannot hold the rates (a clock coarser than the
// arrivals: slack 100ms) answers "at least", exit 4; a budget stops the
// search before a step that would end past it (exit 4); --segment and --rate
// on a search are refused.
func TestCapacityGate(t *testing.T) {
	addr := startTarget(t)
	t.Run("met", func(t *testing.T) {
		r, c, _ := capacityRun(t, capacityScenario(t, addr, "from: 100, max: 1600, require: { min_rate: 150 }", "", "50ms"))
		r.expect(t, exitPassed)
		if steps := stepsOf(c); len(steps) != 2 || c["requirement"].(map[string]any)["met"] != true {
			t.Fatalf("%d steps, requirement %v: want met after 100/s and 200/s", len(steps), c["requirement"])
		}
	})
	t.Run("missed", func(t *testing.T) {
		r, c, junit := capacityRun(t, capacityScenario(t, addr, "from: 100, max: 1600", "", "50ms"), "--min-rate", "1000")
		r.expect(t, exitFailed)
		steps := stepsOf(c)
		if last := steps[len(steps)-1]; last["verdict"] != "fail" || last["rate"].(float64) > 1000 || c["requirement"].(map[string]any)["met"] != false {
			t.Fatalf("steps %v, requirement %v: want a failure at or below 1000/s", steps, c["requirement"])
		}
		if b, _ := os.ReadFile(junit); !strings.Contains(string(b), `name="capacity &gt;= 1000/s"`) || !strings.Contains(string(b), `type="capacity"`) {
			t.Errorf("junit lacks the failed requirement:\n%s", b)
		}
	})
	t.Run("generator-limited", func(t *testing.T) {
		r, c, _ := capacityRun(t, capacityScenario(t, addr, "from: 4, max: 1600", "  slack: 100ms", "900ms"))
		r.expect(t, exitInconclusive)
		if c["at_least"] != true || c["limited_at"] == nil || !strings.Contains(r.stdout, "limited by the generator") {
			t.Fatalf("capacity %v: want at least, limited by the generator\n%s", c, r.stdout)
		}
	})
	t.Run("budget", func(t *testing.T) {
		// Steps of 1.25 s in a 3 s budget: two run (one on a machine so
		// slow that a step takes over 1.75 s), the third is not started,
		// and the search says where it got to.
		r, c, _ := capacityRun(t, capacityScenario(t, addr, "from: 100, max: 1600", "", "50ms"), "--budget", "3s")
		r.expect(t, exitInconclusive)
		if n := len(stepsOf(c)); n < 1 || n > 2 || !strings.Contains(fmt.Sprint(c["ended"]), "budget of 3s is spent") || c["at_least"] != true {
			t.Fatalf("%d steps, ended %q: want 2 steps and the budget spent", n, c["ended"])
		}
	})
	t.Run("bad search flags", func(t *testing.T) {
		tg := newTarget(t, nil)
		plain := scenario(t, tg.URL, shortLoad, "  http_req_failed: [\"rate < 1%\"]\n")
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{plain}, "has no load.search: give --from and --max"},
			{[]string{plain, "--from", "10", "--max", "100", "--precision", "150%"}, "--precision: want a share between 0% and 100%"},
			{[]string{plain, "--from", "100", "--max", "10"}, "max (10) must be at least from (100)"},
			{[]string{plain, "--from", "10", "--max", "100", "--min-rate", "500"}, "min_rate (500) must be within 0..max (100)"},
			{[]string{plain, "--from", "10", "--max", "100", "--step", "2s", "--budget", "1s"}, "shorter than one step"},
		} {
			r := run(t, append([]string{"capacity"}, tc.args...)...)
			if r.code != exitInvalid || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("capacity %v: exit %d, stderr %q; want 2 and %q", tc.args[1:], r.code, r.stderr, tc.want)
			}
		}
		if n := tg.hits.Load(); n != 0 {
			t.Errorf("bad flags sent %d requests", n)
		}
	})
	t.Run("--segment on a search", func(t *testing.T) {
		r := run(t, "capacity", capacityScenario(t, addr, "from: 100, max: 1600", "", "50ms"), "--segment", "0/2")
		r.expect(t, exitInvalid)
		if !strings.Contains(r.stderr, "cannot be split into shards") {
			t.Fatalf("stderr: %s", r.stderr)
		}
	})
	t.Run("--rate on a search", func(t *testing.T) {
		r := run(t, "run", capacityScenario(t, addr, "from: 100, max: 1600", "", "50ms"), "--rate", "10")
		r.expect(t, exitInvalid)
		if !strings.Contains(r.stderr, "a capacity search chooses its own rates") {
			t.Fatalf("stderr: %s", r.stderr)
		}
	})
}

// TestCapacityInterrupted: SIGINT during a step stops the search at once:
// exit 130, and the report holds the steps so far, marked partial.
func TestCapacityInterrupted(t *testing.T) {
	addr := startTarget(t)
	rep := filepath.Join(t.TempDir(), "report.json")
	cmd := exec.Command(binary, "capacity", capacityScenario(t, addr, "from: 50, max: 1600", "", "50ms"), "--step", "30s", "-o", "json="+rep)
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	errp, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait for the first step (30 s long) to start, then cut it.
	sc := bufio.NewScanner(errp)
	var seen []string
	for sc.Scan() {
		seen = append(seen, sc.Text())
		if strings.HasPrefix(sc.Text(), "loadgate: step 1: 50/s for") {
			break
		}
	}
	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	go func() {
		for sc.Scan() {
		}
	}()
	_ = cmd.Wait()
	if el := time.Since(start); el > 10*time.Second {
		t.Errorf("exited %v after SIGINT", el)
	}
	if code := cmd.ProcessState.ExitCode(); code != exitInterrupted {
		t.Fatalf("exit %d, want 130; stderr so far: %s", code, strings.Join(seen, "\n"))
	}
	b, err := os.ReadFile(rep)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	validateReport(t, rep)
	c, _ := doc["capacity"].(map[string]any)
	if doc["partial"] != true || doc["status"] != "interrupted" || c == nil || len(stepsOf(c)) != 1 {
		t.Fatalf("report: partial %v, status %v, capacity %v: want the interrupted step kept", doc["partial"], doc["status"], c)
	}
}

// TestCapacityDistributed: the same search through two loopback agents
// (each step's rate split between them, one verdict per step on their
// merged data) finds the knee of the same service within the precision of
// a local search, and the report lists both agents.
func TestCapacityDistributed(t *testing.T) {
	addr := startTarget(t)
	path := capacityScenario(t, addr, "from: 100, max: 1600, precision: 10%", "", "50ms")
	_, agents := startAgents(t, []string{"127.0.0.2", "127.0.0.3"})
	_, wait := coordinate(t, path, agents)
	r := wait()
	r.expect(t, exitPassed)
	c, _ := r.report["capacity"].(map[string]any)
	if c == nil {
		t.Fatalf("no capacity section:\n%s", r.stdout)
	}
	capacity, _ := c["capacity"].(float64)
	first, _ := c["first_failing"].(float64)
	if capacity < 250 || capacity > 440 || first <= capacity {
		t.Fatalf("distributed capacity %v (first failing %v), want the knee near 400/s bracketed", capacity, first)
	}
	if as := reportAgents(t, r); len(as) != 2 {
		t.Fatalf("agents: %v", r.report["agents"])
	}
}
