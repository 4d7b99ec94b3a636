package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// canary is the secret of TestSecretsNeverLeak. It is odd enough that no
// output could contain it by chance.
const canary = "canary-5f1e9a7c/x+y"

// canaryForms are the ways the canary could be written: as it is, and
// escaped as URLs, JSON, XML and HTML write it.
var canaryForms = []string{canary, url.QueryEscape(canary), url.PathEscape(canary), "canary-5f1e9a7c", "5f1e9a7c"}

// TestSecretsNeverLeak (docs/reliability.md, row 29): a secret given with -e and
// used in an Authorization header, an X-Api-Key header, a query string and
// a body, against a target that echoes all of it back in error responses,
// headers and cookies, and in a threshold's expression context, must not
// appear in any output: stdout, stderr (progress, warnings, errors), the
// json, junit, html and text reports, /metrics, and the errors of an
// invalid scenario.
func TestSecretsNeverLeak(t *testing.T) {
	srv := newTarget(t, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		echo := fmt.Sprintf("auth=%s key=%s url=%s body=%s", r.Header.Get("Authorization"), r.Header.Get("X-Api-Key"), r.URL, body)
		w.Header().Set("X-Echo", echo)
		http.SetCookie(w, &http.Cookie{Name: "session", Value: url.QueryEscape(canary)})
		if r.URL.Path == "/hang" {
			time.Sleep(300 * time.Millisecond) // past the step's timeout
		}
		http.Error(w, echo, http.StatusInternalServerError)
	})
	dir := t.TempDir()
	// A refused target in the same flow adds a transport error sample.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := ln.Addr().String()
	ln.Close()
	path := filepath.Join(dir, "canary.yaml")
	writeFile(t, path, fmt.Sprintf(`name: canary
base_url: %s
defaults:
  headers: { Authorization: "Bearer ${API_TOKEN}" }
load: { rate: 20, duration: 2500ms }
generator: { max_schedule_lag_p99: 5s, min_achieved_ratio: 0.5 }
flows:
  - name: leaky
    steps:
      - name: echo
        post: /echo?token=${API_TOKEN}
        headers: { X-Api-Key: "${API_TOKEN}", Cookie: "sid=${API_TOKEN}" }
        body: "password=${API_TOKEN}"
      - name: hang
        get: /hang?token=${API_TOKEN}
        timeout: 100ms
      - name: refused
        get: http://%s/?token=${API_TOKEN}
thresholds:
  http_req_failed: [ "rate < 1%%" ]
  http_req_duration{step:echo}: [ "p(99) < 1ms" ]
`, srv.URL, refused))

	metricsAddr := freeAddr(t)
	outs := map[string]string{}
	args := []string{"run", path, "-e", "API_TOKEN=" + canary, "--no-preflight", "--metrics-addr", metricsAddr, "--metrics-linger", "1s"}
	for _, f := range []string{"json", "junit", "html", "text"} {
		outs[f] = filepath.Join(dir, "report."+f)
		args = append(args, "-o", f+"="+outs[f])
	}
	args = append(args, "-o", "text=-")
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	scraped := scrapeUntil(stop, "http://"+metricsAddr+"/metrics")
	err = cmd.Wait()
	close(stop)
	if code := cmd.ProcessState.ExitCode(); code != exitFailed {
		t.Fatalf("exit %d (%v), want 1\nstderr:\n%s", code, err, stderr.String())
	}
	texts := map[string]string{"stdout": stdout.String(), "stderr": stderr.String(), "/metrics": scraped()}
	for f, p := range outs {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		texts[f] = string(b)
	}
	// Every output was made and has substance: the errors happened, the
	// reports name them, so a missing canary means redaction, not silence.
	switch {
	case !strings.Contains(texts["json"], `"5xx"`) || !strings.Contains(texts["json"], `"refused"`):
		t.Fatalf("the json report lacks the errors:\n%s", texts["json"])
	case !strings.Contains(texts["/metrics"], "loadgate_"):
		t.Fatalf("/metrics was not scraped: %q", texts["/metrics"])
	case !strings.Contains(texts["stderr"], "loadgate"):
		t.Fatalf("no progress on stderr: %q", texts["stderr"])
	}
	// The template text stays: a reader can see which variable was used.
	leaks(t, texts)

	// An invalid scenario quoting the secret in its errors.
	bad := filepath.Join(dir, "bad.yaml")
	writeFile(t, bad, "name: bad\nbase_url: \"http://h:${API_TOKEN}\"\nload: { rate: 1, duration: 1s }\nflows:\n  - name: f\n    steps:\n      - { name: s, get: \"/${API_TOKEN} x\" }\n")
	r := run(t, "run", bad, "-e", "API_TOKEN="+canary)
	if r.code != exitInvalid || strings.Count(r.stderr, "***") != 2 {
		t.Fatalf("invalid scenario: exit %d, want 2 errors about redacted values:\n%s", r.code, r.stderr)
	}
	leaks(t, map[string]string{"invalid: stderr": r.stderr, "invalid: stdout": r.stdout})

	// Quick mode: the Authorization header is a secret by its name.
	r = run(t, "run", "--url", srv.URL+"/q", "--header", "Authorization: Bearer "+canary, "--rate", "10", "--duration", "300ms",
		"--threshold", "http_req_failed: rate < 1%")
	r.expect(t, exitFailed)
	leaks(t, map[string]string{"quick: stderr": r.stderr, "quick: stdout": r.stdout, "quick: json": fmt.Sprint(r.report)})
}

// leaks fails for every output holding a form of the canary.
func leaks(t *testing.T, texts map[string]string) {
	t.Helper()
	for name, text := range texts {
		for _, form := range canaryForms {
			if i := strings.Index(text, form); i >= 0 {
				t.Errorf("%s leaks the secret (%q) at %d: ...%s...", name, form, i, text[max(0, i-80):min(len(text), i+80)])
			}
		}
	}
}

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// freeAddr returns a loopback address with a port free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// scrapeUntil scrapes u every 200 ms until stop is closed and returns a
// function that waits for the scraper and returns every body it got.
func scrapeUntil(stop <-chan struct{}, u string) func() string {
	var (
		mu  sync.Mutex
		all strings.Builder
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		c := &http.Client{Timeout: time.Second}
		for {
			select {
			case <-stop:
				return
			default:
			}
			if resp, err := c.Get(u); err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				mu.Lock()
				all.Write(b)
				mu.Unlock()
			}
			time.Sleep(200 * time.Millisecond)
		}
	}()
	return func() string {
		<-done
		mu.Lock()
		defer mu.Unlock()
		return all.String()
	}
}
