package report

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/loadgate/loadgate/engine"
	"github.com/loadgate/loadgate/histogram"
)

// trendOf is a trend metric of n samples spread evenly over lo..hi.
func trendOf(n int, lo, hi time.Duration) Metric {
	h := histogram.New()
	for i := range n {
		h.Record(lo + (hi-lo)*time.Duration(i)/time.Duration(max(n-1, 1)))
	}
	return metricOf(engine.Value{Type: engine.Trend, Hist: h}, 10, false)
}

func rateOf(hits, total int64) Metric {
	return metricOf(engine.Value{Type: engine.Rate, Hits: hits, Total: total}, 10, false)
}

func counterOf(n int64) Metric {
	return metricOf(engine.Value{Type: engine.Counter, Count: n}, 10, false)
}

// runOf is a summary of a 10 s run: 1000 requests of lo..hi ms, fails of
// them failed; the search step takes twice as long.
func runOf(lo, hi time.Duration, fails int64) *Summary {
	return &Summary{Scenario: Scenario{Name: "s", SHA256: "x"}, Status: "passed", Metrics: Metrics{
		"http_req_duration":              trendOf(1000, lo, hi),
		"http_req_duration{step:search}": trendOf(200, 2*lo, 2*hi),
		"http_req_failed":                rateOf(fails, 1000),
		"http_reqs":                      counterOf(1000),
		"checks":                         rateOf(1000-fails, 1000),
	}}
}

