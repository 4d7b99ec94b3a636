package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/loadgate/loadgate/engine"
)

// maxSegments bounds --segment's N: more shards than that is a typo, and
// each shard must still see some arrivals.
const maxSegments = 100_000

// parseSegment parses --segment I/N: share I (0-based) of N, arrival n
// belonging to share n mod N. "" is the whole schedule.
func parseSegment(s string) (engine.Segment, error) {
	if s == "" {
		return engine.Segment{}, nil
	}
	is, ns, ok := strings.Cut(s, "/")
	i, errI := strconv.Atoi(strings.TrimSpace(is))
	n, errN := strconv.Atoi(strings.TrimSpace(ns))
	switch {
	case !ok || errI != nil || errN != nil:
		return engine.Segment{}, usagef(fmt.Sprintf("--segment %q: want I/N, e.g. 0/4 for the first of 4 shares", s))
	case n < 1 || n > maxSegments:
		return engine.Segment{}, usagef(fmt.Sprintf("--segment %q: N must be between 1 and %d", s, maxSegments))
	case i < 0 || i >= n:
		return engine.Segment{}, usagef(fmt.Sprintf("--segment %q: I is 0-based and must be below N (0..%d)", s, n-1))
	}
	return engine.Segment{Index: i, Count: n}, nil
}
