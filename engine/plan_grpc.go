package engine

// GRPCCall is the call a gRPC step makes: declarative data only, like the
// rest of the plan.
type GRPCCall struct{}
