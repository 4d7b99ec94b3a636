package slo

import (
	"fmt"
	"strings"

	"github.com/loadgate/loadgate/engine"
)

// Aggregations each metric type supports, in the order error messages list
// them.
var (
	trendAggs   = []Agg{AggPercentile, AggAvg, AggMin, AggMax, AggMed}
	rateAggs    = []Agg{AggRate}
	counterAggs = []Agg{AggCount, AggRate}
)

func aggsOf(t engine.MetricType) []Agg {
	switch t {
	case engine.Rate:
		return rateAggs
	case engine.Counter:
		return counterAggs
	}
	return trendAggs
}

// aggList names aggs for a message: "p(N), avg, min, max, med".
func aggList(aggs []Agg) string {
	s := ""
	for i, a := range aggs {
		if i > 0 {
			s += ", "
		}
		if a == AggPercentile {
			s += "p(N)"
		} else {
			s += a.String()
		}
	}
	return s
}

// Check reports whether e applies to m: the aggregation must fit the
// metric's type and the value's unit the aggregation's. The error is a
// *SyntaxError at the offending token and lists what m supports, e.g.
// "http_req_duration is a trend: use p(N), avg, min, max, med".
func (e Expr) Check(m engine.Metric) error {
	aggs := aggsOf(m.Type)
	if !hasAgg(aggs, e.Agg) {
		if e.Agg == AggValue {
			return &SyntaxError{Offset: e.aggOff, Msg: fmt.Sprintf("value is for sli metrics; %s is a %s: use %s", m.Name, m.Type, aggList(aggs))}
		}
		return &SyntaxError{Offset: e.aggOff, Msg: fmt.Sprintf("%s is a %s: use %s", m.Name, m.Type, aggList(aggs))}
	}
	if msg := e.unitProblem(m); msg != "" {
		return &SyntaxError{Offset: e.valOff, Msg: msg}
	}
	return nil
}

func hasAgg(aggs []Agg, a Agg) bool {
	for _, x := range aggs {
		if x == a {
			return true
		}
	}
	return false
}

// unitProblem says what is wrong with the value's unit for m, or "".
// A percent is a share on a rate metric; elsewhere it only makes sense
// relative to a baseline ("baseline + 10%").
func (e Expr) unitProblem(m engine.Metric) string {
	u := e.Lit.Unit
	relative := e.Baseline && (e.Adjust == Plus || e.Adjust == Minus)
	switch {
	case u == Points && m.Type != engine.Rate:
		return fmt.Sprintf("%s is a %s: pp (percentage points) is a margin on a rate, as in baseline + 1pp", m.Name, m.Type)
	case u == Points && !relative:
		return fmt.Sprintf("pp (percentage points) is a margin relative to a baseline, as in rate < baseline + 1pp; a share alone is a percent: %s%%", fmtNum(e.Lit.Num))
	case !e.Baseline && e.Op == Less && e.Lit.Value == 0:
		return fmt.Sprintf("nothing is below 0, so %s could never pass: write == 0 (or <= 0)", e)
	case m.Type == engine.Trend && u == Percent && !relative:
		return fmt.Sprintf("%s is a trend: want a duration like 300ms (a percent only as baseline + N%%)", m.Name)
	case m.Type == engine.Rate && u == Duration:
		return fmt.Sprintf("%s is a rate: a duration does not apply; want a share like 0.01 or a percent like 1%%", m.Name)
	case m.Type == engine.Rate && !e.Baseline && e.Lit.Value > 1 && u == Percent:
		return fmt.Sprintf("%s is a rate, a share from 0 to 1: %s is more than 100%%", m.Name, e.Lit.String())
	case m.Type == engine.Rate && !e.Baseline && e.Lit.Value > 1:
		return fmt.Sprintf("%s is a rate, a share from 0 to 1: write %s%% or %s",
			m.Name, e.Lit.String(), fmtNum(e.Lit.Value/100))
	case m.Type == engine.Counter && u == Duration:
		return fmt.Sprintf("%s is a counter: a duration does not apply; want a number", m.Name)
	case m.Type == engine.Counter && u == Percent && !relative:
		return fmt.Sprintf("%s is a counter: want a number (a percent only as baseline + N%%)", m.Name)
	}
	return ""
}

// CheckAbort reports whether abort_on_fail can apply to e on m. A count only
// grows while the run goes on, so a lower bound (count > N, >= N, == N,
// != N) fails live until the count gets there, and would stop every run
// at its first evaluation; only an upper bound (count < N, <= N) fails for
// good before the end. abort_on_fail on the others is refused rather than
// ignored (docs/thresholds.md, Options): the file would say more than the
// run does.
func (e Expr) CheckAbort(m engine.Metric) error {
	if m.Type != engine.Counter || e.Agg != AggCount || e.Op == Less || e.Op == LessEq {
		return nil
	}
	return fmt.Errorf("abort_on_fail does not apply: a count only grows during the run, so it fails until it reaches %s "+
		"and would stop the run at its first evaluation; remove abort_on_fail (the count is judged at the end)", e.Lit)
}

// CheckBaseline reports whether e, relative to a baseline whose value of
// the same aggregation is base, can ever pass on m (docs/thresholds.md,
// Baselines). A relative limit on a zero baseline (rate < baseline + 1% of
// a run without errors) is 0 whatever its N: it is refused with the
// absolute form to write instead. A limit that resolves below what the
// metric can be (p(95) < baseline - 5ms of a 3ms baseline) is refused too.
// The error is a *SyntaxError at the value.
func (e Expr) CheckBaseline(m engine.Metric, base float64) error {
	if !e.Baseline {
		return nil
	}
	what := "value"
	if m.Type == engine.Rate {
		what = "rate"
	}
	if base == 0 && e.Relative() {
		return &SyntaxError{Offset: e.valOff, Msg: fmt.Sprintf("the baseline's %s of %s is 0, so %s is 0 whatever the margin: write %s",
			what, m.Name, e.limitText(), e.absoluteHint(m))}
	}
	limit, unit := e.Limit(base), ""
	if m.Type == engine.Trend {
		unit = "ms"
	}
	if e.Op == Less && limit <= 0 || e.Op == LessEq && limit < 0 {
		return &SyntaxError{Offset: e.valOff, Msg: fmt.Sprintf("%s resolves to %s%s (the baseline's %s is %s%s): nothing is below it, so it could never pass",
			e.limitText(), fmtNum(limit), unit, what, fmtNum(base), unit)}
	}
	return nil
}

// limitText is the right-hand side as written in canonical form:
// "baseline + 1%".
func (e Expr) limitText() string {
	s := e.String()
	return s[strings.Index(s, "baseline"):]
}

// absoluteHint is the absolute margin to write instead of a relative one.
func (e Expr) absoluteHint(m engine.Metric) string {
	sign := "+"
	if e.Adjust == Minus {
		sign = "-"
	}
	n := e.Lit.Num
	switch m.Type {
	case engine.Rate:
		if e.Adjust == Times {
			n = 1
		}
		return fmt.Sprintf("baseline %s %spp (percentage points) for an absolute margin", sign, fmtNum(n))
	case engine.Trend:
		return fmt.Sprintf("baseline %s 10ms (a duration) for an absolute margin", sign)
	}
	return fmt.Sprintf("baseline %s N (a number adds) for an absolute margin", sign)
}
