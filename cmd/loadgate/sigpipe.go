package main

import (
	"os/signal"
	"syscall"
)

// A reader that goes away (loadgate run ... | head) must not decide the
// outcome (docs/reliability.md, row 31). By default the Go runtime lets SIGPIPE kill
// the process when a write to stdout or stderr hits a closed pipe; ignored,
// the write fails with EPIPE, which the summary writer already ignores, and
// the exit code and the report files stay what the run decided.
func init() { signal.Ignore(syscall.SIGPIPE) }
