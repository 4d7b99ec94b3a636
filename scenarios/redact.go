package scenarios

import (
	"net/url"
	"sort"
	"strings"
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
		for _, f := range []string{s, url.QueryEscape(s), url.PathEscape(s)} {
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
	}
}
