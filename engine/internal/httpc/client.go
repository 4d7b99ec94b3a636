package httpc

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// Doer sends one request and fills resp. It is the seam between the
// engine and an HTTP library: fasthttp for HTTP/1.1 (HostClient), a
// net/http transport for HTTP/2 (NewH2), fakes in the engine's tests.
type Doer interface {
	Do(req *fasthttp.Request, resp *fasthttp.Response, timeout time.Duration) error
}

// BodyDoer is a Doer that can also keep the start of the response body,
// for the checks and captures that read it. Doers without it are used
// through Do, and whatever body they leave in resp is read.
type BodyDoer interface {
	// DoBody is Do keeping at most max bytes of the body in buf[:0] (the
	// rest is counted and discarded); it returns the extended buf and
	// whether the body was longer than max.
	DoBody(req *fasthttp.Request, resp *fasthttp.Response, timeout time.Duration, buf []byte, max int) ([]byte, bool, error)
}

// Config is what every client of a run shares.
type Config struct {
	// MaxConns bounds the connections to one target.
	MaxConns int
	// Dial opens a connection to addr (host:port); nil dials TCP.
	Dial func(addr string) (net.Conn, error)
	// TLS is the client TLS configuration; nil verifies with system roots.
	TLS *tls.Config
	// UserAgent is sent with every request that does not set one.
	UserAgent string
	// Conns tracks every connection the clients open (NewConns).
	Conns *Conns
}

// dialer returns cfg.Dial, or a TCP dialer.
func (cfg *Config) dialer() func(string) (net.Conn, error) {
	if cfg.Dial != nil {
		return cfg.Dial
	}
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	return func(addr string) (net.Conn, error) { return d.DialContext(context.Background(), "tcp", addr) }
}

// Conns tracks every connection the clients of a run opened, so that a
// hard stop can close them and end requests whose servers never answer,
// and counts the bytes they carried (data_sent, data_received). It is safe
// for concurrent use.
type Conns struct {
	mu sync.Mutex
	// guarded by mu
	set    map[*trackedConn]struct{}
	closed bool
	// bytes of connections already closed
	sentClosed, recvClosed int64
}

// NewConns returns an empty Conns.
func NewConns() *Conns { return &Conns{set: map[*trackedConn]struct{}{}} }

// trackedConn counts its bytes. One request uses a connection at a time, so
// its atomic counters are not contended.
type trackedConn struct {
	net.Conn
	owner      *Conns
	once       sync.Once
	sent, recv atomic.Int64
	// raw does the reads and writes of a TCP connection of the HTTP/1.1
	// client on Linux, with receive timestamps (rawio_linux.go); nil
	// elsewhere.
	raw *rawIO
	// armed is the deadline setDeadline left on the connection; zero when
	// it is not known.
	armed time.Time
	// shared marks a connection that another client tracks (Track), whose
	// goroutines set its deadlines concurrently: armed is not used.
	shared bool
}

// deadlineSlop is the share of a request's timeout by which its deadline
// may be late: setDeadline keeps an armed deadline that ends up to
// timeout/deadlineSlop after the request's own, so that a connection busy
// with short requests re-arms its timers (two runtime timers, one lock)
// once in a while instead of per request.
const deadlineSlop = 128

// setDeadline sets the deadline of a request with the given timeout on
// conn (tc, when not nil, is the trackedConn under it): d itself, or a
// deadline armed earlier that ends at most timeout/deadlineSlop after d.
// A request thus times out between its timeout and 1% more.
func setDeadline(conn net.Conn, tc *trackedConn, d time.Time, timeout time.Duration) error {
	if tc == nil {
		return conn.SetDeadline(d)
	}
	slop := timeout / deadlineSlop
	if !tc.armed.IsZero() && !tc.armed.Before(d) && tc.armed.Sub(d) <= slop {
		return nil
	}
	tc.armed = time.Time{}
	if err := conn.SetDeadline(d.Add(slop)); err != nil {
		return err
	}
	tc.armed = d.Add(slop)
	return nil
}

// SetDeadline, SetReadDeadline and SetWriteDeadline forget the deadline
// setDeadline armed: it is no longer the connection's.
func (c *trackedConn) SetDeadline(t time.Time) error {
	if !c.shared {
		c.armed = time.Time{}
	}
	return c.Conn.SetDeadline(t)
}

func (c *trackedConn) SetReadDeadline(t time.Time) error {
	if !c.shared {
		c.armed = time.Time{}
	}
	return c.Conn.SetReadDeadline(t)
}

func (c *trackedConn) SetWriteDeadline(t time.Time) error {
	if !c.shared {
		c.armed = time.Time{}
	}
	return c.Conn.SetWriteDeadline(t)
}

func (c *trackedConn) Read(b []byte) (n int, err error) {
	if c.raw != nil {
		n, err = c.raw.read(b)
	} else {
		n, err = c.Conn.Read(b)
	}
	c.recv.Add(int64(n))
	return n, err
}

func (c *trackedConn) Write(b []byte) (n int, err error) {
	if c.raw != nil {
		n, err = c.raw.write(b)
	} else {
		n, err = c.Conn.Write(b)
	}
	c.sent.Add(int64(n))
	return n, err
}

