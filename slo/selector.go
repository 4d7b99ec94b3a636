package slo

import (
	"strings"

	"github.com/loadgate/loadgate/engine"
)

// ParseSelector parses a threshold's key, "metric" or "metric{k:v,k:v}", as
// in "http_req_duration{step:checkout}". Whitespace around tokens is
// ignored; a tag value runs to the next "," or "}" and may contain ":"
// (k6's rule). It checks the syntax only: engine.Select resolves the metric
// and tags against a plan. Errors are *SyntaxError at the bad token.
func ParseSelector(s string) (metric string, tags []engine.Tag, err error) {
	p := scanner{s: s}
	p.space()
	start := p.i
	metric = p.ident()
	if metric == "" {
		return "", nil, p.errf(start, "unexpected %s: want a metric name, e.g. http_req_duration", p.token())
	}
	p.space()
	if p.eof() {
		return metric, nil, nil
	}
	if p.s[p.i] != '{' {
		return "", nil, p.errf(p.i, "unexpected %s: want { or the end after the metric name", p.token())
	}
	p.i++
	if tags, err = p.tags(); err != nil {
		return "", nil, err
	}
	p.space()
	if !p.eof() {
		return "", nil, p.errf(p.i, "unexpected %s: want the end after }", p.token())
	}
	return metric, tags, nil
}

// tags parses "k:v, k:v}" after the opening brace.
func (p *scanner) tags() ([]engine.Tag, error) {
	var tags []engine.Tag
	for {
		p.space()
		start := p.i
		key := p.ident()
		if key == "" {
			return nil, p.errf(start, "unexpected %s: want a tag key, e.g. step", p.token())
		}
		for _, t := range tags {
			if t.Key == key {
				return nil, p.errf(start, "duplicate tag %q", key)
			}
		}
		p.space()
		if p.eof() || p.s[p.i] != ':' {
			return nil, p.errf(p.i, "unexpected %s: want : after tag key %s", p.token(), key)
		}
		p.i++
		val, err := p.tagValue()
		if err != nil {
			return nil, err
		}
		tags = append(tags, engine.Tag{Key: key, Value: val})
		if p.eof() {
			return nil, p.errf(p.i, "unexpected end of text: want , or } after a tag")
		}
		p.i++ // tagValue stopped at ',' or '}'
		if p.s[p.i-1] == '}' {
			return tags, nil
		}
	}
}

// tagValue scans up to the next ',' or '}' and returns the text trimmed.
func (p *scanner) tagValue() (string, error) {
	p.space()
	start := p.i
	for p.i < len(p.s) && p.s[p.i] != ',' && p.s[p.i] != '}' {
		if p.s[p.i] == '{' {
			return "", p.errf(p.i, "unexpected \"{\" in a tag value: want , or }")
		}
		p.i++
	}
	v := strings.TrimRight(p.s[start:p.i], " \t\r\n")
	if v == "" {
		return "", p.errf(start, "unexpected %s: want a tag value after :", p.token())
	}
	return v, nil
}
