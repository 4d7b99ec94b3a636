package scenarios

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/loadgate/loadgate/engine"
)

var (
	flowKeys   = []string{"name", "weight", "steps"}
	methodKeys = []string{"get", "post", "put", "patch", "delete", "head", "options"}
	stepKeys   = append([]string{"name", "headers", "body", "json", "form", "body_file", "timeout", "think", "check",
		"capture", "max_body", "max_redirects", "grpc", "ws"}, slices.Concat(methodKeys, logicKeys)...)
	checkKeys = []string{"status", "body_contains", "json", "header", "max_duration"}
)

func itoa(i int) string { return strconv.Itoa(i) }

func (d *decoder) flows(n *yaml.Node) []FlowSpec {
	items := d.list(n, "flows")
	if n.Kind == yaml.SequenceNode && len(items) == 0 {
		d.el.node(n, "flows must not be empty: want at least one flow with steps")
	}
	out := make([]FlowSpec, 0, len(items))
	for i, it := range items {
		where := "in flows[" + itoa(i) + "]"
		fs := d.fields(it, where, flowKeys, nil)
		d.require(it, fs, where, "name", "steps")
		f := FlowSpec{Weight: 1, Pos: posOf(it)}
		if v, ok := fs["name"]; ok {
			f.Name = d.name(v.val, "flow name")
			f.Pos = posOf(v.val)
		}
		if v, ok := fs["weight"]; ok {
			w, _ := d.integer(v.val, "weight", 1, 1_000_000)
			f.Weight = int(w)
		}
		if v, ok := fs["steps"]; ok {
			f.Steps, f.Groups = d.flowSteps(v.val, "flows["+itoa(i)+"]")
		}
		out = append(out, f)
	}
	return out
}

// name decodes a flow or step name. Names become tag values in selectors
// (step:search), so the selector syntax characters are kept out of them.
func (d *decoder) name(n *yaml.Node, what string) string {
	s := d.text(n, what)
	switch {
	case n.Kind != yaml.ScalarNode:
	case s == "":
		d.el.node(n, "%s must not be empty", what)
	case strings.ContainsAny(s, "{},\n\r"):
		d.el.node(n, "%s %q must not contain any of { } , or a line break (it is used in selectors)", what, s)
	}
	return s
}

func (d *decoder) step(n *yaml.Node, path string) StepSpec {
	where := "in " + path
	fs := d.fields(n, where, stepKeys, nil)
	d.require(n, fs, where, "name")
	s := StepSpec{Pos: posOf(n), MaxRedirects: -1}
	d.refs = &s.refs
	defer func() { d.refs = nil }()
	if f, ok := fs["name"]; ok {
		s.Name = d.name(f.val, "step name")
		s.Pos = posOf(f.val)
	}
	switch g, w := fs["grpc"], fs["ws"]; {
	case g.key != nil && w.key != nil:
		d.el.node(w.key, "step has both grpc and ws: a step speaks one protocol")
	case g.key != nil:
		d.noMethod(n, fs, g.key)
		d.notForGRPC(fs)
		d.grpcStep(g.val, &s, path+".grpc")
	case w.key != nil:
		d.noMethod(n, fs, w.key)
		d.wsStep(w.val, fs, &s, path+".ws")
	default:
		d.request(n, fs, &s, where)
	}
	if f, ok := fs["headers"]; ok {
		s.Headers = d.headers(f.val, path+".headers")
	}
	d.body(fs, &s)
	if f, ok := fs["timeout"]; ok {
		s.Timeout, _ = d.duration(f.val, "timeout", time.Millisecond)
	}
	if f, ok := fs["think"]; ok {
		s.Think, s.ThinkMax = d.think(f.val)
	}
	if f, ok := fs["check"]; ok {
		s.Accept, s.Checks = d.check(f.val, path+".check", s.GRPC != nil)
	}
	if f, ok := fs["capture"]; ok {
		s.Captures = d.captures(f.val, path+".capture")
		s.captureNode = f.val
	}
	d.limits(fs, &s.MaxBody, &s.MaxRedirects)
	d.logic(fs, &s.Logic)
	return s
}

// noMethod reports a method key in a step that speaks another protocol
// (key is its grpc: or ws: key).
func (d *decoder) noMethod(n *yaml.Node, fs map[string]field, key *yaml.Node) {
	for _, m := range methodKeys {
		if f, ok := fs[m]; ok {
			d.el.node(f.key, "step has both %s and %s: a step makes one request", key.Value, m)
		}
	}
}

// request finds the one method key of a step.
func (d *decoder) request(n *yaml.Node, fs map[string]field, s *StepSpec, where string) {
	var first *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if _, ok := fs[k.Value]; !ok || !slices.Contains(methodKeys, k.Value) {
			continue
		}
		if first != nil {
			d.el.node(k, "step has both %s and %s: a step makes one request", first.Value, k.Value)
			continue
		}
		first = k
		s.Method = strings.ToUpper(k.Value)
		s.targetNode = n.Content[i+1]
		if t, ok := d.str(s.targetNode, k.Value+" URL"); ok && d.urlVars(s.targetNode) && d.template(s.targetNode) {
			t = s.targetNode.Value
			s.Target = t
		}
	}
	if first == nil && n.Kind == yaml.MappingNode {
		d.el.node(n, "missing request %s: want one of %s with a path or URL", where, orList(methodKeys))
	}
}

