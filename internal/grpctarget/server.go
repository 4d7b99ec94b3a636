package grpctarget

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bufbuild/protocompile"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/reflection"
	reflectionv1 "google.golang.org/grpc/reflection/grpc_reflection_v1"
	reflectionv1alpha "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/loadgate/loadgate/examples"
	"github.com/loadgate/loadgate/internal/grpcstatus"
	"github.com/loadgate/loadgate/internal/loopback"
)

// ShopProto is shop.proto, the service this target serves: the one of
// examples/grpc.yaml (examples.ShopProto).
var ShopProto = examples.ShopProto

// Service and method names of shop.proto.
const (
	Service = "shop.Cart"
	Add     = "/shop.Cart/Add"
	Get     = "/shop.Cart/Get"
	Watch   = "/shop.Cart/Watch"
)

// DefaultAddr is where `loadgate target --grpc-listen` is documented to
// listen.
const DefaultAddr = "127.0.0.1:8089"

// ErrNotLoopback is returned by Listen for an address that is not on a
// loopback interface when remote access was not allowed.
var ErrNotLoopback = errors.New("grpc target: refusing to listen on a non-loopback address")

// Options configures a Server. The zero value serves every call at once,
// without faults.
type Options struct {
	// Seed seeds the draws of Unavailable and Slow.
	Seed int64
	// Delay is every call's service time before it answers.
	Delay time.Duration
	// Unavailable is the share of calls, in [0,1], answered UNAVAILABLE.
	Unavailable float64
	// StormEvery and StormFor make periodic storms: for StormFor at the
	// start of every StormEvery (from the server's start), every call is
	// answered UNAVAILABLE.
	StormEvery, StormFor time.Duration
	// Slow is the share of calls, in [0,1], that take SlowDelay more.
	Slow      float64
	SlowDelay time.Duration
	// StallEvery, StallAt and StallFor freeze the server: in every period
	// of StallEvery, from StallAt to StallAt+StallFor, every call waits
	// until the stall ends (5 s, 2 s, 1 s: stalled 20% of the time, as in
	// the HTTP stall test).
	StallEvery, StallAt, StallFor time.Duration
	// WatchInterval is the pause between two events of Watch (default
	// 10 ms).
	WatchInterval time.Duration
	// TLS serves over TLS when not nil.
	TLS *tls.Config
}

// maxDelay caps x-delay.
const maxDelay = 10 * time.Second

// maxCarts bounds the carts kept; past it the store starts again empty.
const maxCarts = 100_000

// Server is the gRPC target. Create it with New.
type Server struct {
	opt   Options
	t0    time.Time
	files *protoregistry.Files
	srv   *grpc.Server

	// message descriptors of shop.proto
	addReq, getReq, watchReq, reply, line, event protoreflect.MessageDescriptor

	mu    sync.Mutex // guards rng and carts
	rng   *rand.Rand
	carts map[string][]cartLine
	next  atomic.Int64

	calls  atomic.Int64
	byName [3]atomic.Int64 // Add, Get, Watch
	storm  atomic.Int32    // code answered while a storm is on; 0 is off
	served atomic.Bool
}

type cartLine struct{ item, quantity int32 }

// Files compiles shop.proto (embedded) into a registry.
func Files() (*protoregistry.Files, error) {
	c := protocompile.Compiler{Resolver: protocompile.WithStandardImports(&protocompile.SourceResolver{
		Accessor: protocompile.SourceAccessorFromMap(map[string]string{"shop.proto": string(ShopProto)}),
	})}
	fds, err := c.Compile(context.Background(), "shop.proto")
	if err != nil {
		return nil, fmt.Errorf("grpc target: shop.proto: %w", err)
	}
	files := &protoregistry.Files{}
	if err := files.RegisterFile(fds[0]); err != nil {
		return nil, err
	}
	return files, nil
}

// New returns a Server configured by opt.
func New(opt Options) (*Server, error) {
	files, err := Files()
	if err != nil {
		return nil, err
	}
	if opt.WatchInterval <= 0 {
		opt.WatchInterval = 10 * time.Millisecond
	}
	seed := uint64(opt.Seed)
	s := &Server{
		opt:   opt,
		t0:    time.Now(),
		files: files,
		rng:   rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		carts: map[string][]cartLine{},
	}
	msg := func(name string) protoreflect.MessageDescriptor {
		d, _ := files.FindDescriptorByName(protoreflect.FullName("shop." + name))
		return d.(protoreflect.MessageDescriptor)
	}
	s.addReq, s.getReq, s.watchReq = msg("AddRequest"), msg("GetRequest"), msg("WatchRequest")
	s.reply, s.line, s.event = msg("CartReply"), msg("Line"), msg("CartEvent")

	var opts []grpc.ServerOption
	if opt.TLS != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(opt.TLS)))
	}
	s.srv = grpc.NewServer(opts...)
	s.srv.RegisterService(&grpc.ServiceDesc{
		ServiceName: Service,
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{
			{MethodName: "Add", Handler: s.unary(0, s.addReq, s.add)},
			{MethodName: "Get", Handler: s.unary(1, s.getReq, s.get)},
		},
		Streams:  []grpc.StreamDesc{{StreamName: "Watch", ServerStreams: true, Handler: s.watch}},
		Metadata: "shop.proto",
	}, s)
	ropt := reflection.ServerOptions{Services: s.srv, DescriptorResolver: files, ExtensionResolver: noExtensions{dynamicpb.NewTypes(files)}}
	reflectionv1.RegisterServerReflectionServer(s.srv, reflection.NewServerV1(ropt))
	reflectionv1alpha.RegisterServerReflectionServer(s.srv, reflection.NewServer(ropt))
	return s, nil
}

