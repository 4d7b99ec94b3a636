package scenarios

import (
	"net/url"
	"slices"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/loadgate/loadgate/engine"
)

// sensitiveHeaders carry credentials whatever their value looks like
// (docs/reports.md, Secrets).
var sensitiveHeaders = []string{"authorization", "cookie", "set-cookie", "x-api-key", "proxy-authorization"}

// compiler validates what needs the whole Spec (names unique, URLs joined to
// base_url) and builds the plan.
type compiler struct {
	el      *errorList
	src     *source
	spec    *Spec
	base    string // base_url, "" when missing or invalid
	secrets map[string]bool
}

func (c *compiler) plan() engine.Plan {
	s := c.spec
	p := engine.Plan{
		Name:      s.Name,
		Load:      s.Load.Load,
		Interval:  s.Load.Interval,
		Grace:     s.Load.Grace,
		Data:      c.feeders(),
		NoCookies: !s.Cookies,
	}
	c.checkBase()
	seen := map[string]Pos{}
	for _, f := range s.Flows {
		if first, dup := seen[f.Name]; dup && f.Name != "" {
			c.el.at(f.Pos.Line, f.Pos.Col, "duplicate flow name %q (first at line %d)", f.Name, first.Line)
		}
		seen[f.Name] = f.Pos
		c.checkRefs(f)
		p.Flows = append(p.Flows, engine.Flow{Name: f.Name, Weight: f.Weight, Steps: c.steps(f), Groups: groups(f)})
		c.checkLogic(f, &p.Flows[len(p.Flows)-1], p.Data)
	}
	c.checkLoad(&p)
	return p
}

func (c *compiler) checkBase() {
	s := c.spec
	n := s.baseURLNode
	switch {
	case n == nil:
		return
	case s.BaseURL == "" && n.ShortTag() == "!!str":
		c.el.node(n, "base_url must not be empty")
		return
	case s.BaseURL == "":
		return // not a string, and reported
	}
	if msg := checkAbsURL(s.BaseURL); msg != "" {
		c.el.node(n, "base_url: %s", msg)
		return
	}
	// Step paths are appended to base_url: after a query or a fragment they
	// would become part of it (base_url: http://h/?v=1 and get: /items sent
	// /?v=1/items), docs/scenario-reference.md.
	if i := strings.IndexAny(s.BaseURL, "?#"); i >= 0 {
		line, col := c.src.at(n, i)
		if s.BaseURL[i] == '#' {
			c.el.at(line, col, "base_url %q has a fragment (%s): it is never sent, and each step's path would be appended to it; "+
				"base_url is scheme://host[:port][/prefix]", s.BaseURL, s.BaseURL[i:])
		} else {
			c.el.at(line, col, "base_url %q has a query (%s): each step's path would be appended to it, inside the query; "+
				"base_url is scheme://host[:port][/prefix], and a query goes in a step's path (get: /items%s)", s.BaseURL, s.BaseURL[i:], s.BaseURL[i:])
		}
		return
	}
	c.base = strings.TrimRight(s.BaseURL, "/")
}

func (c *compiler) steps(f FlowSpec) []engine.Step {
	out := make([]engine.Step, 0, len(f.Steps))
	seen := map[string]Pos{}
	for _, st := range f.Steps {
		if first, dup := seen[st.Name]; dup && st.Name != "" {
			c.el.at(st.Pos.Line, st.Pos.Col, "duplicate step name %q in flow %q (first at line %d)", st.Name, f.Name, first.Line)
		}
		seen[st.Name] = st.Pos
		timeout := st.Timeout
		if timeout == 0 {
			timeout = c.spec.Defaults.Timeout
		}
		if timeout == 0 {
			timeout = engine.DefaultTimeout
		}
		step := engine.Step{
			Name:         st.Name,
			Method:       st.Method,
			URL:          c.url(st),
			Headers:      c.headers(st),
			Body:         st.Body,
			BodyEscape:   st.BodyEscape,
			BodyVerbatim: st.BodyVerbatim,
			Timeout:      timeout,
			Accept:       st.Accept,
			Think:        st.Think,
			ThinkMax:     st.ThinkMax,
			Captures:     st.Captures,
			Checks:       st.Checks,
			MaxBody:      orDefault(0, nonZero(st.MaxBody), nonZero(c.spec.Defaults.MaxBody)),
			MaxRedirects: orDefault(engine.DefaultMaxRedirects, st.MaxRedirects, c.spec.Defaults.MaxRedirects),
			Logic:        st.Logic.plan(),
		}
		switch {
		case st.GRPC != nil:
			c.compileGRPC(&st, &step)
		case st.WS != nil:
			c.compileWS(&st, &step)
		}
		out = append(out, step)
	}
	return out
}

