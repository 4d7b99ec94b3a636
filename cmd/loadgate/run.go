package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/loadgate/loadgate/engine"
	"github.com/loadgate/loadgate/gate"
	"github.com/loadgate/loadgate/scenarios"
	"github.com/loadgate/loadgate/slo"
)

// runFlags are the flags shared by run and demo.
type runFlags struct {
	env       []string
	out       []string
	quiet     bool
	noColor   bool
	noPre     bool
	duration  time.Duration
	rate      float64
	outputs   []gate.Output
	overrides map[string]string
	baselines []string                                               // --baseline RUN.json, repeatable: the runs are pooled
	base      func(key string, agg slo.Expr) (float64, bool, string) // resolved by resolve; nil without --baseline
	segment   string                                                 // --segment I/N
	seg       engine.Segment
	metrics   metricsFlags // --metrics-addr and friends (metricsflags.go)
	quick     quickFlags   // --url and friends: quick mode (quick.go)
	failCode  failCode     // --exit-code-on-fail (failcode.go)
	dist      distFlags    // --agents and friends (distributed.go)

	// baseRun is the --baseline run (several pooled into one), nil
	// without it; requireBaseline
	// (--require-baseline) makes a run without one invalid, so that a
	// canary gate cannot pass without its reference (gate.LoadBaselines).
	baseRun         *gate.Baselines
	requireBaseline bool
	// search is set by capacity, whose scenario becomes a search.
	search bool
}

func (f *runFlags) register(fs *pflag.FlagSet, withScenarioFlags bool) {
	fs.StringArrayVarP(&f.out, "out", "o", nil, "write a report: FORMAT=PATH (json, junit, html, text; PATH - is stdout); repeatable")
	fs.BoolVar(&f.quiet, "quiet", false, "no live progress on stderr")
	fs.BoolVar(&f.noColor, "no-color", false, "no ANSI colors")
	fs.BoolVar(&f.noPre, "no-preflight", false, "skip the checks before the run: DNS/TCP/TLS of every target, one query of each SLI")
	f.metrics.register(fs)
	f.failCode.register(fs)
	if withScenarioFlags {
		fs.StringArrayVarP(&f.env, "env", "e", nil, "KEY=VALUE for ${KEY} in the scenario; repeatable")
		fs.DurationVar(&f.duration, "duration", 0, "override: run a constant profile this long")
		fs.Float64Var(&f.rate, "rate", 0, "override: run a constant profile at this rate (users, for a closed model)")
		fs.StringArrayVar(&f.baselines, "baseline", nil, "a previous run's json report, for thresholds such as p(95) < baseline + 10%; repeatable: several runs are pooled into one less noisy baseline")
		fs.BoolVar(&f.requireBaseline, "require-baseline", false, "exit 2 unless --baseline names a run (a canary gate that lost its baseline must not pass)")
		fs.StringVar(&f.segment, "segment", "", "run only share I of N of the arrivals (arrival n when n mod N = I; 0-based), e.g. 0/4")
		f.quick.register(fs)
		f.dist.register(fs)
	}
}

// resolve checks the flag values that need parsing and reads the baseline.
func (f *runFlags) resolve(stderr io.Writer) error {
	var err error
	if f.outputs, err = parseOutputs(f.out); err != nil {
		return err
	}
	if f.overrides, err = parseEnv(f.env); err != nil {
		return err
	}
	if f.duration < 0 || f.rate < 0 {
		return usagef("--duration and --rate must not be negative")
	}
	if f.seg, err = parseSegment(f.segment); err != nil {
		return err
	}
	if err := f.metrics.check(); err != nil {
		return err
	}
	if f.requireBaseline && !slices.ContainsFunc(f.baselines, func(p string) bool { return p != "" }) {
		// --baseline "$BASELINE" with the variable unset is "": without
		// this, every baseline threshold is skipped and the gate passes
		// (docs/thresholds.md, Baselines).
		return usagef("--require-baseline: no --baseline given (or it is empty); a canary gate needs its reference run; nothing was sent")
	}
	if f.baseRun, err = gate.LoadBaselines(f.baselines); err != nil {
		return usagef(err.Error())
	}
	if f.baseRun != nil {
		f.base = f.baseRun.Baseline
	}
	return nil
}

