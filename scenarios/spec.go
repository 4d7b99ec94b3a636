package scenarios

import (
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/loadgate/loadgate/engine"
	"github.com/loadgate/loadgate/slo"
)

// Spec is a scenario file decoded into typed values, before the flows are
// compiled into an engine.Plan. It also holds the sections that are parsed
// and checked for the CLI (sli).
type Spec struct {
	Version  int
	Name     string
	BaseURL  string
	Defaults Defaults
	// Cookies is the per-iteration cookie jar (cookies: false turns it off,
	// at the top level or in defaults).
	Cookies    bool
	Load       LoadSpec
	Flows      []FlowSpec
	Thresholds []ThresholdSpec
	// Confidence is the top-level confidence; nil without one.
	Confidence *ConfidenceSpec
	Data       []DataSpec
	SLI        *SLISpec
	TLS        *TLSSpec // nil without a tls section
	HTTP       HTTPSpec
	// Generator holds the generator-health tolerances (defaults when the
	// block is absent).
	Generator engine.Tolerances
	// GRPC is the top-level grpc section (grpc.go); nil without one.
	GRPC *GRPCSection

	baseURLNode *yaml.Node // nil when base_url is not given
	// planErrs counts the errors found in the parts that make up the plan,
	// before thresholds (which only read it) were decoded.
	planErrs int
}

// Defaults apply to every request.
type Defaults struct {
	Timeout time.Duration // 0: engine.DefaultTimeout
	Headers []engine.Header
	// MaxBody caps the body kept for checks and captures (0: engine
	// default); MaxRedirects is how many redirects are followed (-1: the
	// default, engine.DefaultMaxRedirects).
	MaxBody      int
	MaxRedirects int
	cookies      *bool
}

// LoadSpec is the load profile with defaults applied and the quick forms
// (rate/users + duration) expanded into stages.
type LoadSpec struct {
	engine.Load
	Interval time.Duration
	// Grace is load.graceful_stop; 0 when not set (the engine's default).
	Grace time.Duration
	// Search is load.search, nil without one: the scenario is a capacity
	// search, and the profile above is one step at its max.
	Search *SearchSpec

	// node is the load mapping; startNode the start rate (or the quick
	// rate, or the stages key), targetNodes each stage's target, for the
	// errors of checkLoad. decoded is set when the section had no error.
	node, startNode *yaml.Node
	targetNodes     []*yaml.Node
	decoded         bool
}

// FlowSpec is one flow as written.
type FlowSpec struct {
	Name   string
	Weight int
	Steps  []StepSpec
	// Groups are runs of Steps repeated or skipped as one (logic.go).
	Groups []GroupSpec
	Pos    Pos
}

// StepSpec is one request as written: Target is the path or URL before it is
// joined to base_url, Headers are the step's own (defaults not merged).
type StepSpec struct {
	Name    string
	Method  string // upper case
	Target  string
	Headers []engine.Header
	Body    []byte
	JSON    bool          // Body came from json: and is JSON
	Timeout time.Duration // 0: the default
	Think   time.Duration
	// ThinkMax > Think makes think a range (think: 100ms..300ms).
	ThinkMax time.Duration
	Accept   []int
	Checks   []engine.Check
	Captures []engine.Capture
	// BodyEscape is how template values are escaped in Body.
	BodyEscape   engine.Escape
	BodyVerbatim bool // body_file: sent as it is
	MaxBody      int  // 0: the default
	MaxRedirects int  // -1: the default
	// GRPC and WS are the call of a gRPC step (grpc.go) and the session
	// of a WebSocket step (ws.go); nil for HTTP.
	GRPC *GRPCSpec
	WS   *WSSpec
	// Logic is the step's repeat, if and stop_iteration_if (logic.go).
	Logic LogicSpec
	Pos   Pos
	// targetNode locates Target for URL errors.
	targetNode *yaml.Node
	// refs are the templated scalars of the step, in file order.
	refs []tmplRef
	// captureNode locates the capture mapping.
	captureNode *yaml.Node
}

// ThresholdSpec is one threshold expression with its options and where its
// selector was written.
type ThresholdSpec struct {
	slo.Threshold
	Selector string // as written, e.g. http_req_duration{step:search}
	Pos      Pos    // of the selector key

	expr      slo.Expr
	exprNode  *yaml.Node
	abortNode *yaml.Node // the abort_on_fail key, nil without it
	// confNode is the confidence key (nil without it; confOff when it
	// says off, which exempts the threshold from the top-level one);
	// undecidedNode the undecided key.
	confNode, undecidedNode *yaml.Node
	confOff                 bool
}

