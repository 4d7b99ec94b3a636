package slo

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/loadgate/loadgate/engine"
)

// exprCases is the grammar table; the fuzz targets seed from it too.
var exprCases = []struct {
	name  string
	in    string
	canon string  // String() of the result; "" when an error is expected
	limit float64 // Lit.Value (ms, share or number)
	off   int     // error offset
	msg   string  // exact error message
}{
	// k6's own forms parse as written.
	{name: "k6 bare number is ms", in: "p(95)<500", canon: "p(95) < 500", limit: 500},
	{name: "k6 rate", in: "rate<0.01", canon: "rate < 0.01", limit: 0.01},
	{name: "k6 count", in: "count>100", canon: "count > 100", limit: 100},
	{name: "k6 triple equals", in: "max===500", canon: "max == 500", limit: 500},
	// Durations convert to ms; the canonical form keeps the unit.
	{name: "decimal percentile and seconds", in: "p(99.9) <= 1.5s", canon: "p(99.9) <= 1.5s", limit: 1500},
	{name: "minutes", in: "med != 2m", canon: "med != 2m", limit: 120000},
	{name: "micro sign", in: "min >= 500µs", canon: "min >= 500us", limit: 0.5},
	{name: "ascii micro", in: "avg<250us", canon: "avg < 250us", limit: 0.25},
	{name: "spaces everywhere", in: "  p ( 50 )\t>  .5 ", canon: "p(50) > 0.5", limit: 0.5},
	{name: "percentile bounds", in: "p(0)<1ms", canon: "p(0) < 1ms", limit: 1},
	{name: "p100", in: "p(100.0)<1h", canon: "p(100) < 1h", limit: 3.6e6},
	{name: "percent is a share", in: "rate > 99%", canon: "rate > 99%", limit: 0.99},
	{name: "sli value", in: "value < 0.8", canon: "value < 0.8", limit: 0.8},
	// Baselines are kept for later resolution.
	{name: "baseline", in: "p(95)<baseline", canon: "p(95) < baseline"},
	{name: "baseline plus percent", in: "p(95) < baseline + 10%", canon: "p(95) < baseline + 10%", limit: 0.1},
	{name: "baseline minus duration", in: "avg<baseline-5ms", canon: "avg < baseline - 5ms", limit: 5},
	{name: "baseline times", in: "p(99)<baseline*1.1", canon: "p(99) < baseline * 1.1", limit: 1.1},
	{name: "baseline plus percentage points", in: "rate<baseline+1pp", canon: "rate < baseline + 1pp", limit: 0.01},
	{name: "percentage points alone parse", in: "rate < 0.5pp", canon: "rate < 0.5pp", limit: 0.005}, // Check refuses it

	{name: "empty", in: " ", off: 1, msg: "empty expression: want AGG OP VALUE, e.g. p(95) < 300ms"},
	{name: "percentile above 100", in: "p(101)<1", off: 2, msg: "percentile 101 is out of range: want 0 to 100"},
	{name: "percentile NaN", in: "p(NaN)<1", off: 2, msg: `unexpected "NaN": want a percentile from 0 to 100 in p(N)`},
	{name: "negative percentile", in: "p(-1)<1", off: 2, msg: `unexpected "-": want a percentile from 0 to 100 in p(N)`},
	{name: "no exponents", in: "p(1e2)<1", off: 3, msg: `unexpected "e2": want ) to close p(1`},
	{name: "unclosed", in: "p(95", off: 4, msg: "unexpected end of text: want ) to close p(95"},
	{name: "p without parens", in: "p<1", off: 1, msg: `unexpected "<": want ( after p, as in p(95)`},
	{name: "unknown aggregation", in: "p95 < 1", off: 0, msg: `unknown aggregation "p95": want p(N), avg, min, max, med, rate, count or value`},
	{name: "no aggregation", in: "< 1", off: 0, msg: `unexpected "<": want an aggregation: p(N), avg, min, max, med, rate, count or value`},
	{name: "single equals", in: "avg = 1", off: 4, msg: `unexpected "=": want a comparison: <, <=, >, >=, == or !=`},
	{name: "no operator", in: "avg 1", off: 4, msg: `unexpected "1": want a comparison: <, <=, >, >=, == or !=`},
	{name: "missing value", in: "avg <", off: 5, msg: "missing value: want a duration (300ms), a number, a percent (1%) or baseline"},
	{name: "word value", in: "avg < nope", off: 6, msg: `unexpected "nope": want a value: a duration (300ms), a number, a percent (1%) or baseline`},
	{name: "negative value", in: "avg < -1", off: 6, msg: `unexpected "-": want a value: a duration (300ms), a number, a percent (1%) or baseline`},
	{name: "unknown unit", in: "avg<1xs", off: 5, msg: `unknown unit "xs": want ns, us, µs, ms, s, m, h, % or pp`},
	{name: "times percentage points", in: "rate<baseline*1pp", off: 14, msg: `unexpected "1pp": want a plain number after *, e.g. baseline * 1.1`},
	{name: "trailing junk", in: "avg<1 junk", off: 6, msg: `unexpected "junk": want the end of the expression`},
	{name: "trailing symbol", in: "p(95)<1ms;", off: 9, msg: `unexpected ";": want the end of the expression`},
	{name: "junk after baseline", in: "p(95)<baseline foo", off: 15, msg: `unexpected "foo": want +, -, * or the end after baseline`},
	{name: "times a percent", in: "p(95)<baseline*10%", off: 15, msg: `unexpected "10%": want a plain number after *, e.g. baseline * 1.1`},
	{name: "baseline operand missing", in: "p(95)<baseline+", off: 15, msg: "unexpected end of text: want a value: a duration (300ms), a number, a percent (1%) or baseline"},
	{name: "huge number", in: "count<1" + strings.Repeat("0", 400), off: 6, msg: "number out of range"},
}

