package engine

// User journeys: captures take values from a response for the templates of
// later steps, checks judge a response, and each iteration has its own
// cookie jar. Everything here is compiled once per run (compileFlow) and
// evaluated by one worker on its own buffers.

import (
	"bytes"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/loadgate/loadgate/engine/internal/httpc"
	"github.com/tidwall/gjson"
	"github.com/valyala/fasthttp"
)

// JSONPathToGJSON converts the JSONPath subset users know — $, .name,
// [index], ['name'] — to a gjson path: $.items[0].id is items.0.id.
func JSONPathToGJSON(p string) (string, error) {
	if !strings.HasPrefix(p, "$") {
		return "", fmt.Errorf("JSONPath %q must start with $ (e.g. $.items[0].id)", p)
	}
	var segs []string
	rest := p[1:]
	for rest != "" {
		switch {
		case strings.HasPrefix(rest, ".."), rest == ".":
			return "", fmt.Errorf("JSONPath %q: recursive descent (..) is not supported; write the full path", p)
		case rest[0] == '.':
			end := strings.IndexAny(rest[1:], ".[")
			if end < 0 {
				end = len(rest) - 1
			}
			name := rest[1 : 1+end]
			if name == "*" || name == "" {
				return "", fmt.Errorf("JSONPath %q: wildcards are not supported; want $.a.b, $.a[0] or $['a']", p)
			}
			segs = append(segs, gjsonEscape(name))
			rest = rest[1+end:]
		case strings.HasPrefix(rest, "['") || strings.HasPrefix(rest, `["`):
			q := rest[1]
			end := strings.Index(rest[2:], string(q)+"]")
			if end < 0 {
				return "", fmt.Errorf("JSONPath %q: unclosed [%c", p, q)
			}
			if end == 0 {
				// gjson has no spelling of it in every place: two at the
				// start make "..", its JSON-lines prefix (FuzzJSONPathToGJSON).
				return "", fmt.Errorf("JSONPath %q: an empty key ([%c%c]) is not supported", p, q, q)
			}
			segs = append(segs, gjsonEscape(rest[2:2+end]))
			rest = rest[2+end+2:]
		case rest[0] == '[':
			end := strings.IndexByte(rest, ']')
			idx := ""
			if end > 0 {
				idx = rest[1:end]
			}
			if idx == "" || strings.Trim(idx, "0123456789") != "" {
				return "", fmt.Errorf("JSONPath %q: want an array index such as [0] (filters, slices and wildcards are not supported)", p)
			}
			segs = append(segs, idx)
			rest = rest[end+1:]
		default:
			return "", fmt.Errorf("JSONPath %q: unexpected %q; want $.a.b, $.a[0] or $['a']", p, rest[:1])
		}
	}
	if len(segs) == 0 {
		return "@this", nil
	}
	return strings.Join(segs, "."), nil
}

// gjsonSyntax are the bytes of gjson's path syntax. '[' and '{' start a
// multipath at the head of a path or after a dot ("a.[0]" is not the key
// "[0]"); FuzzJSONPathToGJSON found them.
const gjsonSyntax = ".*?|#@\\!=<>%[{"

// gjsonEscape escapes gjson's path syntax in a key.
func gjsonEscape(k string) string {
	if !strings.ContainsAny(k, gjsonSyntax) {
		return k
	}
	var b strings.Builder
	for i := 0; i < len(k); i++ {
		if strings.IndexByte(gjsonSyntax, k[i]) >= 0 {
			b.WriteByte('\\')
		}
		b.WriteByte(k[i])
	}
	return b.String()
}

// captureExec is a compiled capture.
type captureExec struct {
	c    *Capture
	slot int
	path string // gjson path
	re   *regexp.Regexp
}

// checkExec is a compiled check.
type checkExec struct {
	c      *Check
	path   string // gjson path
	want   gjson.Result
	needle []byte // body_contains value, converted once
}

// headerTmpl is a header whose value is a template.
type headerTmpl struct {
	key string
	t   *template
}

// stepPlan is what compileFlow makes of a step beyond its fixed request.
type stepPlan struct {
	url      *template // path and query; nil when literal
	prefix   string    // scheme://host of the URL
	host     string
	hostB    []byte // host, for the cookie jar
	headers  []headerTmpl
	body     *template
	captures []captureExec
	checks   []checkExec
	needBody bool
	// proto is the compiled step of a non-HTTP protocol (proto.go); nil
	// for HTTP.
	proto protoStep
}

// dynamic reports whether the request changes per iteration.
func (sp *stepPlan) dynamic() bool {
	return sp.url != nil || len(sp.headers) > 0 || sp.body != nil
}

// flowPlan is a compiled flow.
type flowPlan struct {
	steps   []stepPlan
	slots   int   // capture slots
	feeders []int // feeders the flow reads, one row each per iteration
	// logic is the flow's compiled logic (logic.go); nil for a flow
	// without, which worker.iterate runs in its plain loop.
	logic *flowLogic
}

