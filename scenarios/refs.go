package scenarios

import (
	"fmt"
	"slices"
	"strings"

	"github.com/loadgate/loadgate/engine"
)

// checkRefs resolves the template names of flow f: a capture must come
// from an earlier step of the flow, a feeder column from the data section.
func (c *compiler) checkRefs(f FlowSpec) {
	captured := map[string]bool{}
	later := map[string]string{} // capture name → step that captures it
	for _, st := range f.Steps {
		for _, cp := range st.Captures {
			if _, ok := later[cp.Name]; !ok {
				later[cp.Name] = st.Name
			}
		}
	}
	for _, st := range f.Steps {
		for _, ref := range st.refs {
			for i, e := range ref.exprs {
				if slices.Contains(ref.local, e.Name) && e.Column == "" {
					continue
				}
				if st.WS != nil && later[e.Name] == st.Name && !captured[e.Name] {
					c.el.at(ref.pos[i].Line, ref.pos[i].Col, "{{ %s }} is captured by a later exchange of this step: an exchange uses the captures of the exchanges before it", e.Name)
					continue
				}
				if msg := c.checkExpr(e, captured, later); msg != "" {
					c.el.at(ref.pos[i].Line, ref.pos[i].Col, "%s", msg)
				}
			}
		}
		for _, cp := range st.Captures {
			captured[cp.Name] = true
		}
	}
}

func (c *compiler) checkExpr(e engine.TemplateExpr, captured map[string]bool, later map[string]string) string {
	if e.Column != "" {
		for _, ds := range c.spec.Data {
			if ds.Name != e.Name {
				continue
			}
			if ds.Feeder == nil {
				return "" // the data file is already reported
			}
			for _, col := range ds.Feeder.Columns {
				if col != e.Column {
					continue
				}
				// An object without the key would send an empty value: a
				// JSON feeder is ragged where a CSV one cannot be.
				if m, ok := ds.missing[col]; ok {
					return fmt.Sprintf("{{ %s.%s }}: row %d of data %s (%s, line %d) has no %q: every row of a JSON feeder must have each key the flows use",
						e.Name, e.Column, m.row, quote(e.Name), ds.File, m.line, col)
				}
				return ""
			}
			msg := "data " + quote(e.Name) + " has no column " + quote(e.Column)
			if s := suggest(e.Column, ds.Feeder.Columns); s != "" {
				return msg + "; did you mean " + quote(s) + "?"
			}
			return msg + "; its columns are " + strings.Join(ds.Feeder.Columns, ", ")
		}
		return "{{ " + e.Name + "." + e.Column + " }}: no data named " + quote(e.Name) + " (declare it under data:)"
	}
	if slicesContains(engine.Builtins, e.Name) || captured[e.Name] {
		return ""
	}
	if step, ok := later[e.Name]; ok {
		return "{{ " + e.Name + " }} is captured by step " + quote(step) + ", which does not run before this one"
	}
	known := append([]string{}, engine.Builtins...)
	for n := range captured {
		known = append(known, n)
	}
	msg := "unknown template name {{ " + e.Name + " }}: not a capture of an earlier step of this flow, nor a built-in (" + strings.Join(engine.Builtins, ", ") + ")"
	if s := suggest(e.Name, known); s != "" {
		msg += "; did you mean " + quote(s) + "?"
	}
	return msg
}

// plainTemplate replaces every {{ ... }} of s with x, for the URL checks
// that do not care about values.
func plainTemplate(s string) string {
	for {
		i := strings.Index(s, "{{")
		if i < 0 {
			return s
		}
		j := strings.Index(s[i:], "}}")
		if j < 0 {
			return s
		}
		s = s[:i] + "x" + s[i+j+2:]
	}
}

// checkTemplatedURL rejects templates in the scheme and host of an
// absolute URL: each host gets its own connection pool, made at the start.
func checkTemplatedURL(s string) string {
	_, rest, _ := strings.Cut(s, "://")
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	if engine.HasTemplate(rest) || engine.HasTemplate(s[:strings.Index(s, "://")]) {
		return "invalid URL " + quote(s) + ": templates may only be in the path and query, not in the host (each host gets its connections at the start)"
	}
	return ""
}

// orDefault returns the first of vs that is set (>= 0), else fallback:
// limits use -1 for "not given".
func orDefault(fallback int, vs ...int) int {
	for _, v := range vs {
		if v >= 0 {
			return v
		}
	}
	return fallback
}

// nonZero maps an unset (0) max_body to -1 for orDefault.
func nonZero(v int) int {
	if v == 0 {
		return -1
	}
	return v
}
