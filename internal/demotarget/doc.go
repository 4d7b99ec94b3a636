// Package target is loadgate's built-in demo target: a small, cheap HTTP service
// with realistic endpoints and latencies to try scenarios against.
//
// It sits outside the load path. `loadgate target` serves it on a loopback address
// (DefaultAddr) and `loadgate demo` starts it in-process before running
// examples/demo.yaml against it. It uses net/http on purpose: it is the system under
// test, not the generator, and net/http is the most ordinary server a user has.
//
// Endpoints (all responses are small; JSON unless noted):
//
//	GET  /                 small HTML page
//	GET  /search?q=TERM    {"items":[{"id":42,...}],"results":N} after a log-normal delay (median Options.SearchMedian)
//	GET  /items/{id}       one item; 404 outside 1..CatalogSize
//	POST /login            body {"user":..,"password":..}; returns {"token":".."}
//	POST /checkout         any body, any auth; 201 with an order, after a short delay (median Options.CheckoutMedian)
//	GET  /slow             log-normal delay with a long tail (median Options.SlowMedian)
//	GET  /flaky            500 with probability Options.FailRate, else 200
//	GET  /status/{code}    answers with that status (200..599)
//	GET  /delay/{duration} waits that long ("250ms", or a bare number of ms), capped at Options.MaxDelay
//	GET  /health           {"status":"ok"}
//	GET  /queue/{workers}/{service}  a service of that many workers taking that long per request
//	                       (?dist=exp: exponential service times), first come first served: its
//	                       capacity is workers/service (8/10ms: 800/s), past which the latency grows
//	                       without bound; for capacity searches
//	GET  /ws/echo          WebSocket: every message sent back (?delay=250ms answers late, ?close=2s
//	                       closes the session from the server, ?status=403 refuses the upgrade)
//	GET  /ws/feed          WebSocket: a welcome, then {"type":"quote",...} at ?rate= per second; a
//	                       {"op":"subscribe","symbol":"X"} is answered (internal/wstarget has the details)
//	GET  /metrics          the target's own Prometheus metrics (requests by route and code, durations, process CPU); not counted
//
// Randomness (delays, failures, tokens) comes from one generator seeded with
// Options.Seed, so a sequence of requests sent one at a time draws the same values on
// every run. Under concurrency the draws are the same multiset but their assignment to
// requests follows arrival order.
//
// Concurrency: a Server is safe for concurrent use by any number of requests. The
// random generator is guarded by a mutex held only for the draw (never while
// sleeping); the request counters are atomics. Serve may be called once per Server.
package demotarget
