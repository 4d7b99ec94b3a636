package scenarios

import (
	"reflect"
	"strings"
	"testing"
)

// TestExpand covers ${VAR} substitution on one scalar.
func TestExpand(t *testing.T) {
	env := map[string]string{"HOST": "h", "EMPTY": "", "API_KEY": "k-1f5e9a7c", "DB_PASSWORD": "pw-hunter2", "SHORT_TOKEN": "t-1"}
	tests := []struct {
		name    string
		in      string
		want    string
		errAt   []int // byte offsets of errors
		secrets []string
	}{
		{name: "plain text is untouched", in: "http://x/", want: "http://x/"},
		{name: "set variable", in: "http://${HOST}:80", want: "http://h:80"},
		{name: "default unused when set", in: "${HOST:-other}", want: "h"},
		{name: "default when unset", in: "${NOPE:-http://d:1}", want: "http://d:1"},
		// As in the shell, :- also applies to an empty value.
		{name: "default when empty", in: "${EMPTY:-d}", want: "d"},
		{name: "empty without default", in: "[${EMPTY}]", want: "[]"},
		{name: "empty default", in: "[${NOPE:-}]", want: "[]"},
		{name: "$$ escapes", in: "$${HOST} costs $$5", want: "${HOST} costs $5"},
		// JSONPath and shell-ish text keep a lone $.
		{name: "lone dollar", in: "$.items[0] $ 5$", want: "$.items[0] $ 5$"},
		{name: "unset", in: "a ${NOPE} b", want: "a  b", errAt: []int{2}},
		{name: "two errors", in: "${A1}${B1}", want: "", errAt: []int{0, 5}},
		{name: "bad name", in: "x${9X}", want: "x", errAt: []int{1}},
		{name: "unterminated", in: "ab${HOST", want: "ab${HOST", errAt: []int{2}},
		{name: "secret names", in: "${API_KEY}/${DB_PASSWORD}/${HOST}", want: "k-1f5e9a7c/pw-hunter2/h", secrets: []string{"k-1f5e9a7c", "pw-hunter2"}},
		{name: "secret default", in: "${MY_TOKEN:-t0-5f1e9a7c}", want: "t0-5f1e9a7c", secrets: []string{"t0-5f1e9a7c"}},
		// Values under 8 bytes, numbers and booleans are no secrets: they
		// occur everywhere, and redacting them would wreck every output.
		{name: "short secret", in: "${SHORT_TOKEN}", want: "t-1"},
		{name: "numeric secret", in: "${AUTH_RATE:-10} ${KEY_TIMEOUT_MS:-30000000} ${TOKEN_RATIO:-0.500000}", want: "10 30000000 0.500000"},
		{name: "boolean secret", in: "${USE_AUTH:-true} ${AUTH_ENABLED:-false}", want: "true false"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			secrets := map[string]bool{}
			got, errs := expand(tt.in, testEnv(env), secrets)
			var at []int
			for _, e := range errs {
				at = append(at, e.off)
			}
			if got != tt.want && len(errs) == 0 || !reflect.DeepEqual(at, tt.errAt) {
				t.Errorf("expand(%q) = %q, errors at %v; want %q, errors at %v", tt.in, got, at, tt.want, tt.errAt)
			}
			if s := sortedKeys(secrets); !reflect.DeepEqual(s, tt.secrets) {
				t.Errorf("secrets = %v, want %v", s, tt.secrets)
			}
		})
	}
}

