package main

import (
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestExitCodeOnFail: --exit-code-on-fail (and its LOADGATE_ variable)
// remaps exit 1 only; the report keeps status failed and exit_code 1.
func TestExitCodeOnFail(t *testing.T) {
	tg := newTarget(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) })
	failing := scenario(t, tg.URL, shortLoad, "  http_req_failed: [\"rate < 1%\"]\n")
	passing := scenario(t, tg.URL, shortLoad, "  http_req_failed: [\"rate <= 100%\"]\n")
	for _, tc := range []struct {
		name     string
		args     []string
		env      string
		code     int // process exit code
		status   string
		reported int // exit_code in the report
	}{
		{"failed gate remapped by the flag", []string{"run", failing, "--exit-code-on-fail", "11"}, "", 11, "failed", 1},
		{"failed gate remapped by the environment", []string{"run", failing}, "LOADGATE_EXIT_CODE_ON_FAIL=11", 11, "failed", 1},
		{"a passed run is not touched", []string{"run", passing, "--exit-code-on-fail", "11"}, "", 0, "passed", 0},
		// Nothing listens on port 1: preflight fails with 3, not 11.
		{"other codes keep their meaning", []string{"run", "--url", "http://127.0.0.1:1/", "--rate", "10", "--duration", "1s",
			"--exit-code-on-fail", "11"}, "", 3, "preflight_failed", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd, rep, stdout, stderr := startCmd(t, tc.args...)
			if tc.env != "" {
				cmd.Env = append(cmd.Env, tc.env)
			}
			r := finish(t, cmd, cmd.Run(), rep, stdout, stderr)
			if r.code != tc.code || r.report["status"] != tc.status || r.report["exit_code"] != float64(tc.reported) {
				t.Fatalf("exit %d, report %v/%v; want %d, %s/%d\n%s", r.code, r.report["status"], r.report["exit_code"],
					tc.code, tc.status, tc.reported, r.stderr)
			}
			if tc.code == 11 && !strings.Contains(r.stderr, "exit code 11 (--exit-code-on-fail") {
				t.Fatalf("stderr does not say why the code is 11:\n%s", r.stderr)
			}
		})
	}
}

// TestExitCodeOnFailInvalid: a code that would be confused with another
// outcome is a usage error.
func TestExitCodeOnFailInvalid(t *testing.T) {
	for _, v := range []string{"0", "2", "4", "130", "256", "eleven"} {
		for _, cmdName := range []string{"run", "merge", "compare"} {
			cmd := exec.Command(binary, cmdName, "x.json", "--exit-code-on-fail", v)
			cmd.Env = append(os.Environ(), "NO_COLOR=1")
			out, _ := cmd.CombinedOutput()
			if code := cmd.ProcessState.ExitCode(); code != exitInvalid || !strings.Contains(string(out), "--exit-code-on-fail") {
				t.Errorf("%s --exit-code-on-fail %s: exit %d, want 2 naming the flag\n%s", cmdName, v, code, out)
			}
		}
	}
}
