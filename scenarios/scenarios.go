package scenarios

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"go.yaml.in/yaml/v3"

	"github.com/loadgate/loadgate/engine"
	"github.com/loadgate/loadgate/slo"
)

// Scenario is a compiled scenario file: what the engine runs and what gates
// it.
type Scenario struct {
	Name   string // the scenario's name
	Path   string // the file it came from, as given
	SHA256 string // hex SHA-256 of the file's bytes, for reports
	// Plan is compiled and passes Plan.Validate.
	Plan engine.Plan
	// Thresholds are in file order, each with a checked selector and
	// expression.
	Thresholds []slo.Threshold
	// Secrets are values to redact from every output: values of ${...}
	// variables whose names look secret (PASSWORD, SECRET, TOKEN, KEY, AUTH,
	// CREDENTIAL) and credential headers (Authorization, Cookie, X-Api-Key);
	// values under 8 bytes, and variables' numbers and booleans, are left
	// out (isSecretValue).
	// Longest first, so that a redactor replacing them in order never leaves
	// the tail of a longer secret behind.
	Secrets []string
	// Generator are the generator-health tolerances of the generator block
	// (defaults when it is absent).
	Generator engine.Tolerances
	// Search is the capacity search of load.search, nil without one
	// (docs/capacity.md): the plan's load is then one step at its max.
	Search *SearchSpec
	// spec is the decoded file, including the data files as loaded; the
	// run reads its sli and tls sections through SLI and TLSOptions.
	spec *Spec

	src *source // the file's text, for positions inside expressions
}

// Load reads and compiles the scenario file at path. lookup supplies ${VAR}
// values: the process environment overlaid by -e KEY=VALUE (see EnvLookup);
// nil means no variable is set. Invalid files yield Errors; a plan the
// options make unable to run yields an *OverrideError.
func Load(path string, lookup func(string) (string, bool), opts ...Option) (*Scenario, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("scenarios: %w", err)
	}
	defer f.Close()
	// One byte more than the limit is enough for Parse to report the size
	// without reading a giant file into memory.
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("scenarios: %w", err)
	}
	return Parse(path, data, lookup, opts...)
}

// Parse compiles a scenario from data. name is the file name used in error
// positions; relative data files are resolved against its directory.
// The options are applied once to the compiled plan, which is then
// validated once.
func Parse(name string, data []byte, lookup func(string) (string, bool), opts ...Option) (*Scenario, error) {
	el := &errorList{file: name, bad: map[*yaml.Node]bool{}}
	sum := sha256.Sum256(data)
	root := parseTree(data, el)
	if root == nil {
		return nil, el.result()
	}
	src := newSource(data)
	sub := &substituter{lookup: lookup, src: src, el: el, secrets: map[string]bool{}, quoted: map[*yaml.Node]bool{}, spans: map[*yaml.Node][]varSpan{}}
	sub.walk(root)
	d := &decoder{el: el, src: src, quoted: sub.quoted, spans: sub.spans}
	spec := d.decodeSpec(root, filepath.Dir(name))
	decoded := el.count()
	c := &compiler{el: el, src: src, spec: spec, secrets: sub.secrets}
	plan := c.plan()
	checkHTTPVersion(el, spec.HTTP, &plan)
	planOK := spec.planErrs == 0 && el.count() == decoded
	d.resolveThresholds(&plan, spec.Thresholds, spec.Confidence, planOK)
	checkSearchThresholds(el, spec)
	el.redact(c.secrets) // errors may quote substituted values
	if err := el.result(); err != nil {
		return nil, err
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if spec.Load.Search != nil {
		// A search chooses its own rates and is not cut into segments: its
		// plan's load is one step at its max, which no override replaces
		// (the CLI refuses --rate, --duration and --segment on a search).
		o = options{}
	}
	o.apply(&plan)
	if e := plan.CheckLoad(); e != nil && o.profile() {
		return nil, &OverrideError{Load: e}
	}
	// The checks above report every user error with a position; this only
	// catches a gap between them and the engine's invariants, or a segment
	// the plan cannot be cut into.
	if err := plan.Validate(); err != nil {
		if o.profile() || !o.segment.Whole() {
			return nil, &OverrideError{Err: err}
		}
		el.at(1, 1, "%v", err)
		return nil, el.result()
	}
	sc := &Scenario{
		Name:      spec.Name,
		Path:      name,
		SHA256:    hex.EncodeToString(sum[:]),
		Plan:      plan,
		Secrets:   sortedSecrets(c.secrets),
		Generator: spec.Generator,
		Search:    spec.Load.Search,
		spec:      spec,
		src:       src,
	}
	for _, t := range spec.Thresholds {
		sc.Thresholds = append(sc.Thresholds, t.Threshold)
	}
	return sc, nil
}

func sortedSecrets(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for s := range m {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b string) int {
		if c := cmp.Compare(len(b), len(a)); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	return out
}

// CheckBaseline checks the baseline thresholds against the baseline run
// once it is known (loadgate run --baseline): base resolves a threshold's
// value in the baseline, as slo.Options.Baseline does. A limit that could
// never pass on that value (rate < baseline + 1% on a baseline without
// errors is rate < 0) is an error at the threshold, with the form to write
// instead (docs/thresholds.md, Baselines). Thresholds the baseline lacks
// are left to the evaluator, which skips them with a warning. It returns
// Errors, or nil.
// StepPos is where the scenario wrote step of flow, for an error found
// about it after load (engine.StepError): a gRPC step's method, else the
// step's name. The file's start when there is no such step.
func (sc *Scenario) StepPos(flow, step string) Pos {
	if sc.spec == nil {
		return Pos{Line: 1, Col: 1}
	}
	for _, f := range sc.spec.Flows {
		if f.Name != flow {
			continue
		}
		for _, st := range f.Steps {
			if st.Name != step {
				continue
			}
			if st.GRPC != nil && st.GRPC.methodNode != nil {
				return posOf(st.GRPC.methodNode)
			}
			return st.Pos
		}
	}
	return Pos{Line: 1, Col: 1}
}

func (sc *Scenario) CheckBaseline(base func(key string, e slo.Expr) (float64, bool, string)) error {
	if base == nil || sc.spec == nil {
		return nil
	}
	el := &errorList{file: sc.Path, bad: map[*yaml.Node]bool{}}
	if sc.Path == "" {
		el.file = sc.Name
	}
	for _, t := range sc.spec.Thresholds {
		if !t.expr.Baseline || t.Metric == slo.SLIMetric {
			continue
		}
		sel, err := engine.Select(&sc.Plan, t.Metric, t.Tags)
		if err != nil {
			continue // checked at load
		}
		v, ok, _ := base(sel.Key(), t.expr)
		if !ok {
			continue
		}
		if err := t.expr.CheckBaseline(sel.Metric, v); err != nil {
			var se *slo.SyntaxError
			line, col := t.exprNode.Line, t.exprNode.Column
			msg := err.Error()
			if errors.As(err, &se) {
				line, col = sc.src.at(t.exprNode, se.Offset)
				msg = se.Msg
			}
			el.at(line, col, "threshold %s with --baseline: %s", quote(t.Expr), msg)
		}
	}
	secrets := map[string]bool{}
	for _, v := range sc.Secrets {
		secrets[v] = true
	}
	el.redact(secrets)
	return el.result()
}
