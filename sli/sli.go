package sli

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/loadgate/loadgate/internal/safeurl"
	"github.com/loadgate/loadgate/slo"
	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// Window is the span of the run a query covers.
type Window struct {
	Start, End time.Time
}

// Expand replaces $RANGE, $START and $END in query with w's values.
func Expand(query string, w Window) string {
	s, _ := expand(query, w)
	return s
}

// expand is Expand, and a function from a byte offset in its result back
// to the offset in query it came from (a replaced $NAME maps to its $), so
// that a position Prometheus reports in the query it was sent can be shown
// in the scenario file.
func expand(query string, w Window) (string, func(int) int) {
	secs := int64(math.Ceil(w.End.Sub(w.Start).Seconds()))
	vars := [...][2]string{
		{"$RANGE", strconv.FormatInt(max(secs, 1), 10) + "s"},
		{"$START", unix(w.Start)},
		{"$END", unix(w.End)},
	}
	// seg is a run of the result: from out in the result, from in in query;
	// a replaced variable is one seg with fixed set.
	type seg struct {
		out, in int
		fixed   bool
	}
	var b strings.Builder
	segs := []seg{{0, 0, false}}
	for i := 0; i < len(query); {
		var name, val string
		if query[i] == '$' {
			for _, v := range vars {
				if strings.HasPrefix(query[i:], v[0]) {
					name, val = v[0], v[1]
					break
				}
			}
		}
		if name == "" {
			b.WriteByte(query[i])
			i++
			continue
		}
		segs = append(segs, seg{b.Len(), i, true})
		b.WriteString(val)
		i += len(name)
		segs = append(segs, seg{b.Len(), i, false})
	}
	back := func(off int) int {
		if off < 0 {
			return 0
		}
		s := segs[0]
		for _, x := range segs[1:] {
			if x.out > off {
				break
			}
			s = x
		}
		if s.fixed {
			return s.in
		}
		return min(s.in+off-s.out, len(query))
	}
	return b.String(), back
}

func unix(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixMilli())/1e3, 'f', 3, 64)
}

// Query is one named PromQL query.
type Query struct {
	Name, PromQL string
	// Empty, when not nil, is the value of an empty result (the query's
	// empty key, docs/scenario-reference.md); nil makes an empty result a
	// reading without a value: "no data", which fails the threshold.
	Empty *float64
}

// Querier runs named queries against one Prometheus server.
type Querier struct {
	server  string // the URL's origin, the only part of it messages show
	api     v1.API
	timeout time.Duration
	queries map[string]Query
}

// New returns a Querier of the Prometheus server at rawURL; every query runs
// under timeout (10 s when 0).
func New(rawURL string, timeout time.Duration, queries []Query) (*Querier, error) {
	c, err := api.NewClient(api.Config{Address: rawURL, Client: &http.Client{}})
	if err != nil {
		// The parse error quotes the URL: say what, not the URL.
		return nil, errors.New("sli: sli.prometheus.url is not a valid URL")
	}
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	q := &Querier{server: safeurl.Origin(rawURL), api: v1.NewAPI(c), timeout: timeout, queries: map[string]Query{}}
	for _, x := range queries {
		q.queries[x.Name] = x
	}
	return q, nil
}

// Server is the origin (scheme://host:port) of the Prometheus URL, the way
// messages name it (docs/reports.md, "What outputs may name").
func (q *Querier) Server() string { return q.server }

// Fault is what a failed query says about a run (docs/exit-codes.md).
type Fault int

const (
	// FaultServer: Prometheus could not be reached or did not answer (a
	// refused or reset connection, a timeout, a 5xx, a 4xx other than a
	// refused query such as 401 or 404): the environment's fault.
	FaultServer Fault = iota
	// FaultQuery: Prometheus refused the query itself (errorType bad_data
	// or execution), or its answer can never be one number (a range vector
	// or a string): the scenario's fault.
	FaultQuery
)

// QueryError is why a query gave no answer.
type QueryError struct {
	Name   string // the query's name
	Server string // the Prometheus URL's origin
	Sent   string // the query as sent ($RANGE, $START and $END replaced)
	Fault  Fault
	// Refused is set when Prometheus refused the query (bad_data,
	// execution); a FaultQuery without it is an answer of the wrong type.
	Refused bool
	// Offset is the byte offset in the query as written (before $RANGE,
	// $START and $END were replaced) that Prometheus's parse error points
	// at; -1 when it gave none. Msg then leaves the position out.
	Offset int
	Msg    string // what went wrong, without the server and the name
	Err    error  // the client's error, for errors.Is
}