// checkOverrides refuses --rate 0 and --duration 0s (from the command line
// or the environment): a zero would otherwise read as "not given" and keep
// the scenario's profile without a word. (Quick mode, which has no profile
// to keep, says that it needs both.)
func (f *runFlags) checkOverrides(fs *pflag.FlagSet) error {
	if f.quick.url != "" {
		return nil
	}
	if fs.Changed("rate") && f.rate == 0 {
		return usagef("--rate 0 sends nothing: give a rate above 0, or leave --rate out to keep the scenario's profile")
	}
	if fs.Changed("duration") && f.duration == 0 {
		return usagef("--duration 0s sends nothing: give a duration above 0 (e.g. 30s), or leave --duration out to keep the scenario's profile")
	}
	return nil
}

// overrideFlags names the flags that replaced the profile, for errors.
func (f *runFlags) overrideFlags() string {
	var out []string
	if f.rate > 0 {
		out = append(out, fmt.Sprintf("--rate %g", f.rate))
	}
	if f.duration > 0 {
		out = append(out, "--duration "+f.duration.String())
	}
	return strings.Join(out, " ")
}

// compileOptions are the overrides of the scenario's load: --rate,
// --duration and --segment, applied once as it compiles. A capacity search
// chooses its own rates: capacity gives only the segment, and run and
// capacity refuse --rate, --duration and --segment on a search once the
// scenario is read.
func (f *runFlags) compileOptions() []scenarios.Option {
	if f.search {
		return []scenarios.Option{scenarios.WithSegment(f.seg)}
	}
	return []scenarios.Option{scenarios.WithRate(f.rate), scenarios.WithDuration(f.duration), scenarios.WithSegment(f.seg)}
}

// overrideError words a plan the overrides cannot run as a usage error
// that names the flags; other errors are returned as they are.
func (f *runFlags) overrideError(err error) error {
	var oe *scenarios.OverrideError
	switch {
	case !errors.As(err, &oe):
		return err
	case oe.Load != nil:
		return usagef(fmt.Sprintf("%s: %s", f.overrideFlags(), oe.Load.Msg))
	}
	return usagef(oe.Err.Error())
}

// gateConfig is the run of sc as the flags describe it (package gate).
// Everything it prints goes through a redactor of the scenario's secrets
// (secure.go); the warnings known before the run are printed here.
func (f *runFlags) gateConfig(sc *scenarios.Scenario, stdout, stderr io.Writer) gate.Config {
	color := !f.noColor && isTerminal(stdout) && os.Getenv("NO_COLOR") == ""
	stdout, stderr = redacting(stdout, sc.Secrets), redacting(stderr, sc.Secrets)
	return gate.Config{
		Scenario: sc, Outputs: f.outputs, Quiet: f.quiet, Color: color, TTY: isTerminal(stderr),
		Preflight: !f.noPre, Engine: &engine.Engine{UserAgent: userAgent(), TLS: sc.TLSConfig()}, Stdout: stdout, Stderr: stderr,
		Baseline: f.base, MetricsAddr: f.metrics.addr, MetricsLinger: f.metrics.linger, ConsoleCode: f.failCode.of,
		Warnings: slices.Concat(transportWarnings(sc, stderr), f.baselineWarnings(sc, stderr)),
		Version:  version,
	}
}

// runGate runs cfg and returns its verdict as an exitError, remapped by
// --exit-code-on-fail.
func (f *runFlags) runGate(cfg gate.Config, stderr io.Writer) error {
	return f.failCode.remap(&exitError{code: gate.Run(cfg), err: errReported}, stderr)
}

