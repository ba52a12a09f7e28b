// handleEvent applies one event of the node's log to the page: each type
// goes to the view that shows it.

import { isOwn, state } from "./state.js";
import { maybeMarkRead } from "./read.js";
import { confirmPending } from "../views/pending.js";
import { onPresence, refreshMembersSoon } from "../views/members.js";
import { renderMe } from "../views/name.js";
import { addMessages } from "../views/messages.js";
import { refreshPeersSoon } from "../views/peers.js";
import { refreshRoomsSoon } from "../views/rooms.js";
import { markOwnUpTo, setStatus } from "../views/ticks.js";
import { clearTyping, onTyping } from "../views/typing.js";

export function handleEvent(ev) {
  if (typeof ev.seq === "number") {
    if (ev.seq <= state.seq) return; // seen (transports overlap on a switch)
    state.seq = ev.seq;
  }
  switch (ev.type) {
    case "message":
      onMessage(ev.message);
      break;
    case "typing":
      onTyping(ev);
      break;
    case "presence":
      // One's own name changed, maybe from another tab or client.
      if (state.me && ev.peer_id === state.me.peer_id && ev.name && ev.name !== state.me.name) {
        state.me.name = ev.name;
        renderMe();
      }
      onPresence(ev);
      refreshPeersSoon();
      break;
    case "receipt":
      onReceipt(ev);
      break;
    case "message.status":
      setStatus(ev.id, ev.status, ev);
      break;
    case "sync":
      // A peer that joins a room syncs with its members at once. If it
      // was online already (in another room), no presence event says it
      // joined this one: this sync is the first sign.
      if (ev.room === state.room && ev.sync && !isMember(ev.sync.peer_id)) refreshMembersSoon();
      break;
  }
}

function isMember(peerID) {
  return state.members.some((m) => m.peer_id === peerID);
}

function onMessage(m) {
  if (!m) return;
  if (isOwn(m)) {
    if (m.client_msg_id && state.pending.has(m.client_msg_id)) confirmPending(state.pending.get(m.client_msg_id), m);
  } else {
    clearTyping(m.room, m.author);
    if (m.room === state.room && !isMember(m.author)) refreshMembersSoon();
  }
  if (m.room === state.room) addMessages([m]);
  if (!state.rooms.has(m.room) || !isOwn(m)) refreshRoomsSoon();
  maybeMarkRead();
}

function onReceipt(ev) {
  if (ev.room !== state.room) {
    if (state.me && ev.peer_id === state.me.peer_id) refreshRoomsSoon();
    return;
  }
  const mem = state.members.find((m) => m.peer_id === ev.peer_id);
  if (state.me && ev.peer_id === state.me.peer_id) {
    refreshRoomsSoon(); // read elsewhere: the unread count fell
    return;
  }
  if (ev.kind === "read" && mem) mem.read_up_to = ev.up_to;
  if (!mem) refreshMembersSoon();
  markOwnUpTo(ev.up_to, ev.kind === "read" ? "read" : "delivered");
}
