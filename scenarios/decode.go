package scenarios

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// decoder turns yaml.Nodes into typed values. Every method reports problems
// to el and returns a usable zero value, so that decoding goes on and finds
// the next problem too.
type decoder struct {
	el  *errorList
	src *source
	// suggested holds, per mapping, the keys offered for typos in it: a
	// missing key that was suggested is not reported a second time.
	suggested map[*yaml.Node][]string
	// quoted marks quoted scalars that had a ${...} (see substituter).
	quoted map[*yaml.Node]bool
	// spans are where the values of ${...} landed (see substituter).
	spans map[*yaml.Node][]varSpan
	// sliSpec is the decoded sli section, for the sli{name:X} thresholds; nil
	// without one.
	sliSpec *SLISpec
	// dir is the scenario file's directory, for body_file and data files.
	dir string
	// refs collects the templates of the step being decoded; nil outside
	// steps.
	refs *[]tmplRef
	// grpc is the top-level grpc section, decoded before the flows; nil
	// without one.
	grpc *GRPCSection
}

// hint explains a type error on a quoted ${...}: its value, which did
// not read as what the key wants.
func (d *decoder) hint(n *yaml.Node) string {
	if d.quoted[n] {
		return fmt.Sprintf(" (the quoted ${...} gave %q)", n.Value)
	}
	return ""
}

// tag is n's YAML tag, where a quoted ${...} counts as the type of its
// value: inside { } a ${VAR} must be quoted ("{ rate: "${RATE}" }", as the
// YAML error's hint says), and a key that wants a number, an integer or a
// boolean has no use for a string, so "${RATE}" with RATE=20 is 20 there
// (docs/scenario-reference.md). Where a string is welcome (a json: body,
// a header) a quoted ${...} stays a string.
func (d *decoder) tag(n *yaml.Node) string {
	if d.quoted[n] {
		return plainTag(n.Value)
	}
	return n.ShortTag()
}

// Pos is a 1-based line and column in the scenario file.
type Pos struct {
	Line, Col int
}

func posOf(n *yaml.Node) Pos { return Pos{n.Line, n.Column} }

// field is one key: value of a mapping.
type field struct {
	key, val *yaml.Node
}

// kindName names what n is, in the words of the error messages.
func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.AliasNode:
		return "alias"
	}
	switch n.ShortTag() {
	case "!!int":
		return "integer"
	case "!!float":
		return "number"
	case "!!bool":
		return "boolean"
	case "!!null":
		return "null"
	}
	return "string"
}

// fields checks that n is a mapping with string keys from known, and returns
// its entries by key. Keys in later are recognised but not implemented yet:
// they are errors, so that a file never silently does less than it says.
func (d *decoder) fields(n *yaml.Node, where string, known, later []string) map[string]field {
	out := map[string]field{}
	if n.Kind != yaml.MappingNode {
		d.el.node(n, "expected a mapping %s, got %s", where, kindName(n))
		return out
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := k.Value
		if k.Kind != yaml.ScalarNode {
			d.el.node(k, "expected a key %s, got %s", where, kindName(k))
			continue
		}
		if prev, dup := out[key]; dup {
			d.el.node(k, "duplicate key %q %s (first at line %d)", key, where, prev.key.Line)
			continue
		}
		switch {
		case slices.Contains(known, key):
			out[key] = field{k, v}
		case slices.Contains(later, key):
			d.el.node(k, "key %q %s is not supported yet", key, where)
		default:
			d.unknownKey(n, k, where, slices.Concat(known, later))
		}
	}
	return out
}

func (d *decoder) unknownKey(m, k *yaml.Node, where string, known []string) {
	if s := suggest(k.Value, known); s != "" {
		if d.suggested == nil {
			d.suggested = map[*yaml.Node][]string{}
		}
		d.suggested[m] = append(d.suggested[m], s)
		d.el.node(k, "unknown key %q %s; did you mean %q?", k.Value, where, s)
		return
	}
	d.el.node(k, "unknown key %q %s; want one of %s", k.Value, where, strings.Join(known, ", "))
}

// require reports the keys of names missing from fs.
func (d *decoder) require(n *yaml.Node, fs map[string]field, where string, names ...string) {
	if n.Kind != yaml.MappingNode {
		return // already reported by fields
	}
	for _, name := range names {
		if _, ok := fs[name]; !ok && !slices.Contains(d.suggested[n], name) {
			d.el.node(n, "missing key %q %s", name, where)
		}
	}
}

// list checks that n is a list of at most maxItems entries.
func (d *decoder) list(n *yaml.Node, what string) []*yaml.Node {
	if n.Kind != yaml.SequenceNode {
		d.el.node(n, "expected a list of %s, got %s", what, kindName(n))
		return nil
	}
	return n.Content
}

