package testguard

import (
	"context"
	"net"
	"os"
	"testing"
	"time"
)

func TestMain(m *testing.M) { Main(m) }

// TestNonLoopbackUnreachable: inside the guard, only loopback exists.
func TestNonLoopbackUnreachable(t *testing.T) {
	if os.Getenv(envNetns) == "" {
		t.Skip("no network namespace here; the DNS guard alone applies")
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

func TestNoRealDNS(t *testing.T) {
	_, err := net.DefaultResolver.LookupHost(context.Background(), "example.com")
	if err == nil {
		t.Fatalf("real DNS answered: %v", err)
	}
}
