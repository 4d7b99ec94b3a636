package slo

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/loadgate/loadgate/engine"
	"github.com/loadgate/loadgate/stats"
)

// Verdict is the decision of one evaluation.
type Verdict uint8

// The decisions of Judge.
const (
	VerdictPending Verdict = iota // no decision yet (too few samples, or no data live)
	VerdictPass
	VerdictFail
	// VerdictUndecided: at the end of a run, the confidence interval
	// still straddles the limit (live, that is VerdictPending).
	VerdictUndecided
)

// Why is the cause of a failure or a pending state, typed so that callers
// word it themselves (report words it once for every output) and never
// read it back from prose. Checks keep it as a code and put it into words
// only when Results is called, so a failing threshold builds no string per
// tick.
type Why uint8

// The causes of Result.Why.
const (
	WhyNone      Why = iota
	WhyNoData        // no sample, no query result
	WhyNotEnough     // fewer samples than min_samples
	WhyAllFailed     // a latency threshold whose every request failed
	WhyBreach        // the observed value is past the limit
	WhyQuery         // an SLI query failed (Result.Reason says how)
	WhySkipped       // not judged (a baseline without the metric)
	WhyUnsure        // the confidence interval straddles the limit
)

// Bounds is a confidence interval; an open side (NoLo, NoHi) is one the
// samples cannot bound at the level asked.
type Bounds struct {
	Lo, Hi     float64
	NoLo, NoHi bool
}

// Measurement is what a threshold is judged on.
type Measurement struct {
	Value   float64 // the aggregation, in the report unit
	Samples int64
	Has     bool // there is data: Value means something
	// AllFailed is set for a latency threshold (a trend of http_req_*)
	// whose every request failed: fast failures must not make it pass.
	AllFailed bool
	// CI, when set, is the confidence interval of Value: Judge then
	// decides on it rather than on Value.
	CI *Bounds
}

// Outcome is one judgement of a threshold.
type Outcome struct {
	Verdict  Verdict
	Why      Why
	Observed float64
	Measured bool // Observed is a value of data (not a placeholder)
	Samples  int64
	CI       *Bounds // the measurement's interval, when it had one
}

// Judge is the one rule that decides a threshold, used live, at the end of
// a run and by report's merge: e compared with limit on m. Live (final
// false), too few samples or no data leave the decision pending; at the end
// they fail. minSamples is the threshold's min_samples (0 for none).
func Judge(e Expr, limit float64, minSamples int64, m Measurement, final bool) Outcome {
	o := Outcome{Observed: m.Value, Measured: m.Has, Samples: m.Samples, CI: m.CI}
	switch {
	case !final && m.Samples < minSamples:
		o.Why = WhyNotEnough
	case m.AllFailed:
		o.Verdict, o.Why = VerdictFail, WhyAllFailed
	case !m.Has:
		o.Why = WhyNoData
		if final {
			o.Verdict = VerdictFail
		}
	case m.Samples < minSamples:
		o.Verdict, o.Why = VerdictFail, WhyNotEnough
	case m.CI != nil:
		switch e.Op.side(*m.CI, limit) {
		case 1:
			o.Verdict = VerdictPass
		case -1:
			o.Verdict, o.Why = VerdictFail, WhyBreach
		default:
			o.Why = WhyUnsure
			if final {
				o.Verdict = VerdictUndecided
			}
		}
	case e.Op.Holds(m.Value, limit):
		o.Verdict = VerdictPass
	default:
		o.Verdict, o.Why = VerdictFail, WhyBreach
	}
	return o
}

