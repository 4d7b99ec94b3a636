// Package grpctarget is a gRPC target for loadgate's tests and its built-in
// target (`loadgate target --grpc-listen`): the service shop.Cart of
// shop.proto (Add and Get, unary; Watch, server-streaming) with server
// reflection, and fault modes that a load generator must measure right:
// UNAVAILABLE storms (a share of calls, periodic windows, or switched on
// and off by Storm), slow calls, and a stall (the server freezes every call
// for a while in each period, as the HTTP stall test's server does).
//
// The service is built at run time from examples/shop.proto (embedded), compiled
// with github.com/bufbuild/protocompile and served with dynamicpb
// messages: there is no generated code, and the .proto is the one source.
//
// Every call also obeys two metadata keys: x-delay (a Go duration, at most
// 10 s) to wait before answering, and x-fail (a status name such as
// UNAVAILABLE, or a code number) to answer with.
//
// It listens on loopback only unless told otherwise (Listen, as
// internal/demotarget). Concurrency: a Server is safe for concurrent use.
package grpctarget
