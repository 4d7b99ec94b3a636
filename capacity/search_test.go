package capacity

import (
	"strings"
	"testing"
)

// drive runs s against a service whose SLO holds up to capacity.
func drive(t *testing.T, s *Search, verdict func(rate float64, longer int) Verdict) Answer {
	t.Helper()
	for range 200 {
		n, ok := s.Next()
		if !ok {
			return s.Answer()
		}
		s.Record(verdict(n.Rate, n.Longer))
	}
	t.Fatal("the search does not end")
	return Answer{}
}

func holdsUpTo(c float64) func(float64, int) Verdict {
	return func(r float64, _ int) Verdict {
		if r <= c {
			return Pass
		}
		return Fail
	}
}

// TestSearchFindsCapacity: doubling then bisection lands within the
// precision of the true capacity, never above max, in far fewer steps than
// a sweep in 50/s steps.
func TestSearchFindsCapacity(t *testing.T) {
	for _, c := range []float64{800, 33, 51, 7000, 19999} {
		s, err := New(Config{From: 50, Max: 20000, Precision: 0.05})
		if err != nil {
			t.Fatal(err)
		}
		a := drive(t, s, holdsUpTo(c))
		if a.Capacity > c || a.FirstFailing <= c || a.Precision > 0.05 || a.AtLeast || !a.Done {
			t.Fatalf("capacity %v: answer %+v", c, a)
		}
		if sweep := int(c/50) + 1; len(s.Steps()) >= sweep && sweep > 5 {
			t.Errorf("capacity %v: %d steps, a 50/s sweep takes %d", c, len(s.Steps()), sweep)
		}
		for _, st := range s.Steps() {
			if st.Rate > 20000 {
				t.Fatalf("tried %v above max", st.Rate)
			}
		}
		t.Logf("capacity %v: %v..%v in %d steps (%s)", c, a.Capacity, a.FirstFailing, len(s.Steps()), a.Why)
	}
}

func TestSearchEdges(t *testing.T) {
	t.Run("max holds", func(t *testing.T) {
		s, _ := New(Config{From: 100, Max: 1000})
		a := drive(t, s, holdsUpTo(1e9))
		if a.Capacity != 1000 || !a.AtLeast || a.FirstFailing != 0 || !strings.Contains(a.Why, "holds at max") {
			t.Fatalf("%+v", a)
		}
	})
	t.Run("generator limited", func(t *testing.T) {
		s, _ := New(Config{From: 100, Max: 100000})
		a := drive(t, s, func(r float64, _ int) Verdict {
			if r > 1000 {
				return GeneratorLow
			}
			return Pass
		})
		if a.Capacity != 800 || a.LimitedAt != 1600 || !a.AtLeast || !strings.Contains(a.Why, "generator") {
			t.Fatalf("%+v", a)
		}
		// 1600/s was tried twice (a hiccup of the host is not a limit).
		if st := s.Steps(); len(st) != 6 || st[4].Rate != 1600 || st[5].Rate != 1600 || st[5].Longer != 1 {
			t.Fatalf("steps %v, want 1600/s run again once at the same length", st)
		}
	})
	t.Run("a generator hiccup", func(t *testing.T) {
		s, _ := New(Config{From: 100, Max: 1600})
		tries := 0
		a := drive(t, s, func(r float64, _ int) Verdict {
			if r == 400 && tries == 0 {
				tries++
				return GeneratorLow
			}
			return Pass
		})
		if a.LimitedAt != 0 || a.Capacity != 1600 || !a.Done {
			t.Fatalf("%+v after %v: one hiccup must not end the search", a, s.Steps())
		}
	})
	t.Run("requirement met early", func(t *testing.T) {
		s, _ := New(Config{From: 100, Max: 100000, MinRate: 300})
		a := drive(t, s, holdsUpTo(5000))
		if a.Met == nil || !*a.Met || len(s.Steps()) != 3 { // 100, 200, 400
			t.Fatalf("%+v after %v", a, s.Steps())
		}
	})
	t.Run("requirement missed", func(t *testing.T) {
		s, _ := New(Config{From: 100, Max: 100000, MinRate: 300})
		a := drive(t, s, holdsUpTo(250))
		if a.Met == nil || *a.Met {
			t.Fatalf("%+v after %v", a, s.Steps())
		}
	})
	t.Run("undecided is run again for longer, then stops", func(t *testing.T) {
		s, _ := New(Config{From: 100, Max: 100000})
		var longer []int
		a := drive(t, s, func(r float64, l int) Verdict {
			if r >= 400 {
				longer = append(longer, l)
				return Undecided
			}
			return Pass
		})
		if a.Capacity != 200 || !a.AtLeast || len(longer) != 2 || longer[0] != 1 || longer[1] != 2 || !strings.Contains(a.Why, "undecided") {
			t.Fatalf("%+v, longer %v", a, longer)
		}
	})
	t.Run("an undecided step decided on its retry", func(t *testing.T) {
		s, _ := New(Config{From: 100, Max: 3200})
		a := drive(t, s, func(r float64, l int) Verdict {
			if r == 400 && l == 1 {
				return Undecided
			}
			return Pass
		})
		if a.Capacity != 3200 || !a.AtLeast {
			t.Fatalf("%+v", a)
		}
	})
	t.Run("the first rate fails", func(t *testing.T) {
		s, _ := New(Config{From: 1000, Max: 5000})
		a := drive(t, s, holdsUpTo(90))
		if a.Capacity > 90 || a.FirstFailing <= 90 || a.Precision > 0.05 {
			t.Fatalf("%+v", a)
		}
	})
	t.Run("nothing holds", func(t *testing.T) {
		s, _ := New(Config{From: 1000, Max: 5000})
		a := drive(t, s, holdsUpTo(0))
		if a.Capacity != 0 || !strings.Contains(a.Why, "breaks even at") {
			t.Fatalf("%+v", a)
		}
	})
	t.Run("stopped by a budget", func(t *testing.T) {
		s, _ := New(Config{From: 100, Max: 100000})
		s.Record(Pass)
		s.Stop("the budget of 10m is spent")
		if n, ok := s.Next(); ok || s.Answer().Capacity != 100 || s.Answer().Why != "the budget of 10m is spent" {
			t.Fatalf("%v %v %+v", n, ok, s.Answer())
		}
	})
}

func TestSearchConfig(t *testing.T) {
	for _, c := range []Config{{From: 0, Max: 10}, {From: 10, Max: 5}, {From: 10, Max: 20, Precision: 1.5}, {From: 10, Max: 20, MinRate: 30}} {
		if _, err := New(c); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}
