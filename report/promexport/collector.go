package promexport

import (
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/loadgate/loadgate/engine"
	"github.com/loadgate/loadgate/histogram"
	"github.com/loadgate/loadgate/slo"
	"github.com/prometheus/client_golang/prometheus"
)

// Cardinality caps. A scenario has at most a few hundred steps and
// thresholds; beyond the caps the rest are summed into one series labelled
// OtherLabel (requests) or left out (thresholds).
const (
	MaxStepSeries      = 200
	MaxThresholdSeries = 200
	MaxBuckets         = 32
)

// OtherLabel is the flow and step label of the requests beyond
// MaxStepSeries.
const OtherLabel = "_other"

// DefaultBuckets are the classic histogram's bounds in seconds, to which
// the limits of the latency thresholds are added.
var DefaultBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// Quantiles are the summaries' quantiles.
var Quantiles = []float64{0.5, 0.9, 0.95, 0.99, 0.999}

// Options says what a Collector reads.
type Options struct {
	Scenario, Version string
	// Latest returns the latest snapshot of the run, nil before the first.
	Latest func() *engine.Snapshot
	// Thresholds returns the live threshold results; nil for none. It is
	// also called once by NewCollector for the bucket bounds.
	Thresholds func() []slo.Result
	// Step returns the step a capacity search is running (0-based) and
	// its offered rate; ok false outside a search (docs/capacity.md).
	Step func() (index int, rate float64, ok bool)
}

// Collector is a prometheus.Collector of a run's snapshots. Create it with
// NewCollector.
type Collector struct {
	opt     Options
	steps   []stepLabel // (flow, step) of each Period.Steps entry, row-major
	flows   []string
	bounds  []time.Duration // classic histogram bounds, ascending
	boundsS []float64       // the same in seconds

	// served is the Seq of the latest snapshot a Collect exported; notify
	// gets a token after each Collect, for Server.Close.
	served atomic.Int64
	notify chan struct{}
}

type stepLabel struct{ flow, step string }

var (
	descInfo = prometheus.NewDesc("loadgate_run_info", "The run: scenario name and loadgate version.", []string{"scenario", "version"}, nil)
	descDone = prometheus.NewDesc("loadgate_run_finished", "1 once the run's final snapshot is published, else 0.", nil, nil)
	descReqs = prometheus.NewDesc("loadgate_requests_total", "Requests completed, by flow, step and status class (none: no response).",
		[]string{"flow", "step", "status"}, nil)
	descErrs     = prometheus.NewDesc("loadgate_errors_total", "Failed requests by outcome kind.", []string{"kind"}, nil)
	descDur      = prometheus.NewDesc("loadgate_request_duration_seconds", "http_req_duration of every request (from the intended send time; exact HDR quantiles).", nil, nil)
	descDurHist  = prometheus.NewDesc("loadgate_request_duration_classic_seconds", "http_req_duration of every request as a classic histogram, with buckets at the threshold limits.", nil, nil)
	descInFlight = prometheus.NewDesc("loadgate_in_flight", "Iterations running.", nil, nil)
	descLag      = prometheus.NewDesc("loadgate_schedule_lag_seconds", "Actual minus intended start of iterations: the generator's own health.", nil, nil)
	descIters    = prometheus.NewDesc("loadgate_iterations_total", "Iterations completed, by flow.", []string{"flow"}, nil)
	descDropped  = prometheus.NewDesc("loadgate_dropped_iterations_total", "Arrivals that found no free slot (max_in_flight full): dropped, or still waiting when the load stopped.", nil, nil)
	descSent     = prometheus.NewDesc("loadgate_data_sent_bytes_total", "Bytes written to the connections.", nil, nil)
	descRecv     = prometheus.NewDesc("loadgate_data_received_bytes_total", "Bytes read from the connections.", nil, nil)
	descOK       = prometheus.NewDesc("loadgate_threshold_ok", "0 when the threshold has failed (live state, then the verdict), else 1.", []string{"metric", "expr"}, nil)
	descStep     = prometheus.NewDesc("loadgate_capacity_step", "The step a capacity search is running, from 1; absent outside a search.", nil, nil)
	descStepRate = prometheus.NewDesc("loadgate_capacity_step_rate", "The offered rate (per second) of the step a capacity search is running; absent outside a search.", nil, nil)
)

// NewCollector returns a Collector for runs of plan p.
func NewCollector(p *engine.Plan, opt Options) *Collector {
	c := &Collector{opt: opt, notify: make(chan struct{}, 1)}
	c.served.Store(-1)
	for _, f := range p.Flows {
		c.flows = append(c.flows, f.Name)
		for _, s := range f.Steps {
			c.steps = append(c.steps, stepLabel{f.Name, s.Name})
		}
	}
	var ths []slo.Result
	if opt.Thresholds != nil {
		ths = opt.Thresholds()
	}
	c.bounds = Buckets(ths)
	for _, b := range c.bounds {
		c.boundsS = append(c.boundsS, b.Seconds())
	}
	return c
}

// Buckets returns the classic histogram's bounds: DefaultBuckets plus the
// limits of the http_req_duration thresholds, so that a dashboard can read
// the share of requests under each limit exactly; at most MaxBuckets.
func Buckets(ths []slo.Result) []time.Duration {
	var out []time.Duration
	for _, r := range ths {
		if r.Threshold.Metric == "http_req_duration" && r.Unit == "ms" && r.Limit > 0 && !r.Skipped {
			out = append(out, time.Duration(r.Limit*float64(time.Millisecond)))
		}
	}
	out = out[:min(len(out), MaxBuckets-len(DefaultBuckets))]
	for _, s := range DefaultBuckets {
		out = append(out, time.Duration(s*float64(time.Second)))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Describe sends every metric's description.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descInfo, descDone, descReqs, descErrs, descDur, descDurHist,
		descInFlight, descLag, descIters, descDropped, descSent, descRecv, descOK, descStep, descStepRate} {
		ch <- d
	}
}

