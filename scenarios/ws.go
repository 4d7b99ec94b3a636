package scenarios

// WebSocket steps (ws:), docs/scenario-reference.md "WebSocket steps": a
// session that connects, runs exchanges (send, then expect a matching
// message within a deadline, capturing from it) and closes.

import (
	"net/url"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/loadgate/loadgate/engine"
)

var (
	wsKeys         = []string{"connect", "subprotocols", "send", "expect", "capture", "exchanges", "ping", "close_after"}
	wsExchangeKeys = []string{"send", "expect", "capture"}
	wsExpectKeys   = []string{"json", "body_contains", "within"}
	wsMessageKeys  = []string{"text", "json"}
	// wsNotKeys are the step keys of an HTTP request that a WebSocket step
	// has no use for, and where their part is in a ws: block.
	wsNotKeys = map[string]string{
		"body":          "a WebSocket step sends messages: write them under ws.send",
		"json":          "a WebSocket step sends messages: write send: { json: ... } under ws",
		"form":          "a WebSocket step sends messages: write them under ws.send",
		"body_file":     "a WebSocket step sends messages: write them under ws.send",
		"check":         "a WebSocket step judges the messages it receives: write expect: { json: ..., body_contains: ... } under ws",
		"capture":       "a WebSocket step captures from the message an expect matched: write capture: under ws (beside that expect)",
		"max_redirects": "a WebSocket handshake follows no redirect",
	}
)

// MaxWSExchanges bounds the exchanges of one WebSocket step.
const MaxWSExchanges = 100

// WSSpec is a ws: block as written. The checks and captures of its
// expectations are the step's (StepSpec.Checks, StepSpec.Captures), in
// the order of the exchanges, as engine.WSSession wants them.
type WSSpec struct {
	// Connect is the path (joined to base_url, whose http becomes ws and
	// https wss) or the ws:// or wss:// URL, as written with ${VAR}s
	// replaced.
	Connect string
	Session engine.WSSession

	connectNode *yaml.Node
}

// wsStep decodes the ws: block n of step s into s (fs are the step's
// fields; path is the block's, flows[0].steps[1].ws).
func (d *decoder) wsStep(n *yaml.Node, fs map[string]field, s *StepSpec, path string) {
	where := "in " + strings.TrimSuffix(path, ".ws")
	for _, k := range slices.Sorted(mapKeys(wsNotKeys)) {
		if f, ok := fs[k]; ok {
			d.el.node(f.key, "key %q %s: %s", k, where, wsNotKeys[k])
		}
	}
	ws := &WSSpec{}
	s.WS = ws
	wf := d.fields(n, "in "+path, wsKeys, nil)
	d.require(n, wf, "in "+path, "connect")
	if c, ok := wf["connect"]; ok {
		ws.connectNode = c.val
		if _, ok := d.str(c.val, "ws.connect"); ok && d.urlVars(c.val) && d.template(c.val) {
			ws.Connect = c.val.Value
		}
	}
	if p, ok := wf["subprotocols"]; ok {
		ws.Session.Subprotocols = d.subprotocols(p.val)
	}
	if p, ok := wf["ping"]; ok {
		ws.Session.Ping, _ = d.duration(p.val, "ws.ping", time.Millisecond)
	}
	if p, ok := wf["close_after"]; ok {
		ws.Session.CloseAfter, _ = d.duration(p.val, "ws.close_after", time.Millisecond)
	}
	ex, hasList := wf["exchanges"]
	var short []*yaml.Node
	for _, k := range wsExchangeKeys {
		if sf, ok := wf[k]; ok {
			short = append(short, sf.key)
		}
	}
	switch {
	case hasList && len(short) > 0:
		d.el.node(short[0], "ws has exchanges and %s: write every send, expect and capture in the exchanges", short[0].Value)
	case hasList:
		items := d.list(ex.val, "exchanges")
		if ex.val.Kind == yaml.SequenceNode && len(items) == 0 {
			d.el.node(ex.val, "ws.exchanges must not be empty")
		}
		if len(items) > MaxWSExchanges {
			d.el.node(items[MaxWSExchanges], "ws.exchanges: at most %d exchanges in one step", MaxWSExchanges)
			items = items[:MaxWSExchanges]
		}
		for i, it := range items {
			d.wsExchange(it, wsFields(d, it, path+".exchanges["+itoa(i)+"]"), s, path+".exchanges["+itoa(i)+"]")
		}
	case len(short) > 0:
		d.wsExchange(n, wf, s, path)
	}
}

