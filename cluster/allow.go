package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/loadgate/loadgate/engine"
)

// An AllowList is an agent's list of the targets it may send load to
// (--allow-target). It is checked at dial time, on every address a name
// resolves to, so a redirect to another host, or a name that resolves
// somewhere else tomorrow (DNS rebinding), meets the same check as the
// plan's own URLs. An AllowList is immutable after ParseAllow and safe for
// concurrent use.
type AllowList struct {
	entries []allowEntry
	// loopbackOnly marks the default list (no entries given).
	loopbackOnly bool
	// resolve looks a name up; nil uses net.DefaultResolver. Tests inject
	// names here (the test guard forbids real DNS).
	resolve func(ctx context.Context, host string) ([]netip.Addr, error)
}

// allowEntry is one --allow-target: a prefix (a CIDR, or an IP literal as
// a single-address prefix) or a host name, with an optional port.
type allowEntry struct {
	prefix netip.Prefix // valid for CIDR and IP entries
	host   string       // lower case, no trailing dot; for name entries
	port   string       // "" for any port
	text   string       // as written, for String
}

// Timeouts of the allow-list's own network work.
const (
	resolveTimeout = 5 * time.Second
	dialTimeout    = 10 * time.Second // as the engine's own dialer
)

// loopbackPrefixes is the default allow-list.
var loopbackPrefixes = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

