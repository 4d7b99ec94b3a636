package demotarget

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestWebSocketRoutes: the target serves internal/wstarget's echo and feed,
// counted by route, and its shutdown ends the sessions still open (which
// http.Server.Shutdown alone would not wait for).
func TestWebSocketRoutes(t *testing.T) {
	s := New(Options{ShutdownGrace: 200 * time.Millisecond})
	ln, err := Listen("127.0.0.1:0", false)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	defer func() { cancel(); <-done }()
	base := "ws://" + ln.Addr().String()

	c, _, err := websocket.DefaultDialer.Dial(base+"/ws/echo", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.WriteMessage(websocket.TextMessage, []byte("ping?")); err != nil {
		t.Fatal(err)
	}
	if _, b, err := c.ReadMessage(); err != nil || string(b) != "ping?" {
		t.Fatalf("echo %q %v", b, err)
	}
	f, _, err := websocket.DefaultDialer.Dial(base+"/ws/feed", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, b, err := f.ReadMessage(); err != nil || !strings.Contains(string(b), `"welcome"`) {
		t.Fatalf("feed %q %v", b, err)
	}
	if got := s.RequestsByPath(); got["/ws/echo"] != 1 || got["/ws/feed"] != 1 {
		t.Fatalf("RequestsByPath %v", got)
	}
	cancel()
	select {
	case err := <-done:
		done <- err
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return with sessions open")
	}
	_ = c.SetReadDeadline(time.Now().Add(time.Second))
	if _, _, err := c.ReadMessage(); !websocket.IsCloseError(err, websocket.CloseGoingAway) {
		t.Fatalf("open session after shutdown: %v, want a close 1001", err)
	}
}
