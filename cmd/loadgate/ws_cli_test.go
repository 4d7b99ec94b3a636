package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// wsScenario writes a scenario of one WebSocket step (ws, the body of its
// ws: block) against the built-in target at addr, 20 sessions a second for
// 1 s, with the given thresholds.
func wsScenario(t *testing.T, addr, ws, thresholds string) string {
	t.Helper()
	body := fmt.Sprintf("name: ws-cli\nbase_url: http://%s\n%sload: { rate: 20, duration: 1s }\nflows:\n  - name: f\n    steps:\n      - name: s\n        ws:\n%s", addr, looseGenerator, ws)
	if thresholds != "" {
		body += "thresholds:\n" + thresholds
	}
	p := filepath.Join(t.TempDir(), "ws.yaml")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func metric(t *testing.T, r result, name string) map[string]any {
	t.Helper()
	m, ok := r.report["metrics"].(map[string]any)[name].(map[string]any)
	if !ok {
		t.Fatalf("no %s in the report: %v", name, r.report["metrics"])
	}
	return m
}

// TestWSHealthy: WebSocket sessions against the built-in target's echo
// pass their gates (exit 0), and the report has the ws_ metrics.
func TestWSHealthy(t *testing.T) {
	addr := startTarget(t)
	r := run(t, "run", wsScenario(t, addr, `          connect: /ws/echo
          send: { json: { n: "{{ iteration }}" } }
          expect: { json: { path: $.n, exists: true }, within: 1s }
`, "  ws_msg_duration: [ \"p(95) < 500ms\" ]\n  ws_msg_failed: [ \"rate < 1%\" ]\n  ws_sessions: [ \"count >= 20\" ]\n"))
	r.expect(t, exitPassed)
	if n := metric(t, r, "ws_sessions")["count"]; n != float64(20) {
		t.Fatalf("ws_sessions %v, want 20", n)
	}
	if n := metric(t, r, "ws_msgs_received")["count"]; n != float64(20) {
		t.Fatalf("ws_msgs_received %v, want 20", n)
	}
	for _, name := range []string{"ws_connect_duration", "ws_msg_duration", "ws_msg_service_time", "ws_session_duration"} {
		if c := metric(t, r, name)["count"]; c != float64(20) {
			t.Fatalf("%s count %v, want 20", name, c)
		}
	}
	if _, ok := r.report["metrics"].(map[string]any)["http_reqs"]; ok {
		t.Fatal("an HTTP metric in the report of a WebSocket plan")
	}
}

// TestWSLateReplyBreachesThreshold: the target answers each message 300 ms
// late; the ws_msg_duration gate at 100 ms fails (exit 1), though every
// reply came (within 2 s) and nothing failed.
func TestWSLateReplyBreachesThreshold(t *testing.T) {
	addr := startTarget(t)
	r := run(t, "run", wsScenario(t, addr, `          connect: /ws/echo?delay=300ms
          send: hello
          expect: { body_contains: hello, within: 2s }
`, "  ws_msg_duration: [ \"p(95) < 100ms\" ]\n  ws_msg_failed: [ \"rate < 1%\" ]\n"))
	r.expect(t, exitFailed)
	var failed []string
	for _, x := range r.report["thresholds"].([]any) {
		th := x.(map[string]any)
		if th["passed"] == false {
			failed = append(failed, th["metric"].(string))
			if th["observed"].(float64) < 300 {
				t.Fatalf("observed %v ms, want at least the 300 ms delay", th["observed"])
			}
		}
	}
	if fmt.Sprint(failed) != "[ws_msg_duration]" {
		t.Fatalf("failed thresholds %v, want ws_msg_duration alone", failed)
	}
	if e := r.report["errors"]; e != nil && len(e.(map[string]any)) > 0 {
		t.Fatalf("errors %v: a late reply within its deadline is not an error", e)
	}
}

// TestWSServerCloses: the target closes every session 100 ms after it
// opened, while the step waits for a message that never comes: each
// session counts as ws_closed in the report's errors, and the failure
// rates break their gates (exit 1).
func TestWSServerCloses(t *testing.T) {
	addr := startTarget(t)
	r := run(t, "run", wsScenario(t, addr, `          connect: /ws/echo?close=100ms
          send: hello
          expect: { body_contains: never, within: 3s }
`, "  ws_session_failed: [ \"rate < 1%\" ]\n  ws_msg_failed: [ \"rate < 1%\" ]\n"))
	r.expect(t, exitFailed)
	errs, _ := r.report["errors"].(map[string]any)
	if got := errs["ws_closed"]; got != float64(20) || len(errs) != 1 {
		t.Fatalf("errors %v, want ws_closed: 20", errs)
	}
	sample := r.report["error_samples"].(map[string]any)["ws_closed"].(string)
	if !strings.Contains(sample, "peer closed the session") || !strings.Contains(sample, "close=100ms") {
		t.Fatalf("ws_closed sample %q", sample)
	}
	if f := metric(t, r, "ws_session_failed"); f["rate"] != 1.0 {
		t.Fatalf("ws_session_failed %v", f)
	}
}

// TestWSHandshakeRefused: an upgrade answered 403 is ws_handshake.
func TestWSHandshakeRefused(t *testing.T) {
	addr := startTarget(t)
	r := run(t, "run", wsScenario(t, addr, "          connect: /ws/feed?status=403\n", "  ws_session_failed: [ \"rate < 1%\" ]\n"))
	r.expect(t, exitFailed)
	if got := r.report["errors"].(map[string]any)["ws_handshake"]; got != float64(20) {
		t.Fatalf("errors %v", r.report["errors"])
	}
}

// TestWSInvalidAndUnreachable: mistakes in ws: blocks are exit 2 with
// file:line:col, and nothing is sent; an unreachable WebSocket target
// fails the preflight (exit 3).
func TestWSInvalidAndUnreachable(t *testing.T) {
	r := run(t, "validate", "../../scenarios/testdata/invalid/ws_steps.yaml")
	r.expect(t, exitInvalid)
	if !strings.Contains(r.stderr, "ws_steps.yaml:9:13: missing key \"connect\"") {
		t.Fatalf("stderr:\n%s", r.stderr)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	r = run(t, "run", wsScenario(t, addr, "          connect: /ws/echo\n", ""))
	r.expect(t, exitPreflightFailed)
	if !strings.Contains(r.stderr, addr) || !strings.Contains(r.stderr, "refused") {
		t.Fatalf("stderr does not name the target and cause:\n%s", r.stderr)
	}
}

// TestWebSocketExampleRuns runs examples/websocket.yaml, shortened, against
// the built-in target: its gates pass.
func TestWebSocketExampleRuns(t *testing.T) {
	base := "http://" + startTarget(t)
	r := run(t, "run", "../../examples/websocket.yaml", "-e", "BASE_URL="+base, "-e", "WS_DURATION=2s", "-e", "WS_HOLD=500ms", "--quiet")
	r.expect(t, exitPassed)
	if n := metric(t, r, "ws_sessions")["count"].(float64); n != 20 {
		t.Fatalf("ws_sessions %v, want 20 (2 s at 10/s)", n)
	}
	if n := metric(t, r, "ws_msg_duration")["count"].(float64); n != 60 {
		t.Fatalf("ws_msg_duration count %v, want 3 expectations of 20 sessions", n)
	}
}