func TestParseExpr(t *testing.T) {
	for _, tc := range exprCases {
		t.Run(tc.name, func(t *testing.T) {
			e, err := ParseExpr(tc.in)
			if tc.msg != "" {
				var se *SyntaxError
				if !errors.As(err, &se) {
					t.Fatalf("ParseExpr(%q) = %v, %v; want *SyntaxError", tc.in, e, err)
				}
				if se.Offset != tc.off || se.Msg != tc.msg {
					t.Fatalf("ParseExpr(%q) error at %d %q; want at %d %q", tc.in, se.Offset, se.Msg, tc.off, tc.msg)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseExpr(%q): %v", tc.in, err)
			}
			if got := e.String(); got != tc.canon {
				t.Errorf("String() = %q, want %q", got, tc.canon)
			}
			if e.Lit.Value != tc.limit {
				t.Errorf("Lit.Value = %v, want %v", e.Lit.Value, tc.limit)
			}
		})
	}
}

func TestExprLimit(t *testing.T) {
	cases := []struct {
		in   string
		base float64
		want float64
	}{
		{"p(95) < 300ms", 1, 300},      // the base is ignored without baseline
		{"p(95) < baseline", 200, 200}, // as is
		{"p(95) < baseline + 10%", 200, 220},
		{"p(95) < baseline - 5%", 200, 190},
		{"p(95) < baseline + 5ms", 200, 205},
		{"p(95) < baseline - 0.5s", 2000, 1500},
		{"p(95) < baseline * 1.5", 200, 300},
		// On a rate, % is a share of the baseline and pp an absolute margin.
		{"rate < baseline + 10%", 0.02, 0.022},
		{"rate < baseline + 1pp", 0.02, 0.03},
		{"rate < baseline + 1pp", 0, 0.01},
		{"rate > baseline - 2pp", 0.99, 0.97},
	}
	for _, tc := range cases {
		e, err := ParseExpr(tc.in)
		if err != nil {
			t.Fatal(err)
		}
		if got := e.Limit(tc.base); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("%q.Limit(%v) = %v, want %v", tc.in, tc.base, got, tc.want)
		}
	}
}

