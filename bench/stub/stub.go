// Package stub is a tiny, fast HTTP/1.1 server for benchmarks: it answers every
// request with 200 OK and a small fixed body, keeping connections alive.
//
// It sits beside the load path, never in it: Go benchmarks point the engine (or a bare
// fasthttp client, for a baseline) at it over an in-memory listener, so that what they
// measure is the generator and not the network or a real server. It uses fasthttp's
// server because it is the cheapest server at hand, which keeps the server's share of
// the CPU small.
//
// Concurrency: ServeFast and StartInmemory may be called from any goroutine, any number
// of times; each call has its own server. The handler keeps no state.
package stub

import (
	"fmt"
	"net"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"
)

// Body is the response body of every request.
const Body = "Hello, World!\n"

var body = []byte(Body)

func handle(ctx *fasthttp.RequestCtx) {
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.SetContentType("text/plain; charset=utf-8")
	ctx.SetBody(body)
}

// NewServer returns the stub's fasthttp server, for callers that want to control its
// lifetime (Shutdown) themselves.
func NewServer() *fasthttp.Server {
	return &fasthttp.Server{
		Handler:                       handle,
		Name:                          "stub",
		NoDefaultDate:                 true, // one less formatted header per response
		NoDefaultContentType:          true,
		DisableHeaderNamesNormalizing: true,
		ReadBufferSize:                4096,
		WriteBufferSize:               4096,
	}
}

// ServeFast serves the stub on ln until ln is closed, answering every request with
// "HTTP/1.1 200 OK" and Body on kept-alive connections. It returns nil once ln is
// closed, or the error that stopped it. Connections still open when ln closes are
// served until their clients close them.
func ServeFast(ln net.Listener) error {
	if err := NewServer().Serve(ln); err != nil {
		return fmt.Errorf("stub: %w", err)
	}
	return nil
}

// StartInmemory starts the stub on a new in-memory listener. Dial connections with
// ln.Dial (fasthttp.HostClient{Dial: func(string) (net.Conn, error) { return ln.Dial() }}).
// stop shuts the server down, closing the listener and idle connections, and returns
// once the server has stopped serving.
func StartInmemory() (ln *fasthttputil.InmemoryListener, stop func() error) {
	ln = fasthttputil.NewInmemoryListener()
	srv := NewServer()
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	return ln, func() error {
		err := srv.Shutdown()
		if serr := <-done; serr != nil && err == nil {
			err = serr
		}
		if err != nil {
			return fmt.Errorf("stub: %w", err)
		}
		return nil
	}
}
