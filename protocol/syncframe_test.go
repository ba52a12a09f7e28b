package protocol

import (
	"errors"
	"slices"
	"testing"
)

func TestWantKeysSurviveEncodingAndAreBounded(t *testing.T) {
	keys := []uint64{0, 1, 1 << 63, 0xdeadbeef}
	got, err := DecodeKeys(EncodeKeys(keys))
	if err != nil || !slices.Equal(got, keys) {
		t.Fatalf("keys came back as %v, %v", got, err)
	}
	for name, b := range map[string][]byte{
		"not a multiple of 8": make([]byte, 9),
		"too many keys":       make([]byte, 8*(MaxWantKeys+1)),
	} {
		if _, err := DecodeKeys(b); !errors.Is(err, ErrFrame) {
			t.Errorf("%s: want ErrFrame, got %v", name, err)
		}
	}
}