func TestExprCheck(t *testing.T) {
	trend, _ := engine.LookupMetric("http_req_duration")
	rate, _ := engine.LookupMetric("http_req_failed")
	counter, _ := engine.LookupMetric("http_reqs")
	cases := []struct {
		name string
		m    engine.Metric
		in   string
		off  int
		msg  string // "" when the expression fits
	}{
		{"percentile on trend", trend, "p(95) < 300ms", 0, ""},
		{"bare ms on trend", trend, "avg < 300", 0, ""},
		{"relative percent on trend", trend, "p(95) < baseline + 10%", 0, ""},
		{"rate on trend", trend, "rate < 1", 0, "http_req_duration is a trend: use p(N), avg, min, max, med"},
		{"percent on trend", trend, "p(95) < 10%", 8, "http_req_duration is a trend: want a duration like 300ms (a percent only as baseline + N%)"},
		{"rate on rate", rate, "rate < 1%", 0, ""},
		{"share on rate", rate, "rate <= 1", 0, ""},
		{"percentile on rate", rate, "p(95) < 1", 0, "http_req_failed is a rate: use rate"},
		{"duration on rate", rate, "rate < 300ms", 7, "http_req_failed is a rate: a duration does not apply; want a share like 0.01 or a percent like 1%"},
		{"share above one", rate, "rate > 99", 7, "http_req_failed is a rate, a share from 0 to 1: write 99% or 0.99"},
		{"percent above 100", rate, "rate < 150%", 7, "http_req_failed is a rate, a share from 0 to 1: 150% is more than 100%"},
		{"count on counter", counter, "count > 100", 0, ""},
		{"per second on counter", counter, "rate >= 50", 0, ""},
		{"avg on counter", counter, "avg > 1", 0, "http_reqs is a counter: use count, rate"},
		{"duration on counter", counter, "count > 1s", 8, "http_reqs is a counter: a duration does not apply; want a number"},
		{"value on built-in", counter, "value > 1", 0, "value is for sli metrics; http_reqs is a counter: use count, rate"},
		{"percentage points on rate", rate, "rate < baseline + 1pp", 0, ""},
		{"percentage points without baseline", rate, "rate < 1pp", 7, "pp (percentage points) is a margin relative to a baseline, as in rate < baseline + 1pp; a share alone is a percent: 1%"},
		{"percentage points on trend", trend, "p(95) < baseline + 1pp", 19, "http_req_duration is a trend: pp (percentage points) is a margin on a rate, as in baseline + 1pp"},
		{"percentage points on counter", counter, "count < baseline + 1pp", 19, "http_reqs is a counter: pp (percentage points) is a margin on a rate, as in baseline + 1pp"},
		{"below zero", rate, "rate < 0", 7, "nothing is below 0, so rate < 0 could never pass: write == 0 (or <= 0)"},
		{"at most zero", rate, "rate <= 0", 0, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e, err := ParseExpr(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			err = e.Check(tc.m)
			if tc.msg == "" {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				return
			}
			var se *SyntaxError
			if !errors.As(err, &se) || se.Offset != tc.off || se.Msg != tc.msg {
				t.Fatalf("Check = %v; want at %d %q", err, tc.off, tc.msg)
			}
		})
	}
}

// TestExprCheckBaseline: a limit relative to a baseline of 0 is 0 whatever
// its margin, and a limit below 0 cannot be passed: both are refused with
// the form to write instead (docs/thresholds.md, Baselines).
func TestExprCheckBaseline(t *testing.T) {
	trend, _ := engine.LookupMetric("http_req_duration")
	rate, _ := engine.LookupMetric("http_req_failed")
	counter, _ := engine.LookupMetric("http_reqs")
	cases := []struct {
		name string
		m    engine.Metric
		in   string
		base float64
		off  int
		msg  string // "" when it can pass
	}{
		{"perfect baseline, relative percent", rate, "rate < baseline + 1%", 0, 18,
			"the baseline's rate of http_req_failed is 0, so baseline + 1% is 0 whatever the margin: write baseline + 1pp (percentage points) for an absolute margin"},
		{"perfect baseline, times", rate, "rate <= baseline * 1.5", 0, 19,
			"the baseline's rate of http_req_failed is 0, so baseline * 1.5 is 0 whatever the margin: write baseline + 1pp (percentage points) for an absolute margin"},
		{"perfect baseline, percentage points", rate, "rate < baseline + 1pp", 0, 0, ""},
		{"perfect baseline as it is, <=", rate, "rate <= baseline", 0, 0, ""},
		{"perfect baseline as it is, <", rate, "rate < baseline", 0, 7,
			"baseline resolves to 0 (the baseline's rate is 0): nothing is below it, so it could never pass"},
		{"errors in the baseline, relative percent", rate, "rate < baseline + 10%", 0.02, 0, ""},
		{"zero count, relative", counter, "count < baseline + 10%", 0, 19,
			"the baseline's value of http_reqs is 0, so baseline + 10% is 0 whatever the margin: write baseline + N (a number adds) for an absolute margin"},
		{"zero trend, times", trend, "max < baseline * 2", 0, 17,
			"the baseline's value of http_req_duration is 0, so baseline * 2 is 0 whatever the margin: write baseline + 10ms (a duration) for an absolute margin"},
		{"below zero", trend, "p(95) < baseline - 5ms", 3, 19,
			"baseline - 5ms resolves to -2ms (the baseline's value is 3ms): nothing is below it, so it could never pass"},
		{"lower bound on zero", rate, "rate > baseline - 1%", 0, 18,
			"the baseline's rate of http_req_failed is 0, so baseline - 1% is 0 whatever the margin: write baseline - 1pp (percentage points) for an absolute margin"},
		{"no baseline", rate, "rate < 1%", 0, 0, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e, err := ParseExpr(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			err = e.CheckBaseline(tc.m, tc.base)
			if tc.msg == "" {
				if err != nil {
					t.Fatalf("CheckBaseline: %v", err)
				}
				return
			}
			var se *SyntaxError
			if !errors.As(err, &se) || se.Offset != tc.off || se.Msg != tc.msg {
				t.Fatalf("CheckBaseline = %v; want at %d %q", err, tc.off, tc.msg)
			}
		})
	}
}