// trackedOf returns the trackedConn under c (a TLS connection's too), or
// nil.
func trackedOf(c net.Conn) *trackedConn {
	if t, ok := c.(*tls.Conn); ok {
		c = t.NetConn()
	}
	tc, _ := c.(*trackedConn)
	return tc
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.owner.mu.Lock()
		if _, ok := c.owner.set[c]; ok {
			delete(c.owner.set, c)
			c.owner.sentClosed += c.sent.Load()
			c.owner.recvClosed += c.recv.Load()
		}
		c.owner.mu.Unlock()
	})
	return c.Conn.Close()
}

// Bytes returns the bytes sent and received on all connections so far.
func (cs *Conns) Bytes() (sent, recv int64) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	sent, recv = cs.sentClosed, cs.recvClosed
	for c := range cs.set {
		sent += c.sent.Load()
		recv += c.recv.Load()
	}
	return sent, recv
}

// Len is the number of connections open now.
func (cs *Conns) Len() int {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return len(cs.set)
}

// track registers c; raw asks for raw I/O with receive timestamps where c
// supports it (see rawIO).
func (cs *Conns) track(c net.Conn, raw bool) (net.Conn, error) {
	tc := &trackedConn{Conn: c, owner: cs}
	if raw {
		tc.raw = newRawIO(c)
	}
	return cs.add(tc)
}

// add registers tc, or closes it after CloseAll.
func (cs *Conns) add(tc *trackedConn) (net.Conn, error) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.closed {
		tc.Conn.Close()
		return nil, ErrStopped
	}
	cs.set[tc] = struct{}{}
	return tc, nil
}

// Track registers a connection that another client opened (a WebSocket
// session's, the gRPC client's): its bytes count, and CloseAll closes it.
// Such a client's goroutines may set its deadlines concurrently (shared).
// After CloseAll it closes c and returns ErrStopped.
func (cs *Conns) Track(c net.Conn) (net.Conn, error) {
	return cs.add(&trackedConn{Conn: c, owner: cs, shared: true})
}

// CloseAll closes every open connection and refuses new ones.
func (cs *Conns) CloseAll() {
	cs.mu.Lock()
	cs.closed = true
	set := make([]*trackedConn, 0, len(cs.set))
	for c := range cs.set {
		set = append(set, c)
	}
	cs.mu.Unlock()
	for _, c := range set {
		c.Close()
	}
}

// ErrStopped is returned by dials after CloseAll (the run's hard stop).
var ErrStopped = errors.New("engine: run stopped")

// HostClient is the HTTP/1.1 client of one target (scheme://host): a
// fasthttp.HostClient for what it is good at — the connection pool,
// dialing, TLS, idle cleanup — and this package's own exchange of each
// request (discard.go). It is safe for concurrent use.
type HostClient struct{ hc *fasthttp.HostClient }

// NewHostClient returns a client for the scheme and host of rawURL.
// Retries are off: a load generator must not hide failures by repeating
// requests (fasthttp retries idempotent requests five times by default).
func NewHostClient(rawURL string, cfg Config) (*HostClient, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("engine: bad url %q: %w", rawURL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("engine: url %q: scheme must be http or https", rawURL)
	}
	isTLS := u.Scheme == "https"
	dial := cfg.dialer()
	conns := cfg.Conns
	hc := &fasthttp.HostClient{
		Addr:  fasthttp.AddMissingPort(u.Host, isTLS),
		Name:  cfg.UserAgent,
		IsTLS: isTLS,
		Dial: func(addr string) (net.Conn, error) {
			c, err := dial(addr)
			if err != nil {
				return nil, err
			}
			return conns.track(c, true)
		},
		TLSConfig:                 cfg.TLS,
		MaxConns:                  cfg.MaxConns,
		MaxConnWaitTimeout:        time.Second,
		MaxIdemponentCallAttempts: 1,
		RetryIfErr:                func(*fasthttp.Request, int, error) (bool, bool) { return false, false },
		// Per connection: the read buffer must hold the response head (a
		// larger one fails the request), the write buffer only batches.
		// Bodies never reach a buffer (Exchange discards them); this cap
		// only guards a caller of hc.Do.
		ReadBufferSize:         8 << 10,
		WriteBufferSize:        4 << 10,
		MaxResponseBodySize:    1 << 20,
		DisablePathNormalizing: true,
		MaxIdleConnDuration:    30 * time.Second,
	}
	return &HostClient{hc}, nil
}

// Do sends req and reads the response head into resp; the body is counted
// on the connection and discarded (see Exchange).
func (c *HostClient) Do(req *fasthttp.Request, resp *fasthttp.Response, timeout time.Duration) error {
	return c.Exchange(req, resp, timeout, nil)
}

// Open dials one connection of the pool within timeout, ahead of the
// requests that will use it; release puts it in the pool, idle.
func (c *HostClient) Open(timeout time.Duration) (release func(), err error) {
	cc, err := c.hc.AcquireConn(timeout, false)
	if err != nil {
		return nil, err
	}
	return func() { c.hc.ReleaseConn(cc) }, nil
}
