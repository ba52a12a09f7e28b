package sealed

// The known-answer vectors under testdata/vectors.json describe the key
// schedule and the sealed layouts by example, for an implementation that
// does not share this code. The generator (TestGenerateVectors, run with
// -update) writes them; TestConformanceToVectors reads only them.

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
)

const vectorFile = "testdata/vectors.json"

// hexBytes is a byte string written in JSON as lower-case hex.
type hexBytes []byte

func (h hexBytes) MarshalJSON() ([]byte, error) { return json.Marshal(hex.EncodeToString(h)) }

func (h *hexBytes) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("hex field: %w", err)
	}
	d, err := hex.DecodeString(s)
	if err != nil {
		return fmt.Errorf("hex field %q: %w", s, err)
	}
	*h = d
	return nil
}

type vectors struct {
	Comment     string        `json:"comment"`
	RoomNames   []roomNameVec `json:"room_names"`
	Schedule    []scheduleVec `json:"key_schedule"`
	AddRatchets []addVec      `json:"add_ratchets"`
	Padding     []paddingVec  `json:"padding"`
	Bodies      []bodyVec     `json:"sealed_bodies"`
	Chains      []chainVec    `json:"epoch_chains"`
	DMs         []dmVec       `json:"direct_rooms"`
	Invites     []inviteVec   `json:"invites"`
	Joins       []joinVec     `json:"join_requests"`
}

type roomNameVec struct {
	Owner string   `json:"owner"`
	Salt  hexBytes `json:"salt"`
	Room  string   `json:"room"`
}

type scheduleVec struct {
	Room       string   `json:"room"`
	Secret     hexBytes `json:"secret"`
	MessageKey hexBytes `json:"message_key"`
	StateKey   hexBytes `json:"state_key"`
	WritePub   hexBytes `json:"write_pub"`
	EpochID    hexBytes `json:"epoch_id"`
}

type addVec struct {
	Room    string   `json:"room"`
	Prev    hexBytes `json:"prev_secret"`
	Ratchet hexBytes `json:"ratchet"`
	Next    hexBytes `json:"next_secret"`
}

type paddingVec struct {
	Plaintext int `json:"plaintext_len"`
	Padded    int `json:"padded_len"`
}

type bodyVec struct {
	Room      string   `json:"room"`
	Kind      string   `json:"kind"`
	Author    string   `json:"author"`
	Lamport   uint64   `json:"lamport"`
	SentAtMS  int64    `json:"sent_at_ms"`
	Secret    hexBytes `json:"epoch_secret"`
	Nonce     hexBytes `json:"nonce"`
	Plaintext string   `json:"plaintext"`
	AAD       hexBytes `json:"aad"`
	Body      hexBytes `json:"body"`
}

// chainVec is a room's epoch envelopes in order, and for one member (its
// KEM private key given) the secret it must obtain of each epoch, or an
// empty string for one it must not hold.
type chainVec struct {
	Comment   string     `json:"comment"`
	Room      string     `json:"room"`
	Envelopes []hexBytes `json:"envelopes"`
	Member    string     `json:"member"`
	MemberKEM hexBytes   `json:"member_kem_private"`
	Secrets   []hexBytes `json:"member_secrets"`
	Name      string     `json:"room_display_name"`
}

type dmVec struct {
	SeedA  hexBytes `json:"identity_seed_a"`
	SeedB  hexBytes `json:"identity_seed_b"`
	Room   string   `json:"room"`
	Salt   hexBytes `json:"salt"`
	Secret hexBytes `json:"epoch0_secret"`
}

type inviteVec struct {
	Link     string   `json:"link"`
	Room     string   `json:"room"`
	Owner    string   `json:"owner"`
	Code     hexBytes `json:"code"`
	OwnerKEM hexBytes `json:"owner_kem_public"`
	Expires  int64    `json:"expires_unix"`
	Relays   []string `json:"relays"`
	ID       hexBytes `json:"invite_id"`
}

type joinVec struct {
	Invite     string   `json:"invite"`
	OwnerKEM   hexBytes `json:"owner_kem_private"`
	Envelope   hexBytes `json:"envelope"`
	JoinerKEM  hexBytes `json:"joiner_kem_public"`
	JoinerName string   `json:"joiner_name"`
}
