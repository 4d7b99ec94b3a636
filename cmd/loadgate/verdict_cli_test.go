package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestIOErrorRewritesWrittenReports: when one report cannot be written the
// run is an io_error, and the reports that were written say so too (the
// status always matches the exit code).
// The junit's folder is replaced by a file during the run (breakFolder):
// the output preflight (docs/reports.md) found it writable.
func TestIOErrorRewritesWrittenReports(t *testing.T) {
	tg := newTarget(t, nil)
	ok := filepath.Join(t.TempDir(), "ok.json")
	dir := filepath.Join(t.TempDir(), "junit")
	cmd, repPath, stdout, stderr := startCmd(t, "run", scenario(t, tg.URL, "  rate: 20\n  duration: 2s\n", ""), "--quiet", "-o", "json="+ok, "-o", "junit="+filepath.Join(dir, "x.xml"))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	breakFolder(t, tg, dir)
	r := finish(t, cmd, cmd.Wait(), repPath, stdout, stderr)
	if r.code != exitIO {
		t.Fatalf("exit %d, want 74\n%s", r.code, r.stderr)
	}
	var rep map[string]any
	b, err := os.ReadFile(ok)
	if err != nil || json.Unmarshal(b, &rep) != nil {
		t.Fatalf("the writable report is missing or not JSON: %v", err)
	}
	if rep["status"] != "io_error" || rep["exit_code"] != float64(exitIO) {
		t.Fatalf("written report says %v/%v, want io_error/74", rep["status"], rep["exit_code"])
	}
}

// TestJSONToStdoutStaysJSON: -o json=- prints only the report on stdout, so
// that `| jq` works; the text summary is not appended.
func TestJSONToStdoutStaysJSON(t *testing.T) {
	tg := newTarget(t, nil)
	cmd := exec.Command(binary, "run", scenario(t, tg.URL, shortLoad, ""), "--quiet", "-o", "json=-")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	var rep map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("stdout is not one JSON document: %v\n%s", err, stdout.String())
	}
	if rep["status"] != "passed" {
		t.Fatalf("status %v", rep["status"])
	}
}

// TestSignalDuringSLIWait: Ctrl-C while loadgate waits to query Prometheus
// after the load ends stops the wait and exits 130, not 0 after the wait.
func TestSignalDuringSLIWait(t *testing.T) {
	tg := newTarget(t, nil)
	sc := filepath.Join(t.TempDir(), "s.yaml")
	body := "name: sli-wait\nbase_url: " + tg.URL + "\n" +
		"load:\n  rate: 10\n  duration: 1s\n" +
		"flows:\n  - name: f\n    steps:\n      - name: s\n        get: /x\n" +
		"sli:\n  prometheus:\n    url: http://127.0.0.1:1\n    wait: 30s\n    queries:\n      up: up\n" +
		"thresholds:\n  sli{name:up}: [\"value > 0\"]\n"
	if err := os.WriteFile(sc, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	// --no-preflight: preflight would stop the run at once on the
	// Prometheus that is not there (TestSLIPreflight).
	cmd, rep, stdout, stderr := startCmd(t, "run", sc, "--quiet", "--no-preflight")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second) // the load has ended; the 30 s wait is on
	start := time.Now()
	cmd.Process.Signal(syscall.SIGINT)
	r := finish(t, cmd, cmd.Wait(), rep, stdout, stderr)
	if el := time.Since(start); el > 5*time.Second {
		t.Fatalf("exited %v after the signal", el)
	}
	r.expect(t, exitInterrupted)
	if !strings.Contains(r.stderr+r.stdout, "interrupted") {
		t.Fatal("no word of the interruption")
	}
}
