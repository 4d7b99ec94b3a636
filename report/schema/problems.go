package schema

import (
	"encoding/json"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// Problem is one way a document breaks the schema: where, as a jq path
// (.metrics["http_reqs"].count), and what was expected there, in words
// that name JSON types and values, never Go's.
type Problem struct {
	Path string
	Msg  string
}

func (p Problem) String() string { return p.Path + ": " + p.Msg }

// Error is every Problem of a document, in document order, without
// repeats.
type Error struct {
	Problems []Problem
}

// maxShown bounds the problems an Error's message lists.
const maxShown = 5

func (e *Error) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i == maxShown {
			fmt.Fprintf(&b, "; and %d more", len(e.Problems)-maxShown)
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(p.String())
	}
	return b.String()
}

// Path formats a location in a document as jq does: keys that are
// identifiers as .key, others as ["key"], array indices as [i]; the root
// is ".". Elements are string keys or int indices.
func Path(elems []any) string {
	if len(elems) == 0 {
		return "."
	}
	var b strings.Builder
	for _, e := range elems {
		switch v := e.(type) {
		case int:
			b.WriteString("[" + strconv.Itoa(v) + "]")
		case string:
			if isIdent(v) {
				b.WriteString("." + v)
			} else {
				b.WriteString("[" + strconv.Quote(v) + "]")
			}
		}
	}
	return b.String()
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if r != '_' && (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (i == 0 || r < '0' || r > '9') {
			return false
		}
	}
	return true
}

