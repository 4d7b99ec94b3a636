package wstarget

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

func start(t *testing.T) (*Server, string) {
	t.Helper()
	s := New()
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(func() { s.Close(); hs.Close() })
	return s, "ws" + strings.TrimPrefix(hs.URL, "http")
}

func dial(t *testing.T, url string, protos ...string) *websocket.Conn {
	t.Helper()
	d := websocket.Dialer{Subprotocols: protos}
	c, resp, err := d.Dial(url, nil)
	if err != nil {
		t.Fatalf("dial %s: %v (%v)", url, err, resp)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func readJSON(t *testing.T, c *websocket.Conn) map[string]any {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, b, err := c.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return m
}

func TestEcho(t *testing.T) {
	s, base := start(t)
	c := dial(t, base+"/ws/echo", "chat.v2", "chat.v1")
	if p := c.Subprotocol(); p != "chat.v2" {
		t.Fatalf("subprotocol %q, want the first offered", p)
	}
	for _, msg := range []string{"hello", `{"n":1}`} {
		if err := c.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		typ, b, err := c.ReadMessage()
		if err != nil || typ != websocket.TextMessage || string(b) != msg {
			t.Fatalf("echo of %q: %d %q %v", msg, typ, b, err)
		}
	}
	if err := c.WriteMessage(websocket.BinaryMessage, []byte{0, 1, 2}); err != nil {
		t.Fatal(err)
	}
	if typ, b, err := c.ReadMessage(); err != nil || typ != websocket.BinaryMessage || len(b) != 3 {
		t.Fatalf("binary echo: %d %v %v", typ, b, err)
	}
	if s.Sessions() != 1 || s.Messages() != 3 {
		t.Fatalf("sessions %d messages %d", s.Sessions(), s.Messages())
	}
}

func TestEchoDelay(t *testing.T) {
	_, base := start(t)
	c := dial(t, base+"/ws/echo?delay=500ms")
	// Two messages at once are answered each 500 ms after it came, not
	// one after the other (1 s).
	began := time.Now()
	for _, m := range []string{"a", "b"} {
		if err := c.WriteMessage(websocket.TextMessage, []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []string{"a", "b"} {
		_, b, err := c.ReadMessage()
		if err != nil || string(b) != want {
			t.Fatalf("got %q %v, want %q", b, err, want)
		}
	}
	if el := time.Since(began); el < 500*time.Millisecond || el > 950*time.Millisecond {
		t.Fatalf("answers after %v, want 500 ms (each delayed, not queued behind the other)", el)
	}
}

func TestFeed(t *testing.T) {
	_, base := start(t)
	c := dial(t, base+"/ws/feed?rate=100&symbol=ABC")
	w := readJSON(t, c)
	if w["type"] != "welcome" || w["symbol"] != "ABC" || !strings.HasPrefix(w["session"].(string), "s-") {
		t.Fatalf("welcome %v", w)
	}
	if q := readJSON(t, c); q["type"] != "quote" || q["seq"] != 1.0 || q["symbol"] != "ABC" {
		t.Fatalf("first quote %v", q)
	}
	if err := c.WriteMessage(websocket.TextMessage, []byte(`{"op":"subscribe","symbol":"XYZ"}`)); err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		m := readJSON(t, c)
		if m["type"] == "subscribed" {
			if m["symbol"] != "XYZ" {
				t.Fatalf("subscribed %v", m)
			}
			break
		}
		if i > 100 {
			t.Fatal("no subscribed answer")
		}
	}
	if q := readJSON(t, c); q["type"] != "quote" || q["symbol"] != "XYZ" {
		t.Fatalf("quote after subscribe %v", q)
	}
	if err := c.WriteMessage(websocket.TextMessage, []byte(`nope`)); err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		if m := readJSON(t, c); m["type"] == "error" {
			break
		}
		if i > 100 {
			t.Fatal("no error answer")
		}
	}
}

func TestServerCloses(t *testing.T) {
	_, base := start(t)
	c := dial(t, base+"/ws/echo?close=100ms&code=4000")
	began := time.Now()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, _, err := c.ReadMessage()
	var ce *websocket.CloseError
	if !asClose(err, &ce) || ce.Code != 4000 {
		t.Fatalf("read: %v, want a close frame 4000", err)
	}
	if el := time.Since(began); el < 80*time.Millisecond {
		t.Fatalf("closed after %v, want 100 ms", el)
	}
}

func asClose(err error, ce **websocket.CloseError) bool {
	c, ok := err.(*websocket.CloseError)
	*ce = c
	return ok
}

func TestRefusedAndBadParams(t *testing.T) {
	_, base := start(t)
	for url, want := range map[string]int{
		"/ws/echo?status=403":  403,
		"/ws/feed?status=503":  503,
		"/ws/echo?delay=forty": 400,
		"/ws/feed?rate=0":      400,
		"/ws/echo?code=99":     400,
	} {
		_, resp, err := websocket.DefaultDialer.Dial(base+url, nil)
		if err == nil || resp == nil || resp.StatusCode != want {
			t.Errorf("%s: %v %v, want status %d", url, err, resp, want)
		}
	}
}

// TestCloseEndsSessions: Close sends 1001 to every session and returns
// after they exited; later upgrades are refused.
func TestCloseEndsSessions(t *testing.T) {
	s := New()
	hs := httptest.NewServer(s.Handler())
	defer hs.Close()
	base := "ws" + strings.TrimPrefix(hs.URL, "http")
	c := dial(t, base+"/ws/feed?rate=1")
	readJSON(t, c) // welcome
	done := make(chan struct{})
	go func() { s.Close(); close(done) }()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		_, _, err := c.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if !asClose(err, &ce) || ce.Code != websocket.CloseGoingAway {
			t.Fatalf("read: %v, want 1001", err)
		}
		break
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return")
	}
	_, resp, err := websocket.DefaultDialer.Dial(base+"/ws/echo", nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("after Close: %v %v", err, resp)
	}
}