func wsFields(d *decoder, n *yaml.Node, path string) map[string]field {
	fs := d.fields(n, "in "+path, wsExchangeKeys, nil)
	if n.Kind == yaml.MappingNode && len(fs) == 0 && len(n.Content) == 0 {
		d.el.node(n, "empty exchange in %s: want send, expect or both", path)
	}
	return fs
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// wsExchange decodes one exchange (the fields send, expect and capture of
// fs) into s.
func (d *decoder) wsExchange(n *yaml.Node, fs map[string]field, s *StepSpec, path string) {
	ws := s.WS
	var x engine.WSExchange
	// The templates of this exchange may use the captures of the earlier
	// ones: they run before it, in the same session.
	var earlier []string
	for _, c := range s.Captures {
		earlier = append(earlier, c.Name)
	}
	if f, ok := fs["send"]; ok {
		from := 0
		if d.refs != nil {
			from = len(*d.refs)
		}
		for _, it := range d.oneOrList(f.val, "send") {
			if m, ok := d.wsMessage(it, path+".send"); ok {
				x.Send = append(x.Send, m)
			}
		}
		if d.refs != nil && len(earlier) > 0 {
			for i := from; i < len(*d.refs); i++ {
				(*d.refs)[i].local = earlier
			}
		}
	}
	if f, ok := fs["expect"]; ok {
		x.Expect = true
		checks, within := d.wsExpect(f.val, path+".expect")
		x.Checks, x.Within = len(checks), within
		s.Checks = append(s.Checks, checks...)
	}
	if f, ok := fs["capture"]; ok {
		if !x.Expect {
			d.el.node(f.key, "capture in %s needs an expect: it captures from the message that matched it", path)
		} else {
			caps := d.wsCaptures(f.val, path+".capture")
			x.Captures = len(caps)
			s.Captures = append(s.Captures, caps...)
			if s.captureNode == nil {
				s.captureNode = f.val
			}
		}
	}
	if len(s.Checks) > 64 {
		d.el.node(n, "a WebSocket step has at most 64 expect checks in all, this one %d", len(s.Checks))
	}
	ws.Session.Exchanges = append(ws.Session.Exchanges, x)
}

// wsMessage decodes one message to send: a string (text), { text: ... }
// or { json: ... }.
func (d *decoder) wsMessage(n *yaml.Node, path string) (engine.WSMessage, bool) {
	switch n.Kind {
	case yaml.ScalarNode:
		t := d.text(n, "a message to send")
		if n.ShortTag() == "!!null" || !d.template(n) {
			return engine.WSMessage{}, false
		}
		return engine.WSMessage{Text: t}, true
	case yaml.MappingNode:
	default:
		d.el.node(n, "expected a message to send in %s: a string, { text: ... } or { json: ... }, got %s", path, kindName(n))
		return engine.WSMessage{}, false
	}
	fs := d.fields(n, "in "+path, wsMessageKeys, nil)
	if len(fs) != 1 {
		if len(fs) > 1 || len(n.Content) == 0 {
			d.el.node(n, "a message to send in %s has one of text or json, not both", path)
		}
		return engine.WSMessage{}, false
	}
	if f, ok := fs["text"]; ok {
		t := d.text(f.val, "text")
		if f.val.Kind != yaml.ScalarNode || !d.template(f.val) {
			return engine.WSMessage{}, false
		}
		return engine.WSMessage{Text: t}, true
	}
	var w strings.Builder
	if !d.jsonValue(&w, fs["json"].val) {
		return engine.WSMessage{}, false
	}
	return engine.WSMessage{Text: w.String(), Escape: engine.EscapeJSON}, true
}

// wsExpect decodes expect: { json: ..., body_contains: ..., within: 2s }
// (each check optional; none matches any message).
func (d *decoder) wsExpect(n *yaml.Node, path string) (checks []engine.Check, within time.Duration) {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return nil, 0 // expect: with nothing: any message
	}
	fs := d.fields(n, "in "+path, wsExpectKeys, nil)
	// An expect's checks are its json ones, then its body_contains ones
	// (a step's check puts body_contains first).
	if f, ok := fs["json"]; ok {
		checks = append(checks, d.jsonChecks(f.val, path+".json")...)
	}
	if f, ok := fs["body_contains"]; ok {
		checks = append(checks, d.bodyContains(f.val)...)
	}
	if f, ok := fs["within"]; ok {
		within, _ = d.duration(f.val, "expect.within", time.Millisecond)
	}
	return checks, within
}

