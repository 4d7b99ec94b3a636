package main

import (
	"errors"

	"github.com/loadgate/loadgate/verdict"
)

// The exit codes the commands return themselves; a run's and a merge's
// come from its verdict (package verdict, docs/exit-codes.md).
var (
	exitPassed          = verdict.Passed.Code()
	exitFailed          = verdict.Failed.Code()
	exitInvalid         = verdict.Invalid.Code()
	exitPreflightFailed = verdict.PreflightFailed.Code()
	exitInternal        = verdict.Internal.Code()
	exitIO              = verdict.IOError.Code()
)

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
