package engine

// Templates: {{ ... }} in URLs, header values and bodies, resolved per
// iteration. The Plan keeps the text as written (reports show it, never a
// value); prepare compiles each text once into literal and variable parts
// with every name resolved to an index, so that rendering is a walk over
// the parts appending into a worker's reusable buffer.

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Builtin template names; anything else is a capture or feeder.column.
const (
	builtinUUID      = "uuid"
	builtinIteration = "iteration"
	builtinNow       = "now"
	builtinVU        = "vu"
	builtinRandInt   = "randInt"
)

// Builtins lists the built-in template names (for suggestions).
var Builtins = []string{builtinUUID, builtinIteration, builtinNow, builtinVU, builtinRandInt}

// TemplateError is a syntax error in a template at byte Offset of its text.
type TemplateError struct {
	Offset int
	Msg    string
}

func (e *TemplateError) Error() string { return e.Msg }

// TemplateExpr is one {{ ... }} of a template text.
type TemplateExpr struct {
	Offset int    // of "{{" in the text
	Name   string // uuid, iteration, now, vu, randInt, a capture, or feeder
	Column string // feeder column for feeder.column, else ""
	A, B   int64  // randInt bounds, inclusive
}

// HasTemplate reports whether s contains a template.
func HasTemplate(s string) bool { return strings.Contains(s, "{{") }

// ParseTemplate returns the expressions of s in order; literal text is what
// lies between them. Errors carry the offset of the faulty expression.
func ParseTemplate(s string) ([]TemplateExpr, error) {
	var out []TemplateExpr
	for off := 0; ; {
		i := strings.Index(s[off:], "{{")
		if i < 0 {
			if j := strings.Index(s[off:], "}}"); j >= 0 {
				return nil, &TemplateError{off + j, "}} without {{"}
			}
			return out, nil
		}
		start := off + i
		j := strings.Index(s[start+2:], "}}")
		if j < 0 {
			return nil, &TemplateError{start, "unclosed {{: want {{ name }}"}
		}
		body := s[start+2 : start+2+j]
		e, err := parseExpr(body)
		if err != nil {
			return nil, &TemplateError{start, err.Error()}
		}
		e.Offset = start
		out = append(out, e)
		off = start + 2 + j + 2
	}
}

func parseExpr(body string) (TemplateExpr, error) {
	f := strings.Fields(body)
	switch {
	case len(f) == 0:
		return TemplateExpr{}, fmt.Errorf("empty template {{ }}")
	case f[0] == builtinRandInt:
		if len(f) != 3 {
			return TemplateExpr{}, fmt.Errorf("randInt takes two integers: {{ randInt 1 100 }}")
		}
		a, errA := strconv.ParseInt(f[1], 10, 64)
		b, errB := strconv.ParseInt(f[2], 10, 64)
		if errA != nil || errB != nil || a > b {
			return TemplateExpr{}, fmt.Errorf("randInt takes two integers, the first not above the second: {{ randInt 1 100 }}, got {{%s}}", body)
		}
		return TemplateExpr{Name: builtinRandInt, A: a, B: b}, nil
	case len(f) > 1:
		return TemplateExpr{}, fmt.Errorf("unexpected %q in {{%s}}: want one name, feeder.column or randInt A B", f[1], body)
	}
	name, col, dotted := strings.Cut(f[0], ".")
	if !validVar(name) || dotted && !validColumn(col) {
		return TemplateExpr{}, fmt.Errorf("invalid template name %q: want a name, feeder.column or a built-in (%s)", f[0], strings.Join(Builtins, ", "))
	}
	return TemplateExpr{Name: name, Column: col}, nil
}

func validVar(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && (c >= '0' && c <= '9' || c == '-')) {
			return false
		}
	}
	return true
}

func validColumn(s string) bool {
	return s != "" && !strings.ContainsAny(s, "{} \t")
}

// partKind is what a compiled part inserts.
type partKind uint8

const (
	partLit partKind = iota
	partCapture
	partColumn
	partUUID
	partIteration
	partNow
	partVU
	partRandInt
)

type part struct {
	kind partKind
	lit  string
	slot int // capture slot, or feeder index
	col  int // feeder column
	a, b int64
}

// template is a compiled template text.
type template struct {
	parts  []part
	escape Escape
}

// resolver maps names to slots while a flow is compiled.
type resolver struct {
	captures map[string]int // name → slot, captures of earlier steps
	feeders  []Feeder
	used     map[int]bool // feeders the flow uses
}

// compileTemplate compiles s; a text without templates gives nil.
func compileTemplate(s string, esc Escape, rs *resolver) (*template, error) {
	if !HasTemplate(s) {
		return nil, nil
	}
	exprs, err := ParseTemplate(s)
	if err != nil {
		return nil, err
	}
	t := &template{escape: esc}
	prev := 0
	for _, e := range exprs {
		if e.Offset > prev {
			t.parts = append(t.parts, part{kind: partLit, lit: s[prev:e.Offset]})
		}
		p, err := rs.resolve(e)
		if err != nil {
			return nil, err
		}
		t.parts = append(t.parts, p)
		prev = e.Offset + strings.Index(s[e.Offset:], "}}") + 2
	}
	if prev < len(s) {
		t.parts = append(t.parts, part{kind: partLit, lit: s[prev:]})
	}
	return t, nil
}

