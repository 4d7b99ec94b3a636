package slo

import (
	"fmt"

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
