package scenarios

// The user-journey parts of a step: templates ({{ ... }}), captures,
// checks, form and file bodies, think ranges. Templates are checked for
// syntax here, where the node is at hand; their names are resolved against
// captures and feeders by the compiler (compileTemplates), which sees the
// whole flow and the data section.

import (
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/loadgate/loadgate/engine"
)

// maxBodyFile bounds a body_file: it is held in memory and sent as is.
const maxBodyFile = 10 << 20

var (
	captureKeys = []string{"json", "regex", "header"}
	jsonCheck   = []string{"path", "equals", "exists"}
	headerCheck = []string{"name", "equals"}
)

// tmplRef is one templated scalar of a step: where it is and what it uses.
type tmplRef struct {
	exprs []engine.TemplateExpr
	pos   []Pos // of each expression
	// local are the captures of the step's own earlier parts that the
	// template may use too (a WebSocket step's earlier exchanges).
	local []string
}

// template checks the syntax of the templates in n's value and records
// them for the compiler. It reports whether the value is usable.
func (d *decoder) template(n *yaml.Node) bool {
	if !engine.HasTemplate(n.Value) && !strings.Contains(n.Value, "}}") {
		return true
	}
	exprs, err := engine.ParseTemplate(n.Value)
	if err != nil {
		var te *engine.TemplateError
		off := 0
		if errors.As(err, &te) {
			off = te.Offset
		}
		line, col := d.src.at(n, off)
		d.el.at(line, col, "%v", err)
		return false
	}
	if d.refs != nil {
		ref := tmplRef{exprs: exprs}
		for _, e := range exprs {
			line, col := d.src.at(n, e.Offset)
			ref.pos = append(ref.pos, Pos{line, col})
		}
		*d.refs = append(*d.refs, ref)
	}
	return true
}

// noTemplate reports {{ ... }} where a value cannot vary per request.
func (d *decoder) noTemplate(n *yaml.Node, what string) bool {
	i := strings.Index(n.Value, "{{")
	if i < 0 {
		return true
	}
	line, col := d.src.at(n, i)
	d.el.at(line, col, "%s cannot hold templates ({{ ... }}): it is fixed for the whole run", what)
	return false
}

// captures decodes capture: { name: { json: $.x } | { regex: "id=(\\d+)" } | { header: X } }.
func (d *decoder) captures(n *yaml.Node, path string) []engine.Capture {
	if n.Kind != yaml.MappingNode {
		d.el.node(n, "expected a mapping of capture names to sources for %s, got %s", path, kindName(n))
		return nil
	}
	var out []engine.Capture
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		name := k.Value
		if !validCaptureName(name) {
			d.el.node(k, "invalid capture name %q: want letters, digits, _ or - (it is used as {{ %s }})", name, name)
			continue
		}
		if slicesContains(engine.Builtins, name) {
			d.el.node(k, "capture name %q is a built-in template name", name)
			continue
		}
		where := "in " + path + "." + name
		fs := d.fields(v, where, captureKeys, nil)
		if v.Kind == yaml.MappingNode && len(fs) != 1 {
			if len(fs) > 1 || len(v.Content) == 0 {
				d.el.node(v, "capture %s needs exactly one of json, regex or header", name)
			}
			continue
		}
		for key, f := range fs {
			expr, ok := d.str(f.val, "capture "+name+"."+key)
			if !ok {
				continue
			}
			c := engine.Capture{Name: name, Expr: expr}
			switch key {
			case "json":
				c.From = engine.CaptureJSON
				if _, err := engine.JSONPathToGJSON(expr); err != nil {
					d.el.node(f.val, "%v", err)
					continue
				}
			case "regex":
				c.From = engine.CaptureRegex
				if _, err := regexp.Compile(expr); err != nil {
					d.el.node(f.val, "capture %s: invalid regex: %v", name, err)
					continue
				}
			case "header":
				c.From = engine.CaptureHeader
				if !validHeaderName(expr) {
					d.el.node(f.val, "capture %s: invalid header name %q", name, expr)
					continue
				}
			}
			out = append(out, c)
		}
	}
	return out
}

func validCaptureName(s string) bool {
	if s == "" || strings.Contains(s, ".") {
		return false
	}
	_, err := engine.ParseTemplate("{{" + s + "}}")
	return err == nil && !strings.ContainsAny(s, " \t")
}

func slicesContains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

