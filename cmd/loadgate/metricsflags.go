package main

import (
	"fmt"
	"net"
	"time"

	"github.com/spf13/pflag"

	"github.com/loadgate/loadgate/internal/loopback"
	"github.com/loadgate/loadgate/report/promexport"
)

// metricsFlags are the live-observability flags of run and demo (docs/metrics.md, Live metrics).
type metricsFlags struct {
	addr        string
	allowRemote bool
	linger      time.Duration
}

func (m *metricsFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&m.addr, "metrics-addr", "", "serve Prometheus /metrics on ADDR during the run, e.g. 127.0.0.1:9464 (loopback unless --metrics-allow-remote)")
	fs.BoolVar(&m.allowRemote, "metrics-allow-remote", false, "allow a non-loopback --metrics-addr")
	fs.DurationVar(&m.linger, "metrics-linger", promexport.DefaultLinger, "after the run, keep /metrics up until the final values are scraped, at most this long")
}

// check validates the flags before anything starts.
func (m *metricsFlags) check() error {
	if m.addr == "" {
		return nil
	}
	if _, _, err := net.SplitHostPort(m.addr); err != nil {
		return usagef(fmt.Sprintf("--metrics-addr %q: want HOST:PORT, e.g. 127.0.0.1:9464", m.addr))
	}
	if !m.allowRemote && !loopback.Addr(m.addr) {
		return usagef(fmt.Sprintf("--metrics-addr %q is not a loopback address: bind 127.0.0.1 or pass --metrics-allow-remote", m.addr))
	}
	if m.linger < 0 {
		return usagef("--metrics-linger must not be negative")
	}
	return nil
}
