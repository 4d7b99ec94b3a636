package scenarios

import (
	"net/url"
	"sort"
	"strings"

	"github.com/loadgate/loadgate/engine"
)

// redact replaces every secret in the messages collected so far with ***,
// so that an error quoting a substituted value (a URL with a token in it)
// does not print the token. Like report.Redactor, it also replaces the
// URL-escaped forms, longest first.
func (l *errorList) redact(secrets map[string]bool) {
	if len(secrets) == 0 || len(l.errs) == 0 {
		return
	}
	var forms []string
	seen := map[string]bool{}
	for s := range secrets {
		if strings.Contains(s, "${") {
			continue // a reference that failed to resolve: template text, not a value
		}
		for _, f := range []string{s, url.QueryEscape(s), url.PathEscape(s), engine.EscapeString(s, engine.EscapeURL)} {
			if f != "" && !seen[f] {
				seen[f] = true
				forms = append(forms, f)
			}
		}
	}
	sort.Slice(forms, func(i, j int) bool {
		if len(forms[i]) != len(forms[j]) {
			return len(forms[i]) > len(forms[j])
		}
		return forms[i] < forms[j]
	})
	pairs := make([]string, 0, 2*len(forms))
	for _, f := range forms {
		pairs = append(pairs, f, "***")
	}
	r := strings.NewReplacer(pairs...)
	for _, e := range l.errs {
		e.Msg = r.Replace(e.Msg)
		for s := range secrets {
			if !strings.Contains(s, "${") {
				e.Msg = redactFragments(e.Msg, s)
			}
		}
	}
}

// minFragment is the shortest piece of a secret that redactFragments
// replaces: parsers quote parts of a value ("invalid port \":tok-1234\""),
// and a long enough part of a secret is as good as the secret.
const minFragment = 8

// redactFragments replaces every run of at least minFragment bytes of msg
// that also occurs in secret.
func redactFragments(msg, secret string) string {
	if len(secret) < minFragment {
		return msg
	}
	var b strings.Builder
	for i := 0; i < len(msg); {
		n := 0
		for n < len(msg)-i && strings.Contains(secret, msg[i:i+n+1]) {
			n++
		}
		if n >= minFragment {
			b.WriteString("***")
			i += n
			continue
		}
		b.WriteByte(msg[i])
		i++
	}
	return b.String()
}
