package report

import (
	"fmt"

	"github.com/loadgate/loadgate/engine"
	"github.com/loadgate/loadgate/histogram"
)

// Pool makes one base run of several runs of the same build, so that a
// comparison's baseline gets less noisy with every run kept (as Keptn
// compared with several previous results): trends are the exact merge of
// the runs' HDR histograms, rates the pooled hits over the pooled total,
// counters the mean count and the mean rate of one run. A metric in only
// some of the runs is pooled from those. One run is returned as it is.
func Pool(runs []*Summary) (*Summary, error) {
	switch len(runs) {
	case 0:
		return nil, fmt.Errorf("report: pool: no run")
	case 1:
		return runs[0], nil
	}
	first := runs[0]
	out := &Summary{Schema: first.Schema, Tool: first.Tool, Version: first.Version, Status: first.Status,
		Scenario: first.Scenario, StartedAt: first.StartedAt, EndedAt: runs[len(runs)-1].EndedAt, Metrics: Metrics{}}
	var duration float64
	for _, r := range runs {
		duration += r.DurationS
		out.Partial = out.Partial || r.Partial
		out.Aborted = out.Aborted || r.Aborted
		if r.Status != "passed" && out.Status == "passed" {
			out.Status = r.Status
		}
	}
	out.DurationS = round(duration/float64(len(runs)), 3)
	type acc struct {
		typ, unit   string
		hist        *histogram.Histogram
		hits, total int64
		count, rate float64
		n           int
	}
	accs := map[string]*acc{}
	for i, r := range runs {
		for k, m := range r.Metrics {
			a := accs[k]
			if a == nil {
				a = &acc{typ: m.Type, unit: m.Unit}
				accs[k] = a
			}
			if a.typ != m.Type {
				return nil, fmt.Errorf("report: pool: %s is a %s in run %d and a %s in an earlier one", k, m.Type, i+1, a.typ)
			}
			a.n++
			switch m.Type {
			case TypeTrend:
				h, err := m.Histogram()
				if err != nil {
					return nil, fmt.Errorf("report: pool: run %d: %s: %w", i+1, k, err)
				}
				if a.hist == nil {
					a.hist = histogram.New()
				}
				a.hist.Merge(h)
			case TypeRate:
				a.hits += m.Hits
				a.total += m.Total
			case TypeCounter:
				a.count += float64(m.Count)
				a.rate += m.Rate
			}
		}
	}
	for k, a := range accs {
		switch a.typ {
		case TypeTrend:
			out.Metrics[k] = metricOf(engine.Value{Type: engine.Trend, Hist: a.hist}, out.DurationS, false)
		case TypeRate:
			out.Metrics[k] = metricOf(engine.Value{Type: engine.Rate, Hits: a.hits, Total: a.total}, out.DurationS, false)
		case TypeCounter:
			m := Metric{Type: TypeCounter, Unit: a.unit, Count: int64(a.count/float64(a.n) + 0.5), Rate: round(a.rate/float64(a.n), 3)}
			out.Metrics[k] = m
		}
	}
	return out, nil
}
