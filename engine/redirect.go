package engine

import (
	"errors"
	"time"

	"github.com/loadgate/loadgate/engine/internal/httpc"
	"github.com/valyala/fasthttp"
)

// errRedirectLimit ends a step that was redirected more than its
// MaxRedirects times (a loop, most likely).
var errRedirectLimit = errors.New("engine: too many redirects (max_redirects); a redirect loop?")

// follow follows the redirects of req's response in w.resp, as browsers
// do (httpc.Redirector), with the iteration's cookies. The whole chain is
// the step's one request: its latency ends with the last response, which
// is what checks judge. sent is when the step was sent; the step's timeout
// covers the chain.
func (w *worker) follow(ex *stepExec, sp *stepPlan, req *fasthttp.Request, sent time.Duration) ([]byte, bool, Kind, error) {
	r := w.r
	var body []byte
	var cut bool
	cur := req
	for hop := 0; httpc.IsRedirect(w.resp.StatusCode()); hop++ {
		if hop >= ex.step.MaxRedirects {
			return body, cut, KindRedirectLimit, errRedirectLimit
		}
		next := w.redir.Next(cur, w.resp)
		if next == nil {
			break
		}
		host := w.redir.Host()
		if !r.plan.NoCookies {
			w.jar.Apply(host, next)
		}
		d, err := r.doerFor(string(w.redir.Scheme()) + "://" + string(host))
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
			w.jar.Store(host, w.resp)
		}
		cur = next
	}
	return body, cut, KindNone, nil
}
