package scenarios

import (
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/loadgate/loadgate/slo"
)

// SLI defaults (docs/scenario-reference.md, sli).
const (
	// DefaultSLIWait is how long the final queries wait after the run: one
	// scrape interval of a default Prometheus, so that the last values are
	// stored before they are queried.
	DefaultSLIWait = 15 * time.Second
	// DefaultSLITimeout bounds every query.
	DefaultSLITimeout = 10 * time.Second
)

// SLISpec holds the server-side SLI queries (docs/scenario-reference.md,
// sli): PromQL over the run's own window, judged by sli{name:X} thresholds.
type SLISpec struct {
	PrometheusURL string
	Queries       []SLIQuery
	// Wait is the pause between the end of the run and the final queries
	// (sli.prometheus.wait; DefaultSLIWait).
	Wait time.Duration
	// LiveEvery runs the queries during the run too, over the window so
	// far, this often (sli.prometheus.live_every); 0 never.
	LiveEvery time.Duration
	// Timeout bounds each query (sli.prometheus.timeout; DefaultSLITimeout).
	Timeout time.Duration
}

// SLIQuery is one named Prometheus query. Query may hold $RANGE, $START and
// $END, replaced by the run's window when it is run.
type SLIQuery struct {
	Name, Query string
	Pos         Pos // of the name
	// Empty is what an empty result reads as (the query's empty key,
	// docs/scenario-reference.md): nil for "fail", the default, which fails
	// its thresholds with "no data"; else that number.
	Empty *float64
	// QueryPos is where the query's text starts in the file.
	QueryPos Pos
	// lines are where the lines of Query are written in the file, for
	// PosAt; nil when they cannot be told.
	lines []textLine
}

// textLine is a line of a scalar's value as the file has it: its 1-based
// line and column, and the file's text from there to the end of the line.
type textLine struct {
	line, col int
	text      string
}

// PosAt returns the position in the file of byte offset off of Query (a
// PromQL parse error's position, for instance). It is exact when the query
// is written as it is up to there (a plain or quoted scalar, or a line of
// a literal block, with no ${...} or escape before off); otherwise it is
// the start of that line of the query, or of the query.
func (q SLIQuery) PosAt(off int) Pos {
	off = min(max(off, 0), len(q.Query))
	i := strings.Count(q.Query[:off], "\n")
	lineStart := strings.LastIndexByte(q.Query[:off], '\n') + 1
	if i >= len(q.lines) {
		return q.QueryPos
	}
	l, before := q.lines[i], q.Query[lineStart:off]
	if !strings.HasPrefix(l.text, before) {
		return Pos{l.line, l.col}
	}
	return Pos{l.line, l.col + utf8.RuneCountInString(before)}
}

// valueLines is where the lines of scalar n's value are written (see
// textLine): one line for a plain or quoted scalar (whose value may fold
// more: PosAt falls back past the first), every line for a literal block,
// the first for a folded one.
func (s *source) valueLines(n *yaml.Node) []textLine {
	if n.Line < 1 || n.Line > len(s.lines) {
		return nil
	}
	switch n.Style {
	case 0, yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
		col := n.Column
		if n.Style != 0 {
			col++ // after the quote
		}
		return []textLine{{n.Line, col, skipRunes(s.lines[n.Line-1], col-1)}}
	case yaml.LiteralStyle, yaml.FoldedStyle:
	default:
		return nil
	}
	// The block's lines follow the indicator's; its indentation is the
	// first non-blank line's, and it ends at the first line indented less.
	indent := -1
	var out []textLine
	for ln := n.Line + 1; ln <= len(s.lines); ln++ {
		text := s.lines[ln-1]
		trimmed := strings.TrimLeft(text, " ")
		if indent < 0 && trimmed != "" {
			indent = len(text) - len(trimmed)
		}
		if trimmed != "" && len(text)-len(trimmed) < indent || indent == 0 {
			break
		}
		out = append(out, textLine{line: ln, text: text})
	}
	if indent <= 0 {
		return nil
	}
	for i := range out {
		out[i].col = indent + 1
		out[i].text = out[i].text[min(indent, len(out[i].text)):]
	}
	if n.Style == yaml.FoldedStyle {
		// Folding joins lines: only the first maps one to one.
		for len(out) > 1 && strings.TrimSpace(out[0].text) == "" {
			out = out[1:]
		}
		out = out[:min(len(out), 1)]
	}
	return out
}

// SLI returns the scenario's sli section, nil without one.
func (sc *Scenario) SLI() *SLISpec {
	if sc.spec == nil {
		return nil
	}
	return sc.spec.SLI
}

// Query returns the query named name.
func (s *SLISpec) Query(name string) (SLIQuery, bool) {
	if s != nil {
		for _, q := range s.Queries {
			if q.Name == name {
				return q, true
			}
		}
	}
	return SLIQuery{}, false
}

var sliPromKeys = []string{"url", "queries", "wait", "live_every", "timeout"}

func (d *decoder) sli(n *yaml.Node) *SLISpec {
	out := &SLISpec{Wait: DefaultSLIWait, Timeout: DefaultSLITimeout}
	d.sliSpec = out
	fs := d.fields(n, "in sli", []string{"prometheus"}, nil)
	d.require(n, fs, "in sli", "prometheus")
	f, ok := fs["prometheus"]
	if !ok {
		return out
	}
	ps := d.fields(f.val, "in sli.prometheus", sliPromKeys, nil)
	d.require(f.val, ps, "in sli.prometheus", "url", "queries")
	if u, ok := ps["url"]; ok {
		if s, ok := d.str(u.val, "sli.prometheus.url"); ok {
			if msg := checkAbsURL(s); msg != "" {
				d.el.node(u.val, "sli.prometheus.url: %s", msg)
			}
			out.PrometheusURL = s
		}
	}
	if f, ok := ps["wait"]; ok {
		out.Wait, _ = d.duration(f.val, "sli.prometheus.wait", 0)
	}
	if f, ok := ps["live_every"]; ok {
		out.LiveEvery, _ = d.duration(f.val, "sli.prometheus.live_every", time.Second)
	}
	if f, ok := ps["timeout"]; ok {
		out.Timeout, _ = d.duration(f.val, "sli.prometheus.timeout", time.Millisecond)
	}
	if q, ok := ps["queries"]; ok {
		out.Queries = d.sliQueries(q.val)
	}
	return out
}