func (e *QueryError) Error() string {
	if e.Refused {
		return fmt.Sprintf("sli %s: prometheus %s refused the query: %s (query as sent: %s)", e.Name, e.Server, e.Msg, e.Sent)
	}
	if e.Fault == FaultQuery {
		return fmt.Sprintf("sli %s: query %s: %s", e.Name, e.Sent, e.Msg)
	}
	return fmt.Sprintf("sli %s: prometheus %s: %s", e.Name, e.Server, e.Msg)
}

func (e *QueryError) Unwrap() error { return e.Err }

// parseErrPos finds the position of a PromQL parse error in an API error
// message: `invalid parameter "query": 1:15: parse error: unclosed left
// parenthesis`.
var parseErrPos = regexp.MustCompile(`(?:^|: )(\d{1,6}):(\d{1,7}): (parse error: .*)$`)

// queryError classifies err, the client's error for the query sent (the
// expansion of the query named name), with back mapping offsets of sent
// to the query as written.
func (q *Querier) queryError(name, sent string, back func(int) int, err error) *QueryError {
	e := &QueryError{Name: name, Server: q.server, Sent: sent, Fault: FaultServer, Offset: -1, Err: err}
	var ae *v1.Error
	var ue *url.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		e.Msg = fmt.Sprintf("no answer: timed out after %v (sli.prometheus.timeout)", q.timeout)
	case errors.As(err, &ae) && (ae.Type == v1.ErrBadData || ae.Type == v1.ErrExec):
		e.Fault, e.Refused, e.Msg = FaultQuery, true, string(ae.Type)+": "+ae.Msg
		if off, msg, ok := parseErrOffset(ae.Msg, sent); ok {
			e.Offset, e.Msg = back(off), msg
		}
	case errors.As(err, &ae) && ae.Type == v1.ErrBadResponse:
		e.Msg = "answered something other than a Prometheus API response (" + ae.Msg + "); is the URL Prometheus's?"
	case errors.As(err, &ae) && (ae.Type == v1.ErrClient || ae.Type == v1.ErrServer):
		// "client error: 404", "server error: 503": the status, and a hint
		// for the usual 4xx. The body (ae.Detail) can be a whole HTML page.
		e.Msg = "answered " + ae.Msg
		switch {
		case strings.HasSuffix(ae.Msg, ": 404"):
			e.Msg += " (queries go to the URL's path + /api/v1/query: is the URL Prometheus's API root, with its path prefix?)"
		case strings.HasSuffix(ae.Msg, ": 401"), strings.HasSuffix(ae.Msg, ": 403"):
			e.Msg += " (loadgate sends no credentials to Prometheus)"
		}
	case errors.As(err, &ae):
		e.Msg = ae.Error() // timeout, canceled, unavailable, internal: the server's
	case errors.As(err, &ue):
		// Post "http://host/path/api/v1/query": dial tcp ...: the URL holds
		// the path; the cause is what matters.
		e.Msg = "unreachable: " + ue.Err.Error()
		if ue.Timeout() {
			e.Msg = fmt.Sprintf("no answer: timed out after %v (sli.prometheus.timeout)", q.timeout)
		}
	default:
		e.Msg = err.Error()
	}
	return e
}

// parseErrOffset returns the byte offset in sent of the line:col a parse
// error message gives, and the message without it.
func parseErrOffset(msg, sent string) (off int, rest string, ok bool) {
	m := parseErrPos.FindStringSubmatch(msg)
	if m == nil {
		return 0, "", false
	}
	line, _ := strconv.Atoi(m[1])
	col, _ := strconv.Atoi(m[2])
	if line < 1 || col < 1 {
		return 0, "", false
	}
	start := 0
	for range line - 1 {
		i := strings.IndexByte(sent[start:], '\n')
		if i < 0 {
			return 0, "", false
		}
		start += i + 1
	}
	end := len(sent)
	if i := strings.IndexByte(sent[start:], '\n'); i >= 0 {
		end = start + i
	}
	off = start + col - 1
	if off > end { // Prometheus points one past the end for "unexpected end of input"
		return 0, "", false
	}
	return off, m[3], true
}

