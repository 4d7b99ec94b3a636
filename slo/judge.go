package slo

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/loadgate/loadgate/engine"
)

// verdict is the decision of one evaluation.
type verdict uint8

const (
	pending verdict = iota // no decision yet (too few samples, or no data live)
	pass
	fail
)

// why is the cause of a failure or pending state. Reasons are kept as
// codes and put into words only when Results is called, so a failing
// threshold builds no string per tick.
type why uint8

const (
	whyNone why = iota
	whyNoData
	whyNotEnough
	whyAllFailed
	whyBreach
)

// outcome is one evaluation of a check on a reading.
type outcome struct {
	verdict  verdict
	why      why
	observed float64
	measured bool // observed is a value of data (not a placeholder)
	samples  int64
}

// check is the state of one threshold.
type check struct {
	expr    Expr
	limit   float64
	min     int64 // min_samples
	latency bool  // a trend of http_req_*: never passes if every request failed
	whole   *series
	win     *window   // nil for a whole-run threshold
	sli     *sliState // nil unless an sli{name:X} threshold (then whole is nil)
	res     Result    // Reason is filled by Results from why

	why     why
	samples int64 // samples behind why (for "not enough data")

	// Window state: decided once a window had enough samples; breached once
	// one failed, at the window ending at breachEnd.
	decided, breached bool
	breachEnd         time.Duration
	worst             float64
	hasWorst          bool
	maxSamples        int64
}

// reading returns the data the check evaluates this tick.
func (c *check) reading(tick int, s *engine.Snapshot) *reading {
	if c.win != nil {
		return c.win.reading(tick)
	}
	return c.whole.total(tick, s)
}

// measure computes the aggregation on r; ok is false when there is no
// data. Trends are in ms, rates a 0..1 share, counter rates per second.
func (c *check) measure(r *reading) (val float64, samples int64, ok bool) {
	v := &r.v
	switch v.Type {
	case engine.Trend:
		if v.Hist == nil || v.Hist.Count() == 0 {
			return 0, 0, false
		}
		return ms(c.trend(v)), v.Hist.Count(), true
	case engine.Rate:
		if v.Total == 0 {
			return 0, 0, false
		}
		return float64(v.Hits) / float64(v.Total), v.Total, true
	}
	// A counter always has a value (zero events is data); its rate needs
	// elapsed time. New rejects min_samples on counters, so samples only
	// marks "has data" here.
	if c.expr.Agg == AggRate {
		if r.span <= 0 {
			return 0, 0, false
		}
		return float64(v.Count) / r.span.Seconds(), 1, true
	}
	return float64(v.Count), 1, true
}

func (c *check) trend(v *engine.Value) time.Duration {
	switch c.expr.Agg {
	case AggAvg:
		return v.Hist.Mean()
	case AggMin:
		return v.Hist.Min()
	case AggMax:
		return v.Hist.Max()
	}
	return v.Hist.Quantile(c.expr.Quantile()) // p(N) and med
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// judge evaluates r. Live (final false), too few samples or no data leave
// the decision pending; at the end they fail.
func (c *check) judge(r *reading, final bool) outcome {
	val, samples, ok := c.measure(r)
	o := outcome{observed: val, measured: ok, samples: samples}
	switch {
	case !final && samples < c.min:
		o.why = whyNotEnough
	case c.latency && r.allFailed():
		o.verdict, o.why = fail, whyAllFailed
	case !ok:
		o.why = whyNoData
		if final {
			o.verdict = fail
		}
	case samples < c.min:
		o.verdict, o.why = fail, whyNotEnough
	case c.expr.Op.Holds(val, c.limit):
		o.verdict = pass
	default:
		o.verdict, o.why = fail, whyBreach
	}
	return o
}

// recordWhole applies a whole-run evaluation: the latest one is the state.
func (c *check) recordWhole(o outcome, at time.Duration) {
	if o.measured {
		c.res.Evaluations++
		c.res.Observed = o.observed
	}
	c.res.Passed = o.verdict == pass
	c.res.Pending = o.verdict == pending
	c.res.NoData = o.why == whyNoData
	c.why, c.samples = o.why, o.samples
	if o.verdict == fail && !c.res.Failed {
		c.res.Failed, c.res.FirstFailedAt = true, at
	}
}

// recordWindow applies a window's evaluation: one breach fails the
// threshold for good; the worst decided window value is kept.
func (c *check) recordWindow(o outcome, end, at time.Duration) {
	if o.measured {
		c.res.Evaluations++
		c.res.Observed = o.observed
		c.maxSamples = max(c.maxSamples, o.samples)
	}
	if o.verdict == pending {
		if !c.decided {
			c.why, c.samples = o.why, o.samples
		}
		return
	}
	c.decided, c.res.Pending = true, false
	if o.measured && (!c.hasWorst || c.expr.Op.worse(o.observed, c.worst) || o.verdict == fail && !c.breached) {
		c.worst, c.hasWorst = o.observed, true
	}
	if o.verdict == fail && !c.breached {
		c.breached, c.breachEnd, c.why = true, end, o.why
		c.res.Failed, c.res.FirstFailedAt = true, at
	}
	if !c.breached {
		c.why = whyNone
	}
	c.res.Passed = !c.breached
}

// finishWindow turns a window check's state into the final verdict.
func (c *check) finishWindow(last *reading, at time.Duration) {
	c.res.Pending = false
	if c.hasWorst {
		c.res.Observed = c.worst
	}
	if c.decided {
		c.res.Passed = !c.breached
		return
	}
	c.res.Passed = false
	c.res.Failed, c.res.FirstFailedAt = true, at
	switch {
	case c.latency && last.allFailed():
		c.why = whyAllFailed
	case c.maxSamples == 0:
		c.why, c.res.NoData = whyNoData, true
	default:
		c.why, c.samples = whyNotEnough, c.maxSamples
	}
}

// reason puts the check's state into words.
func (c *check) reason() string {
	if c.res.Skipped {
		return c.res.Reason
	}
	if c.sli != nil && c.sli.err != "" {
		return c.sli.err
	}
	var s string
	switch c.why {
	case whyNoData:
		s = "no data"
	case whyNotEnough:
		s = fmt.Sprintf("not enough data (%d of %d samples)", c.samples, c.min)
	case whyAllFailed:
		s = "every request failed"
	case whyBreach:
		if c.breached {
			return "breached in window ending at " + c.breachEnd.String()
		}
		s = fmt.Sprintf("observed %s%s, limit %s %s%s",
			show(c.res.Observed), c.res.Unit, c.expr.Op, show(c.res.Limit), c.res.Unit)
	}
	if c.breached && s != "" {
		return s + " in window ending at " + c.breachEnd.String()
	}
	if s == "" && c.res.Aborted && !c.res.Passed {
		return "failed at " + c.res.FirstFailedAt.String() + " and aborted the run"
	}
	return s
}

// show formats a value for a message: at most 4 decimals, or 3
// significant digits below 0.001, and never an exponent (5e-05 is 0.00005).
// Reports word these values for people themselves (report/detail.go).
func show(v float64) string {
	if math.Abs(v) >= 1e-3 || v == 0 {
		return strconv.FormatFloat(math.Round(v*1e4)/1e4, 'f', -1, 64)
	}
	g, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 3, 64), 64)
	return strconv.FormatFloat(g, 'f', -1, 64)
}
