package scenarios

import (
	"os"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// EnvLookup returns the lookup that Load expects: overrides (the -e KEY=VALUE
// flags) win over the process environment.
func EnvLookup(overrides map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		if v, ok := overrides[name]; ok {
			return v, true
		}
		return os.LookupEnv(name)
	}
}

// secretWords mark variables whose values must be redacted from every output.
var secretWords = []string{"PASSWORD", "SECRET", "TOKEN", "KEY", "AUTH", "CREDENTIAL"}

// minSecret is the shortest value that is redacted as a secret. Shorter
// values ("10", "true", "dev") occur all over any output, so replacing them
// would wreck it (invalid JSON on stdout) while hiding next to nothing.
const minSecret = 8

// isSecretValue reports whether v, the value of a secret-looking variable,
// is redacted: at least minSecret bytes, and not a number or a boolean
// (${AUTH_RATE:-10}, ${USE_AUTH:-true}, ${KEY_TIMEOUT_MS:-30000000}).
func isSecretValue(v string) bool {
	if len(v) < minSecret {
		return false
	}
	t := strings.TrimSpace(v)
	if _, err := strconv.ParseFloat(t, 64); err == nil {
		return false
	}
	switch strings.ToLower(t) {
	case "true", "false", "yes", "no", "on", "off":
		return false
	}
	return true
}

func isSecretName(name string) bool {
	up := strings.ToUpper(name)
	for _, w := range secretWords {
		if strings.Contains(up, w) {
			return true
		}
	}
	return false
}

// substituter resolves ${VAR} references in the scalar values of a tree.
type substituter struct {
	lookup  func(string) (string, bool)
	src     *source
	el      *errorList
	secrets map[string]bool
	// quoted are the quoted scalars that had a ${...}: they stay strings,
	// which surprises whoever wanted a number, so type errors say why.
	quoted map[*yaml.Node]bool
	// spans are where the values of ${...} landed in each substituted
	// scalar, for the URL of a step, which encodes them (decoder.urlVars).
	spans map[*yaml.Node][]varSpan
}

// varSpan is the value of one ${...} in a substituted scalar: bytes
// [from, to) of the new value. lead marks a ${...} that began the scalar.
type varSpan struct {
	from, to int
	lead     bool
	name     string
}

// walk substitutes in every scalar value below n. Mapping keys are left
// alone: they name things, and a key that changed with the environment would
// make the file mean different things in different places.
func (s *substituter) walk(n *yaml.Node) {
	switch n.Kind {
	case yaml.ScalarNode:
		s.scalar(n)
	case yaml.MappingNode:
		for i := 1; i < len(n.Content); i += 2 {
			s.walk(n.Content[i])
		}
	case yaml.SequenceNode, yaml.DocumentNode:
		for _, c := range n.Content {
			s.walk(c)
		}
	}
}

func (s *substituter) scalar(n *yaml.Node) {
	if !strings.Contains(n.Value, "$") {
		return
	}
	out, spans, errs := expandSpans(n.Value, s.lookup, s.secrets)
	for _, e := range errs {
		line, col := s.src.at(n, e.off)
		s.el.at(line, col, "%s", e.msg)
	}
	if len(errs) > 0 {
		s.el.bad[n] = true
		return
	}
	if len(spans) > 0 && s.spans != nil {
		s.spans[n] = spans
	}
	if out == n.Value {
		return
	}
	n.Value = out
	// An unquoted ${N} should behave as if the value had been written there:
	// "weight: ${W:-3}" is an integer. Quoting keeps it a string.
	if n.Style == 0 {
		n.Tag = plainTag(out)
	} else {
		s.quoted[n] = true
	}
}

// expandError is a problem at byte offset off of a scalar.
type expandError struct {
	off int
	msg string
}

// expand resolves ${NAME} and ${NAME:-default} in v; $$ is a literal $ and a
// $ before anything else stays as written (JSONPath such as $.token). As in
// the shell, the default applies when NAME is unset or empty. Values of
// secret-looking names are added to secrets (see isSecretValue).
func expand(v string, lookup func(string) (string, bool), secrets map[string]bool) (string, []expandError) {
	out, _, errs := expandSpans(v, lookup, secrets)
	return out, errs
}

// expandSpans is expand, and says where each value landed.
func expandSpans(v string, lookup func(string) (string, bool), secrets map[string]bool) (string, []varSpan, []expandError) {
	var b strings.Builder
	var errs []expandError
	var spans []varSpan
	for i := 0; i < len(v); {
		c := v[i]
		switch {
		case c == '$' && i+1 < len(v) && v[i+1] == '$':
			b.WriteByte('$')
			i += 2
		case c == '$' && i+1 < len(v) && v[i+1] == '{':
			end := strings.IndexByte(v[i+2:], '}')
			if end < 0 {
				errs = append(errs, expandError{i, "unterminated ${: want ${NAME} or ${NAME:-default} (write $$ for a literal $)"})
				return v, nil, errs
			}
			body := v[i+2 : i+2+end]
			val, msg := resolveVar(body, lookup, secrets)
			if msg != "" {
				errs = append(errs, expandError{i, msg})
			}
			name, _, _ := strings.Cut(body, ":-")
			spans = append(spans, varSpan{from: b.Len(), to: b.Len() + len(val), lead: i == 0, name: name})
			b.WriteString(val)
			i += end + 3
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String(), spans, errs
}

// resolveVar resolves the body of one ${...}; msg is non-empty on error.
func resolveVar(body string, lookup func(string) (string, bool), secrets map[string]bool) (val, msg string) {
	name, def, hasDef := strings.Cut(body, ":-")
	if !validVarName(name) {
		return "", "invalid variable ${" + body + "}: want ${NAME} or ${NAME:-default}, NAME of letters, digits and _"
	}
	val, ok := "", false
	if lookup != nil {
		val, ok = lookup(name)
	}
	switch {
	case hasDef && val == "":
		val = def
	case !ok:
		return "", "${" + name + "} is not set: pass -e " + name + "=VALUE, set it in the environment, or give a default with ${" + name + ":-VALUE}"
	}
	if isSecretName(name) && isSecretValue(val) {
		secrets[val] = true
	}
	return val, ""
}

func validVarName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9' {
			continue
		}
		return false
	}
	return true
}

// plainTag is the tag YAML would give an unquoted scalar v (core schema, as
// go.yaml.in/yaml/v3 resolves it for the types a scenario uses).
func plainTag(v string) string {
	switch v {
	case "", "~", "null":
		return "!!null"
	case "true", "false":
		return "!!bool"
	}
	if _, err := strconv.ParseInt(v, 10, 64); err == nil {
		return "!!int"
	}
	if strings.ContainsAny(v, "0123456789") && !strings.ContainsAny(v, "xXpP_") {
		if _, err := strconv.ParseFloat(v, 64); err == nil {
			return "!!float"
		}
	}
	return "!!str"
}