func mustRules(t *testing.T, specs ...string) []Rule {
	t.Helper()
	var out []Rule
	for _, s := range specs {
		r, err := ParseRule(s)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

func TestCompare(t *testing.T) {
	base := runOf(10*time.Millisecond, 20*time.Millisecond, 5)
	for _, tc := range []struct {
		name  string
		next  *Summary
		rules []string
		// want lists the regressions as "metric stat"
		want []string
	}{
		{name: "a run against itself", next: base},
		// +5% everywhere: under the default +10% / +15%.
		{name: "small slowdown passes", next: runOf(10500*time.Microsecond, 21*time.Millisecond, 5)},
		// +20 ms on a 20 ms p95: both percentiles, every sub-metric, but
		// the p99 of search's 200 requests, which 200 samples cannot bound
		// above at 95%: its change is not judged (TestCompareNoise).
		{name: "20ms regression", next: runOf(30*time.Millisecond, 40*time.Millisecond, 5),
			want: []string{"http_req_duration p95", "http_req_duration p99", "http_req_duration{step:search} p95"}},
		// +12%: over p95's +10%, under p99's +15%.
		{name: "p95 only", next: runOf(11200*time.Microsecond, 22400*time.Microsecond, 5),
			want: []string{"http_req_duration p95", "http_req_duration{step:search} p95"}},
		{name: "tighter p95 override", next: runOf(10700*time.Microsecond, 21400*time.Microsecond, 5), rules: []string{"p95=+5%"},
			want: []string{"http_req_duration p95", "http_req_duration{step:search} p95"}},
		{name: "metric-qualified override wins over the default", next: runOf(10700*time.Microsecond, 21400*time.Microsecond, 5),
			rules: []string{"http_req_duration{step:search}:p95=+5%"}, want: []string{"http_req_duration{step:search} p95"}},
		{name: "absolute override", next: runOf(30*time.Millisecond, 40*time.Millisecond, 5),
			rules: []string{"p95=+25ms", "p99=+25ms"}, want: []string{"http_req_duration{step:search} p95"}},
		{name: "rules switched off", next: runOf(30*time.Millisecond, 40*time.Millisecond, 5), rules: []string{"p95=off", "p99=off"}},
		// 0.5% → 1.6%: +1.1 percentage points.
		{name: "error rate up 1.1pp", next: runOf(10*time.Millisecond, 20*time.Millisecond, 16), want: []string{"http_req_failed rate"}},
		{name: "error rate up 0.9pp", next: runOf(10*time.Millisecond, 20*time.Millisecond, 14)},
		{name: "error rate override", next: runOf(10*time.Millisecond, 20*time.Millisecond, 14), rules: []string{"error_rate=+0.5pp"},
			want: []string{"http_req_failed rate"}},
		// checks drop from 99.5% to 98.6%: a drop is what -1pp... allows.
		{name: "a drop rule", next: runOf(10*time.Millisecond, 20*time.Millisecond, 14), rules: []string{"checks:rate=-0.5pp", "error_rate=off"},
			want: []string{"checks rate"}},
		{name: "a stat not shown by default", next: runOf(12*time.Millisecond, 20*time.Millisecond, 5), rules: []string{"p10=+10%"},
			want: []string{"http_req_duration p10", "http_req_duration{step:search} p10"}},
		{name: "faster is no regression", next: runOf(5*time.Millisecond, 10*time.Millisecond, 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Compare(base, tc.next, CompareOptions{Rules: mustRules(t, tc.rules...)})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range c.Regressions {
				got = append(got, r.Metric+" "+r.Stat)
				if r.Message == "" || !r.Regression {
					t.Errorf("regression row %+v has no message", r)
				}
			}
			if strings.Join(got, ";") != strings.Join(tc.want, ";") {
				t.Errorf("regressions %q, want %q", got, tc.want)
			}
			if c.Passed != (len(tc.want) == 0) {
				t.Errorf("Passed = %v", c.Passed)
			}
		})
	}
}

// The rows come from the histograms, not from the report's rounded fields,
// and carry absolute and relative deltas.
func TestCompareRows(t *testing.T) {
	base := runOf(10*time.Millisecond, 20*time.Millisecond, 5)
	next := runOf(30*time.Millisecond, 40*time.Millisecond, 15)
	// A percentile the report does not list is computed from the HDR.
	c, err := Compare(base, next, CompareOptions{Rules: mustRules(t, "http_req_duration:p75=+200%")})
	if err != nil {
		t.Fatal(err)
	}
	row := func(metric, stat string) Row {
		for _, r := range c.Rows {
			if r.Metric == metric && r.Stat == stat {
				return r
			}
		}
		t.Fatalf("no row %s %s in %+v", metric, stat, c.Rows)
		return Row{}
	}
	bm, nm := base.Metrics["http_req_duration"], next.Metrics["http_req_duration"]
	bh, _ := bm.Histogram()
	nh, _ := nm.Histogram()
	p75 := row("http_req_duration", "p75")
	if p75.Base != ms(bh.Quantile(0.75)) || p75.New != ms(nh.Quantile(0.75)) || p75.Regression {
		t.Errorf("p75 row %+v", p75)
	}
	p95 := row("http_req_duration", "p95")
	if p95.Delta != round(p95.New-p95.Base, 3) || p95.Change == nil || *p95.Change < 1 || p95.Limit != "+10%" || *p95.Bound != round(p95.Base*1.1, 3) {
		t.Errorf("p95 row %+v", p95)
	}
	fr := row("http_req_failed", "rate")
	if fr.Base != 0.005 || fr.New != 0.015 || fr.Delta != 0.01 || fr.Unit != "share" || fr.Regression {
		t.Errorf("error rate row %+v (+1pp exactly is allowed)", fr)
	}
	if r := row("http_reqs", "rate"); r.Unit != "/s" || r.Base != 100 || r.Change == nil || *r.Change != 0 {
		t.Errorf("http_reqs rate row %+v", r)
	}
	if r := row("checks", "rate"); r.Bound != nil || r.Limit != "" {
		t.Errorf("checks has no default rule: %+v", r)
	}
}

func TestCompareNotesAndErrors(t *testing.T) {
	base := runOf(10*time.Millisecond, 20*time.Millisecond, 5)
	next := runOf(10*time.Millisecond, 20*time.Millisecond, 5)
	delete(next.Metrics, "checks")
	next.Metrics["http_req_duration{step:new}"] = trendOf(10, time.Millisecond, time.Millisecond)
	next.Metrics["http_req_failed"] = rateOf(0, 0)
	next.Scenario.SHA256, next.Partial, next.Status = "y", true, "interrupted"
	// Without a rule on it, an empty metric is a note (with one it is a
	// regression: TestCompareNoDataInNew).
	c, err := Compare(base, next, CompareOptions{Rules: mustRules(t, "error_rate=off")})
	if err != nil {
		t.Fatal(err)
	}
	notes := strings.Join(c.Notes, "\n")
	for _, want := range []string{
		"http_req_failed: no samples in the new run: not compared",
		"the scenario file changed",
		"the new run is partial (status interrupted)",
		"only in the base run: checks",
		"only in the new run: http_req_duration{step:new}",
	} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes lack %q:\n%s", want, notes)
		}
	}
	for _, tc := range []struct{ rule, want string }{
		{"http_req_duration{step:new}:p95=+5%", "http_req_duration{step:new} is not in both runs (only the new run has it)"},
		{"http_req_duration{step:nope}:p95=+5%", "neither run has it"},
	} {
		if _, err := Compare(base, next, CompareOptions{Rules: mustRules(t, tc.rule)}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want %q", tc.rule, err, tc.want)
		}
	}
	bad := runOf(10*time.Millisecond, 20*time.Millisecond, 5)
	m := bad.Metrics["http_req_duration"]
	m.HDR = "bm90IGhkcg=="
	bad.Metrics["http_req_duration"] = m
	if _, err := Compare(base, bad, CompareOptions{}); err == nil || !strings.Contains(err.Error(), "new run: http_req_duration: hdr") {
		t.Errorf("bad hdr: err %v", err)
	}
}

