package report

import (
	"fmt"

	"github.com/loadgate/loadgate/slo"
)

// Baseline resolves agg on the metric key of a previous run, in the unit
// the evaluator uses (ms for trends, a share for rates, events or events per
// second for counters). Its signature is slo.Options.Baseline, so a run with
// --baseline passes base.Baseline for a Summary read with ReadJSON.
// Percentiles come from the stored histogram, so any p(N) is exact, not
// only the ones the report lists.
func (s *Summary) Baseline(key string, agg slo.Expr) (v float64, ok bool, reason string) {
	m, found := s.Metrics[key]
	if !found {
		return 0, false, "" // the evaluator's default: "baseline has no KEY"
	}
	switch m.Type {
	case TypeTrend:
		return m.trendBaseline(key, agg)
	case TypeRate:
		if agg.Agg == slo.AggRate && m.Total > 0 {
			return float64(m.Hits) / float64(m.Total), true, ""
		}
		if m.Total == 0 {
			return 0, false, "baseline has no samples of " + key
		}
	case TypeCounter:
		switch agg.Agg {
		case slo.AggCount:
			return float64(m.Count), true, ""
		case slo.AggRate:
			return m.Rate, true, ""
		}
	}
	return 0, false, fmt.Sprintf("baseline %s is a %s, %s does not apply", key, m.Type, agg.Agg)
}

func (m *Metric) trendBaseline(key string, agg slo.Expr) (float64, bool, string) {
	if m.Count == 0 {
		return 0, false, "baseline has no samples of " + key
	}
	switch agg.Agg {
	case slo.AggAvg:
		return m.Avg, true, ""
	case slo.AggMin:
		return m.Min, true, ""
	case slo.AggMax:
		return m.Max, true, ""
	case slo.AggPercentile, slo.AggMed:
		h, err := m.Histogram()
		if err != nil {
			return 0, false, fmt.Sprintf("baseline %s: %v", key, err)
		}
		return ms(h.Quantile(agg.Quantile())), true, ""
	}
	return 0, false, fmt.Sprintf("baseline %s is a trend, %s does not apply", key, agg.Agg)
}
