//go:build !unix

package engine

// hardFDLimit is unknown here: the check is skipped.
func hardFDLimit() (uint64, bool) { return 0, false }
