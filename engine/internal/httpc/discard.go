package httpc

// The client's own round trip. fasthttp's HostClient.Do reads every
// response body into the response's buffer (up to MaxResponseBodySize per
// worker, 64 MiB by default), so a target that answers with a huge body
// grows the generator's memory by the body size times the workers; its
// streaming mode allocates a stream object per request. A load generator
// needs neither the bytes nor the allocation: it counts the body (on the
// connection, for data_received) and drops it. So HostClient uses
// fasthttp's HostClient for what it is good at — the connection pool, dialing, TLS,
// idle cleanup — and does the exchange itself: write the request, read the
// head, discard the body through the pooled bufio.Reader. Memory per
// request is the pooled read buffer, whatever the body size; no response
// is ever decompressed (the body is never looked at), so a gzip bomb costs
// its wire bytes only.

import (
	"bufio"
	"errors"
	"io"
	"runtime"
	"time"

	"github.com/valyala/fasthttp"
)

// Errors of the response framing. They are sentinels so that the hot path
// builds no string when a response is cut short.
var (
	// ErrTruncated: the connection ended before the body its head announced.
	ErrTruncated = errors.New("engine: response body truncated")
	// ErrBadChunk: a chunked body that does not follow RFC 9112 §7.1.
	ErrBadChunk = errors.New("engine: malformed chunked body")
	// ErrTrailers: more trailer lines than maxTrailerLines.
	ErrTrailers = errors.New("engine: too many trailer lines")
	// ErrInterim: more 1xx responses than maxInterim before the final one.
	ErrInterim = errors.New("engine: too many 1xx responses")
)

// maxInterim bounds the 1xx responses read before the final one.
const maxInterim = 5

// maxTrailerLines bounds the trailer section of a chunked body; each line
// must also fit the read buffer.
const maxTrailerLines = 64

// Xfer is what a worker's exchange takes besides the request, and what it
// gives back besides the response.
type Xfer struct {
	// Keep keeps the start of the body (nil keeps nothing; see body.go).
	Keep *Keeper
	// Pace, when set, is called between writing the request and reading
	// its response on a connection with receive timestamps: the engine's
	// open-model worker defers the read to its clock's next wake-up.
	Pace func()
	// PaceMin is the shortest timeout of a paced exchange: a deferred
	// read must not eat much of a request's time.
	PaceMin time.Duration
	// Stamp is set to when the response's last byte reached the kernel,
	// in wall-clock ns; 0 when the connection cannot tell.
	Stamp int64
	// Now is when the caller sent the request, if it read the clock for
	// that already; the zero Time makes Exchange read it. Set per call.
	Now time.Time
}

// Exchange sends req over a pooled connection and reads the response head
// into resp, discarding the body but for what x.Keep keeps, with the
// extras of x (nil: none). The connection's deadlines are the request's:
// nothing here waits past timeout.
func (c *HostClient) Exchange(req *fasthttp.Request, resp *fasthttp.Response, timeout time.Duration, x *Xfer) error {
	hc := c.hc
	var k *Keeper
	var now time.Time
	if x != nil {
		k, now = x.Keep, x.Now
		x.Stamp = 0
	}
	if now.IsZero() {
		now = time.Now()
	}
	deadline := now.Add(timeout)
	resp.Reset()
	cc, err := hc.AcquireConn(timeout, req.ConnectionClose())
	if err != nil {
		return err
	}
	conn := cc.Conn()
	tc := trackedOf(conn)
	var raw *rawIO
	if tc != nil && tc.raw != nil {
		raw = tc.raw
		raw.takeStamp() // a stamp from before this request is not its
	}
	if err := setDeadline(conn, tc, deadline, timeout); err != nil {
		hc.CloseConn(cc)
		return err
	}
	pace := x != nil && x.Pace != nil && timeout >= x.PaceMin && raw != nil && raw.stamped
	if pace {
		raw.hush() // the response must not wake the process (see rawIO)
	}
	bw := hc.AcquireWriter(conn)
	err = req.Write(bw)
	if err == nil {
		err = bw.Flush()
	}
	hc.ReleaseWriter(bw)
	if err != nil {
		hc.CloseConn(cc)
		return err
	}
	if pace {
		// The read waits for the clock's next wake-up instead of waking
		// the process when the response arrives; the receive timestamp
		// keeps the completion time exact.
		x.Pace()
	} else {
		// Let the other workers write their requests before this one
		// reads: the response has usually arrived by then, so the read
		// finds it at once instead of returning EAGAIN and parking on the
		// netpoller (one syscall and one wake-up fewer per request in a
		// busy closed model; a no-op when no other worker is runnable).
		runtime.Gosched()
	}
	br := hc.AcquireReader(conn)
	keep, err := readResponseKeep(br, resp, req.Header.IsHead(), k)
	hc.ReleaseReader(br)
	if x != nil && raw != nil && err == nil {
		// Complete: it ended when its last byte arrived. A failed exchange
		// ends when it failed (a timeout at its deadline), which is now.
		x.Stamp = raw.takeStamp()
	}
	if err != nil || !keep || req.ConnectionClose() {
		hc.CloseConn(cc)
		return err
	}
	hc.ReleaseConn(cc)
	return nil
}

