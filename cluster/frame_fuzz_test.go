package cluster

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/loadgate/loadgate/engine"
)

// FuzzFrame feeds arbitrary bytes to the coordinator's frame reader and
// interval decoder: whatever an agent sends, the coordinator must return
// an error or a period shaped like its plan, never panic or allocate beyond
// the frame limit.
func FuzzFrame(f *testing.F) {
	p := testPlan()
	w, err := encodePeriod(period(p, 1, 3, 20*time.Millisecond))
	if err != nil {
		f.Fatal(err)
	}
	good, _ := json.Marshal(intervalMsg{Seq: 1, Period: w, Errors: []string{"", "refused"}})
	f.Add(appendFrame(nil, msgInterval, good))
	f.Add(appendFrame(nil, msgDone, []byte(`{"requests":3}`)))
	f.Add(appendFrame(nil, msgHeartbeat, []byte(`{}`)))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, byte(msgInterval)})
	f.Add(appendFrame(nil, 0, nil))
	f.Add(appendFrame(nil, msgInterval, []byte(`{"seq":1,"period":{"steps":[[{"errors":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22]}]]}}`)))
	f.Fuzz(func(t *testing.T, data []byte) {
		typ, payload, err := readFrame(bytes.NewReader(data), 1<<16)
		if err != nil {
			return
		}
		if len(payload) > 1<<16 {
			t.Fatalf("payload of %d bytes beyond the limit", len(payload))
		}
		if typ != msgInterval {
			return
		}
		var iv intervalMsg
		if decode(typ, payload, &iv) != nil {
			return
		}
		per, err := decodePeriod(iv.Period, p)
		if err != nil {
			return
		}
		if p.CheckShape(per) != nil {
			t.Fatal("decodePeriod accepted a period of another shape")
		}
		s := engine.NewSum(p)
		s.Add(per) // must not panic
	})
}
