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
      - { name: s, get: "/${API_TOKEN}%zz", headers: { Authorization: "Bearer ${API_TOKEN}" } }
`
	_, err := Parse("s.yaml", []byte(src), testEnv(map[string]string{"API_TOKEN": canary}))
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	for _, form := range []string{canary, "canary%2F5f1e+9a", "canary%2F5f1e%209a", "5f1e"} {
		if strings.Contains(msg, form) {
			t.Fatalf("error leaks %q:\n%s", form, msg)
		}
	}
	if !strings.Contains(msg, "***") {
		t.Fatalf("nothing redacted; is the error still about the value?\n%s", msg)
	}
}