// TestCompareNoDataInNew: a NEW run that measured nothing (a preflight
// failure has no metrics, an interrupted run no samples) regresses on every
// stat a rule covers, as a threshold without data fails; it never passes.
func TestCompareNoDataInNew(t *testing.T) {
	base := runOf(10*time.Millisecond, 20*time.Millisecond, 5)
	preflight := &Summary{Scenario: base.Scenario, Status: "preflight_failed", Metrics: Metrics{}}
	empty := &Summary{Scenario: base.Scenario, Status: "interrupted", Partial: true, Metrics: Metrics{
		"http_req_duration":              trendOf(0, 0, 0),
		"http_req_duration{step:search}": trendOf(0, 0, 0),
		"http_req_failed":                rateOf(0, 0),
		"http_reqs":                      counterOf(0),
		"checks":                         rateOf(0, 0),
	}}
	defaults := []string{"http_req_duration p95", "http_req_duration p99", "http_req_duration{step:search} p95",
		"http_req_duration{step:search} p99", "http_req_failed rate"}
	for _, tc := range []struct {
		name       string
		base, next *Summary
		rules      []string
		want       []string
	}{
		{name: "preflight failed", base: base, next: preflight, want: defaults},
		{name: "no samples", base: base, next: empty, want: defaults},
		{name: "a --max rule on a missing metric", base: base, next: preflight, rules: []string{"checks:rate=-1pp"},
			want: append(slices.Clone(defaults), "checks rate")},
		{name: "a --max rule on an empty metric", base: base, next: empty, rules: []string{"checks:rate=-1pp"},
			want: append(slices.Clone(defaults), "checks rate")},
		{name: "rules off", base: base, next: preflight, rules: []string{"p95=off", "p99=off", "error_rate=off"}},
		{name: "no data in either run", base: empty, next: preflight},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Compare(tc.base, tc.next, CompareOptions{Rules: mustRules(t, tc.rules...)})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range c.Regressions {
				got = append(got, r.Metric+" "+r.Stat)
				if !r.NoData || !strings.Contains(r.Message, "no data in NEW") || r.Bound == nil {
					t.Errorf("regression row %+v: want no_data, a bound and the reason \"no data in NEW\"", r)
				}
			}
			slices.Sort(got)
			want := slices.Sorted(slices.Values(tc.want))
			if !slices.Equal(got, want) {
				t.Errorf("regressions %q, want %q", got, want)
			}
			if c.Passed != (len(want) == 0) {
				t.Errorf("Passed = %v, want %v", c.Passed, len(want) == 0)
			}
			var b bytes.Buffer
			if err := WriteCompareText(&b, c, false); err != nil {
				t.Fatal(err)
			}
			if len(want) > 0 && (!strings.Contains(b.String(), "no data") || !strings.Contains(b.String(), "RESULT: REGRESSION")) {
				t.Errorf("text output:\n%s", b.String())
			}
		})
	}
}

