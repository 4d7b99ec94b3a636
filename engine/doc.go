// Package engine turns a Plan into load and measurements: intended arrival
// times, workers that send HTTP requests, sharded HDR recorders, and one
// immutable Snapshot per interval handed to Observers.
//
// Data flow:
//
//	schedule (pure: arrival n → intended time)
//	  → workers (claim the next arrival, wait for its time, run its flow on fasthttp)
//	  → shards (a few mutex-guarded accumulators; no channel message per request)
//	  → collector (once per interval: swap shards, merge, publish a Snapshot)
//	  → Observers (evaluator, console, timeline, Prometheus, agent uplink)
//
// Coordinated omission: the intended time of arrival n is a pure function of
// the load profile, never "when a worker became free". http_req_duration is
// completion − intended time, http_req_service_time is completion − actual
// send, schedule_lag is actual start − intended start. A stalled server thus
// shows up in the latency of every arrival that was due during the stall.
//
// Concurrency: Run owns every goroutine it starts and returns only after all
// of them have exited. Observers are called from one goroutine, in order.
// Snapshots and everything they reference are never written after
// publication.
package engine
