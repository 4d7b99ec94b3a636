// Package engine turns a Plan into load and measurements: intended arrival
// times, workers that send HTTP requests, sharded HDR recorders, and one
// immutable Snapshot per interval handed to Observers.
//
// The plan's types are in plan.go and its rules in validate.go; the
// scenarios package compiles YAML into a Plan, and package cluster ships
// one to agents in a wire format of its own. The HTTP client the workers
// send through (connection pool, raw reads with receive timestamps,
// response framing, cookies, redirects) is engine/internal/httpc; this
// package is the runtime around it.
//
// Data flow:
//
//	schedule (pure: arrival n → intended time)
//	  → clock (one kernel timer per run; waits due within Load.Slack of a
//	    wake-up end together, so the process wakes at most 1/Slack a second)
//	  → workers (claim the next arrival, wait for its time, run its flow
//	    through the client)
//	  → shards (a few mutex-guarded accumulators; no channel message per request)
//	  → collector (once per interval: swap shards, merge, publish a Snapshot)
//	  → Observers (evaluator, console, timeline, Prometheus, agent uplink)
//
// Coordinated omission: the intended time of arrival n is a pure function of
// the load profile, never "when a worker became free". http_req_duration is
// completion − intended time, http_req_service_time is completion − actual
// send, schedule_lag is actual start − intended start less slot_wait, the
// time spent waiting for a free slot (open.go). A stalled server thus
// shows up in the latency of every arrival that was due during the stall,
// and in slot_wait rather than in the generator's own lag.
//
// The end of the profile is a hard bound (run.go, endTolerance): no
// arrival starts after it, requests in flight get the grace period, and
// arrivals never started are counted (docs/scenario-reference.md, "The end
// of a run").
// Completion is when the response's last byte reached the host: the
// kernel's receive timestamp on Linux (httpc's raw reads), which also lets
// the open model defer reads to the clock's next wake-up without changing
// a measurement.
//
// Concurrency: Run owns every goroutine it starts and returns only after all
// of them have exited. Observers are called from one goroutine, in order.
// Snapshots and everything they reference are never written after
// publication.
package engine
