package scenarios

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/loadgate/loadgate/engine"
)

// journeyFile writes files into a temporary directory and parses main.yaml.
func journeyFile(t *testing.T, files map[string]string) (*Scenario, error) {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return Load(filepath.Join(dir, "main.yaml"), testEnv(testVars))
}

const journeyHead = "name: j\nbase_url: http://localhost\nload: { rate: 1, duration: 1s }\n"

func TestJourneyPlan(t *testing.T) {
	sc, err := journeyFile(t, map[string]string{
		"users.csv":  "name,term\nann,shoes\n\"b, c\",hats\n",
		"items.json": `[{"id": 1, "tags": ["a"]}, {"id": 2, "sku": "x"}]`, // tags and sku are unused: they may be missing
		"body.bin":   "raw {{ not a template }}",
		"main.yaml": journeyHead + `cookies: false
defaults: { max_redirects: 2, max_body: 4096 }
data:
  - { name: users, file: users.csv, order: unique }
  - { name: items, file: items.json, order: random }
flows:
  - name: f
    steps:
      - name: login
        post: /login?u={{ users.name }}
        form: { user: "{{ users.name }}", pass: "${PASSWORD}", note: a&b }
        capture: { token: { json: $.token }, sid: { header: X-Session }, n: { regex: "n=(\\d+)" } }
        check: { status: [200, 201], body_contains: [ok, welcome], json: { path: $.ok, equals: true } }
        think: 10ms..20ms
      - name: use
        put: /items/{{ items.id }}
        headers: { Authorization: "Bearer {{ token }}" }
        body_file: body.bin
        max_redirects: 0
        check: { header: { name: X-A, equals: b }, max_duration: 1s, json: { path: "$.items[0]", exists: true } }
`,
	})
	if err != nil {
		t.Fatal(err)
	}
	p := sc.Plan
	if !p.NoCookies || len(p.Data) != 2 {
		t.Fatalf("cookies off %v, data %d", p.NoCookies, len(p.Data))
	}
	users, items := p.Data[0], p.Data[1]
	if users.Order != engine.Unique || !reflect.DeepEqual(users.Rows, [][]string{{"ann", "shoes"}, {"b, c", "hats"}}) {
		t.Errorf("users = %+v", users)
	}
	if items.Order != engine.Random || !reflect.DeepEqual(items.Columns, []string{"id", "tags", "sku"}) ||
		!reflect.DeepEqual(items.Rows, [][]string{{"1", `["a"]`, ""}, {"2", "", "x"}}) {
		t.Errorf("items = %+v", items)
	}
	login, use := p.Flows[0].Steps[0], p.Flows[0].Steps[1]
	if string(login.Body) != "user={{ users.name }}&pass=hunter2&note=a%26b" || login.BodyEscape != engine.EscapeForm {
		t.Errorf("form body %q", login.Body)
	}
	if login.Think != 10*time.Millisecond || login.ThinkMax != 20*time.Millisecond || login.MaxRedirects != 2 || login.MaxBody != 4096 {
		t.Errorf("login = %+v", login)
	}
	if len(login.Captures) != 3 || len(login.Checks) != 4 || !reflect.DeepEqual(login.Accept, []int{200, 201}) {
		t.Errorf("login captures %v checks %v", login.Captures, login.Checks)
	}
	if string(use.Body) != "raw {{ not a template }}" || use.MaxRedirects != 0 || len(use.Checks) != 3 {
		t.Errorf("use = %+v", use)
	}
	ct := ""
	for _, h := range login.Headers {
		if h.Key == "Content-Type" {
			ct = h.Value
		}
	}
	if ct != "application/x-www-form-urlencoded" {
		t.Errorf("form Content-Type %q", ct)
	}
	// reports keep the template text, so it must not be a "secret"
	for _, s := range sc.Secrets {
		if strings.Contains(s, "{{") {
			t.Errorf("template text among the secrets: %q", s)
		}
	}
}

