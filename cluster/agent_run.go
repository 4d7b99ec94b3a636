package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/loadgate/loadgate/engine"
)

// runPlan waits for the start, runs p and streams its snapshots, then
// sends done. Every goroutine it starts has exited when it returns.
func (s *session) runPlan(ctx context.Context, p *engine.Plan, e *engine.Engine) {
	delay, why := s.awaitStart()
	if why != "" {
		s.ended("0 requests, " + why)
		return
	}
	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	l := &link{s: s, ctx: ctx, cancel: cancel, snaps: make(chan *engine.Snapshot, intervalBuffer)}
	readerDone := make(chan struct{})
	go func() { defer close(readerDone); l.read() }()
	defer func() { s.conn.Close(); <-readerDone }()
	hbDone := make(chan struct{})
	hbStop := make(chan struct{})
	go func() { defer close(hbDone); l.heartbeats(hbStop) }()
	defer func() { close(hbStop); <-hbDone }()
	// The start is interruptible: a stop or a lost coordinator during the
	// delay ends the session before anything was sent to a target.
	t := time.NewTimer(delay)
	select {
	case <-t.C:
	case <-runCtx.Done():
		t.Stop()
		s.ended("0 requests, before the start: " + l.why(nil, context.Cause(runCtx)))
		return
	}
	writerDone := make(chan struct{})
	go func() { defer close(writerDone); l.write() }()
	grace := p.StopGrace()
	safe, cancelSafe := context.WithTimeoutCause(runCtx, p.Load.Duration()+grace+safetyMargin,
		errors.New("the run outlived its profile and grace by "+safetyMargin.String()+" (the agent's safety limit)"))
	res, err := e.Run(safe, p, engine.ObserverFunc(l.observe))
	cancelSafe()
	close(l.snaps)
	<-writerDone
	if err != nil {
		s.ended("0 requests, the engine refused the plan: " + err.Error())
		return
	}
	var requests int64
	if res.Final.Total.All != nil {
		requests = res.Final.Total.All.Requests
	}
	cause := context.Cause(runCtx) // nil unless stopped or lost
	end := fmt.Sprintf("%d requests in %v, %s", requests, res.Elapsed.Round(time.Millisecond), l.why(res, cause))
	if l.err != nil || l.overflow.Load() || isLoss(cause) || ctx.Err() != nil {
		s.ended(end) // nothing more can be sent: the coordinator is gone
		return
	}
	d := doneMsg{Requests: requests, Started: res.Final.Total.Started, Intervals: l.sent}
	if res.Exhausted != nil {
		d.Exhausted = res.Exhausted.Error()
	}
	if res.Stopped != nil {
		d.Stopped = res.Stopped.Error()
	}
	l.finished.Store(true)
	s.ended(end) // first: a coordinator may start its next run when done arrives
	if err := s.fc.send(msgDone, d); err != nil {
		s.a.logf("coordinator %s: run %q: done not delivered: %v", s.peer, s.run, err)
	}
}

// ended audits the end of the run and frees the agent for the next one.
func (s *session) ended(how string) {
	s.audit("ended: %s", how)
	s.a.release(s)
}

// awaitStart waits for the start frame and returns its delay, or why the
// session ends without a start.
func (s *session) awaitStart() (time.Duration, string) {
	for {
		t, payload, err := s.fc.recv(startWait)
		if err != nil {
			return 0, "the coordinator was lost before the start: " + lossText(err)
		}
		switch t {
		case msgHeartbeat:
			continue
		case msgStop:
			var m stopMsg
			decode(t, payload, &m)
			return 0, "stopped before the start: " + sanitize(m.Reason, 200)
		case msgStart:
			var st start
			switch err := decode(t, payload, &st); {
			case err != nil:
				return 0, err.Error()
			case st.Delay > maxStartDelay:
				return 0, fmt.Sprintf("protocol violation: a start delay of %v (at most %v)", st.Delay, maxStartDelay)
			}
			return max(st.Delay, 0), ""
		}
		return 0, fmt.Sprintf("protocol violation: got %s, want start or stop", t)
	}
}

