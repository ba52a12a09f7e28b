package protocol

import (
	"strings"
	"testing"
)

func TestRoomNameErrorsNameTheCharacterTypedAndCountCharacters(t *testing.T) {
	err := ValidateRoomName("Ünïcode-räum")
	if err == nil || !strings.Contains(err.Error(), "'Ü' is not allowed") {
		t.Fatalf("error %v, want it to name 'Ü'", err)
	}
	if err := ValidateRoomName(strings.Repeat("a", 65)); err == nil || !strings.Contains(err.Error(), "got 65 characters") {
		t.Fatalf("error %v, want it to count 65 characters", err)
	}
}