// Measure computes e's aggregation on v: ms for trends, a 0..1 share for
// rates, a count, or a rate per second over span for counters. ok is false
// when there is no data (a counter always has a count; its rate needs a
// span). For a counter samples only marks "has data".
func Measure(e Expr, v engine.Value, span time.Duration) (val float64, samples int64, ok bool) {
	switch v.Type {
	case engine.Trend:
		if v.Hist == nil || v.Hist.Count() == 0 {
			return 0, 0, false
		}
		var d time.Duration
		switch e.Agg {
		case AggAvg:
			d = v.Hist.Mean()
		case AggMin:
			d = v.Hist.Min()
		case AggMax:
			d = v.Hist.Max()
		default:
			d = v.Hist.Quantile(e.Quantile()) // p(N) and med
		}
		return ms(d), v.Hist.Count(), true
	case engine.Rate:
		if v.Total == 0 {
			return 0, 0, false
		}
		return float64(v.Hits) / float64(v.Total), v.Total, true
	}
	if e.Agg == AggRate {
		if span <= 0 {
			return 0, 0, false
		}
		return float64(v.Count) / span.Seconds(), 1, true
	}
	return float64(v.Count), 1, true
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

	why      Why
	samples  int64 // samples behind why (for "not enough data")
	toDecide int64 // samples that would likely decide an undecided check

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

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// judge evaluates r with Judge, on its confidence interval when the
// threshold has a confidence.
func (c *check) judge(r *reading, final bool) Outcome {
	val, samples, ok := Measure(c.expr, r.v, r.span)
	m := Measurement{Value: val, Samples: samples, Has: ok, AllFailed: c.latency && r.allFailed()}
	conf := c.res.Threshold.Confidence
	if conf > 0 && ok {
		if b, has := Interval(c.expr, r.v, conf); has {
			m.CI = &b
		}
	}
	o := Judge(c.expr, c.limit, c.min, m, final)
	if o.Verdict == VerdictUndecided {
		c.toDecide = ToDecide(c.expr, r.v, c.limit, conf)
	}
	return o
}

// Interval is the conf confidence interval of e's aggregation on v, in the
// report unit (package stats): of a percentile or the median of a trend
// (order statistics of its histogram), or of the rate of a rate (Wilson).
// ok is false for other aggregations and without data.
func Interval(e Expr, v engine.Value, conf float64) (b Bounds, ok bool) {
	switch {
	case v.Type == engine.Trend && (e.Agg == AggPercentile || e.Agg == AggMed):
		if v.Hist == nil || v.Hist.Count() == 0 {
			return b, false
		}
		iv := stats.QuantileOf(v.Hist.Buckets(), e.Quantile(), conf)
		// The measured value is its bucket's highest (Quantile): the
		// interval holds it, as reports show them together.
		point := v.Hist.Quantile(e.Quantile())
		return Bounds{Lo: ms(min(iv.Lo, point)), Hi: ms(max(iv.Hi, point)), NoLo: iv.NoLo, NoHi: iv.NoHi}, true
	case v.Type == engine.Rate && e.Agg == AggRate:
		lo, hi, ok := stats.Rate(v.Hits, v.Total, conf)
		return Bounds{Lo: lo, Hi: hi}, ok
	}
	return b, false
}

// ToDecide estimates how many samples in all e would likely need, on data
// distributed as v, for its conf interval to leave limit's side; 0 when
// no number would (the data sits on the limit).
func ToDecide(e Expr, v engine.Value, limit, conf float64) int64 {
	switch {
	case v.Type == engine.Trend && v.Hist != nil && v.Hist.Count() > 0:
		share, n := stats.ShareAtOrBelow(v.Hist.Buckets(), time.Duration(limit*float64(time.Millisecond)))
		total, ok := stats.QuantileSamplesToDecide(n, share, e.Quantile(), conf)
		if ok {
			return total
		}
	case v.Type == engine.Rate && v.Total > 0:
		total, ok := stats.RateSamplesToDecide(v.Total, float64(v.Hits)/float64(v.Total), limit, conf)
		if ok {
			return total
		}
	}
	return 0
}

// recordWhole applies a whole-run evaluation: the latest one is the state.
func (c *check) recordWhole(o Outcome, at time.Duration) {
	if o.Measured {
		c.res.Evaluations++
		c.res.Observed = o.Observed
	}
	c.res.Passed = o.Verdict == VerdictPass
	c.res.Pending = o.Verdict == VerdictPending
	c.res.Undecided = o.Verdict == VerdictUndecided
	c.res.CI, c.res.ToDecide = o.CI, 0
	if c.res.Undecided && c.toDecide > 0 {
		c.res.ToDecide = max(c.toDecide-o.Samples, 1)
	}
	c.res.NoData = o.Why == WhyNoData
	c.why, c.samples = o.Why, o.Samples
	if o.Verdict == VerdictFail && !c.res.Failed {
		c.res.Failed, c.res.FirstFailedAt = true, at
	}
}

// recordWindow applies a window's evaluation: one breach fails the
// threshold for good; the worst decided window value is kept.
func (c *check) recordWindow(o Outcome, end, at time.Duration) {
	if o.Measured {
		c.res.Evaluations++
		c.res.Observed = o.Observed
		c.maxSamples = max(c.maxSamples, o.Samples)
	}
	if o.Verdict == VerdictPending {
		if !c.decided {
			c.why, c.samples = o.Why, o.Samples
		}
		return
	}
	c.decided, c.res.Pending = true, false
	if o.Measured && (!c.hasWorst || c.expr.Op.Worse(o.Observed, c.worst) || o.Verdict == VerdictFail && !c.breached) {
		c.worst, c.hasWorst = o.Observed, true
	}
	if o.Verdict == VerdictFail && !c.breached {
		c.breached, c.breachEnd, c.why = true, end, o.Why
		c.res.Failed, c.res.FirstFailedAt = true, at
	}
	if !c.breached {
		c.why = WhyNone
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
		c.why = WhyAllFailed
	case c.maxSamples == 0:
		c.why, c.res.NoData = WhyNoData, true
	default:
		c.why, c.samples = WhyNotEnough, c.maxSamples
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
	case WhyNoData:
		s = "no data"
	case WhyNotEnough:
		s = fmt.Sprintf("not enough data (%d of %d samples)", c.samples, c.min)
	case WhyAllFailed:
		s = "every request failed"
	case WhyUnsure:
		s = c.unsure()
	case WhyBreach:
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

// unsure words an undecided check: "observed 480ms, 95% interval
// 452ms..561ms straddles the limit < 500ms: about 3000 more samples would
// decide". Reports word it again from the typed fields.
func (c *check) unsure() string {
	r := &c.res
	side := func(v float64, open bool) string {
		if open {
			return ""
		}
		return show(v) + r.Unit
	}
	iv := ""
	if r.CI != nil {
		iv = fmt.Sprintf(", %s%% interval %s..%s", show(r.Threshold.Confidence*100), side(r.CI.Lo, r.CI.NoLo), side(r.CI.Hi, r.CI.NoHi))
	}
	s := fmt.Sprintf("observed %s%s%s straddles the limit %s %s%s", show(r.Observed), r.Unit, iv, c.expr.Op, show(r.Limit), r.Unit)
	switch {
	case !r.Undecided: // live
	case r.ToDecide > 0:
		s += fmt.Sprintf(": about %d more samples would decide", r.ToDecide)
	default:
		s += ": no number of samples is likely to decide (the data sits on the limit)"
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
