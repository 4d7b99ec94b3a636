package engine

import (
	"fmt"
	"runtime/debug"
)

// PanicError is a panic recovered on one of the run's goroutines (a bug in
// the engine or in an observer). The run stops as if cancelled with it as
// the cause, so the caller still gets the data measured so far.
type PanicError struct {
	Where string // "worker" or "observer"
	Value any
	Stack []byte
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("panic in %s: %v", e.Where, e.Value)
}

// recoverPanic stops the run with a PanicError when called deferred on a
// panicking goroutine.
func (r *run) recoverPanic(where string) {
	if v := recover(); v != nil {
		r.cancel(&PanicError{Where: where, Value: v, Stack: debug.Stack()})
	}
}

// observe calls o.Observe, turning a panic into a stopped run; it reports
// whether the observer may be called again.
func (r *run) observe(o Observer, s *Snapshot) (ok bool) {
	defer func() {
		if v := recover(); v != nil {
			r.cancel(&PanicError{Where: "observer", Value: v, Stack: debug.Stack()})
			ok = false
		}
	}()
	o.Observe(s)
	return true
}
