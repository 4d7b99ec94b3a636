package main

import (
	"fmt"
	"io"

	"github.com/spf13/pflag"

	"github.com/loadgate/loadgate/verdict"
)

// failCode is --exit-code-on-fail: the process exit code of a failed gate
// (exit 1) for pipelines that must tell a performance failure from other
// failures of the same job (k6 users often exit 11 for that). Only exit 1
// is remapped; every other code keeps its meaning. The reports keep the
// documented code (status "failed", exit_code 1; docs/exit-codes.md), so that scripts reading them
// need not know the flag; a line on stderr says which code the process
// exits with.
type failCode int

func (c *failCode) register(fs *pflag.FlagSet) {
	*c = failCode(exitFailed)
	fs.Var((*failCodeValue)(c), "exit-code-on-fail", "exit with this code instead of 1 when the gate fails (1–255, not another documented code; the reports keep exit_code 1)")
}

// remap returns err with its exit code replaced when it is a failed gate.
func (c failCode) remap(err error, stderr io.Writer) error {
	if int(c) == exitFailed || exitCode(err) != exitFailed {
		return err
	}
	fmt.Fprintf(stderr, "loadgate: the gate failed: exit code %d (--exit-code-on-fail; the reports say exit_code 1)\n", int(c))
	return &exitError{code: int(c), err: err}
}

// of is the code the process exits with for a verdict of code.
func (c failCode) of(code int) int {
	if code == exitFailed {
		return int(c)
	}
	return code
}

// failCodeValue checks the value as it is set, from a flag or from
// LOADGATE_EXIT_CODE_ON_FAIL.
type failCodeValue failCode

func (v *failCodeValue) String() string { return fmt.Sprint(int(*v)) }
func (v *failCodeValue) Type() string   { return "code" }

func (v *failCodeValue) Set(s string) error {
	var n int
	if _, err := fmt.Sscanf(s, "%d", &n); err != nil || fmt.Sprint(n) != s {
		return fmt.Errorf("want a number from 1 to 255")
	}
	if n < 1 || n > 255 {
		return fmt.Errorf("%d is out of range: want 1 to 255 (0 would pass a failed gate; use severity: warn for thresholds that must not fail the run)", n)
	}
	if s, ok := verdict.Of(n); ok && n != exitFailed {
		return fmt.Errorf("%d already means %q: a failed gate must not look like it", n, s)
	}
	*v = failCodeValue(n)
	return nil
}