// ParseAllow parses --allow-target entries: a CIDR (10.0.0.0/8, ::1/128)
// or HOST[:PORT], where HOST is a name or an IP literal (IPv6 in brackets
// when a port follows: [::1]:8080). No entries means loopback only. Every
// bad entry is reported at once.
func ParseAllow(entries []string) (*AllowList, error) {
	a := &AllowList{}
	var errs []error
	for _, s := range entries {
		e, err := parseAllowEntry(s)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		a.entries = append(a.entries, e)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if len(a.entries) == 0 {
		a.loopbackOnly = true
		for _, p := range loopbackPrefixes {
			a.entries = append(a.entries, allowEntry{prefix: p, text: p.String()})
		}
	}
	return a, nil
}

func parseAllowEntry(s string) (allowEntry, error) {
	e := allowEntry{text: strings.TrimSpace(s)}
	in := e.text
	bad := func(why string) (allowEntry, error) {
		return allowEntry{}, fmt.Errorf("allow-target %q: %s", s, why)
	}
	switch {
	case in == "":
		return bad("empty; want a CIDR (10.0.0.0/8) or HOST[:PORT]")
	case strings.Contains(in, "://"):
		return bad("a URL; want HOST[:PORT] (api.example:443) or a CIDR")
	case strings.ContainsAny(in, " \t,"):
		return bad("one target per entry, without spaces")
	case strings.Contains(in, "/"):
		p, err := netip.ParsePrefix(in)
		if err != nil {
			return bad("not a CIDR (10.0.0.0/8, fd00::/8); a CIDR takes no port")
		}
		if p.Addr().Zone() != "" {
			return bad("a CIDR with an IPv6 zone")
		}
		e.prefix = p.Masked()
		return e, nil
	}
	host := in
	if ip, err := netip.ParseAddr(in); err == nil { // an IP literal, IPv6 without brackets included
		return ipEntry(e, ip, bad)
	}
	if strings.HasPrefix(in, "[") && strings.HasSuffix(in, "]") { // [::1] without a port
		host = in[1 : len(in)-1]
	} else if strings.Contains(in, ":") {
		h, port, err := net.SplitHostPort(in)
		if err != nil {
			return bad("want HOST:PORT, with an IPv6 address in brackets ([::1]:8080)")
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || port != strconv.Itoa(n) {
			return bad(fmt.Sprintf("port %q: want 1 to 65535", port))
		}
		host, e.port = h, port
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return ipEntry(e, ip, bad)
	}
	if strings.HasPrefix(host, "[") || strings.Contains(host, ":") {
		return bad("not an IP address")
	}
	if strings.Contains(host, "*") {
		return bad("wildcards are not supported: list each host, or give a CIDR")
	}
	name, ok := normalHost(host)
	if !ok {
		return bad(fmt.Sprintf("%q is not a host name or IP address", host))
	}
	e.host = name
	return e, nil
}

// ipEntry makes an IP literal a single-address prefix: it names that
// address explicitly, so even a link-local one is allowed by it.
func ipEntry(e allowEntry, ip netip.Addr, bad func(string) (allowEntry, error)) (allowEntry, error) {
	if ip.Zone() != "" {
		return bad("an IPv6 zone is not supported; give a CIDR")
	}
	ip = ip.Unmap()
	e.prefix = netip.PrefixFrom(ip, ip.BitLen())
	return e, nil
}

// normalHost lower-cases a host name, drops a trailing dot and checks its
// characters (letters, digits, '-', '_' and '.' between labels).
func normalHost(h string) (string, bool) {
	h = strings.ToLower(strings.TrimSuffix(h, "."))
	if h == "" || len(h) > 253 {
		return "", false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 {
			return "", false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return "", false
			}
		}
	}
	return h, true
}

// String lists the entries as given, for the agent's startup and audit
// lines.
func (a *AllowList) String() string {
	parts := make([]string, len(a.entries))
	for i, e := range a.entries {
		parts[i] = e.text
	}
	s := strings.Join(parts, ", ")
	if a.loopbackOnly {
		s += " (loopback only, the default)"
	}
	return s
}

// allows decides one resolved address ip of host:port. A prefix that
// contains ip allows it; a name entry equal to host allows it too. Link-
// local addresses (169.254.0.0/16, fe80::/10: cloud metadata) and the
// unspecified ones (0.0.0.0, ::) are the exception: only a prefix inside
// those ranges allows them (169.254.169.254, 169.254.0.0/16; not
// 0.0.0.0/0), and never a name, which may resolve anywhere (DNS
// rebinding).
func (a *AllowList) allows(host, port string, ip netip.Addr) bool {
	ip = ip.Unmap().WithZone("")
	special := specialRange(ip)
	name, _ := normalHost(host)
	for _, e := range a.entries {
		if e.port != "" && e.port != port {
			continue
		}
		if e.prefix.IsValid() && e.prefix.Contains(ip) && (!special.IsValid() || special.Overlaps(e.prefix) && e.prefix.Bits() >= special.Bits()) {
			return true
		}
		if e.host != "" && name != "" && e.host == name && !special.IsValid() {
			return true
		}
	}
	return false
}

var (
	linkLocal4 = netip.MustParsePrefix("169.254.0.0/16")
	linkLocal6 = netip.MustParsePrefix("fe80::/10")
)

// specialRange returns the link-local or unspecified range that ip is in,
// or the zero Prefix.
func specialRange(ip netip.Addr) netip.Prefix {
	switch {
	case linkLocal4.Contains(ip):
		return linkLocal4
	case linkLocal6.Contains(ip):
		return linkLocal6
	case ip.IsUnspecified():
		return netip.PrefixFrom(ip, ip.BitLen())
	}
	return netip.Prefix{}
}

// DeniedError is a target the allow-list refused. It wraps
// engine.ErrDenied, so the engine counts such requests as KindDenied.
type DeniedError struct {
	Host, Port string
	IPs        []netip.Addr // what the host resolved to
}

func (e *DeniedError) Error() string {
	addrs := make([]string, len(e.IPs))
	special := false
	for i, ip := range e.IPs {
		addrs[i] = ip.String()
		special = special || specialRange(ip.Unmap().WithZone("")).IsValid()
	}
	target := net.JoinHostPort(e.Host, e.Port)
	msg := target
	if len(addrs) != 1 || addrs[0] != e.Host {
		msg += " (" + strings.Join(addrs, ", ") + ")"
	}
	msg += " is not on the agent's allow-list (--allow-target)"
	if special {
		msg += "; a link-local (cloud metadata) or unspecified address needs an entry of its own, such as 169.254.169.254 or 169.254.0.0/16"
	}
	return msg
}

// Unwrap makes errors.Is(err, engine.ErrDenied) hold.
func (e *DeniedError) Unwrap() error { return engine.ErrDenied }

// Check resolves hostport and reports whether at least one of its
// addresses is allowed: a *DeniedError if none is, a resolver error if the
// name does not resolve. The plan's targets are checked with it before a
// run; Dial checks again at every connection.
func (a *AllowList) Check(ctx context.Context, hostport string) error {
	_, err := a.allowed(ctx, hostport)
	return err
}

// allowed returns the allowed addresses of hostport, or why there are none.
func (a *AllowList) allowed(ctx context.Context, hostport string) (ips []netip.AddrPort, err error) {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return nil, fmt.Errorf("dist: allow-list: %w", err)
	}
	pn, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("dist: allow-list: %s: bad port %q", hostport, port)
	}
	all, err := a.lookup(ctx, host)
	if err != nil {
		return nil, err
	}
	for _, ip := range all {
		if a.allows(host, port, ip) {
			ips = append(ips, netip.AddrPortFrom(ip, uint16(pn)))
		}
	}
	if len(ips) == 0 {
		return nil, &DeniedError{Host: host, Port: port, IPs: all}
	}
	return ips, nil
}

// lookup returns host's addresses: the address itself for an IP literal.
func (a *AllowList) lookup(ctx context.Context, host string) ([]netip.Addr, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{ip}, nil
	}
	ctx, cancel := context.WithTimeout(ctx, resolveTimeout)
	defer cancel()
	var ips []netip.Addr
	var err error
	if a.resolve != nil {
		ips, err = a.resolve(ctx, host)
	} else {
		ips, err = net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	}
	if err != nil {
		return nil, err
	}
	if len(ips) == 0 {
		return nil, &net.DNSError{Err: "no addresses", Name: host, IsNotFound: true}
	}
	return ips, nil
}

// Dial is an engine.DialFunc: it resolves addr's host once, keeps the
// addresses the list allows and connects to them in turn, by address, so
// that what is connected to is what was checked. When none is allowed it
// returns a *DeniedError (which wraps engine.ErrDenied).
func (a *AllowList) Dial(addr string) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), dialTimeout)
	defer cancel()
	ips, err := a.allowed(ctx, addr)
	if err != nil {
		return nil, err
	}
	d := &net.Dialer{KeepAlive: 30 * time.Second}
	for _, ip := range ips {
		var c net.Conn
		if c, err = d.DialContext(ctx, "tcp", ip.String()); err == nil {
			return c, nil
		}
	}
	return nil, err
}
