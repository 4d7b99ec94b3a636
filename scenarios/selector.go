package scenarios

import (
	"strings"

	"github.com/loadgate/loadgate/engine"
	"github.com/loadgate/loadgate/engine/slo"
)

// parseSelector splits metric{k:v,k:v} into the metric and its tags. It is
// a stand-in for slo.ParseSelector, with the same error type, until that
// exists. Spaces around names and values are allowed, as k6 allows them.
func parseSelector(s string) (string, []engine.Tag, error) {
	open := strings.IndexByte(s, '{')
	name := s
	if open >= 0 {
		name = s[:open]
	}
	if off, ok := checkIdent(name); !ok {
		return "", nil, &slo.SyntaxError{Offset: off, Msg: "want a metric name such as http_req_duration"}
	}
	metric := strings.TrimSpace(name)
	if open < 0 {
		return metric, nil, nil
	}
	close := strings.IndexByte(s, '}')
	switch {
	case close < 0:
		return "", nil, &slo.SyntaxError{Offset: len(s), Msg: "want } to close the tag list"}
	case strings.TrimSpace(s[close+1:]) != "":
		return "", nil, &slo.SyntaxError{Offset: close + 1, Msg: "unexpected text after }"}
	case strings.TrimSpace(s[open+1:close]) == "":
		return "", nil, &slo.SyntaxError{Offset: open + 1, Msg: "empty tag list: want key:value, e.g. {step:search}"}
	}
	var tags []engine.Tag
	seen := map[string]bool{}
	start := open + 1
	for _, part := range strings.Split(s[open+1:close], ",") {
		tag, err := parseTag(part, start)
		if err != nil {
			return "", nil, err
		}
		if seen[tag.Key] {
			return "", nil, &slo.SyntaxError{Offset: start, Msg: "tag " + tag.Key + " given twice"}
		}
		seen[tag.Key] = true
		tags = append(tags, tag)
		start += len(part) + 1
	}
	return metric, tags, nil
}

// parseTag parses key:value found at offset start of the selector.
func parseTag(part string, start int) (engine.Tag, error) {
	k, v, ok := strings.Cut(part, ":")
	if !ok {
		return engine.Tag{}, &slo.SyntaxError{Offset: start + leading(part), Msg: "want key:value, e.g. step:search"}
	}
	if off, ok := checkIdent(k); !ok {
		return engine.Tag{}, &slo.SyntaxError{Offset: start + off, Msg: "want a tag name such as flow, step, method or status"}
	}
	val := strings.TrimSpace(v)
	if val == "" || strings.ContainsAny(val, "{:") {
		return engine.Tag{}, &slo.SyntaxError{Offset: start + len(k) + 1 + leading(v), Msg: "want a tag value after " + strings.TrimSpace(k) + ":"}
	}
	return engine.Tag{Key: strings.TrimSpace(k), Value: val}, nil
}

// checkIdent checks that s, spaces trimmed, is a lower-case identifier; on
// failure it returns the offset of the first bad byte.
func checkIdent(s string) (int, bool) {
	lead := leading(s)
	id := strings.TrimSpace(s)
	if id == "" {
		return lead, false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if c == '_' || c >= 'a' && c <= 'z' || i > 0 && c >= '0' && c <= '9' {
			continue
		}
		return lead + i, false
	}
	return 0, true
}

// leading counts the leading spaces of s.
func leading(s string) int {
	return len(s) - len(strings.TrimLeft(s, " \t"))
}
