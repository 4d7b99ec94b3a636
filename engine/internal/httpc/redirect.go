package httpc

import (
	"bytes"

	"github.com/valyala/fasthttp"
)

// IsRedirect reports the statuses whose Location is followed.
func IsRedirect(status int) bool {
	switch status {
	case 301, 302, 303, 307, 308:
		return true
	}
	return false
}

// Redirector builds the request that follows a redirect, as browsers do:
// 303 (and 301/302 after anything but GET or HEAD) becomes a GET without
// body; 307 and 308 repeat the request. Authorization is dropped when the
// host changes, and so are the request's cookies (the caller's jar adds
// those of the new host). One per worker: its request and buffers are
// reused, so following a redirect allocates nothing after the first.
type Redirector struct {
	next     *fasthttp.Request
	uri      fasthttp.URI
	fromHost []byte
}

// Next returns the request that follows the redirect resp answered to
// cur, or nil when resp has no Location. cur may be the request Next
// returned last: a chain of redirects reuses it.
func (rd *Redirector) Next(cur *fasthttp.Request, resp *fasthttp.Response) *fasthttp.Request {
	loc := resp.Header.Peek("Location")
	if len(loc) == 0 {
		return nil
	}
	if rd.next == nil {
		rd.next = &fasthttp.Request{}
	}
	from := cur.URI()
	rd.fromHost = append(rd.fromHost[:0], from.Host()...)
	from.CopyTo(&rd.uri)
	rd.uri.UpdateBytes(loc)
	next := rd.next
	if cur != next {
		cur.CopyTo(next)
	}
	next.SetURI(&rd.uri)
	next.UseHostHeader = false
	st := resp.StatusCode()
	if m := next.Header.Method(); st == 303 || (st == 301 || st == 302) && !bytes.Equal(m, []byte("GET")) && !bytes.Equal(m, []byte("HEAD")) {
		next.Header.SetMethod("GET")
		next.ResetBody()
		next.Header.Del("Content-Type")
	}
	if !bytes.EqualFold(rd.uri.Host(), rd.fromHost) {
		next.Header.Del("Authorization")
	}
	next.Header.DelAllCookies()
	return next
}

// Scheme is the scheme of the request Next returned last.
func (rd *Redirector) Scheme() []byte { return rd.uri.Scheme() }

// Host is the host (and port, if any) of the request Next returned last.
func (rd *Redirector) Host() []byte { return rd.uri.Host() }
