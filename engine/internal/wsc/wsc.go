// Package wsc is the engine's WebSocket client: one session over one
// connection, as a WebSocket step of a flow uses it (engine/ws.go). It is a
// thin layer over github.com/gorilla/websocket that gives the engine what a
// load generator needs and the library leaves to its callers:
//
//   - the connection comes from the caller's dial (Config.Dial), so that the
//     engine's own dialer, its TLS settings and its connection tracking (wire
//     bytes for data_sent/data_received, and the hard stop that closes every
//     connection of a run) apply to WebSocket sessions as to HTTP;
//   - a refused upgrade is a *HandshakeError carrying the HTTP status, so
//     the engine can class it (ws_handshake) without reading strings;
//   - the messages of the peer arrive on a channel (Session.Messages), read
//     by one goroutine per session into two buffers that take turns, each
//     message kept up to Config.MaxMessage bytes and the rest discarded, so
//     a session's memory is bounded whatever the peer sends, and the caller
//     can wait for a message, a deadline, a ping tick and the run's stop in
//     one select;
//   - control frames (ping, close) are written without waiting for the
//     peer's answer; the library answers the peer's pings and closes.
//
// Why gorilla/websocket (v1.5.3) rather than coder/websocket: its Dialer
// takes a plain dial function (NetDialContext) and does the TLS handshake
// on the connection it returns, where coder/websocket dials through an
// http.Client and its Transport; its control frames are written with
// WriteControl, safe beside a concurrent reader and not waiting for a pong
// (coder/websocket's Ping blocks until the pong); and a deadline is a
// deadline on the connection rather than a context whose expiry closes the
// connection, so a session can stop waiting for a message and still close
// with a normal close handshake.
//
// Concurrency: a Dialer is safe for concurrent use. A Session belongs to
// one goroutine (the engine's worker) apart from its reader, which only
// sends on the Messages channel.
package wsc

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Config is what every session of a Dialer shares.
type Config struct {
	// Dial opens the TCP connection to addr (host:port); nil dials TCP. It
	// is given the handshake's context, whose deadline bounds it.
	Dial func(ctx context.Context, addr string) (net.Conn, error)
	// TLS is the client configuration of wss:// URLs; nil verifies with
	// the system roots.
	TLS *tls.Config
	// Subprotocols are offered in the handshake, in order of preference.
	Subprotocols []string
	// MaxMessage caps the bytes of a received message that are kept
	// (DefaultMaxMessage when 0); the rest is read and discarded, and the
	// message is marked Cut.
	MaxMessage int
}

// DefaultMaxMessage is the part of a message kept when Config.MaxMessage
// is 0.
const DefaultMaxMessage = 1 << 20

// bufSize is the size of each connection's read and write buffers.
const bufSize = 4096

// writePool shares write buffers between sessions: most sessions write
// little, and rarely at the same moment.
var writePool = &sync.Pool{}

// Dialer opens sessions.
type Dialer struct {
	d   websocket.Dialer
	max int
}

// NewDialer returns a Dialer for cfg.
func NewDialer(cfg Config) *Dialer {
	d := &Dialer{max: cfg.MaxMessage}
	if d.max <= 0 {
		d.max = DefaultMaxMessage
	}
	d.d = websocket.Dialer{
		TLSClientConfig: cfg.TLS,
		Subprotocols:    slices.Clone(cfg.Subprotocols),
		ReadBufferSize:  bufSize,
		WriteBufferSize: bufSize,
		WriteBufferPool: writePool,
	}
	if dial := cfg.Dial; dial != nil {
		d.d.NetDialContext = func(ctx context.Context, _, addr string) (net.Conn, error) { return dial(ctx, addr) }
	}
	return d
}

// HandshakeError is an upgrade the server refused: any answer but a valid
// 101 Switching Protocols (a 101 with a wrong Sec-WebSocket-Accept, or a
// subprotocol that was not offered, is one too).
type HandshakeError struct {
	Status int    // the HTTP status of the answer
	Reason string // what was wrong with a 101; "" for another status
}

func (e *HandshakeError) Error() string {
	if e.Reason != "" {
		return fmt.Sprintf("websocket handshake: %d %s: %s", e.Status, http.StatusText(e.Status), e.Reason)
	}
	return fmt.Sprintf("websocket handshake: the server answered %d %s, not 101 Switching Protocols", e.Status, http.StatusText(e.Status))
}

// Dial performs the opening handshake on url (ws:// or wss://) with the
// request headers h (which Dial does not modify) within ctx, and starts
// the session's reader. A refused upgrade is a *HandshakeError; other
// errors are the dial's, the TLS handshake's or the connection's.
func (d *Dialer) Dial(ctx context.Context, url string, h http.Header) (*Session, error) {
	c, resp, err := d.d.DialContext(ctx, url, h)
	if err != nil {
		if resp != nil && errors.Is(err, websocket.ErrBadHandshake) {
			he := &HandshakeError{Status: resp.StatusCode}
			if resp.StatusCode == http.StatusSwitchingProtocols {
				he.Reason = "invalid upgrade response (Upgrade, Connection or Sec-WebSocket-Accept)"
			}
			return nil, he
		}
		return nil, err
	}
	if p := c.Subprotocol(); p != "" && !slices.Contains(d.d.Subprotocols, p) {
		c.Close()
		return nil, &HandshakeError{Status: http.StatusSwitchingProtocols, Reason: fmt.Sprintf("the server chose subprotocol %q, which was not offered", p)}
	}
	s := &Session{c: c, msgs: make(chan Msg), done: make(chan struct{}), exited: make(chan struct{}), max: d.max}
	go s.read()
	return s, nil
}