// isTerminal reports whether w is a character device (a TTY).
func isTerminal(w io.Writer) bool {
	if rw, ok := w.(*redactWriter); ok {
		w = rw.w
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// baselineWarnings prints and returns the warnings about the --baseline
// runs (gate.Baselines.Warnings).
func (f *runFlags) baselineWarnings(sc *scenarios.Scenario, stderr io.Writer) []string {
	ws := f.baseRun.Warnings(sc)
	for _, w := range ws {
		fmt.Fprintf(stderr, "loadgate: warning: %s\n", w)
	}
	return ws
}

func runCmd(args []string, stdout, stderr io.Writer) error {
	return runScenario("run", "run SCENARIO.yaml [flags]", args, stdout, stderr, nil)
}

// runScenario is run and capacity: with search flags (capacity), the
// scenario becomes a capacity search (capacity.go).
func runScenario(name, usage string, args []string, stdout, stderr io.Writer, sf *searchFlags) error {
	fs := newFlagSet(name, usage, stdout, stderr)
	var f runFlags
	f.register(fs, true)
	if sf != nil {
		sf.register(fs)
		f.search = true
	}
	if done, err := parseFlags(fs, args); done || err != nil {
		return err
	}
	if err := f.resolve(stderr); err != nil {
		return err
	}
	if err := checkOutputs(f.outputs, true); err != nil { // outputs.go
		return err
	}
	if err := f.checkOverrides(fs); err != nil {
		return err
	}
	sc, err := f.scenario(fs, stderr)
	if err != nil {
		return err
	}
	if sf != nil {
		if err := sf.apply(fs, sc); err != nil {
			return err
		}
	}
	if sc.Search != nil && f.seg.Count > 1 {
		return usagef("--segment: a capacity search cannot be split into shards (each would search on its own); use --agents, which splits every step")
	}
	if sc.Search != nil && (f.rate > 0 || f.duration > 0) {
		return usagef(fmt.Sprintf("%s: a capacity search chooses its own rates; give the search's flags (--from, --max, --step...) to loadgate capacity instead", f.overrideFlags()))
	}
	coord, err := f.dist.coordinator(sc, f.seg)
	if err != nil {
		return err
	}
	cfg := f.gateConfig(sc, stdout, stderr)
	if coord != nil {
		coord.Log = cfg.Stderr
		cfg.Coordinator, cfg.TolerateAgentLoss = coord, f.dist.tolerate
	}
	return f.runGate(cfg, stderr)
}

// loadScenario loads a file and prints every error it has, each on its own
// line as file:line:col: message.
func loadScenario(path string, overrides map[string]string, stderr io.Writer, opts ...scenarios.Option) (*scenarios.Scenario, error) {
	sc, err := scenarios.Load(path, scenarios.EnvLookup(overrides), opts...)
	if err == nil {
		return sc, nil
	}
	return nil, scenarioErrors(path, err, stderr)
}

// scenarioErrors prints the errors of the scenario at path, each on its own
// line as file:line:col: message, and returns exit 2 (nil for no error).
func scenarioErrors(path string, err error, stderr io.Writer) error {
	if err == nil {
		return nil
	}
	var errs scenarios.Errors
	if errors.As(err, &errs) {
		for _, e := range errs {
			fmt.Fprintln(stderr, e)
		}
		fmt.Fprintf(stderr, "loadgate: %s: %d error(s); nothing was sent\n", path, len(errs))
		return &exitError{code: exitInvalid, err: errReported}
	}
	return &exitError{code: exitInvalid, err: err}
}

func validateCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("validate", "validate SCENARIO.yaml [-e KEY=VALUE]...", stdout, stderr)
	env := fs.StringArrayP("env", "e", nil, "KEY=VALUE for ${KEY} in the scenario; repeatable")
	if done, err := parseFlags(fs, args); done || err != nil {
		return err
	}
	overrides, err := parseEnv(*env)
	if err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("want one scenario file: loadgate validate SCENARIO.yaml")
	}
	sc, err := loadScenario(fs.Arg(0), overrides, stderr)
	if err != nil {
		return err
	}
	steps := 0
	for _, fl := range sc.Plan.Flows {
		steps += len(fl.Steps)
	}
	shape := fmt.Sprintf("%s model over %v", sc.Plan.Load.Model, sc.Plan.Load.Duration())
	if s := sc.Search; s != nil {
		shape = fmt.Sprintf("capacity search %g/s .. %g/s, steps of %v after a %v warm-up", s.Config.From, s.Config.Max, s.Timing.Step, s.Timing.Warmup)
	}
	fmt.Fprintf(stdout, "%s: ok: scenario %q, %d flow(s), %d step(s), %d threshold(s), %s\n",
		fs.Arg(0), sc.Name, len(sc.Plan.Flows), steps, len(sc.Thresholds), shape)
	return nil
}
