package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Distributed mode end to end (docs/distributed.md; docs/reliability.md,
// The distributed control channel): the built binary as a coordinator and
// as agents on 127.0.0.2, .3, …, against loopback targets that count what
// they receive.

// tokenFile writes tok to a 0600 file and returns its path.
func tokenFile(t *testing.T, tok string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(p, []byte(tok+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// startAgents starts one plaintext agent per loopback IP with the shared
// test token and returns them with their addresses.
func startAgents(t *testing.T, ips []string, extra ...string) ([]*agentProc, []string) {
	t.Helper()
	tf := tokenFile(t, cliToken)
	var procs []*agentProc
	var addrs []string
	for _, ip := range ips {
		p := startAgentProc(t, nil, append([]string{"--listen", ip + ":0", "--token-file", tf}, extra...)...)
		procs = append(procs, p)
		addrs = append(addrs, listenAddr(t, p.waitLine(t, "listening on")))
	}
	return procs, addrs
}

// coordinate runs `loadgate run` over the agents with the test token.
func coordinate(t *testing.T, path string, agents []string, extra ...string) (*exec.Cmd, func() result) {
	t.Helper()
	args := append([]string{"run", path, "--agents", strings.Join(agents, ","), "--token-file", tokenFile(t, cliToken), "--quiet"}, extra...)
	cmd, rep, stdout, stderr := startCmd(t, args...)
	cmd.Env = agentEnv()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, func() result { return finish(t, cmd, cmd.Wait(), rep, stdout, stderr) }
}

func reportAgents(t *testing.T, r result) []map[string]any {
	t.Helper()
	raw, _ := r.report["agents"].([]any)
	out := make([]map[string]any, len(raw))
	for i, a := range raw {
		out[i] = a.(map[string]any)
	}
	return out
}

func requestCount(r result) float64 {
	return r.report["metrics"].(map[string]any)["http_reqs"].(map[string]any)["count"].(float64)
}

// TestDistributedMergedCounts: a coordinator and 3 agents produce one
// report whose request count is exactly what the target received, each
// agent having run its third of the schedule.
func TestDistributedMergedCounts(t *testing.T) {
	tg := newTarget(t, nil)
	_, agents := startAgents(t, []string{"127.0.0.2", "127.0.0.3", "127.0.0.4"})
	path := scenario(t, tg.URL, "  rate: 60\n  duration: 3s\n", "  http_req_failed: [\"rate < 1%\"]\n  http_reqs: [\"count == 180\"]\n")
	_, wait := coordinate(t, path, agents)
	r := wait()
	r.expect(t, exitPassed)
	if n := requestCount(r); n != float64(tg.hits.Load()) || n != 180 {
		t.Fatalf("report counts %v requests, the target received %d, the schedule has 180", n, tg.hits.Load())
	}
	as := reportAgents(t, r)
	if len(as) != 3 {
		t.Fatalf("agents in the report: %v", r.report["agents"])
	}
	for i, a := range as {
		if a["status"] != "complete" || a["segment"] != fmt.Sprintf("%d/3", i) || a["requests"] != float64(60) {
			t.Errorf("agent %d: %v", i, a)
		}
	}
	// The coordinator sent nothing: the clock and the process of the
	// report would be its own, not the generators' (docs/metrics.md).
	g := r.report["generator"].(map[string]any)
	for _, k := range []string{"wakeups", "wake_late_p99", "process"} {
		if v, ok := g[k]; ok {
			t.Errorf("generator.%s = %v in a distributed run's report", k, v)
		}
	}
}

// TestDistributedAgentKilled: SIGKILL of an agent mid-run makes the run
// inconclusive (exit 4), keeps what it sent, and shows its coverage; with
// --tolerate-agent-loss the same loss passes.
func TestDistributedAgentKilled(t *testing.T) {
	for _, tolerate := range []bool{false, true} {
		t.Run(fmt.Sprintf("tolerate=%v", tolerate), func(t *testing.T) {
			tg := newTarget(t, nil)
			procs, agents := startAgents(t, []string{"127.0.0.2", "127.0.0.3"})
			path := scenario(t, tg.URL, "  rate: 40\n  duration: 6s\n", "")
			var extra []string
			if tolerate {
				extra = append(extra, "--tolerate-agent-loss")
			}
			_, wait := coordinate(t, path, agents, extra...)
			procs[1].waitLine(t, "accepted")
			time.Sleep(2500 * time.Millisecond)
			procs[1].cmd.Process.Kill()
			r := wait()
			want := exitInconclusive
			if tolerate {
				want = exitPassed
			}
			r.expect(t, want)
			as := reportAgents(t, r)
			if len(as) != 2 || as[0]["status"] != "complete" || as[1]["status"] != "lost" {
				t.Fatalf("agents: %v", r.report["agents"])
			}
			lost := as[1]
			if lost["requests"].(float64) < 20 || lost["started"].(float64) >= lost["planned"].(float64) {
				t.Errorf("the lost agent's data: %v", lost)
			}
			if n := requestCount(r); n < 120+20 || n > float64(tg.hits.Load()) {
				t.Errorf("report has %v requests; the target received %d", n, tg.hits.Load())
			}
			if !strings.Contains(fmt.Sprint(r.report["reasons"]), "agent "+agents[1]) {
				t.Errorf("reasons %v do not name the lost agent", r.report["reasons"])
			}
		})
	}
}

// TestDistributedCoordinatorKilled: SIGKILL of the coordinator stops every
// agent's load within 10 s, and the agents take the next run.
func TestDistributedCoordinatorKilled(t *testing.T) {
	tg := newTarget(t, nil)
	procs, agents := startAgents(t, []string{"127.0.0.2", "127.0.0.3"})
	cmd, _ := coordinate(t, scenario(t, tg.URL, "  rate: 50\n  duration: 60s\n", ""), agents)
	procs[0].waitLine(t, "accepted")
	time.Sleep(2 * time.Second)
	cmd.Process.Kill()
	killed := time.Now()
	cmd.Wait()
	last, lastChange := tg.hits.Load(), time.Now()
	for time.Since(killed) < 12*time.Second {
		time.Sleep(100 * time.Millisecond)
		if n := tg.hits.Load(); n != last {
			last, lastChange = n, time.Now()
		}
	}
	if d := lastChange.Sub(killed); d > 10*time.Second {
		t.Fatalf("the target still received requests %v after the coordinator died", d)
	}
	t.Logf("arrivals stopped %v after SIGKILL of the coordinator", lastChange.Sub(killed).Round(time.Millisecond))
	_, wait := coordinate(t, scenario(t, tg.URL, shortLoad, ""), agents)
	wait().expect(t, exitPassed)
}

// TestDistributedRefusals: a wrong token, a target off the agent's
// allow-list and an unreachable agent each end in exit 3 with one reason
// per agent, and nothing reaches the target.
func TestDistributedRefusals(t *testing.T) {
	tg := newTarget(t, nil)
	_, open := startAgents(t, []string{"127.0.0.2"})
	_, strict := startAgents(t, []string{"127.0.0.3"}, "--allow-target", "127.0.0.9")
	path := scenario(t, tg.URL, shortLoad, "")
	cases := []struct {
		name   string
		agents []string
		token  string
		want   []string
	}{
		{"wrong token", open, strings.Repeat("x", 40), []string{"agent " + open[0] + ": refused (auth): wrong token"}},
		{"allow-list", append(append([]string{}, open...), strict...), cliToken, []string{"agent " + strict[0] + ": refused (target)", "allow-list"}},
		{"unreachable", []string{open[0], "127.0.0.5:1"}, cliToken, []string{"agent 127.0.0.5:1: cannot connect"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, "run", path, "--agents", strings.Join(tc.agents, ","), "--token-file", tokenFile(t, tc.token), "--quiet")
			r.expect(t, exitPreflightFailed)
			for _, w := range tc.want {
				if !strings.Contains(r.stderr, w) || !strings.Contains(fmt.Sprint(r.report["reasons"]), w) {
					t.Errorf("%q missing from stderr or reasons:\n%s\n%v", w, r.stderr, r.report["reasons"])
				}
			}
			if !strings.Contains(r.stderr, "nothing was sent") {
				t.Errorf("stderr does not say nothing was sent:\n%s", r.stderr)
			}
			if n := tg.hits.Load(); n != 0 {
				t.Fatalf("the target received %d requests", n)
			}
		})
	}
}

// TestDistributedRedirectDenied: an agent allowed one target follows its
// redirect to another only if that one is allowed too: the hop fails as
// "denied" and the second server receives nothing.
func TestDistributedRedirectDenied(t *testing.T) {
	other := newTarget(t, nil)
	first := newTarget(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/elsewhere", http.StatusFound)
	})
	_, agents := startAgents(t, []string{"127.0.0.2"}, "--allow-target", strings.TrimPrefix(first.URL, "http://"))
	r := run(t, "run", scenario(t, first.URL, shortLoad, ""), "--agents", agents[0], "--token-file", tokenFile(t, cliToken), "--quiet")
	r.expect(t, exitPassed)
	if n := other.hits.Load(); n != 0 {
		t.Fatalf("the redirect target off the allow-list received %d requests", n)
	}
	errs, _ := r.report["errors"].(map[string]any)
	if errs["denied"] != float64(first.hits.Load()) || first.hits.Load() == 0 {
		t.Fatalf("errors %v; the first target received %d", errs, first.hits.Load())
	}
}

// TestDistributedMutualTLS: agents with certificates from `loadgate certs`
// serve a coordinator holding the same CA's certificate, and refuse one
// from another CA before anything is sent.
func TestDistributedMutualTLS(t *testing.T) {
	good, rogue := t.TempDir(), t.TempDir()
	for _, dir := range []string{good, rogue} {
		run(t, "certs", "--out", dir, "--agent", "127.0.0.2", "--force").expect(t, exitPassed)
	}
	tg := newTarget(t, nil)
	in := func(dir, f string) string { return filepath.Join(dir, f) }
	_, agents := startAgents(t, []string{"127.0.0.2"},
		"--tls-cert", in(good, "agent.pem"), "--tls-key", in(good, "agent-key.pem"), "--client-ca", in(good, "ca.pem"))
	path := scenario(t, tg.URL, shortLoad, "")
	coord := func(dir string) result {
		_, wait := coordinate(t, path, agents, "--tls-ca", in(good, "ca.pem"), "--tls-cert", in(dir, "coordinator.pem"), "--tls-key", in(dir, "coordinator-key.pem"))
		return wait()
	}
	r := coord(rogue)
	r.expect(t, exitPreflightFailed)
	if !strings.Contains(r.stderr, "agent "+agents[0]) || tg.hits.Load() != 0 {
		t.Fatalf("a coordinator certificate from another CA: target hits %d\n%s", tg.hits.Load(), r.stderr)
	}
	coord(good).expect(t, exitPassed)
	if tg.hits.Load() != 50 {
		t.Fatalf("the target received %d requests, want 50", tg.hits.Load())
	}
}

// TestDistributedFlagErrors: misuses of the coordinator's flags exit 2
// before dialing anything.
func TestDistributedFlagErrors(t *testing.T) {
	path := scenario(t, "http://127.0.0.1:1", shortLoad, "")
	tf := tokenFile(t, cliToken)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--agents", "192.0.2.7:7070", "--token-file", tf}, "needs mutual TLS"},
		{[]string{"--agents", "127.0.0.2:7070"}, "needs the agents' token"},
		{[]string{"--agents", "127.0.0.2:7070", "--token-file", tokenFile(t, "short")}, "has 5 characters: a token needs at least 128 random bits"},
		{[]string{"--agents", "127.0.0.2:7070", "--token-file", tf, "--segment", "0/2"}, "do not mix"},
		{[]string{"--agents", "127.0.0.2", "--token-file", tf}, "not HOST:PORT"},
		{[]string{"--tolerate-agent-loss"}, "need --agents"},
		{[]string{"--agents", "127.0.0.2:7070", "--token-file", tf, "--tls-ca", tf}, "all of --tls-ca"},
	} {
		cmd := exec.Command(binary, append([]string{"run", path}, tc.args...)...)
		cmd.Env = agentEnv()
		out, _ := cmd.CombinedOutput()
		if code := cmd.ProcessState.ExitCode(); code != exitInvalid || !strings.Contains(string(out), tc.want) {
			t.Errorf("%v: exit %d, want 2 with %q:\n%s", tc.args, code, tc.want, out)
		}
	}
}

// TestDistributedAbortAndInterrupt: a threshold that aborts and a Ctrl-C
// stop every agent's load; the reports carry the verdict (exit 1, aborted)
// or the interruption (exit 130, partial), with every agent complete.
func TestDistributedAbortAndInterrupt(t *testing.T) {
	for _, tc := range []struct {
		name       string
		handler    http.HandlerFunc
		thresholds string
		signal     bool
		want       int
	}{
		{"abort", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusInternalServerError) },
			"  http_req_failed:\n    - { expr: \"rate < 10%\", abort_on_fail: true, delay: 1s }\n", false, exitFailed},
		{"interrupt", nil, "", true, exitInterrupted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tg := newTarget(t, tc.handler)
			procs, agents := startAgents(t, []string{"127.0.0.2", "127.0.0.3"})
			began := time.Now()
			cmd, wait := coordinate(t, scenario(t, tg.URL, "  rate: 40\n  duration: 30s\n", tc.thresholds), agents)
			if tc.signal {
				procs[0].waitLine(t, "accepted")
				time.Sleep(2 * time.Second)
				cmd.Process.Signal(syscall.SIGINT)
			}
			r := wait()
			r.expect(t, tc.want)
			hits := tg.hits.Load()
			if took := time.Since(began); took > 15*time.Second {
				t.Fatalf("the run took %v of its 30 s", took)
			}
			if tc.want == exitFailed && r.report["aborted"] != true {
				t.Errorf("aborted = %v", r.report["aborted"])
			}
			if tc.want == exitInterrupted && r.report["partial"] != true {
				t.Errorf("partial = %v", r.report["partial"])
			}
			for _, a := range reportAgents(t, r) {
				if a["status"] != "complete" {
					t.Errorf("agent %v", a)
				}
			}
			if n := requestCount(r); n != float64(hits) {
				t.Errorf("report %v requests, target %d", n, hits)
			}
			time.Sleep(1500 * time.Millisecond)
			if n := tg.hits.Load(); n != hits {
				t.Errorf("the target received %d more requests after the coordinator exited", n-hits)
			}
		})
	}
}