// readResponse reads one response from br: the head into resp, the body
// discarded. keep reports whether the connection may carry another request.
func readResponse(br *bufio.Reader, resp *fasthttp.Response, head bool) (keep bool, err error) {
	return readResponseKeep(br, resp, head, nil)
}

// readResponseKeep is readResponse keeping the start of the body in k.
func readResponseKeep(br *bufio.Reader, resp *fasthttp.Response, head bool, k *Keeper) (keep bool, err error) {
	h := &resp.Header
	if err := h.Read(br); err != nil {
		if err == io.EOF {
			// Nothing at all came back: the server dropped the request.
			return false, fasthttp.ErrConnectionClosed
		}
		return false, err
	}
	for n := 0; isInterim(h.StatusCode()); n++ {
		if n >= maxInterim {
			return false, ErrInterim
		}
		if err := h.Read(br); err != nil {
			return false, unexpectedEOF(err)
		}
	}
	if head || noBody(h.StatusCode()) {
		return !h.ConnectionClose(), nil
	}
	switch n := h.ContentLength(); {
	case n >= 0:
		if err := k.drain(br, int64(n)); err != nil {
			return false, err
		}
	case n == -1: // chunked
		if err := discardChunked(br, k); err != nil {
			return false, err
		}
	default: // -2: the body ends when the server closes the connection
		return false, k.drainAll(br)
	}
	return !h.ConnectionClose(), nil
}

func isInterim(status int) bool { return status >= 100 && status < 200 && status != 101 }

// noBody reports statuses that never carry a body (RFC 9110 §6.4.1).
func noBody(status int) bool {
	return status < 200 || status == 204 || status == 304
}

// unexpectedEOF turns an end of stream inside a response into ErrTruncated.
func unexpectedEOF(err error) error {
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		return ErrTruncated
	}
	return err
}

// discardN drops n bytes of br.
func discardN(br *bufio.Reader, n int64) error {
	for n > 0 {
		step := int(min(n, 1<<30))
		d, err := br.Discard(step)
		n -= int64(d)
		if err != nil {
			return unexpectedEOF(err)
		}
	}
	return nil
}

// discardChunked drops a chunked body (but for what k keeps) and its
// trailer section.
func discardChunked(br *bufio.Reader, k *Keeper) error {
	for {
		line, err := readLine(br)
		if err != nil {
			return err
		}
		size, ok := chunkSize(line)
		if !ok {
			return ErrBadChunk
		}
		if size == 0 {
			break
		}
		if err := k.drain(br, size); err != nil {
			return err
		}
		crlf, err := readLine(br)
		if err != nil {
			return err
		}
		if len(crlf) != 0 {
			return ErrBadChunk
		}
	}
	for i := 0; ; i++ {
		if i >= maxTrailerLines {
			return ErrTrailers
		}
		line, err := readLine(br)
		if err != nil {
			return err
		}
		if len(line) == 0 {
			return nil
		}
	}
}

// readLine returns the next line of br without its CRLF (or bare LF). The
// slice is br's buffer: valid until the next read. A line longer than the
// buffer is a framing error, not a reason to allocate.
func readLine(br *bufio.Reader) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	switch {
	case err == bufio.ErrBufferFull:
		return nil, ErrBadChunk
	case err != nil:
		return nil, unexpectedEOF(err)
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

// chunkSize parses a chunk-size line: hex digits, then optional
// extensions after ';' (ignored), with optional whitespace before them.
func chunkSize(line []byte) (int64, bool) {
	var n int64
	i := 0
	for ; i < len(line); i++ {
		v, ok := hexDigit(line[i])
		if !ok {
			break
		}
		if i >= 15 { // more than 2^60 bytes: no real body, and no overflow
			return 0, false
		}
		n = n<<4 | int64(v)
	}
	if i == 0 {
		return 0, false
	}
	for ; i < len(line); i++ {
		switch line[i] {
		case ' ', '\t':
		case ';':
			return n, true
		default:
			return 0, false
		}
	}
	return n, true
}

func hexDigit(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
