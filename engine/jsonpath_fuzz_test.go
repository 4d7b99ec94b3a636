package engine

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/tidwall/gjson"
)

// jsonPathSeg is one step of a JSONPath: an object key or an array index.
type jsonPathSeg struct {
	key   string
	index int // -1 for a key
}

// jsonPathSegs reads a path of the subset JSONPathToGJSON documents ($,
// .name, [index], ['name'], ["name"]) into its steps, independently of
// JSONPathToGJSON; ok is false when p is not in the subset. A .name runs up
// to the next . or [; a quoted name up to its closing quote and bracket; an
// index is decimal digits; a key is not empty. big reports an index too large to build a
// document with.
func jsonPathSegs(p string) (segs []jsonPathSeg, big, ok bool) {
	rest, ok := strings.CutPrefix(p, "$")
	if !ok {
		return nil, false, false
	}
	for rest != "" {
		switch {
		case rest[0] == '.':
			end := strings.IndexAny(rest[1:], ".[")
			if end < 0 {
				end = len(rest) - 1
			}
			name := rest[1 : 1+end]
			if name == "" || name == "*" {
				return nil, false, false
			}
			segs = append(segs, jsonPathSeg{key: name, index: -1})
			rest = rest[1+end:]
		case strings.HasPrefix(rest, "['"), strings.HasPrefix(rest, `["`):
			name, after, found := strings.Cut(rest[2:], rest[1:2]+"]")
			if !found || name == "" {
				return nil, false, false
			}
			segs = append(segs, jsonPathSeg{key: name, index: -1})
			rest = after
		case rest[0] == '[':
			digits, after, found := strings.Cut(rest[1:], "]")
			if !found || digits == "" || strings.Trim(digits, "0123456789") != "" {
				return nil, false, false
			}
			n, err := strconv.Atoi(digits)
			if err != nil || n > 1000 {
				big, n = true, 0
			}
			segs = append(segs, jsonPathSeg{index: n})
			rest = after
		default:
			return nil, false, false
		}
	}
	return segs, big, true
}

// jsonQuote writes s as a JSON string, bytes as they are except the ones
// JSON requires escaped, as a server may send a key.
func jsonQuote(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20:
			fmt.Fprintf(b, `\u%04x`, c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
}

// jsonAt builds the document that holds value at segs: an object with the
// key, or an array whose earlier entries are null, at each step.
func jsonAt(segs []jsonPathSeg, value string) string {
	var b strings.Builder
	for _, s := range segs {
		if s.index < 0 {
			b.WriteByte('{')
			jsonQuote(&b, s.key)
			b.WriteByte(':')
			continue
		}
		b.WriteByte('[')
		b.WriteString(strings.Repeat("null,", s.index))
	}
	b.WriteString(value)
	for i := len(segs) - 1; i >= 0; i-- {
		if segs[i].index < 0 {
			b.WriteByte('}')
		} else {
			b.WriteByte(']')
		}
	}
	return b.String()
}

// FuzzJSONPathToGJSON: no path panics, and a path JSONPathToGJSON accepts
// is one of the subset its doc comment names and means what it says: the
// gjson path it gives, applied to a document that holds a value at the
// JSONPath's keys and indices, finds that value (what a json check or a
// capture reads; docs/scenario-reference.md). The seeds run in `make test`
// (docs/reliability.md, "Test hygiene").
func FuzzJSONPathToGJSON(f *testing.F) {
	for _, p := range []string{
		"$", "$.token", "$.items[0].id", "$[2]", "$['a.b'].c", `$["x y"][10]`, "$..id", "$.items[*].id",
		"items.0", "$.items[?(@.a)].b", "$['']", "$.a['']", `$['a\b']`, "$['a|b']", "$['#']", "$['@this']",
		"$['!true']", "$['[a]']", "$['{a}']", "$.a['[0]']", "$.a['{x,y}']", "$[''][''].00", `$[""].a`, "$['*']", "$['a?']", "$.a.b.c.d",
		"$[007]", "$[99999999999999999999]", "$[", "$['", "$[']", "$.", "$.a.", "$['a']['b'][3]", `$["it's"]`,
		"$['\x00\xff']", "$.é", "$['a\"b']", "$.a:b", "$.@reverse", "$['@reverse']", "$['..']", "$['a.']",
	} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, p string) {
		g, err := JSONPathToGJSON(p)
		segs, big, inSubset := jsonPathSegs(p)
		if err != nil {
			return
		}
		if !inSubset {
			t.Fatalf("JSONPathToGJSON(%q) = %q, but the path is not in the documented subset", p, g)
		}
		if big {
			return // an index past 1000: no document to build
		}
		const value = `"\u0001found"`
		doc := jsonAt(segs, value)
		if !gjson.Valid(doc) {
			t.Fatalf("test bug: built an invalid document %q for %q", doc, p)
		}
		if r := gjson.Get(doc, g); r.Raw != value {
			t.Fatalf("JSONPathToGJSON(%q) = %q finds %q in %s, want %s", p, g, r.Raw, doc, value)
		}
	})
}
