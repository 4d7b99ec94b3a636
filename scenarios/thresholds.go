package scenarios

import (
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/loadgate/loadgate/engine"
	"github.com/loadgate/loadgate/engine/slo"
	"go.yaml.in/yaml/v3"
)

// checkExpr checks a threshold expression. It is a variable so that the
// integrator can point it at slo.ParseExpr; an error that is an
// *slo.SyntaxError is reported at the column of its offset.
var checkExpr = func(expr string) error { return nil }

var thresholdKeys = []string{"expr", "abort_on_fail", "delay", "window", "severity", "min_samples"}

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
				out = append(out, ThresholdSpec{Threshold: t, Selector: k.Value, Pos: posOf(k)})
			}
		}
	}
	if len(out) > maxItems {
		d.el.node(n, "%d threshold expressions, the limit is %d", len(out), maxItems)
	}
	return out
}

// threshold decodes one expression, as a string or a mapping with options.
func (d *decoder) threshold(n *yaml.Node) (slo.Threshold, bool) {
	var t slo.Threshold
	if n.Kind == yaml.ScalarNode {
		return t, d.expr(n, &t)
	}
	fs := d.fields(n, "in threshold", thresholdKeys, nil)
	d.require(n, fs, "in threshold", "expr")
	ok := n.Kind == yaml.MappingNode
	if f, has := fs["expr"]; has {
		ok = d.expr(f.val, &t) && ok
	}
	if f, has := fs["abort_on_fail"]; has {
		t.AbortOnFail = d.boolean(f.val, "abort_on_fail")
	}
	if f, has := fs["delay"]; has {
		t.Delay, _ = d.duration(f.val, "delay", 0)
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
	return t, ok
}

// expr checks an expression string and stores it in t.
func (d *decoder) expr(n *yaml.Node, t *slo.Threshold) bool {
	s := d.text(n, "threshold expression")
	if n.Kind != yaml.ScalarNode || s == "" && n.ShortTag() == "!!null" {
		return false
	}
	if err := checkExpr(s); err != nil {
		d.syntaxAt(n, err, "threshold "+quote(s))
		return false
	}
	t.Expr = s
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

// selector parses a threshold key. A key is not substituted (see
// substituter.walk), so its offsets map straight to columns.
func (d *decoder) selector(k *yaml.Node) (string, []engine.Tag, bool) {
	if k.Kind != yaml.ScalarNode {
		d.el.node(k, "expected a metric selector such as http_req_duration{step:search}, got %s", kindName(k))
		return "", nil, false
	}
	metric, tags, err := parseSelector(k.Value)
	if err != nil {
		d.syntaxAt(k, err, "selector "+quote(k.Value))
		return "", nil, false
	}
	return metric, tags, true
}

func quote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }

// resolveSelectors checks every selector against the compiled plan: a tag
// value that matches no flow or step could only ever yield "no data". It
// sets StatusTrends when a trend is selected by status class. When the file
// already has errors the plan may be partial, so only the checks that do not
// depend on it run (no error is reported twice over).
func resolveSelectors(el *errorList, plan *engine.Plan, ts []ThresholdSpec, planOK bool) {
	done := map[string]bool{}
	for _, t := range ts {
		if done[t.Selector] {
			continue
		}
		done[t.Selector] = true
		m, ok := engine.LookupMetric(t.Metric)
		switch {
		case t.Metric == "sli":
			el.at(t.Pos.Line, t.Pos.Col, "sli thresholds are not supported yet")
			continue
		case !ok:
			el.at(t.Pos.Line, t.Pos.Col, "unknown metric %q%s", t.Metric, metricHint(t.Metric))
			continue
		case !planOK:
			for _, tag := range t.Tags {
				if !slices.Contains(m.Tags, tag.Key) {
					el.at(t.Pos.Line, t.Pos.Col, "invalid selector %q: metric %s has no tag %q", t.Selector, m.Name, tag.Key)
				}
			}
			continue
		}
		sel, err := engine.Select(plan, t.Metric, t.Tags)
		if err != nil {
			el.at(t.Pos.Line, t.Pos.Col, "invalid selector %q: %v", t.Selector, err)
			continue
		}
		if sel.NeedsStatusTrends() {
			plan.StatusTrends = true
		}
	}
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
