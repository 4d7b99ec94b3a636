package scenarios

// Flow logic as written (docs/scenario-reference.md "Flow logic"): repeat,
// if and stop_iteration_if on a step, and groups of steps with the same
// keys. The conditions are compiled by the engine (engine.CheckLogic), the
// one compiler a run uses too; its errors come back here to be reported at
// their line and column, the column inside the condition added to its
// node's.

import (
	"errors"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/loadgate/loadgate/engine"
)

var (
	logicKeys  = []string{"repeat", "if", "stop_iteration_if"}
	groupKeys  = append([]string{"group", "steps"}, logicKeys...)
	repeatKeys = []string{"count", "over", "until"}
)

// LogicSpec is the flow logic of a step or a group as written.
type LogicSpec struct {
	engine.Logic
	// nodes locate each key's value for errors: if, stop_iteration_if,
	// until, repeat (the count) and over.
	nodes map[string]*yaml.Node
}

// plan is the engine's Logic of l; nil when l adds nothing.
func (l *LogicSpec) plan() *engine.Logic {
	if l.Logic.IsZero() {
		return nil
	}
	lg := l.Logic
	return &lg
}

// GroupSpec is a group of consecutive steps of a flow, Steps[From:To].
type GroupSpec struct {
	Name     string
	From, To int
	Logic    LogicSpec
	Pos      Pos
}

// flowSteps decodes a flow's steps, where an item with a group key is a
// group of steps (one level: groups do not nest). The steps of groups are
// in the flat list with the others, in file order.
func (d *decoder) flowSteps(n *yaml.Node, flow string) ([]StepSpec, []GroupSpec) {
	items := d.list(n, "steps")
	if n.Kind == yaml.SequenceNode && len(items) == 0 {
		d.el.node(n, "steps must not be empty")
	}
	var steps []StepSpec
	var groups []GroupSpec
	for i, it := range items {
		path := flow + ".steps[" + itoa(i) + "]"
		if !isGroup(it) {
			steps = append(steps, d.step(it, path))
			continue
		}
		where := "in group " + path
		fs := d.fields(it, where, groupKeys, nil)
		d.require(it, fs, where, "steps")
		g := GroupSpec{Pos: posOf(it), From: len(steps)}
		if f, ok := fs["group"]; ok {
			g.Name = d.name(f.val, "group name")
			g.Pos = posOf(f.val)
		}
		d.logic(fs, &g.Logic)
		if f, ok := fs["steps"]; ok {
			inner := d.list(f.val, "steps")
			if f.val.Kind == yaml.SequenceNode && len(inner) == 0 {
				d.el.node(f.val, "a group's steps must not be empty")
			}
			for j, st := range inner {
				if isGroup(st) {
					d.el.node(st, "a group inside group %q: groups do not nest; repeat a step of the group instead, or make two groups", g.Name)
					continue
				}
				steps = append(steps, d.step(st, path+".steps["+itoa(j)+"]"))
			}
		}
		g.To = len(steps)
		if g.To > g.From {
			groups = append(groups, g)
		}
	}
	return steps, groups
}

// isGroup reports whether a step list item is a group (has a group key).
func isGroup(n *yaml.Node) bool {
	if n.Kind != yaml.MappingNode {
		return false
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "group" {
			return true
		}
	}
	return false
}

// logic decodes the flow-logic keys of a step or a group.
func (d *decoder) logic(fs map[string]field, l *LogicSpec) {
	for _, k := range []string{"if", "stop_iteration_if"} {
		if f, ok := fs[k]; ok {
			src := d.condition(f.val, k)
			if k == "if" {
				l.If = src
			} else {
				l.StopIf = src
			}
			l.node(k, f.val)
		}
	}
	f, ok := fs["repeat"]
	if !ok {
		return
	}
	if f.val.Kind != yaml.MappingNode {
		if v, ok := d.integer(f.val, "repeat (how many times)", 1, engine.MaxRepeat); ok {
			l.Repeat = int(v)
		}
		l.node("repeat", f.val)
		return
	}
	rs := d.fields(f.val, "in repeat", repeatKeys, nil)
	if len(rs) == 0 && len(f.val.Content) == 0 {
		d.el.node(f.val, "repeat needs count or over: repeat: 3, or repeat: { over: items }")
	}
	if c, ok := rs["count"]; ok {
		if v, ok := d.integer(c.val, "repeat count", 1, engine.MaxRepeat); ok {
			l.Repeat = int(v)
		}
		l.node("repeat", c.val)
	}
	if o, ok := rs["over"]; ok {
		if s, ok := d.str(o.val, "repeat over (a data name)"); ok {
			if s == "" {
				d.el.node(o.val, "repeat over needs the name of a data section entry")
			}
			l.Over = s
		}
		l.node("over", o.val)
	}
	if u, ok := rs["until"]; ok {
		l.Until = d.condition(u.val, "until")
		l.node("until", u.val)
	}
	if _, ok := rs["count"]; !ok && l.Over == "" && len(rs) > 0 {
		d.el.node(f.val, "repeat needs a count (the most repetitions) or over: repeat: { count: 10, until: ... }")
		l.Until = "" // reported here, not again by the engine
	}
	if l.Repeat == 0 && l.Over == "" {
		l.Repeat = 1 // reported; keeps the engine's check quiet
	}
}

