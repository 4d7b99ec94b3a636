package scenarios

import (
	"errors"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/loadgate/loadgate/engine"
	"github.com/loadgate/loadgate/slo"
)

var thresholdKeys = []string{"expr", "abort_on_fail", "delay", "window", "severity", "min_samples", "confidence", "undecided"}

// k6ThresholdKeys are k6's names for threshold options, accepted as they
// are so that k6 files carry over (docs/thresholds.md, "From k6"): each
// maps to the loadgate key it spells differently.
var k6ThresholdKeys = map[string]string{"threshold": "expr", "abortOnFail": "abort_on_fail", "delayAbortEval": "delay"}

// k6ThresholdNames are the keys of k6ThresholdKeys in the order of their
// loadgate keys, for the list of known keys.
var k6ThresholdNames = []string{"threshold", "abortOnFail", "delayAbortEval"}

// thresholds decodes the thresholds mapping: selector → expression, list of
// expressions, or mappings with options.
func (d *decoder) thresholds(n *yaml.Node) []ThresholdSpec {
	if n.Kind != yaml.MappingNode {
		d.el.node(n, "expected a mapping of metric selectors to expressions for thresholds, got %s", kindName(n))
		return nil
	}
	var out []ThresholdSpec
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if line, dup := seen[k.Value]; dup {
			d.el.node(k, "duplicate threshold selector %q (first at line %d)", k.Value, line)
			continue
		}
		seen[k.Value] = k.Line
		metric, tags, ok := d.selector(k)
		items := []*yaml.Node{v}
		if v.Kind == yaml.SequenceNode {
			items = v.Content
			if len(items) == 0 {
				d.el.node(v, "no expressions for %s", k.Value)
			}
		}
		for _, it := range items {
			t, tok := d.threshold(it)
			if ok && tok {
				t.Metric, t.Tags = metric, tags
				t.Selector, t.Pos = k.Value, posOf(k)
				out = append(out, t)
			}
		}
	}
	if len(out) > maxItems {
		d.el.node(n, "%d threshold expressions, the limit is %d", len(out), maxItems)
	}
	return out
}

// threshold decodes one expression, as a string or a mapping with options.
func (d *decoder) threshold(n *yaml.Node) (ThresholdSpec, bool) {
	var t ThresholdSpec
	if n.Kind == yaml.ScalarNode {
		return t, d.expr(n, &t)
	}
	fs := d.fields(n, "in threshold", slices.Concat(thresholdKeys, k6ThresholdNames), nil)
	d.k6Aliases(fs)
	d.require(n, fs, "in threshold", "expr")
	ok := false // without an expression there is no threshold
	if f, has := fs["expr"]; has {
		ok = d.expr(f.val, &t)
	}
	if f, has := fs["abort_on_fail"]; has {
		t.AbortOnFail = d.boolean(f.val, f.key.Value)
		t.abortNode = f.key
	}
	if f, has := fs["delay"]; has {
		t.Delay, _ = d.duration(f.val, f.key.Value, 0)
	}
	if f, has := fs["window"]; has {
		t.Window, _ = d.duration(f.val, "window", time.Second)
	}
	if f, has := fs["severity"]; has {
		if s, _ := d.enum(f.val, "severity", "fail", "warn"); s == "warn" {
			t.Severity = slo.Warn
		}
	}
	if f, has := fs["min_samples"]; has {
		t.MinSamples, _ = d.integer(f.val, "min_samples", 0, 1<<62)
	}
	if f, has := fs["confidence"]; has {
		t.confNode = f.key
		if f.val.Kind == yaml.ScalarNode && f.val.Value == "off" {
			t.confOff = true
		} else {
			t.Confidence, _ = d.ratio(f.val, "confidence")
		}
	}
	if f, has := fs["undecided"]; has {
		t.undecidedNode = f.key
		t.Undecided = d.undecided(f.val)
	}
	return t, ok
}

// undecided decodes what an undecided threshold does to the run.
func (d *decoder) undecided(n *yaml.Node) slo.Undecided {
	s, _ := d.enum(n, "undecided", "inconclusive", "pass", "fail")
	switch s {
	case "pass":
		return slo.UndecidedPasses
	case "fail":
		return slo.UndecidedFails
	}
	return slo.Inconclusive
}