// ConfidenceSpec is the top-level confidence: the level every threshold
// it can apply to is judged at (docs/thresholds.md, "Confidence").
type ConfidenceSpec struct {
	Level     float64
	Undecided slo.Undecided
	node      *yaml.Node
}

// DataSpec is a feeder (docs/scenario-reference.md, data), loaded at parse time (data.go).
type DataSpec struct {
	Name  string
	File  string // as written
	Path  string // File resolved against the scenario's directory
	Order string // sequential, random or unique
	Pos   Pos
	// Feeder is the loaded data; nil when the file could not be read.
	Feeder *engine.Feeder

	missing map[string]missingKey // a JSON feeder's objects that lack a column
}

var topKeys = []string{"version", "name", "base_url", "defaults", "load", "flows", "thresholds", "confidence", "data", "sli", "cookies", "generator", "tls", "http", "grpc"}

// decodeSpec decodes the root mapping of a scenario file.
func (d *decoder) decodeSpec(root *yaml.Node, dir string) *Spec {
	d.dir = dir
	s := &Spec{Cookies: true, Version: 1, Generator: engine.DefaultTolerances()}
	fs := d.fields(root, "at top level", topKeys, nil)
	d.require(root, fs, "at top level", "name", "load", "flows")
	if f, ok := fs["version"]; ok {
		if v, ok := d.integer(f.val, "version", 0, 1<<31); ok && v != 1 {
			d.el.node(f.val, "unsupported version %d: this loadgate reads version 1", v)
		}
	}
	if f, ok := fs["name"]; ok {
		if s.Name = d.text(f.val, "name"); s.Name == "" && f.val.Kind == yaml.ScalarNode {
			d.el.node(f.val, "name must not be empty")
		}
	}
	if f, ok := fs["base_url"]; ok {
		s.BaseURL, _ = d.str(f.val, "base_url")
		s.baseURLNode = f.val
		d.noTemplate(f.val, "base_url")
	}
	s.Defaults.MaxRedirects = -1
	if f, ok := fs["defaults"]; ok {
		s.Defaults = d.defaults(f.val)
	}
	if f, ok := fs["cookies"]; ok {
		s.Cookies = d.boolean(f.val, "cookies")
	}
	if c := s.Defaults.cookies; c != nil {
		s.Cookies = s.Cookies && *c
	}
	if f, ok := fs["load"]; ok {
		s.Load = d.load(f.val)
	}
	if f, ok := fs["grpc"]; ok {
		// before the flows: their gRPC steps are checked against its
		// descriptors
		s.GRPC = d.grpcSection(f.val)
	}
	if f, ok := fs["flows"]; ok {
		s.Flows = d.flows(f.val)
	}
	s.planErrs = d.el.count()
	if f, ok := fs["data"]; ok {
		s.Data = d.data(f.val, dir)
	}
	if f, ok := fs["sli"]; ok {
		s.SLI = d.sli(f.val)
	}
	if f, ok := fs["tls"]; ok {
		s.TLS = d.tlsSection(f.val, dir)
	}
	if f, ok := fs["http"]; ok {
		s.HTTP = d.httpSection(f.val)
	}
	if f, ok := fs["generator"]; ok {
		s.Generator = d.generator(f.val)
	}
	if f, ok := fs["thresholds"]; ok {
		s.Thresholds = d.thresholds(f.val)
	}
	if f, ok := fs["confidence"]; ok {
		s.Confidence = d.confidence(f.val)
	}
	return s
}

func (d *decoder) defaults(n *yaml.Node) Defaults {
	out := Defaults{MaxRedirects: -1}
	fs := d.fields(n, "in defaults", []string{"timeout", "headers", "cookies", "max_body", "max_redirects"}, nil)
	d.limits(fs, &out.MaxBody, &out.MaxRedirects)
	if f, ok := fs["cookies"]; ok {
		c := d.boolean(f.val, "defaults.cookies")
		out.cookies = &c
	}
	if f, ok := fs["timeout"]; ok {
		out.Timeout, _ = d.duration(f.val, "defaults.timeout", time.Millisecond)
	}
	if f, ok := fs["headers"]; ok {
		out.Headers = d.headers(f.val, "defaults.headers")
	}
	return out
}