func TestParseRule(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string // canonical rule, or the error's tail
		err  bool
	}{
		{in: "p95=+5%", want: "p95=+5%"},
		{in: "p95=5%", want: "p95=+5%"}, // no sign is an increase
		{in: "p(99.9)=+20ms", want: "p99.9=+20ms"},
		{in: "p99=+1.5s", want: "p99=+1.5s"},
		{in: "error_rate=+0.5pp", want: "error_rate=+0.5pp"},
		{in: "http_req_duration{step:search}:p95=+5%", want: "http_req_duration{step:search}:p95=+5%"},
		// Tags are sorted as report keys are.
		{in: "http_req_duration{ step: a, flow: b }:p95=+5%", want: "http_req_duration{flow:b,step:a}:p95=+5%"},
		{in: "http_req_failed{step:a}:error_rate=+2pp", want: "http_req_failed{step:a}:rate=+2pp"},
		{in: "checks:rate=-1pp", want: "checks:rate=-1pp"},
		{in: "http_reqs:count=-10%", want: "http_reqs:count=-10%"},
		{in: "http_reqs:rate=-5", want: "http_reqs:rate=-5"},
		{in: "p99=off", want: "p99=off"},
		{in: "p95=+10%,+2ms", want: "p95=+10%,+2ms"}, // a floor: both must be exceeded
		{in: "p99=+1h", want: "p99=+1h"},             // thresholds' duration units (slo.DurationUnit)
		{in: "p99=+500μs", want: "p99=+500μs"},
		{in: "p95=+10%, 2ms", want: "p95=+10%,+2ms"},
		{in: "checks:rate=-1pp,-5%", want: "checks:rate=-1pp,-5%"},
		{in: "p95=+10%,-2ms", err: true, want: "a rise and a drop cannot be combined"},
		{in: "p95=+10%,off", err: true, want: "off cannot be combined"},
		{in: "p95=+10%,+1pp", err: true, want: "want a duration (+20ms) or a percent"},
		{in: "p95", err: true, want: "want [METRIC:]STAT=LIMIT"},
		{in: "p95=+5", err: true, want: "want a duration (+20ms) or a percent"},
		{in: "p95=+1pp", err: true, want: "want a duration (+20ms) or a percent"},
		{in: "error_rate=+5ms", err: true, want: "want percentage points (+1pp) or a percent"},
		{in: "p95=+5x", err: true, want: `unknown unit "x"`},
		{in: "p95=+", err: true, want: "want +N%"},
		{in: "p101=+5%", err: true, want: `unknown stat "p101"`},
		{in: "rate=+1pp", err: true, want: "rate needs a metric"},
		{in: "http_reqs:p95=+5%", err: true, want: "p95 does not apply to http_reqs, a counter"},
		{in: "checks:error_rate=+1pp", err: true, want: "error_rate is the rate of http_req_failed"},
		{in: "nope:p95=+5%", err: true, want: `unknown metric "nope"`},
		{in: "http_req_duration{step:a:p95=+5%", err: true, want: "no closing }"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			r, err := ParseRule(tc.in)
			switch {
			case tc.err && err == nil:
				t.Fatalf("no error, got %s", r)
			case tc.err && !strings.Contains(err.Error(), tc.want):
				t.Fatalf("error %q, want %q", err, tc.want)
			case !tc.err && err != nil:
				t.Fatal(err)
			case !tc.err && r.String() != tc.want:
				t.Fatalf("got %s, want %s", r, tc.want)
			}
		})
	}
}