// confidence decodes the top-level confidence: a level ("95%", 0.95), or
// { level, undecided }.
func (d *decoder) confidence(n *yaml.Node) *ConfidenceSpec {
	c := &ConfidenceSpec{node: n}
	if n.Kind == yaml.MappingNode {
		fs := d.fields(n, "in confidence", []string{"level", "undecided"}, nil)
		d.require(n, fs, "in confidence", "level")
		if f, ok := fs["level"]; ok {
			c.Level, _ = d.ratio(f.val, "confidence.level")
		}
		if f, ok := fs["undecided"]; ok {
			c.Undecided = d.undecided(f.val)
		}
		return c
	}
	c.Level, _ = d.ratio(n, "confidence")
	return c
}

// k6Aliases files the k6 spellings of fs under their loadgate keys; a
// mapping that gives both spellings of one option is an error at the later
// one.
func (d *decoder) k6Aliases(fs map[string]field) {
	for _, k6 := range k6ThresholdNames {
		f, has := fs[k6]
		if !has {
			continue
		}
		delete(fs, k6)
		name := k6ThresholdKeys[k6]
		other, both := fs[name]
		if !both {
			fs[name] = f
			continue
		}
		first, second := other, f
		if posBefore(f.key, other.key) {
			first, second = f, other
			fs[name] = f
		}
		d.el.node(second.key, "key %q in threshold is the same option as %q (first at line %d): give one of them", second.key.Value, first.key.Value, first.key.Line)
	}
}

// posBefore reports whether a comes before b in the file.
func posBefore(a, b *yaml.Node) bool {
	return a.Line < b.Line || a.Line == b.Line && a.Column < b.Column
}

// expr parses an expression string into t; resolveSelectors checks it
// against the metric once that is known.
func (d *decoder) expr(n *yaml.Node, t *ThresholdSpec) bool {
	s := d.text(n, "threshold expression")
	if n.Kind != yaml.ScalarNode || s == "" && n.ShortTag() == "!!null" {
		return false
	}
	e, err := slo.ParseExpr(s)
	if err != nil {
		d.syntaxAt(n, err, "threshold "+quote(s))
		return false
	}
	t.Expr, t.expr, t.exprNode = s, e, n
	return true
}

// syntaxAt reports err, at its offset when it is an *slo.SyntaxError.
func (d *decoder) syntaxAt(n *yaml.Node, err error, what string) {
	var se *slo.SyntaxError
	if errors.As(err, &se) {
		line, col := d.src.at(n, se.Offset)
		d.el.at(line, col, "invalid %s: %s", what, se.Msg)
		return
	}
	d.el.node(n, "invalid %s: %v", what, err)
}

// selector parses a threshold key. Keys are not substituted (see
// substituter.walk), so the parser's offsets map straight to columns.
func (d *decoder) selector(k *yaml.Node) (string, []engine.Tag, bool) {
	if k.Kind != yaml.ScalarNode {
		d.el.node(k, "expected a metric selector such as http_req_duration{step:search}, got %s", kindName(k))
		return "", nil, false
	}
	metric, tags, err := slo.ParseSelector(k.Value)
	if err != nil {
		d.syntaxAt(k, err, "selector "+quote(k.Value))
		return "", nil, false
	}
	return metric, tags, true
}

func quote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }

// resolveThresholds checks every selector against the compiled plan (a tag
// value that matches no flow or step could only ever yield "no data") and
// every expression against its metric (p(95) on a rate is an error). It sets
// StatusTrends when a trend is selected by status class. When the file
// already has errors the plan may be partial, so the checks that depend on
// it are skipped rather than reporting the same mistake twice.
func (d *decoder) resolveThresholds(plan *engine.Plan, ts []ThresholdSpec, conf *ConfidenceSpec, planOK bool) {
	selOK := map[string]bool{}
	for i := range ts {
		t := &ts[i]
		if t.Metric == slo.SLIMetric {
			if t.confNode != nil && !t.confOff {
				d.el.node(t.confNode, "threshold %s: confidence applies to a percentile of a trend or the rate of a rate, not to an SLI", quote(t.Expr))
			}
			d.resolveSLI(*t, selOK)
			continue
		}
		ok, done := selOK[t.Selector]
		if !done {
			ok = d.resolveSelector(plan, *t, planOK)
			selOK[t.Selector] = ok
		}
		if !ok {
			continue
		}
		m, _ := engine.LookupMetric(t.Metric)
		if err := t.expr.Check(m); err != nil {
			d.syntaxAt(t.exprNode, err, "threshold "+quote(t.Expr))
			continue
		}
		if t.AbortOnFail {
			if err := t.expr.CheckAbort(m); err != nil {
				d.el.node(t.abortNode, "threshold %s: %v", quote(t.Expr), err)
			}
		}
		d.resolveConfidence(t, m, conf)
	}
}

