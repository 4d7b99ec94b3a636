package report

import (
	"net/url"
	"sort"
	"strings"

	"github.com/loadgate/loadgate/engine"
	"github.com/loadgate/loadgate/internal/safeurl"
)

// Redacted replaces every secret in redacted text.
const Redacted = "***"

// Redactor replaces secret values in free text, and cuts every URL in it to
// its origin (scheme://host:port; docs/reports.md, "What outputs may name").
// The zero value and a nil *Redactor have no secrets but still cut URLs. A
// Redactor is immutable and safe for concurrent use.
type Redactor struct {
	r *strings.Replacer
}

// NewRedactor returns a Redactor for secrets. Empty secrets are ignored.
// Besides each secret as given, it also replaces its URL-escaped forms,
// because error messages often quote the URL a secret was sent in.
func NewRedactor(secrets []string) *Redactor {
	seen := map[string]bool{}
	var forms []string
	for _, s := range secrets {
		for _, f := range []string{s, url.QueryEscape(s), url.PathEscape(s), engine.EscapeString(s, engine.EscapeURL)} {
			if f != "" && !seen[f] {
				seen[f] = true
				forms = append(forms, f)
			}
		}
	}
	if len(forms) == 0 {
		return &Redactor{}
	}
	// strings.Replacer tries the old strings in argument order at each
	// position; longest first so that a secret containing another one is
	// replaced whole, not leaving its tail in the text.
	sort.SliceStable(forms, func(i, j int) bool { return len(forms[i]) > len(forms[j]) })
	pairs := make([]string, 0, 2*len(forms))
	for _, f := range forms {
		pairs = append(pairs, f, Redacted)
	}
	return &Redactor{r: strings.NewReplacer(pairs...)}
}

// String returns s with every secret replaced by Redacted and every URL
// cut to its origin. Secrets go first: a secret in a URL's host is
// replaced too.
func (r *Redactor) String(s string) string {
	if r != nil && r.r != nil {
		s = r.r.Replace(s)
	}
	return safeurl.Scrub(s)
}

// strings applies String to each element of ss, returning a new slice that
// is never nil.
func (r *Redactor) strings(ss []string) []string {
	out := make([]string, 0, len(ss))
	for _, s := range ss {
		out = append(out, r.String(s))
	}
	return out
}
