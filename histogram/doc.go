// Package histogram records latencies into HdrHistograms with a time.Duration
// API, merges them exactly, and encodes them in the HdrHistogram V2 wire format.
//
// It sits under the engine (workers record into it), the evaluator and the
// reports (which read quantiles from it) and the distributed mode (which ships
// encoded histograms between processes).
//
// Every Histogram has the same geometry: 1 µs to 1 h (values above are clamped
// to the top and counted by Clamped), 3 significant digits. Equal geometry is
// what makes Merge exact, so Decode rejects any other.
//
// Concurrency: a Histogram has no internal synchronization. One goroutine
// writes it at a time; readers must not overlap writers. The engine shards
// histograms behind mutexes and publishes merged, never-again-written copies.
package histogram