// TestDistributedInterruptDuringHandshake: Ctrl-C while an agent has not
// answered yet ends the run at once with 130; nothing was sent.
func TestDistributedInterruptDuringHandshake(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.6:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan struct{}, 1)
	go func() { // accepts and never answers
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
			select {
			case accepted <- struct{}{}:
			default:
			}
		}
	}()
	tg := newTarget(t, nil)
	cmd, wait := coordinate(t, scenario(t, tg.URL, shortLoad, ""), []string{ln.Addr().String()})
	// The coordinator dialled the agent: it is in its handshake, with its
	// signal handler installed (before any dial).
	select {
	case <-accepted:
	case <-time.After(30 * time.Second):
		t.Fatal("the coordinator never dialled the agent")
	}
	began := time.Now()
	cmd.Process.Signal(syscall.SIGINT)
	r := wait()
	r.expect(t, exitInterrupted)
	if d := time.Since(began); d > 2*time.Second || tg.hits.Load() != 0 {
		t.Fatalf("exited %v after SIGINT; the target received %d requests", d, tg.hits.Load())
	}
}

// TestDistributedEveryAgentLost: --tolerate-agent-loss tolerates losing
// some agents, never all of them: the run is inconclusive.
func TestDistributedEveryAgentLost(t *testing.T) {
	tg := newTarget(t, nil)
	procs, agents := startAgents(t, []string{"127.0.0.2"})
	_, wait := coordinate(t, scenario(t, tg.URL, "  rate: 40\n  duration: 6s\n", ""), agents, "--tolerate-agent-loss")
	procs[0].waitLine(t, "accepted")
	time.Sleep(2 * time.Second)
	procs[0].cmd.Process.Kill()
	r := wait()
	r.expect(t, exitInconclusive)
	if !strings.Contains(fmt.Sprint(r.report["reasons"]), "every one of the 1 agents was lost") {
		t.Errorf("reasons %v", r.report["reasons"])
	}
}