var selectorCases = []struct {
	name   string
	in     string
	metric string
	tags   []engine.Tag
	off    int
	msg    string
}{
	{name: "bare metric", in: "http_req_duration", metric: "http_req_duration"},
	{name: "tags with spaces", in: " http_req_duration { step : checkout , flow:browse } ", metric: "http_req_duration",
		tags: []engine.Tag{{Key: "step", Value: "checkout"}, {Key: "flow", Value: "browse"}}},
	{name: "value with colons (k6)", in: "m{url:http://x:8080/a}", metric: "m", tags: []engine.Tag{{Key: "url", Value: "http://x:8080/a"}}},
	{name: "value with inner space", in: "m{step: check out }", metric: "m", tags: []engine.Tag{{Key: "step", Value: "check out"}}},

	{name: "empty", in: "", off: 0, msg: "unexpected end of text: want a metric name, e.g. http_req_duration"},
	{name: "digit first", in: "9x", off: 0, msg: `unexpected "9x": want a metric name, e.g. http_req_duration`},
	{name: "open brace", in: "m{", off: 2, msg: "unexpected end of text: want a tag key, e.g. step"},
	{name: "empty braces", in: "m{}", off: 2, msg: `unexpected "}": want a tag key, e.g. step`},
	{name: "no colon", in: "m{a}", off: 3, msg: `unexpected "}": want : after tag key a`},
	{name: "no value", in: "m{a: }", off: 5, msg: `unexpected "}": want a tag value after :`},
	{name: "trailing comma", in: "m{a:b,}", off: 6, msg: `unexpected "}": want a tag key, e.g. step`},
	{name: "duplicate key", in: "m{a:b, a:c}", off: 7, msg: `duplicate tag "a"`},
	{name: "unclosed", in: "m{a:b", off: 5, msg: "unexpected end of text: want , or } after a tag"},
	{name: "junk after brace", in: "m{a:b} x", off: 7, msg: `unexpected "x": want the end after }`},
	{name: "junk after name", in: "m x", off: 2, msg: `unexpected "x": want { or the end after the metric name`},
	{name: "nested brace", in: "m{a:b{c}", off: 5, msg: `unexpected "{" in a tag value: want , or }`},
}

func TestParseSelector(t *testing.T) {
	for _, tc := range selectorCases {
		t.Run(tc.name, func(t *testing.T) {
			m, tags, err := ParseSelector(tc.in)
			if tc.msg != "" {
				var se *SyntaxError
				if !errors.As(err, &se) || se.Offset != tc.off || se.Msg != tc.msg {
					t.Fatalf("ParseSelector(%q) = %v; want at %d %q", tc.in, err, tc.off, tc.msg)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseSelector(%q): %v", tc.in, err)
			}
			if m != tc.metric || !reflect.DeepEqual(tags, tc.tags) {
				t.Errorf("ParseSelector(%q) = %q %v, want %q %v", tc.in, m, tags, tc.metric, tc.tags)
			}
		})
	}
}
