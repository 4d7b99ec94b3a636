package report

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/loadgate/loadgate/engine"
	"github.com/loadgate/loadgate/slo"
)

// Stat names a statistic that Compare puts side by side: p50, p95, p99.9
// (any percentile), min, avg, med, max of a trend; rate of a rate (a share)
// or of a counter (per second); count of a counter. ErrorRate is the rate
// of http_req_failed, as deployment gates call it.
const (
	StatRate      = "rate"
	StatCount     = "count"
	StatErrorRate = "error_rate"
)

// LimitUnit is how a rule's allowance is expressed.
type LimitUnit uint8

// Allowance units.
const (
	Relative LimitUnit = iota // 10%: a share of the base value
	Millis                    // 20ms, 1.5s: an absolute change of a trend
	Points                    // 0.5pp: percentage points of a rate
	Plain                     // 5: an absolute change in the metric's unit (counters)
)

// Limit is the change a rule allows: up to each of its Amounts above the
// base value, or below it when Down (a drop is the regression: checks,
// http_reqs). A new value is a regression only when it is beyond every
// amount, so "+10%,+2ms" is a relative limit with an absolute floor: on a
// 1 ms endpoint a 10% change is noise, and only a change past both counts.
type Limit struct {
	Amounts []Amount
	Down    bool
	// Off disables the rule (and the default it overrides).
	Off bool
	// Text is the limit as written, canonical: "+10%", "+20ms", "-1pp",
	// "+10%,+2ms", "off".
	Text string
}

// Amount is one allowance of a Limit.
type Amount struct {
	Value float64 // ≥ 0; a share for Relative and Points, ms for Millis
	Unit  LimitUnit
}

// Bound is the worst value a new run may have, given the base value: the
// most lenient of the amounts.
func (l Limit) Bound(base float64) float64 {
	var bound float64
	for i, a := range l.Amounts {
		d := a.Value
		if a.Unit == Relative {
			d = base * a.Value
		}
		b := base + d
		if l.Down {
			b = base - d
		}
		if i == 0 || (l.Down && b < bound) || (!l.Down && b > bound) {
			bound = b
		}
	}
	return bound
}

// Exceeded reports whether v is worse than bound. A tolerance of a
// millionth absorbs float noise, so that a run compared with itself (or a
// change exactly at the limit) is never a regression.
func (l Limit) Exceeded(v, bound float64) bool {
	eps := 1e-9 * max(1, abs(bound))
	if l.Down {
		return v < bound-eps
	}
	return v > bound+eps
}

