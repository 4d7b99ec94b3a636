package cluster

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/loadgate/loadgate/engine"
)

func TestParseAllow(t *testing.T) {
	for _, tc := range []struct {
		name    string
		entries []string
		want    string // String() of a good list, or a substring of the error
		bad     bool
	}{
		{name: "no entries: loopback only", want: "127.0.0.0/8, ::1/128 (loopback only, the default)"},
		{name: "CIDRs", entries: []string{"10.0.0.0/8", "fd00::/8", "::1/128"}, want: "10.0.0.0/8, fd00::/8, ::1/128"},
		{name: "names, ports, IPv6 in brackets", entries: []string{"api.example", "api.example:443", "[::1]:8080", "::1", "[::1]", "127.0.0.2", "Example.COM."},
			want: "api.example, api.example:443, [::1]:8080, ::1, [::1], 127.0.0.2, Example.COM."},
		{name: "spaces around an entry are dropped", entries: []string{" 10.0.0.0/8 "}, want: "10.0.0.0/8"},

		{name: "empty", entries: []string{""}, bad: true, want: "empty"},
		{name: "a URL", entries: []string{"http://api.example"}, bad: true, want: "a URL"},
		{name: "CIDR with a port", entries: []string{"10.0.0.0/8:80"}, bad: true, want: "a CIDR takes no port"},
		{name: "CIDR out of range", entries: []string{"10.0.0.0/33"}, bad: true, want: "not a CIDR"},
		{name: "port 0", entries: []string{"api.example:0"}, bad: true, want: `port "0": want 1 to 65535`},
		{name: "port too large", entries: []string{"api.example:70000"}, bad: true, want: "want 1 to 65535"},
		{name: "named port", entries: []string{"api.example:https"}, bad: true, want: `port "https"`},
		{name: "empty port", entries: []string{"10.0.0.1:"}, bad: true, want: `port ""`},
		{name: "wildcard", entries: []string{"*.example.com"}, bad: true, want: "wildcards are not supported"},
		{name: "space inside", entries: []string{"api example"}, bad: true, want: "without spaces"},
		{name: "two in one", entries: []string{"a.example,b.example"}, bad: true, want: "one target per entry"},
		{name: "empty label", entries: []string{"a..example"}, bad: true, want: "not a host name"},
		{name: "unclosed bracket", entries: []string{"[::1:8080"}, bad: true, want: "want HOST:PORT"},
		{name: "IPv6 zone", entries: []string{"fe80::1%eth0"}, bad: true, want: "zone"},
		{name: "every bad entry reported", entries: []string{"*.a", "ok.example", "b:0"}, bad: true, want: `allow-target "*.a": wildcards are not supported: list each host, or give a CIDR` + "\n" + `allow-target "b:0"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := ParseAllow(tc.entries)
			if tc.bad {
				if err == nil {
					t.Fatalf("ParseAllow(%q) = %v, want an error", tc.entries, a)
				}
				if !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("error %q, want it to contain %q", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := a.String(); got != tc.want {
				t.Fatalf("String() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestAllowDecision(t *testing.T) {
	for _, tc := range []struct {
		name       string
		entries    []string
		host, port string
		ip         string // what host resolved to
		want       bool
	}{
		{"default: loopback v4", nil, "127.0.0.1", "80", "127.0.0.1", true},
		{"default: all of 127/8", nil, "127.5.6.7", "9", "127.5.6.7", true},
		{"default: ::1", nil, "::1", "80", "::1", true},
		{"default: a name that resolves to loopback", nil, "localhost", "80", "127.0.0.1", true},
		{"default: not a private address", nil, "10.0.0.1", "80", "10.0.0.1", false},
		{"default: not a name elsewhere", nil, "api.example", "443", "203.0.113.5", false},
		{"default: not 0.0.0.0 (which reaches local services)", nil, "0.0.0.0", "80", "0.0.0.0", false},
		{"default: not ::", nil, "::", "80", "::", false},

		{"CIDR contains", []string{"10.0.0.0/8"}, "10.1.2.3", "80", "10.1.2.3", true},
		{"CIDR does not contain", []string{"10.0.0.0/8"}, "11.0.0.1", "80", "11.0.0.1", false},
		{"CIDR and an IPv4-mapped IPv6 address", []string{"10.0.0.0/8"}, "::ffff:10.1.2.3", "80", "::ffff:10.1.2.3", true},
		{"CIDR allows a name resolving into it", []string{"10.0.0.0/8"}, "api.example", "443", "10.9.9.9", true},
		{"a list replaces the default", []string{"10.0.0.0/8"}, "127.0.0.1", "80", "127.0.0.1", false},

		{"name, any port", []string{"api.example"}, "api.example", "8443", "203.0.113.5", true},
		{"name, case and trailing dot", []string{"api.example"}, "API.Example.", "443", "203.0.113.5", true},
		{"another name at the same address", []string{"api.example"}, "other.example", "443", "203.0.113.5", false},
		{"the address of an allowed name", []string{"api.example"}, "203.0.113.5", "443", "203.0.113.5", false},
		{"name with its port", []string{"api.example:443"}, "api.example", "443", "203.0.113.5", true},
		{"name, another port", []string{"api.example:443"}, "api.example", "80", "203.0.113.5", false},
		{"IP with its port", []string{"127.0.0.2:8080"}, "127.0.0.2", "8080", "127.0.0.2", true},
		{"IP, another port", []string{"127.0.0.2:8080"}, "127.0.0.2", "8081", "127.0.0.2", false},

		{"IPv6 with port", []string{"[2001:db8::1]:8080"}, "2001:db8::1", "8080", "2001:db8::1", true},
		{"IPv6, another port", []string{"[2001:db8::1]:8080"}, "2001:db8::1", "8081", "2001:db8::1", false},
		{"IPv6 CIDR", []string{"2001:db8::/32"}, "2001:db8::5", "80", "2001:db8::5", true},
		{"IPv6 CIDR, outside", []string{"2001:db8::/32"}, "2001:db9::5", "80", "2001:db9::5", false},

		{"link-local denied by default", nil, "169.254.169.254", "80", "169.254.169.254", false},
		{"link-local denied when only its name is listed", []string{"metadata.example"}, "metadata.example", "80", "169.254.169.254", false},
		{"link-local denied by a CIDR around everything", []string{"0.0.0.0/0"}, "169.254.169.254", "80", "169.254.169.254", false},
		{"link-local allowed by its CIDR", []string{"169.254.0.0/16"}, "169.254.169.254", "80", "169.254.169.254", true},
		{"link-local allowed by its address", []string{"169.254.169.254"}, "169.254.169.254", "80", "169.254.169.254", true},
		{"link-local allowed by a CIDR for a name", []string{"169.254.169.254/32"}, "metadata.example", "80", "169.254.169.254", true},
		{"IPv6 link-local denied by ::/0", []string{"::/0"}, "fe80::1", "80", "fe80::1", false},
		{"IPv6 link-local allowed by fe80::/10", []string{"fe80::/10"}, "fe80::1", "80", "fe80::1", true},
		{"0.0.0.0 denied for a listed name", []string{"api.example"}, "api.example", "80", "0.0.0.0", false},
		{"0.0.0.0 denied by 0.0.0.0/8", []string{"0.0.0.0/8"}, "0.0.0.0", "80", "0.0.0.0", false},
		{"0.0.0.0 allowed when listed", []string{"0.0.0.0"}, "0.0.0.0", "80", "0.0.0.0", true},
		{"everything else by 0.0.0.0/0", []string{"0.0.0.0/0"}, "198.51.100.7", "80", "198.51.100.7", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := ParseAllow(tc.entries)
			if err != nil {
				t.Fatal(err)
			}
			if got := a.allows(tc.host, tc.port, netip.MustParseAddr(tc.ip)); got != tc.want {
				t.Fatalf("%v allows %s:%s at %s = %v, want %v", tc.entries, tc.host, tc.port, tc.ip, got, tc.want)
			}
		})
	}
}

// listenOn starts a TCP listener on ip that counts the connections it
// accepts and closes them.
func listenOn(t *testing.T, ip string) (addr string, accepted *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	accepted = &atomic.Int64{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return ln.Addr().String(), accepted
}

// fakeDNS makes a resolver from a table of names; other names do not exist.
func fakeDNS(table map[string][]string) func(context.Context, string) ([]netip.Addr, error) {
	return func(_ context.Context, host string) ([]netip.Addr, error) {
		var out []netip.Addr
		for _, s := range table[strings.ToLower(host)] {
			out = append(out, netip.MustParseAddr(s))
		}
		if out == nil {
			return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
		}
		return out, nil
	}
}

// TestAllowDial dials real loopback listeners on 127.0.0.2 and 127.0.0.3:
// allowed addresses connect, others are refused before any packet (the
// listener accepts nothing), and a name connects to the address that was
// checked.
func TestAllowDial(t *testing.T) {
	addr2, acc2 := listenOn(t, "127.0.0.2")
	addr3, acc3 := listenOn(t, "127.0.0.3")
	_, port3, _ := net.SplitHostPort(addr3)
	a, err := ParseAllow([]string{"127.0.0.2", "svc.test:" + port3})
	if err != nil {
		t.Fatal(err)
	}
	a.resolve = fakeDNS(map[string][]string{
		"svc.test":     {"169.254.169.254", "127.0.0.3"}, // the metadata address first: skipped
		"rebind.test":  {"127.0.0.3"},
		"metadata.svc": {"169.254.169.254"},
	})
	dial := func(addr string) error {
		c, err := a.Dial(addr)
		if err == nil {
			c.Close()
		}
		return err
	}
	if err := dial(addr2); err != nil {
		t.Fatalf("dial %s: %v", addr2, err)
	}
	if err := dial(net.JoinHostPort("svc.test", port3)); err != nil {
		t.Fatalf("dial svc.test: %v", err)
	}
	for _, tc := range []struct {
		addr string
		want string // in the error
	}{
		{addr3, addr3 + " is not on the agent's allow-list (--allow-target)"},
		{net.JoinHostPort("rebind.test", port3), "rebind.test:" + port3 + " (127.0.0.3) is not on the agent's allow-list"},
		{"svc.test:1", "svc.test:1 (169.254.169.254, 127.0.0.3) is not on"},
		{"metadata.svc:80", "link-local (cloud metadata)"},
	} {
		err := dial(tc.addr)
		var d *DeniedError
		if !errors.Is(err, engine.ErrDenied) || !errors.As(err, &d) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("dial %s: %v, want a *DeniedError (engine.ErrDenied) saying %q", tc.addr, err, tc.want)
		}
	}
	var dnsErr *net.DNSError
	if err := dial("nowhere.test:80"); !errors.As(err, &dnsErr) {
		t.Errorf("dial nowhere.test: %v, want a DNS error", err)
	}
	time.Sleep(50 * time.Millisecond) // let the listeners count
	if acc2.Load() != 1 || acc3.Load() != 1 {
		t.Fatalf("accepted %d on 127.0.0.2 (want 1) and %d on 127.0.0.3 (want 1: svc.test only)", acc2.Load(), acc3.Load())
	}
	if err := a.Check(context.Background(), addr3); !errors.Is(err, engine.ErrDenied) {
		t.Fatalf("Check(%s) = %v, want denied", addr3, err)
	}
	if err := a.Check(context.Background(), addr2); err != nil {
		t.Fatalf("Check(%s) = %v", addr2, err)
	}
}

// TestAllowDialDefault: the default list dials any loopback address and
// the localhost name (from /etc/hosts, not DNS).
func TestAllowDialDefault(t *testing.T) {
	addr, acc := listenOn(t, "127.0.0.3")
	a, err := ParseAllow(nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := a.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	_, port, _ := net.SplitHostPort(addr)
	if err := a.Check(context.Background(), net.JoinHostPort("localhost", port)); err != nil {
		t.Fatalf("localhost: %v", err)
	}
	time.Sleep(50 * time.Millisecond)
	if acc.Load() != 1 {
		t.Fatalf("accepted %d, want 1", acc.Load())
	}
}

// hitCounter is a loopback HTTP server that counts requests and
// connections.
type hitCounter struct {
	*httptest.Server
	hits, conns atomic.Int64
	last        atomic.Int64 // UnixNano of the last request
}

func newHitCounter(t *testing.T, ip string, h http.HandlerFunc) *hitCounter {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	c := &hitCounter{}
	c.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.hits.Add(1)
		c.last.Store(time.Now().UnixNano())
		if h != nil {
			h(w, r)
		}
	}))
	c.Server.Listener.Close()
	c.Server.Listener = ln
	c.Server.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			c.conns.Add(1)
		}
	}
	c.Start()
	t.Cleanup(c.Close)
	return c
}

func (c *hitCounter) hostport() string { return strings.TrimPrefix(c.URL, "http://") }

// smallPlan is an open-model plan of rate arrivals per second for d, one
// GET of url per iteration.
func smallPlan(url string, rate float64, d time.Duration) *engine.Plan {
	return &engine.Plan{
		Name: "small",
		Load: engine.Load{StartRate: rate, Stages: []engine.Stage{{Duration: d, Target: rate}}},
		Flows: []engine.Flow{{Name: "f", Weight: 1, Steps: []engine.Step{
			{Name: "s", Method: "GET", URL: url, Timeout: 2 * time.Second},
		}}},
		Grace: time.Second,
	}
}

// TestAllowRedirectDenied: a step to an allowed target that redirects to a
// target not on the list fails as denied, at dial time, and the second
// target receives nothing.
func TestAllowRedirectDenied(t *testing.T) {
	b := newHitCounter(t, "127.0.0.3", nil)
	a := newHitCounter(t, "127.0.0.2", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, b.URL+"/elsewhere", http.StatusFound)
	})
	allow, err := ParseAllow([]string{a.hostport()})
	if err != nil {
		t.Fatal(err)
	}
	p := smallPlan(a.URL+"/start", 20, time.Second)
	p.Flows[0].Steps[0].MaxRedirects = 5
	res, err := (&engine.Engine{Dial: allow.Dial}).Run(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	all := res.Final.Total.All
	if all.Requests != 20 || all.Errors[engine.KindDenied] != 20 || all.Failed != 20 {
		t.Fatalf("%d requests, %d failed, %d denied (errors %v); want 20 denied", all.Requests, all.Failed, all.Errors[engine.KindDenied], all.Errors)
	}
	if msg := res.Final.ErrorSamples[engine.KindDenied]; !strings.Contains(msg, b.hostport()+" is not on the agent's allow-list") {
		t.Fatalf("error sample %q does not name the denied target", msg)
	}
	if a.hits.Load() != 20 || b.hits.Load() != 0 || b.conns.Load() != 0 {
		t.Fatalf("A saw %d requests (want 20), B %d requests and %d connections (want 0)", a.hits.Load(), b.hits.Load(), b.conns.Load())
	}
}
