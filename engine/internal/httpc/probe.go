package httpc

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/url"
	"time"
)

// Probe resolves, connects to and (for https) completes a TLS handshake
// with the target of u within timeout, as the client would before its
// first request; with h2, the server must select h2 by ALPN. It sends no
// HTTP request. dial nil dials TCP; tlsConfig nil verifies with system
// roots.
func Probe(ctx context.Context, u *url.URL, dial func(string) (net.Conn, error), tlsConfig *tls.Config, h2 bool, timeout time.Duration) error {
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
	if dial != nil {
		c, err = dial(addr)
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
	if tlsConfig != nil {
		cfg = tlsConfig.Clone()
	}
	if cfg.ServerName == "" {
		cfg.ServerName = u.Hostname()
	}
	if h2 {
		cfg.NextProtos = []string{"h2", "http/1.1"} // as dialH2TLS
	}
	tc := tls.Client(c, cfg)
	began := time.Now()
	if err := tc.HandshakeContext(ctx); err != nil {
		if ctx.Err() != nil {
			return ErrHandshakeTimeout
		}
		return err
	}
	if h2 && tc.ConnectionState().NegotiatedProtocol != "h2" {
		return ErrNoH2
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
