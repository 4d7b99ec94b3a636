package demotarget

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/loadgate/loadgate/internal/loopback"
	"github.com/loadgate/loadgate/internal/wstarget"
)

// DefaultAddr is where `loadgate target` listens unless told otherwise.
const DefaultAddr = "127.0.0.1:8088"

// ErrNotLoopback is returned by Listen for an address that is not on a loopback
// interface when remote access was not allowed. Bind to 127.0.0.1 or ::1, or pass
// allowRemote=true if exposing the demo target on the network is really intended.
var ErrNotLoopback = errors.New("target: refusing to listen on a non-loopback address")

// Options configures a Server. The zero value is a usable configuration: every zero
// field takes the default named in its comment.
type Options struct {
	// Seed seeds the random generator used for delays, failures and tokens.
	Seed int64
	// FailRate is the probability in [0,1] that GET /flaky answers 500.
	// Zero means the default, 0.01; a negative value means never fail.
	FailRate float64
	// SearchMedian is the median delay of GET /search (log-normal). Default 20ms.
	SearchMedian time.Duration
	// SlowMedian is the median delay of GET /slow (log-normal, long tail). Default 200ms.
	SlowMedian time.Duration
	// CheckoutMedian is the median delay of POST /checkout. Default 5ms.
	CheckoutMedian time.Duration
	// LatencyScale multiplies every drawn delay (1.2: every endpoint 20%
	// slower), a knob for regression experiments. Default 1.
	LatencyScale float64
	// MaxDelay caps GET /delay/{duration} and every drawn delay. Default 10s.
	MaxDelay time.Duration
	// CatalogSize is the number of items, with ids 1..CatalogSize. Default 1000.
	CatalogSize int
	// ShutdownGrace is how long Serve waits for in-flight requests after its
	// context is done before cutting them off. Default 2s.
	ShutdownGrace time.Duration
}

// withDefaults returns o with every zero field replaced by its default.
func (o Options) withDefaults() Options {
	if o.FailRate == 0 {
		o.FailRate = 0.01
	}
	if o.FailRate < 0 {
		o.FailRate = 0
	}
	if o.LatencyScale <= 0 {
		o.LatencyScale = 1
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.SearchMedian, 20*time.Millisecond)
	def(&o.SlowMedian, 200*time.Millisecond)
	def(&o.CheckoutMedian, 5*time.Millisecond)
	def(&o.MaxDelay, 10*time.Second)
	def(&o.ShutdownGrace, 2*time.Second)
	if o.CatalogSize <= 0 {
		o.CatalogSize = 1000
	}
	return o
}

// Log-normal shape parameters (sigma of the underlying normal). 0.5 puts the p99 of
// /search near 3.2× its median; 0.9 gives /slow a p99 near 8× its median.
const (
	searchSigma   = 0.5
	slowSigma     = 0.9
	checkoutSigma = 0.3
)

// Server is the demo target. Create it with New; it is safe for concurrent use.
type Server struct {
	opt     Options
	handler http.Handler

	// mu guards rng.
	mu  sync.Mutex
	rng *rand.Rand

	// sleep waits for d or until ctx is done; a test seam (tests replace it to
	// avoid wall-clock waits).
	sleep func(ctx context.Context, d time.Duration) error

	// qmu guards queues, the /queue services by workers and service time.
	qmu    sync.Mutex
	queues map[queueKey]chan struct{}

	total   atomic.Int64
	counts  [numRoutes]atomic.Int64
	metrics *metrics // served on GET /metrics
	// ws serves the WebSocket sessions of /ws/echo and /ws/feed.
	ws *wstarget.Server

	served atomic.Bool
}

// New returns a Server configured by opt (zero fields take their defaults).
func New(opt Options) *Server {
	opt = opt.withDefaults()
	seed := uint64(opt.Seed)
	s := &Server{
		opt:     opt,
		rng:     rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		sleep:   sleepCtx,
		metrics: newMetrics(),
		queues:  map[queueKey]chan struct{}{},
		ws:      wstarget.New(),
	}
	s.handler = s.routes()
	return s
}

// Handler returns the Server's HTTP handler, for httptest or for mounting elsewhere.
func (s *Server) Handler() http.Handler { return s.handler }

// Options returns the effective options, with defaults filled in.
func (s *Server) Options() Options { return s.opt }

// Serve serves HTTP on ln until ctx is done, then shuts down gracefully: it stops
// accepting, waits up to Options.ShutdownGrace for in-flight requests, then cancels
// the ones still running (their delays end early) and closes every connection.
// It returns nil after a shutdown caused by ctx, or the error that stopped serving.
// Serve returns only after every goroutine it started has exited. It closes ln.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if !s.served.CompareAndSwap(false, true) {
		return errors.New("target: Serve called twice")
	}
	// base is the parent of every request context; cancelling it ends delays that
	// outlive the shutdown grace period.
	base, cancelBase := context.WithCancel(context.Background())
	defer cancelBase()
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		BaseContext:       func(net.Listener) context.Context { return base },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

	select {
	case err := <-errc: // the listener failed before ctx was done
		return fmt.Errorf("target: serve: %w", err)
	case <-ctx.Done():
	}
	grace, cancel := context.WithTimeout(context.Background(), s.opt.ShutdownGrace)
	defer cancel()
	// Shutdown does not wait for hijacked connections: the WebSocket
	// sessions are ended (close frame 1001) and waited for apart.
	wsDone := make(chan struct{})
	go func() { s.ws.Close(); close(wsDone) }()
	defer func() { <-wsDone }()
	if err := srv.Shutdown(grace); err != nil {
		cancelBase()
		_ = srv.Close()
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("target: serve: %w", err)
	}
	return nil
}

// Listen opens a TCP listener on addr (DefaultAddr when empty). Unless allowRemote
// is true, addr must name a loopback IP or "localhost"; otherwise it returns an error
// wrapping ErrNotLoopback.
func Listen(addr string, allowRemote bool) (net.Listener, error) {
	return loopback.Listen(addr, DefaultAddr, allowRemote, ErrNotLoopback, "target")
}

// Requests returns the number of requests handled so far, including unmatched ones.
func (s *Server) Requests() int64 { return s.total.Load() }

// RequestsByPath returns the number of requests handled so far per route pattern
// (for example "/items/{id}", not the raw URL, so the map stays small). Requests
// that matched no route are counted under "other". Routes never hit are omitted.
func (s *Server) RequestsByPath() map[string]int64 {
	m := make(map[string]int64, numRoutes)
	for i := range s.counts {
		if n := s.counts[i].Load(); n > 0 {
			m[routeNames[i]] = n
		}
	}
	return m
}

// sleepCtx waits for d or until ctx is done, whichever comes first.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
