package wsc

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/loadgate/loadgate/internal/wstarget"
)

func server(t *testing.T, tlsOn bool) (string, *httptest.Server) {
	t.Helper()
	s := wstarget.New()
	var hs *httptest.Server
	if tlsOn {
		hs = httptest.NewTLSServer(s.Handler())
	} else {
		hs = httptest.NewServer(s.Handler())
	}
	t.Cleanup(func() { s.Close(); hs.Close() })
	return "ws" + strings.TrimPrefix(hs.URL, "http"), hs
}

func dial(t *testing.T, d *Dialer, url string) *Session {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := d.Dial(ctx, url, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	t.Cleanup(s.Abort)
	return s
}

func next(t *testing.T, s *Session) Msg {
	t.Helper()
	select {
	case m, ok := <-s.Messages():
		if !ok {
			t.Fatal("session ended")
		}
		return m
	case <-time.After(5 * time.Second):
		t.Fatal("no message in 5 s")
	}
	return Msg{}
}

func TestEchoAndNormalClose(t *testing.T) {
	base, _ := server(t, false)
	var dials atomic.Int32
	d := NewDialer(Config{Dial: func(ctx context.Context, addr string) (net.Conn, error) {
		dials.Add(1)
		return (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	}, Subprotocols: []string{"echo.v1"}})
	s := dial(t, d, base+"/ws/echo")
	if dials.Load() != 1 || s.Subprotocol() != "echo.v1" {
		t.Fatalf("dials %d subprotocol %q", dials.Load(), s.Subprotocol())
	}
	deadline := time.Now().Add(time.Second)
	if err := s.Send([]byte("hi"), false, deadline); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(deadline); err != nil {
		t.Fatal(err)
	}
	m := next(t, s)
	if string(m.Data) != "hi" || m.Binary || m.Cut || m.Err != nil || m.At.IsZero() {
		t.Fatalf("echo %+v", m)
	}
	if err := s.Send([]byte{1, 2}, true, deadline); err != nil {
		t.Fatal(err)
	}
	if m := next(t, s); !m.Binary || !bytes.Equal(m.Data, []byte{1, 2}) {
		t.Fatalf("binary echo %+v", m)
	}
	// Two messages still unread when closing are discarded and counted.
	_ = s.Send([]byte("a"), false, deadline)
	_ = s.Send([]byte("b"), false, deadline)
	time.Sleep(50 * time.Millisecond)
	if n := s.Close(time.Second); n != 2 {
		t.Fatalf("Close discarded %d, want 2", n)
	}
	s.Close(time.Second) // idempotent
	s.Abort()
}

func TestHandshakeRefused(t *testing.T) {
	base, _ := server(t, false)
	d := NewDialer(Config{})
	_, err := d.Dial(context.Background(), base+"/ws/echo?status=403", nil)
	var he *HandshakeError
	if !errors.As(err, &he) || he.Status != 403 || !strings.Contains(err.Error(), "403 Forbidden") {
		t.Fatalf("err %v", err)
	}
	_, err = d.Dial(context.Background(), strings.Replace(base, "ws://", "ws://", 1)+"/nothing", nil)
	if !errors.As(err, &he) || he.Status != 404 {
		t.Fatalf("err %v", err)
	}
}

// TestSubprotocolNotOffered: a server that picks a subprotocol the client
// did not offer fails the handshake (RFC 6455 §4.1).
func TestSubprotocolNotOffered(t *testing.T) {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Header.Set("Sec-WebSocket-Protocol", "other")
		wstarget.New().Echo().ServeHTTP(w, r)
	}))
	defer hs.Close()
	_, err := NewDialer(Config{Subprotocols: []string{"mine"}}).Dial(context.Background(), "ws"+strings.TrimPrefix(hs.URL, "http"), nil)
	var he *HandshakeError
	if !errors.As(err, &he) || he.Status != 101 || !strings.Contains(he.Reason, `"other"`) {
		t.Fatalf("err %v", err)
	}
}

func TestPeerCloses(t *testing.T) {
	base, _ := server(t, false)
	s := dial(t, NewDialer(Config{}), base+"/ws/echo?close=50ms&code=4001")
	m := next(t, s)
	code, ok := Closed(m.Err)
	if !ok || code != 4001 {
		t.Fatalf("last message %+v, want the peer's close 4001", m)
	}
	if _, open := <-s.Messages(); open {
		t.Fatal("Messages not closed after the end")
	}
	s.Close(time.Second) // after the peer's close: no wait, no panic
}

