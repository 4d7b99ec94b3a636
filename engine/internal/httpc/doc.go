// Package httpc is the engine's HTTP client: what sends a request and
// reads its answer, as opposed to the runtime that decides when (package
// engine). It holds the HTTP/1.1 client over fasthttp's connection pool
// (HostClient), the HTTP/2 client over net/http (NewH2), the connection
// tracking that counts wire bytes and closes everything at a hard stop
// (Conns), the raw reads with kernel receive timestamps (rawio_linux.go),
// the response framing that discards bodies (discard.go, body.go), the
// per-iteration cookie jar (Jar), redirects (Redirector) and the TLS
// probe of a preflight (Probe).
//
// Data flow of one HTTP/1.1 request (HostClient.Exchange): take a pooled
// connection, arm its deadline, write the request, optionally let the
// caller defer the read (Xfer.Pace), read the head into the
// fasthttp.Response, drain the body through the pooled read buffer,
// keeping at most Keeper.Max bytes, and report when its last byte reached
// the kernel (Xfer.Stamp). Memory per request is the pooled buffers,
// whatever the body size.
//
// Errors are returned, never classified here: the engine maps them to
// its outcome kinds, and this package's sentinels (ErrTruncated,
// ErrBadChunk, ErrNoH2, ...) exist so that it can without building
// strings. Error texts keep their "engine:" prefix: they are what reports
// quote.
//
// Concurrency: clients and Conns are safe for concurrent use; a request,
// its response, an Xfer, a Keeper, a Jar and a Redirector belong to one
// goroutine (a worker) at a time, and one connection carries one request
// at a time.
package httpc
