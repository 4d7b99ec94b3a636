package httpc

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"io"
	"time"

	"github.com/valyala/fasthttp"
)

// DoBody implements BodyDoer: the same exchange as Do, with the first max
// bytes of the body copied out of the read buffer.
func (c *HostClient) DoBody(req *fasthttp.Request, resp *fasthttp.Response, timeout time.Duration, buf []byte, max int) ([]byte, bool, error) {
	x := Xfer{Keep: &Keeper{Buf: buf[:0], Max: max}}
	err := c.Exchange(req, resp, timeout, &x)
	return x.Keep.Buf, x.Keep.Cut, err
}

// Keeper keeps the first Max bytes of a body in Buf; a nil Keeper keeps
// nothing.
type Keeper struct {
	Buf []byte
	Max int
	Cut bool // the body was longer than Max
}

// drain reads n bytes of br, keeping what fits.
func (k *Keeper) drain(br *bufio.Reader, n int64) error {
	for k != nil && n > 0 && len(k.Buf) < k.Max {
		want := int(min(n, int64(k.Max-len(k.Buf))))
		k.Buf = grow(k.Buf, want)
		m, err := br.Read(k.Buf[len(k.Buf) : len(k.Buf)+want])
		k.Buf = k.Buf[:len(k.Buf)+m]
		n -= int64(m)
		if err != nil {
			return unexpectedEOF(err)
		}
	}
	if k != nil && n > 0 {
		k.Cut = true
	}
	return discardN(br, n)
}

// drainAll reads br to its end (a body delimited by the connection's close).
func (k *Keeper) drainAll(br *bufio.Reader) error {
	for k != nil && len(k.Buf) < k.Max {
		want := min(k.Max-len(k.Buf), 32<<10)
		k.Buf = grow(k.Buf, want)
		m, err := br.Read(k.Buf[len(k.Buf) : len(k.Buf)+want])
		k.Buf = k.Buf[:len(k.Buf)+m]
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
	n, err := br.WriteTo(io.Discard)
	if k != nil && n > 0 {
		k.Cut = true
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

// DecodeBody returns the body checks and captures read: a gzip body is
// inflated into out, at most max bytes (a gzip bomb costs max, not its
// ratio). Other encodings are read as they are.
func DecodeBody(resp *fasthttp.Response, body, out []byte, max int) ([]byte, []byte) {
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
