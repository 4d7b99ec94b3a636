package scenarios

import (
	"slices"
	"strings"
	"time"

	"github.com/loadgate/loadgate/engine/slo"
	"go.yaml.in/yaml/v3"
)

// SLI defaults (DESIGN §5).
const (
	// DefaultSLIWait is how long the final queries wait after the run: one
	// scrape interval of a default Prometheus, so that the last values are
	// stored before they are queried.
	DefaultSLIWait = 15 * time.Second
	// DefaultSLITimeout bounds every query.
	DefaultSLITimeout = 10 * time.Second
)

// SLISpec holds the server-side SLI queries (DESIGN §5): PromQL over the
// run's own window, judged by sli{name:X} thresholds.
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
		if query := d.text(v, "sli query "+name); query != "" {
			out = append(out, SLIQuery{Name: name, Query: query, Pos: posOf(k)})
		}
	}
	return out
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
