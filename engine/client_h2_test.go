package engine

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// protoServer is a loopback server that counts the requests it saw per
// HTTP major version and checks the headers the engine sent.
type protoServer struct {
	*httptest.Server
	h1, h2 atomic.Int64
	bad    atomic.Pointer[string]
}

func newProtoServer(t *testing.T, mode string) *protoServer {
	t.Helper()
	ps := &protoServer{}
	ps.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor == 2 {
			ps.h2.Add(1)
		} else {
			ps.h1.Add(1)
		}
		if got := r.Header.Get("X-Test"); got != "yes" {
			msg := "X-Test header = " + got
			ps.bad.Store(&msg)
		}
		if r.Method == http.MethodPost {
			var b strings.Builder
			buf := make([]byte, 64)
			for {
				n, err := r.Body.Read(buf)
				b.Write(buf[:n])
				if err != nil {
					break
				}
			}
			if b.String() != `{"a":1}` {
				msg := "body = " + b.String()
				ps.bad.Store(&msg)
			}
		}
		w.Write([]byte("hello"))
	}))
	switch mode {
	case "h2": // TLS, ALPN offers h2 and http/1.1
		ps.EnableHTTP2 = true
		ps.StartTLS()
	case "h1tls": // TLS, HTTP/1.1 only
		ps.StartTLS()
	case "h2c": // cleartext, HTTP/1.1 and h2c prior knowledge
		var p http.Protocols
		p.SetHTTP1(true)
		p.SetUnencryptedHTTP2(true)
		ps.Config.Protocols = &p
		ps.Start()
	default:
		ps.Start()
	}
	t.Cleanup(ps.Close)
	return ps
}

// rootsOf trusts the server's own certificate, if it has one.
func rootsOf(s *httptest.Server) *tls.Config {
	pool := x509.NewCertPool()
	if c := s.Certificate(); c != nil {
		pool.AddCert(c)
	}
	return &tls.Config{RootCAs: pool}
}

// postPlan is a two-step flow (GET, then POST with a body) at 20/s.
func postPlan(url string, v HTTPVersion) *Plan {
	p := constPlan(url+"/get", 20, 500*time.Millisecond)
	h := []Header{{Key: "X-Test", Value: "yes"}}
	p.Flows[0].Steps[0].Headers = h
	p.Flows[0].Steps = append(p.Flows[0].Steps, Step{
		Name: "post", Method: "POST", URL: url + "/post", Headers: h, Body: []byte(`{"a":1}`), Timeout: 2 * time.Second,
	})
	p.HTTPVersion = v
	return p
}

// TestHTTP2 runs the same plan over HTTP/1.1, h2 (TLS, ALPN) and h2c, and
// checks that the server saw the version asked for, that nothing failed,
// and that the measurements have the same shape whatever the version.
func TestHTTP2(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mode   string // server
		v      HTTPVersion
		wantH2 bool
	}{
		{"http1.1 over TLS", "h2", HTTP1, false}, // fasthttp never offers h2
		{"h2 over TLS", "h2", HTTP2, true},
		{"h2c prior knowledge", "h2c", H2C, true},
		{"http1.1 cleartext", "h2c", HTTP1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ps := newProtoServer(t, tc.mode)
			e := &Engine{TLS: rootsOf(ps.Server)}
			p := postPlan(ps.URL, tc.v)
			if err := e.Preflight(context.Background(), p, time.Second); err != nil {
				t.Fatalf("preflight: %v", err)
			}
			res, err := e.Run(context.Background(), p)
			if err != nil {
				t.Fatal(err)
			}
			if msg := ps.bad.Load(); msg != nil {
				t.Fatalf("server: %s", *msg)
			}
			tot := res.Final.Total
			if tc.wantH2 && (ps.h2.Load() != 20 || ps.h1.Load() != 0) || !tc.wantH2 && ps.h1.Load() != 20 {
				t.Fatalf("server saw h1 %d, h2 %d requests", ps.h1.Load(), ps.h2.Load())
			}
			for si, st := range tot.Steps[0] {
				if st.Requests != 10 || st.Failed != 0 || st.Status[2] != 10 {
					t.Fatalf("step %d: requests %d failed %d 2xx %d; samples %q", si, st.Requests, st.Failed, st.Status[2], res.Final.ErrorSamples)
				}
				if st.Duration == nil || st.ServiceTime == nil || st.Duration.Count() != 10 || st.ServiceTime.Count() != 10 {
					t.Fatalf("step %d: latency histograms missing", si)
				}
			}
			if tot.Flows[0].Iterations != 10 || tot.BytesSent == 0 || tot.BytesReceived == 0 {
				t.Fatalf("iterations %d, bytes sent %d received %d", tot.Flows[0].Iterations, tot.BytesSent, tot.BytesReceived)
			}
		})
	}
}

