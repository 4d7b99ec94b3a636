package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// journeyTarget is a shop that checks what each step sends: the password of
// the login, the token issued to the same client, the id in the path and
// the session cookie. Anything wrong is counted in bad, with a note.
type journeyTarget struct {
	mu     sync.Mutex
	tokens map[string]bool
	logins int
	items  int
	bad    []string
}

func (j *journeyTarget) fail(format string, a ...any) {
	j.mu.Lock()
	j.bad = append(j.bad, fmt.Sprintf(format, a...))
	j.mu.Unlock()
}

func (j *journeyTarget) handler(password string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == "POST" && r.URL.Path == "/login":
			var in struct{ User, Password string }
			if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Password != password || in.User != "alice" {
				j.fail("login: %+v %v", in, err)
				w.WriteHeader(401)
				return
			}
			j.mu.Lock()
			j.logins++
			tok := fmt.Sprintf("tok-%d", j.logins)
			j.tokens[tok] = true
			j.mu.Unlock()
			http.SetCookie(w, &http.Cookie{Name: "sid", Value: "s-" + tok})
			fmt.Fprintf(w, `{"token":%q,"user":{"name":"alice"}}`, tok)
		case r.URL.Path == "/items":
			if !j.authorized(r) {
				w.WriteHeader(403)
				return
			}
			w.Header().Set("X-Page", "1")
			fmt.Fprint(w, `{"items":[{"id":42,"name":"widget"},{"id":7}]}`)
		case r.URL.Path == "/old-items/42":
			http.Redirect(w, r, "/items/42?from=old", http.StatusFound)
		case strings.HasPrefix(r.URL.Path, "/items/"):
			if r.URL.Path != "/items/42" {
				j.fail("item path %s", r.URL.Path)
			}
			if !j.authorized(r) {
				w.WriteHeader(403)
				return
			}
			j.mu.Lock()
			j.items++
			j.mu.Unlock()
			fmt.Fprint(w, `{"id":42,"name":"widget","in_stock":true}`)
		default:
			w.WriteHeader(404)
		}
	}
}

// authorized checks the bearer token and that the session cookie of the
// same login came with it.
func (j *journeyTarget) authorized(r *http.Request) bool {
	tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	j.mu.Lock()
	ok := j.tokens[tok]
	j.mu.Unlock()
	c, err := r.Cookie("sid")
	if !ok || err != nil || c.Value != "s-"+tok {
		j.fail("%s: token %q, cookie %v", r.URL.Path, tok, c)
		return false
	}
	return true
}

const journeyYAML = `name: journey
base_url: %s
load: { rate: 20, duration: 1s }
generator: { max_schedule_lag_p99: 5s, min_achieved_ratio: 0.5 }
flows:
  - name: shop
    steps:
      - name: login
        post: /login
        json: { user: alice, password: "${PASSWORD}" }
        capture: { token: { json: $.token } }
        check: { status: 200, json: { path: $.user.name, equals: alice } }
      - name: list
        get: /items
        headers: { Authorization: "Bearer {{ token }}" }
        capture: { first_id: { json: "$.items[0].id" }, page: { header: X-Page } }
        check: { header: { name: X-Page, equals: "1" } }
        think: 1ms..5ms
      - name: item
        get: /old-items/{{ first_id }}
        headers: { Authorization: "Bearer {{ token }}", X-Trace: "{{ uuid }}-{{ page }}" }
        check:
          status: 200
          body_contains: widget
          json: [ { path: $.in_stock, equals: true }, { path: $.id, exists: true } ]
          max_duration: 2s
thresholds:
  checks: [ "rate == 100%%" ]
  http_req_failed: [ "rate == 0%%" ]
`

// TestJourney runs a whole user journey with the built binary: log in with
// a password from -e, capture a token and an id, call a templated path
// (through a redirect) with the token and the login's session cookie, and
// check the answer. The target verifies every request.
func TestJourney(t *testing.T) {
	const password = "canary-pw-31337"
	jt := &journeyTarget{tokens: map[string]bool{}}
	tg := newTarget(t, jt.handler(password))
	dir := t.TempDir()
	sc := filepath.Join(dir, "journey.yaml")
	if err := os.WriteFile(sc, []byte(fmt.Sprintf(journeyYAML, tg.URL)), 0o644); err != nil {
		t.Fatal(err)
	}
	junit := filepath.Join(dir, "junit.xml")
	r := run(t, "run", sc, "-e", "PASSWORD="+password, "--quiet", "-o", "junit="+junit)
	r.expect(t, exitPassed)
	if len(jt.bad) > 0 || jt.logins != 20 || jt.items != 20 {
		t.Fatalf("logins %d, items %d, bad %v", jt.logins, jt.items, jt.bad)
	}
	checks := r.report["metrics"].(map[string]any)
	for key, want := range map[string]float64{"checks": 20 * 8, "checks{step:login}": 40, "checks{step:list}": 20, "checks{step:item}": 100} {
		m, ok := checks[key].(map[string]any)
		if !ok || m["total"] != want || m["rate"] != float64(1) {
			t.Errorf("%s = %v, want %v checks that all held", key, checks[key], want)
		}
	}
	xml, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{r.stdout, string(xml), fmt.Sprint(r.report)} {
		if strings.Contains(out, password) || strings.Contains(out, "tok-1") {
			t.Fatalf("a secret or a captured value leaked into an output:\n%s", out)
		}
	}
	if !strings.Contains(string(xml), "checks{step:item}") || !strings.Contains(r.stdout, "checks") {
		t.Fatalf("checks missing from the reports:\n%s\n%s", xml, r.stdout)
	}
}

