package httpc

// HTTP/2 behind the Doer seam. fasthttp speaks HTTP/1.1 only, so a plan
// whose http.version asks for HTTP/2 gets a net/http Transport restricted
// to that one protocol: h2 over TLS (ALPN) or h2c with prior knowledge over
// cleartext (Go's own Transport.Protocols, no x/net). Every request is
// converted from the worker's fasthttp.Request to an http.Request; that
// costs a few allocations per request, which this path accepts, since
// HTTP/2 targets are rarely the ones pushed to tens of thousands of
// requests per second from one host. Connections go through the same
// dialer and byte counters as the HTTP/1.1 client, and errors are the
// same (the engine classifies both alike), so metrics and error classes
// do not depend on the version.

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// Errors of the HTTP/2 client, sentinels so that the hot path builds no
// string when they happen.
var (
	// ErrNoH2: the TLS server did not select h2 by ALPN.
	ErrNoH2 = errors.New("engine: server did not negotiate HTTP/2 (ALPN h2); set http.version to 1.1 for this target")
	// ErrHandshakeTimeout: the TLS handshake did not finish within the
	// request's deadline. Class timeout, like every deadline; the message
	// names the handshake.
	ErrHandshakeTimeout = errors.New("engine: tls handshake timed out")
)

// h2Client is a Doer over a net/http Transport speaking HTTP/2 only. It is
// safe for concurrent use, as the Transport is.
type h2Client struct {
	tr     *http.Transport
	scheme string // http (h2c) or https (h2)
}

// discardBufs holds the buffers response bodies are discarded through.
var discardBufs = sync.Pool{New: func() any { b := make([]byte, 16<<10); return &b }}

// NewH2 returns an HTTP/2 client for the scheme and host of rawURL: h2
// over TLS for https, or h2c (cleartext, prior knowledge) for http; the
// scheme must be the one cleartext asks for. The Doer is a BodyDoer too.
func NewH2(rawURL string, cleartext bool, cfg Config) (Doer, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("engine: bad url %q: %w", rawURL, err)
	}
	switch {
	case !cleartext && u.Scheme != "https":
		return nil, fmt.Errorf("engine: url %q: http version 2 needs https (use h2c for cleartext HTTP/2)", rawURL)
	case cleartext && u.Scheme != "http":
		return nil, fmt.Errorf("engine: url %q: http version h2c needs http:// (use 2 for HTTP/2 over TLS)", rawURL)
	}
	dial := cfg.dialer()
	conns := cfg.Conns
	rawDial := func(ctx context.Context, _, addr string) (net.Conn, error) {
		c, err := dial(addr)
		if err != nil {
			return nil, err
		}
		return conns.track(c, false)
	}
	var protos http.Protocols
	tr := &http.Transport{
		Proxy:               nil, // loopback and staging targets: never an environment proxy
		DialContext:         rawDial,
		MaxConnsPerHost:     cfg.MaxConns,
		MaxIdleConnsPerHost: cfg.MaxConns,
		IdleConnTimeout:     30 * time.Second,
		DisableCompression:  true, // bodies are counted on the wire, never decoded
		Protocols:           &protos,
	}
	if cleartext {
		protos.SetUnencryptedHTTP2(true)
	} else {
		protos.SetHTTP2(true)
		tr.DialTLSContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			return dialH2TLS(ctx, rawDial, network, addr, cfg.TLS)
		}
	}
	return &h2Client{tr: tr, scheme: u.Scheme}, nil
}

// dialH2TLS opens a TLS connection offering h2 and fails unless the
// server selects it. The handshake is bounded by ctx (the request's
// deadline); running out of it is ErrHandshakeTimeout, class timeout.
func dialH2TLS(ctx context.Context, rawDial func(context.Context, string, string) (net.Conn, error), network, addr string, base *tls.Config) (net.Conn, error) {
	c, err := rawDial(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{}
	if base != nil {
		cfg = base.Clone()
	}
	if cfg.ServerName == "" {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			host = addr
		}
		cfg.ServerName = host
	}
	// Offering http/1.1 too lets a server without h2 finish the handshake
	// (a Go server refuses one that offers only protocols it lacks), so that
	// the error can say what is missing.
	cfg.NextProtos = []string{"h2", "http/1.1"}
	tc := tls.Client(c, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		c.Close()
		if ctx.Err() != nil {
			return nil, ErrHandshakeTimeout
		}
		return nil, err
	}
	if tc.ConnectionState().NegotiatedProtocol != "h2" {
		tc.Close()
		return nil, ErrNoH2
	}
	return tc, nil
}

