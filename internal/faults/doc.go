// Package faults is a misbehaving HTTP/1.1 target for tests: one loopback
// server whose paths each inject a fault a load generator must survive
// (docs/reliability.md): status storms, delay distributions, a slow-loris drip,
// a hang, a reset mid-body, a short body, a huge body, a gzip bomb, huge
// headers, a redirect loop, a crash mid-run, and TLS listeners with a
// self-signed, wrongly named or expired certificate or no handshake at all.
//
// It sits beside the code under test, never in it: tests of engine and of
// the loadgate binary point scenarios at it. It speaks raw HTTP/1.1 on its
// connections so that a fault can break the protocol at an exact byte.
//
// It listens on loopback only; New refuses any other address.
//
// Concurrency: a Server is safe for concurrent use; each connection is
// served on its own goroutine, and Close (or Crash) returns after every one
// of them has exited.
package faults