func (l *LogicSpec) node(key string, n *yaml.Node) {
	if l.nodes == nil {
		l.nodes = map[string]*yaml.Node{}
	}
	l.nodes[key] = n
}

// condition decodes the text of a condition. Its syntax and names are
// checked with the flow (checkLogic).
func (d *decoder) condition(n *yaml.Node, key string) string {
	s, ok := d.str(n, key+" (a condition such as token != \"\")")
	if !ok {
		return ""
	}
	if i := strings.Index(s, "{{"); i >= 0 {
		line, col := d.src.at(n, i)
		d.el.at(line, col, "%s: a condition names captures and data directly, without {{ }}: write token == \"x\", items.id != \"\"", key)
		return ""
	}
	if strings.TrimSpace(s) == "" {
		d.el.node(n, "%s must not be empty", key)
		return ""
	}
	return s
}

// checkLogic compiles the logic of flow f (decoded as fs) as the engine
// will, and reports its error at its place in the file.
func (c *compiler) checkLogic(fs FlowSpec, f *engine.Flow, data []engine.Feeder) {
	err := engine.CheckLogic(f, data)
	if err == nil {
		return
	}
	var le *engine.LogicError
	if !errors.As(err, &le) {
		c.el.at(fs.Pos.Line, fs.Pos.Col, "flow %q: %v", fs.Name, err)
		return
	}
	var l *LogicSpec
	pos := fs.Pos
	switch {
	case le.Step >= 0 && le.Step < len(fs.Steps):
		l, pos = &fs.Steps[le.Step].Logic, fs.Steps[le.Step].Pos
	case le.Group >= 0 && le.Group < len(fs.Groups):
		l, pos = &fs.Groups[le.Group].Logic, fs.Groups[le.Group].Pos
	}
	msg := le.Msg
	if strings.HasPrefix(msg, "unknown name ") {
		msg += "; " + condNames(f, data)
	}
	if le.Pos || le.Key == "if" || le.Key == "until" || le.Key == "stop_iteration_if" {
		msg = "invalid condition " + quote(condText(l, le.Key)) + ": " + msg
	}
	n := (*yaml.Node)(nil)
	if l != nil {
		n = l.nodes[le.Key]
	}
	switch {
	case n == nil:
		c.el.at(pos.Line, pos.Col, "%s: %s", le.Key, msg)
	case le.Pos:
		line, col := c.src.at(n, le.Offset)
		c.el.at(line, col, "%s: %s", le.Key, msg)
	default:
		c.el.node(n, "%s: %s", le.Key, msg)
	}
}

// condText is the text of l's condition key.
func condText(l *LogicSpec, key string) string {
	if l == nil {
		return ""
	}
	switch key {
	case "if":
		return l.If
	case "until":
		return l.Until
	}
	return l.StopIf
}

// condNames lists what a condition of f may name, for an unknown name.
func condNames(f *engine.Flow, data []engine.Feeder) string {
	var caps []string
	for _, st := range f.Steps {
		for _, cp := range st.Captures {
			if !slices.Contains(caps, cp.Name) {
				caps = append(caps, cp.Name)
			}
		}
	}
	var cols []string
	for _, d := range data {
		for _, col := range d.Columns {
			cols = append(cols, d.Name+"."+col)
		}
	}
	var b strings.Builder
	b.WriteString("want ")
	if len(caps) > 0 {
		b.WriteString("a capture of the flow (" + strings.Join(caps, ", ") + "), ")
	}
	if len(cols) > 0 {
		b.WriteString("a data column (" + strings.Join(cols, ", ") + "), ")
	}
	b.WriteString("or one of " + strings.Join(engine.CondBuiltins, ", "))
	b.WriteString("; functions: " + strings.Join(engine.CondFuncs, ", "))
	return b.String()
}

// groups are the engine's groups of f.
func groups(f FlowSpec) []engine.Group {
	var out []engine.Group
	for _, g := range f.Groups {
		out = append(out, engine.Group{Name: g.Name, From: g.From, To: g.To, Logic: g.Logic.Logic})
	}
	return out
}