// TestHTTP2NotNegotiated: a TLS server without h2 fails preflight and, past
// it, every request with class protocol; nothing silently runs HTTP/1.1.
func TestHTTP2NotNegotiated(t *testing.T) {
	ps := newProtoServer(t, "h1tls")
	e := &Engine{TLS: rootsOf(ps.Server)}
	p := constPlan(ps.URL, 20, 250*time.Millisecond)
	p.HTTPVersion = HTTP2
	err := e.Preflight(context.Background(), p, time.Second)
	var pe *preflightError
	if !errors.As(err, &pe) || pe.Failures[0].Kind != KindProtocol || !strings.Contains(err.Error(), "ALPN") {
		t.Fatalf("preflight: %v, want class protocol naming ALPN", err)
	}
	res, err := e.Run(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	st := res.Final.Total.Steps[0][0]
	if st.Requests != 5 || st.Errors[KindProtocol] != 5 || ps.h1.Load() != 0 {
		t.Fatalf("requests %d protocol %d, server saw %d", st.Requests, st.Errors[KindProtocol], ps.h1.Load())
	}
}

// TestHTTP2Errors: over HTTP/2 the error classes are those of HTTP/1.1.
func TestHTTP2Errors(t *testing.T) {
	t.Run("unknown authority is tls", func(t *testing.T) {
		ps := newProtoServer(t, "h2")
		p := constPlan(ps.URL, 20, 250*time.Millisecond)
		p.HTTPVersion = HTTP2
		res, err := (&Engine{}).Run(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		st := res.Final.Total.Steps[0][0]
		if st.Errors[KindTLS] != 5 || !strings.Contains(res.Final.ErrorSamples[KindTLS], "unknown authority") {
			t.Fatalf("tls %d, sample %q", st.Errors[KindTLS], res.Final.ErrorSamples[KindTLS])
		}
	})
	t.Run("deadline is timeout", func(t *testing.T) {
		release := make(chan struct{})
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}))
		var pr http.Protocols
		pr.SetUnencryptedHTTP2(true)
		srv.Config.Protocols = &pr
		srv.Start()
		defer srv.Close()
		defer close(release)
		p := constPlan(srv.URL, 20, 250*time.Millisecond)
		p.HTTPVersion = H2C
		p.Flows[0].Steps[0].Timeout = 100 * time.Millisecond
		res, err := (&Engine{}).Run(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		st := res.Final.Total.Steps[0][0]
		if st.Errors[KindTimeout] != 5 || st.Duration.Min() < 100*time.Millisecond {
			t.Fatalf("timeout %d, min latency %v; samples %q", st.Errors[KindTimeout], st.Duration.Min(), res.Final.ErrorSamples)
		}
	})
	t.Run("status is 4xx", func(t *testing.T) {
		srv := httptest.NewUnstartedServer(http.NotFoundHandler())
		srv.EnableHTTP2 = true
		srv.StartTLS()
		defer srv.Close()
		p := constPlan(srv.URL, 20, 250*time.Millisecond)
		p.HTTPVersion = HTTP2
		res, err := (&Engine{TLS: rootsOf(srv)}).Run(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		st := res.Final.Total.Steps[0][0]
		if st.Errors[KindStatus4xx] != 5 || st.Status[4] != 5 {
			t.Fatalf("4xx %d, status class 4 %d", st.Errors[KindStatus4xx], st.Status[4])
		}
	})
}

// TestHTTP2SchemeMismatch: h2 needs https and h2c needs http.
func TestHTTP2SchemeMismatch(t *testing.T) {
	p := constPlan("http://127.0.0.1:1/", 1, time.Second)
	p.HTTPVersion = HTTP2
	if _, err := (&Engine{}).Run(context.Background(), p); err == nil || !strings.Contains(err.Error(), "needs https") {
		t.Fatalf("err = %v", err)
	}
	p = constPlan("https://127.0.0.1:1/", 1, time.Second)
	p.HTTPVersion = H2C
	if _, err := (&Engine{}).Run(context.Background(), p); err == nil || !strings.Contains(err.Error(), "needs http://") {
		t.Fatalf("err = %v", err)
	}
}
