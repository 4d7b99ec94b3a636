package faults

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"testing"
)

// TestLoopbackOnly: the fault target refuses to listen anywhere but loopback.
func TestLoopbackOnly(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "192.0.2.1:0", "[::]:0"} {
		if ln, err := Listen(addr); err == nil {
			ln.Close()
			t.Errorf("Listen(%q) succeeded", addr)
		}
	}
}

// TestPaths checks a few paths with net/http, an independent client.
func TestPaths(t *testing.T) {
	srv, err := New()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	get := func(path string) *http.Response {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	if r := get("/status/418"); r.StatusCode != 418 {
		t.Fatalf("status %d", r.StatusCode)
	}
	if n, _ := io.Copy(io.Discard, get("/huge-chunked/100000").Body); n != 100000 {
		t.Fatalf("chunked body %d bytes", n)
	}
	r := get("/gzip-bomb")
	r.Body.Close() // net/http inflates transparently only when it asked for gzip itself
	b := bomb()
	if len(b) > GzipBombSize/500 {
		t.Fatalf("bomb is %d bytes for %d inflated: ratio too low", len(b), GzipBombSize)
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := io.Copy(io.Discard, zr); n != GzipBombSize {
		t.Fatalf("bomb inflates to %d", n)
	}
}
