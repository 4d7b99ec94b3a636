// Package report turns a run into the documents users read and script
// against: the Summary (docs/reports.md), its JSON, text, JUnit and HTML
// renderings, and the live observers that watch a run as it goes (console
// progress, timeline).
//
// Data flow: the engine publishes one immutable engine.Snapshot per interval
// to its observers. A Timeline keeps a small, bounded row per interval and a
// Progress draws the console line; both are engine.Observers. When the run
// ends, the CLI fills a Run (the final snapshot, the timeline, the threshold
// results, the verdict and, for a distributed run, the coordinator's view of
// each agent) and Build turns it into a Summary. Writers render a Summary;
// ReadJSON reads one back for the report, compare and merge commands, so
// every format can be re-rendered from a saved run. Report files are written
// with WriteFileAtomic, so a reader never sees half a file.
//
// Secrets: every free-text field of a Summary (scenario name, reasons, error
// samples, threshold reasons, agent names and loss reasons) passes through
// the Run's Redactor, which also cuts any URL in them to its origin
// (scheme://host:port; docs/reports.md, "What outputs may name"). Request
// headers, URLs and bodies are never part of a report.
//
// Concurrency: Timeline and Progress are driven by the engine's collector
// goroutine through Observe; Timeline.Points may be called from any goroutine
// at any time, Progress is not read by anyone else. Build, the writers and
// ReadJSON are pure functions of their arguments and safe to call
// concurrently; a Summary is not synchronized and must not be written while
// it is rendered.
package report