// Msg is one message of the peer, or the end of the session.
type Msg struct {
	// Data is the message, at most Config.MaxMessage bytes of it. It is
	// valid until the next receive from Messages.
	Data []byte
	// Cut says the message was longer than Data.
	Cut bool
	// Binary says the message was a binary one (else text).
	Binary bool
	// At is when the message had been read.
	At time.Time
	// Err ends the session: a *websocket.CloseError when the peer closed
	// it (Closed tells), else the connection's error. It is the last
	// message; Messages is closed after it.
	Err error
}

// Session is one WebSocket connection.
type Session struct {
	c    *websocket.Conn
	msgs chan Msg
	// done is closed when the owner closes the session: the reader stops
	// sending. exited is closed when the reader returned.
	done, exited chan struct{}
	max          int
	closeOnce    sync.Once
}

// Subprotocol is the subprotocol the server chose ("" for none).
func (s *Session) Subprotocol() string { return s.c.Subprotocol() }

// Messages delivers the peer's messages in order, and last the error that
// ended the session; it is closed after that.
func (s *Session) Messages() <-chan Msg { return s.msgs }

// read is the session's reader: it reads each message into one of two
// buffers in turn. The channel is unbuffered, so when it hands over a
// message the owner is done with the one before, whose buffer it reuses.
func (s *Session) read() {
	defer close(s.exited)
	defer close(s.msgs)
	var bufs [2][]byte
	for i := 0; ; i ^= 1 {
		typ, r, err := s.c.NextReader()
		if err != nil {
			s.deliver(Msg{Err: err, At: time.Now()})
			return
		}
		var m Msg
		bufs[i], m.Cut, err = readCapped(r, bufs[i][:0], s.max)
		if err != nil {
			s.deliver(Msg{Err: err, At: time.Now()})
			return
		}
		m.Data, m.Binary, m.At = bufs[i], typ == websocket.BinaryMessage, time.Now()
		if !s.deliver(m) {
			return
		}
	}
}

// deliver hands m to the owner unless the session was closed.
func (s *Session) deliver(m Msg) bool {
	select {
	case s.msgs <- m:
		return true
	case <-s.done:
		return false
	}
}

// readCapped appends r to buf, keeping at most limit bytes and discarding
// the rest; it reports whether it discarded any.
func readCapped(r io.Reader, buf []byte, limit int) ([]byte, bool, error) {
	for len(buf) < limit {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, min(limit, max(512, 2*cap(buf)))-len(buf))
		}
		n, err := r.Read(buf[len(buf):min(cap(buf), limit)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, false, nil
		}
		if err != nil {
			return buf, false, err
		}
	}
	n, err := io.Copy(io.Discard, r)
	return buf, n > 0, err
}

// Send writes one message, text or binary, by deadline.
func (s *Session) Send(p []byte, binary bool, deadline time.Time) error {
	typ := websocket.TextMessage
	if binary {
		typ = websocket.BinaryMessage
	}
	if err := s.c.SetWriteDeadline(deadline); err != nil {
		return err
	}
	return s.c.WriteMessage(typ, p)
}

// Ping writes a ping frame by deadline; it does not wait for the pong.
func (s *Session) Ping(deadline time.Time) error {
	return s.c.WriteControl(websocket.PingMessage, nil, deadline)
}

// Close ends the session with a normal closure (1000): it sends a close
// frame, waits up to wait for the peer's (discarding the messages that
// come before it), then closes the connection and waits for the reader.
// With wait 0 it sends the close frame (if it can within closeWrite) and
// closes the connection at once. It returns the number of messages
// discarded. It is idempotent.
func (s *Session) Close(wait time.Duration) (discarded int) {
	s.closeOnce.Do(func() {
		deadline := time.Now().Add(max(wait, closeWrite))
		msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
		if s.c.WriteControl(websocket.CloseMessage, msg, deadline) == nil && wait > 0 {
			discarded = s.drainUntil(deadline)
		}
		s.shut()
	})
	return discarded
}

// closeWrite bounds the write of a close frame.
const closeWrite = 100 * time.Millisecond

// Abort closes the connection at once, without a close handshake, and
// waits for the reader. It is idempotent, and a no-op after Close.
func (s *Session) Abort() { s.closeOnce.Do(s.shut) }

func (s *Session) shut() {
	close(s.done)
	s.c.Close()
	<-s.exited
}

// drainUntil receives until the session ends or deadline passes, and
// counts the messages it discarded.
func (s *Session) drainUntil(deadline time.Time) (n int) {
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	for {
		select {
		case m, ok := <-s.msgs:
			if !ok || m.Err != nil {
				return n
			}
			n++
		case <-t.C:
			return n
		}
	}
}

// Closed reports whether err, a Msg's Err, is the peer's closing of the
// session (a close frame), and its close code.
func Closed(err error) (code int, ok bool) {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		return ce.Code, true
	}
	return 0, false
}