func (d *decoder) body(fs map[string]field, s *StepSpec) {
	var given []*yaml.Node
	for _, k := range []string{"body", "json", "form", "body_file"} {
		if f, ok := fs[k]; ok {
			given = append(given, f.key)
		}
	}
	if len(given) > 1 {
		d.el.node(given[1], "a step has one of body, json, form or body_file, not both %s and %s", given[0].Value, given[1].Value)
		return
	}
	if b, ok := fs["body"]; ok {
		if d.template(b.val) {
			s.Body = []byte(d.text(b.val, "body"))
		}
	}
	if j, ok := fs["json"]; ok {
		var w strings.Builder
		if d.jsonValue(&w, j.val) {
			s.Body, s.JSON, s.BodyEscape = []byte(w.String()), true, engine.EscapeJSON
		}
	}
	if f, ok := fs["form"]; ok {
		if b, ok := d.form(f.val); ok {
			s.Body, s.BodyEscape = b, engine.EscapeForm
		}
	}
	if f, ok := fs["body_file"]; ok {
		if b, ok := d.bodyFile(f.val); ok {
			s.Body, s.BodyVerbatim = b, true
		}
	}
}

// limits decodes max_body and max_redirects (of a step or of defaults).
func (d *decoder) limits(fs map[string]field, maxBody, maxRedirects *int) {
	if f, ok := fs["max_body"]; ok {
		if v, ok := d.integer(f.val, "max_body (bytes)", 1, 1<<30); ok {
			*maxBody = int(v)
		}
	}
	if f, ok := fs["max_redirects"]; ok {
		if v, ok := d.integer(f.val, "max_redirects", 0, 100); ok {
			*maxRedirects = int(v)
		}
	}
}

// headers decodes a mapping of header names to values.
func (d *decoder) headers(n *yaml.Node, path string) []engine.Header {
	if n.Kind != yaml.MappingNode {
		d.el.node(n, "expected a mapping of header names to values for %s, got %s", path, kindName(n))
		return nil
	}
	var out []engine.Header
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || !validHeaderName(k.Value) {
			d.el.node(k, "invalid header name %q in %s: want a token such as X-Request-Id", k.Value, path)
			continue
		}
		lower := strings.ToLower(k.Value)
		if line, dup := seen[lower]; dup {
			d.el.node(k, "duplicate header %q in %s (first at line %d)", k.Value, path, line)
			continue
		}
		seen[lower] = k.Line
		val := d.text(v, "header "+k.Value)
		if strings.ContainsAny(val, "\r\n") {
			d.el.node(v, "header %s contains a line break", k.Value)
			continue
		}
		if d.template(v) {
			out = append(out, engine.Header{Key: k.Value, Value: val})
		}
	}
	return out
}

// validHeaderName reports whether s is an RFC 9110 token.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\"(),/:;<=>?@[\\]{}", c) >= 0 {
			return false
		}
	}
	return true
}

// urlVars percent-encodes the values of the ${...} in a step's URL as
// {{ }} values are, each as one path segment or query value: every byte but
// A-Z a-z 0-9 - . _ ~ (so -e ID=../admin stays inside /items/). A ${...}
// that begins the URL is taken as written: it holds a path or a whole URL
// (get: ${HEALTH_PATH}, get: ${API}/items), as one in the scheme and host
// of an absolute URL does (docs/scenario-reference.md). A value that would
// be a whole . or .. segment is an error: encoding does not stop servers
// from reading it as a step up the path. It reports whether the value is
// usable.
func (d *decoder) urlVars(n *yaml.Node) bool {
	spans := d.spans[n]
	if len(spans) == 0 {
		return true
	}
	v := n.Value
	pathStart := 0
	for _, scheme := range []string{"http://", "https://", "ws://", "wss://"} {
		if strings.HasPrefix(v, scheme) {
			pathStart = len(v)
			if j := strings.IndexAny(v[len(scheme):], "/?#"); j >= 0 {
				pathStart = len(scheme) + j
			}
		}
	}
	encoded := func(sp varSpan) bool { return !sp.lead && sp.from >= pathStart }
	// The query starts at the first ? or # the user wrote (or a raw value
	// brought), not one inside an encoded value.
	queryStart := len(v)
	for i := pathStart; i < len(v); i++ {
		inside := false
		for _, sp := range spans {
			inside = inside || encoded(sp) && i >= sp.from && i < sp.to
		}
		if !inside && (v[i] == '?' || v[i] == '#') {
			queryStart = i
			break
		}
	}
	var b strings.Builder
	last, ok := 0, true
	for _, sp := range spans {
		if !encoded(sp) {
			continue
		}
		val := v[sp.from:sp.to]
		wholeSegment := sp.from > 0 && v[sp.from-1] == '/' && (sp.to == len(v) || strings.IndexByte("/?#", v[sp.to]) >= 0)
		if sp.from < queryStart && wholeSegment && (val == "." || val == "..") {
			d.el.node(n, "${%s} is %q, a whole segment of the URL path: the server would read it as a step up the path; give an id or a name", sp.name, val)
			ok = false
		}
		b.WriteString(v[last:sp.from])
		b.WriteString(engine.EscapeString(val, engine.EscapeURL))
		last = sp.to
	}
	b.WriteString(v[last:])
	n.Value = b.String()
	return ok
}
