package slo

import (
	"fmt"
	"time"

	"github.com/loadgate/loadgate/engine"
)

// SLIMetric is the metric name of a server-side SLI threshold,
// sli{name:NAME}: a value the caller measures elsewhere (a Prometheus query
// over the run's window) and feeds with ObserveSLI. It joins the same gate
// as the built-in metrics and is judged by the same Expr code.
const SLIMetric = "sli"

// SLIReading is one evaluation of a named SLI.
type SLIReading struct {
	Name  string
	Value float64 // in the query's own unit (Prometheus base units: seconds, ratios)
	// Err, when not nil, is why there is no Value: the query failed, timed
	// out or returned no sample. Its text becomes the threshold's reason.
	Err error
	// NoData marks an Err that is an empty result rather than a failure.
	NoData bool
	// At is the offset from the run's start of the end of the window the
	// value covers.
	At time.Duration
}

// sliState is the SLI part of a check; nil on a built-in metric's check.
type sliState struct {
	name  string
	scale float64 // Lit.Value to the query's unit: 1, or 1e-3 for a duration (ms → s)
	err   string  // the reason of a failed evaluation, shown instead of why
	final bool
}

// SLISelectorName returns the SLI name of the tags of an sli{...}
// selector: exactly one tag, name.
func SLISelectorName(tags []engine.Tag) (string, error) {
	if len(tags) != 1 || tags[0].Key != "name" || tags[0].Value == "" {
		return "", fmt.Errorf("an sli threshold selects one query by name: sli{name:QUERY}")
	}
	return tags[0].Value, nil
}

// CheckSLI reports whether e applies to an SLI: AGG must be value, and the
// limit a plain number, a percent (a share) or a duration (compared in
// seconds, Prometheus's unit); there is no baseline of an SLI. The error is
// a *SyntaxError at the offending token.
func (e Expr) CheckSLI() error {
	switch {
	case e.Agg != AggValue:
		return &SyntaxError{Offset: e.aggOff, Msg: "sli is a query's value: use value, e.g. value < 0.8"}
	case e.Baseline:
		return &SyntaxError{Offset: e.valOff, Msg: "sli thresholds have no baseline: want a number, a percent or a duration"}
	case e.Lit.Unit == Points:
		return &SyntaxError{Offset: e.valOff, Msg: "pp (percentage points) is a margin relative to a baseline, and sli thresholds have none: want a number, a percent or a duration"}
	}
	return nil
}

// sliCheck builds the check of an sli{name:X} threshold.
func sliCheck(th Threshold) (*check, error) {
	name, err := SLISelectorName(th.Tags)
	if err != nil {
		return nil, err
	}
	expr, err := ParseExpr(th.Expr)
	if err != nil {
		return nil, err
	}
	if err := expr.CheckSLI(); err != nil {
		return nil, err
	}
	switch {
	case th.Window != 0:
		return nil, fmt.Errorf("window does not apply to sli thresholds: the query's $RANGE is its window")
	case th.MinSamples != 0:
		return nil, fmt.Errorf("min_samples does not apply to sli thresholds")
	case th.Delay < 0:
		return nil, fmt.Errorf("delay must not be negative")
	}
	st := &sliState{name: name, scale: 1}
	unit := ""
	if expr.Lit.Unit == Duration {
		st.scale, unit = 1e-3, "s"
	}
	c := &check{expr: expr, limit: expr.Lit.Value * st.scale, sli: st, why: WhyNoData}
	c.res = Result{Threshold: th, Key: SLIMetric + "{name:" + name + "}", Unit: unit, Limit: c.limit, Pending: true}
	return c, nil
}

// SLINames returns the names of the SLIs the thresholds judge, in order,
// once each: the queries the caller must run.
func (e *Evaluator) SLINames() []string {
	var out []string
	seen := map[string]bool{}
	for _, c := range e.checks {
		if c.sli != nil && !seen[c.sli.name] {
			seen[c.sli.name] = true
			out = append(out, c.sli.name)
		}
	}
	return out
}

// ObserveSLI judges every threshold on r.Name with r. Live (final false), a
// breach is a live failure, which aborts the run like any other
// abort_on_fail threshold once its delay has passed; a reading without a
// value changes no decision. Final, the reading is the verdict, and one
// without a value fails with Err as the reason: a failing or empty query is
// never a silent pass. Readings after a final one are ignored. It may be
// called from any goroutine.
func (e *Evaluator) ObserveSLI(r SLIReading, final bool) {
	abort, ok := e.observeSLI(r, final)
	if ok && e.opt.Abort != nil {
		e.opt.Abort(abort)
	}
}

func (e *Evaluator) observeSLI(r SLIReading, final bool) (abort Result, aborting bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, c := range e.checks {
		if c.sli == nil || c.sli.name != r.Name || c.sli.final {
			continue
		}
		o := c.judgeSLI(r, final)
		if o.Verdict == VerdictPending {
			if c.res.Pending && r.Err != nil {
				c.sli.err = r.Err.Error()
			}
			continue
		}
		c.sli.err = ""
		if r.Err != nil {
			c.sli.err = r.Err.Error()
		}
		c.recordWhole(o, r.At)
		// A failed query has no data either: reports show its reason, not an
		// observed 0.
		c.res.NoData = r.Err != nil
		c.sli.final = final
		if o.Verdict == VerdictFail && !final && e.mayAbort(c, r.At) {
			c.res.Aborted, e.aborted = true, true
			abort, aborting = c.result(), true
		}
		if final && c.res.Aborted {
			c.res.Passed = false
		}
	}
	return abort, aborting
}

// judgeSLI evaluates one reading with the same comparison as every other
// threshold.
func (c *check) judgeSLI(r SLIReading, final bool) Outcome {
	switch {
	case r.Err != nil && !final:
		return Outcome{Why: WhyNoData}
	case r.Err != nil:
		return Outcome{Verdict: VerdictFail, Why: WhyNoData}
	case c.expr.Op.Holds(r.Value, c.limit):
		return Outcome{Verdict: VerdictPass, Observed: r.Value, Measured: true, Samples: 1}
	}
	return Outcome{Verdict: VerdictFail, Why: WhyBreach, Observed: r.Value, Measured: true, Samples: 1}
}
