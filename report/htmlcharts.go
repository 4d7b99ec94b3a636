package report

import (
	"math"
	"strconv"
	"strings"

	"github.com/loadgate/loadgate/histogram"
	"github.com/loadgate/loadgate/stats"
)

// The four charts of the HTML report, each a pure function of the Summary.

// latencyChart plots http_req_duration p50/p95/p99 per interval and the
// service-time p99, the uncorrected view: where they part, requests waited
// for the generator or a stalled server before they were sent. Thresholds
// on the whole http_req_duration are drawn as rules when they fit.
func latencyChart(s *Summary, ps []Point) *svgChart {
	c := newChart("latency", "Latency over time")
	c.Note = "http_req_duration from the intended send time (coordinated omission corrected); service p99 from the actual send"
	if len(ps) == 0 {
		c.Empty = "no time series"
		return c
	}
	top := maxOf(ps, func(p Point) float64 { return p.P99 }, func(p Point) float64 { return p.ServiceP99 }, func(p Point) float64 { return p.P95 })
	ax := c.xAxis(ps[len(ps)-1].T, fmtAxisSeconds)
	ay := c.yAxis(top, fmtAxisMS)
	xs := column(ps, func(p Point) float64 { return p.T })
	for _, sr := range []struct {
		name, class string
		f           func(Point) float64
		dashed      bool
	}{
		{"service p99 (uncorrected)", "c-svc", func(p Point) float64 { return p.ServiceP99 }, true},
		{"p50", "c-p50", func(p Point) float64 { return p.P50 }, false},
		{"p95", "c-p95", func(p Point) float64 { return p.P95 }, false},
		{"p99", "c-p99", func(p Point) float64 { return p.P99 }, false},
	} {
		c.Series = append(c.Series, svgSeries{Name: sr.name, Class: sr.class, Dashed: sr.dashed, D: pathOf(xs, column(ps, sr.f), ax, ay)})
	}
	for _, t := range s.Thresholds {
		if t.Metric != "http_req_duration" || t.Unit != "ms" || t.Skipped || t.Limit <= 0 || t.Limit > ay.max {
			continue
		}
		c.Rules = append(c.Rules, svgRule{Y: ay.pos(t.Limit), Label: t.Expr})
	}
	c.XTicks, c.YTicks = ax.svgTicks(), ay.svgTicks()
	c.XLabel, c.YLabel = "time", "ms"
	return c
}

// throughputChart plots completed requests per second against the plan.
// The plan counts arrivals (iterations); it is scaled by the run's requests
// per iteration so that both lines are requests per second.
func throughputChart(s *Summary, ps []Point) *svgChart {
	c := newChart("throughput", "Throughput: planned vs achieved")
	if len(ps) == 0 {
		c.Empty = "no time series"
		return c
	}
	perIter := 1.0
	if it, r := s.Metrics["iterations"], s.Metrics["http_reqs"]; it.Count > 0 && r.Count > 0 {
		perIter = float64(r.Count) / float64(it.Count)
	}
	planned := func(p Point) float64 { return rate(float64(p.Planned)*perIter, p.DT) }
	achieved := func(p Point) float64 { return p.RPS }
	dropped := func(p Point) float64 { return rate(float64(p.Dropped)*perIter, p.DT) }
	ax := c.xAxis(ps[len(ps)-1].T, fmtAxisSeconds)
	ay := c.yAxis(maxOf(ps, planned, achieved), fmtAxisNum)
	xs := column(ps, func(p Point) float64 { return p.T })
	hasPlan := maxOf(ps, planned) > 0
	c.Series = append(c.Series, svgSeries{Name: "completed", Class: "c-rps", D: pathOf(xs, column(ps, achieved), ax, ay)})
	if maxOf(ps, dropped) > 0 {
		c.Series = append(c.Series, svgSeries{Name: "dropped", Class: "c-drop", D: pathOf(xs, column(ps, dropped), ax, ay)})
	}
	// The plan is drawn last, dashed, so that it stays visible where the
	// run achieved it exactly.
	if hasPlan {
		c.Series = append(c.Series, svgSeries{Name: "planned", Class: "c-plan", Dashed: true, D: pathOf(xs, column(ps, planned), ax, ay)})
	}
	switch {
	case !hasPlan:
		c.Note = "requests completed per second (the closed model has no arrival plan)"
	case perIter != 1:
		c.Note = "requests per second; the plan is arrivals × " + trimFloat(perIter, 2) + " requests per iteration on average"
	default:
		c.Note = "requests per second"
	}
	c.XTicks, c.YTicks = ax.svgTicks(), ay.svgTicks()
	c.XLabel, c.YLabel = "time", "req/s"
	return c
}

func rate(n, dt float64) float64 {
	if dt <= 0 {
		return 0
	}
	return n / dt
}

