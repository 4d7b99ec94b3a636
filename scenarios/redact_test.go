package scenarios

import (
	"strings"
	"testing"
)

// TestErrorsRedactSecrets: an error that quotes a substituted value does
// not print the secret in it, nor its URL-escaped form.
func TestErrorsRedactSecrets(t *testing.T) {
	const canary = "canary/5f1e 9a"
	src := `name: t
base_url: "http://h/${API_TOKEN} x"
load: { rate: 1, duration: 1s }
flows:
  - name: f
    steps:
      - { name: s, get: "/${API_TOKEN} %zz", headers: { Authorization: "Bearer ${API_TOKEN}" } }
`
	_, err := Parse("s.yaml", []byte(src), testEnv(map[string]string{"API_TOKEN": canary}))
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	// The URL's ${...} is percent-encoded (every byte but A-Z a-z 0-9 - . _ ~),
	// so the message quotes that form.
	for _, form := range []string{canary, "canary%2F5f1e+9a", "canary%2F5f1e%209a", "5f1e"} {
		if strings.Contains(msg, form) {
			t.Fatalf("error leaks %q:\n%s", form, msg)
		}
	}
	if !strings.Contains(msg, "***") {
		t.Fatalf("nothing redacted; is the error still about the value?\n%s", msg)
	}
}

// TestErrorsRedactFragments: a parser that quotes part of a value (the
// port of a URL) does not print that part of the secret either.
func TestErrorsRedactFragments(t *testing.T) {
	src := "name: t\nbase_url: \"http://h:${API_TOKEN}\"\nload: { rate: 1, duration: 1s }\nflows:\n  - name: f\n    steps:\n      - { name: s, get: / }\n"
	_, err := Parse("s.yaml", []byte(src), testEnv(map[string]string{"API_TOKEN": "tok-5f1e9a7c/rest"}))
	if err == nil || strings.Contains(err.Error(), "5f1e9a7c") || !strings.Contains(err.Error(), "invalid port") {
		t.Fatalf("err = %v", err)
	}
	for _, tc := range []struct{ msg, secret, want string }{
		{`port ":tok-5f1e9a7c" bad`, "tok-5f1e9a7c/rest", `port ":***" bad`},
		{"short tok-5f1 stays", "tok-5f1e9a7c/rest", "short tok-5f1 stays"}, // 7 bytes: too short to tell
		{"abc", "ab", "abc"}, // short secrets are replaced whole elsewhere
	} {
		if got := redactFragments(tc.msg, tc.secret); got != tc.want {
			t.Errorf("redactFragments(%q) = %q, want %q", tc.msg, got, tc.want)
		}
	}
}
