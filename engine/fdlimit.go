package engine

import (
	"fmt"
	"math"
)

// fdReserve is what the process needs besides one descriptor per
// connection: stdio, report files, listeners, the run's clock (a timerfd),
// the runtime's own.
const fdReserve = 64

// peakInFlight is the most iterations p can run at once: MaxInFlight in
// the open model, the most users in the closed one. Each holds at most one
// connection at a time.
func peakInFlight(p *Plan) int {
	if p.Load.Model == Closed {
		peak := p.Load.StartRate
		for _, s := range p.Load.Stages {
			peak = max(peak, s.Target)
		}
		return int(math.Ceil(peak))
	}
	if p.Load.MaxInFlight <= 0 {
		return DefaultMaxInFlight
	}
	return p.Load.MaxInFlight
}

// fdShortfall returns an error when a hard open-files limit of hard cannot
// hold the connections of p (docs/reliability.md, row 11). The soft limit does not
// matter: the Go runtime raises it to the hard one at startup.
func fdShortfall(p *Plan, hard uint64) error {
	need := uint64(peakInFlight(p)) + fdReserve
	if hard >= need {
		return nil
	}
	return fmt.Errorf("%d in flight need about %d open files, but the hard limit (RLIMIT_NOFILE) is %d: raise it (ulimit -Hn %d, LimitNOFILE= in systemd, --ulimit nofile= in docker) or lower max_in_flight to %d",
		peakInFlight(p), need, hard, need, max(int64(hard)-fdReserve, 1))
}

// CheckFDLimit compares the process's hard open-files limit with what p
// needs at its peak. It fails as Preflight does, with kind fd ("local: fd:
// ..."), so that a run that would die of EMFILE halfway stops before
// sending anything.
func CheckFDLimit(p *Plan) error {
	hard, ok := hardFDLimit()
	if !ok {
		return nil
	}
	if err := fdShortfall(p, hard); err != nil {
		return &preflightError{Failures: []targetFailure{{Target: "local", Kind: KindFD, Err: err}}}
	}
	return nil
}