// errorChart plots the share of failed requests per interval, in percent.
func errorChart(ps []Point) *svgChart {
	c := newChart("errors", "Error rate")
	c.Note = "share of requests that failed (http_req_failed) per interval"
	if len(ps) == 0 {
		c.Empty = "no time series"
		return c
	}
	share := func(p Point) float64 {
		if p.Reqs == 0 {
			return 0
		}
		return 100 * float64(p.Errors) / float64(p.Reqs)
	}
	ax := c.xAxis(ps[len(ps)-1].T, fmtAxisSeconds)
	// At least 1% of height, so that a clean run shows a flat line at the
	// bottom rather than noise magnified to full scale.
	ay := c.yAxis(math.Max(1, maxOf(ps, share)), fmtAxisPercent)
	xs, ys := column(ps, func(p Point) float64 { return p.T }), column(ps, share)
	c.Series = []svgSeries{{Name: "errors", Class: "c-err", D: pathOf(xs, ys, ax, ay), Area: areaOf(xs, ys, ax, ay)}}
	c.XTicks, c.YTicks = ax.svgTicks(), ay.svgTicks()
	c.XLabel, c.YLabel = "time", "%"
	return c
}

// spectrumTicksPerHalf is the resolution of the percentile spectrum: points
// per halving of the remaining tail, as HdrHistogram's plots.
const spectrumTicksPerHalf = 5

// spectrumChart plots the latency percentile spectrum of the whole run
// from the HDR histograms: x is the percentile on the 1/(1-q) log scale
// HdrHistogram plots use (one decade per nine: 90%, 99%, 99.9%, ...), y the
// latency. Corrected and uncorrected side by side show coordinated
// omission at work.
func spectrumChart(s *Summary) *svgChart {
	c := newChart("spectrum", "Latency percentile spectrum")
	c.Note = "whole run, from the HDR histograms; x: percentile on a 1/(1−q) log scale"
	type curve struct {
		name, class string
		dashed      bool
		bs          []histogram.Bracket
		buckets     []histogram.Bucket // for the corrected curve's interval band
	}
	var curves []curve
	var count int64
	for _, m := range []struct{ key, name, class string }{
		{"http_req_duration", "http_req_duration (corrected)", "c-p99"},
		{"http_req_service_time", "http_req_service_time (uncorrected)", "c-svc"},
	} {
		met, ok := s.Metrics[m.key]
		if !ok || met.HDR == "" {
			continue
		}
		h, err := met.Histogram()
		if err != nil || h.Count() == 0 {
			continue
		}
		cv := curve{m.name, m.class, m.key != "http_req_duration", h.Distribution(spectrumTicksPerHalf), nil}
		if !cv.dashed {
			cv.name += ", shaded: its 95% interval"
			cv.buckets = h.Buckets()
		}
		curves = append(curves, cv)
		count = max(count, h.Count())
	}
	if len(curves) == 0 {
		c.Empty = "no latency histogram in this report"
		return c
	}
	// Show as many nines as the data resolves: at least 99.99%, at most
	// 99.9999%.
	decades := math.Ceil(math.Log10(float64(count)))
	decades = math.Min(math.Max(decades, 4), 6)
	ax := axis{min: 0, max: decades, from: c.X0, to: c.X1, tickFormat: nines}
	for d := 0.0; d <= decades; d++ {
		ax.ticks = append(ax.ticks, d)
	}
	top := 0.0
	for _, cv := range curves {
		top = math.Max(top, ms(cv.bs[len(cv.bs)-1].Value))
	}
	ay := c.yAxis(top, fmtAxisMS)
	for _, cv := range curves {
		xs := make([]float64, 0, len(cv.bs))
		ys := make([]float64, 0, len(cv.bs))
		var los, his []float64
		for _, b := range cv.bs {
			x := decades
			if b.Quantile < 1 {
				x = math.Min(decades, math.Log10(1/(1-b.Quantile)))
			}
			xs = append(xs, x)
			ys = append(ys, ms(b.Value))
			if cv.buckets != nil {
				// An open side shades to the chart's edge: the samples do
				// not bound the percentile there.
				iv := stats.QuantileOf(cv.buckets, b.Quantile, 0.95)
				lo, hi := ms(iv.Lo), ms(iv.Hi)
				if iv.NoHi {
					hi = top
				}
				los, his = append(los, min(lo, ms(b.Value))), append(his, max(hi, ms(b.Value)))
			}
		}
		s := svgSeries{Name: cv.name, Class: cv.class, Dashed: cv.dashed, D: pathOf(xs, ys, ax, ay)}
		if cv.buckets != nil {
			s.Area = bandOf(xs, los, his, ax, ay)
		}
		c.Series = append(c.Series, s)
	}
	c.XTicks, c.YTicks = ax.svgTicks(), ay.svgTicks()
	c.XLabel, c.YLabel = "percentile", "ms"
	return c
}

// nines labels decade d of the 1/(1-q) axis: 0%, 90%, 99%, 99.9%, ...
func nines(d float64) string {
	n := int(d)
	switch n {
	case 0:
		return "0%"
	case 1:
		return "90%"
	}
	return "99" + strings.TrimSuffix("."+strings.Repeat("9", n-2), ".") + "%"
}

// itoa is strconv.Itoa for templates.
func itoa(n int64) string { return strconv.FormatInt(n, 10) }
