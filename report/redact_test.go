package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/loadgate/loadgate/engine"
)

func TestRedactorString(t *testing.T) {
	for _, tc := range []struct {
		name    string
		secrets []string
		in      string
		want    string
	}{
		{"no secrets", nil, "token abc", "token abc"},
		{"empty secret ignored", []string{""}, "token abc", "token abc"},
		{"every occurrence", []string{"abc"}, "abc and abc", "*** and ***"},
		{"longest first: no tail left", []string{"s3cr", "s3cr3t-long"}, "pw=s3cr3t-long", "pw=***"},
		{"query-escaped form", []string{"p@ss word/1"}, "GET /?pw=p%40ss+word%2F1: timeout", "GET /?pw=***: timeout"},
		{"path-escaped form", []string{"p@ss word/1"}, "GET /u/p@ss%20word%2F1", "GET /u/***"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := NewRedactor(tc.secrets).String(tc.in); got != tc.want {
				t.Errorf("String(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
	var nilR *Redactor
	if got := nilR.String("x"); got != "x" {
		t.Errorf("nil Redactor changed the text: %q", got)
	}
	// Every Redactor, nil too, cuts URLs to their origin (docs/reports.md,
	// "What outputs may name"); a secret is replaced before the cut.
	for _, r := range []*Redactor{nil, NewRedactor(nil), NewRedactor([]string{"tok-12345"})} {
		in := `Post "https://u:pw@prom.example:9090/p/tok-12345/api/v1/query?k=tok-12345": EOF`
		if got, want := r.String(in), `Post "https://prom.example:9090": EOF`; got != want {
			t.Errorf("String(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestRedactionInReports plants a canary secret in every free-text field of
// a run and checks that no report format contains it.
func TestRedactionInReports(t *testing.T) {
	const canary = "CANARY-8f2c1e"
	r := testRun(t)
	r.Redactor = NewRedactor([]string{canary})
	r.Scenario.Name = "smoke " + canary
	r.Reasons = append(r.Reasons, "preflight: dial https://"+canary+"@api.example: refused")
	r.Warnings = append(r.Warnings, "env SECRET="+canary+" looks like a secret")
	r.Thresholds[1].Reason = "baseline " + canary + " unreadable"
	final := *r.Final
	final.ErrorSamples[engine.KindTimeout] = "GET /x?key=" + canary + ": timeout after 5s"
	r.Final = &final

	s := Build(r)
	var j, txt bytes.Buffer
	if err := WriteJSON(&j, s); err != nil {
		t.Fatal(err)
	}
	if err := WriteText(&txt, s, true); err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{"json": j.String(), "text": txt.String()} {
		if strings.Contains(out, canary) {
			t.Errorf("%s report contains the secret", name)
		}
		if !strings.Contains(out, "GET /x?key=***: timeout") {
			t.Errorf("%s report lost the redacted sample", name)
		}
	}
	// The userinfo goes with the URL cut, and the secret with it.
	if got := s.Reasons[len(s.Reasons)-1]; got != "preflight: dial https://api.example: refused" {
		t.Errorf("reason = %q", got)
	}
}
