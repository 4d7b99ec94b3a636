//go:build linux

package engine

import (
	"context"
	"testing"
	"time"
)

// TestSlackBatchesWithoutBiasNoRace (Linux: receive timestamps) runs 200 arrivals a second with a coarse
// slack of 20 ms against a loopback server that answers at once. Arrivals
// are started in batches up to 20 ms late — the lateness shows in
// schedule_lag and in http_req_duration, which counts from the intended
// time — while reads are deferred to the next wake-up without changing
// the measured service time, which comes from the receive timestamps.
//
// A timing test: it skips under the race detector, and make test runs it in
// its pass without -race.
func TestSlackBatchesWithoutBiasNoRace(t *testing.T) {
	if raceEnabled {
		t.Skip("timing test: make test runs it without -race")
	}
	addr := startTCPStub(t)
	keepStamping(t, addr)
	p := constPlan("http://"+addr+"/", 200, time.Second)
	p.Load.Slack = 20 * time.Millisecond
	res, err := (&Engine{}).Run(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	total := res.Final.Total
	st := total.Steps[0][0]
	if st.Requests != 200 || st.Failed != 0 {
		t.Fatalf("requests %d failed %d", st.Requests, st.Failed)
	}
	// Arrivals 5 ms apart, served at most every 20 ms: most start late,
	// none later than the slack (plus the scheduler's own delay).
	if lag := total.Lag.Quantile(0.5); lag < 3*time.Millisecond {
		t.Errorf("median lag %v: arrivals were not batched", lag)
	}
	if lag := total.Lag.Max(); lag > 30*time.Millisecond {
		t.Errorf("max lag %v, want ≤ the 20ms slack (and some scheduling)", lag)
	}
	// A read deferred by up to 20 ms must not show in the service time.
	if svc := st.ServiceTime.Quantile(0.99); svc > 10*time.Millisecond {
		t.Errorf("service time p99 %v: a deferred read counted as latency", svc)
	}
	if d, lag := st.Duration.Quantile(0.5), total.Lag.Quantile(0.5); d < lag {
		t.Errorf("http_req_duration p50 %v below the lag p50 %v: lateness is not in the latency", d, lag)
	}
}
