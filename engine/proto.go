package engine

// Protocols other than HTTP: each registers a protoKind, which compiles
// its steps for a run and probes their targets before the load; a compiled
// protoStep connects once, runs the step for a worker and records its own
// samples. The HTTP path (worker.send) never goes through here, so a plan
// of HTTP steps pays nothing for the others (docs/architecture.md, "Where a
// change goes").

import (
	"context"
	"fmt"
	"time"
)

// protoKind is one non-HTTP protocol's part of the engine (grpc.go, ws.go).
type protoKind interface {
	// compile checks and compiles st's protocol parts for a run, templates
	// through rs (so that captures of earlier steps resolve); no network.
	// sp holds the step's compiled URL, header and body templates, checks
	// and captures.
	compile(st *Step, sp *stepPlan, rs *resolver) (protoStep, error)
	// probe is the preflight of st's target: reach it (and resolve what the
	// step needs) within timeout, sending no request. Its error is
	// classified like HTTP's (classify).
	probe(ctx context.Context, e *Engine, st *Step, timeout time.Duration) error
}

// protoStep is a compiled non-HTTP step, shared by all workers of a run.
type protoStep interface {
	// start connects before the load, once per run.
	start(r *run, e *Engine) error
	// exec runs the step once for w, due at offset due (the intended time
	// for a flow's first step): it judges the checks, runs the captures
	// and records its samples itself, and returns the completion offset
	// and whether the iteration may go on.
	exec(w *worker, fi, si int, due time.Duration) (end time.Duration, more bool)
	// close releases its connections after the run.
	close()
}

// protoKinds holds each protocol's kind; grpc.go and ws.go register theirs
// in init.
var protoKinds = map[Protocol]protoKind{}

// kindOf returns the protoKind of a non-HTTP step.
func kindOf(st *Step) (protoKind, error) {
	k, ok := protoKinds[st.Protocol]
	if !ok {
		return nil, fmt.Errorf("protocol %s is not built into this engine", st.Protocol)
	}
	return k, nil
}

// startProtos connects every non-HTTP step of the run.
func (r *run) startProtos(e *Engine) error {
	for fi := range r.flows {
		for si := range r.flows[fi].steps {
			if ps := r.flows[fi].steps[si].proto; ps != nil {
				if err := ps.start(r, e); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// closeProtos releases the connections of every non-HTTP step.
func (r *run) closeProtos() {
	for _, fp := range r.flows {
		if fp == nil {
			continue
		}
		for si := range fp.steps {
			if ps := fp.steps[si].proto; ps != nil {
				ps.close()
			}
		}
	}
}