// Do converts req to an http.Request, sends it within timeout, and fills
// resp with the status and headers; the body is read to its end and
// dropped, as on the HTTP/1.1 path.
func (c *h2Client) Do(req *fasthttp.Request, resp *fasthttp.Response, timeout time.Duration) error {
	_, _, err := c.DoBody(req, resp, timeout, nil, 0)
	return err
}

// DoBody is Do keeping at most max bytes of the body in buf[:0], for the
// checks and captures that read it (the BodyDoer of the HTTP/1.1 client);
// the rest is counted and discarded. It returns the extended buf and
// whether the body was longer than max.
func (c *h2Client) DoBody(req *fasthttp.Request, resp *fasthttp.Response, timeout time.Duration, buf []byte, max int) ([]byte, bool, error) {
	resp.Reset()
	buf = buf[:0]
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	hr, err := c.request(ctx, req)
	if err != nil {
		return buf, false, err
	}
	// RoundTrip, not http.Client.Do: no redirects, no cookie jar, and
	// errors that do not quote the URL (which may carry a secret).
	r, err := c.tr.RoundTrip(hr)
	if err != nil {
		return buf, false, err
	}
	defer r.Body.Close()
	resp.SetStatusCode(r.StatusCode)
	for k, vs := range r.Header {
		for _, v := range vs {
			resp.Header.Add(k, v)
		}
	}
	if max > 0 {
		buf = slices.Grow(buf, max)
		for err == nil && len(buf) < max {
			var n int
			n, err = r.Body.Read(buf[len(buf):max])
			buf = buf[:len(buf)+n]
		}
		switch {
		case err == io.EOF:
			return buf, false, nil
		case err != nil:
			return buf, false, bodyError{err}
		}
	}
	bp := discardBufs.Get().(*[]byte)
	n, err := io.CopyBuffer(io.Discard, r.Body, *bp)
	discardBufs.Put(bp)
	if err != nil {
		return buf, false, bodyError{err}
	}
	return buf, max > 0 && n > 0, nil
}

// request builds the http.Request of req. Headers that HTTP/2 forbids or
// that the Transport sets itself are left out.
func (c *h2Client) request(ctx context.Context, req *fasthttp.Request) (*http.Request, error) {
	u, err := url.Parse(string(req.URI().FullURI()))
	if err != nil {
		return nil, err
	}
	u.Scheme = c.scheme
	var body io.Reader = http.NoBody
	b := req.Body()
	if len(b) > 0 {
		body = bytes.NewReader(b)
	}
	hr, err := http.NewRequestWithContext(ctx, string(req.Header.Method()), u.String(), body)
	if err != nil {
		return nil, err
	}
	hr.Host = string(req.Header.Host())
	for k, v := range req.Header.All() {
		switch string(k) {
		case fasthttp.HeaderHost, fasthttp.HeaderContentLength, fasthttp.HeaderConnection,
			fasthttp.HeaderTransferEncoding, "Keep-Alive", "Proxy-Connection", fasthttp.HeaderUpgrade:
			continue
		}
		hr.Header.Add(string(k), string(v))
	}
	return hr, nil
}

// bodyError is a response body that ended in an error after its head
// arrived. It classifies as truncated unless the deadline ended it.
type bodyError struct{ err error }

func (e bodyError) Error() string { return "engine: reading response body: " + e.err.Error() }

// Unwrap exposes the cause, and ErrTruncated unless the cause is a
// timeout (a body still arriving at the deadline is a timeout).
func (e bodyError) Unwrap() []error {
	var ne net.Error
	if errors.Is(e.err, context.DeadlineExceeded) || errors.As(e.err, &ne) && ne.Timeout() {
		return []error{e.err}
	}
	return []error{ErrTruncated, e.err}
}

// IsRemoteTLSAlert reports whether err is an alert the TLS peer sent
// ("remote error: tls: certificate required"): crypto/tls wraps its
// unexported alert type in a net.OpError with this Op.
func IsRemoteTLSAlert(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe) && oe.Op == "remote error"
}
