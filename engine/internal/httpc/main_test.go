package httpc

import (
	"testing"

	"github.com/loadgate/loadgate/internal/testguard"
)

// TestMain runs the client's tests in a loopback-only network namespace,
// without real DNS, and fails on leaked goroutines (internal/testguard).
func TestMain(m *testing.M) { testguard.Main(m) }
