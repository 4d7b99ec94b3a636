package report

// Fields a report may hold that this version does not know. docs/reports.md
// tells readers to ignore such fields, since later v1 versions may add
// some; `loadgate report` re-renders a saved run, and must not drop them
// from the JSON it writes. DecodeJSON walks the document along the Go types
// of Summary: a key that no field of the struct at that place names is kept
// as an extra, with where it was, and WriteJSON puts it back. The same walk
// checks that numbers fit the fields that hold them, which the schema
// cannot say.

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/loadgate/loadgate/report/schema"
)

// extra is one unknown field: its key and compact value, in the object at
// path (string keys and int indices from the document's root).
type extra struct {
	path []any
	key  string
	val  json.RawMessage
}

var (
	summaryType = reflect.TypeOf(Summary{})
	metricType  = reflect.TypeOf(Metric{})
)

// metricShapes are the JSON shapes of Metric, by type: the fields a metric
// of that type has (Metric.MarshalJSON).
var metricShapes = map[string]reflect.Type{
	TypeTrend:   reflect.TypeOf(trendJSON{}),
	TypeRate:    reflect.TypeOf(rateJSON{}),
	TypeCounter: reflect.TypeOf(counterJSON{}),
}

// walker collects the extras and the numbers out of range of a document.
type walker struct {
	extras   []extra
	problems []schema.Problem
}

// walk visits raw, the value at path, which decodes into a t.
func (w *walker) walk(t reflect.Type, raw json.RawMessage, path []any) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return
	}
	switch {
	case t == metricType:
		var head struct {
			Type string `json:"type"`
		}
		if json.Unmarshal(raw, &head) == nil && metricShapes[head.Type] != nil {
			w.object(metricShapes[head.Type], raw, path)
		}
	case t.Kind() == reflect.Struct:
		w.object(t, raw, path)
	case t.Kind() == reflect.Slice && raw[0] == '[':
		var items []json.RawMessage
		if json.Unmarshal(raw, &items) == nil {
			for i, it := range items {
				w.walk(t.Elem(), it, append(slices.Clip(path), i))
			}
		}
	case t.Kind() == reflect.Map && raw[0] == '{':
		members(raw, func(k string, v json.RawMessage) {
			w.walk(t.Elem(), v, append(slices.Clip(path), k))
		})
	case raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9':
		w.number(t, string(raw), path)
	}
}

// object visits the members of an object that decodes into the struct t.
func (w *walker) object(t reflect.Type, raw json.RawMessage, path []any) {
	if raw[0] != '{' {
		return
	}
	fields := jsonFields(t)
	members(raw, func(k string, v json.RawMessage) {
		if ft, ok := fields[k]; ok {
			w.walk(ft, v, append(slices.Clip(path), k))
			return
		}
		var c bytes.Buffer
		if json.Compact(&c, v) != nil {
			return
		}
		// A key given twice: the last one counts, as encoding/json does.
		for i := range w.extras {
			if x := &w.extras[i]; x.key == k && slices.Equal(x.path, path) {
				x.val = c.Bytes()
				return
			}
		}
		w.extras = append(w.extras, extra{path: slices.Clone(path), key: k, val: c.Bytes()})
	})
}

// number checks that a JSON number fits the Go field that holds it.
func (w *walker) number(t reflect.Type, s string, path []any) {
	switch t.Kind() {
	case reflect.Int, reflect.Int64:
		if _, err := strconv.ParseInt(s, 10, 64); err != nil {
			w.problems = append(w.problems, schema.Problem{Path: schema.Path(path),
				Msg: "want a whole number without a fraction or exponent, at most 9223372036854775807, got " + s})
		}
	case reflect.Float64:
		if _, err := strconv.ParseFloat(s, 64); err != nil {
			w.problems = append(w.problems, schema.Problem{Path: schema.Path(path),
				Msg: "want a number of at most about 1.8e308, got " + s})
		}
	}
}

// jsonFields maps the JSON names of t's fields to their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}