func TestWriteCompare(t *testing.T) {
	base := runOf(10*time.Millisecond, 20*time.Millisecond, 5)
	c, err := Compare(base, runOf(30*time.Millisecond, 40*time.Millisecond, 5), CompareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c.Base.Path, c.New.Path = "base.json", "new.json"
	var b bytes.Buffer
	if err := WriteCompareText(&b, c, false); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"METRIC                          STAT   BASE                        NEW                         DELTA     CHANGE   NOISE    P        LIMIT\n",
		"http_req_duration               p95    19.5ms [19.37ms..19.64ms]   39.52ms [39.37ms..39.64ms]  +20.02ms  +102.6%  ±194µs            +10%   REGRESSION\n",
		"http_req_duration{step:search}  p99    39.81ms [39.6ms..]          79.81ms [79.58ms..]", // p99 of 200: no upper bound
		"http_req_failed                 rate   0.50% [0.21%..1.17%]        0.50% [0.21%..1.17%]        0         0%       ±0.67pp  1        +1pp   ok\n",
		"[low..high]: 95% intervals.",
		"RESULT: REGRESSION: 3 regression(s)",
		"- http_req_duration p95: 39.52ms, base 19.5ms (+20.02ms): more than the 21.45ms allowed (+10%)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text lacks %q:\n%s", want, out)
		}
	}
	b.Reset()
	if err := WriteCompareJSON(&b, c); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Passed      bool             `json:"passed"`
		Regressions []map[string]any `json:"regressions"`
		Rows        []map[string]any `json:"rows"`
		Base        map[string]any   `json:"base"`
	}
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Passed || len(doc.Regressions) != 3 || len(doc.Rows) == 0 || doc.Base["path"] != "base.json" {
		t.Fatalf("json %s", b.String())
	}
	if r := doc.Regressions[0]; r["metric"] != "http_req_duration" || r["stat"] != "p95" || r["limit"] != "+10%" || r["regression"] != true {
		t.Fatalf("regression %v", r)
	}
}

// FuzzParseRule: no input panics, and a rule's canonical form parses back
// to itself.
func FuzzParseRule(f *testing.F) {
	for _, s := range []string{"p95=+5%", "p(99.9)=+20ms", "error_rate=+0.5pp", "http_req_duration{step:a}:p95=-5%",
		"checks:rate=-1pp", "p99=off", "http_reqs:count=+10", "=", "{:}=", "p95=+1e3ms", "p95=+10%,+2ms", "p95=,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRule(s)
		if err != nil {
			return
		}
		back, err := ParseRule(r.String())
		if err != nil {
			t.Fatalf("%q → %q does not parse: %v", s, r, err)
		}
		if back.String() != r.String() || !reflect.DeepEqual(back.Limit, r.Limit) {
			t.Fatalf("%q → %q → %q", s, r, back)
		}
	})
}

// TestCompareRuleFloor: "+10%,+2ms" is a regression only when the change is
// past both; repeated rules for one stat combine (the first replaces the
// default); the floor keeps a relative rule sane on a fast endpoint.
func TestCompareRuleFloor(t *testing.T) {
	base := runOf(time.Millisecond, 1300*time.Microsecond, 5) // p95 ~1.3 ms
	next := runOf(time.Millisecond, 1800*time.Microsecond, 5) // p95 ~1.8 ms: +40%, +0.5 ms
	row := func(c *Comparison, stat string) Row {
		for _, r := range c.Rows {
			if r.Metric == "http_req_duration" && r.Stat == stat {
				return r
			}
		}
		t.Fatalf("no %s row", stat)
		return Row{}
	}
	for _, tc := range []struct {
		name  string
		rules []string
		limit string
		regr  bool
	}{
		{"default: +40% is a regression", nil, "+10%", true},
		{"with a 2 ms floor it is not", []string{"p95=+10%,+2ms"}, "+10%,+2ms", false},
		{"repeated --max combine", []string{"p95=+10%", "p95=+2ms"}, "+10%,+2ms", false},
		{"a floor below the change", []string{"p95=+10%,+0.2ms"}, "+10%,+0.2ms", true},
		{"the first user rule replaces the default", []string{"p95=+50%"}, "+50%", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var rules []Rule
			for _, s := range tc.rules {
				r, err := ParseRule(s)
				if err != nil {
					t.Fatal(err)
				}
				rules = append(rules, r)
			}
			c, err := Compare(base, next, CompareOptions{Rules: rules})
			if err != nil {
				t.Fatal(err)
			}
			if r := row(c, "p95"); r.Limit != tc.limit || r.Regression != tc.regr {
				t.Fatalf("p95 row: limit %q regression %v (base %v new %v bound %v), want %q %v", r.Limit, r.Regression, r.Base, r.New, *r.Bound, tc.limit, tc.regr)
			}
		})
	}
	off, _ := ParseRule("p95=off")
	more, _ := ParseRule("p95=+5%")
	if _, err := Compare(base, next, CompareOptions{Rules: []Rule{off, more}}); err == nil || !strings.Contains(err.Error(), "off cannot be combined") {
		t.Fatalf("off then +5%%: %v", err)
	}
}

