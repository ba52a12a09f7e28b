package sealed

import (
	"strings"
	"testing"

	"github.com/peerchat/peerchat/protocol"
)

func TestPrivateRoomNameIsAValidRoomNameOfPrivateForm(t *testing.T) {
	owner := newIdent(t, "owner")
	name := RoomName(owner.id, make([]byte, SaltSize))
	if err := protocol.ValidateRoomName(name); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if !IsPrivateRoom(name) || len(name) != 36 {
		t.Fatalf("%s (%d characters) is not of private form", name, len(name))
	}
	if RoomName(owner.id, []byte(strings.Repeat("x", SaltSize))) == name {
		t.Fatal("two salts give one room")
	}
	for _, n := range []string{"family", "pv1-", "pv1-" + strings.Repeat("1", 32), name + "a"} {
		if IsPrivateRoom(n) {
			t.Errorf("%q taken for a private room", n)
		}
	}
}

func TestPublicRoomNamesOfPrivateFormAreRefused(t *testing.T) {
	if ValidatePublicRoomName("pv1-anything") == nil {
		t.Fatal("a public room could pass for a private one")
	}
	if err := ValidatePublicRoomName("general"); err != nil {
		t.Fatal(err)
	}
}

func TestPaddingHasOneReadingAndHidesExactLength(t *testing.T) {
	for n := 0; n < 3000; n++ {
		p, err := pad(make([]byte, n))
		if err != nil {
			t.Fatal(err)
		}
		if len(p) < n+2 || len(p) != paddedLen(n+2) {
			t.Fatalf("%d bytes padded to %d", n, len(p))
		}
		got, err := unpad(p)
		if err != nil || len(got) != n {
			t.Fatalf("%d bytes: unpad gave %d, %v", n, len(got), err)
		}
	}
	if a, b := paddedLen(100), paddedLen(120); a != b {
		t.Errorf("100 and 120 bytes pad to %d and %d, want one class", a, b)
	}
	p, _ := pad([]byte("hi"))
	p[len(p)-1] = 1
	if _, err := unpad(p); err == nil {
		t.Error("nonzero padding accepted")
	}
}
