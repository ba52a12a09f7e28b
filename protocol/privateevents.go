package protocol

// Events of private rooms (docs/private-rooms.md). They carry no text:
// what a member reads arrives as ordinary message events once opened.
const (
	// EventRoomJoined says the local user now holds the room's keys: the
	// owner let it in.
	EventRoomJoined = "room.joined"
	// EventRoomRemoved says an epoch change left the local user out:
	// nothing written after it can be read here.
	EventRoomRemoved = "room.removed"
	// EventJoinRequest is a join request waiting for the owner's
	// approval, with the asker's peer ID and display name.
	EventJoinRequest = "room.join_request"
)