func sortedKeys(m map[string]bool) []string {
	if len(m) == 0 {
		return nil
	}
	out := sortedSecrets(m)
	// sortedSecrets is longest first; the table lists them alphabetically.
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// TestEnvLookup checks that -e values win over the process environment.
func TestEnvLookup(t *testing.T) {
	t.Setenv("LOADGATE_TEST_A", "from-env")
	t.Setenv("LOADGATE_TEST_B", "from-env")
	look := EnvLookup(map[string]string{"LOADGATE_TEST_B": "from-flag", "LOADGATE_TEST_C": ""})
	for name, want := range map[string]string{"LOADGATE_TEST_A": "from-env", "LOADGATE_TEST_B": "from-flag", "LOADGATE_TEST_C": ""} {
		if got, ok := look(name); !ok || got != want {
			t.Errorf("%s = %q, %v; want %q", name, got, ok, want)
		}
	}
	if _, ok := look("LOADGATE_TEST_UNSET"); ok {
		t.Error("unset variable found")
	}
}

// TestSubstitutedTypes checks that an unquoted ${...} takes the type of its
// value, a quoted one stays a string, and keys are never substituted.
func TestSubstitutedTypes(t *testing.T) {
	src := `name: ${NAME}
base_url: ${BASE:-http://localhost}
load:
  rate: ${RATE}
  duration: ${DUR:-2s}
flows:
  - name: f
    weight: ${W:-3}
    steps:
      - name: s
        get: /
        json:
          n: ${N}
          q: "${N}"
          b: ${B}
`
	env := map[string]string{"NAME": "typed", "RATE": "2.5", "N": "7", "B": "true"}
	sc, err := Parse("typed.yaml", []byte(src), testEnv(env))
	if err != nil {
		t.Fatal(err)
	}
	p := sc.Plan
	if p.Load.StartRate != 2.5 || p.Load.Stages[0].Duration.Seconds() != 2 || p.Flows[0].Weight != 3 {
		t.Errorf("plan = %+v", p)
	}
	if body := string(p.Flows[0].Steps[0].Body); body != `{"n":7,"q":"7","b":true}` {
		t.Errorf("body = %s", body)
	}
	// A quoted ${...} where a number, an integer or a boolean is due is
	// read as one: inside { } YAML needs the quotes (issue 15 item 11).
	quoted := strings.NewReplacer("rate: ${RATE}", `rate: "${RATE}"`, "weight: ${W:-3}", `weight: "${W:-3}"`).Replace(src)
	sc, err = Parse("typed.yaml", []byte(quoted+"cookies: \"${B}\"\n"), testEnv(env))
	if err != nil {
		t.Fatal(err)
	}
	if p := sc.Plan; p.Load.StartRate != 2.5 || p.Flows[0].Weight != 3 || p.NoCookies {
		t.Errorf("quoted: plan = %+v", p)
	}
	// A value that is not a number says what the variable gave.
	_, err = Parse("typed.yaml", []byte(quoted), testEnv(map[string]string{"NAME": "typed", "RATE": "fast", "N": "7", "B": "true"}))
	want := `typed.yaml:4:9: expected a number for rate, got string (the quoted ${...} gave "fast")`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("quoted, not a number: err = %v", err)
	}
}

// TestErrorColumns checks that positions inside scalars count characters,
// as YAML columns do, and account for quoting.
func TestErrorColumns(t *testing.T) {
	tests := []struct {
		name, line string
		want       string // line:col
	}{
		{name: "plain", line: `x: ab ${NOPE}`, want: "1:7"},
		{name: "double quoted", line: `x: "ab ${NOPE}"`, want: "1:8"},
		{name: "single quoted", line: `x: 'ab ${NOPE}'`, want: "1:8"},
		{name: "non-ASCII before", line: `x: "żółw ${NOPE}"`, want: "1:10"},
		// An escape before the offset makes the exact column unknowable from
		// the value alone: the scalar's start is reported instead.
		{name: "escape before", line: `x: "a\tb ${NOPE}"`, want: "1:4"},
		{name: "block", line: "x: |\n  ${NOPE}", want: "1:4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("c.yaml", []byte(tt.line+"\n"), nil)
			if err == nil || !strings.Contains(err.Error(), "c.yaml:"+tt.want+": ${NOPE} is not set") {
				t.Errorf("err = %v, want it at %s", err, tt.want)
			}
		})
	}
}

// TestSecrets checks what is collected for redaction: secret-looking
// variables and credential headers, from defaults and steps.
func TestSecrets(t *testing.T) {
	src := `name: s
base_url: ${BASE_URL}
defaults:
  headers: { X-Api-Key: "${SERVICE_KEY}", Cookie: "sid=abc", X-Auth-Token: "${SHORT_TOKEN:-t-1}" }
load: { rate: 1, duration: 1s }
flows:
  - name: f
    steps:
      - name: a
        get: /
        headers: { Authorization: "Basic dXNlcjpwdw==", X-Trace: "${TRACE:-on}" }
      - name: b
        get: /
        headers: { Authorization: "Bearer k1", Cookie: "session=5f1e9a7c" }
`
	env := map[string]string{"BASE_URL": "http://h", "SERVICE_KEY": "k-42-5f1e9a7c"}
	sc, err := Parse("s.yaml", []byte(src), testEnv(env))
	if err != nil {
		t.Fatal(err)
	}
	// Pieces under 8 bytes are left out: "sid=abc", "k1" of "Bearer k1"
	// (the header value as a whole is long enough), the short variable.
	want := []string{"Basic dXNlcjpwdw==", "session=5f1e9a7c", "k-42-5f1e9a7c", "dXNlcjpwdw==", "Bearer k1"}
	if !reflect.DeepEqual(sc.Secrets, want) {
		t.Errorf("Secrets = %q, want %q (longest first)", sc.Secrets, want)
	}
}