// compileFlow compiles the templates, captures and checks of f, resolving
// names: a capture is visible to the steps after its own.
func compileFlow(f *Flow, data []Feeder) (*flowPlan, error) {
	fp := &flowPlan{steps: make([]stepPlan, len(f.Steps))}
	rs := &resolver{captures: map[string]int{}, feeders: data, used: map[int]bool{}}
	for si := range f.Steps {
		st := &f.Steps[si]
		sp, err := compileStep(st, rs)
		if err != nil {
			return nil, fmt.Errorf("engine: flow %q step %q: %w", f.Name, st.Name, err)
		}
		for i := range st.Captures {
			c := &st.Captures[i]
			slot, ok := rs.captures[c.Name]
			if !ok {
				slot = len(rs.captures)
				rs.captures[c.Name] = slot
			}
			sp.captures[i].slot = slot
		}
		fp.steps[si] = *sp
	}
	fp.slots = len(rs.captures)
	if err := fp.compileLogic(f, data, rs); err != nil {
		return nil, err
	}
	for fi := range data {
		if rs.used[fi] {
			fp.feeders = append(fp.feeders, fi)
		}
	}
	return fp, nil
}

func compileStep(st *Step, rs *resolver) (*stepPlan, error) {
	sp := &stepPlan{}
	scheme, rest, ok := strings.Cut(st.URL, "://")
	if !ok {
		return nil, fmt.Errorf("bad url %q", st.URL)
	}
	host := rest
	path := ""
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		host, path = rest[:i], rest[i:]
	}
	if HasTemplate(scheme) || HasTemplate(host) {
		return nil, fmt.Errorf("url %q: templates may only be in the path and query, not in the scheme or host", st.URL)
	}
	sp.prefix, sp.host = scheme+"://"+host, host
	var err error
	if sp.url, err = compileTemplate(path, EscapeURL, rs); err != nil {
		return nil, fmt.Errorf("url: %w", err)
	}
	if sp.url != nil && !strings.HasPrefix(path, "/") {
		// a query right after the host: the request target needs a path
		sp.url.parts = append([]part{{kind: partLit, lit: "/"}}, sp.url.parts...)
	}
	for _, h := range st.Headers {
		t, err := compileTemplate(h.Value, EscapeHeader, rs)
		if err != nil {
			return nil, fmt.Errorf("header %s: %w", h.Key, err)
		}
		if t != nil {
			sp.headers = append(sp.headers, headerTmpl{key: h.Key, t: t})
		}
	}
	if !st.BodyVerbatim {
		if sp.body, err = compileTemplate(string(st.Body), st.BodyEscape, rs); err != nil {
			return nil, fmt.Errorf("body: %w", err)
		}
	}
	for i := range st.Captures {
		c := &st.Captures[i]
		ce := captureExec{c: c}
		switch c.From {
		case CaptureJSON:
			if ce.path, err = JSONPathToGJSON(c.Expr); err != nil {
				return nil, fmt.Errorf("capture %s: %w", c.Name, err)
			}
			sp.needBody = true
		case CaptureRegex:
			if ce.re, err = regexp.Compile(c.Expr); err != nil {
				return nil, fmt.Errorf("capture %s: %w", c.Name, err)
			}
			sp.needBody = true
		}
		if !validVar(c.Name) {
			return nil, fmt.Errorf("capture name %q: want letters, digits, _ or -", c.Name)
		}
		sp.captures = append(sp.captures, ce)
	}
	for i := range st.Checks {
		c := &st.Checks[i]
		ce := checkExec{c: c}
		switch c.Kind {
		case CheckJSONEquals, CheckJSONExists:
			if ce.path, err = JSONPathToGJSON(c.Path); err != nil {
				return nil, fmt.Errorf("check: %w", err)
			}
			if c.Kind == CheckJSONEquals {
				if !gjson.Valid(c.Value) {
					return nil, fmt.Errorf("check %s: equals %q is not a JSON value", c.Path, c.Value)
				}
				ce.want = gjson.Parse(c.Value)
			}
			sp.needBody = true
		case CheckBodyContains:
			ce.needle = []byte(c.Value)
			sp.needBody = true
		}
		sp.checks = append(sp.checks, ce)
	}
	if st.Protocol != ProtoHTTP {
		k, err := kindOf(st)
		if err != nil {
			return nil, err
		}
		if sp.proto, err = k.compile(st, sp, rs); err != nil {
			return nil, err
		}
	}
	return sp, nil
}

// judge runs the step's checks and returns the set of those that held (bit
// i for check i). A response that never came (err) holds none. status is
// what a status check compares: the HTTP status, or a gRPC code; resp is
// nil for a non-HTTP step (a header check then never holds).
func (sp *stepPlan) judge(resp *fasthttp.Response, status int, body []byte, service time.Duration, got bool) (held uint64) {
	if !got {
		return 0
	}
	for i := range sp.checks {
		if sp.checks[i].holds(resp, status, body, service) {
			held |= 1 << i
		}
	}
	return held
}

