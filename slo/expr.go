package slo

import (
	"strconv"
	"strings"
)

// Agg is the aggregation on the left of an expression.
type Agg uint8

// Aggregations. Their meaning depends on the metric type (see Expr.Check).
const (
	AggPercentile Agg = iota + 1 // p(N): a trend's value at percentile N
	AggAvg                       // a trend's mean
	AggMin                       // a trend's minimum
	AggMax                       // a trend's maximum
	AggMed                       // a trend's median, p(50)
	AggRate                      // a rate's share, or a counter's events per second
	AggCount                     // a counter's sum
	AggValue                     // an SLI's value (server-side metrics, later work)
)

var aggNames = [...]string{
	AggPercentile: "p", AggAvg: "avg", AggMin: "min", AggMax: "max", AggMed: "med",
	AggRate: "rate", AggCount: "count", AggValue: "value",
}

// String is the aggregation's name; p(N) prints as "p".
func (a Agg) String() string {
	if int(a) < len(aggNames) && aggNames[a] != "" {
		return aggNames[a]
	}
	return "?"
}

// Op is the comparison of an expression.
type Op uint8

// Comparisons.
const (
	Less Op = iota + 1
	LessEq
	Greater
	GreaterEq
	Equal
	NotEqual
)

var opNames = [...]string{Less: "<", LessEq: "<=", Greater: ">", GreaterEq: ">=", Equal: "==", NotEqual: "!="}

// String is the operator as written in expressions.
func (o Op) String() string {
	if int(o) < len(opNames) && opNames[o] != "" {
		return opNames[o]
	}
	return "?"
}

// Holds reports whether "observed o limit" is true.
func (o Op) Holds(observed, limit float64) bool {
	switch o {
	case Less:
		return observed < limit
	case LessEq:
		return observed <= limit
	case Greater:
		return observed > limit
	case GreaterEq:
		return observed >= limit
	case Equal:
		return observed == limit
	case NotEqual:
		return observed != limit
	}
	return false
}

// worse reports whether a is a worse observation than b for this operator:
// higher for an upper limit, lower for a lower limit. Equality operators
// have no direction; the first breach is kept.
// side says where an interval lies against limit under o: 1 wholly on the
// passing side, -1 wholly on the failing side, 0 across it (or an open
// side reaching across). Only <, <=, > and >= have sides (validOptions).
func (o Op) side(b Bounds, limit float64) int {
	switch o {
	case Less, LessEq:
		switch {
		case !b.NoHi && o.Holds(b.Hi, limit):
			return 1
		case !b.NoLo && !o.Holds(b.Lo, limit):
			return -1
		}
	case Greater, GreaterEq:
		switch {
		case !b.NoLo && o.Holds(b.Lo, limit):
			return 1
		case !b.NoHi && !o.Holds(b.Hi, limit):
			return -1
		}
	}
	return 0
}

func (o Op) Worse(a, b float64) bool {
	switch o {
	case Less, LessEq:
		return a > b
	case Greater, GreaterEq:
		return a < b
	}
	return false
}

// Unit is the unit a literal was written in.
type Unit uint8

// Literal units.
const (
	Plain    Unit = iota // a bare number: ms on a trend, the metric's own unit elsewhere
	Duration             // a number with ns, us, µs, ms, s, m or h
	Percent              // a number with %
	// Points is a number with pp, percentage points: an absolute margin on
	// a rate relative to a baseline ("baseline + 1pp" adds 0.01), where
	// "baseline + 1%" adds 1% of the baseline (docs/thresholds.md).
	Points
)

// Literal is a number on the right of an expression.
type Literal struct {
	Num    float64 // as written: 1.5 of "1.5s"
	Suffix string  // canonical unit text: "", "%", "pp", "ns", "us", "ms", "s", "m", "h"
	Unit   Unit
	// Value is Num in evaluation units: milliseconds for a duration, a 0..1
	// share for a percent or percentage points, Num for a plain number
	// (which a trend reads as ms).
	Value float64
}

// String is the literal in canonical form, e.g. "1.5s" or "1%".
func (l Literal) String() string {
	return strconv.FormatFloat(l.Num, 'f', -1, 64) + l.Suffix
}

// Adjust is the arithmetic applied to a baseline value.
type Adjust uint8

// Baseline adjustments.
const (
	NoAdjust Adjust = iota // baseline
	Plus                   // baseline + X (X% adds a share of the baseline, Xpp adds X/100)
	Minus                  // baseline - X (X% removes a share of the baseline, Xpp X/100)
	Times                  // baseline * X
)

var adjustNames = [...]string{Plus: "+", Minus: "-", Times: "*"}

// Expr is a parsed threshold expression, AGG OP VALUE. The zero value is not
// valid; build it with ParseExpr.
type Expr struct {
	Agg Agg
	// P is the percentile of AggPercentile, in [0,100] (99.9 is p(99.9)).
	P  float64
	Op Op
	// Baseline marks a limit relative to a previous run: the baseline value,
	// adjusted by Adjust and Lit.
	Baseline bool
	Adjust   Adjust
	// Lit is the limit, or the operand of Adjust on a baseline.
	Lit Literal

	// Byte offsets of the aggregation and the value in the parsed text, so
	// that Check can point at the token it rejects.
	aggOff, valOff int
}

// String is the expression in canonical form: "p(95) < 300ms",
// "rate < 1%", "p(99) < baseline + 10%". ParseExpr accepts it back.
func (e Expr) String() string {
	var b strings.Builder
	if e.Agg == AggPercentile {
		b.WriteString("p(")
		b.WriteString(strconv.FormatFloat(e.P, 'f', -1, 64))
		b.WriteByte(')')
	} else {
		b.WriteString(e.Agg.String())
	}
	b.WriteByte(' ')
	b.WriteString(e.Op.String())
	b.WriteByte(' ')
	if !e.Baseline {
		b.WriteString(e.Lit.String())
		return b.String()
	}
	b.WriteString("baseline")
	if e.Adjust != NoAdjust {
		b.WriteByte(' ')
		b.WriteString(adjustNames[e.Adjust])
		b.WriteByte(' ')
		b.WriteString(e.Lit.String())
	}
	return b.String()
}

// Quantile is P as a quantile in [0,1], for histogram.Quantile.
func (e Expr) Quantile() float64 {
	if e.Agg == AggMed {
		return 0.5
	}
	return e.P / 100
}

// Limit resolves the right-hand side: the literal's value, or base (the
// baseline run's value of the same aggregation) adjusted.
func (e Expr) Limit(base float64) float64 {
	if !e.Baseline {
		return e.Lit.Value
	}
	v := e.Lit.Value
	switch e.Adjust {
	case Plus:
		if e.Lit.Unit == Percent {
			return base * (1 + v)
		}
		return base + v
	case Minus:
		if e.Lit.Unit == Percent {
			return base * (1 - v)
		}
		return base - v
	case Times:
		return base * v
	}
	return base
}

// Relative reports whether the limit is a multiple of the baseline value
// (baseline ± N%, baseline * X), which is 0 whatever N when the baseline is
// 0.
func (e Expr) Relative() bool {
	return e.Baseline && (e.Adjust == Times || (e.Adjust == Plus || e.Adjust == Minus) && e.Lit.Unit == Percent)
}
