package report

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/loadgate/loadgate/engine"
	"github.com/loadgate/loadgate/slo"
)

// This file words a threshold's state for people, once, for every output:
// the text summary, JUnit messages, HTML cells and notes, the run's
// reasons[] and the JSON reason of a breach (docs/reports.md, "Values a
// person reads").

// Detail is the one line that says why t stands as it does:
// "observed 604.67ms, limit < 500ms", "observed 0.25%, limit < 1%",
// "observed 1.62s, limit < 500ms (breached in window ending at 21s)",
// "no data", "not run: preflight failed". Each value is said once, in a
// human unit and never in scientific notation.
func (t ThresholdResult) Detail() string {
	switch {
	case t.Skipped:
		if t.Reason == "" {
			return "skipped"
		}
		return t.Reason
	case t.NoData || t.Reason == "no data":
		if t.Reason != "" && t.Reason != "no data" {
			return "no data: " + t.Reason
		}
		return "no data"
	}
	msg := observedLimit(t)
	switch {
	case t.Reason == "" || t.Reason == msg: // passed, or a breach: its values
		return msg
	case t.Observed == 0 && !t.Undecided:
		// Nothing was measured (a query that failed, a request that never
		// completed): the reason is all there is to say.
		return t.Reason
	}
	return msg + " (" + t.Reason + ")"
}

// ThresholdDetail is the Detail of an evaluator's result, with the values
// rounded as a report keeps them, so that the run's reasons say what its
// reports say.
func ThresholdDetail(r slo.Result) string {
	return thresholdResults([]slo.Result{r}, time.Time{}, nil, "")[0].Detail()
}

// note is what t's reason adds to its observed value and limit (the HTML
// table shows those in columns of their own): nothing for a pass or a
// breach, the reason otherwise.
func (t ThresholdResult) note() string {
	if t.Reason == observedLimit(t) {
		return ""
	}
	return t.Reason
}

// unsureReason says why an undecided threshold is undecided, without its
// observed value and limit (Detail says those): "95% interval
// 452ms..561ms straddles the limit: about 3,000 more requests would
// decide".
func unsureReason(t ThresholdResult) string {
	k := kindOf(t)
	side := func(x *float64) string {
		if x == nil {
			return ""
		}
		return k.format(*x, 0)
	}
	s := "the limit is inside the interval"
	if len(t.Interval) == 2 {
		s = fmt.Sprintf("%s%% interval %s..%s straddles the limit", trimFloat(t.Confidence*100, 2), side(t.Interval[0]), side(t.Interval[1]))
	}
	what := "samples"
	if name, _, _ := strings.Cut(t.Metric, "{"); strings.HasPrefix(name, "http_req") {
		what = "requests"
	}
	switch {
	case !t.Undecided: // live
		return s
	case t.ToDecide > 0:
		return fmt.Sprintf("%s: about %s more %s would decide", s, groupThousands(t.ToDecide), what)
	}
	return s + ": no number of " + what + " is likely to decide (the data sits on the limit)"
}

// groupThousands writes n with commas: 3,000.
func groupThousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// observedLimit is "observed 412ms, limit < 300ms".
func observedLimit(t ThresholdResult) string {
	obs, lim := thresholdValues(t)
	if op := exprOp(t.Expr); op != "" {
		lim = op + " " + lim
	}
	return "observed " + obs + ", limit " + lim
}

// exprOp returns the comparison of a threshold expression (AGG OP VALUE);
// no aggregation contains an operator character, so the first one starts it.
func exprOp(expr string) string {
	i := strings.IndexAny(expr, "<>=!")
	if i < 0 {
		return ""
	}
	if i+1 < len(expr) && expr[i+1] == '=' {
		return expr[i : i+2]
	}
	return expr[i : i+1]
}

// valueKind is how a threshold's values are written.
type valueKind uint8

const (
	kindNumber   valueKind = iota // a count or a plain value: 40, 0.5
	kindDuration                  // ms: 512µs, 604.67ms, 15.34s, 1m30s
	kindSeconds                   // s (an SLI's duration): as kindDuration
	kindPerSec                    // a counter's rate: 17.56/s
	kindPercent                   // a share written in percent: 0.25%
	kindFraction                  // a share written as a fraction: 0.0025
)

