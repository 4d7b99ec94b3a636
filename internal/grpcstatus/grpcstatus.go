// Package grpcstatus names the gRPC status codes the way a scenario's
// check status and the test target's x-fail write them (OK, NOT_FOUND, or
// a number), in one place: grpc-go's own names are CamelCase.
package grpcstatus

import (
	"slices"
	"strconv"
	"strings"
)

// names are the canonical names of the gRPC status codes 0..16.
var names = [...]string{"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
	"ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
	"UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"}

// Names returns the canonical names of the gRPC status codes
// 0..16 (OK, CANCELLED, ..., UNAUTHENTICATED), in code order.
func Names() []string { return slices.Clone(names[:]) }

// Parse reads a gRPC status: a name in any case (CANCELED, the
// US spelling, too) or a code number from 0 to 16.
func Parse(s string) (uint32, bool) {
	if v, err := strconv.Atoi(s); err == nil && v >= 0 && v < len(names) {
		return uint32(v), true
	}
	up := strings.ToUpper(s)
	if up == "CANCELED" {
		up = "CANCELLED"
	}
	i := slices.Index(names[:], up)
	return uint32(max(i, 0)), i >= 0
}
