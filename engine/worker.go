package engine

import (
	"time"

	"github.com/valyala/fasthttp"
)

// stepExec is a step ready to send: its client and a request template built
// once. Shared read-only by all workers.
type stepExec struct {
	step *Step
	doer Doer
	tmpl *fasthttp.Request
}

// worker is one goroutine's private state: a shard to record into, request
// objects copied from the templates on first use and reused for every
// request after that, one response and one timer. Nothing here is shared.
type worker struct {
	r     *run
	shard *shard
	reqs  [][]*fasthttp.Request
	resp  *fasthttp.Response
	timer *time.Timer
	// precise is nil where the platform or the fd budget has none.
	precise *preciseTimer
}

func (r *run) newWorker(id int) *worker {
	w := &worker{
		r:     r,
		shard: r.rec.shards[id%len(r.rec.shards)],
		reqs:  make([][]*fasthttp.Request, len(r.steps)),
		resp:  &fasthttp.Response{},
		timer: time.NewTimer(time.Hour),
	}
	w.timer.Stop()
	for fi := range r.steps {
		w.reqs[fi] = make([]*fasthttp.Request, len(r.steps[fi]))
	}
	return w
}

// preciseSpan is how much of a wait the precise timer covers: Go's timer
// takes the wait up to this close to its end (cheaply, but up to 1 ms
// late), the precise timer the rest.
const preciseSpan = 2 * time.Millisecond

// sleep waits d, or until the run stops; it reports whether the full wait
// happened. A stop during the precise stretch is noticed when it ends.
func (w *worker) sleep(d time.Duration) bool {
	if d <= 0 {
		return !w.r.stopping()
	}
	if w.precise != nil {
		end := time.Now().Add(d)
		if d > preciseSpan && !w.goSleep(d-preciseSpan) {
			return false
		}
		if w.precise.wait(time.Until(end)) {
			return !w.r.stopping()
		}
		d = time.Until(end)
	}
	return w.goSleep(d)
}

// goSleep waits d on the worker's Go timer, or until the run stops.
func (w *worker) goSleep(d time.Duration) bool {
	if d <= 0 {
		return !w.r.stopping()
	}
	w.timer.Reset(d)
	select {
	case <-w.timer.C:
		return true
	case <-w.r.stop:
		w.timer.Stop()
		return false
	}
}

// iterate runs flow fi once. intended is when the iteration should have
// started; the first request's latency is measured from it, so any wait for
// a free worker counts. Later steps are due when the previous one ended plus
// its think time.
func (w *worker) iterate(fi int, intended time.Duration) {
	r := w.r
	r.inFlight.Add(1)
	defer r.inFlight.Add(-1)
	due := intended
	end := intended
	for si := range r.steps[fi] {
		if si > 0 && r.stopping() {
			return // a stopped run starts no new requests
		}
		end = w.send(fi, si, due)
		think := r.steps[fi][si].step.Think
		if think > 0 && si < len(r.steps[fi])-1 {
			if !w.sleep(think) {
				return
			}
		}
		due = end + think
	}
	if !r.hardStopped() {
		w.shard.recordIteration(fi, end-intended)
	}
}

// send performs one request due at the given offset and records it. It
// returns the completion offset.
func (w *worker) send(fi, si int, due time.Duration) time.Duration {
	r := w.r
	ex := &r.steps[fi][si]
	req := w.reqs[fi][si]
	if req == nil {
		req = &fasthttp.Request{}
		ex.tmpl.CopyTo(req)
		w.reqs[fi][si] = req
	}
	sent := r.since()
	err := ex.doer.Do(req, w.resp, ex.step.Timeout)
	end := r.since()
	if r.hardStopped() {
		return end // cut off by our own hard stop: not the target's doing
	}
	s := sample{flow: fi, step: si, intended: due, sent: sent, end: end}
	if err != nil {
		s.kind = classify(err)
		r.rec.noteError(s.kind, err)
	} else {
		s.status = w.resp.StatusCode()
		if !ex.step.Accepts(s.status) {
			s.kind = statusKind(s.status)
		}
	}
	s.failed = s.kind != KindNone
	w.shard.record(&s)
	return end
}