// members calls f with each member of the JSON object raw, in order.
func members(raw json.RawMessage, f func(key string, val json.RawMessage)) {
	d := json.NewDecoder(bytes.NewReader(raw))
	if t, err := d.Token(); err != nil || t != json.Delim('{') {
		return
	}
	for d.More() {
		t, err := d.Token()
		if err != nil {
			return
		}
		k, _ := t.(string)
		var v json.RawMessage
		if d.Decode(&v) != nil {
			return
		}
		f(k, v)
	}
}

// sortExtras orders extras by the place of their object, keeping the order
// of each object's own, so that a report read back from WriteJSON, which
// writes them after the known fields, has the same list.
func sortExtras(es []extra) {
	slices.SortStableFunc(es, func(a, b extra) int { return comparePaths(a.path, b.path) })
}

func comparePaths(a, b []any) int {
	for i := range min(len(a), len(b)) {
		ai, aInt := a[i].(int)
		bi, bInt := b[i].(int)
		switch {
		case aInt && bInt:
			if c := cmp.Compare(ai, bi); c != 0 {
				return c
			}
		case aInt != bInt:
			if aInt {
				return -1
			}
			return 1
		default:
			if c := strings.Compare(a[i].(string), b[i].(string)); c != 0 {
				return c
			}
		}
	}
	return cmp.Compare(len(a), len(b))
}

// node is a JSON value with the order of its object members kept.
type node struct {
	keys []string // of an object
	kids []*node  // members of an object, items of an array
	obj  bool
	arr  bool
	raw  []byte // a scalar, as written
}

func parseNode(raw json.RawMessage) *node {
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) > 0 && raw[0] == '{':
		n := &node{obj: true}
		members(raw, func(k string, v json.RawMessage) {
			n.keys = append(n.keys, k)
			n.kids = append(n.kids, parseNode(v))
		})
		return n
	case len(raw) > 0 && raw[0] == '[':
		n := &node{arr: true}
		var items []json.RawMessage
		_ = json.Unmarshal(raw, &items) // raw is what the encoder wrote
		for _, it := range items {
			n.kids = append(n.kids, parseNode(it))
		}
		return n
	}
	return &node{raw: raw}
}

// at returns the object at path below n, or nil.
func (n *node) at(path []any) *node {
	for _, p := range path {
		switch v := p.(type) {
		case int:
			if !n.arr || v < 0 || v >= len(n.kids) {
				return nil
			}
			n = n.kids[v]
		case string:
			i := slices.Index(n.keys, v)
			if !n.obj || i < 0 {
				return nil
			}
			n = n.kids[i]
		}
	}
	if !n.obj {
		return nil
	}
	return n
}

func (n *node) write(b *bytes.Buffer) error {
	switch {
	case n.obj:
		b.WriteByte('{')
		for i, k := range n.keys {
			if i > 0 {
				b.WriteByte(',')
			}
			kb, err := marshal(k)
			if err != nil {
				return err
			}
			b.Write(kb)
			b.WriteByte(':')
			if err := n.kids[i].write(b); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	case n.arr:
		b.WriteByte('[')
		for i, k := range n.kids {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := k.write(b); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	default:
		b.Write(n.raw)
	}
	return nil
}

// writeWithExtras is WriteJSON for a Summary with extras: the known fields
// as WriteJSON writes them, then each extra at the end of its object. An
// extra whose object is no longer there (an empty list written as absent)
// is dropped.
func writeWithExtras(w io.Writer, s *Summary) error {
	known, err := marshal(s)
	if err != nil {
		return fmt.Errorf("report: json: %w", err)
	}
	root := parseNode(known)
	for _, x := range s.extras {
		if o := root.at(x.path); o != nil && !slices.Contains(o.keys, x.key) {
			o.keys = append(o.keys, x.key)
			o.kids = append(o.kids, &node{raw: x.val})
		}
	}
	var compact, out bytes.Buffer
	if err := root.write(&compact); err != nil {
		return fmt.Errorf("report: json: %w", err)
	}
	compact.WriteByte('\n')
	if err := json.Indent(&out, compact.Bytes(), "", "  "); err != nil {
		return fmt.Errorf("report: json: %w", err)
	}
	_, err = w.Write(out.Bytes())
	return err
}

// goKindWord names the JSON a Go type decodes from, for messages.
func goKindWord(t reflect.Type) string {
	if t == nil {
		return "another value"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number that fits in 64 bits"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return "another value"
}
