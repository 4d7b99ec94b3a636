package wstarget

import (
	"testing"

	"github.com/loadgate/loadgate/internal/testguard"
)

func TestMain(m *testing.M) { testguard.Main(m) }
