package sender

import (
	"context"
	"errors"
	"testing"

	"github.com/peerchat/peerchat/node/internal/abuse"
	"github.com/peerchat/peerchat/node/internal/private"
	"github.com/peerchat/peerchat/protocol"
	"github.com/peerchat/peerchat/protocol/sealed"
)

// The sender is the private role's way out.
var _ private.Publisher = Sealed{}

func TestPublishSealedJoinsTheRoomAndStoresTheEnvelopeBoundToItsHeaderWithoutAnEvent(t *testing.T) {
	s, st := lonely(t, abuse.RateLimit{})
	ctx := context.Background()
	var seen sealed.Header
	env, err := s.Sealed().Publish(ctx, protocol.KindSealedMessage, "newroom", func(h sealed.Header) ([]byte, error) {
		seen = h
		return []byte("ciphertext"), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cfg.Rooms.Joined("newroom"); err != nil {
		t.Fatalf("room not joined: %v", err)
	}
	if seen != sealed.HeaderOf(env) || seen.Author.String() == "" || seen.Lamport == 0 {
		t.Fatalf("body sealed under %+v, envelope has %+v", seen, sealed.HeaderOf(env))
	}
	if err := env.Verify(); err != nil {
		t.Fatalf("signature: %v", err)
	}
	if has, _ := st.Has(ctx, env.ID()); !has {
		t.Fatal("envelope not stored")
	}
	if st.LastSeq() != 0 {
		t.Fatalf("%d events appended, want none", st.LastSeq())
	}
}

func TestPublishSealedStoresNothingWhenTheBodyCannotBeSealed(t *testing.T) {
	s, st := lonely(t, abuse.RateLimit{})
	ctx := context.Background()
	_, err := s.PublishSealed(ctx, protocol.KindSealedMessage, "solo", func(sealed.Header) ([]byte, error) {
		return nil, sealed.ErrNoKey
	})
	if !errors.Is(err, sealed.ErrNoKey) {
		t.Fatalf("err = %v, want ErrNoKey", err)
	}
	if n, _ := st.CountMessages(ctx, "solo"); n != 0 {
		t.Fatalf("%d envelopes stored", n)
	}
}
