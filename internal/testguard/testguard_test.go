package testguard

import (
	"context"
	"errors"
	"net"
	"os"
	"slices"
	"testing"
	"time"
)

func TestMain(m *testing.M) { Main(m) }

// TestNonLoopbackUnreachable: inside the guard, only loopback exists.
func TestNonLoopbackUnreachable(t *testing.T) {
	if os.Getenv(envNetns) == "" {
		// Main failed the binary already if CI is set.
		t.Skipf("no loopback-only network namespace here (%v); the DNS guard alone applies", netnsErr)
	}
	c, err := net.DialTimeout("tcp", "192.0.2.1:80", time.Second) // TEST-NET-1
	if err == nil {
		c.Close()
		t.Fatal("dialed a non-loopback address")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("loopback is down: %v", err)
	}
	ln.Close()
}

// TestNoRealDNS: a lookup that would query DNS fails with the guard's own
// error, not with whatever an offline machine or an empty namespace gives
// (that would pass with the guard gone); and a name from /etc/hosts still
// resolves, as the guard promises (docs/reliability.md, "Test hygiene").
func TestNoRealDNS(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupHost(ctx, "example.com")
	if !isRealDNS(err) {
		t.Fatalf("lookup of example.com: %v %v, want testguard's ErrRealDNS (%q)", addrs, err, ErrRealDNS)
	}
	addrs, err = net.DefaultResolver.LookupHost(ctx, "localhost")
	if err != nil || !slices.Contains(addrs, "127.0.0.1") {
		t.Fatalf("lookup of localhost (/etc/hosts): %v %v, want 127.0.0.1 among the addresses", addrs, err)
	}
}

// isRealDNS reports whether err is the guard's: the Go resolver wraps the
// error of its Dial in a *net.DNSError by text, not as a wrapped error.
func isRealDNS(err error) bool {
	if errors.Is(err, ErrRealDNS) {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns) && dns.Err == ErrRealDNS.Error()
}
