package slo

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/loadgate/loadgate/engine"
)

// Options are the Evaluator's optional hooks.
type Options struct {
	// Abort is called once, from Observe, with the result of the first
	// fail-severity abort_on_fail threshold that fails live once its delay
	// has passed. It should cancel the run and return at once.
	Abort func(r Result)
	// Baseline resolves the value of agg on key in the baseline run, in the
	// metric's report unit. ok false skips the threshold with reason (or
	// "baseline has no KEY" when reason is empty). Nil skips every baseline
	// threshold with reason "needs --baseline".
	Baseline func(key string, agg Expr) (v float64, ok bool, reason string)
}

// Evaluator evaluates thresholds on every snapshot of a run. It is an
// engine.Observer: Observe is called from the engine's collector goroutine;
// Results and Failed may be called from any goroutine at any time.
type Evaluator struct {
	opt     Options
	windows []*window // pushed every tick, before the checks read them

	// mu guards everything below, so that a reader on another goroutine (a
	// Prometheus scrape, the console) never sees a half-updated result.
	mu      sync.Mutex
	checks  []*check
	tick    int
	final   bool
	aborted bool
}

// New resolves each threshold's selector against plan and parses its
// expression once. Errors name the threshold and wrap the parse error.
func New(plan *engine.Plan, ths []Threshold, opt Options) (*Evaluator, error) {
	interval := plan.Interval
	if interval <= 0 {
		interval = engine.DefaultInterval
	}
	b := builder{plan: plan, interval: interval, series: map[string]*series{}, windows: map[string]*window{}}
	e := &Evaluator{opt: opt}
	for _, th := range ths {
		c, err := b.build(th, opt.Baseline)
		if err != nil {
			return nil, fmt.Errorf("threshold %s: %s: %w", keyOf(th), th.Expr, err)
		}
		e.checks = append(e.checks, c)
	}
	e.windows = b.order
	return e, nil
}

// builder shares series and windows between thresholds with the same key.
type builder struct {
	plan     *engine.Plan
	interval time.Duration
	series   map[string]*series
	windows  map[string]*window
	order    []*window
}

// build returns the check of th: an SLI's, fed by ObserveSLI, or a
// built-in metric's, read from the snapshots.
func (b *builder) build(th Threshold, base func(string, Expr) (float64, bool, string)) (*check, error) {
	if th.Metric == SLIMetric {
		return sliCheck(th)
	}
	return b.check(th, base)
}

func (b *builder) check(th Threshold, base func(string, Expr) (float64, bool, string)) (*check, error) {
	expr, err := ParseExpr(th.Expr)
	if err != nil {
		return nil, err
	}
	src, err := b.source(th)
	if err != nil {
		return nil, err
	}
	m := src.sel.Metric
	if err := expr.Check(m); err != nil {
		return nil, err
	}
	if err := validOptions(th, expr, m); err != nil {
		return nil, err
	}
	c := &check{expr: expr, min: th.MinSamples, latency: src.failed != nil, whole: src}
	c.res = Result{Threshold: th, Key: src.sel.Key(), Unit: unitOf(expr, m.Type), Pending: true}
	c.why = WhyNoData
	c.limit = expr.Lit.Value
	if expr.Baseline {
		if err := c.resolveBaseline(base, m); err != nil {
			return nil, err
		}
	}
	c.res.Limit = c.limit
	if th.Window > 0 && !c.res.Skipped {
		n := int((th.Window + b.interval - 1) / b.interval)
		c.win = b.window(src, n)
	}
	return c, nil
}

// source returns the shared series of th's selection.
func (b *builder) source(th Threshold) (*series, error) {
	sel, err := engine.Select(b.plan, th.Metric, th.Tags)
	if err != nil {
		return nil, err
	}
	if sel.NeedsStatusTrends() && !b.plan.StatusTrends {
		return nil, fmt.Errorf("%s needs Plan.StatusTrends", sel.Key())
	}
	key := sel.Key()
	if s, ok := b.series[key]; ok {
		return s, nil
	}
	s := &series{sel: sel}
	if sel.Metric.Type == engine.Trend && strings.HasPrefix(sel.Metric.Name, "http_req_") {
		if s.failed, err = engine.Select(b.plan, "http_req_failed", sel.Tags); err != nil {
			return nil, err
		}
	}
	b.series[key] = s
	return s, nil
}

