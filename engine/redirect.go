package engine

import (
	"bytes"
	"errors"
	"time"

	"github.com/valyala/fasthttp"
)

// errRedirectLimit ends a step that was redirected more than its
// MaxRedirects times (a loop, most likely).
var errRedirectLimit = errors.New("engine: too many redirects (max_redirects); a redirect loop?")

// isRedirect reports the statuses whose Location is followed.
func isRedirect(status int) bool {
	switch status {
	case 301, 302, 303, 307, 308:
		return true
	}
	return false
}

// follow follows the redirects of req's response in w.resp, as browsers
// do: 303 (and 301/302 after anything but GET or HEAD) becomes a GET
// without body; 307 and 308 repeat the request. Authorization is dropped
// when the host changes. The whole chain is the step's one request: its
// latency ends with the last response, which is what checks judge. sent is
// when the step was sent; the step's timeout covers the chain.
func (w *worker) follow(ex *stepExec, sp *stepPlan, req *fasthttp.Request, sent time.Duration) ([]byte, bool, Kind, error) {
	r := w.r
	if w.redir == nil {
		w.redir = &fasthttp.Request{}
	}
	var body []byte
	var cut bool
	cur := req
	for hop := 0; isRedirect(w.resp.StatusCode()); hop++ {
		if hop >= ex.step.MaxRedirects {
			return body, cut, KindRedirectLimit, errRedirectLimit
		}
		loc := w.resp.Header.Peek("Location")
		if len(loc) == 0 {
			break
		}
		from := cur.URI()
		fromHost := append(w.buf[:0], from.Host()...)
		from.CopyTo(&w.uri)
		w.uri.UpdateBytes(loc)
		next := w.redir
		if cur != next {
			cur.CopyTo(next)
		}
		next.SetURI(&w.uri)
		next.UseHostHeader = false
		st := w.resp.StatusCode()
		if m := next.Header.Method(); st == 303 || (st == 301 || st == 302) && !bytes.Equal(m, []byte("GET")) && !bytes.Equal(m, []byte("HEAD")) {
			next.Header.SetMethod("GET")
			next.ResetBody()
			next.Header.Del("Content-Type")
		}
		host := w.uri.Host()
		if !bytes.EqualFold(host, fromHost) {
			next.Header.Del("Authorization")
		}
		next.Header.DelAllCookies()
		if !r.plan.NoCookies {
			w.jar.apply(host, next)
		}
		d, err := r.doerFor(string(w.uri.Scheme()) + "://" + string(host))
		if err != nil {
			return body, cut, KindOther, err
		}
		left := ex.step.Timeout - (r.since() - sent)
		if left <= 0 {
			return body, cut, KindTimeout, fasthttp.ErrTimeout
		}
		if body, cut, err = w.do(d, next, time.Time{}, left, sp, maxBody(ex.step)); err != nil {
			return body, cut, KindNone, err
		}
		if !r.plan.NoCookies {
			w.jar.store(host, w.resp)
		}
		cur = next
	}
	return body, cut, KindNone, nil
}
