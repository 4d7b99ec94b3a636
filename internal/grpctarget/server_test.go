package grpctarget

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
)

func client(t *testing.T, opt Options) (*Server, *grpc.ClientConn) {
	t.Helper()
	s, addr := StartTest(t, opt)
	cc, err := grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return s, cc
}

func (s *Server) msg(name string) *dynamicpb.Message {
	d, _ := s.files.FindDescriptorByName(protoreflect.FullName("shop." + name))
	return dynamicpb.NewMessage(d.(protoreflect.MessageDescriptor))
}

func TestAddGetWatch(t *testing.T) {
	s, cc := client(t, Options{WatchInterval: time.Millisecond})
	ctx := context.Background()
	add := s.msg("AddRequest")
	set(add, "item", protoreflect.ValueOfInt32(7))
	set(add, "quantity", protoreflect.ValueOfInt32(2))
	reply := s.msg("CartReply")
	if err := cc.Invoke(ctx, Add, add, reply); err != nil {
		t.Fatal(err)
	}
	id := str(reply, "cart_id")
	if id == "" || i32(reply, "count") != 2 {
		t.Fatalf("reply %v", reply)
	}
	get := s.msg("GetRequest")
	set(get, "cart_id", protoreflect.ValueOfString(id))
	if err := cc.Invoke(ctx, Get, get, reply); err != nil || i32(reply, "count") != 2 {
		t.Fatalf("get: %v %v", err, reply)
	}
	set(get, "cart_id", protoreflect.ValueOfString("nope"))
	if err := cc.Invoke(ctx, Get, get, reply); status.Code(err) != codes.NotFound {
		t.Fatalf("unknown cart: %v", err)
	}
	st, err := cc.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, Watch)
	if err != nil {
		t.Fatal(err)
	}
	w := s.msg("WatchRequest")
	set(w, "cart_id", protoreflect.ValueOfString(id))
	set(w, "events", protoreflect.ValueOfInt32(4))
	if err := st.SendMsg(w); err != nil {
		t.Fatal(err)
	}
	st.CloseSend()
	n := 0
	for ev := s.msg("CartEvent"); st.RecvMsg(ev) == nil; n++ {
		if i32(ev, "count") != 2 || i32(ev, "seq") != int32(n+1) {
			t.Fatalf("event %d: %v", n, ev)
		}
	}
	if n != 4 || s.Calls() != 4 || s.CallsOf("Add") != 1 || s.CallsOf(Get) != 2 || s.CallsOf("Watch") != 1 {
		t.Fatalf("events %d, calls %d", n, s.Calls())
	}
}

func TestFaults(t *testing.T) {
	s, cc := client(t, Options{Unavailable: 1})
	ctx := context.Background()
	if err := cc.Invoke(ctx, Get, s.msg("GetRequest"), s.msg("CartReply")); status.Code(err) != codes.Unavailable {
		t.Fatalf("unavailable: %v", err)
	}
	s.opt.Unavailable = 0
	s.Storm(codes.ResourceExhausted)
	if err := cc.Invoke(ctx, Get, s.msg("GetRequest"), s.msg("CartReply")); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("storm: %v", err)
	}
	s.Storm(codes.OK)
	s.opt.Delay = 30 * time.Millisecond
	began := time.Now()
	if err := cc.Invoke(ctx, Add, s.msg("AddRequest"), s.msg("CartReply")); err != nil || time.Since(began) < 30*time.Millisecond {
		t.Fatalf("delay: %v after %v", err, time.Since(began))
	}
}

func TestStall(t *testing.T) {
	// stalled from 0 to 200 ms of every 10 s: a call now waits for the end
	s, cc := client(t, Options{StallEvery: 10 * time.Second, StallFor: 200 * time.Millisecond})
	began := time.Now()
	if err := cc.Invoke(context.Background(), Add, s.msg("AddRequest"), s.msg("CartReply")); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(began); d < 150*time.Millisecond || d > time.Second {
		t.Fatalf("a call in the stall took %v", d)
	}
}
