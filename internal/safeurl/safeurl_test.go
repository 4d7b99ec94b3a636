package safeurl

import (
	"strings"
	"testing"
)

func TestOrigin(t *testing.T) {
	for raw, want := range map[string]string{
		"http://127.0.0.1:9090":                      "http://127.0.0.1:9090",
		"https://prom.example/api/prom?token=s3cr3t": "https://prom.example",
		"http://user:pw@h:1/p#frag":                  "http://h:1",
		"https://[::1]:8443/x":                       "https://[::1]:8443",
		"/relative/path":                             "",
		"not a url":                                  "",
		"http://h:bad port/":                         "",
	} {
		if got := Origin(raw); got != want {
			t.Errorf("Origin(%q) = %q, want %q", raw, got, want)
		}
	}
}

func TestScrub(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"no url here", "no url here"},
		{"prometheus http://127.0.0.1:9090: connection refused", "prometheus http://127.0.0.1:9090: connection refused"},
		{`Post "http://h:9/prefix/s3cr3t/api/v1/query": dial tcp`, `Post "http://h:9": dial tcp`},
		{"see https://u:pw@h/x?token=abc.", "see https://h."},
		{"(at http://h:1/a/b)", "(at http://h:1)"},
		{"two http://a/x and https://b:2/y?z", "two http://a and https://b:2"},
		{"json \"http://h/p?a=1\\u0026token=t\"", "json \"http://h\\u0026token=t\""},
		{"<a href='http://h/x'>", "<a href='http://h'>"},
		{"weird ://x and 1://y", "weird ://x and 1://y"},
		{"scheme+x.y-z://h/p", "scheme+x.y-z://h"},
		{"http://", "http://"},
		{"http://@/", "http://"},
		{"tab\thttp://h/p\tafter", "tab\thttp://h\tafter"},
	} {
		if got := Scrub(tc.in); got != tc.want {
			t.Errorf("Scrub(%q)\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
}

// FuzzScrub: no text panics Scrub; what it returns never holds a path,
// query, fragment or userinfo after a "://", it is idempotent, and text
// without "://" comes back unchanged.
func FuzzScrub(f *testing.F) {
	for _, s := range []string{
		"", "http://h", "https://u:p@h:1/p?q#f", `Get "http://h/x": EOF`, "a://b://c/d",
		"://", "x://@@@/", "http://h/p)", "ftp://[::1]:21/a b", "\x00http://\x7f/",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Scrub(s)
		if !strings.Contains(s, "://") && got != s {
			t.Fatalf("Scrub changed text without a URL: %q -> %q", s, got)
		}
		if again := Scrub(got); again != got {
			t.Fatalf("not idempotent: %q -> %q -> %q", s, got, again)
		}
		for rest := got; ; {
			i := strings.Index(rest, "://")
			if i < 0 {
				break
			}
			rest = rest[i+3:]
			u := rest[:urlEnd(rest)]
			if schemeStart(got[:len(got)-len(rest)-3]) >= 0 && strings.ContainsAny(strings.TrimRight(u, trailing), "/?#@") {
				// Only another "://" may follow (a URL inside the tail is
				// scrubbed in turn); nothing else of a path, query or
				// userinfo may stay.
				if !strings.HasPrefix(u[strings.IndexAny(u, "/?#@"):], "//") {
					t.Fatalf("Scrub(%q) = %q keeps %q", s, got, u)
				}
			}
		}
	})
}