// kindOf decides how t's values are written. A share (a rate metric, or an
// SLI whose limit is a percentage) is written the way the expression wrote
// its limit: "rate < 1%" gives "observed 0.25%", "rate < 0.01" gives
// "observed 0.0025"; a baseline-relative limit on a rate is in percent
// unless its adjustment is a plain fraction ("baseline + 0.01").
func kindOf(t ThresholdResult) valueKind {
	switch t.Unit {
	case "ms":
		return kindDuration
	case "s":
		return kindSeconds
	case "/s":
		return kindPerSec
	case "":
	default:
		return kindNumber
	}
	name, _, _ := strings.Cut(t.Metric, "{")
	m, known := engine.LookupMetric(name)
	share := known && m.Type == engine.Rate
	e, err := slo.ParseExpr(t.Expr)
	if err != nil {
		if share {
			return kindPercent
		}
		return kindNumber
	}
	plain := e.Lit.Unit == slo.Plain
	if e.Baseline {
		if !share {
			return kindNumber
		}
		if plain && (e.Adjust == slo.Plus || e.Adjust == slo.Minus) {
			return kindFraction
		}
		return kindPercent
	}
	switch {
	case !plain:
		return kindPercent // "rate < 1%", "value < 5%"
	case share:
		return kindFraction // "rate > 0.99"
	}
	return kindNumber
}

// thresholdValues writes t's observed value and limit, each with as many
// decimals as it takes to tell them apart (an observed 500.004ms over a
// limit of 500ms is not "500ms"), and a value that is not zero never as 0.
func thresholdValues(t ThresholdResult) (observed, limit string) {
	k := kindOf(t)
	for extra := 0; ; extra++ {
		observed, limit = k.format(t.Observed, extra), k.format(t.Limit, extra)
		if observed != limit || t.Observed == t.Limit || extra == 6 {
			return observed, limit
		}
	}
}

// format writes v with extra more decimals than the kind's usual.
func (k valueKind) format(v float64, extra int) string {
	switch k {
	case kindDuration:
		return fmtDuration(v, extra)
	case kindSeconds:
		return fmtDuration(v*1000, extra)
	case kindPerSec:
		return nonZero(v, 3+extra) + "/s"
	case kindPercent:
		return nonZero(v*100, 2+extra) + "%"
	case kindFraction:
		return nonZero(v, 4+extra)
	}
	return nonZero(v, 3+extra)
}

// fmtDuration is fmtMS with extra more decimals.
func fmtDuration(v float64, extra int) string {
	if extra == 0 {
		return fmtMS(v)
	}
	switch {
	case v == 0:
		return "0s"
	case v < 1:
		return nonZero(v*1000, extra) + "µs"
	case v < 1000:
		return nonZero(v, 2+extra) + "ms"
	case v < 60000:
		return nonZero(v/1000, 2+extra) + "s"
	}
	unit := time.Second
	for i := 0; i < extra && unit > time.Millisecond; i++ {
		unit /= 10
	}
	return fmtLong(time.Duration(v * float64(time.Millisecond)).Round(unit))
}

// nonZero is trimFloat(v, digits), with more digits when v is not zero but
// would be written as 0 (a share of 0.001% is not 0%).
func nonZero(v float64, digits int) string {
	s := trimFloat(v, digits)
	for (s == "0" || s == "-0") && v != 0 && digits < 12 {
		digits++
		s = trimFloat(v, digits)
	}
	return s
}

// liveFailure is what a passed threshold adds when it failed on a live
// evaluation and held at the end (first_failed_at is set): never "PASS ...
// first failed", which reads as a contradiction (docs/reports.md).
func liveFailure(t ThresholdResult) string {
	if !t.Passed || t.FirstFailedAt == nil {
		return ""
	}
	return "; failed live at " + *t.FirstFailedAt + ", held at the end"
}
