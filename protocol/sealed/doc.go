// Package sealed lays out and checks the bodies of private rooms'
// envelopes (the sealed.* kinds of package protocol) and holds their key
// schedule: room IDs, epoch secrets and the keys derived from them, the
// owner's epoch change records, sealed message bodies with their write
// signatures, invites, join requests and direct-room derivation.
//
// It is pure: no network, no storage, no clock except the times passed
// in. The node's private role (node/internal/private) keeps a Keyring per
// room on disk and feeds it the envelopes intake routes to it; relays use
// a Chain alone, which needs no key, to refuse ciphertext from
// non-members and epoch changes from anyone but the owner.
//
// docs/protocol.md ("Sealed kinds") specifies every layout byte by byte;
// docs/private-rooms.md explains the design and what it does not hide.
package sealed

import "errors"

// Version is the layout version written first in every sealed body.
// Readers refuse any other, so that a later layout cannot be misread.
const Version = 1

// Reasons a sealed envelope is refused. Each is counted separately by the
// node; the comment says whether a relay should Ignore (the envelope may
// become valid once sync delivers what it depends on) or Reject (it can
// never become valid, so its forwarder is penalised).
var (
	// ErrMalformed: the body does not parse. Reject.
	ErrMalformed = errors.New("malformed sealed body")
	// ErrVersion: a body layout version this package does not know. Reject.
	ErrVersion = errors.New("unknown sealed body version")
	// ErrUnknownEpoch: the message names an epoch not yet seen. Ignore.
	ErrUnknownEpoch = errors.New("unknown epoch")
	// ErrWriteSignature: the write signature fails under its epoch's
	// write key: the author holds no key of that epoch, or re-signed
	// someone else's ciphertext. Reject.
	ErrWriteSignature = errors.New("bad write signature")
	// ErrNotOwner: an epoch change written by anyone but the room's
	// owner. Reject.
	ErrNotOwner = errors.New("epoch change not written by the owner")
	// ErrUnknownParent: an epoch change whose parent is not yet known.
	// Ignore (hold and retry after sync).
	ErrUnknownParent = errors.New("epoch parent unknown")
	// ErrEpochNumber: an epoch whose number is not its parent's plus one.
	// Reject.
	ErrEpochNumber = errors.New("epoch number does not follow its parent")
	// ErrFork: a second, different epoch of a number already taken, or a
	// second genesis. The first seen is kept. Reject.
	ErrFork = errors.New("second epoch of the same number")
	// ErrRoomBinding: a genesis whose salt does not hash to the room's
	// name, so its author cannot be the room's owner. Reject.
	ErrRoomBinding = errors.New("genesis does not match the room")
	// ErrNoKey: a member does not hold the epoch a message was sealed in
	// (it joined later, or was removed). Not a fault of the sender.
	ErrNoKey = errors.New("no key for epoch")
	// ErrOpen: the ciphertext does not open under the epoch's key.
	ErrOpen = errors.New("sealed body does not open")
	// ErrForgedEpoch: an epoch change whose published epoch ID or write
	// key does not match the secret it hands out, or whose state does
	// not open: the member adopts nothing from it.
	ErrForgedEpoch = errors.New("epoch change does not match its secret")
	// ErrAfterCutoff: a message in an old epoch from a member removed
	// since, written after the cutoff the owner recorded for it.
	ErrAfterCutoff = errors.New("message from a removed member after its cutoff")
	// ErrInvite: a malformed invite.
	ErrInvite = errors.New("malformed invite")
	// ErrInviteExpired: an invite past its expiry.
	ErrInviteExpired = errors.New("invite expired")
	// ErrJoin: a join request that does not open or does not prove the
	// invite.
	ErrJoin = errors.New("invalid join request")
)