// link is the control channel during a run: a reader of the coordinator's
// frames, a heartbeat, and a writer of the engine's snapshots.
type link struct {
	s      *session
	ctx    context.Context // the session's: done when the agent shuts down
	cancel context.CancelCauseFunc
	snaps  chan *engine.Snapshot // observe → write, closed after the run
	// overflow is set when a snapshot found snaps full; no interval is
	// sent after it, since the sequence has a hole.
	overflow atomic.Bool
	// finished is set before done is sent: the coordinator hangs up then,
	// which is no loss.
	finished atomic.Bool
	lossOnce sync.Once
	// Owned by write until it returns.
	sent int   // intervals sent
	err  error // the first failed send
}

// lossError is the cause of a run cancelled because the coordinator was
// lost.
type lossError struct{ err error }

func (e *lossError) Error() string { return "the coordinator was lost: " + lossText(e.err) }

func isLoss(err error) bool {
	var le *lossError
	return errors.As(err, &le)
}

// errTooSlow cancels a run whose coordinator does not take its intervals.
var errTooSlow = &lossError{fmt.Errorf("it left %d intervals unread", intervalBuffer)}

func lossText(err error) string {
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "its connection closed"
	case errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Sprintf("no message for %v", PeerTimeout)
	}
	return err.Error()
}

// lose cancels the run at once because the coordinator is gone, and closes
// the connection; unless the agent is shutting down, it says so on Log.
// The first loss is the cause: the writes that fail after the close say
// nothing new.
func (l *link) lose(cause error) {
	l.lossOnce.Do(func() {
		if l.ctx.Err() == nil {
			l.s.a.logf("coordinator %s: run %q: %v: stopping the load", l.s.peer, l.s.run, cause)
		}
		l.cancel(cause)
	})
	l.s.conn.Close()
}

// read reads the coordinator's frames until the connection ends: a stop
// cancels the run (the engine drains with the plan's grace), and a read
// error or PeerTimeout of silence is a lost coordinator.
func (l *link) read() {
	for {
		t, payload, err := l.s.fc.recv(PeerTimeout)
		if err != nil {
			if !l.finished.Load() {
				l.lose(&lossError{err})
			}
			return
		}
		switch t {
		case msgHeartbeat:
		case msgStop:
			var m stopMsg
			decode(t, payload, &m)
			l.cancel(errors.New("stopped by the coordinator: " + sanitize(m.Reason, 200)))
		default:
			l.lose(&lossError{violation("got %s during the run", t)})
			return
		}
	}
}

// heartbeats sends a heartbeat every HeartbeatEvery until stop is closed.
func (l *link) heartbeats(stop <-chan struct{}) {
	t := time.NewTicker(HeartbeatEvery)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			if err := l.s.fc.send(msgHeartbeat, struct{}{}); err != nil && !l.finished.Load() {
				l.lose(&lossError{err})
				return
			}
		}
	}
}

// observe runs on the engine's collector goroutine: it hands the snapshot
// to write and never waits for the network.
func (l *link) observe(snap *engine.Snapshot) {
	if l.overflow.Load() {
		return
	}
	select {
	case l.snaps <- snap:
	default:
		l.overflow.Store(true)
		l.lose(errTooSlow)
	}
}

// write sends the snapshots in order, each as its interval alone.
func (l *link) write() {
	for snap := range l.snaps {
		if l.err != nil {
			continue // drain
		}
		per, err := encodePeriod(snap.Interval)
		if err == nil {
			err = l.s.fc.send(msgInterval, intervalMsg{
				Seq: snap.Seq, Final: snap.Final, Period: per, InFlight: snap.InFlight, Waiting: snap.Waiting,
				PlannedTotal: snap.PlannedTotal, Errors: errorTexts(&snap.ErrorSamples),
			})
		}
		if err != nil {
			l.err = err
			l.lose(&lossError{err})
			continue
		}
		l.sent++
	}
}

// why says how the run ended; res is nil before the start, cause is the
// run context's.
func (l *link) why(res *engine.Result, cause error) string {
	switch {
	case l.ctx.Err() != nil:
		return "the agent is shutting down"
	case res == nil && cause != nil:
		return cause.Error()
	case res == nil:
		return "not started"
	case res.Exhausted != nil:
		return "completed: " + res.Exhausted.Error()
	case res.Stopped != nil:
		return res.Stopped.Error()
	}
	return "completed"
}