// url makes a step's target absolute: a path is joined to base_url (keeping
// any path prefix of base_url, so base_url: http://h/api and get: /items
// give http://h/api/items), an http(s) URL is used as it is.
func (c *compiler) url(st StepSpec) string {
	n := st.targetNode
	switch t := st.Target; {
	case n == nil || t == "" && n.Value != "":
		return "" // already reported
	case strings.HasPrefix(t, "/"):
		return c.joinBase(n, t, "", [2]string{"http", "https"})
	case strings.HasPrefix(t, "http://") || strings.HasPrefix(t, "https://"):
		if msg := checkTemplatedURL(t); msg != "" {
			c.el.node(n, "%s", msg)
			return ""
		}
		if msg := checkAbsURL(plainTemplate(t)); msg != "" {
			c.el.node(n, "%s", msg)
			return ""
		}
		return t
	default:
		c.el.node(n, "invalid URL %q: want a path starting with / or an absolute http:// or https:// URL", t)
		return ""
	}
}

// joinBase joins the path t (n's value) to base_url, keeping any path
// prefix of base_url; it returns "" when it cannot (reported). key names
// the value in errors: "" for a request step's URL, else the key it is
// written under (ws.connect). schemes are those of the absolute URL that
// could be written instead of the path (http and https).
func (c *compiler) joinBase(n *yaml.Node, t, key string, schemes [2]string) string {
	needs, invalid := "path", "URL path"
	if key != "" {
		needs, invalid = key, key+" path"
	}
	switch {
	case c.spec.baseURLNode == nil:
		c.el.node(n, "%s %q needs base_url (or write an absolute %s:// or %s:// URL)", needs, t, schemes[0], schemes[1])
		return ""
	case c.base == "":
		return "" // base_url is invalid, and reported
	}
	if strings.ContainsAny(plainTemplate(t), " \t\r\n") {
		c.el.node(n, "invalid %s %q: encode spaces as %%20", invalid, t)
		return ""
	}
	return c.base + t
}

// checkAbsURL returns what is wrong with an absolute http(s) URL, or "".
func checkAbsURL(s string) string {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return "invalid URL " + quote(s) + ": " + strings.TrimPrefix(err.Error(), "parse "+quote(s)+": ")
	case u.Scheme != "http" && u.Scheme != "https":
		return "invalid URL " + quote(s) + ": want an http:// or https:// URL"
	case u.Host == "":
		return "invalid URL " + quote(s) + ": no host"
	case u.User != nil:
		// Quoted without them: this message must not leak them either
		// (docs/reports.md, "What outputs may name").
		return "invalid URL " + quote(u.Scheme+"://***@"+u.Host) + ": credentials in the URL would leak into reports; use an Authorization header"
	}
	return ""
}

// headers merges the step's headers over the defaults (names compare
// without case), adds Content-Type for json bodies, and sorts by name so
// that plans compare equal across runs.
func (c *compiler) headers(st StepSpec) []engine.Header {
	byName := map[string]engine.Header{}
	for _, h := range c.spec.Defaults.Headers {
		byName[strings.ToLower(h.Key)] = h
	}
	for _, h := range st.Headers {
		byName[strings.ToLower(h.Key)] = h
	}
	if _, ok := byName["content-type"]; st.JSON && !ok {
		byName["content-type"] = engine.Header{Key: "Content-Type", Value: "application/json"}
	}
	if _, ok := byName["content-type"]; st.BodyEscape == engine.EscapeForm && !ok {
		byName["content-type"] = engine.Header{Key: "Content-Type", Value: "application/x-www-form-urlencoded"}
	}
	out := make([]engine.Header, 0, len(byName))
	for name, h := range byName {
		out = append(out, h)
		// A templated value is not known here; the template text is what
		// reports show, and is no secret.
		if h.Value != "" && slices.Contains(sensitiveHeaders, name) && !engine.HasTemplate(h.Value) {
			c.addSecret(h.Value)
		}
	}
	sort.Slice(out, func(i, j int) bool { return strings.ToLower(out[i].Key) < strings.ToLower(out[j].Key) })
	if len(out) == 0 {
		return nil
	}
	return out
}

// addSecret records a credential; for "Scheme credentials" the credentials
// alone are recorded too, since they may show up without the scheme. Pieces
// shorter than minSecret bytes are not recorded: redacting them would wreck
// every output.
func (c *compiler) addSecret(v string) {
	if len(v) >= minSecret {
		c.secrets[v] = true
	}
	if _, cred, ok := strings.Cut(v, " "); ok && len(strings.TrimSpace(cred)) >= minSecret {
		c.secrets[strings.TrimSpace(cred)] = true
	}
}
