package cluster

import (
	"net/netip"
	"strings"
	"testing"
)

// FuzzParseAllow: any entry parses or fails without a panic; a list that
// parses reparses from its own text to the same list, and deciding any
// address against it does not panic.
func FuzzParseAllow(f *testing.F) {
	for _, s := range []string{"10.0.0.0/8", "::1/128", "api.example:443", "[::1]:8080", "::1", "[::1]",
		"127.0.0.2", "Example.COM.", "*.x", "http://x", "10.0.0.0/8:80", "a..b", "fe80::1%eth0", "[fe80::1%eth0]:80",
		"169.254.169.254", "0.0.0.0/0", "host:65536", "::ffff:10.0.0.1", ""} {
		f.Add(s, "10.1.2.3")
	}
	f.Fuzz(func(t *testing.T, entry, ip string) {
		a, err := ParseAllow([]string{entry})
		if err != nil {
			if !strings.HasPrefix(err.Error(), "allow-target ") {
				t.Fatalf("error %q lacks the flag's name", err)
			}
			return
		}
		b, err := ParseAllow([]string{a.entries[0].text})
		if err != nil || b.String() != a.String() {
			t.Fatalf("%q parsed to %q, which reparses to %v, %v", entry, a.String(), b, err)
		}
		if addr, err := netip.ParseAddr(ip); err == nil {
			a.allows("api.example", "443", addr)
			a.allows(ip, "80", addr)
		}
	})
}