func (rs *resolver) resolve(e TemplateExpr) (part, error) {
	if e.Column != "" {
		for fi, f := range rs.feeders {
			if f.Name != e.Name {
				continue
			}
			for ci, c := range f.Columns {
				if c == e.Column {
					rs.used[fi] = true
					return part{kind: partColumn, slot: fi, col: ci}, nil
				}
			}
			return part{}, fmt.Errorf("data %q has no column %q", e.Name, e.Column)
		}
		return part{}, fmt.Errorf("no data named %q for {{ %s.%s }}", e.Name, e.Name, e.Column)
	}
	switch e.Name {
	case builtinUUID:
		return part{kind: partUUID}, nil
	case builtinIteration:
		return part{kind: partIteration}, nil
	case builtinNow:
		return part{kind: partNow}, nil
	case builtinVU:
		return part{kind: partVU}, nil
	case builtinRandInt:
		return part{kind: partRandInt, a: e.A, b: e.B}, nil
	}
	if slot, ok := rs.captures[e.Name]; ok {
		return part{kind: partCapture, slot: slot}, nil
	}
	return part{}, fmt.Errorf("{{ %s }} is neither a capture of an earlier step nor a built-in (%s)", e.Name, strings.Join(Builtins, ", "))
}

// vars is one worker's per-iteration values. Reset per iteration; its
// buffers are reused.
type vars struct {
	captures [][]byte // by slot; nil = not captured
	rows     []int    // row per feeder, -1 = none picked
	feeders  []Feeder
	iter     int64
	vu       int
	rng      *rng
}

// render appends t rendered with v to dst.
func (t *template) render(dst []byte, v *vars) []byte {
	for i := range t.parts {
		p := &t.parts[i]
		if p.kind == partLit {
			dst = append(dst, p.lit...)
			continue
		}
		dst = t.value(dst, p, v)
	}
	return dst
}

// value appends one part's value, escaped.
func (t *template) value(dst []byte, p *part, v *vars) []byte {
	switch p.kind {
	case partCapture:
		return escapeAppend(dst, v.captures[p.slot], t.escape)
	case partColumn:
		row := v.rows[p.slot]
		if row < 0 {
			return dst
		}
		return escapeAppendString(dst, v.feeders[p.slot].Rows[row][p.col], t.escape)
	case partUUID:
		return v.rng.appendUUID(dst)
	case partIteration:
		return strconv.AppendInt(dst, v.iter, 10)
	case partNow:
		return strconv.AppendInt(dst, time.Now().UnixMilli(), 10)
	case partVU:
		return strconv.AppendInt(dst, int64(v.vu), 10)
	case partRandInt:
		return strconv.AppendInt(dst, p.a+int64(v.rng.uint64n(uint64(p.b-p.a)+1)), 10)
	}
	return dst
}

const hexDigits = "0123456789ABCDEF"

// EscapeString returns s escaped as esc escapes a template's value, for
// values that are known at load (a ${VAR} in a step's URL, the escaped
// forms of a secret to redact).
func EscapeString(s string, esc Escape) string {
	return string(escapeAppendString(nil, s, esc))
}

func escapeAppendString(dst []byte, s string, esc Escape) []byte {
	if esc == EscapeNone {
		return append(dst, s...)
	}
	for i := 0; i < len(s); i++ {
		dst = escapeByte(dst, s[i], esc)
	}
	return dst
}

func escapeAppend(dst, b []byte, esc Escape) []byte {
	if esc == EscapeNone {
		return append(dst, b...)
	}
	for _, c := range b {
		dst = escapeByte(dst, c, esc)
	}
	return dst
}

func escapeByte(dst []byte, c byte, esc Escape) []byte {
	switch esc {
	case EscapeURL, EscapeForm:
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '.', c == '_', c == '~':
			return append(dst, c)
		case c == ' ' && esc == EscapeForm:
			return append(dst, '+')
		}
		return append(dst, '%', hexDigits[c>>4], hexDigits[c&15])
	case EscapeHeader:
		if c < ' ' && c != '\t' || c == 0x7f {
			return dst
		}
		return append(dst, c)
	case EscapeJSON:
		switch {
		case c == '"' || c == '\\':
			return append(dst, '\\', c)
		case c < ' ':
			return append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&15])
		}
		return append(dst, c)
	}
	return append(dst, c)
}

// rng is a worker's xorshift-style generator (splitmix64): no locks, no
// allocation, not for cryptography.
type rng struct{ s uint64 }

func (r *rng) uint64() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// uint64n returns a value in [0, n); n == 0 means the full range.
func (r *rng) uint64n(n uint64) uint64 {
	if n == 0 {
		return r.uint64()
	}
	return r.uint64() % n
}

// appendUUID appends a random (version 4) UUID.
func (r *rng) appendUUID(dst []byte) []byte {
	var b [16]byte
	x, y := r.uint64(), r.uint64()
	for i := 0; i < 8; i++ {
		b[i], b[8+i] = byte(x>>(8*i)), byte(y>>(8*i))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	const lower = "0123456789abcdef"
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			dst = append(dst, '-')
		}
		dst = append(dst, lower[c>>4], lower[c&15])
	}
	return dst
}
