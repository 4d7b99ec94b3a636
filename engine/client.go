package engine

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
)

// Doer sends one request and fills resp. It is the seam between the engine
// and an HTTP library: fasthttp for HTTP/1.1 here; a net/http transport can
// serve h2 targets behind the same method.
type Doer interface {
	Do(req *fasthttp.Request, resp *fasthttp.Response, timeout time.Duration) error
}

// DialFunc opens a connection to addr (host:port). Tests inject in-memory
// listeners through it.
type DialFunc func(addr string) (net.Conn, error)

// hostClient adapts fasthttp.HostClient to Doer.
type hostClient struct{ hc *fasthttp.HostClient }

// Do sends req and reads the response head into resp; the body is counted
// on the connection and discarded (see roundTrip).
func (c hostClient) Do(req *fasthttp.Request, resp *fasthttp.Response, timeout time.Duration) error {
	return roundTrip(c.hc, req, resp, timeout)
}

// conns tracks every connection the clients opened, so that a hard stop can
// close them and end requests whose servers never answer, and counts the
// bytes they carried (data_sent, data_received).
type conns struct {
	mu sync.Mutex
	// guarded by mu
	set    map[*trackedConn]struct{}
	closed bool
	// bytes of connections already closed
	sentClosed, recvClosed int64
}

// trackedConn counts its bytes. One request uses a connection at a time, so
// its atomic counters are not contended.
type trackedConn struct {
	net.Conn
	owner      *conns
	once       sync.Once
	sent, recv atomic.Int64
	// raw does the reads and writes of a TCP connection of the HTTP/1.1
	// client on Linux, with receive timestamps (rawio_linux.go); nil
	// elsewhere.
	raw *rawIO
	// armed is the deadline setDeadline left on the connection; zero when
	// it is not known.
	armed time.Time
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
	c.armed = time.Time{}
	return c.Conn.SetDeadline(t)
}

func (c *trackedConn) SetReadDeadline(t time.Time) error {
	c.armed = time.Time{}
	return c.Conn.SetReadDeadline(t)
}

func (c *trackedConn) SetWriteDeadline(t time.Time) error {
	c.armed = time.Time{}
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

// bytes returns the bytes sent and received on all connections so far.
func (cs *conns) bytes() (sent, recv int64) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	sent, recv = cs.sentClosed, cs.recvClosed
	for c := range cs.set {
		sent += c.sent.Load()
		recv += c.recv.Load()
	}
	return sent, recv
}

// track registers c; raw asks for raw I/O with receive timestamps where c
// supports it (see rawIO).
func (cs *conns) track(c net.Conn, raw bool) (net.Conn, error) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.closed {
		c.Close()
		return nil, errStopped
	}
	tc := &trackedConn{Conn: c, owner: cs}
	if raw {
		tc.raw = newRawIO(c)
	}
	cs.set[tc] = struct{}{}
	return tc, nil
}

// closeAll closes every open connection and refuses new ones.
func (cs *conns) closeAll() {
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

// errStopped is returned by dials after a hard stop.
var errStopped = errors.New("engine: run stopped")

// ErrDenied is wrapped by a DialFunc that refuses an address (an agent's
// target allow-list); such requests are counted as KindDenied.
var ErrDenied = errors.New("target not allowed")

// clientConfig is what every host client shares.
type clientConfig struct {
	maxConns int
	dial     DialFunc
	tls      *tls.Config
	name     string
	conns    *conns
}

// newHostClient returns a client for the scheme and host of rawURL.
// Retries are off: a load generator must not hide failures by repeating
// requests (fasthttp retries idempotent requests five times by default).
func newHostClient(rawURL string, cfg clientConfig) (Doer, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("engine: bad url %q: %w", rawURL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("engine: url %q: scheme must be http or https", rawURL)
	}
	isTLS := u.Scheme == "https"
	dial := cfg.dial
	if dial == nil {
		d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
		dial = func(addr string) (net.Conn, error) { return d.DialContext(context.Background(), "tcp", addr) }
	}
	hc := &fasthttp.HostClient{
		Addr:  fasthttp.AddMissingPort(u.Host, isTLS),
		Name:  cfg.name,
		IsTLS: isTLS,
		Dial: func(addr string) (net.Conn, error) {
			c, err := dial(addr)
			if err != nil {
				return nil, err
			}
			return cfg.conns.track(c, true)
		},
		TLSConfig:                 cfg.tls,
		MaxConns:                  cfg.maxConns,
		MaxConnWaitTimeout:        time.Second,
		MaxIdemponentCallAttempts: 1,
		RetryIfErr:                func(*fasthttp.Request, int, error) (bool, bool) { return false, false },
		// Per connection: the read buffer must hold the response head (a
		// larger one fails the request), the write buffer only batches.
		// Bodies never reach a buffer (roundTrip discards them); this cap
		// only guards a caller of hc.Do.
		ReadBufferSize:         8 << 10,
		WriteBufferSize:        4 << 10,
		MaxResponseBodySize:    1 << 20,
		DisablePathNormalizing: true,
		MaxIdleConnDuration:    30 * time.Second,
	}
	return hostClient{hc}, nil
}

// classify maps a transport error to a Kind without building strings.
func classify(err error) Kind {
	var (
		dnsErr    *net.DNSError
		certErr   *tls.CertificateVerificationError
		unknownCA x509.UnknownAuthorityError
		hostErr   x509.HostnameError
		invalid   x509.CertificateInvalidError
		recErr    tls.RecordHeaderError
		alertErr  tls.AlertError
		small     *fasthttp.ErrSmallBuffer
	)
	switch {
	case err == nil:
		return KindNone
	case errors.Is(err, errNoH2):
		return KindProtocol
	case errors.Is(err, ErrDenied):
		return KindDenied
	case errors.Is(err, fasthttp.ErrTimeout), errors.Is(err, fasthttp.ErrDialTimeout),
		errors.Is(err, fasthttp.ErrTLSHandshakeTimeout), errors.Is(err, errHandshakeTimeout),
		errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded):
		return KindTimeout
	case errors.Is(err, fasthttp.ErrNoFreeConns):
		return KindNoFreeConn
	case errors.Is(err, syscall.ECONNREFUSED):
		return KindRefused
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return KindReset
	case errors.Is(err, errTruncated):
		return KindTruncated
	case errors.Is(err, errBadChunk), errors.Is(err, errTrailers), errors.Is(err, errInterim):
		return KindProtocol
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return KindLocalPort
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE):
		return KindFD
	case errors.As(err, &small):
		return KindHeaderTooLarge
	case errors.As(err, &dnsErr):
		return KindDNS
	case errors.As(err, &certErr), errors.As(err, &unknownCA), errors.As(err, &hostErr),
		errors.As(err, &invalid), errors.As(err, &recErr), errors.As(err, &alertErr), isRemoteTLSAlert(err):
		return KindTLS
	case errors.Is(err, fasthttp.ErrConnectionClosed), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return KindClosed
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return KindTimeout
	}
	return KindOther
}

// statusKind is the failure kind of a status the step does not accept.
func statusKind(status int) Kind {
	switch {
	case status >= 400 && status < 500:
		return KindStatus4xx
	case status >= 500 && status < 600:
		return KindStatus5xx
	}
	return KindStatus
}
