package engine

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"io"
	"time"

	"github.com/valyala/fasthttp"
)

// BodyDoer is a Doer that can also keep the start of the response body,
// for the checks and captures that read it. Doers without it are used
// through Do, and whatever body they leave in resp is read.
type BodyDoer interface {
	// DoBody is Do keeping at most max bytes of the body in buf[:0] (the
	// rest is counted and discarded); it returns the extended buf and
	// whether the body was longer than max.
	DoBody(req *fasthttp.Request, resp *fasthttp.Response, timeout time.Duration, buf []byte, max int) ([]byte, bool, error)
}

// DoBody implements BodyDoer: the same exchange as Do, with the first max
// bytes of the body copied out of the read buffer.
func (c hostClient) DoBody(req *fasthttp.Request, resp *fasthttp.Response, timeout time.Duration, buf []byte, max int) ([]byte, bool, error) {
	x := xfer{k: &keeper{buf: buf[:0], max: max}}
	err := exchange(c.hc, req, resp, timeout, &x)
	return x.k.buf, x.k.cut, err
}

// keeper keeps the first max bytes of a body; a nil keeper keeps nothing.
type keeper struct {
	buf []byte
	max int
	cut bool // the body was longer than max
}

// drain reads n bytes of br, keeping what fits.
func (k *keeper) drain(br *bufio.Reader, n int64) error {
	for k != nil && n > 0 && len(k.buf) < k.max {
		want := int(min(n, int64(k.max-len(k.buf))))
		k.buf = grow(k.buf, want)
		m, err := br.Read(k.buf[len(k.buf) : len(k.buf)+want])
		k.buf = k.buf[:len(k.buf)+m]
		n -= int64(m)
		if err != nil {
			return unexpectedEOF(err)
		}
	}
	if k != nil && n > 0 {
		k.cut = true
	}
	return discardN(br, n)
}

// drainAll reads br to its end (a body delimited by the connection's close).
func (k *keeper) drainAll(br *bufio.Reader) error {
	for k != nil && len(k.buf) < k.max {
		want := min(k.max-len(k.buf), 32<<10)
		k.buf = grow(k.buf, want)
		m, err := br.Read(k.buf[len(k.buf) : len(k.buf)+want])
		k.buf = k.buf[:len(k.buf)+m]
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
	n, err := br.WriteTo(io.Discard)
	if k != nil && n > 0 {
		k.cut = true
	}
	return err
}

// grow makes room for n more bytes after len(b).
func grow(b []byte, n int) []byte {
	if cap(b)-len(b) >= n {
		return b
	}
	nb := make([]byte, len(b), len(b)+max(n, len(b)))
	copy(nb, b)
	return nb
}

// decodeBody returns the body checks and captures read: a gzip body is
// inflated into out, at most max bytes (a gzip bomb costs max, not its
// ratio). Other encodings are read as they are.
func decodeBody(resp *fasthttp.Response, body, out []byte, max int) ([]byte, []byte) {
	if !bytes.EqualFold(resp.Header.ContentEncoding(), []byte("gzip")) || len(body) == 0 {
		return body, out
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		return body, out
	}
	var w bytes.Buffer
	w.Grow(min(max, 4*len(body)))
	_, _ = io.Copy(&w, io.LimitReader(zr, int64(max)))
	out = append(out[:0], w.Bytes()...)
	return out, out
}