// TestJSONFeederColumns: a column that only some objects of a JSON feeder
// have is fine while no flow uses it.
func TestJSONFeederColumns(t *testing.T) {
	sc, err := journeyFile(t, map[string]string{"u.json": `[{"name": "ann", "note": "x"}, {"name": "bo"}]`,
		"main.yaml": journeyHead + "data: [ { name: u, file: u.json } ]\nflows: [ { name: f, steps: [ { name: s, get: \"/{{ u.name }}\" } ] } ]\n"})
	if err != nil {
		t.Fatal(err)
	}
	if f := sc.Plan.Data[0]; !reflect.DeepEqual(f.Columns, []string{"name", "note"}) || !reflect.DeepEqual(f.Rows[1], []string{"bo", ""}) {
		t.Errorf("feeder %+v", f)
	}
}

func TestJourneyErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"unknown column, suggested", map[string]string{"u.csv": "name\na\n",
			"main.yaml": journeyHead + "data: [ { name: u, file: u.csv } ]\nflows: [ { name: f, steps: [ { name: s, get: \"/{{ u.nmae }}\" } ] } ]\n"},
			`main.yaml:5:48: data "u" has no column "nmae"; did you mean "name"?`},
		{"empty csv", map[string]string{"u.csv": "name\n",
			"main.yaml": journeyHead + "data: [ { name: u, file: u.csv } ]\nflows: [ { name: f, steps: [ { name: s, get: / } ] } ]\n"},
			"data file u.csv: no rows"},
		{"json not an array", map[string]string{"u.json": `{"a":1}`,
			"main.yaml": journeyHead + "data: [ { name: u, file: u.json } ]\nflows: [ { name: f, steps: [ { name: s, get: / } ] } ]\n"},
			"want a JSON array of objects"},
		{"two bodies", map[string]string{
			"main.yaml": journeyHead + "flows: [ { name: f, steps: [ { name: s, post: /, json: {a: 1}, form: {b: 2} } ] } ]\n"},
			"not both json and form"},
		{"bad think range", map[string]string{
			"main.yaml": journeyHead + "flows: [ { name: f, steps: [ { name: s, get: /, think: 3s..1s } ] } ]\n"},
			`invalid think range "3s..1s"`},
		{"capture named as a built-in", map[string]string{
			"main.yaml": journeyHead + "flows: [ { name: f, steps: [ { name: s, get: /, capture: { uuid: { header: X } } } ] } ]\n"},
			`capture name "uuid" is a built-in`},
		// A JSON feeder's object without a key the flow uses would send an
		// empty value (CSV rows of the wrong length are an error already).
		{"json row without a used key", map[string]string{"u.json": "[\n  {\"name\": \"ann\", \"id\": 1},\n  {\"id\": 2},\n  {\"name\": \"cy\"}\n]\n",
			"main.yaml": journeyHead + "data: [ { name: u, file: u.json } ]\nflows: [ { name: f, steps: [ { name: s, get: \"/{{ u.name }}\" } ] } ]\n"},
			`main.yaml:5:48: {{ u.name }}: row 2 of data "u" (u.json, line 3) has no "name": every row of a JSON feeder must have each key the flows use`},
		{"json row without a used key, the other column", map[string]string{"u.json": "[{\"name\": \"ann\", \"id\": 1}, {\"id\": 2}, {\"name\": \"cy\"}]",
			"main.yaml": journeyHead + "data: [ { name: u, file: u.json } ]\nflows: [ { name: f, steps: [ { name: s, get: \"/{{ u.id }}\" } ] } ]\n"},
			`row 3 of data "u" (u.json, line 1) has no "id"`},
		{"cookies not a boolean", map[string]string{
			"main.yaml": journeyHead + "cookies: no\nflows: [ { name: f, steps: [ { name: s, get: / } ] } ]\n"},
			"expected true or false for cookies"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := journeyFile(t, tc.files)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

// FuzzTemplate: the template parser never panics, and what it accepts the
// engine compiles (names aside).
func FuzzTemplate(f *testing.F) {
	for _, s := range []string{"/a/{{ id }}", "{{ randInt 1 2 }}", "{{", "}}{{", "{{ a.b }}{{uuid}}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		exprs, err := engine.ParseTemplate(s)
		if err != nil {
			return
		}
		for _, e := range exprs {
			if e.Offset < 0 || e.Offset >= len(s) || !strings.HasPrefix(s[e.Offset:], "{{") {
				t.Fatalf("offset %d of %q", e.Offset, s)
			}
		}
	})
}
