// Package safeurl keeps URLs out of what loadgate prints and writes. The rule
// (docs/reports.md, "What outputs may name"): a server is named by its
// origin, scheme://host:port, and never by the rest of its URL: the path,
// the query, the fragment and the userinfo are where tokens travel (a
// presigned path, ?api_key=, user:password@). Reports, stdout and stderr of
// a run follow it; the errors of an invalid scenario quote the file's text,
// credentials excepted.
//
// Origin is for messages that name a server on purpose; Scrub is the net
// under every free text of a run (report reasons, samples, warnings, and
// stderr), for messages that a library built with a whole URL in them.
package safeurl

import (
	"net/url"
	"strings"
)

// Origin returns the scheme://host[:port] of raw, or "" when raw is not an
// absolute URL with a host.
func Origin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// Scrub replaces every URL in text (scheme://...) with its origin: the
// userinfo is dropped, and so are the path, query and fragment, up to the
// first character that cannot be part of a URL in a message (a space, a
// quote, <, >, a backslash or a backtick). Punctuation that ends the URL
// (".", ",", ";", ":", ")" and the like) stays, so that prose still reads.
// Text without "://" is returned as it is.
func Scrub(text string) string {
	if !strings.Contains(text, "://") {
		return text
	}
	var b strings.Builder
	b.Grow(len(text))
	rest := text
	for {
		i := strings.Index(rest, "://")
		if i < 0 {
			b.WriteString(rest)
			return b.String()
		}
		s := schemeStart(rest[:i])
		if s < 0 {
			// Not a URL ("x ://", "://" alone): keep it and go on after it.
			b.WriteString(rest[:i+3])
			rest = rest[i+3:]
			continue
		}
		b.WriteString(rest[:i+3])
		after := rest[i+3:]
		end := urlEnd(after)
		b.WriteString(origin(after[:end]))
		rest = after[end:]
	}
}

// schemeStart returns where the scheme that ends at the end of s begins: a
// letter followed by letters, digits, "+", "-" or "."; -1 when s does not
// end with one.
func schemeStart(s string) int {
	j := len(s)
	for j > 0 && isSchemeByte(s[j-1]) {
		j--
	}
	for j < len(s) && !isLetter(s[j]) {
		j++ // a scheme starts with a letter: "1http" is "http"
	}
	if j == len(s) {
		return -1
	}
	return j
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

func isSchemeByte(c byte) bool {
	return isLetter(c) || '0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'
}

// urlEnd is the length of the URL that starts s (after "://").
func urlEnd(s string) int {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c <= ' ', c == '"', c == '\'', c == '<', c == '>', c == '\\', c == '`', c == 0x7f:
			return i
		}
	}
	return len(s)
}

// trailing is punctuation that ends a URL in prose rather than belonging
// to it; it is kept after the origin.
const trailing = ".,;:!?)]}"

// origin returns the host[:port] of u (the part after "://"), followed by
// the punctuation u ends with when it had a path, query or fragment.
func origin(u string) string {
	auth := u
	if i := strings.IndexAny(u, "/?#"); i >= 0 {
		auth = u[:i]
	}
	tail := ""
	if len(auth) < len(u) {
		// Cut to host[:port]; keep trailing punctuation of the whole URL.
		t := len(u)
		for t > len(auth) && strings.IndexByte(trailing, u[t-1]) >= 0 {
			t--
		}
		tail = u[t:]
	}
	if i := strings.LastIndexByte(auth, '@'); i >= 0 {
		auth = auth[i+1:]
	}
	return auth + tail
}
