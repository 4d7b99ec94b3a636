package histogram_test

import (
	"fmt"
	"time"

	"github.com/loadgate/loadgate/histogram"
)

func Example() {
	a, b := histogram.New(), histogram.New()
	for i := 1; i <= 99; i++ {
		a.Record(time.Millisecond)
	}
	b.Record(time.Second)
	a.Merge(b) // exact: same geometry
	fmt.Println(a.Count(), a.Quantile(0.5), a.Quantile(0.999))
	// Output: 100 1ms 1.000447s
}
