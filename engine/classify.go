package engine

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"os"
	"syscall"

	"github.com/loadgate/loadgate/engine/internal/httpc"
	"github.com/valyala/fasthttp"
)

// DialFunc opens a connection to addr (host:port). Tests inject in-memory
// listeners through it, and a distributed agent its target allow-list.
type DialFunc func(addr string) (net.Conn, error)

// ErrDenied is wrapped by a DialFunc that refuses an address (an agent's
// target allow-list); such requests are counted as KindDenied.
var ErrDenied = errors.New("target not allowed")

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
	case errors.Is(err, httpc.ErrNoH2):
		return KindProtocol
	case errors.Is(err, ErrDenied):
		return KindDenied
	case errors.Is(err, fasthttp.ErrTimeout), errors.Is(err, fasthttp.ErrDialTimeout),
		errors.Is(err, fasthttp.ErrTLSHandshakeTimeout), errors.Is(err, httpc.ErrHandshakeTimeout),
		errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded):
		return KindTimeout
	case errors.Is(err, fasthttp.ErrNoFreeConns):
		return KindNoFreeConn
	case errors.Is(err, syscall.ECONNREFUSED):
		return KindRefused
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return KindReset
	case errors.Is(err, httpc.ErrTruncated):
		return KindTruncated
	case errors.Is(err, httpc.ErrBadChunk), errors.Is(err, httpc.ErrTrailers), errors.Is(err, httpc.ErrInterim):
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
		errors.As(err, &invalid), errors.As(err, &recErr), errors.As(err, &alertErr), httpc.IsRemoteTLSAlert(err):
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