// resolveConfidence gives t its confidence: its own (which must apply to
// it), or the top-level one where it applies (docs/thresholds.md,
// "Confidence"); undecided needs one.
func (d *decoder) resolveConfidence(t *ThresholdSpec, m engine.Metric, conf *ConfidenceSpec) {
	switch {
	case t.confOff:
		t.Confidence = 0
	case t.confNode != nil:
		if t.Confidence == 0 {
			return // a bad level, reported by ratio
		}
		if err := slo.ConfidenceApplies(t.Threshold, t.expr, m); err != nil {
			d.el.node(t.confNode, "threshold %s: %v", quote(t.Expr), err)
		}
	case conf != nil && conf.Level > 0:
		th := t.Threshold
		th.Confidence = conf.Level
		if slo.ConfidenceApplies(th, t.expr, m) == nil {
			t.Confidence = conf.Level
			if t.undecidedNode == nil {
				t.Undecided = conf.Undecided
			}
		}
	}
	if t.undecidedNode != nil && t.Confidence == 0 {
		d.el.node(t.undecidedNode, "threshold %s: undecided needs a confidence (confidence: 95%%)", quote(t.Expr))
	}
}

// resolveSelector checks one selector and reports whether its metric is
// known, so that its expressions can be checked.
func (d *decoder) resolveSelector(plan *engine.Plan, t ThresholdSpec, planOK bool) bool {
	m, ok := engine.LookupMetric(t.Metric)
	switch {
	case !ok:
		d.el.at(t.Pos.Line, t.Pos.Col, "unknown metric %q%s", t.Metric, metricHint(t.Metric))
		return false
	case !planOK:
		for _, tag := range t.Tags {
			if !slices.Contains(m.Tags, tag.Key) {
				d.el.at(t.Pos.Line, t.Pos.Col, "invalid selector %q: metric %s has no tag %q", t.Selector, m.Name, tag.Key)
			}
		}
		return true
	}
	sel, err := engine.Select(plan, t.Metric, t.Tags)
	if err != nil {
		d.el.at(t.Pos.Line, t.Pos.Col, "invalid selector %q: %v", t.Selector, err)
		return true
	}
	if !sel.HasSteps() {
		// grpc_reqs of a plan of HTTP steps: never any data.
		d.el.at(t.Pos.Line, t.Pos.Col, "invalid selector %q: %s counts %s steps, and no step it selects is one", t.Selector, m.Name, protoName(m.Proto))
		return false
	}
	if m.Name == "checks" && !sel.HasChecks(plan) {
		// "checks: rate > 99%" without a check: could only fail with "no
		// data" (docs/thresholds.md, Selectors).
		if len(t.Tags) == 0 {
			d.el.at(t.Pos.Line, t.Pos.Col, "invalid selector %q: no step has a check: (checks counts the assertions under check:, and there is none); add one, or remove this threshold", t.Selector)
		} else {
			d.el.at(t.Pos.Line, t.Pos.Col, "invalid selector %q: no step it selects has a check: (checks counts the assertions under check:)", t.Selector)
		}
		return false
	}
	if sel.NeedsStatusTrends() {
		plan.StatusTrends = true
	}
	return true
}

// protoName is how errors name a protocol.
func protoName(p engine.Protocol) string {
	switch p {
	case engine.ProtoGRPC:
		return "gRPC"
	case engine.ProtoWS:
		return "WebSocket"
	}
	return "HTTP"
}

func metricHint(name string) string {
	names := make([]string, len(engine.Metrics))
	for i, m := range engine.Metrics {
		names[i] = m.Name
	}
	if s := suggest(name, names); s != "" {
		return "; did you mean " + quote(s) + "?"
	}
	return "; want one of " + strings.Join(names, ", ")
}