// TestJourneyCaptureMiss: a capture that finds nothing fails its step with
// class capture and a sample message, and the iteration stops there.
func TestJourneyCaptureMiss(t *testing.T) {
	tg := newTarget(t, func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `{"nope":1}`) })
	body := fmt.Sprintf(`name: miss
base_url: %s
load: { rate: 10, duration: 1s }
generator: { max_schedule_lag_p99: 5s, min_achieved_ratio: 0.5 }
flows:
  - name: f
    steps:
      - { name: a, get: /a, capture: { token: { json: $.token } } }
      - { name: b, get: "/b/{{ token }}" }
`, tg.URL)
	sc := filepath.Join(t.TempDir(), "miss.yaml")
	if err := os.WriteFile(sc, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	r := run(t, "run", sc, "--quiet")
	r.expect(t, exitPassed) // no thresholds: nothing to fail
	if tg.hits.Load() != 10 {
		t.Fatalf("target saw %d requests: step b must not run after a failed capture", tg.hits.Load())
	}
	errs, _ := json.Marshal(r.report["errors"])
	if !strings.Contains(string(errs), `"capture":10`) || !strings.Contains(r.stdout+fmt.Sprint(r.report), "capture token: JSONPath $.token found nothing") {
		t.Fatalf("errors %s; report %v", errs, r.report)
	}
}

// feederRun runs flow steps reading a feeder of n users with the given
// order at rate/s for 1 s and returns the users the target saw, in order.
func feederRun(t *testing.T, order string, n, rate int, thresholds string) ([]string, result) {
	t.Helper()
	var mu sync.Mutex
	var seen []string
	tg := newTarget(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.URL.Query().Get("u")+"/"+r.Header.Get("X-Id"))
		mu.Unlock()
	})
	dir := t.TempDir()
	var csv strings.Builder
	csv.WriteString("name,id\n")
	for i := range n {
		fmt.Fprintf(&csv, "user%d,%d\n", i, i)
	}
	if err := os.WriteFile(filepath.Join(dir, "users.csv"), []byte(csv.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	body := fmt.Sprintf(`name: feeder
base_url: %s
data: [ { name: users, file: users.csv, order: %s } ]
load: { rate: %d, duration: 1s }
generator: { max_schedule_lag_p99: 5s, min_achieved_ratio: 0.5 }
flows:
  - name: f
    steps:
      - { name: s, get: "/x?u={{ users.name }}", headers: { X-Id: "{{ users.id }}" } }
%s`, tg.URL, order, rate, thresholds)
	sc := filepath.Join(dir, "feeder.yaml")
	if err := os.WriteFile(sc, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	r := run(t, "run", sc, "--quiet")
	mu.Lock()
	defer mu.Unlock()
	return append([]string(nil), seen...), r
}

func TestFeederSequential(t *testing.T) {
	seen, r := feederRun(t, "sequential", 4, 40, "")
	r.expect(t, exitPassed)
	count := map[string]int{}
	for _, s := range seen {
		count[s]++
	}
	for i := range 4 {
		// the columns of one row stay together
		if k := fmt.Sprintf("user%d/%d", i, i); count[k] != 10 {
			t.Fatalf("rows seen %v: want each of 4 rows 10 times", count)
		}
	}
}

func TestFeederUniqueExhausted(t *testing.T) {
	seen, r := feederRun(t, "unique", 15, 50, "thresholds:\n  http_req_failed: [ \"rate < 1%\" ]\n")
	r.expect(t, exitPassed)
	if len(seen) != 15 {
		t.Fatalf("target saw %d requests, want the 15 rows", len(seen))
	}
	once := map[string]bool{}
	for _, s := range seen {
		if once[s] {
			t.Fatalf("row %s used twice: %v", s, seen)
		}
		once[s] = true
	}
	reasons := fmt.Sprint(r.report["reasons"])
	if !strings.Contains(reasons, "data exhausted") || r.report["partial"] == true {
		t.Fatalf("reasons %s, partial %v: want data exhausted, complete", reasons, r.report["partial"])
	}
}

func TestFeederRandomJSON(t *testing.T) {
	tg := newTarget(t, func(w http.ResponseWriter, r *http.Request) {
		if u := r.URL.Query().Get("u"); u != "ann" && u != "bob" {
			w.WriteHeader(400)
		}
	})
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "users.json"), []byte(`[{"name":"ann","n":1},{"name":"bob","n":2}]`), 0o644); err != nil {
		t.Fatal(err)
	}
	body := fmt.Sprintf(`name: random
base_url: %s
data: [ { name: users, file: users.json, order: random } ]
cookies: false
load: { rate: 20, duration: 1s }
generator: { max_schedule_lag_p99: 5s, min_achieved_ratio: 0.5 }
flows:
  - name: f
    steps:
      - { name: s, post: "/x?u={{ users.name }}", form: { n: "{{ users.n }}", at: "{{ now }}", r: "{{ randInt 1 6 }}" } }
thresholds:
  http_req_failed: [ "rate == 0%%" ]
`, tg.URL)
	sc := filepath.Join(dir, "random.yaml")
	if err := os.WriteFile(sc, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, "run", sc, "--quiet").expect(t, exitPassed)
}
