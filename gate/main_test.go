package gate

import (
	"testing"

	"github.com/loadgate/loadgate/internal/testguard"
)

// TestMain runs the package's tests in a loopback-only network namespace,
// without real DNS, and fails on leaked goroutines (internal/testguard):
// a run that ends must leave no partial writer, SLI loop or signal
// goroutine behind.
func TestMain(m *testing.M) { testguard.Main(m) }
