package httpc

import (
	"compress/gzip"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// deadlineConn counts the deadlines set on it.
type deadlineConn struct {
	net.Conn
	sets int
	last time.Time
}

func (c *deadlineConn) SetDeadline(t time.Time) error {
	c.sets++
	c.last = t
	return nil
}

func (c *deadlineConn) SetReadDeadline(time.Time) error { return nil }

// TestSetDeadlineReuses: a connection keeps its armed deadline while the
// new one is at most timeout/128 earlier, and re-arms otherwise.
func TestSetDeadlineReuses(t *testing.T) {
	base := time.Unix(1700000000, 0)
	timeout := 128 * time.Millisecond // slop: 1 ms
	dc := &deadlineConn{}
	tc := &trackedConn{Conn: dc}
	for _, step := range []struct {
		name string
		at   time.Duration // the request's deadline, from base
		arms bool
	}{
		{"first request arms at deadline + slop", 0, true},
		{"0.5 ms later: the armed one is 0.5 ms late, kept", 500 * time.Microsecond, false},
		{"1 ms later: exactly the slop, kept", time.Millisecond, false},
		{"1.1 ms later: it would end too early, re-armed", 1100 * time.Microsecond, true},
		{"a shorter timeout: the armed one is too late, re-armed", -10 * time.Millisecond, true},
	} {
		before := dc.sets
		d := base.Add(step.at)
		if err := setDeadline(tc, tc, d, timeout); err != nil {
			t.Fatal(err)
		}
		if armed := dc.sets > before; armed != step.arms {
			t.Errorf("%s: armed %v", step.name, armed)
		}
		if step.arms && !dc.last.Equal(d.Add(time.Millisecond)) {
			t.Errorf("%s: armed %v, want the deadline + 1ms", step.name, dc.last.Sub(base))
		}
	}
	tc.SetReadDeadline(time.Time{}) // someone else set a deadline
	before := dc.sets
	setDeadline(tc, tc, base.Add(-10*time.Millisecond), timeout)
	if dc.sets == before {
		t.Error("a deadline set by someone else was taken for the armed one")
	}
}

// TestJar: cookies go back to their host (and a Domain's subdomains),
// never elsewhere; Max-Age=-1 removes one; Reset empties the jar.
func TestJar(t *testing.T) {
	var j Jar
	resp := &fasthttp.Response{}
	resp.Header.Set("Set-Cookie", "sid=1; Path=/")
	resp.Header.Add("Set-Cookie", "wide=w; Domain=.example.com")
	j.Store([]byte("api.example.com:8080"), resp)
	req := &fasthttp.Request{}
	if !j.Apply([]byte("api.example.com"), req) || string(req.Header.Cookie("sid")) != "1" || string(req.Header.Cookie("wide")) != "w" {
		t.Fatalf("same host: %s", req.Header.Peek("Cookie"))
	}
	req.Reset()
	if !j.Apply([]byte("cdn.example.com"), req) || req.Header.Cookie("sid") != nil || string(req.Header.Cookie("wide")) != "w" {
		t.Fatalf("other subdomain: %q", req.Header.Peek("Cookie"))
	}
	req.Reset()
	if j.Apply([]byte("evil.com"), req) {
		t.Fatal("cookies sent to another site")
	}
	resp.Reset()
	resp.Header.Set("Set-Cookie", "sid=; Max-Age=-1")
	j.Store([]byte("api.example.com"), resp)
	req.Reset()
	j.Apply([]byte("api.example.com"), req)
	if req.Header.Cookie("sid") != nil {
		t.Fatal("an expired cookie is still sent")
	}
	j.Reset()
	if j.Apply([]byte("api.example.com"), req) && j.n != 0 {
		t.Fatal("reset jar still has cookies")
	}
}

// TestDecodeBodyCapped: a gzip body read for a check is inflated up to the
// cap only (a bomb costs max_body, not its ratio).
func TestDecodeBodyCapped(t *testing.T) {
	var zb strings.Builder
	zw := gzip.NewWriter(&zb)
	zw.Write([]byte("ok " + strings.Repeat("0", 1<<20)))
	zw.Close()
	resp := &fasthttp.Response{}
	resp.Header.Set("Content-Encoding", "gzip")
	body, _ := DecodeBody(resp, []byte(zb.String()), nil, 4096)
	if len(body) != 4096 || !strings.HasPrefix(string(body), "ok 000") {
		t.Fatalf("inflated %d bytes: %.10q", len(body), body)
	}
	resp.Header.Del("Content-Encoding")
	if body, _ := DecodeBody(resp, []byte("plain"), nil, 4096); string(body) != "plain" {
		t.Fatalf("identity body %q", body)
	}
}

// TestHTTP2DoBody: the HTTP/2 client keeps the start of the body for
// checks and captures, as the HTTP/1.1 one does, and counts the rest.
func TestHTTP2DoBody(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor != 2 || r.Header.Get("X-Test") != "yes" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		w.Write([]byte("hello"))
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	cs := NewConns()
	t.Cleanup(cs.CloseAll)
	d, err := NewH2(srv.URL, false, Config{MaxConns: 4, TLS: &tls.Config{RootCAs: roots}, Conns: cs})
	if err != nil {
		t.Fatal(err)
	}
	bd := d.(BodyDoer)
	req, resp := &fasthttp.Request{}, &fasthttp.Response{}
	req.SetRequestURI(srv.URL + "/")
	req.Header.Set("X-Test", "yes")
	for _, tc := range []struct {
		max  int
		want string
		cut  bool
	}{
		{0, "", false},       // nothing kept, all discarded
		{3, "hel", true},     // cut
		{5, "hello", false},  // exactly the body
		{64, "hello", false}, // room to spare
	} {
		body, cut, err := bd.DoBody(req, resp, time.Second, make([]byte, 0, 2), tc.max)
		if err != nil || string(body) != tc.want || cut != tc.cut || resp.StatusCode() != 200 {
			t.Fatalf("max %d: body %q cut %v err %v status %d", tc.max, body, cut, err, resp.StatusCode())
		}
	}
}