// check decodes check: { status, body_contains, json, header, max_duration }
// into the accepted statuses and the checks.
// A gRPC step's status is a gRPC status (OK, NOT_FOUND or a code), and it
// has no header to check.
func (d *decoder) check(n *yaml.Node, path string, grpc bool) (accept []int, checks []engine.Check) {
	fs := d.fields(n, "in "+path, checkKeys, nil)
	if f, ok := fs["header"]; ok && grpc {
		d.el.node(f.key, "a gRPC step has no response headers to check: check status or json")
		delete(fs, "header")
	}
	if f, ok := fs["status"]; ok {
		if grpc {
			accept = d.statuses(f.val, d.grpcStatus)
		} else {
			accept = d.statuses(f.val, d.httpStatus)
		}
		if len(accept) > 0 {
			checks = append(checks, engine.Check{Kind: engine.CheckStatus, Statuses: accept})
		}
	}
	if f, ok := fs["body_contains"]; ok {
		checks = append(checks, d.bodyContains(f.val)...)
	}
	if f, ok := fs["json"]; ok {
		checks = append(checks, d.jsonChecks(f.val, path+".json")...)
	}
	if f, ok := fs["header"]; ok {
		for _, it := range d.oneOrMany(f.val) {
			hs := d.fields(it, "in "+path+".header", headerCheck, nil)
			d.require(it, hs, "in "+path+".header", "name", "equals")
			name, nameOK := hs["name"]
			eq, eqOK := hs["equals"]
			if !nameOK || !eqOK {
				continue
			}
			if h, ok := d.str(name.val, "header check name"); ok && validHeaderName(h) {
				checks = append(checks, engine.Check{Kind: engine.CheckHeaderEquals, Path: h, Value: d.text(eq.val, "header check equals")})
			} else if ok {
				d.el.node(name.val, "invalid header name %q", h)
			}
		}
	}
	if f, ok := fs["max_duration"]; ok {
		if v, ok := d.duration(f.val, "max_duration", time.Microsecond); ok {
			checks = append(checks, engine.Check{Kind: engine.CheckMaxDuration, MaxDuration: v})
		}
	}
	return accept, checks
}

// bodyContains decodes body_contains: one string or a list, each a check
// (of a response body, or of a WebSocket message).
func (d *decoder) bodyContains(n *yaml.Node) []engine.Check {
	var checks []engine.Check
	for _, it := range d.oneOrMany(n) {
		if s := d.text(it, "body_contains"); s != "" {
			checks = append(checks, engine.Check{Kind: engine.CheckBodyContains, Value: s})
		} else if it.Kind == yaml.ScalarNode {
			d.el.node(it, "body_contains must not be empty")
		}
	}
	return checks
}

// jsonChecks decodes json: one json check or a list (jsonCheck); path is
// the key's (flows[0].steps[1].check.json).
func (d *decoder) jsonChecks(n *yaml.Node, path string) []engine.Check {
	var checks []engine.Check
	for _, it := range d.oneOrMany(n) {
		if c, ok := d.jsonCheck(it, path); ok {
			checks = append(checks, c)
		}
	}
	return checks
}

// oneOrMany returns n's items when it is a list, else n alone.
func (d *decoder) oneOrMany(n *yaml.Node) []*yaml.Node {
	if n.Kind == yaml.SequenceNode {
		return n.Content
	}
	return []*yaml.Node{n}
}

// oneOrList is oneOrMany for a value that must not be an empty list
// (reported as what must not be one).
func (d *decoder) oneOrList(n *yaml.Node, what string) []*yaml.Node {
	if n.Kind == yaml.SequenceNode && len(n.Content) == 0 {
		d.el.node(n, "%s must not be an empty list", what)
	}
	return d.oneOrMany(n)
}

// statuses decodes check status: one status or a list of them, each read
// by item (httpStatus, or grpcStatus for a gRPC step).
func (d *decoder) statuses(n *yaml.Node, item func(*yaml.Node) (int, bool)) []int {
	var out []int
	for _, it := range d.oneOrList(n, "check status") {
		if v, ok := item(it); ok {
			out = append(out, v)
		}
	}
	return out
}

// httpStatus reads an HTTP status of check status: 100 to 599.
func (d *decoder) httpStatus(n *yaml.Node) (int, bool) {
	v, ok := d.integer(n, "check status", 100, 599)
	return int(v), ok
}

