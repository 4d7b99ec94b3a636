// Package loopback is the one definition of "on loopback" that loadgate's
// safety rules use: plaintext between a coordinator and its agents, an agent
// without mutual TLS, the /metrics endpoint, certificates for one host and
// the demo target all allow only loopback unless told otherwise
// (docs/distributed.md). Loopback is 127.0.0.0/8, ::1 (IPv4-mapped forms
// included) and the name "localhost"; an empty host ("all interfaces") is
// not.
package loopback

import (
	"context"
	"fmt"
	"net"
	"net/netip"
)

// Host reports whether host, a name or an IP literal, is loopback without
// resolving anything: "localhost" or a loopback IP.
func Host(host string) bool {
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && IP(ip)
}

// Addr reports whether the host of addr ("host:port") is loopback (Host).
func Addr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	return err == nil && Host(host)
}

// IP reports whether ip is a loopback address.
func IP(ip netip.Addr) bool { return ip.Unmap().IsLoopback() }

// Conn reports whether the peer of c is on loopback.
func Conn(c net.Conn) bool {
	ta, ok := c.RemoteAddr().(*net.TCPAddr)
	return ok && IP(ta.AddrPort().Addr())
}

// Resolves reports whether every address host resolves to is loopback (an
// IP literal is taken as is); "" is not loopback.
func Resolves(ctx context.Context, r *net.Resolver, host string) (bool, error) {
	if host == "" {
		return false, nil
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return IP(ip), nil
	}
	ips, err := r.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return false, err
	}
	for _, ip := range ips {
		if !IP(ip) {
			return false, nil
		}
	}
	return len(ips) > 0, nil
}

// Listen opens a TCP listener on addr (def when empty) for one of
// loadgate's own servers (the demo target, the gRPC target). Unless
// allowRemote is true, addr must be loopback (Addr); otherwise it returns
// an error wrapping notLoopback. An error from net.Listen is wrapped after
// prefix ("target: listen tcp ...").
func Listen(addr, def string, allowRemote bool, notLoopback error, prefix string) (net.Listener, error) {
	if addr == "" {
		addr = def
	}
	if !allowRemote && !Addr(addr) {
		return nil, fmt.Errorf("%w: %q", notLoopback, addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", prefix, err)
	}
	return ln, nil
}
