//go:build !unix

package procstat

import "time"

// rusage is unknown here.
func rusage() (time.Duration, int64) { return 0, 0 }
