package slo

import (
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"
)

// Expected-token lists, shared by the messages so that they stay in step
// with the grammar.
const (
	aggNamesList = "p(N), avg, min, max, med, rate, count or value"
	wantOp       = "want a comparison: <, <=, >, >=, == or !="
	valueList    = "a duration (300ms), a number, a percent (1%) or baseline"
	unitList     = "ns, us, µs, ms, s, m, h, % or pp"
)

// aggByName maps the names of aggregations other than p(N). It is read only
// while parsing, never per tick.
var aggByName = map[string]Agg{
	"avg": AggAvg, "min": AggMin, "max": AggMax, "med": AggMed,
	"rate": AggRate, "count": AggCount, "value": AggValue,
}

// durationUnits maps unit suffixes to milliseconds and their canonical text.
var durationUnits = map[string]struct {
	ms    float64
	canon string
}{
	"ns": {1e-6, "ns"}, "us": {1e-3, "us"}, "µs": {1e-3, "us"}, "μs": {1e-3, "us"},
	"ms": {1, "ms"}, "s": {1e3, "s"}, "m": {6e4, "m"}, "h": {3.6e6, "h"},
}

// DurationUnit returns the milliseconds of a duration unit suffix (ns, us,
// µs, ms, s, m, h): the one table of duration units, for thresholds and for
// compare's rules.
func DurationUnit(suffix string) (ms float64, ok bool) {
	u, ok := durationUnits[suffix]
	return u.ms, ok
}

// ParseExpr parses a threshold expression, AGG OP VALUE, such as
// "p(95) < 300ms", "rate<0.01", "count > 100" or "p(99) < baseline + 10%".
// Errors are *SyntaxError at the byte offset of the bad token. ParseExpr
// checks the grammar only; Expr.Check checks it against a metric.
func ParseExpr(s string) (Expr, error) {
	p := scanner{s: s}
	p.space()
	if p.eof() {
		return Expr{}, p.errf(p.i, "empty expression: want AGG OP VALUE, e.g. p(95) < 300ms")
	}
	var e Expr
	if err := p.agg(&e); err != nil {
		return Expr{}, err
	}
	p.space()
	if err := p.op(&e); err != nil {
		return Expr{}, err
	}
	p.space()
	if err := p.value(&e); err != nil {
		return Expr{}, err
	}
	p.space()
	if !p.eof() {
		if e.Baseline && e.Adjust == NoAdjust {
			return Expr{}, p.errf(p.i, "unexpected %s: want +, -, * or the end after baseline", p.token())
		}
		return Expr{}, p.errf(p.i, "unexpected %s: want the end of the expression", p.token())
	}
	return e, nil
}

// scanner walks the text of an expression or selector.
type scanner struct {
	s string
	i int
}

func (p *scanner) eof() bool { return p.i >= len(p.s) }

