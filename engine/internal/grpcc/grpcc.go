// Package grpcc is the engine's gRPC client: one google.golang.org/grpc
// ClientConn per target, calls whose messages travel as bytes already
// encoded (a codec that passes frames through, so that a message without
// templates is encoded once per run), dynamic messages (dynamicpb) built
// from descriptors compiled at load or resolved by server reflection, and
// the JSON view of a response (protojson) for checks and captures.
//
// It knows nothing of plans or samples: the engine (engine/grpc.go) times
// the calls, classifies their errors and records them.
package grpcc

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding"
	_ "google.golang.org/grpc/encoding/proto" // registers the proto codec
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/metadata"
)

// Config is what every connection of a run shares.
type Config struct {
	// Dial opens a connection to addr (host:port); nil dials TCP.
	Dial func(addr string) (net.Conn, error)
	// TLS is the client TLS configuration of https targets; nil verifies
	// with the system roots.
	TLS *tls.Config
	// UserAgent prefixes grpc-go's user agent ("loadgate" when empty).
	UserAgent string
	// Track registers each new connection (the engine's hard stop closes
	// them; their bytes are counted) and may refuse it; nil tracks none.
	Track func(net.Conn) (net.Conn, error)
}

// Conn is the client of one target: one ClientConn, HTTP/2 multiplexed.
// It is safe for concurrent use.
type Conn struct {
	cc *grpc.ClientConn
	// dialErr is the error of the last dial when it failed, nil after a
	// dial that succeeded: a call that fails UNAVAILABLE while the
	// connection is down failed because of it.
	dialErr atomic.Pointer[error]
}

// Target splits an engine target (http://host:port for plaintext,
// https://host:port for TLS) into the address and whether it is TLS.
func Target(target string) (addr string, useTLS bool, err error) {
	u, err := url.Parse(target)
	if err != nil || u.Host == "" || u.Scheme != "http" && u.Scheme != "https" {
		return "", false, fmt.Errorf("grpc: bad target %q: want http://host:port or https://host:port", target)
	}
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	return net.JoinHostPort(u.Hostname(), port), u.Scheme == "https", nil
}

// codec passes frames through: requests are encoded by the engine, and
// responses are kept as bytes until a check or a capture reads them.
// Other messages (reflection's) go through grpc's proto codec.
type codec struct{}

var protoCodec = encoding.GetCodecV2("proto")

func (codec) Name() string { return "proto" }

func (codec) Marshal(v any) (mem.BufferSlice, error) {
	f, ok := v.(*Frame)
	if !ok {
		return protoCodec.Marshal(v)
	}
	if f.Static {
		return mem.BufferSlice{mem.SliceBuffer(f.B)}, nil
	}
	// grpc may still hold the frame after the call returned (a call
	// cancelled before its bytes left): the caller's buffer is reused.
	return mem.BufferSlice{mem.Copy(f.B, mem.DefaultBufferPool())}, nil
}

func (codec) Unmarshal(data mem.BufferSlice, v any) error {
	f, ok := v.(*Frame)
	if !ok {
		return protoCodec.Unmarshal(data, v)
	}
	f.B = f.B[:0]
	if f.Keep {
		for _, b := range data {
			f.B = append(f.B, b.ReadOnlyData()...)
		}
	}
	f.N += data.Len()
	return nil
}

// Frame is one encoded message. A request's B is sent; a response's is
// filled when Keep (else only its length is counted in N).
type Frame struct {
	B []byte
	// Static marks a request whose bytes never change: sent without a copy.
	Static bool
	// Keep keeps a response's bytes in B.
	Keep bool
	// N adds up the bytes of the responses received into the frame.
	N int
}

