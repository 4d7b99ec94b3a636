package scenarios

import (
	"errors"
	"testing"
	"time"

	"github.com/loadgate/loadgate/engine"
)

// TestOptions: the overrides of --rate, --duration and --segment are
// applied once as the scenario compiles, and the plan the Scenario holds is
// the one that runs.
func TestOptions(t *testing.T) {
	path := testdataDir + "/valid/constant.yaml"
	base := mustLoad(t, path, nil).Plan.Load
	peak := base.StartRate
	for _, s := range base.Stages {
		peak = max(peak, s.Target)
	}
	for _, tc := range []struct {
		name     string
		opts     []Option
		rate     float64
		duration time.Duration
	}{
		{"rate", []Option{WithRate(7)}, 7, base.Duration()},
		{"duration", []Option{WithDuration(3 * time.Second)}, peak, 3 * time.Second},
		{"both", []Option{WithRate(5), WithDuration(2 * time.Second)}, 5, 2 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc, err := Load(path, nil, append(tc.opts, WithSegment(engine.Segment{Index: 1, Count: 4}))...)
			if err != nil {
				t.Fatal(err)
			}
			l := sc.Plan.Load
			if l.StartRate != tc.rate || len(l.Stages) != 1 || l.Stages[0].Target != tc.rate || l.Stages[0].Duration != tc.duration {
				t.Errorf("load %+v, want a constant %v for %v", l, tc.rate, tc.duration)
			}
			if sc.Plan.Segment != (engine.Segment{Index: 1, Count: 4}) {
				t.Errorf("segment %v", sc.Plan.Segment)
			}
		})
	}
	if sc := mustLoad(t, path, nil); sc.Plan.Segment != (engine.Segment{}) {
		t.Errorf("without options: segment %v", sc.Plan.Segment)
	}
	// A profile the overrides make impossible is theirs to word, not an
	// error of the file.
	_, err := Load(path, nil, WithRate(1e9))
	var oe *OverrideError
	if !errors.As(err, &oe) || oe.Load == nil || err.Error() != oe.Load.Msg {
		t.Fatalf("rate 1e9: %v, want an *OverrideError with the load problem", err)
	}
}
