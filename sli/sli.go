package sli

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/loadgate/loadgate/engine/slo"
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
	secs := int64(math.Ceil(w.End.Sub(w.Start).Seconds()))
	return strings.NewReplacer(
		"$RANGE", strconv.FormatInt(max(secs, 1), 10)+"s",
		"$START", unix(w.Start),
		"$END", unix(w.End),
	).Replace(query)
}

func unix(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixMilli())/1e3, 'f', 3, 64)
}

// Query is one named PromQL query.
type Query struct {
	Name, PromQL string
}

// Querier runs named queries against one Prometheus server.
type Querier struct {
	url     string
	api     v1.API
	timeout time.Duration
	queries map[string]string
}

// New returns a Querier of the Prometheus server at url; every query runs
// under timeout (10 s when 0).
func New(url string, timeout time.Duration, queries []Query) (*Querier, error) {
	c, err := api.NewClient(api.Config{Address: url, Client: &http.Client{}})
	if err != nil {
		return nil, fmt.Errorf("sli: prometheus url %q: %w", url, err)
	}
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	q := &Querier{url: url, api: v1.NewAPI(c), timeout: timeout, queries: map[string]string{}}
	for _, x := range queries {
		q.queries[x.Name] = x.PromQL
	}
	return q, nil
}

// Read runs the query named name over w and returns its reading, at the
// run offset at. It never returns an error: a failure is the reading's Err.
func (q *Querier) Read(ctx context.Context, name string, w Window, at time.Duration) slo.SLIReading {
	r := slo.SLIReading{Name: name, At: at}
	promql, ok := q.queries[name]
	if !ok {
		r.Err = fmt.Errorf("sli %s: no such query", name)
		return r
	}
	expanded := Expand(promql, w)
	ctx, cancel := context.WithTimeout(ctx, q.timeout)
	defer cancel()
	val, _, err := q.api.Query(ctx, expanded, w.End, v1.WithTimeout(q.timeout))
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded) {
			err = fmt.Errorf("timed out after %v", q.timeout)
		}
		r.Err = fmt.Errorf("sli %s: prometheus %s: query %s failed: %w", name, q.url, expanded, err)
		return r
	}
	r.Value, err = single(val)
	if err != nil {
		r.NoData = errors.Is(err, errEmpty)
		r.Err = fmt.Errorf("sli %s: query %s: %w", name, expanded, err)
	}
	return r
}

// ReadAll reads every name in order.
func (q *Querier) ReadAll(ctx context.Context, names []string, w Window, at time.Duration) []slo.SLIReading {
	out := make([]slo.SLIReading, len(names))
	for i, n := range names {
		out[i] = q.Read(ctx, n, w, at)
	}
	return out
}

var errEmpty = errors.New("no data: the query returned an empty result")

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
	default:
		return 0, fmt.Errorf("returned a %s; an SLI needs one number (a scalar or a one-sample vector)", v.Type())
	}
	if math.IsNaN(f) {
		return 0, errors.New("no data: the query returned NaN (a division by zero?)")
	}
	return f, nil
}