// sampledRun is a run of n requests drawn from a log-normal latency around
// median (scaled by slower), with a seed: runs of one build differ only by
// their draw.
func sampledRun(n int, median time.Duration, slower float64, seed uint64) *Summary {
	r := rand.New(rand.NewPCG(seed, 7))
	h := histogram.New()
	for range n {
		h.Record(time.Duration(slower * float64(median) * math.Exp(0.5*r.NormFloat64())))
	}
	return &Summary{Scenario: Scenario{Name: "s", SHA256: "x"}, Status: "passed", Metrics: Metrics{
		"http_req_duration": metricOf(engine.Value{Type: engine.Trend, Hist: h}, 10, false),
		"http_req_failed":   rateOf(0, int64(n)),
	}}
}

// TestCompareNoise: between two draws of one distribution, a p95 that moves
// past its limit by chance is noise, not a regression; a 20% slower run of
// 2,000 requests is a significant regression every time; with significance
// off the old judgement (limit only) is back.
func TestCompareNoise(t *testing.T) {
	noisy, regressions := 0, 0
	for seed := range uint64(20) {
		c, err := Compare(sampledRun(200, 10*time.Millisecond, 1, 2*seed), sampledRun(200, 10*time.Millisecond, 1, 2*seed+1), CompareOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range c.Rows {
			if r.Noise {
				noisy++
			}
		}
		if !c.Passed {
			regressions++
			t.Errorf("seed %d: one distribution flagged: %+v", seed, c.Regressions)
		}
	}
	if noisy == 0 {
		t.Fatal("no change past a limit in 20 pairs of 200 samples: the test shows nothing")
	}
	t.Logf("20 pairs of one distribution, n=200: %d rows past their limits judged noise, %d regressions", noisy, regressions)
	for seed := range uint64(20) {
		c, err := Compare(sampledRun(2000, 10*time.Millisecond, 1, 100+2*seed), sampledRun(2000, 10*time.Millisecond, 1.2, 101+2*seed), CompareOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if c.Passed {
			t.Errorf("seed %d: 20%% slower not flagged: %+v", seed, c.Rows)
		}
	}
	// Significance off: the first noisy pair is a regression again.
	for seed := range uint64(20) {
		base, next := sampledRun(200, 10*time.Millisecond, 1, 2*seed), sampledRun(200, 10*time.Millisecond, 1, 2*seed+1)
		on, _ := Compare(base, next, CompareOptions{})
		off, _ := Compare(base, next, CompareOptions{Confidence: -1})
		if slices.ContainsFunc(on.Rows, func(r Row) bool { return r.Noise }) {
			if off.Passed || off.Confidence != 0 || off.Rows[0].PValue != nil {
				t.Fatalf("seed %d, significance off: passed %v, confidence %v", seed, off.Passed, off.Confidence)
			}
			return
		}
	}
}

// TestPool: several base runs pool exactly: trends are the merge of their
// histograms, rates the pooled hits over the pooled total, counters the
// mean of one run; and the pooled base is less noisy than one run.
func TestPool(t *testing.T) {
	a, b, c := sampledRun(500, 10*time.Millisecond, 1, 1), sampledRun(500, 10*time.Millisecond, 1, 2), sampledRun(500, 10*time.Millisecond, 1, 3)
	a.Metrics["http_reqs"], b.Metrics["http_reqs"], c.Metrics["http_reqs"] = counterOf(500), counterOf(500), counterOf(500)
	p, err := Pool([]*Summary{a, b, c})
	if err != nil {
		t.Fatal(err)
	}
	want := histogram.New()
	for _, s := range []*Summary{a, b, c} {
		m := s.Metrics["http_req_duration"]
		h, _ := m.Histogram()
		want.Merge(h)
	}
	pm := p.Metrics["http_req_duration"]
	got, _ := pm.Histogram()
	if !got.Equal(want) || p.Metrics["http_req_duration"].Count != 1500 {
		t.Fatalf("pooled trend: %d samples, equal to the merge: %v", got.Count(), got.Equal(want))
	}
	if m := p.Metrics["http_req_failed"]; m.Total != 1500 || m.Hits != 0 {
		t.Fatalf("pooled rate %+v", m)
	}
	if m := p.Metrics["http_reqs"]; m.Count != 500 {
		t.Fatalf("pooled counter %+v, want the mean 500", m)
	}
	next := sampledRun(500, 10*time.Millisecond, 1, 4)
	one, _ := Compare(a, next, CompareOptions{})
	three, _ := Compare(p, next, CompareOptions{})
	spreadOf := func(c *Comparison) float64 {
		for _, r := range c.Rows {
			if r.Metric == "http_req_duration" && r.Stat == "p95" && r.Spread != nil {
				return *r.Spread
			}
		}
		t.Fatal("no p95 spread")
		return 0
	}
	if s1, s3 := spreadOf(one), spreadOf(three); s3 >= s1 {
		t.Fatalf("noise with 3 base runs %v, with one %v: pooling did not help", s3, s1)
	}
	if _, err := Pool(nil); err == nil {
		t.Fatal("pooled nothing")
	}
}

// TestCompareGolden: the text and JSON of three comparisons, against
// testdata/compare_*.{txt,json} (go test ./report -update rewrites them):
// the default rules on a slower run (regressions, noise and intervals), a
// relative limit with a floor and repeated rules on a fast endpoint whose
// change is past one limit only, and three base runs pooled against one
// new run with significance off.
func TestCompareGolden(t *testing.T) {
	pooled, err := Pool([]*Summary{
		runOf(10*time.Millisecond, 20*time.Millisecond, 5),
		runOf(11*time.Millisecond, 21*time.Millisecond, 3),
		runOf(9*time.Millisecond, 19*time.Millisecond, 7),
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		base, new *Summary
		opt       CompareOptions
	}{
		{"compare_default", runOf(10*time.Millisecond, 20*time.Millisecond, 5), runOf(12*time.Millisecond, 24*time.Millisecond, 9), CompareOptions{}},
		{"compare_floor", runOf(time.Millisecond, 1300*time.Microsecond, 5), runOf(time.Millisecond, 1800*time.Microsecond, 5),
			CompareOptions{Rules: mustRules(t, "p95=+10%,+2ms", "p99=+10%", "p99=+1ms", "error_rate=+0.5pp")}},
		{"compare_pooled", pooled, runOf(10*time.Millisecond, 23*time.Millisecond, 12), CompareOptions{Confidence: -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Compare(tc.base, tc.new, tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			c.Base.Path, c.New.Path = "base.json", "new.json"
			var b bytes.Buffer
			if err := WriteCompareText(&b, c, false); err != nil {
				t.Fatal(err)
			}
			goldenAt(t, "testdata/"+tc.name+".txt", b.Bytes())
			b.Reset()
			if err := WriteCompareJSON(&b, c); err != nil {
				t.Fatal(err)
			}
			goldenAt(t, "testdata/"+tc.name+".json", b.Bytes())
		})
	}
}