// TestSecretsShortOrCommon: a secret-looking variable holding a number, a
// boolean or a short value is no secret (redacting every "10" and "true"
// of every output would make stdout invalid JSON); a real token still is.
func TestSecretsShortOrCommon(t *testing.T) {
	const token = "5f1e9a7c0b3d4e2f8a6c1b9d7e0f2a4c" // 32 bytes
	src := `name: s
base_url: http://h
load:
  rate: ${AUTH_RATE:-10}
  duration: 1s
flows:
  - name: f
    steps:
      - name: a
        get: /
        headers: { X-Use-Auth: "${USE_AUTH:-true}", X-Token: "${API_TOKEN}" }
`
	sc, err := Parse("s.yaml", []byte(src), testEnv(map[string]string{"API_TOKEN": token}))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{token}; !reflect.DeepEqual(sc.Secrets, want) {
		t.Errorf("Secrets = %q, want %q", sc.Secrets, want)
	}
	if st := sc.Plan.Load.Stages; len(st) != 1 || st[0].Target != 10 {
		t.Errorf("rate: ${AUTH_RATE:-10} did not give 10: %+v", sc.Plan.Load)
	}
}

// TestURLVars: a ${VAR} in a step's URL is percent-encoded as a {{ }}
// value is, one path segment or query value, unless it begins the URL
// (a path or a whole URL) or sits in the scheme and host
// (docs/scenario-reference.md, Values).
func TestURLVars(t *testing.T) {
	for _, tc := range []struct {
		name, target string
		vars         map[string]string
		want         string // the step's URL; "" for an error
		err          string
	}{
		{"id with a slash stays one segment", "/items/${ID}", map[string]string{"ID": "../__stats"}, "http://h/base/items/..%2F__stats", ""},
		{"spaces and reserved bytes", "/items/${ID}/x", map[string]string{"ID": "a b?c#d&e"}, "http://h/base/items/a%20b%3Fc%23d%26e/x", ""},
		{"query value", "/search?q=${Q}&n=1", map[string]string{"Q": "a&b=c d"}, "http://h/base/search?q=a%26b%3Dc%20d&n=1", ""},
		{"a whole path begins the URL", "${P}", map[string]string{"P": "/health/ready?full=1"}, "http://h/base/health/ready?full=1", ""},
		{"a whole URL begins it", "${API}/items/${ID}", map[string]string{"API": "http://api:8080/v2", "ID": "a/b"}, "http://api:8080/v2/items/a%2Fb", ""},
		{"host of an absolute URL", "http://${HOST}/x/${ID}", map[string]string{"HOST": "api:9090", "ID": "7"}, "http://api:9090/x/7", ""},
		{"a template in a value is data", "/items/${ID}", map[string]string{"ID": "{{ uuid }}"}, "http://h/base/items/%7B%7B%20uuid%20%7D%7D", ""},
		{"dots inside a segment", "/items/v${ID}", map[string]string{"ID": ".."}, "http://h/base/items/v..", ""},
		{"a step up", "/items/${ID}", map[string]string{"ID": ".."}, "", `${ID} is "..", a whole segment of the URL path`},
		{"a step in place", "/items/${ID}/x", map[string]string{"ID": "."}, "", `${ID} is ".", a whole segment`},
		{"dots in a query value", "/items?id=${ID}", map[string]string{"ID": ".."}, "http://h/base/items?id=..", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := "name: u\nbase_url: http://h/base\nload: { rate: 1, duration: 1s }\nflows:\n  - name: f\n    steps:\n      - name: s\n        get: \"" + tc.target + "\"\n"
			sc, err := Parse("u.yaml", []byte(src), testEnv(tc.vars))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := sc.Plan.Flows[0].Steps[0].URL; got != tc.want {
				t.Errorf("URL %q, want %q", got, tc.want)
			}
		})
	}
}