// jsonCheck decodes { path: $.x, equals: v } or { path: $.x, exists: true }.
func (d *decoder) jsonCheck(n *yaml.Node, path string) (engine.Check, bool) {
	fs := d.fields(n, "in "+path, jsonCheck, nil)
	d.require(n, fs, "in "+path, "path")
	p, pOK := fs["path"]
	eq, eqOK := fs["equals"]
	ex, exOK := fs["exists"]
	if !pOK {
		return engine.Check{}, false
	}
	jp, ok := d.str(p.val, "json check path")
	if !ok {
		return engine.Check{}, false
	}
	if _, err := engine.JSONPathToGJSON(jp); err != nil {
		d.el.node(p.val, "%v", err)
		return engine.Check{}, false
	}
	switch {
	case eqOK == exOK:
		d.el.node(n, "a json check needs equals or exists: true (one of them)")
	case exOK:
		if !d.boolean(ex.val, "exists") {
			if ex.val.Value == "false" {
				d.el.node(ex.val, "exists: false is not supported: check for the value instead")
			}
			return engine.Check{}, false
		}
		return engine.Check{Kind: engine.CheckJSONExists, Path: jp}, true
	default:
		var w strings.Builder
		saved := d.refs
		d.refs = nil // an expected value is compared as written
		ok := d.jsonValue(&w, eq.val)
		d.refs = saved
		if ok {
			return engine.Check{Kind: engine.CheckJSONEquals, Path: jp, Value: w.String()}, true
		}
	}
	return engine.Check{}, false
}

// form encodes form: { k: v } as application/x-www-form-urlencoded, in file
// order. Templates in values are kept as they are and escaped when they are
// rendered (engine.EscapeForm).
func (d *decoder) form(n *yaml.Node) ([]byte, bool) {
	if n.Kind != yaml.MappingNode {
		d.el.node(n, "expected a mapping of form fields for form, got %s", kindName(n))
		return nil, false
	}
	var b strings.Builder
	ok := true
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || !d.noTemplate(k, "a form field name") {
			ok = false
			continue
		}
		val := d.text(v, "form field "+k.Value)
		if !d.template(v) {
			ok = false
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(k.Value))
		b.WriteByte('=')
		writeFormValue(&b, val)
	}
	return []byte(b.String()), ok
}

// writeFormValue escapes the literal text of a form value and keeps its
// templates.
func writeFormValue(b *strings.Builder, v string) {
	for {
		i := strings.Index(v, "{{")
		if i < 0 {
			b.WriteString(url.QueryEscape(v))
			return
		}
		j := strings.Index(v[i:], "}}")
		b.WriteString(url.QueryEscape(v[:i]))
		b.WriteString(v[i : i+j+2])
		v = v[i+j+2:]
	}
}

// bodyFile reads body_file, relative to the scenario's directory. It is
// sent as it is: no templates.
func (d *decoder) bodyFile(n *yaml.Node) ([]byte, bool) {
	file, ok := d.str(n, "body_file")
	if !ok {
		return nil, false
	}
	p := file
	if !filepath.IsAbs(p) {
		p = filepath.Join(d.dir, p)
	}
	st, err := os.Stat(p)
	switch {
	case err != nil:
		d.el.node(n, "body_file %s: %v", file, unwrapPathError(err))
		return nil, false
	case !st.Mode().IsRegular():
		d.el.node(n, "body_file %s is not a regular file", file)
		return nil, false
	case st.Size() > maxBodyFile:
		d.el.node(n, "body_file %s is %d bytes, limit %d", file, st.Size(), maxBodyFile)
		return nil, false
	}
	b, err := os.ReadFile(p)
	if err != nil {
		d.el.node(n, "body_file %s: %v", file, unwrapPathError(err))
		return nil, false
	}
	return b, true
}

// think decodes think: 100ms or a range 100ms..300ms.
func (d *decoder) think(n *yaml.Node) (lo, hi time.Duration) {
	a, b, isRange := strings.Cut(n.Value, "..")
	if n.Kind != yaml.ScalarNode || !isRange {
		lo, _ = d.duration(n, "think", 0)
		return lo, 0
	}
	lo, errA := time.ParseDuration(strings.TrimSpace(a))
	hi, errB := time.ParseDuration(strings.TrimSpace(b))
	if errA != nil || errB != nil || lo < 0 || hi < lo {
		d.el.node(n, "invalid think range %q: want MIN..MAX with units, e.g. 100ms..300ms", n.Value)
		return 0, 0
	}
	return lo, hi
}