// problems flattens the library's tree of errors to the violations a
// reader can act on. Of the branches of a oneOf or anyOf, those that
// failed only because the document chose another variant (a "type" field
// with another value: a counter is not a trend) are dropped, and branches
// that each only want another JSON type are said in one problem ("want
// null or string, got number").
func problems(doc any, e *jsonschema.ValidationError) []Problem {
	var out []Problem
	seen := map[Problem]bool{}
	for _, p := range flatten(doc, e) {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

func flatten(doc any, e *jsonschema.ValidationError) []Problem {
	switch e.ErrorKind.(type) {
	case *kind.OneOf, *kind.AnyOf:
		return alternatives(doc, e)
	}
	if len(e.Causes) == 0 {
		return []Problem{{Path: Path(elems(doc, e.InstanceLocation)), Msg: describe(e.ErrorKind)}}
	}
	var out []Problem
	for _, c := range e.Causes {
		out = append(out, flatten(doc, c)...)
	}
	return out
}

func alternatives(doc any, e *jsonschema.ValidationError) []Problem {
	disc := append(slices.Clone(e.InstanceLocation), "type")
	var kept []*jsonschema.ValidationError
	for _, c := range e.Causes {
		if !hasLeaf(c, func(l *jsonschema.ValidationError) bool {
			_, isConst := l.ErrorKind.(*kind.Const)
			return isConst && slices.Equal(l.InstanceLocation, disc)
		}) {
			kept = append(kept, c)
		}
	}
	if len(kept) == 0 {
		// No variant has this type: one problem, worded as the enum of
		// the type field says it too (and deduplicated with it).
		var want []string
		var got any
		for _, c := range e.Causes {
			var leaves []*jsonschema.ValidationError
			collectLeaves(c, &leaves)
			for _, l := range leaves {
				if k, ok := l.ErrorKind.(*kind.Const); ok && slices.Equal(l.InstanceLocation, disc) {
					want, got = append(want, show(k.Want)), k.Got
				}
			}
		}
		return []Problem{{Path: Path(elems(doc, disc)), Msg: "want one of " + strings.Join(want, ", ") + ", got " + show(got)}}
	}
	// Branches that each want another type at this very place: one problem.
	var wants []string
	got := ""
	for _, c := range kept {
		var leaves []*jsonschema.ValidationError
		collectLeaves(c, &leaves)
		if len(leaves) != 1 || !slices.Equal(leaves[0].InstanceLocation, e.InstanceLocation) {
			wants = nil
			break
		}
		t, ok := leaves[0].ErrorKind.(*kind.Type)
		if !ok {
			wants = nil
			break
		}
		wants, got = append(wants, t.Want...), t.Got
	}
	if len(wants) > 0 {
		return []Problem{{Path: Path(elems(doc, e.InstanceLocation)), Msg: "want " + strings.Join(wants, " or ") + ", got " + got}}
	}
	var out []Problem
	for _, c := range kept {
		out = append(out, flatten(doc, c)...)
	}
	return out
}

func hasLeaf(e *jsonschema.ValidationError, match func(*jsonschema.ValidationError) bool) bool {
	if len(e.Causes) == 0 {
		return match(e)
	}
	for _, c := range e.Causes {
		if hasLeaf(c, match) {
			return true
		}
	}
	return false
}

func collectLeaves(e *jsonschema.ValidationError, out *[]*jsonschema.ValidationError) {
	if len(e.Causes) == 0 {
		*out = append(*out, e)
		return
	}
	for _, c := range e.Causes {
		collectLeaves(c, out)
	}
}

// elems turns the library's instance location (strings only) into Path
// elements, telling array indices from keys by walking doc.
func elems(doc any, loc []string) []any {
	out := make([]any, 0, len(loc))
	cur := doc
	for _, tok := range loc {
		switch v := cur.(type) {
		case []any:
			i, err := strconv.Atoi(tok)
			if err == nil && i >= 0 && i < len(v) {
				out = append(out, i)
				cur = v[i]
				continue
			}
		case map[string]any:
			cur = v[tok]
		default:
			cur = nil
		}
		out = append(out, tok)
	}
	return out
}

var printer = message.NewPrinter(language.English)

// describe says what a violation expected, and what it got.
func describe(k jsonschema.ErrorKind) string {
	switch k := k.(type) {
	case *kind.Type:
		return "want " + strings.Join(k.Want, " or ") + ", got " + k.Got
	case *kind.Required:
		if len(k.Missing) > 1 {
			return "missing fields " + quoteAll(k.Missing)
		}
		return "missing field " + quoteAll(k.Missing)
	case *kind.Minimum:
		return "want a value >= " + ratString(k.Want) + ", got " + ratString(k.Got)
	case *kind.Maximum:
		return "want a value <= " + ratString(k.Want) + ", got " + ratString(k.Got)
	case *kind.ExclusiveMinimum:
		return "want a value > " + ratString(k.Want) + ", got " + ratString(k.Got)
	case *kind.ExclusiveMaximum:
		return "want a value < " + ratString(k.Want) + ", got " + ratString(k.Got)
	case *kind.Enum:
		want := make([]string, len(k.Want))
		for i, w := range k.Want {
			want[i] = show(w)
		}
		return "want one of " + strings.Join(want, ", ") + ", got " + show(k.Got)
	case *kind.Const:
		return "want " + show(k.Want) + ", got " + show(k.Got)
	case *kind.Format:
		return "want a " + k.Want + ", got " + show(k.Got)
	case *kind.Pattern:
		return "got " + show(k.Got) + ", which does not match " + k.Want
	case *kind.MinLength:
		return "want a non-empty string"
	case *kind.FalseSchema:
		return "not allowed here"
	case *kind.AdditionalProperties:
		return "field " + quoteAll(k.Properties) + " not allowed here"
	case *kind.PropertyNames:
		return "invalid key " + strconv.Quote(k.Property)
	}
	return k.LocalizedString(printer)
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}

func ratString(r *big.Rat) string {
	if r == nil {
		return "?"
	}
	if r.IsInt() {
		return r.Num().String()
	}
	f, _ := r.Float64()
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// show writes a JSON value of the document as JSON, shortened.
func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	if len(b) > 60 {
		return string(b[:57]) + "..."
	}
	return string(b)
}