// text returns the text of any non-null scalar: names, header values and
// bodies are text even when they look like numbers.
func (d *decoder) text(n *yaml.Node, what string) string {
	if n.Kind != yaml.ScalarNode || n.ShortTag() == "!!null" {
		d.el.node(n, "expected a string for %s, got %s", what, kindName(n))
		return ""
	}
	return n.Value
}

// str returns a scalar that must be a string (an enum, a URL).
func (d *decoder) str(n *yaml.Node, what string) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		d.el.node(n, "expected a string for %s, got %s", what, kindName(n))
		return "", false
	}
	return n.Value, true
}

// enum returns a string from allowed.
func (d *decoder) enum(n *yaml.Node, what string, allowed ...string) (string, bool) {
	s, ok := d.str(n, what)
	if !ok {
		return "", false
	}
	if !slices.Contains(allowed, s) {
		d.el.node(n, "%s must be %s, got %q", what, orList(allowed), s)
		return "", false
	}
	return s, true
}

// integer returns an integer in [lo, hi].
func (d *decoder) integer(n *yaml.Node, what string, lo, hi int64) (int64, bool) {
	if n.Kind != yaml.ScalarNode || d.tag(n) != "!!int" {
		d.el.node(n, "expected an integer for %s, got %s%s", what, kindName(n), d.hint(n))
		return 0, false
	}
	v, err := strconv.ParseInt(n.Value, 0, 64)
	if err != nil || v < lo || v > hi {
		d.el.node(n, "%s must be an integer from %d to %d, got %s", what, lo, hi, n.Value)
		return 0, false
	}
	return v, true
}

// number returns a finite number >= lo.
func (d *decoder) number(n *yaml.Node, what string, lo float64) (float64, bool) {
	tag := d.tag(n)
	if n.Kind != yaml.ScalarNode || tag != "!!int" && tag != "!!float" {
		d.el.node(n, "expected a number for %s, got %s%s", what, kindName(n), d.hint(n))
		return 0, false
	}
	v, err := parseNumber(n.Value)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		d.el.node(n, "expected a finite number for %s, got %s", what, n.Value)
		return 0, false
	}
	if v < lo {
		d.el.node(n, "%s must be >= %g, got %s", what, lo, n.Value)
		return 0, false
	}
	return v, true
}

// parseNumber parses a YAML int or float (0x1F, 1e3, .5, .inf).
func parseNumber(s string) (float64, error) {
	if i, err := strconv.ParseInt(s, 0, 64); err == nil {
		return float64(i), nil
	}
	switch strings.ToLower(strings.TrimLeft(s, "+-")) {
	case ".inf", ".nan":
		return math.Inf(1), nil
	}
	return strconv.ParseFloat(s, 64)
}

// boolean accepts true and false only: YAML 1.1 also reads yes, no, on and
// off as booleans, which turns a country code like NO into false.
func (d *decoder) boolean(n *yaml.Node, what string) bool {
	if n.Kind == yaml.ScalarNode && (n.Value == "true" || n.Value == "false") && (n.Style == 0 || d.quoted[n]) {
		return n.Value == "true"
	}
	if n.Kind == yaml.ScalarNode && n.Style == 0 {
		switch strings.ToLower(n.Value) {
		case "yes", "no", "on", "off", "y", "n", "true", "false":
			d.el.node(n, "expected true or false for %s, got %q (write booleans as true or false)", what, n.Value)
			return false
		}
	}
	d.el.node(n, "expected true or false for %s, got %s%s", what, kindName(n), d.hint(n))
	return false
}

// duration parses a Go duration with units, at least lo (lo > 0 also
// rules out zero).
func (d *decoder) duration(n *yaml.Node, what string, lo time.Duration) (time.Duration, bool) {
	switch {
	case n.Kind != yaml.ScalarNode:
		d.el.node(n, "expected a duration for %s, got %s", what, kindName(n))
		return 0, false
	case n.ShortTag() == "!!int" || n.ShortTag() == "!!float":
		d.el.node(n, "duration needs a unit, e.g. 30s (got %s for %s)", n.Value, what)
		return 0, false
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		d.el.node(n, "invalid duration %q for %s: want a number with a unit, e.g. 300ms, 1.5s, 2m, 1h30m", n.Value, what)
		return 0, false
	}
	switch {
	case v <= 0 && lo > 0:
		d.el.node(n, "%s must be greater than 0, got %s", what, n.Value)
		return 0, false
	case v < 0:
		d.el.node(n, "%s must not be negative, got %s", what, n.Value)
		return 0, false
	case v < lo:
		d.el.node(n, "%s must be at least %v, got %s", what, lo, n.Value)
		return 0, false
	}
	return v, true
}

// orList formats a, b or c.
func orList(xs []string) string {
	if len(xs) == 1 {
		return xs[0]
	}
	return fmt.Sprintf("%s or %s", strings.Join(xs[:len(xs)-1], ", "), xs[len(xs)-1])
}
