package main

import "errors"

// Exit codes of docs/exit-codes.md. Only main maps errors to them.
const (
	exitPassed          = 0
	exitFailed          = 1
	exitInvalid         = 2
	exitPreflightFailed = 3
	exitInconclusive    = 4
	exitInternal        = 70
	exitIO              = 74
	exitInterrupted     = 130
)

// statusOf is the report status of each exit code.
var statusOf = map[int]string{
	exitPassed:          "passed",
	exitFailed:          "failed",
	exitInvalid:         "invalid",
	exitPreflightFailed: "preflight_failed",
	exitInconclusive:    "inconclusive",
	exitInternal:        "internal_error",
	exitIO:              "io_error",
	exitInterrupted:     "interrupted",
}

// precedence orders codes when several apply: the first wins.
var precedence = []int{exitInternal, exitIO, exitInterrupted, exitFailed, exitInconclusive, exitPassed}

// verdict collects every cause of a run's outcome; the code with the
// highest precedence wins, and every reason is kept.
type verdict struct {
	codes   map[int]bool
	reasons []string
}

func (v *verdict) add(code int, reason string) {
	if v.codes == nil {
		v.codes = map[int]bool{}
	}
	v.codes[code] = true
	if reason != "" {
		v.reasons = append(v.reasons, reason)
	}
}

// code is the winning exit code (0 when nothing was added).
func (v *verdict) code() int {
	for _, c := range precedence {
		if v.codes[c] {
			return c
		}
	}
	if v.codes[exitInvalid] {
		return exitInvalid
	}
	if v.codes[exitPreflightFailed] {
		return exitPreflightFailed
	}
	return exitPassed
}

func (v *verdict) status() string { return statusOf[v.code()] }

// usageError marks bad flags or arguments: exit 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(msg string) error { return &usageError{msg} }

// exitError carries an exit code chosen by a command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return ""
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// exitCode maps an error returned by a command to its exit code.
func exitCode(err error) int {
	var ue *usageError
	var ee *exitError
	switch {
	case err == nil:
		return exitPassed
	case errors.As(err, &ee):
		return ee.code
	case errors.As(err, &ue):
		return exitInvalid
	}
	return exitInternal
}