// wsCaptures decodes a capture: block of an exchange: json or regex, as a
// step's (a message has no headers).
func (d *decoder) wsCaptures(n *yaml.Node, path string) []engine.Capture {
	if n.Kind == yaml.MappingNode {
		for i := 1; i < len(n.Content); i += 2 {
			v := n.Content[i]
			if v.Kind != yaml.MappingNode {
				continue
			}
			for j := 0; j+1 < len(v.Content); j += 2 {
				if v.Content[j].Value == "header" {
					d.el.node(v.Content[j], "capture %s: a WebSocket message has no headers: capture with json or regex", n.Content[i-1].Value)
				}
			}
		}
	}
	var out []engine.Capture
	for _, c := range d.captures(n, path) {
		if c.From != engine.CaptureHeader {
			out = append(out, c)
		}
	}
	return out
}

// subprotocols decodes a list of subprotocol names (RFC 6455 tokens).
func (d *decoder) subprotocols(n *yaml.Node) []string {
	items := d.list(n, "subprotocols")
	if n.Kind == yaml.SequenceNode && len(items) == 0 {
		d.el.node(n, "ws.subprotocols must not be an empty list (leave it out to offer none)")
	}
	var out []string
	for _, it := range items {
		p, ok := d.str(it, "a subprotocol")
		switch {
		case !ok:
		case !validHeaderName(p):
			d.el.node(it, "invalid subprotocol %q: want a token such as chat.v1 (no spaces, commas or quotes)", p)
		case slices.Contains(out, p):
			d.el.node(it, "duplicate subprotocol %q", p)
		default:
			out = append(out, p)
		}
	}
	return out
}

// wsURL makes a WebSocket step's URL absolute: a path is joined to
// base_url with its scheme made ws (http) or wss (https); a ws:// or
// wss:// URL is used as it is.
func (c *compiler) wsURL(ws *WSSpec) string {
	n := ws.connectNode
	switch t := ws.Connect; {
	case n == nil || t == "" && n.Value != "":
		return "" // already reported
	case strings.HasPrefix(t, "/"):
		u := c.joinBase(n, t, "ws.connect", [2]string{"ws", "wss"})
		if u == "" {
			return ""
		}
		return "ws" + strings.TrimPrefix(u, "http") // http(s)://h/p: ws(s)://h/p
	case strings.HasPrefix(t, "ws://") || strings.HasPrefix(t, "wss://"):
		if msg := checkTemplatedURL(t); msg != "" {
			c.el.node(n, "%s", msg)
			return ""
		}
		if msg := checkWSURL(plainTemplate(t)); msg != "" {
			c.el.node(n, "%s", msg)
			return ""
		}
		return t
	case strings.HasPrefix(t, "http://") || strings.HasPrefix(t, "https://"):
		c.el.node(n, "ws.connect %q: a WebSocket URL is ws:// (over http) or wss:// (over https), or a path joined to base_url", t)
		return ""
	default:
		c.el.node(n, "invalid ws.connect %q: want a path starting with / or an absolute ws:// or wss:// URL", t)
		return ""
	}
}

// checkWSURL returns what is wrong with an absolute ws(s) URL, or "".
func checkWSURL(s string) string {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return "invalid URL " + quote(s) + ": " + strings.TrimPrefix(err.Error(), "parse "+quote(s)+": ")
	case u.Host == "":
		return "invalid URL " + quote(s) + ": no host"
	case u.User != nil:
		return "invalid URL " + quote(u.Scheme+"://***@"+u.Host) + ": credentials in the URL would leak into reports; use an Authorization header"
	case u.Fragment != "" || strings.Contains(s, "#"):
		return "invalid URL " + quote(s) + ": a WebSocket URL has no fragment"
	}
	return ""
}

// compileWS completes the engine step of a WebSocket step: its ws:// or
// wss:// URL and its session.
func (c *compiler) compileWS(st *StepSpec, step *engine.Step) {
	ws := st.WS
	step.Protocol = engine.ProtoWS
	step.URL = c.wsURL(ws)
	session := ws.Session
	step.WS = &session
	step.Method = ""
	step.Accept = nil
}