func (b *builder) window(src *series, n int) *window {
	key := fmt.Sprintf("%s/%d", src.sel.Key(), n)
	w, ok := b.windows[key]
	if !ok {
		w = newWindow(src, n)
		b.windows[key] = w
		b.order = append(b.order, w)
	}
	return w
}

func validOptions(th Threshold, expr Expr, m engine.Metric) error {
	if th.AbortOnFail {
		if err := expr.CheckAbort(m); err != nil {
			return err
		}
	}
	if th.Confidence != 0 {
		if err := ConfidenceApplies(th, expr, m); err != nil {
			return err
		}
	}
	switch {
	case th.Window < 0 || th.Delay < 0 || th.MinSamples < 0:
		return fmt.Errorf("window, delay and min_samples must not be negative")
	case th.MinSamples > 0 && m.Type == engine.Counter:
		return fmt.Errorf("min_samples does not apply to counter %s (a count is always data)", m.Name)
	}
	return nil
}

// ConfidenceApplies checks a threshold's confidence: a level between 50%
// and 99.99%, on an aggregation that has an interval (a percentile or the
// median of a trend, the rate of a rate), compared with <, <=, > or >=
// (an interval has no side of == or !=), over the whole run (a window
// would need an interval per window, each with few samples).
func ConfidenceApplies(th Threshold, e Expr, m engine.Metric) error {
	switch {
	case th.Confidence < 0.5 || th.Confidence > 0.9999:
		return fmt.Errorf("confidence %s%%: want a level from 50%% to 99.99%%", show(th.Confidence*100))
	case !(m.Type == engine.Trend && (e.Agg == AggPercentile || e.Agg == AggMed)) && !(m.Type == engine.Rate && e.Agg == AggRate):
		return fmt.Errorf("confidence applies to a percentile of a trend or the rate of a rate, not to %s of %s", e.Agg, m.Name)
	case e.Op == Equal || e.Op == NotEqual:
		return fmt.Errorf("confidence applies to <, <=, > and >=: an interval has no side of %s", e.Op)
	case th.Window > 0:
		return fmt.Errorf("confidence applies to whole-run thresholds, not to a window")
	}
	return nil
}

// resolveBaseline sets the limit from the baseline, or skips the check
// with the reason. A limit that could never pass on the baseline's value
// is an error (Expr.CheckBaseline); the CLI refuses it at load already, with
// the threshold's position.
func (c *check) resolveBaseline(base func(string, Expr) (float64, bool, string), m engine.Metric) error {
	c.res.Pending, c.res.Skipped, c.limit = false, true, 0
	if base == nil {
		c.res.Reason = "needs --baseline"
		return nil
	}
	v, ok, reason := base(c.res.Key, c.expr)
	if !ok {
		if reason == "" {
			reason = "baseline has no " + c.res.Key
		}
		c.res.Reason = reason
		return nil
	}
	if err := c.expr.CheckBaseline(m, v); err != nil {
		return err
	}
	c.res.Skipped, c.res.Pending = false, true
	c.limit = c.expr.Limit(v)
	return nil
}

// unitOf is the report unit of expr's value on a metric of type t.
func unitOf(expr Expr, t engine.MetricType) string {
	switch {
	case t == engine.Trend:
		return "ms"
	case t == engine.Counter && expr.Agg == AggRate:
		return "/s"
	}
	return ""
}

// keyOf names a threshold before its selection is resolved.
func keyOf(th Threshold) string {
	s := engine.Selection{Metric: engine.Metric{Name: th.Metric}, Tags: th.Tags}
	return s.Key()
}
