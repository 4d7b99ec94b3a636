package slo

import (
	"errors"
	"testing"

	"github.com/loadgate/loadgate/engine"
)

// FuzzParseExpr checks that ParseExpr never panics, that every error is a
// *SyntaxError inside the text, and that the canonical form parses back to
// itself.
func FuzzParseExpr(f *testing.F) {
	for _, tc := range exprCases {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseExpr(s)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) || se.Offset < 0 || se.Offset > len(s) {
				t.Fatalf("ParseExpr(%q): bad error %#v", s, err)
			}
			return
		}
		if e.Agg == AggPercentile && !(e.P >= 0 && e.P <= 100) {
			t.Fatalf("ParseExpr(%q): percentile %v", s, e.P)
		}
		canon := e.String()
		e2, err := ParseExpr(canon)
		if err != nil {
			t.Fatalf("ParseExpr(%q) -> %q does not parse: %v", s, canon, err)
		}
		if e2.String() != canon || e2.Lit != e.Lit || e2.P != e.P {
			t.Fatalf("ParseExpr(%q): %q reparses as %q", s, canon, e2.String())
		}
		// With a baseline, a limit CheckBaseline lets through can be
		// passed: not below 0 for <, not a multiple of a zero baseline
		// (docs/thresholds.md, Baselines). Errors point inside the text.
		for _, m := range engine.Metrics {
			if e.Check(m) != nil {
				continue
			}
			for _, base := range []float64{0, 0.02, 250} {
				err := e.CheckBaseline(m, base)
				var se *SyntaxError
				switch {
				case err != nil && (!errors.As(err, &se) || se.Offset < 0 || se.Offset > len(s)):
					t.Fatalf("%q on %s, baseline %v: bad error %#v", s, m.Name, base, err)
				case err != nil || !e.Baseline:
				case base == 0 && e.Relative():
					t.Fatalf("%q on %s: a relative limit on a zero baseline passed the check", s, m.Name)
				case e.Op == Less && e.Limit(base) <= 0:
					t.Fatalf("%q on %s, baseline %v: limit %v cannot be passed", s, m.Name, base, e.Limit(base))
				}
			}
		}
	})
}

// FuzzParseSelector checks that ParseSelector never panics, that errors
// point inside the text, and that tags are non-empty and unique.
func FuzzParseSelector(f *testing.F) {
	for _, tc := range selectorCases {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, tags, err := ParseSelector(s)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) || se.Offset < 0 || se.Offset > len(s) {
				t.Fatalf("ParseSelector(%q): bad error %#v", s, err)
			}
			return
		}
		if m == "" {
			t.Fatalf("ParseSelector(%q): empty metric", s)
		}
		seen := map[string]bool{}
		for _, tag := range tags {
			if tag.Key == "" || tag.Value == "" || seen[tag.Key] {
				t.Fatalf("ParseSelector(%q): bad tags %v", s, tags)
			}
			seen[tag.Key] = true
		}
	})
}