func (p *scanner) space() {
	for p.i < len(p.s) && isSpace(p.s[p.i]) {
		p.i++
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func isIdentStart(c byte) bool { return c == '_' || c|0x20 >= 'a' && c|0x20 <= 'z' }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// ident scans [A-Za-z_][A-Za-z0-9_]* and returns it, or "".
func (p *scanner) ident() string {
	start := p.i
	if p.eof() || !isIdentStart(p.s[p.i]) {
		return ""
	}
	for p.i < len(p.s) && (isIdentStart(p.s[p.i]) || isDigit(p.s[p.i])) {
		p.i++
	}
	return p.s[start:p.i]
}

// number scans digits with at most one dot ("95", "99.9", ".5") and returns
// its value; ok is false when there is no digit at the start.
func (p *scanner) number() (v float64, ok bool, err error) {
	start, digits, dot := p.i, 0, false
	for p.i < len(p.s) {
		c := p.s[p.i]
		if isDigit(c) {
			digits++
		} else if c == '.' && !dot {
			dot = true
		} else {
			break
		}
		p.i++
	}
	if digits == 0 {
		p.i = start
		return 0, false, nil
	}
	v, perr := strconv.ParseFloat(p.s[start:p.i], 64)
	if perr != nil || math.IsInf(v, 0) {
		return 0, false, p.errf(start, "number out of range")
	}
	return v, true, nil
}

// token describes the text at p.i for a message: a quoted word or rune.
func (p *scanner) token() string {
	if p.eof() {
		return "end of text"
	}
	j := p.i
	for j < len(p.s) && (isIdentStart(p.s[j]) || isDigit(p.s[j])) {
		j++
	}
	if j == p.i {
		_, n := utf8.DecodeRuneInString(p.s[p.i:])
		j = p.i + n
	}
	return strconv.Quote(p.s[p.i:j])
}

func (p *scanner) errf(off int, format string, args ...any) *SyntaxError {
	return &SyntaxError{Offset: off, Msg: fmt.Sprintf(format, args...)}
}

// agg parses p(N) or a named aggregation.
func (p *scanner) agg(e *Expr) error {
	e.aggOff = p.i
	name := p.ident()
	if name == "" {
		return p.errf(e.aggOff, "unexpected %s: want an aggregation: %s", p.token(), aggNamesList)
	}
	if name == "p" {
		e.Agg = AggPercentile
		return p.percentile(e)
	}
	a, ok := aggByName[name]
	if !ok {
		return p.errf(e.aggOff, "unknown aggregation %q: want %s", name, aggNamesList)
	}
	e.Agg = a
	return nil
}

// percentile parses the "(N)" of p(N), with N in [0,100].
func (p *scanner) percentile(e *Expr) error {
	p.space()
	if p.eof() || p.s[p.i] != '(' {
		return p.errf(p.i, "unexpected %s: want ( after p, as in p(95)", p.token())
	}
	p.i++
	p.space()
	start := p.i
	v, ok, err := p.number()
	if err != nil {
		return err
	}
	if !ok {
		return p.errf(start, "unexpected %s: want a percentile from 0 to 100 in p(N)", p.token())
	}
	if v > 100 {
		return p.errf(start, "percentile %s is out of range: want 0 to 100", p.s[start:p.i])
	}
	p.space()
	if p.eof() || p.s[p.i] != ')' {
		return p.errf(p.i, "unexpected %s: want ) to close p(%s", p.token(), p.s[start:p.i])
	}
	p.i++
	e.P = v
	return nil
}

// op parses a comparison. "===" is accepted as "==" because k6 takes it.
func (p *scanner) op(e *Expr) error {
	start := p.i
	next := func(c byte) bool {
		if p.i < len(p.s) && p.s[p.i] == c {
			p.i++
			return true
		}
		return false
	}
	switch {
	case next('<'):
		e.Op = Less
		if next('=') {
			e.Op = LessEq
		}
	case next('>'):
		e.Op = Greater
		if next('=') {
			e.Op = GreaterEq
		}
	case next('=') && next('='):
		e.Op = Equal
		next('=')
	case next('!') && next('='):
		e.Op = NotEqual
	default:
		p.i = start
		return p.errf(start, "unexpected %s: %s", p.token(), wantOp)
	}
	return nil
}

// value parses a literal or baseline [+|-|* literal].
func (p *scanner) value(e *Expr) error {
	e.valOff = p.i
	if p.eof() {
		return p.errf(p.i, "missing value: want %s", valueList)
	}
	if isIdentStart(p.s[p.i]) {
		if p.ident() != "baseline" {
			p.i = e.valOff
			return p.errf(e.valOff, "unexpected %s: want a value: %s", p.token(), valueList)
		}
		e.Baseline = true
		return p.adjust(e)
	}
	return p.literal(&e.Lit)
}

// adjust parses the optional "+ X", "- X" or "* X" after baseline.
func (p *scanner) adjust(e *Expr) error {
	save := p.i
	p.space()
	if p.eof() {
		return nil
	}
	switch p.s[p.i] {
	case '+':
		e.Adjust = Plus
	case '-':
		e.Adjust = Minus
	case '*':
		e.Adjust = Times
	default:
		p.i = save
		return nil
	}
	p.i++
	p.space()
	e.valOff = p.i
	if err := p.literal(&e.Lit); err != nil {
		return err
	}
	if e.Adjust == Times && e.Lit.Unit != Plain {
		return p.errf(e.valOff, "unexpected %s: want a plain number after *, e.g. baseline * 1.1", strconv.Quote(e.Lit.String()))
	}
	return nil
}

// literal parses a number with an optional unit: 300, 300ms, 1.5s, 1%,
// 1pp.
func (p *scanner) literal(l *Literal) error {
	start := p.i
	v, ok, err := p.number()
	if err != nil {
		return err
	}
	if !ok {
		return p.errf(start, "unexpected %s: want a value: %s", p.token(), valueList)
	}
	*l = Literal{Num: v, Value: v}
	if p.eof() {
		return nil
	}
	if p.s[p.i] == '%' {
		p.i++
		l.Unit, l.Suffix, l.Value = Percent, "%", v/100
		return nil
	}
	us := p.i
	for p.i < len(p.s) {
		r, n := utf8.DecodeRuneInString(p.s[p.i:])
		if !(r < utf8.RuneSelf && isIdentStart(byte(r)) || r == 'µ' || r == 'μ') {
			break
		}
		p.i += n
	}
	if us == p.i {
		return nil
	}
	if p.s[us:p.i] == "pp" {
		l.Unit, l.Suffix, l.Value = Points, "pp", v/100
		return nil
	}
	u, ok := durationUnits[p.s[us:p.i]]
	if !ok {
		return p.errf(us, "unknown unit %q: want %s", p.s[us:p.i], unitList)
	}
	l.Unit, l.Suffix, l.Value = Duration, u.canon, v*u.ms
	return nil
}

func fmtNum(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