// Collect exports the latest snapshot and the live threshold results.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(descInfo, prometheus.GaugeValue, 1, c.opt.Scenario, c.opt.Version)
	c.thresholds(ch)
	if c.opt.Step != nil {
		if i, rate, ok := c.opt.Step(); ok {
			ch <- prometheus.MustNewConstMetric(descStep, prometheus.GaugeValue, float64(i+1))
			ch <- prometheus.MustNewConstMetric(descStepRate, prometheus.GaugeValue, rate)
		}
	}
	var s *engine.Snapshot
	if c.opt.Latest != nil {
		s = c.opt.Latest()
	}
	done := 0.0
	if s != nil && s.Final {
		done = 1
	}
	ch <- prometheus.MustNewConstMetric(descDone, prometheus.GaugeValue, done)
	if s != nil && s.Total != nil {
		c.snapshot(ch, s)
		c.served.Store(int64(s.Seq))
	}
	select {
	case c.notify <- struct{}{}:
	default:
	}
}

func (c *Collector) snapshot(ch chan<- prometheus.Metric, s *engine.Snapshot) {
	t := s.Total
	c.requests(ch, t)
	var errs [engine.NumKinds]int64
	for _, f := range t.Steps {
		for _, st := range f {
			for k, n := range st.Errors {
				errs[k] += n
			}
		}
	}
	for k := engine.Kind(1); k < engine.NumKinds; k++ {
		ch <- prometheus.MustNewConstMetric(descErrs, prometheus.CounterValue, float64(errs[k]), k.String())
	}
	var dur *histogram.Histogram
	if t.All != nil {
		dur = t.All.Duration
	}
	ch <- summary(descDur, dur)
	ch <- c.classic(dur)
	ch <- summary(descLag, t.Lag)
	ch <- prometheus.MustNewConstMetric(descInFlight, prometheus.GaugeValue, float64(s.InFlight))
	for i, name := range c.flows {
		var n int64
		if i < len(t.Flows) {
			n = t.Flows[i].Iterations
		}
		ch <- prometheus.MustNewConstMetric(descIters, prometheus.CounterValue, float64(n), name)
	}
	ch <- prometheus.MustNewConstMetric(descDropped, prometheus.CounterValue, float64(t.Dropped))
	ch <- prometheus.MustNewConstMetric(descSent, prometheus.CounterValue, float64(t.BytesSent))
	ch <- prometheus.MustNewConstMetric(descRecv, prometheus.CounterValue, float64(t.BytesReceived))
}

// requests exports one series per step and status class seen, the steps
// beyond MaxStepSeries summed under OtherLabel.
func (c *Collector) requests(ch chan<- prometheus.Metric, t *engine.Period) {
	var other [engine.NumStatusClasses]int64
	i := 0
	for _, f := range t.Steps {
		for _, st := range f {
			if i >= len(c.steps) {
				break
			}
			l := c.steps[i]
			for cl, n := range st.Status {
				switch {
				case n == 0:
				case i >= MaxStepSeries:
					other[cl] += n
				default:
					ch <- prometheus.MustNewConstMetric(descReqs, prometheus.CounterValue, float64(n), l.flow, l.step, engine.StatusClassName(cl))
				}
			}
			i++
		}
	}
	for cl, n := range other {
		if n > 0 {
			ch <- prometheus.MustNewConstMetric(descReqs, prometheus.CounterValue, float64(n), OtherLabel, OtherLabel, engine.StatusClassName(cl))
		}
	}
}

func (c *Collector) thresholds(ch chan<- prometheus.Metric) {
	if c.opt.Thresholds == nil {
		return
	}
	n := 0
	for _, r := range c.opt.Thresholds() {
		if r.Skipped || n >= MaxThresholdSeries {
			continue
		}
		n++
		ok := 1.0
		if !r.Pending && !r.Passed {
			ok = 0
		}
		ch <- prometheus.MustNewConstMetric(descOK, prometheus.GaugeValue, ok, r.Key, strings.TrimSpace(r.Threshold.Expr))
	}
}

// summary is h as a summary in seconds: exact HDR quantiles, the count, and
// the sum as count × mean.
func summary(d *prometheus.Desc, h *histogram.Histogram) prometheus.Metric {
	q := make(map[float64]float64, len(Quantiles))
	if h == nil || h.Count() == 0 {
		for _, x := range Quantiles {
			q[x] = 0
		}
		return prometheus.MustNewConstSummary(d, 0, 0, q)
	}
	for _, x := range Quantiles {
		q[x] = h.Quantile(x).Seconds()
	}
	n := h.Count()
	return prometheus.MustNewConstSummary(d, uint64(n), h.Mean().Seconds()*float64(n), q)
}

// classic is h as a classic histogram with the collector's bounds.
func (c *Collector) classic(h *histogram.Histogram) prometheus.Metric {
	b := make(map[float64]uint64, len(c.bounds))
	var n int64
	var sum float64
	if h != nil {
		n = h.Count()
		sum = h.Mean().Seconds() * float64(n)
	}
	counts := make([]int64, len(c.bounds))
	if n > 0 {
		counts = h.CountsAtOrBelow(c.bounds)
	}
	for i, s := range c.boundsS {
		b[s] = uint64(counts[i])
	}
	return prometheus.MustNewConstHistogram(descDurHist, uint64(n), sum, b)
}

// Served is the Seq of the latest snapshot a Collect exported, -1 before
// any.
func (c *Collector) Served() int { return int(c.served.Load()) }
