package engine

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"sort"
	"strings"
	"time"
)

// PreflightError lists the targets that could not be reached before any
// request was sent, each with its cause.
type PreflightError struct {
	Failures []TargetFailure
}

// TargetFailure is one unreachable target.
type TargetFailure struct {
	Target string // scheme://host:port
	Kind   Kind   // dns, refused, timeout, tls, ...
	Err    error
}

func (e *PreflightError) Error() string {
	var b strings.Builder
	for i, f := range e.Failures {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s: %s: %v", f.Target, f.Kind, f.Err)
	}
	return b.String()
}

// Preflight resolves, connects to and (for https) completes a TLS handshake
// with every target of p, in parallel, each within timeout; for HTTP/2 over
// TLS the server must select h2. It sends no HTTP request. A nil error means
// every target answered.
func (e *Engine) Preflight(ctx context.Context, p *Plan, timeout time.Duration) error {
	targets := map[string]*url.URL{}
	for _, f := range p.Flows {
		for _, s := range f.Steps {
			u, err := url.Parse(s.URL)
			if err != nil {
				return fmt.Errorf("engine: bad url %q: %w", s.URL, err)
			}
			targets[u.Scheme+"://"+u.Host] = u
		}
	}
	type result struct {
		target string
		err    error
	}
	ch := make(chan result, len(targets))
	for t, u := range targets {
		go func() { ch <- result{t, e.probe(ctx, u, p.HTTPVersion, timeout)} }()
	}
	pe := &PreflightError{}
	for range targets {
		r := <-ch
		if r.err != nil {
			pe.Failures = append(pe.Failures, TargetFailure{Target: r.target, Kind: classify(r.err), Err: r.err})
		}
	}
	if len(pe.Failures) == 0 {
		return nil
	}
	sort.Slice(pe.Failures, func(i, j int) bool { return pe.Failures[i].Target < pe.Failures[j].Target })
	return pe
}

func (e *Engine) probe(ctx context.Context, u *url.URL, v HTTPVersion, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	isTLS := u.Scheme == "https"
	port := u.Port()
	if port == "" {
		port = "80"
		if isTLS {
			port = "443"
		}
	}
	addr := net.JoinHostPort(u.Hostname(), port)
	var c net.Conn
	var err error
	if e.Dial != nil {
		c, err = e.Dial(addr)
	} else {
		c, err = (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return err
	}
	defer c.Close()
	if !isTLS {
		return nil
	}
	cfg := &tls.Config{}
	if e.TLS != nil {
		cfg = e.TLS.Clone()
	}
	if cfg.ServerName == "" {
		cfg.ServerName = u.Hostname()
	}
	if v == HTTP2 {
		cfg.NextProtos = []string{"h2", "http/1.1"} // as dialH2TLS
	}
	tc := tls.Client(c, cfg)
	began := time.Now()
	if err := tc.HandshakeContext(ctx); err != nil {
		if ctx.Err() != nil {
			return errHandshakeTimeout
		}
		return err
	}
	if v == HTTP2 && tc.ConnectionState().NegotiatedProtocol != "h2" {
		return errNoH2
	}
	if tc.ConnectionState().Version == tls.VersionTLS13 {
		return clientCertVerdict(ctx, tc, time.Since(began))
	}
	return nil
}

// clientCertVerdict waits briefly for a TLS 1.3 server's verdict on the
// client certificate. In TLS 1.3 the client's handshake ends before the
// server has checked the client's certificate; a server that rejects it
// (or wanted one) says so with an alert one round trip later, which the
// HTTP/1.1 client would only meet as a connection closed before the first
// response byte. A server that accepted the client sends session tickets
// or nothing, and the read runs into its deadline: twice the handshake's
// own duration plus a margin, within the preflight's timeout.
func clientCertVerdict(ctx context.Context, tc *tls.Conn, handshake time.Duration) error {
	deadline := time.Now().Add(2*handshake + 50*time.Millisecond)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := tc.SetReadDeadline(deadline); err != nil {
		return err
	}
	var b [1]byte
	_, err := tc.Read(b[:])
	var ne net.Error
	switch {
	case err == nil, errors.As(err, &ne) && ne.Timeout():
		return nil // data, or nothing: the server kept the connection
	case errors.Is(err, io.EOF):
		return errClosedAfterHandshake
	}
	return err // remote error: tls: certificate required, bad certificate, ...
}

// errClosedAfterHandshake: a TLS 1.3 server hung up right after the
// handshake, without an alert.
var errClosedAfterHandshake = errors.New("engine: the server closed the connection right after the TLS handshake (did it want a client certificate? see tls.cert_file)")
