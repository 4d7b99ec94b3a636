package loopback

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
)

func TestHostAndAddr(t *testing.T) {
	for _, tc := range []struct {
		host string
		want bool
	}{
		{"localhost", true}, {"127.0.0.1", true}, {"127.255.0.9", true}, {"::1", true},
		{"::ffff:127.0.0.1", true}, {"", false}, {"0.0.0.0", false}, {"::", false},
		{"10.0.0.1", false}, {"example.com", false}, {"localhost.", false}, {"128.0.0.1", false},
	} {
		if got := Host(tc.host); got != tc.want {
			t.Errorf("Host(%q) = %v", tc.host, got)
		}
		if got := Addr(net.JoinHostPort(tc.host, "80")); got != tc.want {
			t.Errorf("Addr(%q:80) = %v", tc.host, got)
		}
	}
	if Addr("127.0.0.1") || Addr(":8088") {
		t.Error("an address without a port, or with an empty host, is loopback")
	}
}

func TestResolves(t *testing.T) {
	ctx := context.Background()
	for host, want := range map[string]bool{"127.0.0.1": true, "::1": true, "10.1.2.3": false, "": false} {
		if got, err := Resolves(ctx, net.DefaultResolver, host); err != nil || got != want {
			t.Errorf("Resolves(%q) = %v, %v", host, got, err)
		}
	}
	// localhost comes from /etc/hosts, which every test machine has.
	if got, err := Resolves(ctx, &net.Resolver{PreferGo: true}, "localhost"); err != nil || !got {
		t.Errorf("Resolves(localhost) = %v, %v", got, err)
	}
}

func TestConn(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		if c, err := ln.Accept(); err == nil {
			c.Close()
		}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if !Conn(c) {
		t.Fatal("a loopback connection is not loopback")
	}
	if IP(netip.MustParseAddr("192.0.2.1")) {
		t.Fatal("TEST-NET-1 is loopback")
	}
}

func TestListen(t *testing.T) {
	errRemote := errors.New("x: refusing to listen on a non-loopback address")
	if _, err := Listen("0.0.0.0:0", "127.0.0.1:0", false, errRemote, "x"); !errors.Is(err, errRemote) || err.Error() != errRemote.Error()+`: "0.0.0.0:0"` {
		t.Errorf("non-loopback: %v", err)
	}
	if _, err := Listen("", "0.0.0.0:0", false, errRemote, "x"); !errors.Is(err, errRemote) {
		t.Errorf("non-loopback default: %v", err)
	}
	if _, err := Listen("127.0.0.1:bad", "", false, errRemote, "x"); err == nil || !strings.HasPrefix(err.Error(), "x: listen tcp") {
		t.Errorf("bad port: %v", err)
	}
	ln, err := Listen("", "127.0.0.1:0", false, errRemote, "x")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
}