func (ce *checkExec) holds(resp *fasthttp.Response, status int, body []byte, service time.Duration) bool {
	c := ce.c
	switch c.Kind {
	case CheckStatus:
		for _, s := range c.Statuses {
			if s == status {
				return true
			}
		}
		return false
	case CheckBodyContains:
		return bytes.Contains(body, ce.needle)
	case CheckJSONExists:
		return gjson.GetBytes(body, ce.path).Exists()
	case CheckJSONEquals:
		return jsonEqual(gjson.GetBytes(body, ce.path), ce.want)
	case CheckHeaderEquals:
		return resp != nil && string(resp.Header.Peek(c.Path)) == c.Value
	case CheckMaxDuration:
		return service <= c.MaxDuration
	}
	return false
}

// jsonEqual compares two JSON values: numbers by value, strings by text,
// literals by type, objects and arrays by their compact text.
func jsonEqual(got, want gjson.Result) bool {
	if !got.Exists() || got.Type != want.Type {
		return false
	}
	switch want.Type {
	case gjson.Number:
		return got.Num == want.Num
	case gjson.String:
		return got.Str == want.Str
	case gjson.JSON:
		return compactJSON(got.Raw) == compactJSON(want.Raw)
	}
	return true
}

func compactJSON(s string) string {
	return gjson.Get(s, "@ugly").Raw
}

// capture runs the step's captures into v. On a miss it returns the
// capture that found nothing. resp is nil for a non-HTTP step.
func (sp *stepPlan) capture(resp *fasthttp.Response, body []byte, v *vars) *captureExec {
	for i := range sp.captures {
		ce := &sp.captures[i]
		dst := v.captures[ce.slot][:0]
		switch ce.c.From {
		case CaptureJSON:
			r := gjson.GetBytes(body, ce.path)
			if !r.Exists() {
				return ce
			}
			if r.Type == gjson.String {
				dst = append(dst, r.Str...)
			} else {
				dst = append(dst, r.Raw...)
			}
		case CaptureRegex:
			m := ce.re.FindSubmatchIndex(body)
			if m == nil {
				return ce
			}
			if len(m) >= 4 && m[2] >= 0 {
				dst = append(dst, body[m[2]:m[3]]...)
			} else {
				dst = append(dst, body[m[0]:m[1]]...)
			}
		case CaptureHeader:
			if resp == nil {
				return ce
			}
			h := resp.Header.Peek(ce.c.Expr)
			if h == nil {
				return ce
			}
			dst = append(dst, h...)
		}
		v.captures[ce.slot] = dst
	}
	return nil
}

// captureError is the sample message of a failed capture.
func captureError(step string, ce *captureExec, status int, bodyLen int, truncated bool) error {
	what := map[CaptureFrom]string{CaptureJSON: "JSONPath", CaptureRegex: "regex", CaptureHeader: "header"}[ce.c.From]
	msg := fmt.Sprintf("step %q: capture %s: %s %s found nothing in the response (status %d, %d body bytes", step, ce.c.Name, what, ce.c.Expr, status, bodyLen)
	if truncated {
		msg += ", cut at max_body"
	}
	return fmt.Errorf("%s); the iteration stopped there", msg)
}

// journeys is the part of a run's state that journeys add: compiled flows,
// feeder cursors, and the clients of hosts reached by redirects.
type journeys struct {
	flows     []*flowPlan
	cursors   cursors
	exhausted atomic.Pointer[dataExhaustedError]
	// maxSlots is the most capture slots of any flow.
	maxSlots int
	// doers by target (scheme://host); redirects may add to it.
	doersMu sync.Mutex
	doers   map[string]httpc.Doer
	mkDoer  func(target string) (httpc.Doer, error)
}

// prepareJourneys compiles every flow once for the run.
func (r *run) prepareJourneys(doers map[string]httpc.Doer, mk func(string) (httpc.Doer, error)) error {
	if err := r.plan.validateData(); err != nil {
		return err
	}
	r.doers, r.mkDoer = doers, mk
	r.cursors = make(cursors, len(r.plan.Data))
	r.flows = make([]*flowPlan, len(r.plan.Flows))
	for fi := range r.plan.Flows {
		fp, err := compileFlow(&r.plan.Flows[fi], r.plan.Data)
		if err != nil {
			return err
		}
		for si := range fp.steps {
			fp.steps[si].hostB = []byte(fp.steps[si].host)
		}
		r.flows[fi] = fp
		r.maxSlots = max(r.maxSlots, fp.slots)
	}
	return nil
}

// doerFor returns the client of target, creating it on first use (a
// redirect to a host the plan does not name).
func (r *run) doerFor(target string) (httpc.Doer, error) {
	if u, err := url.Parse(target); err == nil && u.Host != "" {
		target = targetKey(u)
	}
	r.doersMu.Lock()
	defer r.doersMu.Unlock()
	if d, ok := r.doers[target]; ok {
		return d, nil
	}
	d, err := r.mkDoer(target)
	if err != nil {
		return nil, err
	}
	r.doers[target] = d
	return d, nil
}

// exhaust ends the run's scheduling because a unique feeder ran out.
func (r *run) exhaust(f *Feeder) {
	r.exhausted.CompareAndSwap(nil, &dataExhaustedError{Feeder: f.Name, Rows: len(f.Rows)})
	r.halt()
}
