package scenarios

import (
	"bytes"
	"errors"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Limits on what a scenario file may hold (docs/reliability.md, row 28): a scenario
// comes from a repository or a pipeline variable, and validating it must not
// cost more than a few milliseconds and megabytes whatever it contains.
const (
	// MaxFileSize is the largest scenario file accepted, in bytes.
	MaxFileSize = 1 << 20
	// maxDepth bounds the nesting of mappings and lists; a real scenario
	// needs about 8 (a JSON body adds its own depth).
	maxDepth = 64
	// maxItems bounds every list and mapping the scenario defines (flows,
	// steps of a flow, stages, headers, thresholds).
	maxItems = 1000
)

// source is the scenario's text, kept to map byte offsets inside a scalar
// back to columns.
type source struct {
	lines []string
}

func newSource(data []byte) *source {
	return &source{lines: strings.Split(string(data), "\n")}
}

// at returns the line and column of byte offset off into the value of
// scalar n. It is exact when the text of n up to off appears verbatim after
// its opening quote (plain scalars, quoted ones without escapes before off);
// otherwise it falls back to the scalar's own position, which is never wrong,
// only less precise.
func (s *source) at(n *yaml.Node, off int) (line, col int) {
	line, col = n.Line, n.Column
	if off <= 0 || off > len(n.Value) || line < 1 || line > len(s.lines) {
		return line, col
	}
	rest := skipRunes(s.lines[line-1], col-1)
	switch n.Style {
	case 0:
	case yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
		rest, col = rest[min(1, len(rest)):], col+1
	default: // literal and folded blocks start on the next line
		return line, col
	}
	if !strings.HasPrefix(rest, n.Value[:off]) {
		return n.Line, n.Column
	}
	return line, col + utf8.RuneCountInString(n.Value[:off])
}

// skipRunes drops the first n runes of s (YAML columns count characters).
func skipRunes(s string, n int) string {
	for i := range s {
		if n == 0 {
			return s[i:]
		}
		n--
	}
	return ""
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parseTree decodes data into its root node and enforces the structural
// limits. It returns nil when the tree must not be looked at further.
func parseTree(data []byte, el *errorList) *yaml.Node {
	if len(data) > MaxFileSize {
		// Load reads one byte past the limit only, so the real size is unknown.
		el.at(1, 1, "file is larger than the limit of %d bytes (1 MiB)", MaxFileSize)
		return nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			el.at(1, 1, "empty file: want a mapping with name, load and flows")
		} else {
			syntaxError(el, newSource(data), err)
		}
		return nil
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		at := &extra
		if len(extra.Content) > 0 {
			at = extra.Content[0]
		}
		el.node(at, "a second YAML document: a scenario file holds exactly one")
		return nil
	} else if !errors.Is(err, io.EOF) {
		syntaxError(el, newSource(data), err)
		return nil
	}
	if len(doc.Content) == 0 {
		el.at(1, 1, "empty file: want a mapping with name, load and flows")
		return nil
	}
	root := doc.Content[0]
	if !checkTree(root, 1, el, map[string]bool{}) {
		return nil
	}
	return root
}

// parserProblems are the messages of go.yaml.in/yaml/v3's parser (as
// opposed to its scanner). The library prints their line 0-based (it adds
// one for scanner errors only), and it is the line where the unfinished
// construct began, such as an unclosed {.
var parserProblems = []string{
	"did not find expected ',' or ']'", "did not find expected ',' or '}'",
	"did not find expected '-' indicator", "did not find expected <document start>",
	"did not find expected key", "did not find expected node content",
}

// syntaxError reports a YAML syntax error; the library gives a line only.
func syntaxError(el *errorList, src *source, err error) {
	msg, line := strings.TrimPrefix(err.Error(), "yaml: "), 0
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	if slices.Contains(parserProblems, msg) {
		line++
	}
	// ${VAR} is not a valid plain scalar inside { } or [ ]: the braces end
	// the flow mapping early. Say so, since the YAML message cannot.
	if strings.HasPrefix(msg, "did not find expected ',' or") && strings.Contains(src.line(line), "${") {
		msg += " (inside { } or [ ], quote ${...} values, or use block style)"
	}
	el.at(line, 1, "invalid YAML: %s", msg)
}

// line returns line n (1-based) of the text, or "".
func (s *source) line(n int) string {
	if n < 1 || n > len(s.lines) {
		return ""
	}
	return s.lines[n-1]
}

// checkTree rejects anchors, aliases (the billion-laughs bomb needs them and
// a scenario does not) and nesting deeper than maxDepth. It reports false
// when the tree failed, so that no half-trusted content is decoded. Each
// alias name is reported once: a bomb repeats them by design.
func checkTree(n *yaml.Node, depth int, el *errorList, aliases map[string]bool) bool {
	if depth > maxDepth {
		el.node(n, "nesting is deeper than %d levels", maxDepth)
		return false
	}
	ok := true
	if n.Kind == yaml.AliasNode {
		if !aliases[n.Value] {
			el.node(n, "YAML aliases (*%s) are not supported: repeat the value instead", n.Value)
		}
		aliases[n.Value] = true
		return false
	}
	if n.Anchor != "" {
		el.node(n, "YAML anchors (&%s) are not supported: repeat the value instead", n.Anchor)
		ok = false
	}
	entries := len(n.Content)
	if n.Kind == yaml.MappingNode {
		entries /= 2
	}
	if entries > maxItems {
		el.node(n, "%d entries, the limit is %d", entries, maxItems)
		return false
	}
	for _, c := range n.Content {
		if !checkTree(c, depth+1, el, aliases) {
			ok = false
			if depth+1 > maxDepth {
				return false // one error for a deep tree, not one per branch
			}
		}
	}
	return ok
}
