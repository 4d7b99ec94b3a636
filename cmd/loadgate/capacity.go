package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/loadgate/loadgate/scenarios"
)

func capacityCmd(args []string, stdout, stderr io.Writer) error {
	var sf searchFlags
	return runScenario("capacity", "capacity SCENARIO.yaml [--from R --max R] [flags]", args, stdout, stderr, &sf)
}

// searchFlags are the keys of load.search on the command line: they
// replace the scenario's (or make a search of a scenario without one,
// which then needs --from and --max).
type searchFlags struct {
	from, max, minRate             float64
	precision                      string
	step, warmup, cooldown, budget time.Duration
}

func (sf *searchFlags) register(fs *pflag.FlagSet) {
	fs.Float64Var(&sf.from, "from", 0, "the first rate tried (load.search.from)")
	fs.Float64Var(&sf.max, "max", 0, "never try a rate above this (load.search.max)")
	fs.StringVar(&sf.precision, "precision", "", "stop when the failing and passing rates are this close, e.g. 5% (load.search.precision)")
	fs.DurationVar(&sf.step, "step", 0, "how long each step is measured (load.search.step; default 30s)")
	fs.DurationVar(&sf.warmup, "warmup", 0, "a warm-up before each step's measurement, not judged (load.search.warmup; default 5s)")
	fs.DurationVar(&sf.cooldown, "cooldown", 0, "an idle pause between steps (load.search.cooldown)")
	fs.DurationVar(&sf.budget, "budget", 0, "stop the search after this long, with the interval it got to (load.search.budget)")
	fs.Float64Var(&sf.minRate, "min-rate", 0, "a capacity gate: exit 0 when the SLO holds at this rate or more, 1 when not (load.search.require.min_rate)")
}

// apply makes sc a search with the flags given over the scenario's own.
func (sf *searchFlags) apply(fs *pflag.FlagSet, sc *scenarios.Scenario) error {
	s := sc.Search
	if s == nil {
		if !fs.Changed("from") || !fs.Changed("max") {
			return usagef(fmt.Sprintf("%s has no load.search: give --from and --max (e.g. --from 50 --max 5000), or a load.search section", sc.Path))
		}
		s = scenarios.NewSearch(sf.from, sf.max)
	} else {
		c := *s
		s = &c
	}
	set := func(name string, apply func()) {
		if fs.Changed(name) {
			apply()
		}
	}
	set("from", func() { s.Config.From = sf.from })
	set("max", func() { s.Config.Max = sf.max })
	set("min-rate", func() { s.Config.MinRate = sf.minRate })
	set("step", func() { s.Timing.Step = sf.step })
	set("warmup", func() { s.Timing.Warmup = sf.warmup })
	set("cooldown", func() { s.Timing.Cooldown = sf.cooldown })
	set("budget", func() { s.Timing.Budget = sf.budget })
	if fs.Changed("precision") {
		p, err := parseShare(sf.precision)
		if err != nil {
			return usagef("--precision: " + err.Error())
		}
		s.Config.Precision = p
	}
	if err := sc.SetSearch(s); err != nil {
		return usagef(err.Error())
	}
	if e := sc.Plan.CheckLoad(); e != nil {
		return usagef(fmt.Sprintf("--max %g: %s", s.Config.Max, e.Msg))
	}
	// SetSearch replaced the compiled plan's load: check it again.
	if err := sc.Plan.Validate(); err != nil {
		return usagef(err.Error())
	}
	return nil
}

// parseShare reads 5% or 0.05.
func parseShare(v string) (float64, error) {
	f, err := strconv.ParseFloat(strings.TrimSuffix(v, "%"), 64)
	if err == nil && strings.HasSuffix(v, "%") {
		f /= 100
	}
	if err != nil || !(f > 0 && f < 1) {
		return 0, fmt.Errorf("want a share between 0%% and 100%%, e.g. 5%%, got %q", v)
	}
	return f, nil
}