// combine adds the amounts of o to l, as "--max p95=+10% --max p95=+2ms"
// does: one rule whose new value must exceed both.
func (l Limit) combine(o Limit) (Limit, error) {
	switch {
	case l.Off || o.Off:
		return Limit{}, fmt.Errorf("%s and %s: off cannot be combined with a limit", l.Text, o.Text)
	case l.Down != o.Down:
		return Limit{}, fmt.Errorf("%s and %s: a rise and a drop cannot be combined", l.Text, o.Text)
	}
	l.Amounts = append(slices.Clone(l.Amounts), o.Amounts...)
	l.Text += "," + o.Text
	return l, nil
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// Rule is one regression rule: Stat of Metric may change by at most Limit.
// Metric "" is the stat's default scope: for a trend stat, http_req_duration
// and every sub-metric of it; for error_rate, http_req_failed.
type Rule struct {
	Metric string // a report key (canonical selector) or ""
	Stat   string
	Limit  Limit
}

func (r Rule) String() string { return r.key() + "=" + r.Limit.Text }

// key is the rule's [METRIC:]STAT.
func (r Rule) key() string {
	if r.Metric != "" {
		return r.Metric + ":" + r.Stat
	}
	return r.Stat
}

// DefaultRules are the regression rules common deployment gates use: p95
// may grow 10% and p99 15% on http_req_duration and its sub-metrics, and
// the error rate (http_req_failed, whole run) one percentage point.
func DefaultRules() []Rule {
	return []Rule{
		{Stat: "p95", Limit: Limit{Amounts: []Amount{{0.10, Relative}}, Text: "+10%"}},
		{Stat: "p99", Limit: Limit{Amounts: []Amount{{0.15, Relative}}, Text: "+15%"}},
		{Stat: StatErrorRate, Limit: Limit{Amounts: []Amount{{0.01, Points}}, Text: "+1pp"}},
	}
}

// ParseRule parses "[METRIC:]STAT=LIMIT[,LIMIT...]", as in "p95=+5%",
// "p99=+20ms", "p95=+10%,+2ms" (both must be exceeded), "error_rate=+0.5pp",
// "http_req_duration{step:search}:p95=+5%", "checks:rate=-1pp", "p99=off".
// A limit without sign is an increase.
func ParseRule(s string) (Rule, error) {
	lhs, rhs, ok := cutLast(s, "=")
	if !ok {
		return Rule{}, fmt.Errorf("%q: want [METRIC:]STAT=LIMIT, e.g. p95=+10%% or http_req_failed:rate=+1pp", s)
	}
	var r Rule
	stat := strings.TrimSpace(lhs)
	if strings.Contains(stat, "{") && !strings.Contains(stat, "}") {
		return Rule{}, fmt.Errorf("%q: the metric's tags have no closing }", s)
	}
	if i := strings.LastIndexByte(stat, '}'); i >= 0 || strings.Contains(stat, ":") {
		if i < 0 {
			i = strings.IndexByte(stat, ':') - 1
		}
		metric, rest := stat[:i+1], stat[i+1:]
		st, found := strings.CutPrefix(strings.TrimSpace(rest), ":")
		if !found {
			return Rule{}, fmt.Errorf("%q: want : between the metric and the stat, e.g. %s:p95", s, strings.TrimSpace(metric))
		}
		key, err := canonicalKey(metric)
		if err != nil {
			return Rule{}, fmt.Errorf("%q: %w", s, err)
		}
		r.Metric, stat = key, strings.TrimSpace(st)
	}
	var err error
	if r.Stat, err = parseStat(stat); err != nil {
		return Rule{}, fmt.Errorf("%q: %w", s, err)
	}
	if r.Limit, err = parseLimit(strings.TrimSpace(rhs)); err != nil {
		return Rule{}, fmt.Errorf("%q: %w", s, err)
	}
	if err := r.check(); err != nil {
		return Rule{}, fmt.Errorf("%q: %w", s, err)
	}
	if r.Metric != "" && r.Stat == StatErrorRate {
		r.Stat = StatRate // http_req_failed{...}:error_rate is its rate
	}
	return r, nil
}

func cutLast(s, sep string) (before, after string, found bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}

// canonicalKey turns a selector into the key reports use (tags sorted by
// key, no spaces), so that {step:a, flow:b} finds {flow:b,step:a}.
func canonicalKey(sel string) (string, error) {
	name, tags, err := slo.ParseSelector(sel)
	if err != nil {
		return "", fmt.Errorf("metric %s: %w", strings.TrimSpace(sel), err)
	}
	if _, ok := engine.LookupMetric(name); !ok {
		return "", fmt.Errorf("unknown metric %q", name)
	}
	sort.Slice(tags, func(i, j int) bool { return tags[i].Key < tags[j].Key })
	s := engine.Selection{Metric: engine.Metric{Name: name}, Tags: tags}
	return s.Key(), nil
}

// parseStat checks a stat name and returns it canonical ("p(95)" → "p95").
func parseStat(s string) (string, error) {
	switch s {
	case "min", "avg", "med", "max", StatRate, StatCount, StatErrorRate:
		return s, nil
	}
	if q, ok := quantileOf(s); ok {
		return "p" + strconv.FormatFloat(q*100, 'f', -1, 64), nil
	}
	if p, ok := strings.CutPrefix(s, "p("); ok && strings.HasSuffix(p, ")") {
		if q, ok := quantileOf("p" + strings.TrimSuffix(p, ")")); ok {
			return "p" + strconv.FormatFloat(q*100, 'f', -1, 64), nil
		}
	}
	return "", fmt.Errorf("unknown stat %q: want pN (p95, p99.9), min, avg, med, max, rate, count or error_rate", s)
}

// quantileOf reads "p95" as 0.95.
func quantileOf(stat string) (float64, bool) {
	n, ok := strings.CutPrefix(stat, "p")
	if !ok || n == "" || n[0] < '0' || n[0] > '9' {
		return 0, false
	}
	p, err := strconv.ParseFloat(n, 64)
	if err != nil || p < 0 || p > 100 {
		return 0, false
	}
	return p / 100, true
}

// parseLimit reads a comma-separated list of allowances, or off.
func parseLimit(s string) (Limit, error) {
	if s == "off" || s == "none" {
		return Limit{Off: true, Text: "off"}, nil
	}
	var l Limit
	for i, part := range strings.Split(s, ",") {
		one, err := parseAmount(strings.TrimSpace(part))
		if err != nil {
			return Limit{}, err
		}
		if i == 0 {
			l = one
			continue
		}
		if l, err = l.combine(one); err != nil {
			return Limit{}, fmt.Errorf("limit %q: %w", s, err)
		}
	}
	return l, nil
}

func parseAmount(s string) (Limit, error) {
	if s == "off" || s == "none" {
		return Limit{Off: true, Text: "off"}, nil
	}
	l := Limit{}
	sign := "+"
	switch {
	case strings.HasPrefix(s, "+"):
		s = s[1:]
	case strings.HasPrefix(s, "-"):
		s, l.Down, sign = s[1:], true, "-"
	}
	num := strings.TrimRightFunc(s, func(r rune) bool { return r < '0' || r > '9' })
	suffix := s[len(num):]
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v < 0 {
		return Limit{}, fmt.Errorf("limit %q: want +N%%, +Nms (or s, us), +Npp, +N or off; several, comma-separated, make a floor: +10%%,+2ms", s)
	}
	var a Amount
	switch suffix {
	case "%":
		a = Amount{v / 100, Relative}
	case "pp":
		a = Amount{v / 100, Points}
	case "":
		a = Amount{v, Plain}
	default:
		d, ok := slo.DurationUnit(suffix)
		if !ok {
			return Limit{}, fmt.Errorf("limit %q: unknown unit %q: want %%, pp, a duration unit (ns, us, ms, s, m, h) or none", s, suffix)
		}
		a = Amount{v * d, Millis}
	}
	l.Amounts = []Amount{a}
	l.Text = sign + strconv.FormatFloat(v, 'f', -1, 64) + suffix
	return l, nil
}

// check rejects a rule whose stat or unit cannot apply to its metric.
func (r Rule) check() error {
	trendStat := r.Stat != StatRate && r.Stat != StatCount && r.Stat != StatErrorRate
	if r.Metric == "" {
		switch {
		case r.Stat == StatRate || r.Stat == StatCount:
			return fmt.Errorf("%s needs a metric, e.g. http_reqs:%s=-10%% or checks:rate=-1pp", r.Stat, r.Stat)
		case trendStat:
			return r.Limit.fits(engine.Trend, r.Stat)
		}
		return r.Limit.fits(engine.Rate, r.Stat)
	}
	name, _, _ := strings.Cut(r.Metric, "{")
	m, _ := engine.LookupMetric(name)
	switch {
	case r.Stat == StatErrorRate && name != "http_req_failed":
		return fmt.Errorf("error_rate is the rate of http_req_failed; for %s write %s:rate", name, r.Metric)
	case trendStat && m.Type != engine.Trend,
		r.Stat == StatRate && m.Type == engine.Trend,
		r.Stat == StatCount && m.Type != engine.Counter:
		return fmt.Errorf("%s does not apply to %s, a %s", r.Stat, name, m.Type)
	}
	return r.Limit.fits(m.Type, r.Stat)
}

// fits rejects a unit that means nothing for the stat: a duration on a
// rate, percentage points on a trend.
func (l Limit) fits(t engine.MetricType, stat string) error {
	for _, a := range l.Amounts {
		switch {
		case l.Off || a.Unit == Relative:
		case t == engine.Trend && a.Unit != Millis:
			return fmt.Errorf("limit %s on %s: want a duration (+20ms) or a percent (+10%%)", l.Text, stat)
		case t == engine.Rate && a.Unit != Points:
			return fmt.Errorf("limit %s on %s: want percentage points (+1pp) or a percent (+10%%)", l.Text, stat)
		case t == engine.Counter && a.Unit != Plain:
			return fmt.Errorf("limit %s on %s: want a number (+100) or a percent (+10%%)", l.Text, stat)
		}
	}
	return nil
}
