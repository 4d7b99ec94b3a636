package scenarios

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/loadgate/loadgate/engine"
)

// TestGRPCPlan checks the compiled gRPC steps of testdata/valid/grpc.yaml:
// target, call, message as JSON with its templates, metadata, accepted
// statuses, descriptors that hold the service and its imports.
func TestGRPCPlan(t *testing.T) {
	sc := mustLoad(t, testdataDir+"/valid/grpc.yaml", map[string]string{"TOKEN": "s3cr3t-t0ken"})
	steps := sc.Plan.Flows[0].Steps
	add, get, watch := steps[0], steps[1], steps[2]
	for _, st := range steps {
		if st.Protocol != engine.ProtoGRPC || st.GRPC == nil || st.BodyEscape != engine.EscapeJSON || st.MaxRedirects != 0 {
			t.Fatalf("step %s: %+v", st.Name, st)
		}
	}
	if add.URL != "http://127.0.0.1:8089" || watch.URL != "https://127.0.0.1:8443" {
		t.Errorf("targets %q %q", add.URL, watch.URL)
	}
	if add.GRPC.Method != "shop.Cart/Add" || add.GRPC.ServerStreaming || !watch.GRPC.ServerStreaming || add.GRPC.Reflect {
		t.Errorf("calls %+v %+v", add.GRPC, watch.GRPC)
	}
	var msg map[string]any
	if !strings.Contains(string(add.Body), `"big":9007199254740993,`) {
		t.Errorf("message %s: want big exact", add.Body)
	}
	want := map[string]any{"item": 42.0, "big": 9007199254740993.0, "quantity": "{{ randInt 1 5 }}", "weight": 1.5,
		"color": "BLUE", "note": "aGVsbG8=", "tags": []any{"a", "{{ uuid }}"}, "counts": map[string]any{"x": 1.0, "y": 2.0},
		"line": map[string]any{"item": 1.0, "quantity": 2.0}, "at": "2025-01-02T15:04:05Z",
		"price": map[string]any{"currency": "EUR", "units": 12.0}, "pickup": true}
	gift := `"gift":{{ iteration }}` // a bool's template alone, bare
	if !strings.Contains(string(add.Body), gift) {
		t.Errorf("message %s lacks %s", add.Body, gift)
	}
	if err := json.Unmarshal([]byte(strings.Replace(string(add.Body), gift, `"gift":true`, 1)), &msg); err != nil || !reflect.DeepEqual(without(msg, "gift"), want) {
		t.Errorf("message %s (%v)\nwant %v", add.Body, err, want)
	}
	if string(get.Body) != `{"cart_id":"{{ cart }}"}` {
		t.Errorf("get message %s", get.Body)
	}
	var keys []string
	for _, h := range add.Headers {
		keys = append(keys, h.Key)
	}
	if !slices.Equal(keys, []string{"authorization", "x-trace"}) {
		t.Errorf("metadata %v: defaults' Content-Type must be left out", add.Headers)
	}
	if !slices.Contains(sc.Secrets, "Bearer s3cr3t-t0ken") {
		t.Errorf("secrets %v", sc.Secrets)
	}
	if !slices.Equal(get.Accept, []int{0, 5}) || get.Checks[0].Kind != engine.CheckStatus {
		t.Errorf("get accepts %v, checks %+v", get.Accept, get.Checks)
	}
	var set descriptorpb.FileDescriptorSet
	if err := proto.Unmarshal(add.GRPC.Descriptors, &set); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range set.File {
		names = append(names, f.GetName())
	}
	if !slices.Equal(names, []string{"google/protobuf/timestamp.proto", "common/money.proto", "cart.proto"}) {
		t.Errorf("descriptor files %v", names)
	}
	if _, err := protodesc.NewFiles(&set); err != nil {
		t.Error(err)
	}
	if &add.GRPC.Descriptors[0] != &get.GRPC.Descriptors[0] {
		t.Error("the steps of one service do not share its descriptors")
	}
}

func without(m map[string]any, k string) map[string]any {
	out := map[string]any{}
	for key, v := range m {
		if key != k {
			out[key] = v
		}
	}
	return out
}

// TestGRPCReflectPlan: with reflection the plan carries no descriptors and
// the message as written.
func TestGRPCReflectPlan(t *testing.T) {
	sc := mustLoad(t, testdataDir+"/valid/grpc_reflect.yaml", nil)
	st := sc.Plan.Flows[0].Steps[0]
	if !st.GRPC.Reflect || st.GRPC.Descriptors != nil || string(st.Body) != `{"item":42,"cart_id":"{{ vu }}"}` {
		t.Errorf("%+v %s", st.GRPC, st.Body)
	}
}
