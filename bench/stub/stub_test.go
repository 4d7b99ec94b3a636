package stub

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// TestKeepAlive sends two requests on one raw connection: both get 200 and Body.
func TestKeepAlive(t *testing.T) {
	ln, stop := StartInmemory()
	defer func() {
		if err := stop(); err != nil {
			t.Error(err)
		}
	}()
	c, err := ln.Dial()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	for i := range 2 {
		if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: stub\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(b) != Body || resp.Close {
			t.Fatalf("request %d: status %d, body %q, close %v", i, resp.StatusCode, b, resp.Close)
		}
	}
}

// TestServeFastTCP serves on a loopback TCP listener and returns nil when it closes.
func TestServeFastTCP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- ServeFast(ln) }()
	resp, err := http.Get("http://" + ln.Addr().String() + "/anything")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(string(b), "Hello") {
		t.Fatalf("status %d, body %q", resp.StatusCode, b)
	}
	ln.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("ServeFast = %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ServeFast did not return after the listener closed")
	}
}

// BenchmarkStubRoundTrip is the floor for any generator: a bare fasthttp client doing
// keep-alive GETs to the stub over an in-memory listener, no scheduling, no recording.
func BenchmarkStubRoundTrip(b *testing.B) {
	ln, stop := StartInmemory()
	defer stop()
	hc := &fasthttp.HostClient{
		Addr:     "stub",
		Dial:     func(string) (net.Conn, error) { return ln.Dial() },
		MaxConns: 64,
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
		req.SetRequestURI("http://stub/")
		for pb.Next() {
			if err := hc.DoTimeout(req, resp, 5*time.Second); err != nil {
				b.Error(err)
				return
			}
			if resp.StatusCode() != 200 {
				b.Errorf("status %d", resp.StatusCode())
				return
			}
		}
	})
}