// Dial returns the client of target (http://host:port or
// https://host:port). It connects lazily, on the first call or Connect.
func Dial(target string, cfg Config) (*Conn, error) {
	addr, useTLS, err := Target(target)
	if err != nil {
		return nil, err
	}
	c := &Conn{}
	dial := cfg.Dial
	if dial == nil {
		d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
		dial = func(addr string) (net.Conn, error) { return d.DialContext(context.Background(), "tcp", addr) }
	}
	dialer := func(ctx context.Context, addr string) (net.Conn, error) {
		conn, err := dial(addr)
		if err == nil && cfg.Track != nil {
			conn, err = cfg.Track(conn)
		}
		if err != nil {
			c.dialErr.Store(&err)
			return nil, err
		}
		c.dialErr.Store(nil)
		return conn, nil
	}
	creds := insecure.NewCredentials()
	if useTLS {
		tc := &tls.Config{}
		if cfg.TLS != nil {
			tc = cfg.TLS.Clone()
		}
		creds = credentials.NewTLS(tc)
	}
	ua := cfg.UserAgent
	if ua == "" {
		ua = "loadgate"
	}
	cc, err := grpc.NewClient("passthrough:///"+addr,
		grpc.WithTransportCredentials(creds),
		grpc.WithContextDialer(dialer),
		grpc.WithUserAgent(ua),
		// A load generator must not hide failures by repeating calls.
		grpc.WithDisableRetry(),
		grpc.WithDisableServiceConfig(),
		// Pauses between calls (think times) must not cost a reconnect.
		grpc.WithIdleTimeout(0),
		// Fixed flow-control windows turn off the BDP estimation, whose
		// pings cost a round of work per response on both sides.
		grpc.WithInitialWindowSize(1<<20),
		grpc.WithInitialConnWindowSize(8<<20),
		grpc.WithDefaultCallOptions(grpc.ForceCodecV2(codec{})),
	)
	if err != nil {
		return nil, fmt.Errorf("grpc: %s: %w", target, err)
	}
	c.cc = cc
	return c, nil
}

// ClientConn is the underlying connection (for reflection).
func (c *Conn) ClientConn() *grpc.ClientConn { return c.cc }

// Connect connects and waits until the connection is ready, the dial
// failed, or timeout passed.
func (c *Conn) Connect(timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c.cc.Connect()
	for {
		s := c.cc.GetState()
		switch s {
		case connectivity.Ready:
			return nil
		case connectivity.TransientFailure:
			if err := c.DialError(); err != nil {
				return err
			}
			return errors.New("grpc: connection failed")
		case connectivity.Shutdown:
			return errors.New("grpc: connection closed")
		}
		if !c.cc.WaitForStateChange(ctx, s) {
			return ctx.Err()
		}
	}
}

// DialError is the error of the last dial while the connection is not
// ready and its last dial failed, else nil. A call that failed
// UNAVAILABLE then failed for this reason.
func (c *Conn) DialError() error {
	p := c.dialErr.Load()
	if p == nil || c.cc.GetState() == connectivity.Ready {
		return nil
	}
	return *p
}

// Close closes the connection; calls in flight fail.
func (c *Conn) Close() error { return c.cc.Close() }

// Unary calls method (/pkg.Service/Method) with req and fills resp.
func (c *Conn) Unary(ctx context.Context, method string, req, resp *Frame) error {
	return c.cc.Invoke(ctx, method, req, resp)
}

// serverStream describes the server-streaming calls.
var serverStream = &grpc.StreamDesc{ServerStreams: true}

// ServerStream calls a server-streaming method with req and receives
// every message of the stream into resp, calling each (when not nil)
// after each message. It returns the number of messages received and the
// stream's status (nil for OK).
func (c *Conn) ServerStream(ctx context.Context, method string, req, resp *Frame, each func(*Frame)) (int, error) {
	s, err := c.cc.NewStream(ctx, serverStream, method)
	if err != nil {
		return 0, err
	}
	if err := s.SendMsg(req); err != nil {
		if err == io.EOF {
			// The stream ended before the message left: its status says why.
			return 0, s.RecvMsg(resp)
		}
		return 0, err
	}
	if err := s.CloseSend(); err != nil {
		return 0, err
	}
	n := 0
	for {
		err := s.RecvMsg(resp)
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		n++
		if each != nil {
			each(resp)
		}
	}
}

// WithMetadata returns ctx carrying md as the call's metadata; md is not
// copied (it must not change during the call).
func WithMetadata(ctx context.Context, md metadata.MD) context.Context {
	if len(md) == 0 {
		return ctx
	}
	return metadata.NewOutgoingContext(ctx, md)
}
