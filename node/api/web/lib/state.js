// What the page knows, in one object that every view reads. Views change
// it only through the functions of the module that owns each field (noted
// next to it), so a field has one writer.

export const state = {
  me: null, // {peer_id, name}; app.js
  seq: 0, // the last event seq handled; events.js, app.js
  rooms: new Map(), // room → {room, peers, unread}; views/rooms.js
  room: null, // the open room; views/room.js
  roomGen: 0, // bumps when another room opens, to drop stale loads; views/room.js
  msgs: [], // messages of the open room, oldest first; views/messages.js
  byId: new Map(), // id → message, open room; views/messages.js
  more: false, // older messages exist; views/room.js
  loadingOlder: false, // views/room.js
  status: new Map(), // own message id → {status, delivered, read}; views/ticks.js
  pending: new Map(), // client_msg_id → {cid, room, text, state, error}; views/composer.js
  typing: new Map(), // room → Map(peer_id → {name, until}); views/typing.js
  members: [], // views/members.js
  peers: [], // views/peers.js
  readPosted: new Map(), // room → the newest id marked read; lib/read.js
  signedOut: false, // views/banner.js
  nodeDown: false, // the node stopped answering; views/offline.js
};

export function isOwn(m) {
  return state.me && m.author === state.me.peer_id;
}

// compareMsgs is history order: Lamport clock, then ID.
export function compareMsgs(a, b) {
  if (a.lamport !== b.lamport) return a.lamport - b.lamport;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

// pendingHere lists the messages still being sent into the open room.
export function pendingHere() {
  return [...state.pending.values()].filter((p) => p.room === state.room);
}
