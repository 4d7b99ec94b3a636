package scenarios

import (
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary bytes to Parse: it must never panic, and every
// error it reports must point at a line and column.
func FuzzParse(f *testing.F) {
	for _, dir := range []string{"valid", "invalid"} {
		files, _ := filepath.Glob(filepath.Join(testdataDir, dir, "*.yaml"))
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	env := testEnv(map[string]string{"BASE_URL": "http://localhost", "PASSWORD": "pw", "API_TOKEN": "t"})
	f.Fuzz(func(t *testing.T, data []byte) {
		sc, err := Parse("fuzz.yaml", data, env)
		if err == nil {
			if verr := sc.Plan.Validate(); verr != nil {
				t.Fatalf("compiled plan fails Validate: %v", verr)
			}
			checkSLIPositions(t, sc, data)
			return
		}
		var errs Errors
		if !errors.As(err, &errs) || len(errs) == 0 {
			t.Fatalf("Parse error is not Errors: %v", err)
		}
		for _, e := range errs {
			if e.Line < 1 || e.Col < 1 || e.Msg == "" {
				t.Fatalf("error without position or message: %#v", e)
			}
		}
	})
}

// FuzzURLVars: whatever the value of a ${VAR} inside a step's path, the
// request stays where the file says (docs/scenario-reference.md): the value
// is one segment that decodes back to it, with no /, ? or # of its own,
// and only a whole . or .. segment is refused.
func FuzzURLVars(f *testing.F) {
	for _, v := range []string{"7", "../__stats", "..", ".", "a b?c#d&e=f", "{{ uuid }}", "%2F", "\x00\xff", "ü/ö", ""} {
		f.Add(v)
	}
	const src = "name: u\nbase_url: http://h/api\nload: { rate: 1, duration: 1s }\nflows:\n  - name: f\n    steps:\n      - { name: s, get: \"/items/${ID}/x?q=${ID}\" }\n"
	f.Fuzz(func(t *testing.T, v string) {
		sc, err := Parse("u.yaml", []byte(src), testEnv(map[string]string{"ID": v}))
		if v == "." || v == ".." {
			if err == nil || !strings.Contains(err.Error(), "a whole segment of the URL path") {
				t.Fatalf("ID=%q: err = %v, want the dot segment refused", v, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("ID=%q: %v", v, err)
		}
		u := sc.Plan.Flows[0].Steps[0].URL
		rest, ok := strings.CutPrefix(u, "http://h/api/items/")
		seg, query, ok2 := strings.Cut(rest, "/x?q=")
		if !ok || !ok2 || strings.ContainsAny(seg, "/?#") || strings.ContainsAny(query, "/?#&=") {
			t.Fatalf("ID=%q: URL %q leaves its place", v, u)
		}
		for _, enc := range []string{seg, query} {
			if dec, err := url.PathUnescape(enc); err != nil || dec != v {
				t.Fatalf("ID=%q: %q decodes to %q (%v)", v, enc, dec, err)
			}
		}
	})
}

// checkSLIPositions: every offset of every SLI query maps to a position in
// the file (where preflight reports a PromQL error; SLIQuery.PosAt).
func checkSLIPositions(t *testing.T, sc *Scenario, data []byte) {
	if sc.spec.SLI == nil {
		return
	}
	lines := strings.Count(string(data), "\n") + 1
	for _, q := range sc.spec.SLI.Queries {
		for off := -1; off <= len(q.Query)+1; off++ {
			if p := q.PosAt(off); p.Line < 1 || p.Col < 1 || p.Line > lines {
				t.Fatalf("query %s: PosAt(%d) = %v, outside the file (%d lines)", q.Name, off, p, lines)
			}
		}
	}
}
