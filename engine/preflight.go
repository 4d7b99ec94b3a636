package engine

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/loadgate/loadgate/engine/internal/httpc"
)

// preflightError lists the targets that could not be reached before any
// request was sent, each with its cause.
type preflightError struct {
	Failures []targetFailure
}

// targetFailure is one unreachable target.
type targetFailure struct {
	Target string // scheme://host:port
	Kind   Kind   // dns, refused, timeout, tls, ...
	Err    error
}

func (e *preflightError) Error() string {
	var b strings.Builder
	for i, f := range e.Failures {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s: %s: %v", f.Target, f.Kind, f.Err)
	}
	return b.String()
}

// StepError is a step that cannot run as written, found at the preflight:
// the target answered, and said the step asks for something it does not
// have (a gRPC method its reflection does not know). The scenario's
// fault, not the target's: bad input (exit 2), where an unreachable
// target is exit 3.
type StepError struct {
	Flow, Step string
	Err        error
}

func (e *StepError) Error() string {
	return fmt.Sprintf("flow %q step %q: %v", e.Flow, e.Step, e.Err)
}

func (e *StepError) Unwrap() error { return e.Err }

// Preflight resolves, connects to and (for https) completes a TLS handshake
// with every target of p, in parallel, each within timeout; for HTTP/2 over
// TLS the server must select h2. It sends no HTTP request. A nil error means
// every target answered.
func (e *Engine) Preflight(ctx context.Context, p *Plan, timeout time.Duration) error {
	// One probe per target and protocol: a non-HTTP step's probe may need
	// the step itself (a gRPC method resolved by reflection), so it keeps
	// the first step of its (protocol, target).
	type probe struct {
		u    *url.URL
		step *Step
		flow string
	}
	targets := map[string]probe{}
	for fi := range p.Flows {
		for si := range p.Flows[fi].Steps {
			s := &p.Flows[fi].Steps[si]
			u, err := url.Parse(s.URL)
			if err != nil {
				return fmt.Errorf("engine: bad url %q: %w", s.URL, err)
			}
			key := u.Scheme + "://" + u.Host
			if s.Protocol != ProtoHTTP {
				key = s.Protocol.String() + " " + key
				if s.Protocol == ProtoGRPC {
					key += " " + s.Name // each gRPC step may resolve its own method
				}
			}
			if _, ok := targets[key]; !ok {
				targets[key] = probe{u, s, p.Flows[fi].Name}
			}
		}
	}
	type result struct {
		target string
		err    error
	}
	ch := make(chan result, len(targets))
	for _, pr := range targets {
		go func() {
			target := pr.u.Scheme + "://" + pr.u.Host
			if pr.step.Protocol == ProtoHTTP {
				ch <- result{target, httpc.Probe(ctx, pr.u, e.Dial, e.TLS, p.HTTPVersion == HTTP2, timeout)}
				return
			}
			k, err := kindOf(pr.step)
			if err == nil {
				err = k.probe(ctx, e, pr.step, timeout)
			}
			var se *StepError
			if errors.As(err, &se) {
				se.Flow = pr.flow
			}
			ch <- result{target, err}
		}()
	}
	pe := &preflightError{}
	var bad []error
	for range targets {
		r := <-ch
		var se *StepError
		if errors.As(r.err, &se) {
			bad = append(bad, se)
			continue
		}
		if r.err != nil {
			pe.Failures = append(pe.Failures, targetFailure{Target: r.target, Kind: classify(r.err), Err: r.err})
		}
	}
	if len(bad) > 0 {
		// The scenario is wrong whatever else is down: say that first.
		sort.Slice(bad, func(i, j int) bool { return bad[i].Error() < bad[j].Error() })
		return errors.Join(bad...)
	}
	if len(pe.Failures) == 0 {
		return nil
	}
	sort.Slice(pe.Failures, func(i, j int) bool { return pe.Failures[i].Target < pe.Failures[j].Target })
	return pe
}
