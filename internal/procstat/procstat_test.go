package procstat

import (
	"runtime"
	"testing"
)

func TestParseStatus(t *testing.T) {
	b := []byte("Name:\tloadgate\nVmHWM:\t   33684 kB\nRssAnon:\t   10020 kB\nRssFile:\t   18748 kB\nThreads:\t5\nbad line\n")
	got := parseStatus(b)
	want := map[string]int64{"VmHWM": 33684 << 10, "RssAnon": 10020 << 10, "RssFile": 18748 << 10}
	if len(got) != len(want) {
		t.Fatalf("parseStatus = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %d, want %d", k, got[k], v)
		}
	}
}

// TestReadSeesThisProcess checks the figures against what this process
// visibly holds: a heap that grows by what it keeps, CPU that grows by work.
var keep [][]byte

func TestReadSeesThisProcess(t *testing.T) {
	before := Read()
	for range 64 {
		b := make([]byte, 64<<10)
		for i := range b { // touched, so that it is resident
			b[i] = 1
		}
		keep = append(keep, b)
	}
	x := 0
	for i := range 50_000_000 {
		x += i % 7
	}
	after := Read()
	runtime.KeepAlive(x)
	if after.Heap-before.Heap < 3<<20 {
		t.Errorf("heap grew by %d bytes after keeping 4 MiB", after.Heap-before.Heap)
	}
	if after.CPU <= before.CPU && runtime.GOOS != "windows" {
		t.Errorf("CPU did not grow: %v then %v", before.CPU, after.CPU)
	}
	if after.Stacks <= 0 || after.Runtime <= 0 {
		t.Errorf("stacks %d, runtime %d: want both > 0", after.Stacks, after.Runtime)
	}
	if runtime.GOOS == "linux" {
		if after.PeakRSS < after.RSSFile+after.RSSAnon || after.RSSFile <= 0 || after.RSSAnon < 4<<20 {
			t.Errorf("peak %d, file %d, anon %d: want peak >= file+anon > 0, anon >= 4 MiB", after.PeakRSS, after.RSSFile, after.RSSAnon)
		}
	}
}
