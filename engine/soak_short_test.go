//go:build !soak

package engine

import "time"

// soakDuration is the mini-soak of make test; make soak builds with -tags
// soak for the long one (soak_long_test.go). LOADGATE_SOAK overrides both.
const soakDuration = 90 * time.Second