func TestMaxMessage(t *testing.T) {
	base, _ := server(t, false)
	s := dial(t, NewDialer(Config{MaxMessage: 10}), base+"/ws/echo")
	big := bytes.Repeat([]byte("x"), 100_000)
	if err := s.Send(big, false, time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := s.Send([]byte("short"), false, time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if m := next(t, s); len(m.Data) != 10 || !m.Cut {
		t.Fatalf("big: %d bytes, cut %v", len(m.Data), m.Cut)
	}
	if m := next(t, s); string(m.Data) != "short" || m.Cut {
		t.Fatalf("after big: %q cut %v", m.Data, m.Cut)
	}
}

// TestBuffersTakeTurns: a fast feed read while the owner holds each
// message: no message is overwritten before the next receive.
func TestBuffersTakeTurns(t *testing.T) {
	base, _ := server(t, false)
	s := dial(t, NewDialer(Config{}), base+"/ws/feed?rate=1000")
	next(t, s) // welcome
	prev := 0
	for range 200 {
		m := next(t, s)
		var q struct{ Seq int }
		before := string(m.Data)
		time.Sleep(100 * time.Microsecond) // the reader reads the next one meanwhile
		if string(m.Data) != before {
			t.Fatalf("message changed under its owner: %q then %q", before, m.Data)
		}
		if err := json.Unmarshal(m.Data, &q); err != nil || q.Seq != prev+1 {
			t.Fatalf("%q: seq %d after %d (%v)", m.Data, q.Seq, prev, err)
		}
		prev = q.Seq
	}
}

func TestTLS(t *testing.T) {
	base, hs := server(t, true)
	pool := hs.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	s := dial(t, NewDialer(Config{TLS: &tls.Config{RootCAs: pool}}), base+"/ws/echo")
	_ = s.Send([]byte("over tls"), false, time.Now().Add(time.Second))
	if m := next(t, s); string(m.Data) != "over tls" {
		t.Fatalf("%+v", m)
	}
	// Without the test CA the handshake fails on the certificate.
	_, err := NewDialer(Config{}).Dial(context.Background(), base+"/ws/echo", nil)
	var ce *tls.CertificateVerificationError
	if !errors.As(err, &ce) {
		t.Fatalf("err %v (%T), want a certificate error", err, err)
	}
}

// TestAbortEndsReader: Abort while the reader waits for a message ends it
// (testguard checks no goroutine is left).
func TestAbortEndsReader(t *testing.T) {
	base, _ := server(t, false)
	s := dial(t, NewDialer(Config{}), base+"/ws/echo")
	s.Abort()
	for range s.Messages() {
	}
}

// TestHandshakeDeadline: a server that accepts the connection and never
// answers the upgrade fails the dial at the context's deadline.
func TestHandshakeDeadline(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan struct{})
	defer close(done)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			defer c.Close()
			<-done
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	began := time.Now()
	_, err = NewDialer(Config{}).Dial(ctx, "ws://"+ln.Addr().String()+"/", nil)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("err %v, want a timeout", err)
	}
	if el := time.Since(began); el > time.Second {
		t.Fatalf("took %v", el)
	}
}

// TestCloseHungPeer: a peer that never answers the close frame is waited
// for up to the given wait, and not at all with 0.
func TestCloseHungPeer(t *testing.T) {
	release := make(chan struct{})
	up := websocket.Upgrader{}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		<-release // never reads: no close frame comes back
	}))
	defer hs.Close()
	defer close(release)
	url := "ws" + strings.TrimPrefix(hs.URL, "http")
	for _, c := range []struct{ wait, min, max time.Duration }{
		{0, 0, 300 * time.Millisecond},
		{300 * time.Millisecond, 290 * time.Millisecond, 2 * time.Second},
	} {
		s := dial(t, NewDialer(Config{}), url)
		began := time.Now()
		s.Close(c.wait)
		if el := time.Since(began); el < c.min || el > c.max {
			t.Errorf("Close(%v) took %v, want %v..%v", c.wait, el, c.min, c.max)
		}
	}
}
