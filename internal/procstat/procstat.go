// Package procstat reads what the current process has used so far: its
// CPU time, its peak resident memory, and what its resident memory is made
// of now. A run's report carries it (generator.process, docs/metrics.md)
// so that a reader can tell whether the generator itself was short of CPU,
// and where its memory goes: mostly pages of the binary, not the heap.
package procstat

import (
	"bufio"
	"bytes"
	"os"
	"runtime/metrics"
	"strconv"
	"time"
)

// Usage is the process's use of CPU and memory. Sizes are in bytes; a size
// the platform does not tell is 0.
type Usage struct {
	// CPU is user plus system time, of every thread.
	CPU time.Duration
	// PeakRSS is the most memory the process has had resident (VmHWM on
	// Linux, ru_maxrss elsewhere).
	PeakRSS int64
	// RSSFile and RSSAnon split the resident memory now: pages backed by a
	// file (the binary's code and read-only data, shared with every other
	// process running it and dropped first under memory pressure) and
	// anonymous memory (the Go heap, stacks, the runtime's own).
	RSSFile, RSSAnon int64
	// Heap, Stacks and Runtime split what the Go runtime holds (mapped,
	// not all of it resident): live and not-yet-collected objects with
	// the free space in their spans, goroutine and system stacks, and the
	// runtime's metadata.
	Heap, Stacks, Runtime int64
}

// Read returns the process's usage so far.
func Read() Usage {
	var u Usage
	u.CPU, u.PeakRSS = rusage()
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		st := parseStatus(b)
		if v, ok := st["VmHWM"]; ok {
			// ru_maxrss of a process started by vfork carries its parent's
			// high-water mark (Go starts children that way); VmHWM is the
			// process's own.
			u.PeakRSS = v
		}
		u.RSSFile, u.RSSAnon = st["RssFile"], st["RssAnon"]
	}
	u.Heap, u.Stacks, u.Runtime = goMemory()
	return u
}

// parseStatus reads the "Name:   N kB" lines of /proc/PID/status, in bytes.
func parseStatus(b []byte) map[string]int64 {
	out := map[string]int64{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		name, rest, ok := bytes.Cut(sc.Bytes(), []byte(":"))
		if !ok {
			continue
		}
		f := bytes.Fields(rest)
		if len(f) != 2 || string(f[1]) != "kB" {
			continue
		}
		if n, err := strconv.ParseInt(string(f[0]), 10, 64); err == nil {
			out[string(name)] = n << 10
		}
	}
	return out
}

// goMemory splits the Go runtime's memory (runtime/metrics'
// /memory/classes) into heap, stacks and the runtime's own.
func goMemory() (heap, stacks, rt int64) {
	samples := []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/unused:bytes"},
		{Name: "/memory/classes/heap/stacks:bytes"},
		{Name: "/memory/classes/os-stacks:bytes"},
		{Name: "/memory/classes/metadata/mcache/inuse:bytes"},
		{Name: "/memory/classes/metadata/mspan/inuse:bytes"},
		{Name: "/memory/classes/metadata/other:bytes"},
		{Name: "/memory/classes/profiling/buckets:bytes"},
		{Name: "/memory/classes/other:bytes"},
	}
	metrics.Read(samples)
	v := func(i int) int64 {
		if samples[i].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return int64(samples[i].Value.Uint64())
	}
	return v(0) + v(1), v(2) + v(3), v(4) + v(5) + v(6) + v(7) + v(8)
}