// Read runs the query named name over w and returns its reading, at the
// run offset at. It never returns an error: a failure is the reading's Err
// (a *QueryError when Prometheus did not answer or refused the query).
func (q *Querier) Read(ctx context.Context, name string, w Window, at time.Duration) slo.SLIReading {
	r := slo.SLIReading{Name: name, At: at}
	x, ok := q.queries[name]
	if !ok {
		r.Err = fmt.Errorf("sli %s: no such query", name)
		return r
	}
	val, sent, err := q.run(ctx, x, w)
	if err != nil {
		r.Err = err
		return r
	}
	r.Value, err = single(val)
	switch {
	case errors.Is(err, errEmpty) && x.Empty != nil:
		r.Value, err = *x.Empty, nil // the scenario says what an empty result means
	case errors.Is(err, errEmpty):
		r.NoData = true
	}
	if err != nil {
		r.Err = fmt.Errorf("sli %s: query %s: %w", name, sent, err)
	}
	return r
}

// run sends query x over w; a failure is a *QueryError.
func (q *Querier) run(ctx context.Context, x Query, w Window) (model.Value, string, error) {
	sent, back := expand(x.PromQL, w)
	ctx, cancel := context.WithTimeout(ctx, q.timeout)
	defer cancel()
	val, _, err := q.api.Query(ctx, sent, w.End, v1.WithTimeout(q.timeout))
	if err != nil {
		if ctx.Err() == context.DeadlineExceeded && !errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("%w: %w", context.DeadlineExceeded, err)
		}
		return nil, sent, q.queryError(x.Name, sent, back, err)
	}
	return val, sent, nil
}

// Check sends the query named name once, over the second before now, as
// preflight does before anything is sent to the target (docs/exit-codes.md):
// it checks that Prometheus answers and accepts the query, and that the
// query's type can be one number. Its value is not judged: before the run
// a service may have no data yet. It returns nil or a *QueryError.
func (q *Querier) Check(ctx context.Context, name string, now time.Time) *QueryError {
	x, ok := q.queries[name]
	if !ok {
		return &QueryError{Name: name, Server: q.server, Fault: FaultQuery, Offset: -1, Msg: "no such query"}
	}
	val, sent, err := q.run(ctx, x, Window{Start: now.Add(-time.Second), End: now})
	var qe *QueryError
	if errors.As(err, &qe) {
		return qe
	}
	var te typeError
	if _, err := single(val); errors.As(err, &te) {
		return &QueryError{Name: name, Server: q.server, Sent: sent, Fault: FaultQuery, Offset: -1, Msg: err.Error(), Err: err}
	}
	return nil
}

// ReadAll reads every name in order.
func (q *Querier) ReadAll(ctx context.Context, names []string, w Window, at time.Duration) []slo.SLIReading {
	out := make([]slo.SLIReading, len(names))
	for i, n := range names {
		out[i] = q.Read(ctx, n, w, at)
	}
	return out
}

var (
	errEmpty = errors.New("no data: the query returned an empty result: no series matched over the run " +
		"(if none means 0 here, add \"or vector(0)\" to the part that may have no series, or set the query's empty: 0)")
)

// typeError is an answer whose type can never be one number, whatever the
// data: a fault of the query, which preflight reports (Check).
type typeError string

func (e typeError) Error() string { return string(e) }

// single is the one number of a query's answer.
func single(v model.Value) (float64, error) {
	var f float64
	switch x := v.(type) {
	case *model.Scalar:
		f = float64(x.Value)
	case model.Vector:
		switch len(x) {
		case 0:
			return 0, errEmpty
		case 1:
			f = float64(x[0].Value)
		default:
			return 0, fmt.Errorf("returned %d series; an SLI needs one number (aggregate it, e.g. with sum or avg)", len(x))
		}
	case model.Matrix:
		return 0, typeError("it returns a range vector; an SLI needs one number (wrap it in a function such as rate() or max_over_time(), and aggregate it)")
	default:
		return 0, typeError(fmt.Sprintf("it returns a %s; an SLI needs one number (a scalar or a one-sample vector)", v.Type()))
	}
	if math.IsNaN(f) {
		return 0, errors.New("no data: the query returned NaN (a division by zero: nothing to divide by over the run?)")
	}
	return f, nil
}
