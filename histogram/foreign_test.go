package histogram

import (
	"testing"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

func foreignEncoding(t *testing.T) string {
	h := hdr.New(1, 1000, 2)
	h.RecordValue(5)
	b, err := h.Encode(hdr.V2CompressedEncodingCookieBase)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
