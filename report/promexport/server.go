package promexport

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// DefaultLinger is how long Close waits at most for a scrape of the final
// values: two scrape intervals of a Prometheus scraping every 2.5 s or
// faster.
const DefaultLinger = 5 * time.Second

// Server serves /metrics from a private registry holding a Collector and
// the process collector (loadgate's own CPU and memory).
type Server struct {
	col  *Collector
	srv  *http.Server
	addr string
	done chan error
}

// Serve starts serving c on ln; Close stops it. It closes ln.
func Serve(ln net.Listener, c *Collector) *Server {
	reg := prometheus.NewRegistry()
	reg.MustRegister(c, collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	s := &Server{
		col:  c,
		addr: ln.Addr().String(),
		srv:  &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second},
		done: make(chan error, 1),
	}
	go func() { s.done <- s.srv.Serve(ln) }()
	return s
}

// Addr is the address served, host:port.
func (s *Server) Addr() string { return s.addr }

// Close waits until a scrape has exported the snapshot with sequence number
// latest (the run's last; 0 or less waits for nothing), or linger has
// passed, then shuts the server down and returns once it has stopped.
func (s *Server) Close(latest int, linger time.Duration) error {
	if latest > 0 && s.col.Served() < latest {
		t := time.NewTimer(linger)
	wait:
		for s.col.Served() < latest {
			select {
			case <-s.col.notify:
			case <-t.C:
				break wait
			}
		}
		t.Stop()
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		_ = s.srv.Close()
	}
	if err := <-s.done; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