// noExtensions is the reflection's extension resolver: shop.proto
// declares no extension.
type noExtensions struct{ *dynamicpb.Types }

func (noExtensions) RangeExtensionsByMessage(protoreflect.FullName, func(protoreflect.ExtensionType) bool) {
}

// Listen opens a TCP listener on addr (DefaultAddr when empty); unless
// allowRemote, addr must be a loopback address.
func Listen(addr string, allowRemote bool) (net.Listener, error) {
	return loopback.Listen(addr, DefaultAddr, allowRemote, ErrNotLoopback, "grpc target")
}

// Serve serves on ln until ctx is done, then stops: calls in flight get a
// second to finish, then are cut off. It closes ln.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if !s.served.CompareAndSwap(false, true) {
		return errors.New("grpc target: Serve called twice")
	}
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("grpc target: serve: %w", err)
	case <-ctx.Done():
	}
	s.Stop()
	<-errc
	return nil
}

// Stop stops the server: calls in flight get a second to finish.
func (s *Server) Stop() {
	done := make(chan struct{})
	go func() { s.srv.GracefulStop(); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Second):
		s.srv.Stop()
		<-done
	}
}

// Start listens on a free loopback port and serves until Stop; it returns
// the address (host:port). For tests.
func (s *Server) Start() (string, error) {
	ln, err := Listen("127.0.0.1:0", false)
	if err != nil {
		return "", err
	}
	s.served.Store(true)
	go func() { _ = s.srv.Serve(ln) }()
	return ln.Addr().String(), nil
}

// Calls returns the number of calls received so far (reflection's not
// counted), whatever their outcome.
func (s *Server) Calls() int64 { return s.calls.Load() }

// CallsOf returns the calls of one method ("/shop.Cart/Add", or Add).
func (s *Server) CallsOf(method string) int64 {
	switch method {
	case Add, "Add":
		return s.byName[0].Load()
	case Get, "Get":
		return s.byName[1].Load()
	case Watch, "Watch":
		return s.byName[2].Load()
	}
	return 0
}

// Storm answers every call with code from now on (codes.Unavailable for
// an UNAVAILABLE storm); codes.OK ends the storm.
func (s *Server) Storm(code codes.Code) { s.storm.Store(int32(code)) }

// Files returns the registry of shop.proto the server serves.
func (s *Server) Files() *protoregistry.Files { return s.files }

// fault applies the fault modes and the metadata of a call before it is
// served: it waits as they say and returns the status to answer with, or
// nil to serve the call.
func (s *Server) fault(ctx context.Context) error {
	md, _ := metadata.FromIncomingContext(ctx)
	if v := md.Get("x-delay"); len(v) > 0 {
		d, err := time.ParseDuration(v[0])
		if err != nil {
			return status.Errorf(codes.InvalidArgument, "x-delay %q: want a duration such as 250ms", v[0])
		}
		if err := sleep(ctx, min(d, maxDelay)); err != nil {
			return status.FromContextError(err).Err()
		}
	}
	if v := md.Get("x-fail"); len(v) > 0 {
		c, ok := grpcstatus.Parse(v[0])
		code := codes.Code(c)
		if !ok {
			return status.Errorf(codes.InvalidArgument, "x-fail %q: want a status name such as UNAVAILABLE", v[0])
		}
		if code != codes.OK {
			return status.Errorf(code, "x-fail asked for %s", code)
		}
	}
	o := &s.opt
	if o.StallEvery > 0 && o.StallFor > 0 {
		phase := time.Since(s.t0) % o.StallEvery
		if phase >= o.StallAt && phase < o.StallAt+o.StallFor {
			if err := sleep(ctx, o.StallAt+o.StallFor-phase); err != nil {
				return status.FromContextError(err).Err()
			}
		}
	}
	if c := codes.Code(s.storm.Load()); c != codes.OK {
		return status.Errorf(c, "storm")
	}
	if o.StormEvery > 0 && time.Since(s.t0)%o.StormEvery < o.StormFor {
		return status.Error(codes.Unavailable, "storm")
	}
	var unavailable, slow bool
	if o.Unavailable > 0 || o.Slow > 0 {
		s.mu.Lock()
		unavailable = o.Unavailable > 0 && s.rng.Float64() < o.Unavailable
		slow = o.Slow > 0 && s.rng.Float64() < o.Slow
		s.mu.Unlock()
	}
	if unavailable {
		return status.Error(codes.Unavailable, "unavailable")
	}
	d := o.Delay
	if slow {
		d += o.SlowDelay
	}
	if err := sleep(ctx, d); err != nil {
		return status.FromContextError(err).Err()
	}
	return nil
}

