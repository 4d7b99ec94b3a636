//go:build soak

package engine

import "time"

// soakDuration is make soak's: 30 minutes.
const soakDuration = 30 * time.Minute
