package scenarios

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// jsonValue writes n as JSON, keeping the key order of the file so that the
// body is byte-for-byte reproducible. It reports values JSON cannot carry
// and returns false if there were any.
func (d *decoder) jsonValue(w *strings.Builder, n *yaml.Node) bool {
	switch n.Kind {
	case yaml.MappingNode:
		return d.jsonObject(w, n)
	case yaml.SequenceNode:
		ok := true
		w.WriteByte('[')
		for i, c := range n.Content {
			if i > 0 {
				w.WriteByte(',')
			}
			ok = d.jsonValue(w, c) && ok
		}
		w.WriteByte(']')
		return ok
	case yaml.ScalarNode:
		return d.jsonScalar(w, n)
	}
	d.el.node(n, "json: unexpected %s", kindName(n))
	return false
}

func (d *decoder) jsonObject(w *strings.Builder, n *yaml.Node) bool {
	ok := true
	seen := map[string]bool{}
	w.WriteByte('{')
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if k.Kind != yaml.ScalarNode {
			d.el.node(k, "json: object keys must be strings, got %s", kindName(k))
			ok = false
			continue
		}
		if seen[k.Value] {
			d.el.node(k, "json: duplicate key %q", k.Value)
			ok = false
			continue
		}
		seen[k.Value] = true
		ok = d.noTemplate(k, "a JSON key") && ok
		if i > 0 {
			w.WriteByte(',')
		}
		writeJSONString(w, k.Value)
		w.WriteByte(':')
		ok = d.jsonValue(w, n.Content[i+1]) && ok
	}
	w.WriteByte('}')
	return ok
}

func (d *decoder) jsonScalar(w *strings.Builder, n *yaml.Node) bool {
	switch n.ShortTag() {
	case "!!null":
		w.WriteString("null")
	case "!!bool":
		if n.Value != "true" && n.Value != "false" {
			d.boolean(n, "json")
			return false
		}
		w.WriteString(n.Value)
	case "!!int":
		v, err := strconv.ParseInt(n.Value, 0, 64)
		if err != nil {
			d.el.node(n, "json: integer %s is out of range", n.Value)
			return false
		}
		w.WriteString(strconv.FormatInt(v, 10))
	case "!!float":
		v, err := parseNumber(n.Value)
		if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
			d.el.node(n, "json: %s is not a JSON number", n.Value)
			return false
		}
		w.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
	default:
		if !d.template(n) {
			return false
		}
		writeJSONString(w, n.Value)
	}
	return true
}

// writeJSONString writes s as a JSON string. HTML escaping is off: a body
// is not HTML, and "<" should reach the server as written.
func writeJSONString(w *strings.Builder, s string) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	w.Write(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}