func (d *decoder) sliQueries(n *yaml.Node) []SLIQuery {
	if n.Kind != yaml.MappingNode {
		d.el.node(n, "expected a mapping of names to PromQL queries for sli.prometheus.queries, got %s", kindName(n))
		return nil
	}
	if len(n.Content) == 0 {
		d.el.node(n, "no queries in sli.prometheus.queries")
	}
	var out []SLIQuery
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		name := d.name(k, "sli query name")
		// Kept when wrong too (the error is reported): its thresholds then
		// find it, rather than adding "no query named" to the errors.
		out = append(out, d.sliQuery(name, k, v))
	}
	return out
}

var sliQueryKeys = []string{"query", "empty"}

// sliQuery decodes one query: a PromQL string, or a mapping with the
// string under query and what an empty result means under empty
// (docs/scenario-reference.md, "sli").
func (d *decoder) sliQuery(name string, k, v *yaml.Node) SLIQuery {
	q := SLIQuery{Name: name, Pos: posOf(k)}
	where := "sli query " + name
	text := v
	switch {
	case v.Kind == yaml.MappingNode:
		fs := d.fields(v, "in "+where, sliQueryKeys, nil)
		d.require(v, fs, "in "+where, "query")
		if f, ok := fs["empty"]; ok {
			q.Empty = d.sliEmpty(f.val, where)
		}
		f, ok := fs["query"]
		if !ok {
			return q
		}
		text = f.val
	case v.Kind != yaml.ScalarNode || v.ShortTag() == "!!null":
		d.el.node(v, "expected a PromQL string or a mapping { query: PromQL, empty: fail | NUMBER } for %s, got %s", where, kindName(v))
		return q
	}
	q.Query = d.text(text, where)
	if q.Query == "" {
		if text.Kind == yaml.ScalarNode && text.ShortTag() != "!!null" {
			d.el.node(text, "%s is empty: want a PromQL query", where)
		}
		return q
	}
	q.QueryPos = posOf(text)
	if q.lines = d.src.valueLines(text); len(q.lines) > 0 {
		q.QueryPos = Pos{q.lines[0].line, q.lines[0].col}
	}
	return q
}

// sliEmpty decodes a query's empty key: fail (nil) or a finite number.
func (d *decoder) sliEmpty(n *yaml.Node, where string) *float64 {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" && n.Value == "fail" {
		return nil
	}
	tag := n.ShortTag()
	if n.Kind != yaml.ScalarNode || tag != "!!int" && tag != "!!float" {
		what := kindName(n)
		if n.Kind == yaml.ScalarNode && tag == "!!str" {
			what = quote(n.Value)
			if _, err := parseNumber(n.Value); err == nil && !d.quoted[n] {
				what += " (a quoted number is a string: write it unquoted)"
			}
		}
		d.el.node(n, "%s: empty must be fail or a number (what an empty result reads as, e.g. 0), got %s%s", where, what, d.hint(n))
		return nil
	}
	v, ok := d.number(n, where+": empty", math.Inf(-1))
	if !ok {
		return nil
	}
	return &v
}

// resolveSLI checks an sli{name:X} threshold: one name tag naming a query
// of sli.prometheus.queries, and an expression an SLI can have. A selector
// is reported once however many expressions it has.
func (d *decoder) resolveSLI(t ThresholdSpec, selOK map[string]bool) {
	ok, done := selOK[t.Selector]
	if !done {
		ok = d.sliSelector(t)
		selOK[t.Selector] = ok
	}
	if !ok {
		return
	}
	if err := t.expr.CheckSLI(); err != nil {
		d.syntaxAt(t.exprNode, err, "threshold "+quote(t.Expr))
	}
	switch {
	case t.Window != 0:
		d.el.at(t.Pos.Line, t.Pos.Col, "%s: window does not apply to sli thresholds: the query's $RANGE is its window", t.Selector)
	case t.MinSamples != 0:
		d.el.at(t.Pos.Line, t.Pos.Col, "%s: min_samples does not apply to sli thresholds", t.Selector)
	}
}

func (d *decoder) sliSelector(t ThresholdSpec) bool {
	name, err := slo.SLISelectorName(t.Tags)
	if err != nil {
		d.el.at(t.Pos.Line, t.Pos.Col, "invalid selector %q: %v", t.Selector, err)
		return false
	}
	if d.sliSpec == nil {
		d.el.at(t.Pos.Line, t.Pos.Col, "%s needs a query named %q in sli.prometheus.queries, and there is no sli section", t.Selector, name)
		return false
	}
	if _, ok := d.sliSpec.Query(name); ok {
		return true
	}
	names := make([]string, len(d.sliSpec.Queries))
	for i, q := range d.sliSpec.Queries {
		names[i] = q.Name
	}
	slices.Sort(names)
	hint := "; sli.prometheus.queries has " + strings.Join(names, ", ")
	if s := suggest(name, names); s != "" {
		hint = "; did you mean " + quote(s) + "?"
	}
	d.el.at(t.Pos.Line, t.Pos.Col, "%s: no query named %q in sli.prometheus.queries%s", t.Selector, name, hint)
	return false
}
