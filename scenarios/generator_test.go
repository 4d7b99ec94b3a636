package scenarios

import (
	"strings"
	"testing"
	"time"

	"github.com/loadgate/loadgate/engine"
)

const genBase = "name: g\nbase_url: http://127.0.0.1:1\nload: { rate: 1, duration: 1s }\nflows:\n  - name: f\n    steps: [ { name: s, get: / } ]\n"

func TestGeneratorBlock(t *testing.T) {
	for _, tc := range []struct {
		name  string
		block string
		want  engine.Tolerances
		err   string // substring of the error, "" for valid
	}{
		{"absent: defaults", "", engine.DefaultTolerances(), ""},
		{"all keys", "generator:\n  max_schedule_lag_p99: 200ms\n  min_achieved_ratio: 0.9\n  allow_local_errors: true\n",
			engine.Tolerances{MaxLagP99: 200 * time.Millisecond, MinAchieved: 0.9, AllowLocalErrors: true}, ""},
		{"percent", "generator: { min_achieved_ratio: \"80%\" }\n",
			engine.Tolerances{MaxLagP99: 50 * time.Millisecond, MinAchieved: 0.8}, ""},
		{"ratio over 1", "generator: { min_achieved_ratio: 95 }\n", engine.Tolerances{}, `8:34: generator.min_achieved_ratio must be a share from 0 to 1 (0.95, or "95%"), got 95`},
		{"lag without unit", "generator: { max_schedule_lag_p99: 50 }\n", engine.Tolerances{}, "8:36: duration needs a unit"},
		{"yes is not a boolean", "generator: { allow_local_errors: yes }\n", engine.Tolerances{}, "expected true or false"},
		{"typo", "generator: { max_lag_p99: 1s }\n", engine.Tolerances{}, `8:14: unknown key "max_lag_p99" in generator; want one of max_schedule_lag_p99`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc, err := Parse("g.yaml", []byte(genBase+"\n"+tc.block), nil)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if sc.Generator != tc.want {
				t.Fatalf("generator %+v, want %+v", sc.Generator, tc.want)
			}
		})
	}
}
