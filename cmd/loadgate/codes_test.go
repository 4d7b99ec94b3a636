package main

import "github.com/loadgate/loadgate/verdict"

// The codes the tests expect that no command returns by itself: a run's
// verdict says them (package verdict).
var (
	exitInconclusive = verdict.Inconclusive.Code()
	exitInterrupted  = verdict.Interrupted.Code()
)

// statusOf is the report status of each exit code (docs/exit-codes.md).
var statusOf = func() map[int]string {
	m := map[int]string{}
	for _, s := range verdict.Precedence() {
		m[s.Code()] = string(s)
	}
	return m
}()