// sleep waits d, or until ctx is done (its error then).
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// unary adapts a handler of dynamic messages to grpc's method handler.
func (s *Server) unary(i int, in protoreflect.MessageDescriptor, fn func(*dynamicpb.Message) (*dynamicpb.Message, error)) func(any, context.Context, func(any) error, grpc.UnaryServerInterceptor) (any, error) {
	return func(_ any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
		s.calls.Add(1)
		s.byName[i].Add(1)
		req := dynamicpb.NewMessage(in)
		if err := dec(req); err != nil {
			return nil, err
		}
		if err := s.fault(ctx); err != nil {
			return nil, err
		}
		return fn(req)
	}
}

func str(m *dynamicpb.Message, name string) string {
	return m.Get(m.Descriptor().Fields().ByName(protoreflect.Name(name))).String()
}

func i32(m *dynamicpb.Message, name string) int32 {
	return int32(m.Get(m.Descriptor().Fields().ByName(protoreflect.Name(name))).Int())
}

func set(m *dynamicpb.Message, name string, v protoreflect.Value) {
	m.Set(m.Descriptor().Fields().ByName(protoreflect.Name(name)), v)
}

func (s *Server) add(req *dynamicpb.Message) (*dynamicpb.Message, error) {
	id, item, q := str(req, "cart_id"), i32(req, "item"), i32(req, "quantity")
	if q == 0 {
		q = 1
	}
	if q < 0 {
		return nil, status.Errorf(codes.InvalidArgument, "quantity %d: want a positive number", q)
	}
	s.mu.Lock()
	if id == "" {
		id = "c" + strconv.FormatInt(s.next.Add(1), 10)
	}
	if len(s.carts) >= maxCarts {
		clear(s.carts)
	}
	lines := append(s.carts[id], cartLine{item, q})
	s.carts[id] = lines
	out := s.cart(id, lines)
	s.mu.Unlock()
	return out, nil
}

func (s *Server) get(req *dynamicpb.Message) (*dynamicpb.Message, error) {
	id := str(req, "cart_id")
	s.mu.Lock()
	defer s.mu.Unlock()
	lines, ok := s.carts[id]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "no cart %q", id)
	}
	return s.cart(id, lines), nil
}

// cart builds a CartReply; s.mu is held.
func (s *Server) cart(id string, lines []cartLine) *dynamicpb.Message {
	out := dynamicpb.NewMessage(s.reply)
	set(out, "cart_id", protoreflect.ValueOfString(id))
	list := out.Mutable(s.reply.Fields().ByName("lines")).List()
	n := int32(0)
	for _, l := range lines {
		lm := dynamicpb.NewMessage(s.line)
		set(lm, "item", protoreflect.ValueOfInt32(l.item))
		set(lm, "quantity", protoreflect.ValueOfInt32(l.quantity))
		list.Append(protoreflect.ValueOfMessage(lm))
		n += l.quantity
	}
	set(out, "count", protoreflect.ValueOfInt32(n))
	set(out, "status", protoreflect.ValueOfEnum(1))
	return out
}

func (s *Server) watch(_ any, ss grpc.ServerStream) error {
	s.calls.Add(1)
	s.byName[2].Add(1)
	req := dynamicpb.NewMessage(s.watchReq)
	if err := ss.RecvMsg(req); err != nil {
		return err
	}
	ctx := ss.Context()
	if err := s.fault(ctx); err != nil {
		return err
	}
	id, n := str(req, "cart_id"), i32(req, "events")
	if n <= 0 {
		n = 3
	}
	n = min(n, 1000)
	s.mu.Lock()
	count := int32(0)
	for _, l := range s.carts[id] {
		count += l.quantity
	}
	s.mu.Unlock()
	for seq := int32(1); seq <= n; seq++ {
		if seq > 1 {
			if err := sleep(ctx, s.opt.WatchInterval); err != nil {
				return status.FromContextError(err).Err()
			}
		}
		ev := dynamicpb.NewMessage(s.event)
		set(ev, "seq", protoreflect.ValueOfInt32(seq))
		set(ev, "cart_id", protoreflect.ValueOfString(id))
		set(ev, "count", protoreflect.ValueOfInt32(count))
		if err := ss.SendMsg(ev); err != nil {
			return err
		}
	}
	return nil
}

// StartTest serves a target with opt on loopback for the test tb, stopped
// when the test ends; it returns the target and its address.
func StartTest(tb testing.TB, opt Options) (*Server, string) {
	tb.Helper()
	s, err := New(opt)
	if err != nil {
		tb.Fatal(err)
	}
	addr, err := s.Start()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Stop)
	return s, addr
}
