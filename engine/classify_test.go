package engine

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// faultServer accepts connections on loopback and handles each with fault.
func faultServer(t *testing.T, fault func(c net.Conn)) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go fault(c)
		}
	}()
	return "http://" + ln.Addr().String() + "/"
}

// readRequest consumes one request head so the client is waiting for the
// response when the fault happens.
func readRequest(c net.Conn) {
	buf := make([]byte, 4096)
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	c.Read(buf)
}

// TestErrorClassesOnLoopbackFaults proves each error class against a real
// fault on loopback, through the whole engine, with the latency of the
// failed requests still recorded.
func TestErrorClassesOnLoopbackFaults(t *testing.T) {
	tlsSrv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are the point
	tlsSrv.StartTLS()
	defer tlsSrv.Close()
	for _, tc := range []struct {
		name string
		url  func(t *testing.T) string
		eng  *Engine
		want Kind
	}{
		{"reset mid-body", func(t *testing.T) string {
			return faultServer(t, func(c net.Conn) {
				readRequest(c)
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\npartial")
				time.Sleep(20 * time.Millisecond)
				c.(*net.TCPConn).SetLinger(0) // RST instead of FIN
				c.Close()
			})
		}, &Engine{}, KindReset},
		// fasthttp reports a reset before the first response byte as a
		// closed connection; both mean the server dropped the request.
		{"reset before any byte", func(t *testing.T) string {
			return faultServer(t, func(c net.Conn) {
				readRequest(c)
				c.(*net.TCPConn).SetLinger(0)
				c.Close()
			})
		}, &Engine{}, KindClosed},
		{"closed before any byte", func(t *testing.T) string {
			return faultServer(t, func(c net.Conn) { readRequest(c); c.Close() })
		}, &Engine{}, KindClosed},
		{"truncated body", func(t *testing.T) string {
			return faultServer(t, func(c net.Conn) {
				readRequest(c)
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort")
				c.Close()
			})
		}, &Engine{}, KindTruncated},
		{"server never answers", func(t *testing.T) string {
			return faultServer(t, func(c net.Conn) { readRequest(c); time.Sleep(2 * time.Second); c.Close() })
		}, &Engine{}, KindTimeout},
		{"404", func(t *testing.T) string {
			return faultServer(t, func(c net.Conn) {
				defer c.Close()
				buf := make([]byte, 4096)
				for {
					if _, err := c.Read(buf); err != nil {
						return
					}
					io.WriteString(c, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
				}
			})
		}, &Engine{}, KindStatus4xx},
		{"TLS unknown authority", func(t *testing.T) string { return tlsSrv.URL + "/" }, &Engine{}, KindTLS},
		{"DNS failure (injected resolver)", func(t *testing.T) string { return "http://no-such-host.test/" },
			&Engine{Dial: func(addr string) (net.Conn, error) {
				return nil, &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "no-such-host.test", IsNotFound: true}}
			}}, KindDNS},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := constPlan(tc.url(t), 10, 300*time.Millisecond)
			p.Flows[0].Steps[0].Timeout = 200 * time.Millisecond
			res, err := tc.eng.Run(context.Background(), p)
			if err != nil {
				t.Fatal(err)
			}
			st := res.Final.Total.Steps[0][0]
			if st.Requests != 3 || st.Errors[tc.want] != 3 || st.Failed != 3 {
				t.Fatalf("requests %d, %s %d, failed %d; errors %v; sample %q", st.Requests, tc.want, st.Errors[tc.want], st.Failed, st.Errors, res.Final.ErrorSamples)
			}
			if st.Duration.Count() != 3 {
				t.Fatalf("latency of failed requests not recorded")
			}
			if tc.want == KindTimeout && st.Duration.Min() < 190*time.Millisecond {
				t.Fatalf("timed-out request latency %v, want ≥ the 200 ms deadline", st.Duration.Min())
			}
		})
	}
}

// TestClassify covers the kinds a loopback fault cannot produce on demand.
func TestClassify(t *testing.T) {
	wrap := func(err error) error {
		return fmt.Errorf("dial: %w", &net.OpError{Op: "dial", Err: os.NewSyscallError("connect", err)})
	}
	for _, tc := range []struct {
		err  error
		want Kind
	}{
		{nil, KindNone},
		{fasthttp.ErrNoFreeConns, KindNoFreeConn},
		{fasthttp.ErrTimeout, KindTimeout},
		{fasthttp.ErrDialTimeout, KindTimeout},
		{wrap(syscall.ECONNREFUSED), KindRefused},
		{wrap(syscall.ECONNRESET), KindReset},
		{wrap(syscall.EADDRNOTAVAIL), KindLocalPort},
		{wrap(syscall.EMFILE), KindFD},
		{&tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}, KindTLS},
		{tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}, KindTLS},
		{io.ErrUnexpectedEOF, KindClosed},
		{errors.New("something else"), KindOther},
	} {
		if got := classify(tc.err); got != tc.want {
			t.Errorf("classify(%v) = %s, want %s", tc.err, got, tc.want)
		}
	}
	if !KindFD.local() || !KindLocalPort.local() || KindRefused.local() {
		t.Fatal("Local() wrong")
	}
}
