package promexport

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func serve(t *testing.T) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return Serve(ln, testCollector(testSnapshot()))
}

// Close returns as soon as the final snapshot has been scraped.
func TestServerCloseAfterScrape(t *testing.T) {
	s := serve(t)
	go func() {
		time.Sleep(50 * time.Millisecond)
		resp, err := http.Get("http://" + s.Addr() + "/metrics")
		if err != nil {
			t.Error(err)
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(b), "loadgate_run_finished 1") || !strings.Contains(string(b), "process_cpu_seconds_total") {
			t.Errorf("scrape:\n%s", b)
		}
	}()
	start := time.Now()
	if err := s.Close(5, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Close took %v after the scrape", d)
	}
	if _, err := http.Get("http://" + s.Addr() + "/metrics"); err == nil {
		t.Fatal("still serving after Close")
	}
}

// Without a scrape, Close gives up after the linger.
func TestServerCloseLinger(t *testing.T) {
	s := serve(t)
	start := time.Now()
	if err := s.Close(5, 200*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 200*time.Millisecond || d > 3*time.Second {
		t.Fatalf("Close took %v, want the 200ms linger", d)
	}
	// Nothing to wait for: no snapshot was ever published.
	s = serve(t)
	start = time.Now()
	if err := s.Close(0, time.Minute); err != nil || time.Since(start) > 3*time.Second {
		t.Fatalf("Close(0): %v after %v", err, time.Since(start))
	}
}
