// Package verdict is the one table of a run's outcomes: the status a report
// says, the exit code that goes with it, and which one wins when several
// apply (docs/exit-codes.md). The run (package gate), a merge and the
// reports (package report) all read it, so that a status is never a bare
// string or number that two places spell apart.
//
// Data flow: whoever judges a run adds each cause it finds to a Causes,
// with the status that cause calls for and its reason in words; the
// status of the run is the cause that wins by Precedence, and every reason
// is kept for the report's reasons[]. A report stores the status as its
// string (JSON "status") and the code (JSON "exit_code").
//
// Concurrency: Status is a value; a Causes is used by one goroutine at a
// time.
package verdict

// Status is a run's outcome as the reports name it (JSON "status").
type Status string

// The statuses of docs/exit-codes.md.
const (
	Passed          Status = "passed"
	Failed          Status = "failed"
	Invalid         Status = "invalid"
	PreflightFailed Status = "preflight_failed"
	Inconclusive    Status = "inconclusive"
	Internal        Status = "internal_error"
	IOError         Status = "io_error"
	Interrupted     Status = "interrupted"
)

// table lists every status with its exit code, in the order of
// precedence: when several apply, the first wins. The documented order is
// internal > io > interrupted > failed > inconclusive > passed
// (docs/exit-codes.md). Invalid and preflight_failed end a run that never
// started, so they meet only each other (an SLI query Prometheus refuses
// and a target that cannot be reached: invalid wins) and io_error (a report
// of that run that cannot be written); passed, the absence of a cause
// against the run, is last.
var table = []struct {
	status Status
	code   int
}{
	{Internal, 70},
	{IOError, 74},
	{Interrupted, 130},
	{Failed, 1},
	{Inconclusive, 4},
	{Invalid, 2},
	{PreflightFailed, 3},
	{Passed, 0},
}

// Precedence returns every status, the one that wins first.
func Precedence() []Status {
	out := make([]Status, len(table))
	for i, r := range table {
		out[i] = r.status
	}
	return out
}

// Code is the exit code of s. A status this table does not know is not
// to be trusted: it is inconclusive's code (a saved report that names a
// status of a later version, say).
func (s Status) Code() int {
	for _, r := range table {
		if r.status == s {
			return r.code
		}
	}
	return 4
}

// Known reports whether s is a status of the table.
func (s Status) Known() bool {
	for _, r := range table {
		if r.status == s {
			return true
		}
	}
	return false
}

// Of returns the status whose exit code is code.
func Of(code int) (Status, bool) {
	for _, r := range table {
		if r.code == code {
			return r.status, true
		}
	}
	return "", false
}

// Sent reports whether a run of status s may have sent load: every status
// but invalid and preflight_failed, which stop a run before anything is
// sent.
func (s Status) Sent() bool { return s != Invalid && s != PreflightFailed }

// Causes collects every cause of an outcome: the status of the one with
// the highest precedence wins, and every reason is kept. The zero value
// has no cause and says passed.
type Causes struct {
	has     map[Status]bool
	reasons []string
}

// Add records a cause that calls for s, with its reason in words ("" adds
// none).
func (c *Causes) Add(s Status, reason string) {
	if c.has == nil {
		c.has = map[Status]bool{}
	}
	c.has[s] = true
	if reason != "" {
		c.reasons = append(c.reasons, reason)
	}
}

// Has reports whether a cause called for s.
func (c *Causes) Has(s Status) bool { return c.has[s] }

// Status is the status that wins; passed without any cause.
func (c *Causes) Status() Status {
	for _, r := range table {
		if c.has[r.status] {
			return r.status
		}
	}
	return Passed
}

// Reasons are the reasons in the order they were added.
func (c *Causes) Reasons() []string { return c.reasons }
